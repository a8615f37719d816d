package cronjob_test

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
)

// CRON-SCHED-07 CRON-SCHED-08 CRON-SCHED-01: the first run is the first
// time after creation, and the controller looks again 100 ms after each
// schedule time, on its clock, and not before.
func TestFirstRunAndRequeuePadding(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("hello", "* * * * *"))
	first := firstMinute(cj)
	settle() // the add has been synced: only the timer can start the run now
	e.stepTo(first.Add(pad - time.Millisecond))
	e.noNewJobs(t, cj)
	e.stepTo(first.Add(pad))
	e.awaitJobs(t, cj, name(cj, first))
	got := e.awaitCronJob(t, cj, "lastScheduleTime", func(cj *batchv1.CronJob) bool { return cj.Status.LastScheduleTime != nil })
	if !got.Status.LastScheduleTime.Time.Equal(first) {
		t.Errorf("CRON-SCHED-01 lastScheduleTime = %v, want %v", got.Status.LastScheduleTime, first)
	}
	// The next run is the next minute's, padded again.
	second := first.Add(time.Minute)
	settle()
	e.stepTo(second.Add(pad - time.Millisecond))
	e.noNewJobs(t, cj, name(cj, first))
	e.stepTo(second.Add(pad))
	e.awaitJobs(t, cj, name(cj, first), name(cj, second))
}

// CRON-SCHED-02: when several times were missed, only the latest runs.
func TestMissedTimesRunTheLatestOnce(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("hello", "* * * * *"))
	first := firstMinute(cj)
	latest := first.Add(4 * time.Minute)
	e.stepTo(latest.Add(30 * time.Second))
	e.awaitJobs(t, cj, name(cj, latest))
	e.awaitCronJob(t, cj, "lastScheduleTime", func(cj *batchv1.CronJob) bool {
		return cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Time.Equal(latest)
	})
	e.noNewJobs(t, cj, name(cj, latest))
	e.noEvent(t, cj, "TooManyMissedTimes", "MissSchedule")
}

// CRON-SCHED-03: more than 100 missed times give TooManyMissedTimes, and
// the latest time still runs.
func TestTooManyMissedTimes(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("hello", "* * * * *"))
	latest := firstMinute(cj).Add(3 * time.Hour)
	e.stepTo(latest.Add(10 * time.Second))
	e.awaitEvent(t, cj, "Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	e.awaitJobs(t, cj, name(cj, latest))
}

// CRON-SCHED-01 CRON-SCHED-05: with startingDeadlineSeconds the reference
// never lags now by more than the deadline: a time older than the deadline
// is skipped silently, a time within it runs, and no TooManyMissedTimes is
// emitted however long the CronJob was idle.
func TestStartingDeadline(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("hello", "*/5 * * * *", deadline(30)))
	mark := cj.CreationTimestamp.Truncate(5 * time.Minute).Add(3 * time.Hour)

	e.stepTo(mark.Add(45 * time.Second)) // 15 s too late
	e.noNewJobs(t, cj)
	e.noEvent(t, cj, "TooManyMissedTimes", "MissSchedule", "SuccessfulCreate")

	next := mark.Add(5 * time.Minute)
	e.stepTo(next.Add(20 * time.Second)) // within the deadline
	e.awaitJobs(t, cj, name(cj, next))
	e.noEvent(t, cj, "TooManyMissedTimes", "MissSchedule")
}

// CRON-SCHED-04: a schedule that can never fire is accepted by the API,
// gives InvalidSchedule, and runs nothing.
func TestImpossibleSchedule(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("feb31", "59 23 31 2 *"))
	e.awaitEvent(t, cj, "Warning", "InvalidSchedule", "invalid schedule: 59 23 31 2 * : time difference between two schedules is less than 1 second")
	e.stepTo(e.fc.Now().Add(400 * 24 * time.Hour))
	e.noNewJobs(t, cj)
}

// CRON-SCHED-06: a due time is skipped when the Job named for its minute
// is already in status.active. Job names have minute resolution, so with
// "@every 20s" two or three schedule times share a name: each minute gets
// one Job, created once, and no create fails.
func TestSameMinuteTimesShareOneJob(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("often", "@every 20s"))
	var want []string
	for k := 1; k <= 7; k++ {
		at := cj.CreationTimestamp.Add(time.Duration(k) * 20 * time.Second)
		settle()
		e.runAt(at)
		if n := name(cj, at); !slices.Contains(want, n) {
			want = append(want, n)
		}
		e.awaitJobs(t, cj, want...)
	}
	e.noNewJobs(t, cj, want...)
	e.noEvent(t, cj, "FailedCreate")
	if n := e.countEvents(t, cj, "SuccessfulCreate"); int(n) != len(want) {
		t.Errorf("SuccessfulCreate events = %d, want %d", n, len(want))
	}
}

