package job_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

var podScenarios = []scenario{
	{"JOB-POD-01 JOB-POD-02 JOB-POD-05 JOB-POD-06 JOB-POD-07 JOB-POD-09 JOB-SYNC-01 parallel job never exceeds parallelism", testParallelJob},
	{"JOB-POD-01 JOB-BL-04 JOB-COND-06 work queue job", testWorkQueueJob},
	{"JOB-POD-03 JOB-POD-04 JOB-POD-10 scaling down removes the least advanced pods uncounted", testScaleDown},
	{"JOB-TRK-01 JOB-TRK-02 JOB-PRP-01 a deleted running pod counts as failed", testDeletedPodCountsFailed},
	{"JOB-PRP-02 JOB-PRP-03 JOB-TRK-10 policy Failed waits for the terminal phase", testReplacementPolicyFailed},
}

var indexedScenarios = []scenario{
	{"JOB-IDX-03 long job names are cut in generateName", testLongIndexedName},
	{"JOB-IDX-11 elastic indexed job scales down and up", testElastic},
	{"JOB-BLI-06 maxFailedIndexes exceeded fails the job", testMaxFailedIndexes},
	{"JOB-PFP-13 JOB-BLI-03 a FailIndex rule fails the index at once", testFailIndexRule},
	{"JOB-SP-06 JOB-SP-07 JOB-SP-08 JOB-COND-03 success policy", testSuccessPolicy},
}

var policyScenarios = []scenario{
	{"JOB-PFP-12 JOB-BL-01 a Count rule counts toward backoffLimit", testCountRule},
	{"JOB-PFP-14 JOB-DL-02 a FailJob match wins over backoffLimit", testFailJobBeatsBackoffLimit},
	{"JOB-PFP-08 JOB-PFP-09 NotIn exit codes and pod conditions", testNotInAndConditions},
	{"JOB-BL-02 OnFailure restarts count toward backoffLimit", testOnFailureRestarts},
	{"JOB-BL-03 lowering backoffLimit applies at the next sync", testBackoffLimitMutable},
}

var lifecycleScenarios = []scenario{
	{"JOB-SUS-01 JOB-EVT-01 a job created suspended", testCreatedSuspended},
	{"JOB-SUS-06 JOB-SUS-09 suspension keeps counters and allows template changes", testSuspendKeepsCounters},
	{"JOB-SUS-07 completions 0 completes while suspended", testSuspendedZeroCompletions},
	{"JOB-SYNC-04 JOB-COND-10 JOB-GC-06 a finished job is left alone", testFinishedJobUntouched},
	{"JOB-STAT-08 jobs can be listed by status.successful", testFieldSelector},
	{"JOB-COND-12 surplus successes warn TooManySucceededPods", testTooManySucceeded},
	{"JOB-GC-03 JOB-SYNC-09 foreground deletion strips finalizers and creates nothing", testForegroundDeletion},
	{"JOB-GC-07 a job deleted as a dependent takes its pods", testJobAsDependent},
	{"JOB-DL-06 a pod-level deadline is an ordinary pod failure", testPodLevelDeadline},
}

var ownershipScenarios = []scenario{
	{"JOB-ADOPT-01 JOB-SYNC-10 JOB-SEL-06 orphans matching a manual selector are adopted", testAdoption},
	{"JOB-ADOPT-02 JOB-ADOPT-05 pods controlled by another owner are ignored", testOtherOwner},
	{"JOB-ADOPT-03 pods whose labels stop matching are released", testRelease},
	{"JOB-ADOPT-04 orphan pods lose the tracking finalizer", testOrphanFinalizer},
	{"JOB-MB-01 managedBy the built-in controller is reconciled", testManagedByBuiltin},
	{"JOB-MB-02 JOB-SYNC-11 a job managed elsewhere is ignored", testManagedElsewhere},
}

