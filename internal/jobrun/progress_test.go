package jobrun

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testJob is a Job with the given spec and status changes.
func testJob(change func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "job-uid"},
		Spec:       batchv1.JobSpec{Completions: ptr.To[int32](1), Parallelism: ptr.To[int32](1), BackoffLimit: ptr.To[int32](6)},
	}
	if change != nil {
		change(j)
	}
	return j
}

func cond(t batchv1.JobConditionType, reason, msg string) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg}
}

// rec is a pod record: index -1 for NonIndexed Jobs.
func rec(index int, phase corev1.PodPhase, firstSeen, failedSeen uint64, finished time.Time) *podRecord {
	return &podRecord{name: "p", index: index, phase: phase, firstSeen: firstSeen, failedSeen: failedSeen, finishedAt: finished}
}

func seen(job *batchv1.Job, pods ...*podRecord) *jobState {
	m := map[types.UID]*podRecord{}
	for i, p := range pods {
		m[types.UID(string(rune('a'+i)))] = p
	}
	return &jobState{display: "job/pi", namespace: "default", name: "pi", uid: "job-uid", job: job, pods: m, start: t0}
}

func TestProgressOf(t *testing.T) {
	tests := []struct {
		name string
		in   *jobState
		want progress
	}{
		{
			name: "not seen yet is pending",
			in:   seen(nil),
			want: progress{display: "job/pi", state: statePending, start: t0},
		},
		{
			name: "active pods are running",
			in: seen(testJob(func(j *batchv1.Job) {
				j.Spec.Completions = ptr.To[int32](5)
				j.Status = batchv1.JobStatus{Succeeded: 2, Active: 2, Ready: ptr.To[int32](1)}
			}), rec(-1, corev1.PodRunning, 1, 0, time.Time{})),
			want: progress{display: "job/pi", seen: true, state: stateRunning, completions: ptr.To[int32](5), succeeded: 2, active: 2, ready: 1, start: t0},
		},
		{
			name: "JOB-BO-04 a failure with nothing active backs off 10 s from when it finished",
			in: seen(testJob(func(j *batchv1.Job) { j.Status.Failed = 1 }),
				rec(-1, corev1.PodFailed, 1, 2, t0.Add(time.Second))),
			want: progress{display: "job/pi", seen: true, state: stateBackoff, completions: ptr.To[int32](1), failed: 1,
				backoff: 10 * time.Second, retryAt: t0.Add(11 * time.Second), start: t0},
		},
		{
			name: "JOB-BO-04 three failures since the last success back off 40 s, one retried twice",
			in: seen(testJob(func(j *batchv1.Job) { j.Status.Failed = 3 }),
				rec(-1, corev1.PodSucceeded, 1, 0, t0),
				rec(-1, corev1.PodFailed, 2, 3, t0.Add(time.Second)),
				rec(-1, corev1.PodFailed, 4, 5, t0.Add(2*time.Second)),
				rec(-1, corev1.PodFailed, 6, 7, t0.Add(3*time.Second))),
			want: progress{display: "job/pi", seen: true, state: stateBackoff, completions: ptr.To[int32](1), failed: 3, retries: 2,
				backoff: 40 * time.Second, retryAt: t0.Add(43 * time.Second), start: t0},
		},
		{
			name: "failures past backoffLimit do not back off: the Job is about to fail",
			in: seen(testJob(func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](0); j.Status.Failed = 1 }),
				rec(-1, corev1.PodFailed, 1, 2, t0)),
			want: progress{display: "job/pi", seen: true, state: statePending, completions: ptr.To[int32](1), failed: 1, start: t0},
		},
		{
			name: "a status that still counts the failed pod active is not backing off yet",
			in: seen(testJob(func(j *batchv1.Job) { j.Status.Active = 1 }),
				rec(-1, corev1.PodFailed, 1, 2, t0)),
			want: progress{display: "job/pi", seen: true, state: stateRunning, completions: ptr.To[int32](1), active: 1, start: t0},
		},
		{
			name: "suspended",
			in:   seen(testJob(func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) })),
			want: progress{display: "job/pi", seen: true, state: stateSuspended, completions: ptr.To[int32](1), start: t0},
		},
		{
			name: "FailureTarget is failing with its reason",
			in: seen(testJob(func(j *batchv1.Job) {
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobFailureTarget, "BackoffLimitExceeded", "Job has reached the specified backoff limit")}
			})),
			want: progress{display: "job/pi", seen: true, state: stateFailing, reason: "BackoffLimitExceeded",
				message: "Job has reached the specified backoff limit", completions: ptr.To[int32](1), start: t0},
		},
		{
			name: "SuccessCriteriaMet is completing",
			in: seen(testJob(func(j *batchv1.Job) {
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, "CompletionsReached", "")}
			})),
			want: progress{display: "job/pi", seen: true, state: stateCompleting, reason: "CompletionsReached", completions: ptr.To[int32](1), start: t0},
		},
		{
			name: "Failed wins over FailureTarget",
			in: seen(testJob(func(j *batchv1.Job) {
				j.Status.Conditions = []batchv1.JobCondition{
					cond(batchv1.JobFailureTarget, "DeadlineExceeded", "Job was active longer than specified deadline"),
					cond(batchv1.JobFailed, "DeadlineExceeded", "Job was active longer than specified deadline"),
				}
			})),
			want: progress{display: "job/pi", seen: true, state: stateFailed, reason: "DeadlineExceeded",
				message: "Job was active longer than specified deadline", completions: ptr.To[int32](1), start: t0},
		},
		{
			name: "JOB-IDX indexed jobs show a character per index",
			in: seen(testJob(func(j *batchv1.Job) {
				j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
				j.Spec.Completions = ptr.To[int32](6)
				j.Status = batchv1.JobStatus{Succeeded: 1, Active: 2, CompletedIndexes: "0"}
			}),
				rec(0, corev1.PodSucceeded, 1, 0, t0),
				rec(1, corev1.PodRunning, 2, 0, time.Time{}),
				rec(2, corev1.PodPending, 3, 0, time.Time{}),
				rec(3, corev1.PodFailed, 4, 5, t0)),
			want: progress{display: "job/pi", seen: true, state: stateRunning, completions: ptr.To[int32](6), succeeded: 1, active: 2,
				indexes: "+>~!..", start: t0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := progressOf(tt.in)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(progress{})); diff != "" {
				t.Errorf("progressOf() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name string
		pods []*podRecord
		want int
	}{
		{name: "no failures", pods: []*podRecord{rec(-1, corev1.PodSucceeded, 1, 0, t0)}, want: 0},
		{name: "a failure not replaced (yet) is no retry", pods: []*podRecord{rec(-1, corev1.PodFailed, 1, 2, t0)}, want: 0},
		{name: "a failure replaced later is a retry", pods: []*podRecord{rec(-1, corev1.PodFailed, 1, 2, t0), rec(-1, corev1.PodRunning, 3, 0, t0)}, want: 1},
		{name: "a pod seen before the failure is no replacement", pods: []*podRecord{rec(-1, corev1.PodFailed, 1, 3, t0), rec(-1, corev1.PodRunning, 2, 0, t0)}, want: 0},
		{
			name: "JOB-IDX only a later pod of the same index replaces",
			pods: []*podRecord{rec(0, corev1.PodFailed, 1, 3, t0), rec(1, corev1.PodRunning, 4, 0, t0), rec(2, corev1.PodFailed, 2, 5, t0), rec(2, corev1.PodRunning, 6, 0, t0)},
			want: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retries(tt.pods); got != tt.want {
				t.Errorf("retries() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{
		{1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second}, {6, 320 * time.Second}, {7, 10 * time.Minute}, {20, 10 * time.Minute},
	} {
		if got := backoffDelay(tt.failures); got != tt.want {
			t.Errorf("backoffDelay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

func TestIndexString(t *testing.T) {
	tests := []struct {
		name              string
		n                 int
		completed, failed string
		pods              []*podRecord
		want              string
	}{
		{name: "nothing yet", n: 4, want: "...."},
		{name: "completed and failed indexes from status", n: 6, completed: "0,2-3", failed: "5", want: "+.++.x"},
		{name: "a replacement running after a failure shows running", n: 2,
			pods: []*podRecord{rec(1, corev1.PodFailed, 1, 2, t0), rec(1, corev1.PodRunning, 3, 0, t0)}, want: ".>"},
		{name: "a deleted pending pod leaves its index waiting", n: 2,
			pods: []*podRecord{{index: 0, phase: corev1.PodPending, gone: true, firstSeen: 1}}, want: ".."},
		{name: "out of range indexes are ignored", n: 2, completed: "0-7", want: "++"},
		{name: "long strings are run-length encoded", n: 100, completed: "0-39", want: "40+ 60."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := indexString(tt.n, tt.completed, tt.failed, tt.pods); got != tt.want {
				t.Errorf("indexString() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseIndexes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []int
	}{
		{"", nil},
		{"3", []int{3}},
		{"1,3-5,9", []int{1, 3, 4, 5}},
		{"x,2", []int{2}},
	} {
		if diff := cmp.Diff(tt.want, parseIndexes(tt.in, 9)); diff != "" {
			t.Errorf("parseIndexes(%q, 9) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}
