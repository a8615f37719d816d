package job_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

// The seed examples of issue #4, driven through kubectl: the manifests under
// testdata/seed are applied with `kubectl apply -f`, the node stand-in gives
// their pods fixed outcomes step by step, and what `kubectl get job` and
// `kubectl describe job` print is compared with testdata/seed/*.golden.
//
// `kubectl get` tables are printed by the server (internal/table, upstream's
// printJob in pkg/printers/internalversion/printers.go); `kubectl describe`
// is printed by kubectl itself (describeJob in k8s.io/kubectl
// pkg/describe/describe.go) from the Job and the events the controller
// recorded, so a describe golden checks the objects and events the server
// supplies. Every golden states what upstream prints for the same objects
// and why ours is the same.
//
//	go test ./internal/controller/job -run TestSeedKubectl -update
//
// rewrites the goldens (kubectl 1.33's output in <name>.golden; another
// version's in <name>.kubectl-<version>.golden only when it differs).

var update = flag.Bool("update", false, "rewrite the golden files under testdata/seed")

const (
	seedDir = "testdata/seed"
	// goldenOwner is the kubectl whose output is <name>.golden.
	goldenOwner = "1.33"
	// olderDescribe is the oldest kubectl whose describe layout is checked
	// too (it lacks Suspend, Backoff Limit, Node-Selectors and
	// Tolerations; test/e2e's describe-job goldens show the same variant).
	olderDescribe = "1.27"
	// kubectlTimeout bounds one kubectl invocation.
	kubectlTimeout = 30 * time.Second
)

// TestSeedKubectl covers issue #4's must-show: kubectl apply of the seed
// examples gives the `kubectl get job` and `kubectl describe job` output
// upstream prints for the same pod outcomes.
func TestSeedKubectl(t *testing.T) {
	k := newSeedKubectl(t, goldenOwner)
	cluster := clustertest.Start(t)

	t.Run("pi", func(t *testing.T) {
		t.Parallel()
		seedPi(t, k.on(cluster), seedEnv(t, cluster, "seed-pi"))
	})
	t.Run("indexed-job", func(t *testing.T) {
		t.Parallel()
		seedIndexed(t, k.on(cluster), seedEnv(t, cluster, "seed-indexed"))
	})
	// The two failing Jobs step a fake Job controller clock (past the 10 s
	// pod failure backoff, to the 100 s deadline), each in its own cluster
	// so neither moves the other's time.
	t.Run("backoff-limit", func(t *testing.T) {
		t.Parallel()
		cluster, fc := seedClockCluster(t)
		seedBackoffLimit(t, k.on(cluster), seedClockEnv(t, cluster, fc, "seed-backoff"), fc)
	})
	t.Run("pi-with-timeout", func(t *testing.T) {
		t.Parallel()
		cluster, fc := seedClockCluster(t)
		seedDeadline(t, k.on(cluster), seedClockEnv(t, cluster, fc, "seed-deadline"), fc)
	})
	t.Run("KUBECTL-10 apply of an invalid Job lists every cause", func(t *testing.T) {
		t.Parallel()
		seedInvalid(t, k.on(cluster), seedEnv(t, cluster, "seed-invalid"))
	})
	t.Run("KUBECTL-11 create job makes a Job the controller runs", func(t *testing.T) {
		t.Parallel()
		seedCreateJob(t, k.on(cluster), seedEnv(t, cluster, "seed-create"))
	})
}