func testParallelJob(t *testing.T, e *env) {
	job := e.create(t, "par", jobtest.Completions(5), jobtest.Parallelism(2),
		jobtest.TemplateLabels(map[string]string{"app": "x"}), jobtest.TemplateAnnotations(map[string]string{"note": "y"}),
		func(j *batchv1.Job) { j.Spec.Template.Finalizers = []string{"example.com/keep"} })
	for done := 0; done < 5; done++ {
		want := min(2, 5-done)
		pods := e.active(t, job, want)
		p := pods[0]
		if p.Labels["app"] != "x" || p.Annotations["note"] != "y" || !slices.Equal(p.Finalizers, []string{"example.com/keep", batchv1.JobTrackingFinalizer}) ||
			len(p.Name) != len("par-")+5 || p.OwnerReferences[0].Kind != "Job" || !*p.OwnerReferences[0].Controller || !*p.OwnerReferences[0].BlockOwnerDeletion {
			t.Fatalf("pod %s: labels %v annotations %v finalizers %v owners %v", p.Name, p.Labels, p.Annotations, p.Finalizers, p.OwnerReferences)
		}
		must(t, e.node.Succeed(t.Context(), p))
		e.counts(t, job, int32(done+1), 0)
		if all := e.pods(t, job); len(jobtest.Active(all)) > 2 {
			t.Fatalf("more than parallelism active: %s", jobtest.DescribePods(all))
		}
	}
	e.awaitJob(t, job, "complete", jobtest.Complete)
	for _, p := range e.pods(t, job) { // let the pods go
		_, err := e.c.CoreV1().Pods(e.ns).Patch(t.Context(), p.Name, "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		must(t, err)
	}
}

func testWorkQueueJob(t *testing.T, e *env) {
	job := e.create(t, "wq", jobtest.Parallelism(3))
	pods := e.active(t, job, 3)
	must(t, e.node.Succeed(t.Context(), pods[0]))
	e.counts(t, job, 1, 0)
	must(t, e.node.Fail(t.Context(), pods[1], 1))
	e.counts(t, job, 1, 1)
	e.stays(t, job, 1200*time.Millisecond, "no replacement after a success", func(j *batchv1.Job, p []*corev1.Pod) bool {
		return len(p) == 3 && !jobtest.Complete(j)
	})
	must(t, e.node.Succeed(t.Context(), pods[2]))
	done := e.awaitJob(t, job, "complete", jobtest.Complete)
	if done.Status.Succeeded != 2 || done.Status.Failed != 1 {
		t.Errorf("final %s", jobtest.DescribeStatus(done))
	}
}

func testScaleDown(t *testing.T, e *env) {
	job := e.create(t, "down", jobtest.Completions(10), jobtest.Parallelism(3))
	pods := e.active(t, job, 3)
	must(t, e.node.Run(t.Context(), pods[1]))
	e.awaitJob(t, job, "ready 1", func(j *batchv1.Job) bool { return ptr.Deref(j.Status.Ready, 0) == 1 })
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](1) })
	left := e.active(t, job, 1)
	// Pending pods go before the running, ready one.
	if left[0].Name != pods[1].Name {
		t.Errorf("kept %s, want the ready %s", left[0].Name, pods[1].Name)
	}
	jobtest.AwaitEvent(t, e.c, job, "SuccessfulDelete", pods[0].Name)
	jobtest.AwaitEvent(t, e.c, job, "SuccessfulDelete", pods[2].Name)
	e.stays(t, job, 1200*time.Millisecond, "removed pods are not counted", func(j *batchv1.Job, _ []*corev1.Pod) bool {
		return j.Status.Failed == 0 && j.Status.Succeeded == 0
	})
}

func testDeletedPodCountsFailed(t *testing.T, e *env) {
	job := e.create(t, "del", jobtest.Completions(1))
	pod := e.active(t, job, 1)[0]
	e.bind(t, pod)
	must(t, e.node.Run(t.Context(), pod))
	e.deletePod(t, pod)
	e.counts(t, job, 0, 1)
	// The node later reports success: it stays counted as a failure.
	must(t, e.node.ConfirmDeletion(t.Context(), pod, true))
	e.stays(t, job, 1200*time.Millisecond, "still one failure, no success", func(j *batchv1.Job, _ []*corev1.Pod) bool {
		return j.Status.Failed == 1 && j.Status.Succeeded == 0
	})
}

func testReplacementPolicyFailed(t *testing.T, e *env) {
	job := e.create(t, "prp", jobtest.Completions(2), jobtest.Parallelism(1), jobtest.PodReplacementPolicy(batchv1.Failed))
	pod := e.active(t, job, 1)[0]
	e.deletePod(t, pod)
	e.awaitJob(t, job, "terminating 1", func(j *batchv1.Job) bool { return ptr.Deref(j.Status.Terminating, 0) == 1 && j.Status.Active == 0 })
	e.stays(t, job, 1200*time.Millisecond, "no replacement and no count while terminating", func(j *batchv1.Job, pods []*corev1.Pod) bool {
		return len(pods) == 1 && pods[0].DeletionTimestamp != nil && j.Status.Failed == 0
	})
	must(t, e.node.ConfirmDeletion(t.Context(), pod, true))
	e.awaitJob(t, job, "counted as succeeded", func(j *batchv1.Job) bool {
		return j.Status.Succeeded == 1 && ptr.Deref(j.Status.Terminating, -1) == 0
	})
	e.active(t, job, 1)
}

