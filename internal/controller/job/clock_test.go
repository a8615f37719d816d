package job_test

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

// clockEnv runs a cluster whose Job controller and node share a fake
// clock the test steps.
func clockEnv(t *testing.T) (*env, *testingclock.FakeClock) {
	t.Helper()
	t.Parallel()
	fc := testingclock.NewFakeClock(time.Now().Truncate(time.Second))
	e := newEnv(t, clustertest.Start(t, clustertest.WithJobClock(fc)))
	e.node.Clock = fc
	return e, fc
}

// noNewPod checks for a while that the Job still has n pods.
func noNewPod(t *testing.T, e *env, job *batchv1.Job, n int) {
	t.Helper()
	e.stays(t, job, 1200*time.Millisecond, "no replacement yet", func(_ *batchv1.Job, pods []*corev1.Pod) bool { return len(pods) == n })
}

func waitPods(t *testing.T, e *env, job *batchv1.Job, n int) []*corev1.Pod {
	t.Helper()
	return jobtest.AwaitPods(t, e.c, job, "count", func(p []*corev1.Pod) bool { return len(p) == n })
}

// JOB-EX-02 JOB-BO-01 JOB-BO-02 JOB-BO-04 JOB-BO-05 JOB-BL-01 JOB-COND-04
func TestBackoffThenBackoffLimit(t *testing.T) {
	e, fc := clockEnv(t)
	job := e.create(t, "bo", jobtest.BackoffLimit(2))
	pod := e.active(t, job, 1)[0]
	for i, delay := range []time.Duration{10 * time.Second, 20 * time.Second} {
		must(t, e.node.Fail(t.Context(), pod, 1))
		e.counts(t, job, 0, int32(i+1))
		noNewPod(t, e, job, i+1)
		fc.Step(delay - time.Second)
		noNewPod(t, e, job, i+1)
		fc.Step(time.Second)
		pod = jobtest.Active(waitPods(t, e, job, i+2))[0]
	}
	must(t, e.node.Fail(t.Context(), pod, 1))
	done := e.awaitJob(t, job, "failed", jobtest.Failed)
	if got, want := jobtest.ConditionTypes(done), []string{"FailureTarget=True/BackoffLimitExceeded", "Failed=True/BackoffLimitExceeded"}; !slices.Equal(got, want) {
		t.Errorf("conditions %v, want %v", got, want)
	}
	if done.Status.Failed != 3 || done.Status.CompletionTime != nil || jobtest.Condition(done, batchv1.JobFailed).Message != "Job has reached the specified backoff limit" {
		t.Errorf("final %s", jobtest.DescribeStatus(done))
	}
	jobtest.AwaitEvent(t, e.c, job, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
}

// JOB-BO-09 JOB-PRP-01 JOB-BO-06
func TestDeletedPodWaitsForBackoff(t *testing.T) {
	e, fc := clockEnv(t)
	job := e.create(t, "delbo")
	pod := e.active(t, job, 1)[0]
	fc.SetTime(time.Now())
	e.deletePod(t, pod)
	e.counts(t, job, 0, 1)
	noNewPod(t, e, job, 0)
	fc.Step(8 * time.Second)
	noNewPod(t, e, job, 0)
	fc.Step(3 * time.Second)
	e.active(t, job, 1)
}

// JOB-EX-06 JOB-BO-03 JOB-PFP-11 JOB-PFP-15 JOB-TRK-08
func TestIgnoredDisruption(t *testing.T) {
	e, fc := clockEnv(t)
	job := e.create(t, "ign", jobtest.Completions(2), jobtest.Parallelism(2),
		jobtest.PodFailurePolicy(jobtest.OnConditions(batchv1.PodFailurePolicyActionIgnore, corev1.DisruptionTarget)))
	pods := e.active(t, job, 2)
	must(t, e.node.Disrupt(t.Context(), pods[0]))
	jobtest.AwaitPods(t, e.c, job, "finalizer removed", func(p []*corev1.Pod) bool {
		for _, x := range p {
			if x.Name == pods[0].Name {
				return len(x.Finalizers) == 0
			}
		}
		return true
	})
	noNewPod(t, e, job, 2)
	fc.Step(10 * time.Second)
	e.active(t, job, 2)
	if j := e.counts(t, job, 0, 0); j.Status.UncountedTerminatedPods == nil {
		t.Errorf("status %s", jobtest.DescribeStatus(j))
	}
}

// JOB-EX-07 JOB-DL-01 JOB-DL-05 JOB-TRK-06
func TestActiveDeadline(t *testing.T) {
	e, fc := clockEnv(t)
	job := e.create(t, "dl", jobtest.ActiveDeadline(5), jobtest.BackoffLimit(6))
	pod := e.active(t, job, 1)[0]
	e.bind(t, pod)
	must(t, e.node.Run(t.Context(), pod))
	e.awaitJob(t, job, "started", func(j *batchv1.Job) bool { return j.Status.StartTime != nil })
	fc.Step(4 * time.Second)
	noNewPod(t, e, job, 1)
	fc.Step(time.Second)
	target := e.awaitJob(t, job, "deadline", func(j *batchv1.Job) bool { return jobtest.Has(j, batchv1.JobFailureTarget) })
	if c := jobtest.Condition(target, batchv1.JobFailureTarget); c.Reason != "DeadlineExceeded" || c.Message != "Job was active longer than specified deadline" || jobtest.Failed(target) {
		t.Errorf("status %s", jobtest.DescribeStatus(target))
	}
	must(t, e.node.ConfirmDeletion(t.Context(), pod, false))
	done := e.awaitJob(t, job, "failed", jobtest.Failed)
	if done.Status.Failed != 1 || len(e.pods(t, job)) != 0 {
		t.Errorf("final %s", jobtest.DescribeStatus(done))
	}
}

// JOB-DL-03
func TestDeadlineChangeReschedules(t *testing.T) {
	e, fc := clockEnv(t)
	job := e.create(t, "dlc", jobtest.ActiveDeadline(100))
	e.active(t, job, 1)
	e.awaitJob(t, job, "started", func(j *batchv1.Job) bool { return j.Status.StartTime != nil })
	fc.Step(10 * time.Second)
	e.update(t, job, func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To[int64](12) })
	noNewPod(t, e, job, 1)
	fc.Step(2 * time.Second)
	e.awaitJob(t, job, "deadline", func(j *batchv1.Job) bool {
		c := jobtest.Condition(j, batchv1.JobFailureTarget)
		return c != nil && c.Reason == "DeadlineExceeded"
	})
}

