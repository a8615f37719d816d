package batch

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
)

// TestScheduleSyntax pins what spec.schedule accepts, through the
// CronJob's validation, with the parser's messages users see.
func TestScheduleSyntax(t *testing.T) {
	tests := []struct {
		name     string
		schedule string
		want     []string
	}{
		{name: "CRON-SYN-01 five fields", schedule: "30 2 1 6 0"},
		{name: "CRON-SYN-01 month and weekday names in any case", schedule: "0 0 * jan-DEC Mon-fri"},
		{
			name: "CRON-SYN-01 six fields are refused", schedule: "0 0 * * * *",
			want: []string{`spec.schedule: Invalid value: "0 0 * * * *": expected exactly 5 fields, found 6: [0 0 * * * *]`},
		},
		{
			name: "CRON-SYN-01 minute 60 is above the maximum", schedule: "60 * * * *",
			want: []string{`spec.schedule: Invalid value: "60 * * * *": end of range (60) above maximum (59): 60`},
		},
		{
			name: "CRON-SYN-01 day of month 0 is below the minimum", schedule: "0 0 0 * *",
			want: []string{`spec.schedule: Invalid value: "0 0 0 * *": beginning of range (0) below minimum (1): 0`},
		},
		{
			name: "CRON-SYN-01 weekday 7 is invalid", schedule: "0 0 * * 7",
			want: []string{`spec.schedule: Invalid value: "0 0 * * 7": end of range (7) above maximum (6): 7`},
		},
		{name: "CRON-SYN-02 question marks ranges steps and lists", schedule: "*/15 9-17/2 ? * 1,3,5"},
		{name: "CRON-SYN-02 a value with a step runs to the maximum", schedule: "5/20 * * * *"},
		{
			name: "CRON-SYN-02 a range must not run backwards", schedule: "5-1 * * * *",
			want: []string{`spec.schedule: Invalid value: "5-1 * * * *": beginning of range (5) beyond end of range (1): 5-1`},
		},
		{
			name: "CRON-SYN-02 a step must be positive", schedule: "*/0 * * * *",
			want: []string{`spec.schedule: Invalid value: "*/0 * * * *": step of range should be a positive number: */0`},
		},
		{
			name: "CRON-SYN-02 too many hyphens", schedule: "1-2-3 * * * *",
			want: []string{`spec.schedule: Invalid value: "1-2-3 * * * *": too many hyphens: 1-2-3`},
		},
		{
			name: "CRON-SYN-02 too many slashes", schedule: "*/2/3 * * * *",
			want: []string{`spec.schedule: Invalid value: "*/2/3 * * * *": too many slashes: */2/3`},
		},
		{
			name: "CRON-SYN-02 not a number", schedule: "x * * * *",
			want: []string{`spec.schedule: Invalid value: "x * * * *": failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`},
		},
		{name: "CRON-SYN-04 descriptors", schedule: "@annually"},
		{name: "CRON-SYN-04 a fixed interval", schedule: "@every 1h30m"},
		{
			name: "CRON-SYN-04 an unknown descriptor", schedule: "@fortnightly",
			want: []string{`spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly`},
		},
		{
			name: "CRON-SYN-04 an interval that is not a duration", schedule: "@every day",
			want: []string{`spec.schedule: Invalid value: "@every day": failed to parse duration @every day: time: invalid duration "day"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errStrings(validateCronJob(createdCronJob(schedule(tt.schedule))))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("validateCronJob() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScheduleTimes pins the meaning of accepted schedules: the times the
// CronJob controller will compute with the same parser.
func TestScheduleTimes(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		schedule string
		from     string
		want     []string
	}{
		{
			name: "CRON-SYN-03 restricted day of month and weekday match either", schedule: "0 0 13 * 5",
			from: "2026-02-01T00:00:00Z", // Friday 13 February 2026 counts once
			want: []string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-06T00:00:00Z"},
		},
		{
			name: "CRON-SYN-03 a star day of month means the weekday alone decides", schedule: "0 0 * * 1",
			from: "2026-02-01T00:00:00Z",
			want: []string{"2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z"},
		},
		{
			name: "CRON-SYN-03 a star with a step counts as restricted", schedule: "0 0 */10 * 1",
			from: "2026-02-01T00:00:00Z", // days 1, 11, 21 or Mondays
			want: []string{"2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-11T00:00:00Z", "2026-02-16T00:00:00Z"},
		},
		{
			name: "CRON-SYN-03 a star with step 1 counts as a plain star", schedule: "0 0 */1 * 1",
			from: "2026-02-01T00:00:00Z",
			want: []string{"2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z"},
		},
		{
			name: "CRON-SYN-04 @weekly is midnight on Sundays", schedule: "@weekly",
			from: "2026-02-02T00:00:00Z",
			want: []string{"2026-02-08T00:00:00Z", "2026-02-15T00:00:00Z"},
		},
		{
			name: "CRON-SYN-04 @every adds whole seconds to the reference time", schedule: "@every 90.5s",
			from: "2026-02-02T00:00:00.700Z",
			want: []string{"2026-02-02T00:01:30Z", "2026-02-02T00:03:00Z"},
		},
		{
			name: "CRON-SYN-05 a TZ schedule follows the zone across daylight saving", schedule: "TZ=America/New_York 0 9 * * *",
			from: "2026-03-07T00:00:00Z", // clocks go forward on 8 March 2026
			want: []string{"2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z"},
		},
		{
			name: "CRON-SYN-06 a legacy CRON_TZ prefix is honoured", schedule: "CRON_TZ=Asia/Tokyo 0 9 * * *",
			from: "2026-03-07T00:00:00Z",
			want: []string{"2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sched, err := cron.ParseStandard(tt.schedule)
			if err != nil {
				t.Fatalf("ParseStandard(%q): %v", tt.schedule, err)
			}
			var got []string
			for next := utc(tt.from); len(got) < len(tt.want); {
				next = sched.Next(next)
				got = append(got, next.UTC().Format(time.RFC3339))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("schedule %q times mismatch (-want +got):\n%s", tt.schedule, diff)
			}
		})
	}
}

func TestScheduleTimeZones(t *testing.T) {
	t.Run("CRON-SYN-05 every accepted timeZone can prefix the schedule the controller evaluates", func(t *testing.T) {
		for _, tz := range []string{"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"} {
			cj := createdCronJob(timeZone(tz))
			if errs := validateCronJob(cj); len(errs) != 0 {
				t.Errorf("timeZone %q refused: %v", tz, errs)
				continue
			}
			if _, err := cron.ParseStandard("TZ=" + tz + " " + cj.Spec.Schedule); err != nil {
				t.Errorf("TZ=%s %s: %v", tz, cj.Spec.Schedule, err)
			}
		}
	})
	t.Run("CRON-SYN-06 a stored legacy schedule keeps being accepted", func(t *testing.T) {
		old := createdCronJob(schedule("CRON_TZ=Asia/Tokyo 0 9 * * *"))
		cj := updatedCronJob(old, func(cj *batchv1.CronJob) { cj.Spec.Suspend = new(bool) })
		if errs := validateCronJobUpdate(cj, old); len(errs) != 0 {
			t.Errorf("update of a legacy schedule refused: %v", errs)
		}
	})
}
