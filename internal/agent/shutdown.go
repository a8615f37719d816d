package agent

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Graceful node shutdown (kubelet's nodeshutdown manager, without its
// systemd inhibitor lock: the agent's own stop is the shutdown signal),
// enabled by Config.ShutdownGracePeriod. When Run's ctx ends, every pod
// still running is stopped, in parallel, as kubelet does for a shutdown
// (JOB-AGENT-06):
//
//  1. the pod gets condition DisruptionTarget=True, reason
//     TerminationByKubelet, written while the pod is not yet terminal, so
//     that a Job's podFailurePolicy sees it on the failed pod;
//  2. its containers get SIGTERM, and SIGKILL after the pod's
//     terminationGracePeriodSeconds or the shutdown grace period,
//     whichever is shorter;
//  3. the pod is reported Failed (unless it had succeeded), reason
//     Terminated, message "Pod was terminated in response to imminent
//     node shutdown.".
//
// Run waits for all pods, for at most the grace period plus a few seconds
// for the last statuses, then returns; containers then left are the next
// agent's to adopt. Pods already finished are left alone, and no new pod
// starts once the shutdown has begun (the pod watch has ended).
//
// In `batchd server`, the in-process agent stops together with the API
// server it reports to, so its final statuses may be lost; the shutdown
// is meant for agents on their own nodes (`batchd agent`).
const (
	reasonNodeShutdown = "Terminated"
	msgNodeShutdown    = "Pod was terminated in response to imminent node shutdown."
	eventNodeShutdown  = "NodeShutdown"
	msgShutdownEvent   = "Shutdown manager detected shutdown event"
	// shutdownStatusGrace is how long past the grace period Run waits for
	// the pods' final statuses to be written.
	shutdownStatusGrace = 5 * time.Second
)

// shutdown stops the pods of every worker and waits for them (see above).
func (a *Agent) shutdown(ctx context.Context) {
	grace := a.cfg.ShutdownGracePeriod
	a.mu.Lock()
	workers := make([]*worker, 0, len(a.workers))
	for _, w := range a.workers {
		workers = append(workers, w)
	}
	a.mu.Unlock()
	a.log.Info("Node shutting down: stopping its pods", "pods", len(workers), "gracePeriod", grace)
	a.recorder.Event(&corev1.ObjectReference{Kind: "Node", Name: a.node, UID: types.UID(a.node)}, corev1.EventTypeNormal, eventNodeShutdown, msgShutdownEvent)
	for _, w := range workers {
		select {
		case w.shutdownCh <- grace:
		default:
		}
	}
	t := a.clock.NewTimer(grace + shutdownStatusGrace)
	defer t.Stop()
	for _, w := range workers {
		select {
		case <-w.podDone:
		case <-t.C():
			a.log.Warn("Node shutdown grace period is over with pods still stopping")
			return
		case <-ctx.Done():
			return
		}
	}
}

// disrupt stops the pod for a node shutdown with at most shutdownGrace
// (see above). runPod calls it and returns.
func (w *worker) disrupt(ctx context.Context, shutdownGrace time.Duration, stopLoops context.CancelFunc, done <-chan struct{}) {
	w.mu.Lock()
	w.disruption = &corev1.PodCondition{
		Type:    corev1.DisruptionTarget,
		Status:  corev1.ConditionTrue,
		Reason:  corev1.PodReasonTerminationByKubelet,
		Message: msgNodeShutdown,
	}
	w.mu.Unlock()
	w.writeNow(ctx) // the condition first, on a pod that has not failed yet
	grace := shutdownGrace
	pod, _ := w.current()
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil && time.Duration(*g)*time.Second < grace {
		grace = time.Duration(*g) * time.Second
	}
	w.stopAll(ctx, grace, stopLoops, done)
	if pod, _ := w.current(); w.computeStatus(pod).Phase != corev1.PodSucceeded {
		w.fail(reasonNodeShutdown, msgNodeShutdown)
	}
	w.writeNow(ctx)
}