// seedPi runs pi (completions 5, parallelism 2) to completion, two pods
// at a time.
func seedPi(t *testing.T, k *seedKubectl, e *env) {
	k.apply(t, e.ns, "pi.yaml", "job.batch/pi created\n")
	job := e.getJob(t, "pi")

	// Two at a time: the first two succeed, two more start.
	first := e.active(t, job, 2)
	e.runAndSucceed(t, first...)
	second := e.activeExcept(t, job, 2, first)
	job = e.awaitJob(t, job, "2 succeeded, 2 active", func(j *batchv1.Job) bool {
		return j.Status.Succeeded == 2 && j.Status.Active == 2
	})
	if jobtest.Has(job, batchv1.JobComplete) || jobtest.Has(job, batchv1.JobSuccessCriteriaMet) {
		t.Fatalf("pi finished with 2 of 5: %s", jobtest.DescribeStatus(job))
	}
	// Upstream: STATUS Running (no condition), COMPLETIONS
	// <succeeded>/<completions> = 2/5, DURATION since startTime.
	t.Run("KUBECTL-02 KUBECTL-03 get pi while running", func(t *testing.T) {
		k.goldenTable(t, "pi-get-running", k.run(t, "-n", e.ns, "get", "job", "pi"))
	})

	// KUBECTL-09: kubectl wait, started while the Job runs, returns only
	// once Complete=True is there.
	wait := k.startWait(t, e.ns, "--for=condition=complete", "job/pi")
	e.runAndSucceed(t, second...)
	last := e.activeExcept(t, job, 1, append(first, second...))
	wait.stillWaiting(t, "with 4 of 5 pods succeeded")
	e.runAndSucceed(t, last...)
	t.Run("KUBECTL-09 wait for condition=complete", func(t *testing.T) {
		wait.conditionMet(t, "job.batch/pi condition met\n")
		if j := e.getJob(t, "pi"); !jobtest.Complete(j) {
			t.Errorf("kubectl wait returned before Complete=True: %s", jobtest.DescribeStatus(j))
		}
	})

	job = e.awaitJob(t, job, "complete", jobtest.Complete)
	if got, want := jobtest.ConditionTypes(job), []string{"SuccessCriteriaMet=True/CompletionsReached", "Complete=True/CompletionsReached"}; !slices.Equal(got, want) {
		t.Errorf("conditions %v, want %v", got, want)
	}
	// JOB-EVT-01: one SuccessfulCreate per pod, one Completed.
	e.awaitReasons(t, job, "SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "Completed")

	// Upstream: STATUS Complete (Complete=True), COMPLETIONS 5/5, DURATION
	// completionTime - startTime; -o wide adds CONTAINERS pi, IMAGES
	// perl:5.34.0 and SELECTOR batch.kubernetes.io/controller-uid=<uid>,
	// the selector the API server generated.
	t.Run("KUBECTL-01 KUBECTL-02 KUBECTL-04 get pi after Complete", func(t *testing.T) {
		k.goldenTable(t, "pi-get", k.run(t, "-n", e.ns, "get", "job", "pi"))
		k.goldenTable(t, "pi-get-wide", k.run(t, "-n", e.ns, "get", "job", "pi", "-o", "wide"))
	})
	// Upstream (describeJob): the generated selector; the Job's labels
	// copied from the template's generated ones (SetDefaults_Job);
	// Parallelism 2, Completions 5, Completion Mode NonIndexed, Suspend
	// false and Backoff Limit 4 as defaulted and given; Start Time,
	// Completed At and Duration from status; "0 Active (0 Ready) / 5
	// Succeeded / 0 Failed" (status.ready is always written); the template
	// with the four generated labels; events from job-controller: five
	// "Created pod: pi-<suffix>" and "Job completed" (controller_utils.go
	// CreatePods, job_controller.go recordJobFinished).
	k.describeGoldens(t, "KUBECTL-07 describe pi after Complete", e.ns, "pi", "pi-describe")
}

// seedIndexed runs indexed-job (Indexed, completions 5, parallelism 3):
// indexes 0 and 2 succeed first, then the rest.
func seedIndexed(t *testing.T, k *seedKubectl, e *env) {
	k.apply(t, e.ns, "indexed-job.yaml", "job.batch/indexed-job created\n")
	job := e.getJob(t, "indexed-job")

	first := e.activeExcept(t, job, 3, nil)
	if got := indexesOf(first); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("first pods hold indexes %v, want [0 1 2]", got)
	}
	for _, p := range first {
		must(t, e.node.Run(t.Context(), p))
	}
	must(t, e.node.Succeed(t.Context(), first[0]))
	must(t, e.node.Succeed(t.Context(), first[2]))
	more := e.activeExcept(t, job, 2, first)
	if got := indexesOf(more); !slices.Equal(got, []int{3, 4}) {
		t.Fatalf("replacement pods hold indexes %v, want [3 4]", got)
	}
	for _, p := range more {
		must(t, e.node.Run(t.Context(), p))
	}
	job = e.awaitJob(t, job, "indexes 0,2 done, 3 active and ready", func(j *batchv1.Job) bool {
		return j.Status.CompletedIndexes == "0,2" && j.Status.Succeeded == 2 && j.Status.Active == 3 && ptr.Deref(j.Status.Ready, 0) == 3
	})
	e.awaitReasons(t, job, "SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate")
	// Upstream: Running, 2/5 (succeeded counts indexes for Indexed Jobs).
	t.Run("KUBECTL-02 KUBECTL-03 get indexed-job with indexes 0,2 done", func(t *testing.T) {
		k.goldenTable(t, "indexed-job-get-running", k.run(t, "-n", e.ns, "get", "job", "indexed-job"))
	})
	// Upstream: Completion Mode Indexed, "3 Active (3 Ready) / 2 Succeeded
	// / 0 Failed", "Completed Indexes: 0,2" (status.completedIndexes as
	// is, under describe's 50-character cap), the template with its init
	// container, mounts and emptyDir volume, and one "Created pod:
	// indexed-job-<index>-<suffix>" per index (pod names are
	// <job>-<index>- plus the generated suffix, JOB-IDX).
	k.describeGoldens(t, "KUBECTL-07 describe indexed-job with indexes 0,2 done", e.ns, "indexed-job", "indexed-job-describe-running")

	wait := k.startWait(t, e.ns, "--for=condition=complete", "job/indexed-job")
	e.runAndSucceed(t, first[1], more[0])
	e.awaitJob(t, job, "4 indexes done", func(j *batchv1.Job) bool { return j.Status.CompletedIndexes == "0-3" })
	wait.stillWaiting(t, "with index 4 still running")
	e.runAndSucceed(t, more[1])
	t.Run("KUBECTL-09 wait for condition=complete", func(t *testing.T) {
		wait.conditionMet(t, "job.batch/indexed-job condition met\n")
	})
	job = e.awaitJob(t, job, "complete", jobtest.Complete)
	if job.Status.CompletedIndexes != "0-4" || job.Status.Succeeded != 5 {
		t.Errorf("final %s", jobtest.DescribeStatus(job))
	}
	e.awaitReasons(t, job, "SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "Completed")
	// Upstream: Complete, 5/5.
	t.Run("KUBECTL-02 KUBECTL-03 get indexed-job after Complete", func(t *testing.T) {
		k.goldenTable(t, "indexed-job-get", k.run(t, "-n", e.ns, "get", "job", "indexed-job"))
	})
	// Upstream: "Completed Indexes: 0-4" (ranges compressed as the
	// controller writes them), "0 Active (0 Ready) / 5 Succeeded / 0
	// Failed", Completed At and Duration, and "Job completed".
	k.describeGoldens(t, "KUBECTL-07 describe indexed-job after Complete", e.ns, "indexed-job", "indexed-job-describe")
}

// seedBackoffLimit fails both pods backoffLimit 1 allows.
func seedBackoffLimit(t *testing.T, k *seedKubectl, e *env, fc *testingclock.FakeClock) {
	k.apply(t, e.ns, "backoff-limit.yaml", "job.batch/backoff-limit created\n")
	job := e.getJob(t, "backoff-limit")

	first := e.active(t, job, 1)
	must(t, e.node.Fail(t.Context(), first[0], 1))
	job = e.counts(t, job, 0, 1)
	if jobtest.Has(job, batchv1.JobFailureTarget) {
		t.Fatalf("one failure with backoffLimit 1 failed the Job: %s", jobtest.DescribeStatus(job))
	}
	// The replacement waits out the 10 s pod failure backoff.
	fc.Step(10 * time.Second)
	second := e.activeExcept(t, job, 1, first)
	must(t, e.node.Fail(t.Context(), second[0], 1))
	job = e.awaitJob(t, job, "failed", jobtest.Failed)
	if got, want := jobtest.ConditionTypes(job), []string{"FailureTarget=True/BackoffLimitExceeded", "Failed=True/BackoffLimitExceeded"}; !slices.Equal(got, want) {
		t.Errorf("conditions %v, want %v", got, want)
	}
	if job.Status.Failed != 2 || job.Status.CompletionTime != nil {
		t.Errorf("final %s", jobtest.DescribeStatus(job))
	}
	// JOB-BL-01 JOB-COND-02: the Warning event repeats the Failed
	// condition's reason and message.
	evs := e.awaitReasons(t, job, "SuccessfulCreate", "SuccessfulCreate", "BackoffLimitExceeded")
	if last := evs[2]; last.Type != corev1.EventTypeWarning || last.Message != "Job has reached the specified backoff limit" {
		t.Errorf("last event %s %s %q", last.Type, last.Reason, last.Message)
	}

	t.Run("KUBECTL-09 wait on a failed Job", func(t *testing.T) {
		out := k.run(t, "-n", e.ns, "wait", "--for=condition=failed", "job/backoff-limit", "--timeout=10s")
		if out != "job.batch/backoff-limit condition met\n" {
			t.Errorf("kubectl wait --for=condition=failed printed %q", out)
		}
		// A failed Job never completes: kubectl wait times out.
		r := k.exec(t, "-n", e.ns, "wait", "--for=condition=complete", "job/backoff-limit", "--timeout=1s")
		if r.err == nil || r.stderr != "error: timed out waiting for the condition on jobs/backoff-limit\n" {
			t.Errorf("kubectl wait --for=condition=complete on a failed Job: err %v, stderr %q", r.err, r.stderr)
		}
	})
	// Upstream: STATUS Failed (Failed=True), COMPLETIONS 0/1 (completions
	// defaulted to 1), DURATION since startTime (a failed Job has no
	// completionTime).
	t.Run("KUBECTL-02 KUBECTL-04 get backoff-limit after Failed", func(t *testing.T) {
		k.goldenTable(t, "backoff-limit-get", k.run(t, "-n", e.ns, "get", "job", "backoff-limit"))
	})
	// Upstream: Backoff Limit 1, Start Time but no Completed At or
	// Duration, "0 Active (0 Ready) / 0 Succeeded / 2 Failed", two
	// "Created pod" and Warning BackoffLimitExceeded "Job has reached the
	// specified backoff limit" (job_controller.go recordJobFinished; no
	// SuccessfulDelete: no pod was active).
	k.describeGoldens(t, "KUBECTL-07 describe backoff-limit after Failed", e.ns, "backoff-limit", "backoff-limit-describe")
}

// seedDeadline lets pi-with-timeout's only pod run past its 100 s
// deadline.
func seedDeadline(t *testing.T, k *seedKubectl, e *env, fc *testingclock.FakeClock) {
	k.apply(t, e.ns, "pi-with-timeout.yaml", "job.batch/pi-with-timeout created\n")
	job := e.getJob(t, "pi-with-timeout")

	pod := e.active(t, job, 1)[0]
	// Bound to a node, the pod's deletion waits for the node to confirm it.
	e.bind(t, pod)
	must(t, e.node.Run(t.Context(), pod))
	job = e.awaitJob(t, job, "running and ready", func(j *batchv1.Job) bool {
		return j.Status.StartTime != nil && ptr.Deref(j.Status.Ready, 0) == 1
	})

	wait := k.startWait(t, e.ns, "--for=condition=failed", "job/pi-with-timeout")
	fc.Step(99 * time.Second)
	wait.stillWaiting(t, "1 s before the deadline")
	fc.Step(time.Second)
	job = e.awaitJob(t, job, "FailureTarget", func(j *batchv1.Job) bool { return jobtest.Has(j, batchv1.JobFailureTarget) })
	if c := jobtest.Condition(job, batchv1.JobFailureTarget); c.Reason != "DeadlineExceeded" || c.Message != "Job was active longer than specified deadline" {
		t.Errorf("FailureTarget %s %q", c.Reason, c.Message)
	}
	jobtest.AwaitPods(t, e.c, job, "terminating", func(p []*corev1.Pod) bool { return len(p) == 1 && p[0].DeletionTimestamp != nil })
	// JOB-COND-09: Failed waits for the pod to terminate, and so does
	// kubectl wait --for=condition=failed.
	wait.stillWaiting(t, "while the pod terminates")
	// Upstream: STATUS FailureTarget (no Failed yet, not deleted, not
	// suspended), 0/1.
	t.Run("KUBECTL-02 JOB-COND-09 get pi-with-timeout while its pod terminates", func(t *testing.T) {
		k.goldenTable(t, "pi-with-timeout-get-terminating", k.run(t, "-n", e.ns, "get", "job", "pi-with-timeout"))
	})
	must(t, e.node.ConfirmDeletion(t.Context(), pod, false))
	t.Run("KUBECTL-09 wait for condition=failed", func(t *testing.T) {
		wait.conditionMet(t, "job.batch/pi-with-timeout condition met\n")
		if j := e.getJob(t, "pi-with-timeout"); !jobtest.Failed(j) {
			t.Errorf("kubectl wait returned before Failed=True: %s", jobtest.DescribeStatus(j))
		}
	})
	job = e.awaitJob(t, job, "failed", jobtest.Failed)
	if job.Status.Failed != 1 || job.Status.Active != 0 || ptr.Deref(job.Status.Terminating, 0) != 0 {
		t.Errorf("final %s", jobtest.DescribeStatus(job))
	}
	// JOB-DL-01 JOB-EVT-01: the running pod is deleted, then the Warning.
	evs := e.awaitReasons(t, job, "SuccessfulCreate", "SuccessfulDelete", "DeadlineExceeded")
	if evs[1].Message != "Deleted pod: "+pod.Name || evs[2].Type != corev1.EventTypeWarning || evs[2].Message != "Job was active longer than specified deadline" {
		t.Errorf("events %+v", evs)
	}
	// Upstream: Failed, 0/1.
	t.Run("KUBECTL-02 get pi-with-timeout after Failed", func(t *testing.T) {
		k.goldenTable(t, "pi-with-timeout-get", k.run(t, "-n", e.ns, "get", "job", "pi-with-timeout"))
	})
	// Upstream: Backoff Limit 5, "Active Deadline Seconds: 100s", "0
	// Active (0 Ready) / 0 Succeeded / 1 Failed" (the deleted pod counts
	// as failed), "Created pod", "Deleted pod" and Warning
	// DeadlineExceeded "Job was active longer than specified deadline".
	k.describeGoldens(t, "KUBECTL-07 describe pi-with-timeout after Failed", e.ns, "pi-with-timeout", "pi-with-timeout-describe")
}

// seedInvalid applies a Job with four invalid fields.
func seedInvalid(t *testing.T, k *seedKubectl, e *env) {
	r := k.exec(t, "-n", e.ns, "apply", "-f", filepath.Join(seedDir, "invalid.yaml"))
	var exit *exec.ExitError
	if !errors.As(r.err, &exit) || exit.ExitCode() != 1 || r.stdout != "" {
		t.Fatalf("kubectl apply of an invalid Job: err %v, stdout %q, stderr %q", r.err, r.stdout, r.stderr)
	}
	// Upstream (k8s.io/kubectl pkg/cmd/util/helpers.go checkErr and
	// MultilineError): for a 422 with causes, "The <details.kind>
	// <details.name quoted> is invalid: " (trailing blank included) on a
	// line of its own, then "* <field>: <message>" per cause, in the
	// server's order; the messages are upstream's (JOB-VAL-03, JOB-VAL-04).
	// Nothing in it varies, so it is compared exactly.
	want := "The Job \"invalid\" is invalid: \n" +
		"* spec.parallelism: Invalid value: -1: must be greater than or equal to 0\n" +
		"* spec.completions: Invalid value: -1: must be greater than or equal to 0\n" +
		"* spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0\n" +
		"* spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"\n"
	if r.stderr != want {
		t.Errorf("kubectl apply of an invalid Job printed\n%q\nwant\n%q", r.stderr, want)
	}

	// The 422 itself, as client-go sees it.
	var job batchv1.Job
	manifest, err := os.ReadFile(filepath.Join(seedDir, "invalid.yaml"))
	must(t, err)
	must(t, yaml.Unmarshal(manifest, &job))
	_, err = e.c.BatchV1().Jobs(e.ns).Create(t.Context(), &job, metav1.CreateOptions{})
	var status *apierrors.StatusError
	if !errors.As(err, &status) || status.Status().Code != 422 || status.Status().Reason != metav1.StatusReasonInvalid {
		t.Fatalf("creating the invalid Job: %v, want 422 Invalid", err)
	}
	d := status.Status().Details
	var fields []string
	for _, c := range d.Causes {
		fields = append(fields, c.Field)
	}
	wantFields := []string{"spec.parallelism", "spec.completions", "spec.backoffLimit", "spec.template.spec.restartPolicy"}
	if d.Kind != "Job" || d.Name != "invalid" || d.Group != "batch" || !slices.Equal(fields, wantFields) {
		t.Errorf("details kind %q name %q group %q fields %v, want Job invalid batch %v", d.Kind, d.Name, d.Group, fields, wantFields)
	}
	if _, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), "invalid", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the invalid Job was stored: %v", err)
	}
}