// JOB-DL-04 JOB-SUS-05
func TestSuspendedTimeIsNotCounted(t *testing.T) {
	e, fc := clockEnv(t)
	job := e.create(t, "dls", jobtest.ActiveDeadline(10), jobtest.Suspend(true))
	e.awaitJob(t, job, "suspended", func(j *batchv1.Job) bool { return jobtest.Has(j, batchv1.JobSuspended) })
	fc.Step(30 * time.Second)
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(false) })
	e.active(t, job, 1)
	fc.Step(9 * time.Second)
	e.stays(t, job, 1200*time.Millisecond, "within the deadline", func(j *batchv1.Job, _ []*corev1.Pod) bool { return !jobtest.Has(j, batchv1.JobFailureTarget) })
	fc.Step(time.Second)
	e.awaitJob(t, job, "deadline", func(j *batchv1.Job) bool { return jobtest.Has(j, batchv1.JobFailureTarget) })
}

// JOB-BO-07
func TestBackoffIsLostOnRestart(t *testing.T) {
	t.Parallel()
	fc := testingclock.NewFakeClock(time.Now().Truncate(time.Second))
	cluster := clustertest.Start(t, clustertest.WithJobClock(fc))
	e := newEnv(t, cluster)
	e.node.Clock = fc
	job := e.create(t, "bor")
	must(t, e.node.Fail(t.Context(), e.active(t, job, 1)[0], 1))
	e.counts(t, job, 0, 1)
	noNewPod(t, e, job, 1)
	cluster.Restart(t, clustertest.WithJobClock(fc))
	e = newEnv(t, cluster)
	e.node.Clock = fc
	e.active(t, job, 1)
}