// CRON-SCHED-08: a new schedule requeues the CronJob for the new
// schedule's next time; a change to anything else syncs it at once.
func TestScheduleChangeRequeues(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("yearly", "0 0 1 1 *"))
	settle()
	cj = e.update(t, cj, func(cj *batchv1.CronJob) { cj.Spec.Schedule = "*/2 * * * *" })
	next := e.fc.Now().Truncate(2 * time.Minute).Add(2 * time.Minute)
	if !next.After(cj.CreationTimestamp.Time) {
		next = next.Add(2 * time.Minute)
	}
	e.runAt(next)
	e.awaitJobs(t, cj, name(cj, next))

	// A child's change syncs at once: a Job finishing frees a Forbid run.
	cj = e.update(t, cj, forbid)
	later := next.Add(2 * time.Minute)
	e.runAt(later)
	e.awaitEvent(t, cj, "Normal", "JobAlreadyActive", "")
	e.finish(t, name(cj, next), true)
	e.awaitJobs(t, cj, name(cj, next), name(cj, later))
}

// CRON-SUS-01 CRON-SUS-02 CRON-SCHED-11: while suspended nothing is
// created and nothing is emitted for it; running Jobs keep running and the
// books are kept; on resume the latest missed time runs once, at once.
func TestSuspend(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("hello", "* * * * *"))
	first := firstMinute(cj)
	e.runAt(first)
	e.awaitCronJob(t, cj, "first run booked", hasActive(name(cj, first)))

	cj = e.update(t, cj, suspend)
	e.runAt(first.Add(time.Minute))
	e.finish(t, name(cj, first), true)
	got := e.awaitCronJob(t, cj, "books kept while suspended", func(cj *batchv1.CronJob) bool {
		return len(cj.Status.Active) == 0 && cj.Status.LastSuccessfulTime != nil
	})
	e.stepTo(first.Add(3*time.Minute + 30*time.Second))
	e.noNewJobs(t, cj, name(cj, first))
	if !got.Status.LastScheduleTime.Time.Equal(first) {
		t.Errorf("lastScheduleTime moved while suspended: %v", got.Status.LastScheduleTime)
	}

	e.update(t, cj, func(cj *batchv1.CronJob) { cj.Spec.Suspend = new(false) })
	latest := first.Add(3 * time.Minute)
	e.awaitJobs(t, cj, name(cj, first), name(cj, latest))
	e.noNewJobs(t, cj, name(cj, first), name(cj, latest))
	for _, ev := range e.events(t, cj.UID) {
		if ev.Type != "Normal" {
			t.Errorf("CRON-SUS-01 unexpected event %s %s: %s", ev.Type, ev.Reason, ev.Message)
		}
	}
}

// CRON-SUS-02 CRON-SCHED-11: a time missed while suspended still runs on
// resume only within startingDeadlineSeconds.
func TestSuspendWithDeadline(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("late", "*/10 * * * *", deadline(60), suspend))
	mark := cj.CreationTimestamp.Truncate(10 * time.Minute).Add(10 * time.Minute)
	e.stepTo(mark.Add(90 * time.Second))
	e.update(t, cj, func(cj *batchv1.CronJob) { cj.Spec.Suspend = new(false) })
	e.noNewJobs(t, cj)
	cj = e.update(t, cj, suspend)
	next := mark.Add(10 * time.Minute)
	e.stepTo(next.Add(50 * time.Second))
	e.update(t, cj, func(cj *batchv1.CronJob) { cj.Spec.Suspend = new(false) })
	e.awaitJobs(t, cj, name(cj, next))
}

// CRON-SYN-05 CRON-JOB-02: with timeZone the schedule follows the zone
// across daylight saving time, and the scheduled-timestamp annotation is in
// that zone. The clock first jumps to the day before New York's spring
// forward (2027-03-14): the run missed meanwhile starts at once; after that
// every time runs on the zone's wall clock.
func TestTimeZoneAcrossDST(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("ny", "30 2,3 * * *", timeZone("America/New_York")))
	ny, err := time.LoadLocation("America/New_York")
	must(t, err)
	wall := func(d, h, m int) time.Time { return time.Date(2027, 3, d, h, m, 0, 0, ny) }

	catchUp := wall(13, 3, 30) // the latest time before the jump
	e.stepTo(wall(13, 12, 0))
	e.awaitJobs(t, cj, name(cj, catchUp))
	want := []string{name(cj, catchUp)}
	// 2:30 does not exist on the 14th; 3:30 does, an hour of UTC closer.
	for _, at := range []time.Time{wall(14, 3, 30), wall(15, 2, 30), wall(15, 3, 30)} {
		settle()
		e.runAt(at)
		want = append(want, name(cj, at))
		jobs := e.awaitJobs(t, cj, want...)
		for _, j := range jobs {
			if j.Name == name(cj, at) {
				if got, w := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation], at.Format(time.RFC3339); got != w {
					t.Errorf("annotation = %s, want %s", got, w)
				}
			}
		}
	}
	if got := wall(14, 3, 30).Sub(wall(13, 3, 30)); got != 23*time.Hour {
		t.Errorf("test premise: the spring forward day is %v long", got)
	}
}
