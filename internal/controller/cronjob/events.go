package cronjob

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
)

// EventSource is the component of every event the controller records, as
// upstream's; kubectl describe shows it in the From column (KUBECTL-08).
const EventSource = "cronjob-controller"

// Event reasons and message formats users and scripts match on, upstream's
// (CRON-EVT-01 and the requirements each names).
const (
	reasonSuccessfulCreate = "SuccessfulCreate" // CRON-JOB-04
	msgSuccessfulCreate    = "Created job %v"
	reasonFailedCreate     = "FailedCreate" // CRON-JOB-06
	msgFailedCreate        = "Error creating job: %v"
	reasonSuccessfulDelete = "SuccessfulDelete" // CRON-HIST-02, CRON-CONC-03
	msgSuccessfulDelete    = "Deleted job %v"
	reasonFailedDelete     = "FailedDelete"
	msgFailedDelete        = "Deleted job: %v"
	reasonFailedGet        = "FailedGet" // CRON-CONC-03
	msgFailedGet           = "Get job: %v"

	reasonSawCompletedJob = "SawCompletedJob" // CRON-STAT-02
	msgSawCompletedJob    = "Saw completed job: %s, condition: %v"
	reasonMissingJob      = "MissingJob" // CRON-STAT-03
	msgMissingJob         = "Active job went missing: %v"
	reasonUnexpectedJob   = "UnexpectedJob" // CRON-STAT-04
	msgUnexpectedJob      = "Saw a job that the controller did not create or forgot: %s"

	reasonJobAlreadyActive = "JobAlreadyActive" // CRON-CONC-02
	msgJobAlreadyActive    = "Not starting job because prior execution is running and concurrency policy is Forbid"

	reasonMissSchedule       = "MissSchedule" // CRON-SCHED-05
	msgMissSchedule          = "Missed scheduled time to start a job: %s"
	reasonTooManyMissedTimes = "TooManyMissedTimes" // CRON-SCHED-03
	msgTooManyMissedTimes    = "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"

	reasonUnknownTimeZone     = "UnknownTimeZone" // CRON-SCHED-10
	msgUnknownTimeZone        = "invalid timeZone: %q: %s"
	reasonUnparseableSchedule = "UnparseableSchedule" // CRON-SCHED-09
	msgUnparseableSchedule    = "unparseable schedule: %q : %s"
	reasonUnparseableOnUpdate = "UnParseableCronJobSchedule" // CRON-SCHED-09, upstream's capital P
	msgUnparseableOnUpdate    = "unparseable schedule for cronjob: %s"
	reasonInvalidSchedule     = "InvalidSchedule" // CRON-SCHED-04
	msgInvalidSchedule        = "invalid schedule: %s : %s"
	reasonUnsupportedSchedule = "UnsupportedSchedule" // CRON-SYN-06
	msgUnsupportedSchedule    = "CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"
)

// event is one Event a plan wants recorded on its CronJob.
type event struct {
	typ     string // corev1.EventTypeNormal or corev1.EventTypeWarning
	reason  string
	message string
}

func normal(reason, message string) event {
	return event{typ: corev1.EventTypeNormal, reason: reason, message: message}
}

func warning(reason, message string) event {
	return event{typ: corev1.EventTypeWarning, reason: reason, message: message}
}

func (c *Controller) record(obj runtime.Object, evs ...event) {
	for _, e := range evs {
		c.recorder.Event(obj, e.typ, e.reason, e.message)
	}
}

// discardRecorder drops events; it stands in when Config.Recorder is nil.
func discardRecorder() record.EventRecorder { return &record.FakeRecorder{} }
