package job_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/jobtest"
)

func scenarios() []scenario {
	return slices.Concat(exampleScenarios, podScenarios, indexedScenarios, policyScenarios, lifecycleScenarios, ownershipScenarios)
}

var exampleScenarios = []scenario{
	{"JOB-EX-01 JOB-STAT-03 JOB-STAT-04 JOB-STAT-05 JOB-STAT-06 JOB-STAT-09 JOB-TRK-09 JOB-SUS-04 JOB-EVT-01 simple job runs one pod to completion", testSimpleJob},
	{"JOB-EX-03 JOB-IDX-01 JOB-IDX-02 JOB-IDX-04 JOB-IDX-08 JOB-IDX-09 JOB-IDX-12 JOB-SP-10 indexed job", testIndexedJob},
	{"JOB-EX-04 JOB-SUS-02 JOB-SUS-03 JOB-COND-11 JOB-STAT-01 suspend and resume a running job", testSuspendResume},
	{"JOB-EX-05 JOB-PFP-07 JOB-PFP-08 JOB-PFP-10 JOB-COND-02 JOB-COND-09 JOB-PRP-04 FailJob on an exit code", testFailJobRule},
	{"JOB-EX-09 JOB-GC-02 JOB-GC-04 JOB-GC-05 JOB-ADOPT-04 deleting a running job", testDeleteRunningJob},
	{"JOB-EX-09 JOB-GC-01 a raw delete orphans the pods", testRawDelete},
}

