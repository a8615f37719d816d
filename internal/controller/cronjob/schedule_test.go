package cronjob

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // zones for the DST rows on machines without /usr/share/zoneinfo

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// TestMostRecent pins the scheduling algorithm: which schedule time is due
// at now, and how many were missed.
func TestMostRecent(t *testing.T) {
	tests := []struct {
		name         string
		cj           *batchv1.CronJob
		now          string
		local        *time.Location
		withDeadline bool
		wantEarliest string
		wantDue      string // "" when nothing is due
		wantMissed   missed
		wantErr      error
	}{
		{
			name: "CRON-SCHED-01 never scheduled: the reference is the creation time",
			cj:   newCronJob("2026-01-05T10:00:30Z", "* * * * *"), now: "2026-01-05T10:00:59Z",
			wantEarliest: "2026-01-05T10:00:30Z",
		},
		{
			name: "CRON-SCHED-01 the reference is lastScheduleTime once set",
			cj:   newCronJob("2026-01-05T09:00:00Z", "* * * * *", lastScheduled("2026-01-05T10:00:00Z")), now: "2026-01-05T10:00:30Z",
			wantEarliest: "2026-01-05T10:00:00Z",
		},
		{
			name: "CRON-SCHED-01 startingDeadlineSeconds moves the reference up to now minus the deadline",
			cj:   newCronJob("2026-01-05T09:00:00Z", "* * * * *", deadline(60)), now: "2026-01-05T10:00:30Z", withDeadline: true,
			wantEarliest: "2026-01-05T09:59:30Z", wantDue: "2026-01-05T10:00:00Z",
		},
		{
			name: "CRON-SCHED-01 without withDeadline the deadline is ignored (requeue computation)",
			cj:   newCronJob("2026-01-05T09:00:00Z", "* * * * *", deadline(60)), now: "2026-01-05T10:00:30Z",
			wantEarliest: "2026-01-05T09:00:00Z", wantDue: "2026-01-05T10:00:00Z", wantMissed: fewMissed,
		},
		{
			name: "CRON-SCHED-01 a time at the reference itself is never run",
			cj:   newCronJob("2026-01-05T10:00:00Z", "* * * * *"), now: "2026-01-05T10:00:40Z",
			wantEarliest: "2026-01-05T10:00:00Z",
		},
		{
			name: "CRON-SCHED-02 t1 is due once now reaches it",
			cj:   newCronJob("2026-01-05T10:00:30Z", "* * * * *"), now: "2026-01-05T10:01:00Z",
			wantEarliest: "2026-01-05T10:00:30Z", wantDue: "2026-01-05T10:01:00Z",
		},
		{
			name: "CRON-SCHED-02 several missed: only the latest is due",
			cj:   newCronJob("2026-01-05T10:00:30Z", "* * * * *"), now: "2026-01-05T10:05:10Z",
			wantEarliest: "2026-01-05T10:00:30Z", wantDue: "2026-01-05T10:05:00Z", wantMissed: fewMissed,
		},
		{
			name: "CRON-SCHED-02 an irregular schedule finds the real latest time",
			cj:   newCronJob("2026-01-05T00:00:00Z", "30 6-16/4 * * 1-5"), now: "2026-01-07T12:00:00Z", // Monday to Wednesday
			wantEarliest: "2026-01-05T00:00:00Z", wantDue: "2026-01-07T10:30:00Z", wantMissed: fewMissed,
		},
		{
			name: "CRON-SCHED-02 an irregular schedule over a weekend",
			cj:   newCronJob("2026-01-09T15:00:00Z", "30 6-16/4 * * 1-5"), now: "2026-01-12T07:00:00Z", // Friday to Monday
			wantEarliest: "2026-01-09T15:00:00Z", wantDue: "2026-01-12T06:30:00Z", // t1 itself: none missed
		},
		{
			name: "CRON-SCHED-02 first two times closer than the rest: the latest still runs after a long gap",
			cj:   newCronJob("2026-01-05T04:00:00Z", "30 2,3 * * *"), now: "2026-04-15T12:00:00Z",
			wantEarliest: "2026-01-05T04:00:00Z", wantDue: "2026-04-15T03:30:00Z", wantMissed: manyMissed,
		},
		{
			name: "CRON-SCHED-02 a yearly burst long after the reference",
			cj:   newCronJob("2020-01-02T00:00:00Z", "* 0 1 1 *"), now: "2026-03-01T00:00:00Z",
			wantEarliest: "2020-01-02T00:00:00Z", wantDue: "2026-01-01T00:59:00Z", wantMissed: manyMissed,
		},
		{
			name: "CRON-SCHED-02 @every long missed stays on the reference's grid",
			cj:   newCronJob("2026-01-05T10:00:07Z", "@every 7m"), now: "2026-03-05T10:00:00Z",
			wantEarliest: "2026-01-05T10:00:07Z", wantDue: "2026-03-05T09:59:07Z", wantMissed: manyMissed,
		},
		{
			name: "CRON-SCHED-02 @every counts whole intervals from the reference",
			cj:   newCronJob("2026-01-05T10:00:00Z", "@every 90s"), now: "2026-01-05T10:05:00Z",
			wantEarliest: "2026-01-05T10:00:00Z", wantDue: "2026-01-05T10:04:30Z", wantMissed: fewMissed,
		},
		{
			name: "CRON-SCHED-03 exactly 100 missed times are not too many",
			cj:   newCronJob("2026-01-05T10:00:30Z", "* * * * *"), now: "2026-01-05T11:40:30Z",
			wantEarliest: "2026-01-05T10:00:30Z", wantDue: "2026-01-05T11:40:00Z", wantMissed: fewMissed,
		},
		{
			name: "CRON-SCHED-03 more than 100 missed times: many, and the latest is still due",
			cj:   newCronJob("2026-01-05T10:00:30Z", "* * * * *"), now: "2026-01-05T11:41:00Z",
			wantEarliest: "2026-01-05T10:00:30Z", wantDue: "2026-01-05T11:41:00Z", wantMissed: manyMissed,
		},
		{
			name: "CRON-SCHED-03 a decade of missed minutes costs no loop",
			cj:   newCronJob("2016-01-05T10:00:30Z", "* * * * *"), now: "2026-01-05T11:41:30Z",
			wantEarliest: "2016-01-05T10:00:30Z", wantDue: "2026-01-05T11:41:00Z", wantMissed: manyMissed,
		},
		{
			name: "CRON-SCHED-04 a schedule that can never fire is an error",
			cj:   newCronJob("2026-01-05T10:00:00Z", "59 23 31 2 *"), now: "2026-01-05T11:00:00Z",
			wantEarliest: "2026-01-05T10:00:00Z", wantErr: errTooClose,
		},
		{
			name: "CRON-SCHED-07 the first run is the first time after creation",
			cj:   newCronJob("2026-01-05T10:00:30Z", "* * * * *"), now: "2026-01-05T10:01:00.1Z",
			wantEarliest: "2026-01-05T10:00:30Z", wantDue: "2026-01-05T10:01:00Z",
		},
		{
			name: "CRON-SYN-05 without timeZone the schedule is read in the controller's zone",
			cj:   newCronJob("2026-01-05T00:00:00Z", "0 9 * * *"), now: "2026-01-05T14:30:00Z", local: mustZone("America/New_York"),
			wantEarliest: "2026-01-05T00:00:00Z", wantDue: "2026-01-05T14:00:00Z",
		},
		{
			name: "CRON-SYN-05 timeZone wins over the controller's zone",
			cj:   newCronJob("2026-01-05T01:00:00Z", "0 9 * * *", timeZone("Asia/Tokyo")), now: "2026-01-06T00:30:00Z", local: mustZone("America/New_York"),
			wantEarliest: "2026-01-05T01:00:00Z", wantDue: "2026-01-06T00:00:00Z",
		},
		{
			name: "CRON-SYN-06 a legacy CRON_TZ prefix is honoured and timeZone ignored",
			cj:   newCronJob("2026-01-05T01:00:00Z", "CRON_TZ=Asia/Tokyo 0 9 * * *", timeZone("Europe/Paris")), now: "2026-01-06T00:30:00Z",
			wantEarliest: "2026-01-05T01:00:00Z", wantDue: "2026-01-06T00:00:00Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local := tt.local
			if local == nil {
				local = time.UTC
			}
			spec, _ := scheduleSpec(tt.cj)
			sched, err := parseSchedule(spec, local)
			if err != nil {
				t.Fatalf("parseSchedule(%q): %v", spec, err)
			}
			earliest, due, m, err := mostRecent(tt.cj, at(tt.now), sched, tt.withDeadline)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if got := earliest.UTC().Format(time.RFC3339); got != tt.wantEarliest {
				t.Errorf("earliest = %s, want %s", got, tt.wantEarliest)
			}
			gotDue := ""
			if due != nil {
				gotDue = due.UTC().Format(time.RFC3339)
			}
			if gotDue != tt.wantDue || m != tt.wantMissed {
				t.Errorf("due, missed = %q, %d; want %q, %d", gotDue, m, tt.wantDue, tt.wantMissed)
			}
		})
	}
}

