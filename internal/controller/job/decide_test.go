package job

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/jobtest"
)

// summary is what most rows compare: counts of pod actions and the final
// status of a sync whose writes all succeed.
type summary struct {
	Create, Remove, Terminate, Finalize int
	Active, Succeeded, Failed           int32
	Ready, Terminating                  int32
	Conditions                          []string
	CompletedIndexes                    string
	FailedIndexes                       *string
	Requeue                             time.Duration
}

func summarize(p plan) summary {
	st := p.final()
	return summary{
		Create: len(p.create), Remove: len(p.remove), Terminate: len(p.terminate), Finalize: len(p.finalize),
		Active: st.Active, Succeeded: st.Succeeded, Failed: st.Failed,
		Ready: ptr.Deref(st.Ready, -1), Terminating: ptr.Deref(st.Terminating, -1),
		Conditions: condTypes(st), CompletedIndexes: st.CompletedIndexes, FailedIndexes: st.FailedIndexes,
		Requeue: p.requeueAfter,
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name string
		job  *batchv1.Job
		pods func(job *batchv1.Job) []*corev1.Pod
		want summary
	}{
		{
			name: "JOB-POD-01 first sync starts parallelism pods",
			job:  newJob(jobtest.Completions(5), jobtest.Parallelism(2)),
			want: summary{Create: 2, Active: 2},
		},
		{
			name: "JOB-POD-01 never more than the remaining completions",
			job:  newJob(jobtest.Completions(3), jobtest.Parallelism(5), func(j *batchv1.Job) { j.Status.Succeeded = 1 }),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, succeeded, noFinalizer)} },
			want: summary{Create: 2, Active: 2, Succeeded: 1},
		},
		{
			name: "JOB-POD-01 work queue job starts parallelism pods until one succeeds",
			job:  newJob(jobtest.Parallelism(3), func(j *batchv1.Job) { j.Spec.Completions = nil }),
			want: summary{Create: 3, Active: 3},
		},
		{
			name: "JOB-POD-01 JOB-BL-04 work queue job creates no pods after a success, failures still count",
			job:  newJob(jobtest.Parallelism(3), func(j *batchv1.Job) { j.Spec.Completions = nil; j.Status.Succeeded = 1 }),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, running), newPod(j, failed)}
			},
			want: summary{Active: 1, Succeeded: 1, Failed: 1, Finalize: 1},
		},
		{
			name: "JOB-POD-02 TerminatingOrFailed replaces terminating pods at once",
			job:  newJob(jobtest.Completions(2), jobtest.Parallelism(2)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, running), newPod(j, running, deleting, func(p *corev1.Pod) { p.Finalizers = nil })}
			},
			want: summary{Create: 1, Active: 2, Terminating: 1},
		},
		{
			name: "JOB-POD-02 JOB-PRP-02 policy Failed waits for terminating pods",
			job:  newJob(jobtest.Completions(2), jobtest.Parallelism(2), jobtest.PodReplacementPolicy(batchv1.Failed)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, running), newPod(j, running, deleting)}
			},
			want: summary{Active: 1, Terminating: 1},
		},
		{
			name: "JOB-PRP-01 JOB-TRK-02 a terminating pod counts as failed and is replaced under TerminatingOrFailed",
			job:  newJob(jobtest.Completions(1), jobtest.Parallelism(1)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, running, deleting)} },
			want: summary{Create: 1, Active: 1, Failed: 1, Finalize: 1, Terminating: 1},
		},
		{
			name: "JOB-PRP-01 a terminating pod that then succeeds was already counted failed",
			job: newJob(jobtest.Completions(1), func(j *batchv1.Job) {
				j.Status.Failed = 1
			}),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, succeeded, deleting, noFinalizer), newPod(j, running)}
			},
			want: summary{Active: 1, Failed: 1},
		},
		{
			name: "JOB-POD-03 JOB-POD-04 surplus pods are removed, never counted",
			job:  newJob(jobtest.Completions(5), jobtest.Parallelism(1)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, ready, scheduled), newPod(j, running, scheduled), newPod(j)}
			},
			want: summary{Remove: 2, Active: 1, Ready: 1, Terminating: 2},
		},
		{
			name: "JOB-SYNC-07 a sync that deletes creates nothing",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(3), jobtest.Parallelism(3)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, index(0)), newPod(j, index(0))}
			},
			want: summary{Remove: 1, Active: 1, Terminating: 1},
		},
		{
			name: "JOB-IDX-06 JOB-IDX-07 pods without a valid index or out of range are removed",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(2), jobtest.Parallelism(2)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, index(0)), newPod(j, index(1)), newPod(j, index(5)), newPod(j, annotation(batchv1.JobCompletionIndexAnnotation, "x")), newPod(j, annotation(batchv1.JobCompletionIndexAnnotation, "-1"))}
			},
			want: summary{Remove: 3, Active: 2, Terminating: 3},
		},
		{
			name: "JOB-IDX-08 JOB-IDX-09 JOB-TRK-04 succeeded indexes go to completedIndexes",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(8), jobtest.Parallelism(1)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				var pods []*corev1.Pod
				for _, ix := range []int{1, 3, 4, 5, 7} {
					pods = append(pods, newPod(j, index(ix), succeeded))
				}
				return append(pods, newPod(j, index(3), succeeded)) // a second success of index 3
			},
			want: summary{Create: 1, Active: 1, Succeeded: 5, Finalize: 6, CompletedIndexes: "1,3-5,7"},
		},
		{
			name: "JOB-IDX-10 failed pods without a valid index are not counted",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(2), jobtest.Parallelism(2)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, index(0), running), newPod(j, index(1), running), newPod(j, index(9), failed), newPod(j, failed)}
			},
			want: summary{Active: 2, Finalize: 2},
		},
		{
			name: "JOB-IDX-11 scale-down ignores completed indexes above completions",
			job: newJob(jobtest.Indexed(), jobtest.Completions(2), jobtest.Parallelism(2), func(j *batchv1.Job) {
				j.Status.CompletedIndexes, j.Status.Succeeded = "0,3", 2
			}),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, index(1)), newPod(j, index(2))} },
			want: summary{Remove: 1, Active: 1, Succeeded: 1, Terminating: 1, CompletedIndexes: "0"},
		},
		{
			name: "JOB-IDX-12 indexed job completes once all indexes succeeded and none is active",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(2), jobtest.Parallelism(2), func(j *batchv1.Job) { j.Status.CompletedIndexes, j.Status.Succeeded = "0", 1 }),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, index(1), succeeded)} },
			want: summary{Succeeded: 2, Finalize: 1, CompletedIndexes: "0,1", Conditions: []string{"SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached"}},
		},
		{
			name: "JOB-BL-01 the seventh counted failure exceeds the default backoffLimit",
			job:  newJob(func(j *batchv1.Job) { j.Status.Failed = 6 }),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, failed)} },
			want: summary{Failed: 7, Finalize: 1, Conditions: []string{"FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded"}},
		},
		{
			name: "JOB-BL-01 uncounted failures count toward the limit",
			job: newJob(jobtest.BackoffLimit(1), func(j *batchv1.Job) {
				j.Status.Failed = 1
				j.Status.UncountedTerminatedPods.Failed = []types.UID{"gone"}
			}),
			want: summary{Failed: 2, Conditions: []string{"FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded"}},
		},
		{
			name: "JOB-BL-02 OnFailure restarts reach backoffLimit",
			job:  newJob(jobtest.BackoffLimit(2), jobtest.RestartPolicy(corev1.RestartPolicyOnFailure)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, restarts(2))} },
			want: summary{Terminate: 1, Failed: 1, Finalize: 1, Terminating: 1, Conditions: []string{"FailureTarget/BackoffLimitExceeded"}},
		},
		{
			name: "JOB-BL-02 OnFailure with backoffLimit 0 fails on the first restart",
			job:  newJob(jobtest.BackoffLimit(0), jobtest.RestartPolicy(corev1.RestartPolicyOnFailure)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, restarts(1))} },
			want: summary{Terminate: 1, Failed: 1, Finalize: 1, Terminating: 1, Conditions: []string{"FailureTarget/BackoffLimitExceeded"}},
		},
		{
			name: "JOB-DL-01 JOB-DL-05 past the deadline active pods are terminated and none created",
			job:  newJob(jobtest.ActiveDeadline(30), jobtest.Completions(3), jobtest.Parallelism(2)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, running)} },
			want: summary{Terminate: 1, Failed: 1, Finalize: 1, Terminating: 1, Conditions: []string{"FailureTarget/DeadlineExceeded"}},
		},
		{
			name: "JOB-DL-03 a sync before the deadline looks again at the deadline",
			job:  newJob(jobtest.ActiveDeadline(90)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, running)} },
			want: summary{Active: 1, Requeue: 30 * time.Second},
		},
		{
			name: "JOB-DL-02 JOB-COND-05 backoffLimit is checked before the deadline",
			job:  newJob(jobtest.ActiveDeadline(30), jobtest.BackoffLimit(0)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, failed)} },
			want: summary{Failed: 1, Finalize: 1, Conditions: []string{"FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded"}},
		},
		{
			name: "JOB-PFP-14 JOB-COND-05 a FailJob rule is checked before backoffLimit and the deadline",
			job: newJob(jobtest.ActiveDeadline(30), jobtest.BackoffLimit(0),
				jobtest.PodFailurePolicy(jobtest.OnExitCodes(batchv1.PodFailurePolicyActionFailJob, "", batchv1.PodFailurePolicyOnExitCodesOpIn, 42))),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, exitCode(42))} },
			want: summary{Failed: 1, Finalize: 1, Conditions: []string{"FailureTarget/PodFailurePolicy", "Failed/PodFailurePolicy"}},
		},
		{
			name: "JOB-SP-09 JOB-COND-05 an existing SuccessCriteriaMet wins over new failures",
			job: newJob(jobtest.Indexed(), jobtest.Completions(3), jobtest.BackoffLimit(0), func(j *batchv1.Job) {
				j.Status.Conditions = []batchv1.JobCondition{*newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonSuccessPolicy, "Matched rules at index 0", now)}
				j.Status.CompletedIndexes, j.Status.Succeeded = "0", 1
			}),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, index(1), failed)} },
			want: summary{Succeeded: 1, Failed: 1, Finalize: 1, CompletedIndexes: "0", Conditions: []string{"SuccessCriteriaMet/SuccessPolicy", "Complete/SuccessPolicy"}},
		},
		{
			name: "JOB-SP-09 a failure criterion met in the same sync wins over the success policy",
			job: newJob(jobtest.Indexed(), jobtest.Completions(3), jobtest.Parallelism(3), jobtest.BackoffLimit(0),
				jobtest.SuccessPolicy(jobtest.SucceededCount(1))),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, index(0), succeeded), newPod(j, index(1), failed)}
			},
			want: summary{Succeeded: 1, Failed: 1, Finalize: 2, CompletedIndexes: "0", Conditions: []string{"FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded"}},
		},
		{
			name: "JOB-SP-06 JOB-SP-07 JOB-SP-08 a matched rule deletes active pods without counting them",
			job: newJob(jobtest.Indexed(), jobtest.Completions(3), jobtest.Parallelism(3),
				jobtest.SuccessPolicy(jobtest.SucceededIndexes("0-1", -1), jobtest.SucceededIndexes("2", -1))),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, index(0), running), newPod(j, index(1), running), newPod(j, index(2), succeeded)}
			},
			want: summary{Terminate: 2, Succeeded: 1, Finalize: 3, Terminating: 2, CompletedIndexes: "2", Conditions: []string{"SuccessCriteriaMet/SuccessPolicy"}},
		},
		{
			name: "JOB-SP-10 reaching completions gives CompletionsReached",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(1), jobtest.SuccessPolicy(jobtest.SucceededIndexes("0", -1))),
			pods: func(j *batchv1.Job) []*corev1.Pod { return nil },
			want: summary{Create: 1, Active: 1},
		},
		{
			name: "JOB-BLI-06 more failed indexes than maxFailedIndexes fail the Job",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(3), jobtest.Parallelism(3), jobtest.BackoffLimitPerIndex(0), jobtest.MaxFailedIndexes(0)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, index(0), failed, annotation(batchv1.JobIndexFailureCountAnnotation, "0")), newPod(j, index(1), running)}
			},
			want: summary{Terminate: 1, Failed: 2, Finalize: 2, Terminating: 1, FailedIndexes: ptr.To("0"), Conditions: []string{"FailureTarget/MaxFailedIndexesExceeded"}},
		},
		{
			name: "JOB-BLI-07 failed and succeeded indexes covering completions fail the Job",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(2), jobtest.Parallelism(2), jobtest.BackoffLimitPerIndex(0)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, index(0), failed), newPod(j, index(1), succeeded)}
			},
			want: summary{Succeeded: 1, Failed: 1, Finalize: 2, CompletedIndexes: "1", FailedIndexes: ptr.To("0"), Conditions: []string{"FailureTarget/FailedIndexes", "Failed/FailedIndexes"}},
		},
		{
			name: "JOB-BLI-04 JOB-BLI-05 failedIndexes is always present and a failed index does not stop others",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(3), jobtest.Parallelism(3), jobtest.BackoffLimitPerIndex(1)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return nil },
			want: summary{Create: 3, Active: 3, FailedIndexes: ptr.To("")},
		},
		{
			name: "JOB-BLI-08 JOB-BO-08 an index in backoff is not created, others are",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(2), jobtest.Parallelism(2), jobtest.BackoffLimitPerIndex(3)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, index(0), failedAt(now.Add(-5*time.Second)), annotation(batchv1.JobIndexFailureCountAnnotation, "0"))}
			},
			want: summary{Create: 1, Active: 1, Failed: 0, FailedIndexes: ptr.To("")},
		},
		{
			name: "JOB-BLI-08 only indexes in backoff: requeue after the smallest delay",
			job:  newJob(jobtest.Indexed(), jobtest.Completions(1), jobtest.BackoffLimitPerIndex(3)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, index(0), failedAt(now.Add(-5*time.Second)), annotation(batchv1.JobIndexFailureCountAnnotation, "1"))}
			},
			want: summary{FailedIndexes: ptr.To(""), Requeue: 15 * time.Second},
		},
		{
			name: "JOB-BO-05 no pod is created during backoff and the Job is requeued",
			job:  newJob(jobtest.Completions(2), jobtest.Parallelism(2)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, running), newPod(j, failedAt(now.Add(-4*time.Second)))}
			},
			want: summary{Active: 1, Failed: 1, Finalize: 1, Requeue: 6 * time.Second},
		},
		{
			name: "JOB-SUS-01 JOB-SUS-04 a suspended Job gets Suspended and no pods",
			job:  newJob(jobtest.Suspend(true), func(j *batchv1.Job) { j.Status.StartTime = nil }),
			want: summary{Conditions: []string{"Suspended/JobSuspended"}},
		},
		{
			name: "JOB-SUS-02 suspending deletes active pods without counting them",
			job:  newJob(jobtest.Suspend(true), jobtest.Completions(3), jobtest.Parallelism(2)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, ready), newPod(j, running)} },
			want: summary{Remove: 2, Terminating: 2, Conditions: []string{"Suspended/JobSuspended"}},
		},
		{
			name: "JOB-SUS-07 completions 0 completes while suspended",
			job:  newJob(jobtest.Suspend(true), jobtest.Completions(0), func(j *batchv1.Job) { j.Status.StartTime = nil }),
			want: summary{Conditions: []string{"SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached"}},
		},
		{
			name: "JOB-TRK-05 JOB-TRK-06 once failing, unfinished pods count as failed",
			job:  newJob(jobtest.Completions(3), jobtest.Parallelism(3), jobtest.BackoffLimit(0)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, failed), newPod(j, running), newPod(j, running, deleting)}
			},
			want: summary{Terminate: 1, Failed: 3, Finalize: 3, Terminating: 2, Conditions: []string{"FailureTarget/BackoffLimitExceeded"}},
		},
		{
			name: "JOB-TRK-08 an Ignore match is neither counted nor kept",
			job:  newJob(jobtest.Completions(1), jobtest.PodFailurePolicy(jobtest.OnConditions(batchv1.PodFailurePolicyActionIgnore, corev1.DisruptionTarget))),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, failedAt(now.Add(-time.Hour)), condition(corev1.DisruptionTarget))}
			},
			want: summary{Create: 1, Active: 1, Finalize: 1},
		},
		{
			name: "JOB-COND-08 JOB-SYNC-06 no interim condition while expectations are unsatisfied",
			job:  newJob(jobtest.BackoffLimit(0), jobtest.Completions(2), jobtest.Parallelism(2)),
			want: summary{},
		},
		{
			name: "JOB-COND-12 surplus successes warn before Completed",
			job:  newJob(jobtest.Completions(1)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, succeeded), newPod(j, succeeded)} },
			want: summary{Succeeded: 2, Finalize: 2, Conditions: []string{"SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached"}},
		},
		{
			name: "JOB-PRP-04 JOB-COND-09 terminal condition waits for terminating pods",
			job:  newJob(jobtest.Completions(1), jobtest.Parallelism(1), jobtest.PodReplacementPolicy(batchv1.Failed)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, succeeded), newPod(j, running, deleting)}
			},
			want: summary{Succeeded: 1, Finalize: 2, Terminating: 1, Conditions: []string{"SuccessCriteriaMet/CompletionsReached"}},
		},
		{
			name: "JOB-SYNC-09 a Job being deleted creates nothing and strips finalizers",
			job:  newJob(jobtest.Completions(3), jobtest.Parallelism(2), func(j *batchv1.Job) { j.DeletionTimestamp = &metav1.Time{Time: now} }),
			pods: func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{newPod(j, running), newPod(j, succeeded)} },
			want: summary{Active: 1, Succeeded: 1, Finalize: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pods []*corev1.Pod
			if tt.pods != nil {
				pods = tt.pods(tt.job)
			}
			in := input{job: tt.job, pods: pods, satisfied: !strings.Contains(tt.name, "unsatisfied"),
				expectedRemovals: sets.New[types.UID](), now: now, tuning: upstreamTuning}
			got := summarize(decide(in))
			if tt.want.Ready == 0 && got.Ready == 0 {
				got.Ready = 0
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decide() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideCreatedPods(t *testing.T) {
	t.Run("JOB-POD-05 JOB-POD-07 created pods copy the template and carry the finalizer once", func(t *testing.T) {
		job := newJob(jobtest.Parallelism(1), jobtest.TemplateAnnotations(map[string]string{"a": "b"}),
			func(j *batchv1.Job) { j.Spec.Template.Finalizers = []string{"x/y", batchv1.JobTrackingFinalizer} })
		p := run(job)
		if len(p.create) != 1 {
			t.Fatalf("created %d pods, want 1", len(p.create))
		}
		pod := p.create[0]
		if got, want := pod.Finalizers, []string{"x/y", batchv1.JobTrackingFinalizer}; !slices.Equal(got, want) {
			t.Errorf("finalizers = %v, want %v", got, want)
		}
		if pod.GenerateName != "j-" || pod.Annotations["a"] != "b" || pod.Labels[batchv1.JobNameLabel] != "j" {
			t.Errorf("pod meta = %+v", pod.ObjectMeta)
		}
		want := []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "j", UID: "juid", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
		if diff := cmp.Diff(want, pod.OwnerReferences); diff != "" {
			t.Errorf("ownerReferences mismatch (-want +got):\n%s", diff)
		}
		if job.Spec.Template.Finalizers[1] != batchv1.JobTrackingFinalizer || len(job.Spec.Template.Finalizers) != 2 {
			t.Errorf("decide changed its input: %v", job.Spec.Template.Finalizers)
		}
	})
	t.Run("JOB-IDX-01 JOB-IDX-02 JOB-IDX-04 JOB-IDX-05 indexed pods get index, hostname and env", func(t *testing.T) {
		job := newJob(jobtest.Indexed(), jobtest.Completions(5), jobtest.Parallelism(3), jobtest.InitContainer("init"), jobtest.Subdomain("svc"),
			func(j *batchv1.Job) { j.Status.CompletedIndexes, j.Status.Succeeded = "0", 1 })
		p := run(job, newPod(job, index(2), running))
		if got, want := createdIndexes(p), []int{1, 3}; !slices.Equal(got, want) {
			t.Fatalf("created indexes %v, want %v", got, want)
		}
		pod := p.create[1]
		if pod.Labels[batchv1.JobCompletionIndexAnnotation] != "3" || pod.Spec.Hostname != "j-3" || pod.Spec.Subdomain != "svc" || pod.GenerateName != "j-3-" {
			t.Errorf("pod = %+v / %+v", pod.ObjectMeta, pod.Spec)
		}
		for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
			want := []corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']"}}}}
			if diff := cmp.Diff(want, c.Env); diff != "" {
				t.Errorf("container %s env mismatch (-want +got):\n%s", c.Name, diff)
			}
		}
	})
	t.Run("JOB-IDX-03 long names are cut to keep the index suffix", func(t *testing.T) {
		name := strings.Repeat("a", 61)
		if got, want := indexedGenerateName(name, 12), strings.Repeat("a", 54)+"-12-"; got != want {
			t.Errorf("generateName = %q, want %q", got, want)
		}
		if got := indexedGenerateName("pi", 0); got != "pi-0-" {
			t.Errorf("generateName = %q", got)
		}
	})
	t.Run("JOB-BLI-01 JOB-BLI-02 replacements carry failure counts over", func(t *testing.T) {
		job := newJob(jobtest.Indexed(), jobtest.Completions(3), jobtest.Parallelism(3), jobtest.BackoffLimitPerIndex(5),
			jobtest.PodFailurePolicy(jobtest.OnExitCodes(batchv1.PodFailurePolicyActionIgnore, "", batchv1.PodFailurePolicyOnExitCodesOpIn, 7)))
		counted := newPod(job, index(0), failedAt(now.Add(-time.Hour)), annotation(batchv1.JobIndexFailureCountAnnotation, "2"), annotation(batchv1.JobIndexIgnoredFailureCountAnnotation, "1"))
		ignored := newPod(job, index(1), exitAt("main", 7, now.Add(-time.Hour)), annotation(batchv1.JobIndexFailureCountAnnotation, "bogus"))
		p := run(job, counted, ignored)
		got := map[int][2]string{}
		for _, pod := range p.create {
			got[completionIndex(pod)] = [2]string{pod.Annotations[batchv1.JobIndexFailureCountAnnotation], pod.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation]}
		}
		want := map[int][2]string{0: {"3", "1"}, 1: {"0", "1"}, 2: {"0", ""}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failure counts mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("JOB-BLI-09 the last failed pod of an index keeps its finalizer until replaced", func(t *testing.T) {
		job := newJob(jobtest.Indexed(), jobtest.Completions(1), jobtest.BackoffLimitPerIndex(2))
		pod := newPod(job, index(0), failedAt(now.Add(-time.Second)))
		p := run(job, pod)
		if len(p.finalize) != 0 || len(p.create) != 0 {
			t.Errorf("in backoff: finalize %v, create %d; want the failed pod kept and nothing created", names(p.finalize), len(p.create))
		}
		replacement := newPod(job, index(0), running)
		p = run(job, pod, replacement)
		if got := names(p.finalize); !slices.Equal(got, []string{pod.Name}) {
			t.Errorf("after replacement: finalize %v, want [%s]", got, pod.Name)
		}
	})
}

func TestDecideEvents(t *testing.T) {
	t.Run("JOB-SUS-03 resuming sets Suspended False and a new startTime", func(t *testing.T) {
		job := newJob(func(j *batchv1.Job) {
			j.Status.StartTime = nil
			j.Status.Conditions = []batchv1.JobCondition{*newCondition(batchv1.JobSuspended, reasonJobSuspended, msgJobSuspended, now.Add(-time.Hour))}
		})
		p := run(job)
		st := p.final()
		c := findCondition(st.Conditions, batchv1.JobSuspended)
		if c.Status != corev1.ConditionFalse || c.Reason != "JobResumed" || c.Message != "Job resumed" || !c.LastTransitionTime.Time.Equal(now) || !st.StartTime.Time.Equal(now) {
			t.Errorf("Suspended condition %+v, startTime %v", c, st.StartTime)
		}
		if diff := cmp.Diff([]event{normal("Resumed", "Job resumed")}, p.events, cmp.AllowUnexported(event{})); diff != "" {
			t.Errorf("events mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("JOB-SUS-08 suspension waits for satisfied expectations", func(t *testing.T) {
		job := newJob(jobtest.Suspend(true))
		p := decide(input{job: job, satisfied: false, expectedRemovals: sets.New[types.UID](), now: now, tuning: upstreamTuning})
		if len(p.events) != 0 || len(p.final().Conditions) != 0 {
			t.Errorf("events %v, conditions %v; want none", p.events, p.final().Conditions)
		}
	})
	t.Run("JOB-COND-12 JOB-EVT-02 TooManySucceededPods then Completed", func(t *testing.T) {
		job := newJob(jobtest.Completions(1))
		p := run(job, newPod(job, succeeded), newPod(job, succeeded))
		p.job.Status = p.final()
		want := []event{warning("TooManySucceededPods", "Too many succeeded pods running after completion count reached"), normal("Completed", "Job completed")}
		if diff := cmp.Diff(want, p.terminalEvents(), cmp.AllowUnexported(event{})); diff != "" {
			t.Errorf("terminal events mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("JOB-COND-01 JOB-COND-02 conditions carry equal probe and transition times", func(t *testing.T) {
		job := newJob(jobtest.BackoffLimit(0))
		p := run(job, newPod(job, failed))
		st := p.final()
		for _, c := range st.Conditions {
			if !c.LastProbeTime.Equal(&c.LastTransitionTime) || c.Message != msgBackoffLimitExceeded {
				t.Errorf("condition %+v", c)
			}
		}
		if st.CompletionTime != nil {
			t.Errorf("completionTime = %v on a failed Job, want none (JOB-STAT-02)", st.CompletionTime)
		}
	})
}

func TestDecideLimits(t *testing.T) {
	t.Run("JOB-SYNC-07 at most 500 creations per sync", func(t *testing.T) {
		job := newJob(jobtest.Completions(2000), jobtest.Parallelism(1000))
		if p := run(job); len(p.create) != 500 {
			t.Errorf("created %d, want 500", len(p.create))
		}
	})
	t.Run("JOB-SYNC-07 at most 500 deletions per sync", func(t *testing.T) {
		job := newJob(jobtest.Completions(2000), jobtest.Parallelism(1))
		var pods []*corev1.Pod
		for range 700 {
			pods = append(pods, newPod(job, running))
		}
		if p := run(job, pods...); len(p.remove) != 500 {
			t.Errorf("removed %d, want 500", len(p.remove))
		}
	})
	t.Run("JOB-TRK-07 at most 500 pods enter the uncounted lists per sync", func(t *testing.T) {
		job := newJob(jobtest.Completions(700), jobtest.Parallelism(1))
		var pods []*corev1.Pod
		for range 600 {
			pods = append(pods, newPod(job, succeeded))
		}
		p := run(job, pods...)
		if got := len(p.job.Status.UncountedTerminatedPods.Succeeded); got != 500 || !p.reachedMax {
			t.Errorf("uncounted %d (reachedMax %v), want 500", got, p.reachedMax)
		}
	})
}

func TestRemovalOrder(t *testing.T) {
	// JOB-POD-03
	job := newJob()
	at := func(d time.Duration) podOpt {
		return func(p *corev1.Pod) {
			for i := range p.Status.Conditions {
				p.Status.Conditions[i].LastTransitionTime = metav1.NewTime(now.Add(-d))
			}
		}
	}
	pods := []*corev1.Pod{
		newPod(job, ready, scheduled, at(time.Hour)),                                       // ready longest
		newPod(job, ready, scheduled, at(time.Minute)),                                     // ready shortest
		newPod(job, running, scheduled),                                                    // running, not ready
		newPod(job, scheduled, func(p *corev1.Pod) { p.Status.Phase = corev1.PodUnknown }), // unknown
		newPod(job, scheduled),                                                             // pending
		newPod(job, running, scheduled, restarts(3)),                                       // running, more restarts
		newPod(job), // unscheduled
	}
	want := []string{pods[6].Name, pods[4].Name, pods[3].Name, pods[5].Name, pods[2].Name, pods[1].Name, pods[0].Name}
	got := slices.Clone(pods)
	slices.SortStableFunc(got, removalOrder)
	if diff := cmp.Diff(want, names(got)); diff != "" {
		t.Errorf("removal order mismatch (-want +got):\n%s", diff)
	}
}
