package cronjob

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"
)

// Scheduling constants of upstream's controller (CRON-SCHED-03,
// CRON-SCHED-08).
const (
	// nextScheduleDelta pads every timed requeue, so that a clock a little
	// behind the API server's still finds the schedule time passed.
	nextScheduleDelta = 100 * time.Millisecond
	// manyMissedThreshold is the count of missed schedule times above which
	// TooManyMissedTimes is emitted.
	manyMissedThreshold = 100
	// legacyTZMarker in a schedule means a TZ= or CRON_TZ= prefix, which the
	// registry no longer accepts on create but still stores (CRON-SYN-06).
	legacyTZMarker = "TZ"
)

// errTooClose is upstream's error for a schedule whose next two times are
// less than a second apart, which is how robfig/cron reports a schedule that
// can never fire, such as 31 February (CRON-SCHED-04).
var errTooClose = errors.New("time difference between two schedules is less than 1 second")

// missed says how many schedule times passed unmet.
type missed int

const (
	noneMissed missed = iota
	fewMissed
	manyMissed
)

// scheduleSpec is what the controller parses, upstream's formatSchedule: a
// legacy schedule carrying its own TZ= prefix as it is (legacy is then
// true), otherwise the schedule prefixed with TZ=<timeZone> when timeZone
// is set and loads (CRON-SYN-05, CRON-SYN-06).
func scheduleSpec(cj *batchv1.CronJob) (spec string, legacy bool) {
	if strings.Contains(cj.Spec.Schedule, legacyTZMarker) {
		return cj.Spec.Schedule, true
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			return cj.Spec.Schedule, false
		}
		return fmt.Sprintf("TZ=%s %s", *tz, cj.Spec.Schedule), false
	}
	return cj.Spec.Schedule, false
}

// parseSchedule parses spec with the standard cron parser, as upstream
// does. A schedule with no zone of its own is read in local, the
// controller's time zone (time.Local in production): robfig/cron would
// otherwise take the zone of whatever time it is handed.
func parseSchedule(spec string, local *time.Location) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	if s, ok := sched.(*cron.SpecSchedule); ok && s.Location == time.Local {
		return inZone{s, local}, nil
	}
	return sched, nil
}

// inZone evaluates a schedule in a given zone.
type inZone struct {
	cron.Schedule
	loc *time.Location
}

func (z inZone) Next(t time.Time) time.Time { return z.Schedule.Next(t.In(z.loc)) }

// mostRecent is upstream's mostRecentScheduleTime (CRON-SCHED-01..04). It
// returns the reference time E (lastScheduleTime, else the creation time;
// with withDeadline, no earlier than now - startingDeadlineSeconds), the
// latest schedule time in (E, now] if any, and how many were missed. The
// count is estimated from the distance of the first two times after E, as
// upstream does, so that a decade of missed minutes costs no loop.
func mostRecent(cj *batchv1.CronJob, now time.Time, sched cron.Schedule, withDeadline bool) (time.Time, *time.Time, missed, error) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if withDeadline && cj.Spec.StartingDeadlineSeconds != nil {
		if deadline := now.Add(-time.Duration(*cj.Spec.StartingDeadlineSeconds) * time.Second); deadline.After(earliest) {
			earliest = deadline
		}
	}
	t1 := sched.Next(earliest)
	t2 := sched.Next(t1)
	if now.Before(t1) {
		return earliest, nil, noneMissed, nil
	}
	if now.Before(t2) {
		return earliest, &t1, noneMissed, nil
	}
	between := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if between < 1 {
		return earliest, nil, noneMissed, errTooClose
	}
	elapsed := int64(now.Sub(t1).Seconds())
	count := elapsed/between + 1
	m := fewMissed
	if count > manyMissedThreshold {
		m = manyMissed
	}
	latest, ok := latestUpTo(sched, t1, now, time.Duration(between)*time.Second)
	if !ok {
		return earliest, nil, m, nil
	}
	return earliest, &latest, m, nil
}

// latestUpTo returns the latest schedule time in [first, now], searching
// back from now in windows that double from step. Upstream instead starts
// from first + (count-2) × (t2-t1) and walks forward; for a schedule whose
// first two times are closer than its average (30 2,3 * * *, say) that
// start lies after now, and a long-missed CronJob would never run again.
// Where upstream finds a time, this finds the same one, in a few calls of
// Next whatever the gap. first must not be after now.
func latestUpTo(sched cron.Schedule, first, now time.Time, step time.Duration) (time.Time, bool) {
	if every, ok := sched.(cron.ConstantDelaySchedule); ok && every.Delay > 0 {
		// @every counts from the reference time: stay on its grid.
		return first.Add(now.Sub(first) / every.Delay * every.Delay), true
	}
	for w := max(step, time.Second); ; w *= 2 {
		from := now.Add(-w)
		bounded := !from.After(first)
		if bounded {
			from = first.Add(-time.Nanosecond)
		}
		var latest time.Time
		for t := sched.Next(from); !t.IsZero() && !t.After(now); t = sched.Next(t) {
			latest = t
		}
		if !latest.IsZero() || bounded {
			return latest, !latest.IsZero()
		}
	}
}

// requeueAfter is how long to wait before looking at the CronJob again:
// until its next schedule time after the most recent one (or after the
// reference time when none passed), plus nextScheduleDelta
// (CRON-SCHED-08).
func requeueAfter(cj *batchv1.CronJob, now time.Time, sched cron.Schedule) time.Duration {
	earliest, recent, m, err := mostRecent(cj, now, sched, false)
	switch {
	case err != nil:
		recent = &now
	case recent == nil && m == noneMissed:
		recent = &earliest
	case recent == nil:
		recent = &now
	}
	return sched.Next(*recent).Add(nextScheduleDelta).Sub(now)
}

// dueTime is upstream's nextScheduleTime: the schedule time a Job should be
// started for now, if any, honouring startingDeadlineSeconds, and whether
// more than manyMissedThreshold times were missed (CRON-SCHED-02,
// CRON-SCHED-03).
func dueTime(cj *batchv1.CronJob, now time.Time, sched cron.Schedule) (due time.Time, ok, tooMany bool, err error) {
	_, recent, m, err := mostRecent(cj, now, sched, true)
	if recent == nil || recent.After(now) {
		return time.Time{}, false, false, err
	}
	return *recent, true, m == manyMissed, err
}

// jobName is the deterministic name of the Job for a schedule time: the
// CronJob's name and the minutes since the epoch (CRON-JOB-01). Creating
// it twice fails with AlreadyExists, which is what keeps a schedule time
// from running twice.
func jobName(cj *batchv1.CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
}

// zone is where the scheduled-timestamp annotation is written: the
// CronJob's timeZone, else UTC (CRON-JOB-02).
func zone(cj *batchv1.CronJob) (*time.Location, error) {
	return time.LoadLocation(ptr.Deref(cj.Spec.TimeZone, ""))
}
