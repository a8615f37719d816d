package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/controlplane"
)

// TestMaxPods: the Node offers MaxPods pods (kubelet's --max-pods), and the
// scheduler keeps a pod beyond it Pending as Unschedulable until one of
// the running pods ends.
func TestMaxPods(t *testing.T) {
	dir := t.TempDir()
	opts := append(agentOpts(dir), func(cfg *controlplane.Config) { cfg.Agent.MaxPods = 2 })
	c := clustertest.Start(t, opts...)
	cs := c.Client()
	t.Cleanup(func() { // no process outlives the test
		for _, n := range []string{"a", "b", "c"} {
			_ = cs.CoreV1().Pods("default").Delete(context.Background(), n, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		}
		waitFor(t, 30*time.Second, "the pods to be gone", func() bool {
			l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
			return err == nil && len(l.Items) == 0
		})
	})
	node := waitNodeReady(t, cs)
	if got := node.Status.Allocatable.Pods().Value(); got != 2 {
		t.Fatalf("node allocatable pods = %d, want 2", got)
	}
	create(t, cs, shPod("a", corev1.RestartPolicyNever, "sleep 300"))
	create(t, cs, shPod("b", corev1.RestartPolicyNever, "sleep 300"))
	waitPhase(t, cs, "a", corev1.PodRunning, 30*time.Second)
	waitPhase(t, cs, "b", corev1.PodRunning, 30*time.Second)
	create(t, cs, shPod("c", corev1.RestartPolicyNever, "exit 0"))
	var msg string
	waitFor(t, 30*time.Second, "pod c unschedulable", func() bool {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), "c", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				msg = cond.Message
				return true
			}
		}
		return false
	})
	if !strings.Contains(msg, "Too many pods") {
		t.Errorf("unschedulable message %q, want it to say Too many pods", msg)
	}
	if err := cs.CoreV1().Pods("default").Delete(context.Background(), "a", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, cs, "c", corev1.PodSucceeded, 30*time.Second)
}