func testLongIndexedName(t *testing.T, e *env) {
	name := "a123456789b123456789c123456789d123456789e123456789f123456789"
	job := e.create(t, name, jobtest.Indexed(), jobtest.Completions(1))
	pod := e.active(t, job, 1)[0]
	if want := name[:55] + "-0-"; pod.GenerateName != want || pod.Spec.Hostname != name+"-0" {
		t.Errorf("generateName %q hostname %q, want %q", pod.GenerateName, pod.Spec.Hostname, want)
	}
}

// extraPod creates a pod controlled by the Job with the given index
// annotation, as a stale controller or a user might.
func extraPod(t *testing.T, e *env, job *batchv1.Job, index string, phase corev1.PodPhase) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "extra-", Namespace: e.ns, Labels: job.Spec.Template.Labels,
			Annotations:     map[string]string{batchv1.JobCompletionIndexAnnotation: index},
			Finalizers:      []string{batchv1.JobTrackingFinalizer},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true)}},
		},
		Spec: job.Spec.Template.Spec,
	}
	got, err := e.c.CoreV1().Pods(e.ns).Create(t.Context(), pod, metav1.CreateOptions{})
	must(t, err)
	if phase == corev1.PodFailed {
		must(t, e.node.Fail(t.Context(), got, 1))
	}
	return got
}

// TestBadIndexes runs with upstream's fixed batch period: the test makes a
// pod with an invalid index and fails it just after, and only the batch
// period makes the controller see it failed rather than active (an active
// one it would rightly delete).
func TestBadIndexes(t *testing.T) {
	t.Run("JOB-IDX-06 JOB-IDX-07 JOB-IDX-10 duplicate and invalid indexes are removed", func(t *testing.T) {
		t.Parallel()
		testBadIndexes(t, newEnv(t, clustertest.Start(t, clustertest.WithUpstreamJobBatching())))
	})
}

func testBadIndexes(t *testing.T, e *env) {
	job := e.create(t, "bad", jobtest.Indexed(), jobtest.Completions(2), jobtest.Parallelism(2))
	e.active(t, job, 2)
	dup := extraPod(t, e, job, "0", corev1.PodPending)
	junk := extraPod(t, e, job, "x", corev1.PodPending)
	high := extraPod(t, e, job, "7", corev1.PodPending)
	failedJunk := extraPod(t, e, job, "-3", corev1.PodFailed)
	jobtest.Await(t, "bad pods removed", func(ctx context.Context) (bool, string, error) {
		var left []string
		for _, p := range []*corev1.Pod{junk, high, failedJunk} {
			if got := e.getPod(t, p.Name); got != nil && len(got.Finalizers) > 0 {
				left = append(left, fmt.Sprintf("%s(ix %s, %s, del %v)", got.Name, got.Annotations[batchv1.JobCompletionIndexAnnotation], got.Status.Phase, got.DeletionTimestamp != nil))
			}
		}
		return len(left) == 0, fmt.Sprint(left), nil
	})
	pods := jobtest.AwaitPods(t, e.c, job, "one active pod per index", func(pods []*corev1.Pod) bool {
		active := jobtest.Active(pods)
		return len(active) == 2 && jobtest.Index(active[0]) != jobtest.Index(active[1])
	})
	if p := e.getPod(t, failedJunk.Name); p == nil || p.DeletionTimestamp != nil {
		t.Errorf("the controller deleted a finished pod")
	}
	_, _ = pods, dup
	e.active(t, job, 2)
	e.stays(t, job, 1200*time.Millisecond, "bad pods are not counted", func(j *batchv1.Job, _ []*corev1.Pod) bool {
		return j.Status.Failed == 0 && j.Status.Succeeded == 0
	})
}

