package jobrun

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// nodeRelistInterval is how often WaitForReadyNode lists the Nodes again
// while it watches. A watch that starts behind the store's newest
// revision, as one from a list does when anything was written since (the
// Node registering), gets its first events up to 100 ms late from etcd;
// a run would wait that long, or twice, for the Node to say Ready.
const nodeRelistInterval = 20 * time.Millisecond

// WaitForReadyNode waits until some Node is Ready, watching from a list.
// A run on a server that has just started calls it before applying: a pod
// created before its node is Ready is found unschedulable and retried
// only after the scheduler's 1 s backoff, as upstream's would be.
func WaitForReadyNode(ctx context.Context, cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("building client: %w", err)
	}
	nodes := client.CoreV1().Nodes()
	for {
		list, err := nodes.List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing nodes: %w", err)
		}
		for i := range list.Items {
			if nodeReady(&list.Items[i]) {
				return nil
			}
		}
		w, err := nodes.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			return fmt.Errorf("watching nodes: %w", err)
		}
		ready := func() bool {
			defer w.Stop()
			tick := time.NewTicker(nodeRelistInterval)
			defer tick.Stop()
			for {
				select {
				case ev, ok := <-w.ResultChan():
					if !ok {
						return false // closed: list again
					}
					if n, ok := ev.Object.(*corev1.Node); ok && ev.Type != watch.Deleted && nodeReady(n) {
						return true
					}
				case <-tick.C:
					if list, err := nodes.List(ctx, metav1.ListOptions{}); err == nil && slices.ContainsFunc(list.Items, func(n corev1.Node) bool { return nodeReady(&n) }) {
						return true
					}
				case <-ctx.Done():
					return false
				}
			}
		}()
		if ready {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for a ready node: %w", err)
		}
	}
}

// nodeReady: Ready, schedulable, and without NoSchedule taints.
func nodeReady(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
