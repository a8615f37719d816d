package agent_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/clustertest"
)

// holdPodReads holds the agent's pod lists and watches until release is
// closed (a fault: an API server slow to answer them).
type holdPodReads struct {
	release <-chan struct{}
	next    http.RoundTripper
}

func (h *holdPodReads) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/pods") {
		select {
		case <-h.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return h.next.RoundTrip(r)
}

// TestNodeReadyOnceItsPodsAreWatched: the agent registers its Node at once
// but says Ready (and so gets pods from the scheduler) only once its pod
// cache has synced; until then Ready is False with kubelet's reason
// KubeletNotReady. A pod bound to a Ready node is then seen at once.
func TestNodeReadyOnceItsPodsAreWatched(t *testing.T) {
	rtDir := runtimeDir(t)
	c := clustertest.Start(t)
	cs := c.Client()
	release := make(chan struct{})
	runAgent(t, c, nodeAgent{runtimeDir: rtDir, stateDir: t.TempDir(), name: "node-r",
		wrapClient: func(next http.RoundTripper) http.RoundTripper { return &holdPodReads{release: release, next: next} }})

	ready := func() *corev1.NodeCondition {
		node, err := cs.CoreV1().Nodes().Get(context.Background(), "node-r", metav1.GetOptions{})
		if err != nil {
			return nil
		}
		for i := range node.Status.Conditions {
			if c := &node.Status.Conditions[i]; c.Type == corev1.NodeReady {
				return c
			}
		}
		return nil
	}
	waitFor(t, 30*time.Second, "the Node registered, not Ready", func() bool { return ready() != nil })
	if c := ready(); c.Status != corev1.ConditionFalse || c.Reason != "KubeletNotReady" {
		t.Fatalf("Ready while the agent's pod reads are held: %s %s %q", c.Status, c.Reason, c.Message)
	}
	close(release)
	waitFor(t, 30*time.Second, "the Node Ready once its pods are watched", func() bool {
		c := ready()
		return c != nil && c.Status == corev1.ConditionTrue && c.Reason == "KubeletReady"
	})
}