func testElastic(t *testing.T, e *env) {
	job := e.create(t, "elastic", jobtest.Indexed(), jobtest.Completions(4), jobtest.Parallelism(4))
	pods := e.active(t, job, 4)
	must(t, e.node.Succeed(t.Context(), jobtest.ByIndex(pods, 3)))
	e.awaitJob(t, job, "index 3 done", func(j *batchv1.Job) bool { return j.Status.CompletedIndexes == "3" })
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](2), ptr.To[int32](2) })
	e.awaitJob(t, job, "index 3 forgotten", func(j *batchv1.Job) bool { return j.Status.CompletedIndexes == "" && j.Status.Succeeded == 0 })
	pods = e.active(t, job, 2)
	if jobtest.ByIndex(pods, 0) == nil || jobtest.ByIndex(pods, 1) == nil {
		t.Fatalf("after scale-down: %s", jobtest.DescribePods(pods))
	}
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](3), ptr.To[int32](3) })
	pods = e.active(t, job, 3)
	if jobtest.ByIndex(pods, 2) == nil {
		t.Fatalf("after scale-up: %s", jobtest.DescribePods(pods))
	}
}

func testMaxFailedIndexes(t *testing.T, e *env) {
	job := e.create(t, "mfi", jobtest.Indexed(), jobtest.Completions(3), jobtest.Parallelism(3), jobtest.BackoffLimitPerIndex(0), jobtest.MaxFailedIndexes(0))
	pods := e.active(t, job, 3)
	must(t, e.node.Fail(t.Context(), jobtest.ByIndex(pods, 0), 1))
	done := e.awaitJob(t, job, "failed", jobtest.Failed)
	if c := jobtest.Condition(done, batchv1.JobFailed); c.Reason != "MaxFailedIndexesExceeded" || c.Message != "Job has exceeded the specified maximal number of failed indexes" ||
		ptr.Deref(done.Status.FailedIndexes, "") != "0" || done.Status.Failed != 3 {
		t.Errorf("final %s, Failed %+v", jobtest.DescribeStatus(done), c)
	}
}

func testFailIndexRule(t *testing.T, e *env) {
	job := e.create(t, "fi", jobtest.Indexed(), jobtest.Completions(2), jobtest.Parallelism(2), jobtest.BackoffLimitPerIndex(3),
		jobtest.PodFailurePolicy(jobtest.OnExitCodes(batchv1.PodFailurePolicyActionFailIndex, "", batchv1.PodFailurePolicyOnExitCodesOpIn, 5)))
	pods := e.active(t, job, 2)
	must(t, e.node.Exit(t.Context(), jobtest.ByIndex(pods, 0), map[string]int32{"main": 5}))
	e.awaitJob(t, job, "index 0 failed", func(j *batchv1.Job) bool { return ptr.Deref(j.Status.FailedIndexes, "") == "0" && j.Status.Failed == 1 })
	must(t, e.node.Succeed(t.Context(), jobtest.ByIndex(pods, 1)))
	done := e.awaitJob(t, job, "failed", jobtest.Failed)
	if c := jobtest.Condition(done, batchv1.JobFailed); c.Reason != "FailedIndexes" || c.Message != "Job has failed indexes" || done.Status.CompletedIndexes != "1" {
		t.Errorf("final %s", jobtest.DescribeStatus(done))
	}
}

func testSuccessPolicy(t *testing.T, e *env) {
	job := e.create(t, "sp", jobtest.Indexed(), jobtest.Completions(3), jobtest.Parallelism(3),
		jobtest.SuccessPolicy(jobtest.SucceededIndexes("0", -1), jobtest.SucceededIndexes("1-2", 1)))
	pods := e.active(t, job, 3)
	must(t, e.node.Succeed(t.Context(), jobtest.ByIndex(pods, 2)))
	done := e.awaitJob(t, job, "complete", jobtest.Complete)
	if got, want := jobtest.ConditionTypes(done), []string{"SuccessCriteriaMet=True/SuccessPolicy", "Complete=True/SuccessPolicy"}; !slices.Equal(got, want) {
		t.Errorf("conditions %v, want %v", got, want)
	}
	if c := jobtest.Condition(done, batchv1.JobComplete); c.Message != "Matched rules at index 1" || done.Status.CompletionTime == nil ||
		done.Status.Failed != 0 || done.Status.Succeeded != 1 {
		t.Errorf("final %s, Complete %+v", jobtest.DescribeStatus(done), c)
	}
}