// seedCreateJob checks what `kubectl create job` sends, and that the Job
// runs. test/e2e's testCreateJob checks the same fields across kubectl
// versions; here the Job also meets the controller.
func seedCreateJob(t *testing.T, k *seedKubectl, e *env) {
	if out := k.run(t, "-n", e.ns, "create", "job", "hello", "--image=busybox", "--", "echo", "hi"); out != "job.batch/hello created\n" {
		t.Errorf("kubectl create job printed %q", out)
	}
	job := e.getJob(t, "hello")
	spec := job.Spec.Template.Spec
	want := []corev1.Container{{Name: "hello", Image: "busybox", Command: []string{"echo", "hi"}}}
	got := make([]corev1.Container, len(spec.Containers))
	for i, c := range spec.Containers {
		got[i] = corev1.Container{Name: c.Name, Image: c.Image, Command: c.Command}
	}
	if diff := cmp.Diff(want, got); diff != "" || spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("containers (-want +got):\n%s\nrestartPolicy %q, want Never", diff, spec.RestartPolicy)
	}
	pod := e.active(t, job, 1)[0]
	if len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Name != "hello" {
		t.Errorf("pod containers %+v", pod.Spec.Containers)
	}
	e.runAndSucceed(t, pod)
	e.awaitJob(t, job, "complete", jobtest.Complete)
	if out := k.run(t, "-n", e.ns, "wait", "--for=condition=complete", "job/hello", "--timeout=10s"); out != "job.batch/hello condition met\n" {
		t.Errorf("kubectl wait printed %q", out)
	}
}

