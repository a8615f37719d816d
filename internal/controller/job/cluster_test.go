package job_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

// env is one test's view of a cluster: a client without client-side rate
// limits, its own namespace, and a node stand-in.
type env struct {
	c    kubernetes.Interface
	ns   string
	node *jobtest.Node
}

var nsSeq atomic.Int64

// newEnv gives a subtest its own namespace in cluster.
func newEnv(t *testing.T, cluster *clustertest.Cluster) *env {
	t.Helper()
	cfg := cluster.Config()
	cfg.QPS = -1
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building client: %v", err)
	}
	ns := fmt.Sprintf("t%d", nsSeq.Add(1))
	if _, err := c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", ns, err)
	}
	return &env{c: c, ns: ns, node: &jobtest.Node{Client: c}}
}

// job builds a Job in the env's namespace.
func (e *env) job(name string, opts ...jobtest.Option) *batchv1.Job {
	return jobtest.New(name, append([]jobtest.Option{jobtest.Namespace(e.ns)}, opts...)...)
}

func (e *env) create(t *testing.T, name string, opts ...jobtest.Option) *batchv1.Job {
	t.Helper()
	return jobtest.Create(t, e.c, e.job(name, opts...))
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// scenario is one subtest run against the shared cluster.
type scenario struct {
	name string
	run  func(t *testing.T, e *env)
}

// TestScenarios runs the spec's requirements and worked examples against
// one real in-process cluster, each in its own namespace, in parallel.
func TestScenarios(t *testing.T) {
	cluster := clustertest.Start(t)
	for _, s := range scenarios() {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t, newEnv(t, cluster))
		})
	}
}

// awaitJob waits until the Job satisfies ok.
func (e *env) awaitJob(t *testing.T, job *batchv1.Job, what string, ok func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	return jobtest.AwaitJob(t, e.c, job, what, ok)
}

// active waits for exactly n active pods.
func (e *env) active(t *testing.T, job *batchv1.Job, n int) []*corev1.Pod {
	t.Helper()
	return jobtest.AwaitActive(t, e.c, job, n)
}

func (e *env) pods(t *testing.T, job *batchv1.Job) []*corev1.Pod {
	t.Helper()
	pods, err := jobtest.PodsOf(t.Context(), e.c, job)
	must(t, err)
	return pods
}

// counts waits for status.succeeded and status.failed.
func (e *env) counts(t *testing.T, job *batchv1.Job, succeeded, failed int32) *batchv1.Job {
	t.Helper()
	return e.awaitJob(t, job, fmt.Sprintf("succeeded=%d failed=%d", succeeded, failed), func(j *batchv1.Job) bool {
		return j.Status.Succeeded == succeeded && j.Status.Failed == failed
	})
}

func (e *env) update(t *testing.T, job *batchv1.Job, change func(*batchv1.Job)) *batchv1.Job {
	t.Helper()
	return jobtest.Update(t, e.c, job, change)
}

// getPod reads a pod; nil when it is gone.
func (e *env) getPod(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	p, err := e.c.CoreV1().Pods(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	must(t, err)
	return p
}

// stays checks for d that cond keeps holding on the Job's pods (a bounded
// negative check: something must not happen).
func (e *env) stays(t *testing.T, job *batchv1.Job, d time.Duration, what string, cond func(j *batchv1.Job, pods []*corev1.Pod) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		j, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), job.Name, metav1.GetOptions{})
		must(t, err)
		pods := e.pods(t, job)
		if !cond(j, pods) {
			t.Fatalf("%s: no longer holds: %s; pods %s", what, jobtest.DescribeStatus(j), jobtest.DescribePods(pods))
		}
		time.Sleep(jobtest.Poll)
	}
}

// bind puts a pod on a node, so that deleting it takes a grace period and
// waits for the node (JOB-AGENT-03).
func (e *env) bind(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	err := e.c.CoreV1().Pods(e.ns).Bind(t.Context(), &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: e.ns},
		Target:     corev1.ObjectReference{Kind: "Node", Name: "node-1"},
	}, metav1.CreateOptions{})
	must(t, err)
}

func (e *env) deletePod(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	must(t, e.c.CoreV1().Pods(e.ns).Delete(t.Context(), pod.Name, metav1.DeleteOptions{}))
}
