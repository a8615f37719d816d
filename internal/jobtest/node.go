package jobtest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
)

// Node plays the node agent through the API: it writes pod status as a
// kubelet would (JOB-AGENT-01..06) and confirms deletions. Timestamps come
// from Clock, so a test with a fake controller clock can keep both in step.
type Node struct {
	Client kubernetes.Interface
	Clock  clock.PassiveClock // nil: the real clock
}

func (n *Node) now() metav1.Time {
	if n.Clock == nil {
		return metav1.Now()
	}
	return metav1.NewTime(n.Clock.Now())
}

// update applies change to the pod's status, retrying on conflicts.
func (n *Node) update(ctx context.Context, pod *corev1.Pod, change func(*corev1.Pod)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := n.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(cur)
		_, err = n.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

func setCondition(pod *corev1.Pod, t corev1.PodConditionType, s corev1.ConditionStatus, reason string, now metav1.Time) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			if pod.Status.Conditions[i].Status != s {
				pod.Status.Conditions[i].LastTransitionTime = now
			}
			pod.Status.Conditions[i].Status, pod.Status.Conditions[i].Reason = s, reason
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: t, Status: s, Reason: reason, LastTransitionTime: now})
}

// Run marks the pod Running with every container running, and Ready.
func (n *Node) Run(ctx context.Context, pod *corev1.Pod) error {
	now := n.now()
	return n.update(ctx, pod, func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.StartTime = &now
		p.Status.ContainerStatuses = nil
		for _, c := range p.Spec.Containers {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, Ready: true, Started: ptr.To(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			})
		}
		setCondition(p, corev1.PodReady, corev1.ConditionTrue, "", now)
	})
}

// Succeed ends the pod with every container exiting 0.
func (n *Node) Succeed(ctx context.Context, pod *corev1.Pod) error {
	return n.Exit(ctx, pod, nil)
}

// Fail ends the pod with its first container exiting code (1 if 0).
func (n *Node) Fail(ctx context.Context, pod *corev1.Pod, code int32) error {
	if code == 0 {
		code = 1
	}
	return n.Exit(ctx, pod, map[string]int32{pod.Spec.Containers[0].Name: code})
}

// Exit ends the pod: each container exits with its code in codes (0 when
// absent); the phase is Succeeded iff all exit 0 (JOB-AGENT-01). An init
// container named in codes is reported as having failed.
func (n *Node) Exit(ctx context.Context, pod *corev1.Pod, codes map[string]int32) error {
	return n.exit(ctx, pod, codes, nil)
}

// Disrupt fails the pod after adding condition DisruptionTarget=True, as
// eviction, preemption or a node shutdown do (JOB-PFP-15, JOB-AGENT-06).
func (n *Node) Disrupt(ctx context.Context, pod *corev1.Pod) error {
	return n.exit(ctx, pod, map[string]int32{pod.Spec.Containers[0].Name: 137}, func(p *corev1.Pod, now metav1.Time) {
		setCondition(p, corev1.DisruptionTarget, corev1.ConditionTrue, corev1.PodReasonTerminationByKubelet, now)
	})
}

func (n *Node) exit(ctx context.Context, pod *corev1.Pod, codes map[string]int32, extra func(*corev1.Pod, metav1.Time)) error {
	now := n.now()
	return n.update(ctx, pod, func(p *corev1.Pod) {
		failed := false
		term := func(c corev1.Container) corev1.ContainerStatus {
			code := codes[c.Name]
			failed = failed || code != 0
			reason := "Completed"
			if code != 0 {
				reason = "Error"
			}
			return corev1.ContainerStatus{Name: c.Name, Image: c.Image, RestartCount: restarts(p, c.Name),
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: code, Reason: reason, StartedAt: now, FinishedAt: now}}}
		}
		p.Status.InitContainerStatuses = nil
		for _, c := range p.Spec.InitContainers {
			p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, term(c))
		}
		p.Status.ContainerStatuses = nil
		for _, c := range p.Spec.Containers {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, term(c))
		}
		p.Status.Phase = corev1.PodSucceeded
		if failed {
			p.Status.Phase = corev1.PodFailed
		}
		if extra != nil {
			extra(p, now)
		}
		setCondition(p, corev1.PodReady, corev1.ConditionFalse, "PodCompleted", now)
	})
}

func restarts(p *corev1.Pod, name string) int32 {
	for _, s := range slices.Concat(p.Status.ContainerStatuses, p.Status.InitContainerStatuses) {
		if s.Name == name {
			return s.RestartCount
		}
	}
	return 0
}

// Restart records that the pod's first container exited non-zero and was
// restarted in place (restartPolicy OnFailure, JOB-AGENT-02).
func (n *Node) Restart(ctx context.Context, pod *corev1.Pod) error {
	now := n.now()
	return n.update(ctx, pod, func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		name := p.Spec.Containers[0].Name
		for i := range p.Status.ContainerStatuses {
			if p.Status.ContainerStatuses[i].Name == name {
				s := &p.Status.ContainerStatuses[i]
				s.RestartCount++
				s.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: now}}
				return
			}
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: name, RestartCount: 1,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
	})
}

// ConfirmDeletion finishes a pod being deleted as a kubelet does
// (JOB-AGENT-03): unfinished pods end Failed with exit code 137 (or
// Succeeded when succeed is true), then the pod is deleted with grace 0.
// A pod not being deleted is left alone.
func (n *Node) ConfirmDeletion(ctx context.Context, pod *corev1.Pod, succeed bool) error {
	cur, err := n.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.DeletionTimestamp == nil {
		return fmt.Errorf("pod %s is not being deleted", pod.Name)
	}
	if cur.Status.Phase != corev1.PodSucceeded && cur.Status.Phase != corev1.PodFailed {
		codes := map[string]int32{cur.Spec.Containers[0].Name: 137}
		if succeed {
			codes = nil
		}
		if err := n.Exit(ctx, cur, codes); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	err = n.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// Serve acts on every pod of namespace as it appears, until ctx is done:
// act is called once per pod, from up to workers goroutines at once. It
// returns after every call has returned.
func (n *Node) Serve(ctx context.Context, namespace string, workers int, act func(context.Context, *corev1.Pod)) error {
	w, err := n.Client.CoreV1().Pods(namespace).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	defer w.Stop()
	work := make(chan *corev1.Pod, 1024)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for pod := range work {
				act(ctx, pod)
			}
		})
	}
	defer wg.Wait()
	defer close(work)
	seen := make(map[string]bool)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			pod, isPod := ev.Object.(*corev1.Pod)
			if !isPod || ev.Type != watch.Added || seen[pod.Name] {
				continue
			}
			seen[pod.Name] = true
			select {
			case work <- pod:
			case <-ctx.Done():
				return nil
			}
		}
	}
}
