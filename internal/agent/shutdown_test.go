package agent_test

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
)

// nodeAgent is an agent of a test's own, next to a cluster that runs
// none, as `batchd agent` on another node would be.
type nodeAgent struct {
	runtimeDir, stateDir string
	name                 string        // the Node's; "node-a" if empty
	grace                time.Duration // node shutdown grace period
	// wrapClient and wrapRuntime, if set, wrap the agent's API transport
	// and its runtime (faults).
	wrapClient  func(http.RoundTripper) http.RoundTripper
	wrapRuntime func(podruntime.Runtime) podruntime.Runtime
	// shared, if set, are informers the agent shares (Config.Shared).
	shared *agent.SharedInformers
}

// runAgent runs na against the cluster; stop (also run at cleanup) ends
// it and waits for Run to return.
func runAgent(t *testing.T, c *clustertest.Cluster, na nodeAgent) (stop func()) {
	t.Helper()
	var rt podruntime.Runtime
	rt, err := hostproc.New(hostproc.Config{StateDir: na.runtimeDir, HelperPath: helper})
	if err != nil {
		t.Fatal(err)
	}
	if na.wrapRuntime != nil {
		rt = na.wrapRuntime(rt)
	}
	cfg := c.Config()
	if na.wrapClient != nil {
		cfg.Wrap(na.wrapClient)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{
		Client: client, NodeName: cmp.Or(na.name, "node-a"), Runtime: rt, StateDir: na.stateDir, ListenAddress: "127.0.0.1:0",
		ShutdownGracePeriod: na.grace,
		Shared:              na.shared,
		Log:                 slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestJOB_AGENT_06_NodeShutdown: an agent with a shutdown grace period
// that stops marks its running pod DisruptionTarget (reason
// TerminationByKubelet) while the pod is still running, then fails it
// with reason Terminated; a Job whose podFailurePolicy ignores
// DisruptionTarget does not count that failure (backoffLimit 0 would
// fail the Job), replaces the pod, and completes once an agent is back.
// JOB-AGENT-06 DisruptionTarget=True reason TerminationByKubelet before the pod fails.
func TestJOB_AGENT_06_NodeShutdown(t *testing.T) {
	rtDir, stateDir, data := runtimeDir(t), t.TempDir(), t.TempDir()
	c := clustertest.Start(t)
	cs := c.Client()
	ctx := context.Background()
	stop := runAgent(t, c, nodeAgent{runtimeDir: rtDir, stateDir: stateDir, grace: 10 * time.Second})
	waitNodeReady(t, cs)

	tmpl := withData(shPod("x", corev1.RestartPolicyNever, "if [ -f /data/once ]; then exit 0; fi; touch /data/once; sleep 300"), data)
	tmpl.Spec.TerminationGracePeriodSeconds = ptr.To[int64](30)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "disrupted", Namespace: "default"},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:          batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
			}}},
			Template: corev1.PodTemplateSpec{Spec: tmpl.Spec},
		},
	}
	if _, err := cs.BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var first *corev1.Pod
	waitFor(t, 30*time.Second, "the Job's pod running", func() bool {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "job-name=disrupted"})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning {
			return false
		}
		first = &pods.Items[0]
		return true
	})

	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", first.Name).String(),
		ResourceVersion: first.ResourceVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	begin := time.Now()
	stop()
	t.Logf("shutdown took %v", time.Since(begin))
	if el := time.Since(begin); el > 10*time.Second {
		t.Errorf("shutdown took %v; the container ends on SIGTERM", el)
	}

	// Every version of the pod the agent wrote, until it failed.
	var sawTargetRunning bool
	var failed *corev1.Pod
	timeout := time.After(20 * time.Second)
	for failed == nil {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("pod watch ended")
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			dt := podCondition(p, corev1.DisruptionTarget)
			switch {
			case p.Status.Phase == corev1.PodFailed:
				failed = p
			case dt != nil && dt.Status == corev1.ConditionTrue:
				sawTargetRunning = true
			}
		case <-timeout:
			t.Fatal("the pod did not fail after the node shutdown")
		}
	}
	if !sawTargetRunning {
		t.Error("the pod failed without first carrying DisruptionTarget while not terminal")
	}
	dt := podCondition(failed, corev1.DisruptionTarget)
	if dt == nil || dt.Status != corev1.ConditionTrue || dt.Reason != "TerminationByKubelet" ||
		dt.Message != "Pod was terminated in response to imminent node shutdown." || dt.LastTransitionTime.IsZero() {
		t.Errorf("DisruptionTarget condition = %+v", dt)
	}
	if failed.Status.Reason != "Terminated" || failed.Status.Message != "Pod was terminated in response to imminent node shutdown." {
		t.Errorf("failed pod: reason %q, message %q", failed.Status.Reason, failed.Status.Message)
	}
	if s := failed.Status.ContainerStatuses[0]; s.State.Terminated == nil || s.State.Terminated.ExitCode != 143 {
		t.Errorf("container after the shutdown: %+v; want terminated by SIGTERM", s.State)
	}
	if podReady(failed) {
		t.Error("failed pod is Ready")
	}

	// The failure is ignored: a replacement, no failed count, no failure.
	waitFor(t, 20*time.Second, "a replacement pod", func() bool {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "job-name=disrupted"})
		return err == nil && len(pods.Items) == 2
	})
	j, err := cs.BatchV1().Jobs("default").Get(ctx, "disrupted", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.Failed != 0 || jobCondition(j, batchv1.JobFailed) {
		t.Errorf("Job after an ignored disruption: failed %d, conditions %+v", j.Status.Failed, j.Status.Conditions)
	}

	// The node comes back and runs the replacement to completion.
	runAgent(t, c, nodeAgent{runtimeDir: rtDir, stateDir: stateDir, grace: 10 * time.Second})
	waitFor(t, 30*time.Second, "the Job complete", func() bool {
		j, err = cs.BatchV1().Jobs("default").Get(ctx, "disrupted", metav1.GetOptions{})
		return err == nil && jobCondition(j, batchv1.JobComplete)
	})
	if j.Status.Failed != 0 || j.Status.Succeeded != 1 {
		t.Errorf("completed Job: failed %d, succeeded %d; want 0 and 1", j.Status.Failed, j.Status.Succeeded)
	}
	// The disrupted pod keeps its condition and reason across the restart.
	p := getPod(t, cs, first.Name)
	if p.Status.Reason != "Terminated" || podCondition(p, corev1.DisruptionTarget) == nil {
		t.Errorf("disrupted pod after the agent's restart: reason %q, conditions %+v", p.Status.Reason, p.Status.Conditions)
	}
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// runtimeDir returns a new runtime state directory whose pods are removed
// when the test ends.
func runtimeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() { removeRuntimePods(t, dir) })
	return dir
}

// removeRuntimePods removes what an agent left in its runtime.
func removeRuntimePods(t *testing.T, dir string) {
	rt, err := hostproc.New(hostproc.Config{StateDir: dir, HelperPath: helper})
	if err != nil {
		t.Errorf("cleaning up pods: %v", err)
		return
	}
	pods, _ := rt.List(context.Background())
	for _, p := range pods {
		if err := rt.RemovePod(context.Background(), p.ID); err != nil {
			t.Errorf("removing pod %s: %v", p.Spec.Name, err)
		}
	}
}
