package job

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/jobtest"
)

func TestIntervals(t *testing.T) {
	tests := []struct {
		name    string
		indexes []int
		want    string
	}{
		{"JOB-IDX-09 runs of three or more use a dash", []int{1, 3, 4, 5, 7}, "1,3-5,7"},
		{"JOB-IDX-09 pairs use a comma", []int{0, 1}, "0,1"},
		{"JOB-IDX-09 a run of three", []int{0, 1, 2}, "0-2"},
		{"JOB-IDX-09 empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv := intervals(nil).withIndexes(tt.indexes)
			if got := iv.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if back := parseIntervals(tt.want, 100); back.String() != tt.want || back.total() != len(tt.indexes) {
				t.Errorf("parse(%q) = %v", tt.want, back)
			}
			for _, ix := range tt.indexes {
				if !iv.has(ix) {
					t.Errorf("has(%d) = false", ix)
				}
			}
		})
	}
	if got := parseIntervals("0-9,12", 5).String(); got != "0-4" {
		t.Errorf("parse keeps indexes below completions: %q", got)
	}
}

func TestFinishedTime(t *testing.T) {
	// JOB-BO-06
	job := newJob()
	t1, t2 := now.Add(-3*time.Second), now.Add(-2*time.Second)
	containers := newPod(job, func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{
			{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(t1)}}},
			{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(t2)}}},
		}
	})
	readyFalse := newPod(job, func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(t1)}}
	})
	deleted := newPod(job, func(p *corev1.Pod) {
		p.DeletionTimestamp = &metav1.Time{Time: now}
		p.DeletionGracePeriodSeconds = ptr.To[int64](30)
	})
	created := newPod(job)
	for _, tt := range []struct {
		pod  *corev1.Pod
		want time.Time
	}{{containers, t2}, {readyFalse, t1}, {deleted, now.Add(-30 * time.Second)}, {created, created.CreationTimestamp.Time}} {
		if got := finishedTime(tt.pod); !got.Equal(tt.want) {
			t.Errorf("finishedTime(%s) = %v, want %v", tt.pod.Name, got, tt.want)
		}
	}
}

func TestBackoffDelays(t *testing.T) {
	// JOB-BO-04 JOB-BO-02
	var got []time.Duration
	last := now
	for n := int32(1); n <= 8; n++ {
		got = append(got, remainingBackoff(now, defaultPodFailureBackoff, maxPodFailureBackoff, n, &last))
	}
	want := []time.Duration{10, 20, 40, 80, 160, 320, 600, 600}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	job := newJob()
	success := newPod(job, succeeded) // finished at now-1s
	before, after := newPod(job, failedAt(now.Add(-2*time.Second))), newPod(job, failedAt(now))
	r := backoffRecord{failuresAfterLastSuccess: 4}.next([]*corev1.Pod{success}, []*corev1.Pod{before, after})
	if r.failuresAfterLastSuccess != 1 || !r.lastFailureTime.Equal(now) {
		t.Errorf("after a success: %d failures, last %v; want 1 at %v", r.failuresAfterLastSuccess, r.lastFailureTime, now)
	}
	r = r.next(nil, []*corev1.Pod{before})
	if r.failuresAfterLastSuccess != 2 {
		t.Errorf("failures = %d, want 2", r.failuresAfterLastSuccess)
	}
}

func TestFailurePolicyMatching(t *testing.T) {
	job := newJob(jobtest.InitContainer("init"))
	policy := &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		jobtest.OnExitCodes(batchv1.PodFailurePolicyActionIgnore, "main", batchv1.PodFailurePolicyOnExitCodesOpNotIn, 1, 2),
		jobtest.OnExitCodes(batchv1.PodFailurePolicyActionFailJob, "", batchv1.PodFailurePolicyOnExitCodesOpIn, 3),
		jobtest.OnConditions(batchv1.PodFailurePolicyActionCount, corev1.DisruptionTarget),
	}}
	tests := []struct {
		name   string
		pod    *corev1.Pod
		action string
		count  bool
	}{
		{"JOB-PFP-08 NotIn matches another code of the named container", newPod(job, exitAt("main", 9, now)), "Ignore", false},
		{"JOB-PFP-08 exit code 0 never matches", newPod(job, exitAt("main", 0, now)), "", true},
		{"JOB-PFP-08 init container statuses are scanned after containers", newPod(job, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}}}
		}), "FailJob", true},
		{"JOB-PFP-09 a pod condition matches", newPod(job, exitAt("main", 1, now), condition(corev1.DisruptionTarget)), "Count", true},
		{"JOB-PFP-07 no match counts", newPod(job, exitAt("main", 1, now)), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := matchFailurePolicy(policy, tt.pod)
			if got := string(ptr.Deref(m.action, "")); got != tt.action || m.count != tt.count {
				t.Errorf("match = %q count %v, want %q count %v", got, m.count, tt.action, tt.count)
			}
		})
	}
	m := matchFailurePolicy(policy, tests[2].pod)
	if want := "Container init for pod default/" + tests[2].pod.Name + " failed with exit code 3 matching FailJob rule at index 1"; ptr.Deref(m.failJob, "") != want {
		t.Errorf("message %q, want %q", ptr.Deref(m.failJob, ""), want)
	}
}

func TestExpectations(t *testing.T) {
	// JOB-SYNC-06
	fc := testingclock.NewFakeClock(now)
	e := newExpectations(fc)
	key := cache.ObjectName{Namespace: "ns", Name: "j"}
	if !e.satisfied(key) {
		t.Fatal("no record: want satisfied")
	}
	e.expect(key, 2, 0)
	e.observe(key, 1, 0)
	if e.satisfied(key) {
		t.Error("one creation outstanding: want unsatisfied")
	}
	e.observe(key, 1, 0)
	if !e.satisfied(key) {
		t.Error("all observed: want satisfied")
	}
	e.expect(key, 0, 3)
	fc.Step(expectationsTTL + time.Second)
	if !e.satisfied(key) {
		t.Error("after 5 minutes: want satisfied")
	}
}

func TestManagedAndFinished(t *testing.T) {
	// JOB-MB-01 JOB-MB-02 JOB-SYNC-04 JOB-SYNC-11
	if managedElsewhere(newJob(jobtest.ManagedBy(batchv1.JobControllerName))) || managedElsewhere(newJob()) {
		t.Error("the built-in controller's Jobs are managed here")
	}
	if !managedElsewhere(newJob(jobtest.ManagedBy("example.com/x"))) {
		t.Error("another controller's Job is managed here")
	}
	j := newJob()
	j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}
	if !finished(j) {
		t.Error("Failed=True is final")
	}
}