func testSimpleJob(t *testing.T, e *env) {
	job := e.create(t, "pi")
	if got := job.Spec; *got.Completions != 1 || *got.Parallelism != 1 || *got.BackoffLimit != 6 ||
		*got.CompletionMode != batchv1.NonIndexedCompletion || *got.Suspend || *got.ManualSelector ||
		*got.PodReplacementPolicy != batchv1.TerminatingOrFailed || got.Selector.MatchLabels[batchv1.ControllerUidLabel] != string(job.UID) {
		t.Errorf("defaulted spec = %+v", got)
	}
	pods := jobtest.AwaitActive(t, e.c, job, 1)
	pod := pods[0]
	if !slices.Contains(pod.Finalizers, batchv1.JobTrackingFinalizer) || pod.GenerateName != "pi-" {
		t.Errorf("pod %s: generateName %q finalizers %v", pod.Name, pod.GenerateName, pod.Finalizers)
	}
	jobtest.AwaitEvent(t, e.c, job, "SuccessfulCreate", "Created pod: "+pod.Name)
	statuses := watchStatuses(t, e, job)
	jobtest.AwaitJob(t, e.c, job, "active 1", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
	must(t, e.node.Run(t.Context(), pod))
	jobtest.AwaitJob(t, e.c, job, "ready 1", func(j *batchv1.Job) bool { return j.Status.Ready != nil && *j.Status.Ready == 1 })
	must(t, e.node.Succeed(t.Context(), pod))
	done := jobtest.AwaitJob(t, e.c, job, "complete", jobtest.Complete)
	st := done.Status
	if got, want := jobtest.ConditionTypes(done), []string{"SuccessCriteriaMet=True/CompletionsReached", "Complete=True/CompletionsReached"}; !slices.Equal(got, want) {
		t.Errorf("conditions = %v, want %v", got, want)
	}
	if st.Succeeded != 1 || st.Active != 0 || st.Failed != 0 || st.CompletionTime == nil || st.StartTime == nil ||
		st.UncountedTerminatedPods == nil || len(st.UncountedTerminatedPods.Succeeded) != 0 || *st.Ready != 0 || *st.Terminating != 0 {
		t.Errorf("final status = %s", jobtest.DescribeStatus(done))
	}
	if c := jobtest.Condition(done, batchv1.JobComplete); c.Message != "Reached expected number of succeeded pods" || !st.CompletionTime.Equal(&c.LastTransitionTime) {
		t.Errorf("Complete condition = %+v, completionTime %v", c, st.CompletionTime)
	}
	jobtest.AwaitEvent(t, e.c, job, "Completed", "Job completed")
	// JOB-TRK-03 JOB-COND-07: the UID is listed as uncounted, with the
	// interim condition, before it is counted and Complete is added.
	sawUncounted := false
	for _, st := range statuses() {
		if u := st.UncountedTerminatedPods; u != nil && slices.Contains(u.Succeeded, pod.UID) {
			sawUncounted = true
			if st.Succeeded != 0 || !hasType(st, batchv1.JobSuccessCriteriaMet) || hasType(st, batchv1.JobComplete) {
				t.Errorf("status listing the pod as uncounted: succeeded %d conditions %v", st.Succeeded, st.Conditions)
			}
		}
	}
	if !sawUncounted {
		t.Errorf("no status listed pod %s in uncountedTerminatedPods.succeeded", pod.UID)
	}
	if jobtest.Condition(done, batchv1.JobSuspended) != nil {
		t.Errorf("a never-suspended job has a Suspended condition")
	}
	got, err := e.c.CoreV1().Pods(e.ns).Get(t.Context(), pod.Name, metav1.GetOptions{})
	must(t, err)
	if len(got.Finalizers) != 0 || got.DeletionTimestamp != nil || got.Status.Phase != corev1.PodSucceeded {
		t.Errorf("pod after completion: finalizers %v, deletionTimestamp %v", got.Finalizers, got.DeletionTimestamp)
	}
}

func hasType(st batchv1.JobStatus, typ batchv1.JobConditionType) bool {
	for _, c := range st.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func testIndexedJob(t *testing.T, e *env) {
	job := e.create(t, "idx", jobtest.Indexed(), jobtest.Completions(3), jobtest.Parallelism(2), jobtest.Subdomain("workers"))
	pods := e.active(t, job, 2)
	for i, ix := range []int{0, 1} {
		p := jobtest.ByIndex(pods, ix)
		if p == nil {
			t.Fatalf("no pod for index %d: %s", ix, jobtest.DescribePods(pods))
		}
		want := fmt.Sprintf("idx-%d-", ix)
		if p.GenerateName != want || !strings.HasPrefix(p.Name, want) || p.Spec.Hostname != fmt.Sprintf("idx-%d", ix) || p.Spec.Subdomain != "workers" ||
			p.Labels[batchv1.JobCompletionIndexAnnotation] != fmt.Sprint(ix) {
			t.Errorf("pod %d: name %s generateName %s hostname %s subdomain %s labels %v", i, p.Name, p.GenerateName, p.Spec.Hostname, p.Spec.Subdomain, p.Labels)
		}
		if env := p.Spec.Containers[0].Env; len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" {
			t.Errorf("pod %d env = %v", i, env)
		}
	}
	must(t, e.node.Succeed(t.Context(), jobtest.ByIndex(pods, 0)))
	e.awaitJob(t, job, "index 0 completed", func(j *batchv1.Job) bool { return j.Status.CompletedIndexes == "0" && j.Status.Succeeded == 1 })
	pods = e.active(t, job, 2)
	if jobtest.ByIndex(pods, 2) == nil {
		t.Fatalf("index 2 not started: %s", jobtest.DescribePods(pods))
	}
	must(t, e.node.Succeed(t.Context(), jobtest.ByIndex(pods, 1)))
	must(t, e.node.Succeed(t.Context(), jobtest.ByIndex(pods, 2)))
	done := e.awaitJob(t, job, "complete", jobtest.Complete)
	if done.Status.CompletedIndexes != "0-2" || done.Status.Succeeded != 3 || jobtest.Condition(done, batchv1.JobComplete).Reason != "CompletionsReached" {
		t.Errorf("final status %s", jobtest.DescribeStatus(done))
	}
}

func testSuspendResume(t *testing.T, e *env) {
	job := e.create(t, "sus")
	first := e.active(t, job, 1)[0]
	jobtest.AwaitEvent(t, e.c, job, "SuccessfulCreate", first.Name)
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) })
	sus := e.awaitJob(t, job, "suspended", func(j *batchv1.Job) bool { return jobtest.Has(j, batchv1.JobSuspended) && j.Status.Active == 0 })
	if sus.Status.StartTime != nil || sus.Status.Failed != 0 {
		t.Errorf("suspended status %s, startTime %v; want no startTime and nothing failed", jobtest.DescribeStatus(sus), sus.Status.StartTime)
	}
	if c := jobtest.Condition(sus, batchv1.JobSuspended); c.Reason != "JobSuspended" || c.Message != "Job suspended" {
		t.Errorf("Suspended condition %+v", c)
	}
	jobtest.AwaitPods(t, e.c, job, "gone", func(p []*corev1.Pod) bool { return len(p) == 0 })
	jobtest.AwaitEvent(t, e.c, job, "Suspended", "Job suspended")
	before := time.Now().Add(-time.Second)
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(false) })
	second := e.active(t, job, 1)[0]
	evs := jobtest.AwaitEvent(t, e.c, job, "Resumed", "Job resumed")
	if got, want := jobtest.Reasons(evs), []string{"SuccessfulCreate", "SuccessfulDelete", "Suspended", "SuccessfulCreate", "Resumed"}; !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	must(t, e.node.Succeed(t.Context(), second))
	done := e.awaitJob(t, job, "complete", jobtest.Complete)
	if got, want := jobtest.ConditionTypes(done), []string{"Suspended=False/JobResumed", "SuccessCriteriaMet=True/CompletionsReached", "Complete=True/CompletionsReached"}; !slices.Equal(got, want) {
		t.Errorf("conditions = %v, want %v", got, want)
	}
	if done.Status.Failed != 0 || done.Status.StartTime.Time.Before(before) {
		t.Errorf("failed %d, startTime %v (resumed after %v)", done.Status.Failed, done.Status.StartTime, before)
	}
}