// JOB-BLI-01 JOB-BLI-02 JOB-BLI-03 JOB-BLI-04 JOB-BLI-05 JOB-BLI-07 JOB-BLI-08 JOB-BLI-09 JOB-BLI-10 JOB-BO-08
func TestBackoffLimitPerIndex(t *testing.T) {
	e, fc := clockEnv(t)
	job := e.create(t, "bli", jobtest.Indexed(), jobtest.Completions(2), jobtest.Parallelism(2), jobtest.BackoffLimitPerIndex(1))
	pods := e.active(t, job, 2)
	first := jobtest.ByIndex(pods, 0)
	if first.Annotations[batchv1.JobIndexFailureCountAnnotation] != "0" {
		t.Errorf("annotations %v", first.Annotations)
	}
	must(t, e.node.Fail(t.Context(), first, 1))
	e.counts(t, job, 0, 0)
	noNewPod(t, e, job, 2)
	if p := e.getPod(t, first.Name); len(p.Finalizers) == 0 {
		t.Errorf("the last failed pod of index 0 lost its finalizer before its replacement exists")
	}
	fc.Step(10 * time.Second)
	pods = e.active(t, job, 2)
	second := jobtest.ByIndex(pods, 0)
	if second.Annotations[batchv1.JobIndexFailureCountAnnotation] != "1" {
		t.Errorf("replacement annotations %v", second.Annotations)
	}
	e.counts(t, job, 0, 1)
	must(t, e.node.Fail(t.Context(), second, 1))
	e.awaitJob(t, job, "index 0 failed", func(j *batchv1.Job) bool { return ptr.Deref(j.Status.FailedIndexes, "") == "0" })
	must(t, e.node.Succeed(t.Context(), jobtest.ByIndex(pods, 1)))
	done := e.awaitJob(t, job, "failed", jobtest.Failed)
	if c := jobtest.Condition(done, batchv1.JobFailed); c.Reason != "FailedIndexes" || done.Status.Failed != 2 || done.Status.CompletedIndexes != "1" {
		t.Errorf("final %s", jobtest.DescribeStatus(done))
	}
}

// JOB-EX-08: with ttlSecondsAfterFinished 0 the Job goes as soon as it is
// Complete. A watch from its creation sees both, however fast the TTL
// controller is.
func TestTTLAfterFinished(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clustertest.Start(t))
	job := e.create(t, "ttl", jobtest.TTL(0))
	w, err := e.c.BatchV1().Jobs(e.ns).Watch(t.Context(), metav1.ListOptions{
		FieldSelector: "metadata.name=" + job.Name, ResourceVersion: job.ResourceVersion,
	})
	if err != nil {
		t.Fatalf("watching the job: %v", err)
	}
	defer w.Stop()
	must(t, e.node.Succeed(t.Context(), e.active(t, job, 1)[0]))
	complete := false
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the watch ended before the job was deleted")
			}
			j, _ := ev.Object.(*batchv1.Job)
			switch {
			case j == nil:
				t.Fatalf("unexpected watch event %v", ev.Type)
			case ev.Type == watch.Deleted:
				if !complete {
					t.Fatalf("the job was deleted before it was Complete: %s", jobtest.DescribeStatus(j))
				}
				return
			case jobtest.Complete(j):
				complete = true
			}
		case <-timeout:
			t.Fatalf("no deletion of the job within 30 s (complete seen: %v)", complete)
		}
	}
}