// TestScheduleTimesAcrossDST pins what robfig/cron, and so upstream, does
// when a zone's clocks change: a time that does not exist is skipped, a time
// that happens twice runs twice.
func TestScheduleTimesAcrossDST(t *testing.T) {
	tests := []struct {
		name  string
		cj    *batchv1.CronJob
		local *time.Location
		from  string
		want  []string
	}{
		{
			name: "CRON-SYN-05 spring forward skips a time in the missing hour",
			cj:   newCronJob("2026-03-01T00:00:00Z", "30 2 * * *", timeZone("America/New_York")), from: "2026-03-07T00:00:00Z",
			want: []string{"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"},
		},
		{
			name: "CRON-SYN-05 fall back runs a time in the repeated hour twice",
			cj:   newCronJob("2026-10-01T00:00:00Z", "30 1 * * *", timeZone("America/New_York")), from: "2026-10-31T00:00:00Z",
			want: []string{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"},
		},
		{
			name: "CRON-SYN-05 hourly across spring forward keeps one run per real hour",
			cj:   newCronJob("2026-03-01T00:00:00Z", "0 * * * *", timeZone("America/New_York")), from: "2026-03-08T05:30:00Z",
			want: []string{"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"},
		},
		{
			name: "CRON-SYN-05 a 9:00 schedule moves in UTC with daylight saving time",
			cj:   newCronJob("2026-03-01T00:00:00Z", "0 9 * * *", timeZone("Europe/Berlin")), from: "2026-03-28T00:00:00Z",
			want: []string{"2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"},
		},
		{
			name: "CRON-SYN-05 the controller's own zone follows daylight saving time too",
			cj:   newCronJob("2026-03-01T00:00:00Z", "30 2 * * *"), local: mustZone("America/New_York"), from: "2026-03-07T00:00:00Z",
			want: []string{"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"},
		},
		{
			name: "CRON-SYN-04 @every is a fixed interval that ignores daylight saving time",
			cj:   newCronJob("2026-03-01T00:00:00Z", "@every 12h", timeZone("America/New_York")), from: "2026-03-08T00:00:00Z",
			want: []string{"2026-03-08T12:00:00Z", "2026-03-09T00:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local := tt.local
			if local == nil {
				local = time.UTC
			}
			spec, _ := scheduleSpec(tt.cj)
			sched, err := parseSchedule(spec, local)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for next := at(tt.from); len(got) < len(tt.want); {
				next = sched.Next(next)
				got = append(got, next.UTC().Format(time.RFC3339))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("times mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRequeueAfter pins when a CronJob is looked at again: its next
// schedule time plus 100 ms (CRON-SCHED-08).
func TestRequeueAfter(t *testing.T) {
	tests := []struct {
		name string
		cj   *batchv1.CronJob
		now  string
		want time.Duration
	}{
		{
			name: "CRON-SCHED-08 before the first run: the first time plus 100 ms",
			cj:   newCronJob("2026-01-05T10:00:30Z", "* * * * *"), now: "2026-01-05T10:00:31Z",
			want: 29*time.Second + 100*time.Millisecond,
		},
		{
			name: "CRON-SCHED-08 just after a run: the next time plus 100 ms",
			cj:   newCronJob("2026-01-05T10:00:30Z", "*/5 * * * *", lastScheduled("2026-01-05T10:05:00Z")), now: "2026-01-05T10:05:00.1Z",
			want: 5 * time.Minute,
		},
		{
			name: "CRON-SCHED-08 with missed times: the first time after now",
			cj:   newCronJob("2026-01-05T10:00:30Z", "*/5 * * * *", lastScheduled("2026-01-05T10:05:00Z")), now: "2026-01-05T10:17:00Z",
			want: 3*time.Minute + 100*time.Millisecond,
		},
		{
			name: "CRON-SCHED-08 with more than 100 missed times: still the first time after now",
			cj:   newCronJob("2026-01-01T00:00:30Z", "* * * * *"), now: "2026-01-05T10:17:20Z",
			want: 40*time.Second + 100*time.Millisecond,
		},
		{
			name: "CRON-SCHED-08 the time zone is honoured",
			cj:   newCronJob("2026-01-05T00:00:00Z", "0 9 * * *", timeZone("Asia/Tokyo")), now: "2026-01-05T00:00:00Z",
			want: 24*time.Hour + 100*time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, _ := scheduleSpec(tt.cj)
			sched, err := parseSchedule(spec, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if got := requeueAfter(tt.cj, at(tt.now), sched); got != tt.want {
				t.Errorf("requeueAfter = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestJobName pins the deterministic names (CRON-JOB-01).
func TestJobName(t *testing.T) {
	tests := []struct {
		name      string
		scheduled string
		want      string
	}{
		{"CRON-JOB-01 the spec's example", "2024-01-04T08:00:00Z", "hello-28405920"},
		{"CRON-JOB-01 minutes since the epoch", "2026-01-05T10:01:00Z", "hello-29460121"},
		{"CRON-JOB-01 seconds within the minute do not count", "2026-01-05T10:01:59Z", "hello-29460121"},
		{"CRON-JOB-01 the zone does not matter", "2026-01-05T19:01:00+09:00", "hello-29460121"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jobName(newCronJob("2026-01-01T00:00:00Z", "* * * * *"), at(tt.scheduled)); got != tt.want {
				t.Errorf("jobName = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestLatestUpToMatchesEnumeration checks the backward search against
// walking every schedule time, for CRON-SCHED-02's "latest schedule time
// ≤ now".
func TestLatestUpToMatchesEnumeration(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	schedules := []string{"* * * * *", "*/7 * * * *", "30 2,3 * * *", "30 6-16/4 * * 1-5", "0 0 13 * 5", "15 */5 * * *",
		"0 9 * * *", "TZ=America/New_York 30 1,2 * * *", "TZ=Europe/Berlin */20 2 * 3,10 *", "@every 13m", "@every 3h7m5s"}
	base := at("2026-01-01T00:00:00Z")
	for i := range 600 {
		spec := schedules[i%len(schedules)]
		sched, err := parseSchedule(spec, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		first := sched.Next(base.Add(time.Duration(r.Int64N(int64(300 * 24 * time.Hour)))))
		now := first.Add(time.Duration(r.Int64N(int64(9 * 24 * time.Hour))))
		var want time.Time
		for x := first; !x.After(now); x = sched.Next(x) {
			want = x
		}
		step := sched.Next(first).Sub(first)
		got, ok := latestUpTo(sched, first, now, step)
		if !ok || !got.Equal(want) {
			t.Fatalf("CRON-SCHED-02 %q from %v to %v: latest %v (%v), want %v", spec, first, now, got, ok, want)
		}
	}
}
