package cronjob

import (
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"
)

// input is everything one sync decides from.
type input struct {
	cj *batchv1.CronJob
	// jobs are the CronJob's children from the cache: the Jobs of its
	// namespace whose controller reference carries its UID (CRON-JOB-07).
	jobs []*batchv1.Job
	// gone are the UIDs of status.active entries missing from the cache
	// that a live GET confirmed are gone (CRON-STAT-03).
	gone sets.Set[types.UID]
	now  time.Time
	// local is the zone of schedules that name none (CRON-SYN-05).
	local *time.Location
}

// plan is everything one sync wants to change. decide computes it from its
// input alone; apply is the only place that writes.
type plan struct {
	// status is the CronJob's status after bookkeeping, before any Job is
	// replaced or created; apply adds the outcome of those.
	status batchv1.CronJobStatus
	// prune are finished Jobs beyond the history limits, oldest first.
	prune []*batchv1.Job
	// events are recorded after the pruning and before replace and create,
	// upstream's order.
	events []event
	// replace lists the active Jobs to delete before create (Replace).
	replace []corev1.ObjectReference
	// create is the Job for the due schedule time, if one is due.
	create    *batchv1.Job
	scheduled time.Time
	// requeueAfter is when to look again; 0: only on a change.
	requeueAfter time.Duration
}

// decide is the CronJob controller's whole policy, upstream's
// cleanupFinishedJobs and syncCronJob without their writes.
func decide(in input) plan {
	cj := in.cj
	p := plan{status: *cj.Status.DeepCopy()}
	st := &p.status

	// History first: finished Jobs beyond the limits go, oldest first
	// (CRON-HIST-01..04). Pruned Jobs leave status.active silently.
	p.prune = prune(cj, in.jobs)
	for _, j := range p.prune {
		removeActive(st, j.UID)
	}

	// Bookkeeping of the children (CRON-STAT-01..06).
	children := sets.New[types.UID]()
	for _, j := range in.jobs {
		children.Insert(j.UID)
		found := inActive(st, j.UID)
		cond := finishedAs(j)
		switch {
		case !found && cond == "":
			p.events = append(p.events, warning(reasonUnexpectedJob, fmt.Sprintf(msgUnexpectedJob, j.Name)))
		case cond != "":
			if found {
				removeActive(st, j.UID)
				p.events = append(p.events, normal(reasonSawCompletedJob, fmt.Sprintf(msgSawCompletedJob, j.Name, cond)))
			}
			if cond == batchv1.JobComplete && j.Status.CompletionTime != nil &&
				(st.LastSuccessfulTime == nil || j.Status.CompletionTime.After(st.LastSuccessfulTime.Time)) {
				st.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
			}
		}
	}
	for _, ref := range slices.Clone(st.Active) {
		if !children.Has(ref.UID) && in.gone.Has(ref.UID) {
			p.events = append(p.events, normal(reasonMissingJob, fmt.Sprintf(msgMissingJob, ref.Name)))
			removeActive(st, ref.UID)
		}
	}

	// A CronJob being deleted only keeps its books (CRON-STAT-07,
	// CRON-GC-03).
	if cj.DeletionTimestamp != nil {
		return p
	}
	// The time zone is checked before suspend (CRON-SCHED-10).
	loc, err := zone(cj)
	if err != nil {
		p.events = append(p.events, warning(reasonUnknownTimeZone, fmt.Sprintf(msgUnknownTimeZone, ptr.Deref(cj.Spec.TimeZone, ""), err)))
		return p
	}
	if ptr.Deref(cj.Spec.Suspend, false) { // CRON-SUS-01
		return p
	}
	spec, legacy := scheduleSpec(cj)
	if legacy { // CRON-SYN-06
		p.events = append(p.events, warning(reasonUnsupportedSchedule, fmt.Sprintf(msgUnsupportedSchedule, cj.Spec.Schedule)))
	}
	sched, err := parseSchedule(spec, in.local)
	if err != nil { // CRON-SCHED-09
		p.events = append(p.events, warning(reasonUnparseableSchedule, fmt.Sprintf(msgUnparseableSchedule, cj.Spec.Schedule, err)))
		return p
	}

	// Schedules run against the books just kept.
	booked := cj.DeepCopy()
	booked.Status = *st.DeepCopy()
	due, ok, tooMany, err := dueTime(booked, in.now, sched)
	if err != nil { // CRON-SCHED-04: no timed requeue
		p.events = append(p.events, warning(reasonInvalidSchedule, fmt.Sprintf(msgInvalidSchedule, cj.Spec.Schedule, err)))
		return p
	}
	if tooMany { // CRON-SCHED-03: warn, and still start the latest
		p.events = append(p.events, warning(reasonTooManyMissedTimes, msgTooManyMissedTimes))
	}
	p.requeueAfter = positive(requeueAfter(booked, in.now, sched))
	if !ok { // nothing due yet
		return p
	}
	if sds := cj.Spec.StartingDeadlineSeconds; sds != nil && due.Add(time.Duration(*sds)*time.Second).Before(in.now) { // CRON-SCHED-05
		p.events = append(p.events, warning(reasonMissSchedule, fmt.Sprintf(msgMissSchedule, due.UTC().Format(time.RFC1123Z))))
		return p
	}
	name := jobName(cj, due)
	if slices.ContainsFunc(st.Active, func(r corev1.ObjectReference) bool { return r.Name == name && r.Namespace == cj.Namespace }) ||
		(st.LastScheduleTime != nil && st.LastScheduleTime.Equal(&metav1.Time{Time: due})) { // CRON-SCHED-06
		return p
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent: // CRON-CONC-02
		if len(st.Active) > 0 {
			p.events = append(p.events, normal(reasonJobAlreadyActive, msgJobAlreadyActive))
			return p
		}
	case batchv1.ReplaceConcurrent: // CRON-CONC-03
		p.replace = slices.Clone(st.Active)
	}
	p.create = newJob(cj, due, loc)
	p.scheduled = due
	booked.Status.LastScheduleTime = &metav1.Time{Time: due}
	p.requeueAfter = positive(requeueAfter(booked, in.now, sched))
	return p
}

// prune returns the finished Jobs to delete to honour the history limits,
// oldest first (CRON-HIST-01..04). Jobs already being deleted are left
// out, counted neither as kept nor as surplus.
func prune(cj *batchv1.CronJob, jobs []*batchv1.Job) []*batchv1.Job {
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		if j.DeletionTimestamp != nil {
			continue
		}
		switch finishedAs(j) {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	var out []*batchv1.Job
	for _, g := range []struct {
		jobs  []*batchv1.Job
		limit *int32
	}{{succeeded, cj.Spec.SuccessfulJobsHistoryLimit}, {failed, cj.Spec.FailedJobsHistoryLimit}} {
		if g.limit == nil || len(g.jobs) <= int(*g.limit) {
			continue
		}
		slices.SortFunc(g.jobs, byStartTime)
		out = append(out, g.jobs[:len(g.jobs)-int(*g.limit)]...)
	}
	return out
}

// positive keeps a wanted requeue from reading as "no requeue": a schedule
// that has no next time gives a zero or negative wait.
func positive(d time.Duration) time.Duration {
	return max(d, time.Nanosecond)
}
