package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
)

// Label names of the CronJob families, as upstream kube-state-metrics
// (internal/store/cronjob.go): every family carries namespace and cronjob.
const (
	labelCronJob           = "cronjob"
	labelSchedule          = "schedule"
	labelConcurrencyPolicy = "concurrency_policy"
	labelTimeZone          = "timezone"

	// timeZoneLocal is kube_cronjob_info's timezone when spec.timeZone is unset.
	timeZoneLocal = "local"
)

type cronJobFamilies struct {
	info, created                            family
	active, lastScheduleTime, lastSuccessful family
	suspend, startingDeadline, nextSchedule  family
}

func newCronJobFamilies() cronJobFamilies {
	g := prometheus.GaugeValue
	ns, cj := labelNamespace, labelCronJob
	return cronJobFamilies{
		info:             newFamily("kube_cronjob_info", "Info about cronjob.", g, ns, cj, labelSchedule, labelConcurrencyPolicy, labelTimeZone),
		created:          newFamily("kube_cronjob_created", "Unix creation timestamp", g, ns, cj),
		active:           newFamily("kube_cronjob_status_active", "Active holds pointers to currently running jobs.", g, ns, cj),
		lastScheduleTime: newFamily("kube_cronjob_status_last_schedule_time", "LastScheduleTime keeps information of when was the last time the job was successfully scheduled.", g, ns, cj),
		lastSuccessful:   newFamily("kube_cronjob_status_last_successful_time", "LastSuccessfulTime keeps information of when was the last time the job was completed successfully.", g, ns, cj),
		suspend:          newFamily("kube_cronjob_spec_suspend", "Suspend flag tells the controller to suspend subsequent executions.", g, ns, cj),
		startingDeadline: newFamily("kube_cronjob_spec_starting_deadline_seconds", "Deadline in seconds for starting the job if it misses scheduled time for any reason.", g, ns, cj),
		nextSchedule:     newFamily("kube_cronjob_next_schedule_time", "Next time the cronjob should be scheduled. The time after lastScheduleTime, or after the cron job's creation time if it's never been scheduled. Use this to determine if the job is delayed.", g, ns, cj),
	}
}

func (f cronJobFamilies) describe(ch chan<- *prometheus.Desc) {
	describeAll(ch, f.info, f.created, f.active, f.lastScheduleTime, f.lastSuccessful,
		f.suspend, f.startingDeadline, f.nextSchedule)
}

func (f cronJobFamilies) collect(ch chan<- prometheus.Metric, cronJobs []*batchv1.CronJob) {
	for _, cj := range cronJobs {
		f.collectCronJob(ch, cj)
	}
}

func (f cronJobFamilies) collectCronJob(ch chan<- prometheus.Metric, cj *batchv1.CronJob) {
	ns, name := cj.Namespace, cj.Name
	tz := timeZoneLocal
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	f.info.emit(ch, 1, ns, name, cj.Spec.Schedule, string(cj.Spec.ConcurrencyPolicy), tz)
	emitTime(ch, f.created, &cj.CreationTimestamp, ns, name)
	f.active.emit(ch, float64(len(cj.Status.Active)), ns, name)
	emitTime(ch, f.lastScheduleTime, cj.Status.LastScheduleTime, ns, name)
	emitTime(ch, f.lastSuccessful, cj.Status.LastSuccessfulTime, ns, name)
	suspended := cj.Spec.Suspend != nil && *cj.Spec.Suspend
	if cj.Spec.Suspend != nil {
		f.suspend.emit(ch, boolFloat(suspended), ns, name)
	}
	if sds := cj.Spec.StartingDeadlineSeconds; sds != nil {
		f.startingDeadline.emit(ch, float64(*sds), ns, name)
	}
	// Upstream panics on a schedule it cannot parse and dereferences a nil
	// spec.suspend; we leave the series out instead. A suspended CronJob
	// has no next schedule time.
	if next, err := nextScheduleTime(cj); err == nil && !suspended {
		f.nextSchedule.emit(ch, float64(next.Unix()), ns, name)
	}
}

// nextScheduleTime is the first schedule time after status.lastScheduleTime,
// or after the creation time if the CronJob never ran, computed as upstream
// kube-state-metrics does: robfig/cron's standard parser, with spec.timeZone
// as a CRON_TZ= prefix.
func nextScheduleTime(cj *batchv1.CronJob) (time.Time, error) {
	schedule := cj.Spec.Schedule
	if cj.Spec.TimeZone != nil {
		schedule = fmt.Sprintf("CRON_TZ=%s %s", *cj.Spec.TimeZone, schedule)
	}
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing schedule %q of cronjob %s/%s: %w", schedule, cj.Namespace, cj.Name, err)
	}
	if last := cj.Status.LastScheduleTime; !last.IsZero() {
		return sched.Next(last.Time), nil
	}
	if !cj.CreationTimestamp.IsZero() {
		return sched.Next(cj.CreationTimestamp.Time), nil
	}
	return time.Time{}, fmt.Errorf("cronjob %s/%s has neither a creation time nor a last schedule time", cj.Namespace, cj.Name)
}