// seedEnv gives a scenario a namespace of a fixed name, since describe
// prints it.
func seedEnv(t *testing.T, cluster *clustertest.Cluster, ns string) *env {
	t.Helper()
	cfg := cluster.Config()
	cfg.QPS = -1
	c, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	_, err = c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	must(t, err)
	return &env{c: c, ns: ns, node: &jobtest.Node{Client: c}}
}

// seedClockCluster runs a cluster of its own whose Job controller runs on
// a fake clock.
func seedClockCluster(t *testing.T) (*clustertest.Cluster, *testingclock.FakeClock) {
	t.Helper()
	fc := testingclock.NewFakeClock(time.Now().Truncate(time.Second))
	return clustertest.Start(t, clustertest.WithJobClock(fc)), fc
}

// seedClockEnv is seedEnv with a node that dates pod status by fc.
func seedClockEnv(t *testing.T, cluster *clustertest.Cluster, fc *testingclock.FakeClock, ns string) *env {
	t.Helper()
	e := seedEnv(t, cluster, ns)
	e.node.Clock = fc
	return e
}

func (e *env) getJob(t *testing.T, name string) *batchv1.Job {
	t.Helper()
	j, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	must(t, err)
	return j
}

// activeExcept waits for n active pods none of which is in old, and
// returns them in index order (creation order for NonIndexed Jobs).
func (e *env) activeExcept(t *testing.T, job *batchv1.Job, n int, old []*corev1.Pod) []*corev1.Pod {
	t.Helper()
	var fresh []*corev1.Pod
	jobtest.AwaitPods(t, e.c, job, fmt.Sprintf("%d new active", n), func(pods []*corev1.Pod) bool {
		fresh = nil
		for _, p := range jobtest.Active(pods) {
			if !slices.ContainsFunc(old, func(o *corev1.Pod) bool { return o.UID == p.UID }) {
				fresh = append(fresh, p)
			}
		}
		return len(fresh) == n
	})
	slices.SortStableFunc(fresh, func(a, b *corev1.Pod) int { return jobtest.Index(a) - jobtest.Index(b) })
	return fresh
}

