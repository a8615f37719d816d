package agent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// TestStatusWritesAreWholeStatuses: the agent coalesces quick status
// changes and builds each write on the newest pod it knows (the informer's
// copy or its last write's result). Every status a watcher sees must
// still be one kubelet would report: a succeeded pod's Ready and
// ContainersReady say PodCompleted with no message (a write built from a
// stale status kept the Pending message "containers with unready status"
// when sent as a patch), its container is terminated, and the agent
// writes no status after that.
func TestStatusWritesAreWholeStatuses(t *testing.T) {
	_, cs := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	const n = 12
	for i := range n {
		script := "true"
		if i%3 == 1 {
			script = "sleep 0.05" // Running is written before Succeeded
		}
		create(t, cs, shPod(fmt.Sprintf("s%d", i), corev1.RestartPolicyNever, script))
	}
	succeeded := map[string]string{} // name -> resourceVersion of the first Succeeded
	for len(succeeded) < n {
		var ev watch.Event
		select {
		case ev = <-w.ResultChan():
		case <-ctx.Done():
			t.Fatalf("%d of %d pods succeeded before the deadline", len(succeeded), n)
		}
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			t.Fatalf("watch event %v: %v", ev.Type, ev.Object)
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			if rv, seen := succeeded[p.Name]; seen {
				t.Errorf("pod %s: status written again after Succeeded (first at %s, now %s): %+v", p.Name, rv, p.ResourceVersion, p.Status)
				continue
			}
			succeeded[p.Name] = p.ResourceVersion
			for _, ct := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
				c := findCondition(p, ct)
				if c == nil || c.Status != corev1.ConditionFalse || c.Reason != "PodCompleted" || c.Message != "" {
					t.Errorf("pod %s Succeeded with condition %s = %+v, want False, PodCompleted, no message", p.Name, ct, c)
				}
			}
			if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.ExitCode != 0 || cs[0].Ready {
				t.Errorf("pod %s Succeeded with container statuses %+v", p.Name, cs)
			}
		case corev1.PodRunning:
			if c := findCondition(p, corev1.PodReady); c == nil || c.Status != corev1.ConditionTrue || c.Message != "" {
				t.Errorf("pod %s Running with Ready %+v, want True without message", p.Name, c)
			}
		}
	}
	// The finalizer-free pods get no more status writes: give a late write
	// a moment to show.
	late := time.After(300 * time.Millisecond)
	for {
		select {
		case ev := <-w.ResultChan():
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Modified {
				t.Errorf("pod %s modified after Succeeded: %+v", p.Name, p.Status)
			}
		case <-late:
			return
		}
	}
}

func findCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
