package batch

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// running is a Job the controller started a minute before testNow.
func running(j *batchv1.Job) {
	j.Status.StartTime = timeAt(-time.Minute)
	j.Status.Active = 1
}

// withStatus returns a change that replaces the status.
func withStatus(s batchv1.JobStatus) func(*batchv1.Job) {
	return func(j *batchv1.Job) { j.Status = s }
}

func conditions(cs ...batchv1.JobCondition) []batchv1.JobCondition { return cs }

var (
	failureTarget = condition(batchv1.JobFailureTarget, corev1.ConditionTrue)
	failed        = condition(batchv1.JobFailed, corev1.ConditionTrue)
	criteriaMet   = condition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue)
	complete      = condition(batchv1.JobComplete, corev1.ConditionTrue)
)

// completeStatus is the status of a Job that finished well.
func completeStatus() batchv1.JobStatus {
	return batchv1.JobStatus{
		StartTime: timeAt(-time.Minute), CompletionTime: timeAt(0), Succeeded: 1,
		Conditions: conditions(criteriaMet, complete),
	}
}

func TestValidateJobStatusUpdate(t *testing.T) {
	tests := []struct {
		name   string
		old    *batchv1.Job
		status func(*batchv1.Job)
		want   []string
	}{
		{
			name: "JOB-SVAL-01 counters must be non-negative",
			old:  stored(),
			status: withStatus(batchv1.JobStatus{
				Active: -1, Ready: ptr.To[int32](-1), Terminating: ptr.To[int32](-1),
			}),
			want: []string{
				"status.active: Invalid value: must be greater than or equal to 0",
				"status.ready: Invalid value: must be greater than or equal to 0",
				"status.terminating: Invalid value: must be greater than or equal to 0",
			},
		},
		{
			name: "JOB-SVAL-01 uncounted pod UIDs must be set and unique across both lists",
			old:  stored(running),
			status: func(j *batchv1.Job) {
				j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{
					Succeeded: []types.UID{"a", ""},
					Failed:    []types.UID{"b", "a"},
				}
			},
			want: []string{
				"status.uncountedTerminatedPods.succeeded[1]: Invalid value: must not be empty",
				"status.uncountedTerminatedPods.failed[1]: Duplicate value",
			},
		},
		{
			name:   "JOB-SVAL-02 terminal conditions cannot be removed",
			old:    stored(withStatus(completeStatus())),
			status: func(j *batchv1.Job) { j.Status.Conditions = nil; j.Status.CompletionTime = nil },
			want: []string{
				"status.conditions: Invalid value: cannot disable the terminal Complete=True condition",
				"status.conditions: Invalid value: cannot disable the SuccessCriteriaMet=True condition",
			},
		},
		{
			name: "JOB-SVAL-02 FailureTarget cannot become False",
			old:  stored(running, func(j *batchv1.Job) { j.Status.Conditions = conditions(failureTarget) }),
			status: func(j *batchv1.Job) {
				j.Status.Conditions = conditions(condition(batchv1.JobFailureTarget, corev1.ConditionFalse))
			},
			want: []string{"status.conditions: Invalid value: cannot disable the terminal FailureTarget=True condition"},
		},
		{
			name:   "JOB-SVAL-03 failed cannot decrease",
			old:    stored(running, func(j *batchv1.Job) { j.Status.Failed = 2 }),
			status: func(j *batchv1.Job) { j.Status.Failed = 1 },
			want:   []string{"status.failed: Invalid value: cannot decrease the failed counter"},
		},
		{
			name:   "JOB-SVAL-03 succeeded cannot decrease",
			old:    stored(running, func(j *batchv1.Job) { j.Status.Succeeded = 2 }),
			status: func(j *batchv1.Job) { j.Status.Succeeded = 1 },
			want:   []string{"status.succeeded: Invalid value: cannot decrease the succeeded counter"},
		},
		{
			name:   "JOB-SVAL-03 succeeded may decrease for an elastic Indexed Job",
			old:    stored(indexed(2), running, func(j *batchv1.Job) { j.Status.Succeeded = 2; j.Status.CompletedIndexes = "0-1" }),
			status: func(j *batchv1.Job) { j.Status.Succeeded = 1; j.Status.CompletedIndexes = "0" },
		},
		{
			name: "JOB-SVAL-04 Failed needs FailureTarget",
			old:  stored(running),
			status: func(j *batchv1.Job) {
				j.Status.Active = 0
				j.Status.Conditions = conditions(failed)
			},
			want: []string{"status.conditions: Invalid value: cannot set Failed=True condition without the FailureTarget=true condition"},
		},
		{
			name: "JOB-SVAL-04 Complete needs SuccessCriteriaMet",
			old:  stored(running),
			status: func(j *batchv1.Job) {
				j.Status.Active, j.Status.Succeeded = 0, 1
				j.Status.CompletionTime = timeAt(0)
				j.Status.Conditions = conditions(complete)
			},
			want: []string{"status.conditions: Invalid value: cannot set Complete=True condition without the SuccessCriteriaMet=true condition"},
		},
		{
			name: "JOB-SVAL-04 the rules apply only when those conditions change",
			old: stored(func(j *batchv1.Job) {
				j.Status = completeStatus()
				j.Status.Conditions = conditions(complete) // written before the rule existed
			}),
			status: func(j *batchv1.Job) { j.Status.Succeeded = 2 },
		},
		{
			name: "JOB-SVAL-04 a well-formed completion is accepted",
			old:  stored(running),
			status: func(j *batchv1.Job) {
				j.Status = completeStatus()
			},
		},
		{
			name: "JOB-SVAL-05 a finished Job has no active or terminating pods, nothing uncounted and a start time",
			old:  stored(running, func(j *batchv1.Job) { j.Status.Conditions = conditions(failureTarget) }),
			status: func(j *batchv1.Job) {
				j.Status.StartTime = nil
				j.Status.Terminating = ptr.To[int32](1)
				j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Failed: []types.UID{"a"}}
				j.Status.Conditions = conditions(failureTarget, failed)
			},
			want: []string{
				"status.active: Invalid value: active>0 is invalid for finished job",
				"status.startTime: Required value: startTime is required for finished job",
				"status.uncountedTerminatedPods: Invalid value: must be empty for finished job",
				"status.terminating: Invalid value: terminating>0 is invalid for finished job",
				"status.startTime: Invalid value: field is immutable for unsuspended job once set",
			},
		},
		{
			name: "JOB-SVAL-05 a suspended Job with no completions may finish without a start time",
			old:  stored(suspended, func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](0) }),
			status: func(j *batchv1.Job) {
				j.Status.CompletionTime = timeAt(0)
				j.Status.Conditions = conditions(criteriaMet, complete)
			},
		},
		{
			name:   "JOB-SVAL-06 completionTime needs Complete",
			old:    stored(running),
			status: func(j *batchv1.Job) { j.Status.CompletionTime = timeAt(0) },
			want:   []string{"status.completionTime: Invalid value: cannot set completionTime when there is no Complete=True condition"},
		},
		{
			name: "JOB-SVAL-06 Complete needs completionTime",
			old:  stored(running),
			status: func(j *batchv1.Job) {
				j.Status = completeStatus()
				j.Status.CompletionTime = nil
			},
			want: []string{"status.completionTime: Required value: completionTime is required for Complete jobs"},
		},
		{
			name: "JOB-SVAL-06 completionTime is not before startTime",
			old:  stored(running),
			status: func(j *batchv1.Job) {
				j.Status = completeStatus()
				j.Status.CompletionTime = timeAt(-2 * time.Minute)
			},
			want: []string{"status.completionTime: Invalid value: must be equal to or after `startTime`"},
		},
		{
			name:   "JOB-SVAL-06 a set completionTime is immutable",
			old:    stored(withStatus(completeStatus())),
			status: func(j *batchv1.Job) { j.Status.CompletionTime = timeAt(time.Second) },
			want:   []string{"status.completionTime: Invalid value: field is immutable"},
		},
		{
			name: "JOB-SVAL-07 Complete and Failed exclude each other",
			old:  stored(withStatus(completeStatus())),
			status: func(j *batchv1.Job) {
				j.Status.Conditions = conditions(criteriaMet, complete, failed)
			},
			want: []string{
				"status.conditions: Invalid value: cannot set Complete=True and Failed=true conditions",
				"status.conditions: Invalid value: cannot set Failed=True condition without the FailureTarget=true condition",
				"status.conditions: Invalid value: cannot set SuccessCriteriaMet=True and Failed=true conditions",
			},
		},
		{
			name: "JOB-SVAL-07 Complete and FailureTarget exclude each other, as do SuccessCriteriaMet and FailureTarget",
			old:  stored(withStatus(completeStatus())),
			status: func(j *batchv1.Job) {
				j.Status.Conditions = conditions(criteriaMet, complete, failureTarget)
			},
			want: []string{
				"status.conditions: Invalid value: cannot set Complete=True and FailureTarget=true conditions",
				"status.conditions: Invalid value: cannot set SuccessCriteriaMet=True and FailureTarget=true conditions",
			},
		},
		{
			name: "JOB-SVAL-07 a Job with a successPolicy completes only with SuccessCriteriaMet",
			old: stored(indexed(2), running, func(j *batchv1.Job) {
				j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}}
			}),
			status: func(j *batchv1.Job) {
				j.Status = completeStatus()
				j.Status.Conditions = conditions(complete)
			},
			want: []string{
				"status.conditions: Invalid value: cannot set Complete=True condition without the SuccessCriteriaMet=true condition",
				"status.conditions: Invalid value: cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True",
			},
		},
		{
			name: "JOB-SVAL-07 SuccessCriteriaMet cannot be added to a complete Job",
			old: stored(func(j *batchv1.Job) {
				j.Status = completeStatus()
				j.Status.Conditions = conditions(complete)
			}),
			status: func(j *batchv1.Job) { j.Status.Conditions = conditions(complete, criteriaMet) },
			want: []string{
				"status.conditions: Invalid value: cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions",
			},
		},
		{
			name:   "JOB-SVAL-08 startTime of an unsuspended Job is immutable once set",
			old:    stored(running),
			status: func(j *batchv1.Job) { j.Status.StartTime = timeAt(0) },
			want:   []string{"status.startTime: Invalid value: field is immutable for unsuspended job once set"},
		},
		{
			name: "JOB-SVAL-08 startTime may be reset when the Job resumes",
			old: stored(startedThenSuspended, func(j *batchv1.Job) {
				j.Spec.Suspend = ptr.To(false) // the user resumed it
			}),
			status: func(j *batchv1.Job) {
				j.Status.StartTime = timeAt(0)
				j.Status.Conditions = conditions(condition(batchv1.JobSuspended, corev1.ConditionFalse))
			},
		},
		{
			name:   "JOB-SVAL-08 startTime of a suspended Job may be cleared",
			old:    stored(startedThenSuspended),
			status: func(j *batchv1.Job) { j.Status.StartTime = nil },
		},
		{
			name:   "JOB-SVAL-09 completedIndexes must parse below completions",
			old:    stored(indexed(3), running),
			status: func(j *batchv1.Job) { j.Status.CompletedIndexes = "1,3" },
			want:   []string{`status.completedIndexes: Invalid value: error parsing completedIndexes: too large index: "3"`},
		},
		{
			name:   "JOB-SVAL-09 completedIndexes are checked only when they change",
			old:    stored(indexed(3), running, func(j *batchv1.Job) { j.Status.CompletedIndexes = "0-4" }),
			status: func(j *batchv1.Job) { j.Status.Ready = ptr.To[int32](1) },
		},
		{
			name:   "JOB-SVAL-09 a NonIndexed Job has no completedIndexes",
			old:    stored(running),
			status: func(j *batchv1.Job) { j.Status.CompletedIndexes = "0" },
			want:   []string{"status.completedIndexes: Invalid value: cannot set non-empty completedIndexes when non-indexed completion mode"},
		},
		{
			name:   "JOB-SVAL-09 failedIndexes need backoffLimitPerIndex",
			old:    stored(indexed(3), running),
			status: func(j *batchv1.Job) { j.Status.FailedIndexes = ptr.To("") },
			want:   []string{"status.failedIndexes: Invalid value: cannot set non-null failedIndexes when backoffLimitPerIndex is null"},
		},
		{
			name: "JOB-SVAL-09 failedIndexes must parse and not overlap completedIndexes",
			old:  stored(indexed(4), running, func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) }),
			status: func(j *batchv1.Job) {
				j.Status.CompletedIndexes = "0-2"
				j.Status.FailedIndexes = ptr.To("2,x")
			},
			want: []string{
				`status.failedIndexes: Invalid value: error parsing failedIndexes: cannot convert string to integer for index: "x"`,
				"status.failedIndexes: Invalid value: failedIndexes and completedIndexes overlap at index: 2",
			},
		},
		{
			name:   "JOB-SVAL-10 ready cannot exceed active",
			old:    stored(running),
			status: func(j *batchv1.Job) { j.Status.Ready = ptr.To[int32](2) },
			want:   []string{"status.ready: Invalid value: cannot set more ready pods than active"},
		},
	}
	status := jobResource().Subresources["status"]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := tt.old.DeepCopy()
			tt.status(job)
			status.PrepareForUpdate(job, tt.old)
			got := errSummaries(status.ValidateUpdate(job, tt.old))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("status ValidateUpdate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