func testCountRule(t *testing.T, e *env) {
	job := e.create(t, "count", jobtest.BackoffLimit(0),
		jobtest.PodFailurePolicy(jobtest.OnExitCodes(batchv1.PodFailurePolicyActionCount, "", batchv1.PodFailurePolicyOnExitCodesOpIn, 3)))
	pod := e.active(t, job, 1)[0]
	must(t, e.node.Exit(t.Context(), pod, map[string]int32{"main": 3}))
	done := e.awaitJob(t, job, "failed", jobtest.Failed)
	if c := jobtest.Condition(done, batchv1.JobFailed); c.Reason != "BackoffLimitExceeded" || done.Status.Failed != 1 {
		t.Errorf("final %s", jobtest.DescribeStatus(done))
	}
}

func testFailJobBeatsBackoffLimit(t *testing.T, e *env) {
	job := e.create(t, "fjb", jobtest.BackoffLimit(0), jobtest.ActiveDeadline(3600),
		jobtest.PodFailurePolicy(jobtest.OnExitCodes(batchv1.PodFailurePolicyActionFailJob, "", batchv1.PodFailurePolicyOnExitCodesOpNotIn, 1, 2)))
	pod := e.active(t, job, 1)[0]
	must(t, e.node.Exit(t.Context(), pod, map[string]int32{"main": 9}))
	done := e.awaitJob(t, job, "failed", jobtest.Failed)
	if got, want := jobtest.ConditionTypes(done), []string{"FailureTarget=True/PodFailurePolicy", "Failed=True/PodFailurePolicy"}; !slices.Equal(got, want) {
		t.Errorf("conditions %v, want %v", got, want)
	}
}

func testNotInAndConditions(t *testing.T, e *env) {
	job := e.create(t, "notin", jobtest.Completions(2), jobtest.Parallelism(2), jobtest.BackoffLimit(5), jobtest.Containers("main", "side"),
		jobtest.PodFailurePolicy(
			jobtest.OnExitCodes(batchv1.PodFailurePolicyActionIgnore, "side", batchv1.PodFailurePolicyOnExitCodesOpNotIn, 1),
			jobtest.OnConditions(batchv1.PodFailurePolicyActionFailJob, "ConfigIssue")))
	pods := e.active(t, job, 2)
	// side exits 7 (NotIn [1]): ignored; main's 0 never matches.
	must(t, e.node.Exit(t.Context(), pods[0], map[string]int32{"side": 7}))
	e.stays(t, job, 1200*time.Millisecond, "ignored failure is not counted", func(j *batchv1.Job, _ []*corev1.Pod) bool { return j.Status.Failed == 0 })
	// A pod condition matches the FailJob rule.
	must(t, e.node.Exit(t.Context(), pods[1], map[string]int32{"main": 1}))
	_ = pods
	job2 := e.create(t, "cond", jobtest.PodFailurePolicy(jobtest.OnConditions(batchv1.PodFailurePolicyActionFailJob, "ConfigIssue")))
	p2 := e.active(t, job2, 1)[0]
	must(t, e.node.Exit(t.Context(), p2, map[string]int32{"main": 1}))
	_ = p2
}

func testOnFailureRestarts(t *testing.T, e *env) {
	job := e.create(t, "onf", jobtest.BackoffLimit(2), jobtest.RestartPolicy(corev1.RestartPolicyOnFailure))
	pod := e.active(t, job, 1)[0]
	must(t, e.node.Restart(t.Context(), pod))
	e.stays(t, job, 1200*time.Millisecond, "one restart is within the limit", func(j *batchv1.Job, _ []*corev1.Pod) bool { return !jobtest.Has(j, batchv1.JobFailureTarget) })
	must(t, e.node.Restart(t.Context(), pod))
	e.awaitJob(t, job, "failure target", func(j *batchv1.Job) bool {
		c := jobtest.Condition(j, batchv1.JobFailureTarget)
		return c != nil && c.Reason == "BackoffLimitExceeded"
	})
	e.awaitJob(t, job, "failed", jobtest.Failed)
}

func testBackoffLimitMutable(t *testing.T, e *env) {
	job := e.create(t, "blm", jobtest.BackoffLimit(1), jobtest.Completions(2), jobtest.Parallelism(2))
	pods := e.active(t, job, 2)
	must(t, e.node.Fail(t.Context(), pods[0], 1))
	e.counts(t, job, 0, 1)
	e.update(t, job, func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](0) })
	e.awaitJob(t, job, "failed", jobtest.Failed)
	e.update(t, job, func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](10) })
	e.stays(t, job, 1200*time.Millisecond, "a failed job is not revived", func(j *batchv1.Job, pods []*corev1.Pod) bool {
		return jobtest.Failed(j) && len(jobtest.Active(pods)) == 0
	})
}