func testFailJobRule(t *testing.T, e *env) {
	job := e.create(t, "fj", jobtest.Completions(2), jobtest.Parallelism(2),
		jobtest.PodFailurePolicy(jobtest.OnExitCodes(batchv1.PodFailurePolicyActionFailJob, "main", batchv1.PodFailurePolicyOnExitCodesOpIn, 42)))
	pods := e.active(t, job, 2)
	for _, p := range pods {
		e.bind(t, p)
	}
	must(t, e.node.Exit(t.Context(), pods[0], map[string]int32{"main": 42}))
	want := fmt.Sprintf("Container main for pod %s/%s failed with exit code 42 matching FailJob rule at index 0", e.ns, pods[0].Name)
	target := e.awaitJob(t, job, "FailureTarget", func(j *batchv1.Job) bool { return jobtest.Has(j, batchv1.JobFailureTarget) })
	if c := jobtest.Condition(target, batchv1.JobFailureTarget); c.Reason != "PodFailurePolicy" || c.Message != want {
		t.Errorf("FailureTarget = %+v, want message %q", c, want)
	}
	jobtest.AwaitEvent(t, e.c, job, "SuccessfulDelete", pods[1].Name)
	// The other pod is terminating on its node: no Failed yet.
	e.stays(t, job, 1500*time.Millisecond, "no Failed while a pod terminates", func(j *batchv1.Job, _ []*corev1.Pod) bool {
		return !jobtest.Failed(j)
	})
	must(t, e.node.ConfirmDeletion(t.Context(), pods[1], false))
	done := e.awaitJob(t, job, "failed", jobtest.Failed)
	if c := jobtest.Condition(done, batchv1.JobFailed); c.Reason != "PodFailurePolicy" || c.Message != want || done.Status.Failed != 2 || done.Status.CompletionTime != nil {
		t.Errorf("final status %s, Failed %+v", jobtest.DescribeStatus(done), c)
	}
	jobtest.AwaitEvent(t, e.c, job, "PodFailurePolicy", want)
}

func testDeleteRunningJob(t *testing.T, e *env) {
	bg := e.create(t, "bg")
	bgPod := e.active(t, bg, 1)[0]
	must(t, e.c.BatchV1().Jobs(e.ns).Delete(t.Context(), bg.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}))
	jobtest.Await(t, "background deletion removes the pod", func(ctx context.Context) (bool, string, error) {
		p := e.getPod(t, bgPod.Name)
		return p == nil, fmt.Sprint(p), nil
	})

	orphan := e.create(t, "orphan")
	pod := e.active(t, orphan, 1)[0]
	must(t, e.c.BatchV1().Jobs(e.ns).Delete(t.Context(), orphan.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)}))
	jobtest.Await(t, "orphaned pod loses owner and finalizer", func(ctx context.Context) (bool, string, error) {
		p := e.getPod(t, pod.Name)
		if p == nil {
			return false, "gone", nil
		}
		return len(p.OwnerReferences) == 0 && len(p.Finalizers) == 0 && p.DeletionTimestamp == nil, fmt.Sprintf("owners %v finalizers %v", p.OwnerReferences, p.Finalizers), nil
	})
}

func testRawDelete(t *testing.T, e *env) {
	job := e.create(t, "raw")
	pod := e.active(t, job, 1)[0]
	res := e.c.BatchV1().RESTClient().Delete().Namespace(e.ns).Resource("jobs").Name(job.Name).Do(t.Context())
	must(t, res.Error())
	if w := res.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Text, "child pods are preserved by default when jobs are deleted") {
		t.Errorf("warnings = %+v, want upstream's orphan-by-default warning", w)
	}
	jobtest.Await(t, "raw-deleted job's pod loses owner and finalizer", func(ctx context.Context) (bool, string, error) {
		p := e.getPod(t, pod.Name)
		if p == nil || p.DeletionTimestamp != nil {
			return false, "", fmt.Errorf("a Job deleted with no propagation policy took its pod along (JOB-GC-01: Orphan is the default)")
		}
		return len(p.OwnerReferences) == 0 && len(p.Finalizers) == 0, fmt.Sprintf("owners %v finalizers %v", p.OwnerReferences, p.Finalizers), nil
	})
}
