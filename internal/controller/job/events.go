package job

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
)

// Event reasons and messages users and scripts match on (JOB-EVT, JOB-POD-09,
// JOB-POD-10, JOB-SUS-01..03, JOB-COND-02..03, JOB-COND-12, JOB-SYNC-05).
const (
	reasonSuccessfulCreate = "SuccessfulCreate"
	msgSuccessfulCreate    = "Created pod: %v"
	reasonFailedCreate     = "FailedCreate"
	msgFailedCreate        = "Error creating: %v"
	reasonSuccessfulDelete = "SuccessfulDelete"
	msgSuccessfulDelete    = "Deleted pod: %v"
	reasonFailedDelete     = "FailedDelete"
	msgFailedDelete        = "Error deleting: %v"

	reasonSuspendedEvent = "Suspended"
	reasonResumedEvent   = "Resumed"
	reasonCompleted      = "Completed"
	msgCompleted         = "Job completed"

	reasonTooManySucceeded = "TooManySucceededPods"
	msgTooManySucceeded    = "Too many succeeded pods running after completion count reached"

	reasonUnknownCompletionMode = "UnknownCompletionMode"
	msgUnknownCompletionMode    = "Skipped Job sync because completion mode is unknown"
)

// Condition reasons and messages (JOB-COND-04, JOB-BL-01, JOB-DL-01,
// JOB-BLI-06, JOB-BLI-07, JOB-SP-08, JOB-SUS-01, JOB-SUS-03).
const (
	msgBackoffLimitExceeded     = "Job has reached the specified backoff limit"
	msgDeadlineExceeded         = "Job was active longer than specified deadline"
	msgMaxFailedIndexesExceeded = "Job has exceeded the specified maximal number of failed indexes"
	msgFailedIndexes            = "Job has failed indexes"
	msgCompletionsReached       = "Reached expected number of succeeded pods"
	msgMatchedRules             = "Matched rules at index %d"

	reasonJobSuspended = "JobSuspended"
	msgJobSuspended    = "Job suspended"
	reasonJobResumed   = "JobResumed"
	msgJobResumed      = "Job resumed"
)

// eventSource is the component name on every event the controller records.
const eventSource = "job-controller"

// event is one Event a plan wants recorded on its Job.
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