func testCreatedSuspended(t *testing.T, e *env) {
	job := e.create(t, "cs", jobtest.Suspend(true))
	got := e.awaitJob(t, job, "suspended", func(j *batchv1.Job) bool { return jobtest.Has(j, batchv1.JobSuspended) })
	if c := jobtest.Condition(got, batchv1.JobSuspended); c.Reason != "JobSuspended" || c.Message != "Job suspended" || got.Status.StartTime != nil || got.Status.UncountedTerminatedPods == nil {
		t.Errorf("status %s, condition %+v", jobtest.DescribeStatus(got), c)
	}
	jobtest.AwaitEvent(t, e.c, job, "Suspended", "Job suspended")
	e.stays(t, job, time.Second, "no pods", func(_ *batchv1.Job, pods []*corev1.Pod) bool { return len(pods) == 0 })
}

func testSuspendKeepsCounters(t *testing.T, e *env) {
	job := e.create(t, "keep", jobtest.Indexed(), jobtest.Completions(3), jobtest.Parallelism(1))
	must(t, e.node.Succeed(t.Context(), e.active(t, job, 1)[0]))
	e.awaitJob(t, job, "index 0 done", func(j *batchv1.Job) bool { return j.Status.CompletedIndexes == "0" })
	e.active(t, job, 1)
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) })
	e.awaitJob(t, job, "suspended", func(j *batchv1.Job) bool { return jobtest.Has(j, batchv1.JobSuspended) && j.Status.Active == 0 })
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Template.Labels["tier"] = "late" })
	got := e.awaitJob(t, job, "counters kept", func(j *batchv1.Job) bool { return j.Status.Succeeded == 1 && j.Status.CompletedIndexes == "0" })
	if got.Status.Failed != 0 {
		t.Errorf("failed = %d", got.Status.Failed)
	}
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(false) })
	pod := e.active(t, job, 1)[0]
	if pod.Labels["tier"] != "late" || jobtest.Index(pod) != 1 {
		t.Errorf("resumed pod labels %v index %d", pod.Labels, jobtest.Index(pod))
	}
}

func testSuspendedZeroCompletions(t *testing.T, e *env) {
	job := e.create(t, "zero", jobtest.Suspend(true), jobtest.Completions(0))
	done := e.awaitJob(t, job, "complete", jobtest.Complete)
	if done.Status.StartTime != nil {
		t.Errorf("startTime %v, want none", done.Status.StartTime)
	}
}

func testFinishedJobUntouched(t *testing.T, e *env) {
	job := e.create(t, "fin", jobtest.Completions(1))
	pod := e.active(t, job, 1)[0]
	must(t, e.node.Succeed(t.Context(), pod))
	done := e.awaitJob(t, job, "complete", jobtest.Complete)
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](3) })
	e.stays(t, job, 1500*time.Millisecond, "nothing changes", func(j *batchv1.Job, pods []*corev1.Pod) bool {
		return len(pods) == 1 && slices.Equal(jobtest.ConditionTypes(j), jobtest.ConditionTypes(done)) && j.Status.Succeeded == 1
	})
}

// TestStatusWrites runs with upstream's fixed batch period: batchd's
// default adapts it to the Job's size (see TestAdaptiveBatching).
func TestStatusWrites(t *testing.T) {
	t.Run("JOB-STAT-07 JOB-SYNC-02 status is written only on change, pod events are batched", func(t *testing.T) {
		t.Parallel()
		testStatusWrites(t, newEnv(t, clustertest.Start(t, clustertest.WithUpstreamJobBatching())))
	})
}