func (e *env) runAndSucceed(t *testing.T, pods ...*corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		must(t, e.node.Run(t.Context(), p))
		must(t, e.node.Succeed(t.Context(), p))
	}
}

// awaitReasons waits until the Job's events have exactly these reasons in
// the order they were recorded, and returns them. Describing before that
// could miss an event still on its way from the recorder.
func (e *env) awaitReasons(t *testing.T, job *batchv1.Job, want ...string) []corev1.Event {
	t.Helper()
	var got []corev1.Event
	jobtest.Await(t, fmt.Sprintf("events %v on %s", want, job.Name), func(ctx context.Context) (bool, string, error) {
		evs, err := jobtest.Events(ctx, e.c, job)
		if err != nil {
			return false, err.Error(), nil
		}
		got = evs
		var desc []string
		for _, ev := range evs {
			desc = append(desc, fmt.Sprintf("%s %s %q x%d", ev.Type, ev.Reason, ev.Message, ev.Count))
		}
		return slices.Equal(jobtest.Reasons(evs), want), strings.Join(desc, "; "), nil
	})
	for _, ev := range got {
		if ev.Source.Component != "job-controller" || ev.Count != 1 {
			t.Errorf("event %s %q from %q count %d, want job-controller once", ev.Reason, ev.Message, ev.Source.Component, ev.Count)
		}
	}
	return got
}

func indexesOf(pods []*corev1.Pod) []int {
	var out []int
	for _, p := range pods {
		out = append(out, jobtest.Index(p))
	}
	return out
}
