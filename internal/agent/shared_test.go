package agent_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/controller"
)

// TestSharedInformers: an agent on informers it shares with others
// (Config.Shared, the in-process agent's way) runs the pods bound to its
// node and leaves the others' alone.
func TestSharedInformers(t *testing.T) {
	c := clustertest.Start(t)
	cs := c.Client()
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTransform(controller.DropManagedFields))
	shared := &agent.SharedInformers{
		Pods:            f.Core().V1().Pods().Informer(),
		ServiceAccounts: f.Core().V1().ServiceAccounts().Informer(),
	}
	f.Start(ctx.Done())
	defer func() { cancel(); f.Shutdown() }()
	runAgent(t, c, nodeAgent{runtimeDir: runtimeDir(t), stateDir: t.TempDir(), shared: shared})
	waitNodeReady(t, cs)

	bound := func(name, node string) *corev1.Pod {
		p := shPod(name, corev1.RestartPolicyNever, "true")
		p.Spec.NodeName = node
		return p
	}
	// Another node's pod first: by the time the agent has run its own
	// pod, created after, it has seen this one too.
	create(t, cs, bound("elsewhere", "node-b"))
	create(t, cs, bound("here", "node-a"))
	waitFor(t, 30*time.Second, "pod here Succeeded", func() bool {
		return getPod(t, cs, "here").Status.Phase == corev1.PodSucceeded
	})
	if p := getPod(t, cs, "elsewhere"); handled(p) {
		t.Errorf("another node's pod got status %+v from this agent", p.Status)
	}
}

// handled reports whether an agent wrote the pod's status (the API server
// sets only its phase, Pending, and QOS class).
func handled(p *corev1.Pod) bool {
	return p.Status.StartTime != nil || len(p.Status.Conditions) > 0 || len(p.Status.ContainerStatuses) > 0
}