func testStatusWrites(t *testing.T, e *env) {
	job := e.create(t, "sw", jobtest.Completions(1))
	pod := e.active(t, job, 1)[0]
	steady := e.awaitJob(t, job, "active", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
	e.stays(t, job, 1500*time.Millisecond, "no status writes without change", func(j *batchv1.Job, _ []*corev1.Pod) bool {
		return j.ResourceVersion == steady.ResourceVersion
	})
	start := time.Now()
	must(t, e.node.Run(t.Context(), pod))
	e.awaitJob(t, job, "ready", func(j *batchv1.Job) bool { return ptr.Deref(j.Status.Ready, 0) == 1 })
	if elapsed := time.Since(start); elapsed < 800*time.Millisecond {
		t.Errorf("a pod event was synced after %v, want the 1 s batch period", elapsed)
	}
}

func testFieldSelector(t *testing.T, e *env) {
	job := e.create(t, "fs")
	must(t, e.node.Succeed(t.Context(), e.active(t, job, 1)[0]))
	e.awaitJob(t, job, "complete", jobtest.Complete)
	list, err := e.c.BatchV1().Jobs(e.ns).List(t.Context(), metav1.ListOptions{FieldSelector: "status.successful=1"})
	must(t, err)
	if len(list.Items) != 1 {
		t.Errorf("listed %d jobs with status.successful=1, want 1", len(list.Items))
	}
}

// orphanPod creates a pod no one controls, with labels, in a phase.
func orphanPod(t *testing.T, e *env, labels map[string]string, phase corev1.PodPhase) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "orphan-", Namespace: e.ns, Labels: labels},
		Spec:       jobtest.New("x").Spec.Template.Spec,
	}
	got, err := e.c.CoreV1().Pods(e.ns).Create(t.Context(), pod, metav1.CreateOptions{})
	must(t, err)
	switch phase {
	case corev1.PodSucceeded:
		must(t, e.node.Succeed(t.Context(), got))
	case corev1.PodRunning:
		must(t, e.node.Run(t.Context(), got))
	}
	return got
}

func testTooManySucceeded(t *testing.T, e *env) {
	labels := map[string]string{"app": "many"}
	orphanPod(t, e, labels, corev1.PodSucceeded)
	orphanPod(t, e, labels, corev1.PodSucceeded)
	job := e.create(t, "many", jobtest.Completions(1), jobtest.ManualSelector(labels))
	done := e.awaitJob(t, job, "complete", jobtest.Complete)
	if done.Status.Succeeded != 2 {
		t.Errorf("succeeded %d, want 2", done.Status.Succeeded)
	}
	evs := jobtest.AwaitEvent(t, e.c, job, "Completed", "Job completed")
	if got := jobtest.Reasons(evs); !slices.Equal(got, []string{"TooManySucceededPods", "Completed"}) {
		t.Errorf("events %v", got)
	}
}

func testForegroundDeletion(t *testing.T, e *env) {
	job := e.create(t, "fg", jobtest.Completions(3), jobtest.Parallelism(2))
	pods := e.active(t, job, 2)
	e.bind(t, pods[0])
	must(t, e.node.Succeed(t.Context(), pods[1]))
	e.counts(t, job, 1, 0)
	e.active(t, job, 2)
	must(t, e.c.BatchV1().Jobs(e.ns).Delete(t.Context(), job.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}))
	// The bound pod waits for its node; meanwhile no pod is created and
	// finalizers are stripped.
	jobtest.Await(t, "bound pod loses its finalizer", func(ctx context.Context) (bool, string, error) {
		p := e.getPod(t, pods[0].Name)
		return p != nil && len(p.Finalizers) == 0 && p.DeletionTimestamp != nil, fmt.Sprint(p != nil), nil
	})
	must(t, e.node.ConfirmDeletion(t.Context(), pods[0], false))
	jobtest.Await(t, "job gone", func(ctx context.Context) (bool, string, error) {
		_, err := e.c.BatchV1().Jobs(e.ns).Get(ctx, job.Name, metav1.GetOptions{})
		return err != nil, fmt.Sprint(err), nil
	})
}

func testJobAsDependent(t *testing.T, e *env) {
	owner, err := e.c.CoreV1().ConfigMaps(e.ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	must(t, err)
	job := e.create(t, "dep", func(j *batchv1.Job) {
		j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}
	})
	pod := e.active(t, job, 1)[0]
	must(t, e.c.CoreV1().ConfigMaps(e.ns).Delete(t.Context(), owner.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}))
	jobtest.Await(t, "job and pod gone", func(ctx context.Context) (bool, string, error) {
		_, err := e.c.BatchV1().Jobs(e.ns).Get(ctx, job.Name, metav1.GetOptions{})
		return err != nil && e.getPod(t, pod.Name) == nil, fmt.Sprint(err), nil
	})
}

func testPodLevelDeadline(t *testing.T, e *env) {
	job := e.create(t, "pdl", jobtest.BackoffLimit(0), func(j *batchv1.Job) { j.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](5) })
	pod := e.active(t, job, 1)[0]
	must(t, e.node.Fail(t.Context(), pod, 137))
	done := e.awaitJob(t, job, "failed", jobtest.Failed)
	if c := jobtest.Condition(done, batchv1.JobFailed); c.Reason != "BackoffLimitExceeded" {
		t.Errorf("reason %s", c.Reason)
	}
}

