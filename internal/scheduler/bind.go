package scheduler

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// Event reasons and messages, as upstream's scheduler records them.
const (
	reasonScheduled        = "Scheduled"
	msgScheduledFormat     = "Successfully assigned %v/%v to %v"
	reasonFailedScheduling = "FailedScheduling"
	msgBindingRejected     = "Binding rejected: %v"
	// msgSchedulingGated is the PodScheduled=False message for a pod with
	// scheduling gates (reason SchedulingGated).
	msgSchedulingGated = "Scheduling is blocked due to non-empty scheduling gates"
	// maxEventMessage is the longest event message upstream records
	// (validation.NoteLengthLimit); longer ones are cut with truncatedSuffix.
	maxEventMessage = 1024
	truncatedSuffix = " ..."
)

// bind asks the API server to put the pod, assumed on node, there. If the
// server refuses, the assumption is dropped.
func (s *Scheduler) bind(ctx context.Context, pod *corev1.Pod, node string) error {
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
	switch {
	case err == nil:
		s.parking.done(cache.MetaObjectToName(pod))
		s.recorder.Eventf(pod, corev1.EventTypeNormal, reasonScheduled, msgScheduledFormat, pod.Namespace, pod.Name, node)
		s.log.Debug("Bound pod", logPod(pod), "node", node)
		return nil
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		// Deleted, being deleted, replaced by a pod of the same name, or
		// bound by someone else: the informer will say which.
		s.state.forget(pod.UID)
		s.log.Debug("Binding refused, pod changed", logPod(pod), "node", node, "err", err)
		return nil
	default:
		s.state.forget(pod.UID)
		s.recorder.Eventf(pod, corev1.EventTypeWarning, reasonFailedScheduling, msgBindingRejected, err)
		return fmt.Errorf("binding pod %s/%s to node %s: %w", pod.Namespace, pod.Name, node, err)
	}
}

// unschedulable reports that no node fits the pod, as upstream does: a
// FailedScheduling event and the PodScheduled=False condition with reason
// Unschedulable, both saying why. Then it parks the pod until a change of
// the cluster may help.
func (s *Scheduler) unschedulable(ctx context.Context, pod *corev1.Pod, d decision, gen generation) error {
	s.log.Debug("No node fits pod", logPod(pod), "reason", d.message)
	s.recorder.Event(pod, corev1.EventTypeWarning, reasonFailedScheduling, truncate(d.message))
	if err := s.setCondition(ctx, pod, corev1.PodReasonUnschedulable, d.message); err != nil {
		return err
	}
	key := cache.MetaObjectToName(pod)
	if parked, delay := s.parking.park(key, d.cause, gen, s.clock.Now()); !parked {
		s.queue.AddAfter(key, delay)
	}
	return nil
}

// setCondition sets the pod's PodScheduled condition to False with reason
// and message, unless it says so already. The transition time changes
// only when the status does.
func (s *Scheduler) setCondition(ctx context.Context, pod *corev1.Pod, reason, message string) error {
	cond := corev1.PodCondition{
		Type:               corev1.PodScheduled,
		Status:             corev1.ConditionFalse,
		Reason:             reason,
		Message:            message,
		LastTransitionTime: metav1.NewTime(s.clock.Now()),
	}
	for _, old := range pod.Status.Conditions {
		if old.Type != corev1.PodScheduled || old.Status != corev1.ConditionFalse {
			continue
		}
		if old.Reason == reason && old.Message == message {
			return nil
		}
		cond.LastTransitionTime = old.LastTransitionTime
	}
	// A strategic merge patch of the one condition (conditions merge by
	// type), like upstream's PatchPodStatus.
	patch, err := json.Marshal(map[string]any{
		"status": map[string]any{"conditions": []corev1.PodCondition{cond}},
	})
	if err != nil {
		return fmt.Errorf("encoding condition of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("setting condition %s of pod %s/%s: %w", corev1.PodScheduled, pod.Namespace, pod.Name, err)
	}
	return nil
}

// truncate shortens an event message to what upstream records.
func truncate(msg string) string {
	if len(msg) <= maxEventMessage {
		return msg
	}
	return msg[:maxEventMessage-len(truncatedSuffix)] + truncatedSuffix
}