func testAdoption(t *testing.T, e *env) {
	labels := map[string]string{"app": "adopt"}
	orphan := orphanPod(t, e, labels, corev1.PodRunning)
	job := e.create(t, "adopt", jobtest.Completions(1), jobtest.ManualSelector(labels))
	jobtest.Await(t, "orphan adopted", func(ctx context.Context) (bool, string, error) {
		p := e.getPod(t, orphan.Name)
		ref := metav1.GetControllerOf(p)
		return ref != nil && ref.UID == job.UID && *ref.BlockOwnerDeletion && slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer), fmt.Sprint(p.OwnerReferences, p.Finalizers), nil
	})
	e.stays(t, job, time.Second, "the adopted pod counts as the active one", func(j *batchv1.Job, pods []*corev1.Pod) bool { return len(pods) == 1 })
	must(t, e.node.Succeed(t.Context(), orphan))
	e.awaitJob(t, job, "complete", jobtest.Complete)
}

func testOtherOwner(t *testing.T, e *env) {
	labels := map[string]string{"app": "other"}
	first := e.create(t, "first", jobtest.Completions(1), jobtest.ManualSelector(labels))
	pod := e.active(t, first, 1)[0]
	second := e.create(t, "second", jobtest.Completions(1), jobtest.ManualSelector(labels))
	e.active(t, second, 1)
	must(t, e.node.Succeed(t.Context(), pod))
	e.awaitJob(t, first, "complete", jobtest.Complete)
	e.stays(t, second, time.Second, "second ignores first's pod", func(j *batchv1.Job, _ []*corev1.Pod) bool { return j.Status.Succeeded == 0 })
}

func testRelease(t *testing.T, e *env) {
	labels := map[string]string{"app": "rel"}
	job := e.create(t, "rel", jobtest.Completions(1), jobtest.ManualSelector(labels))
	pod := e.active(t, job, 1)[0]
	_, err := e.c.CoreV1().Pods(e.ns).Patch(t.Context(), pod.Name, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"app":"elsewhere"}}}`), metav1.PatchOptions{})
	must(t, err)
	jobtest.Await(t, "pod released", func(ctx context.Context) (bool, string, error) {
		p := e.getPod(t, pod.Name)
		return len(p.OwnerReferences) == 0 && len(p.Finalizers) == 0, fmt.Sprint(p.OwnerReferences, p.Finalizers), nil
	})
	e.active(t, job, 1) // a replacement
}

func testOrphanFinalizer(t *testing.T, e *env) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "lonely-", Namespace: e.ns, Finalizers: []string{batchv1.JobTrackingFinalizer}},
		Spec:       jobtest.New("x").Spec.Template.Spec,
	}
	got, err := e.c.CoreV1().Pods(e.ns).Create(t.Context(), pod, metav1.CreateOptions{})
	must(t, err)
	jobtest.Await(t, "finalizer removed", func(ctx context.Context) (bool, string, error) {
		p := e.getPod(t, got.Name)
		return len(p.Finalizers) == 0, fmt.Sprint(p.Finalizers), nil
	})
}

func testManagedByBuiltin(t *testing.T, e *env) {
	job := e.create(t, "mb", jobtest.ManagedBy(batchv1.JobControllerName))
	must(t, e.node.Succeed(t.Context(), e.active(t, job, 1)[0]))
	e.awaitJob(t, job, "complete", jobtest.Complete)
}

func testManagedElsewhere(t *testing.T, e *env) {
	job := e.create(t, "ext", jobtest.ManagedBy("example.com/other"))
	pod := extraPod(t, e, job, "", corev1.PodFailed)
	e.stays(t, job, 1500*time.Millisecond, "no pods, status or finalizer changes", func(j *batchv1.Job, pods []*corev1.Pod) bool {
		return len(pods) == 1 && len(pods[0].Finalizers) == 1 && j.Status.StartTime == nil && j.Status.UncountedTerminatedPods == nil
	})
	evs, err := jobtest.Events(t.Context(), e.c, job)
	must(t, err)
	if len(evs) != 0 {
		t.Errorf("events %v", jobtest.Reasons(evs))
	}
	_ = pod
}
