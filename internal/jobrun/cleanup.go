package jobrun

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// deleteJobs deletes the Jobs with foreground propagation and waits until
// they are gone. A Job deleted in the foreground disappears only after its
// pods, and the agent removes a pod only once its processes have exited,
// so when this returns nil nothing of the Jobs runs any more.
func (s *Session) deleteJobs(ctx context.Context, jobs []followed, v *view) error {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	var errs []error
	for _, j := range jobs {
		err := s.client.BatchV1().Jobs(j.namespace).Delete(ctx, j.name, metav1.DeleteOptions{
			PropagationPolicy: ptr.To(metav1.DeletePropagationForeground),
			Preconditions:     &metav1.Preconditions{UID: &j.uid},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("deleting job/%s: %w", j.name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, j := range jobs {
		if err := s.waitGone(ctx, j); err != nil {
			errs = append(errs, fmt.Errorf("waiting for job/%s and its pods to be gone: %w", j.name, err))
			continue
		}
		v.line(fmt.Sprintf("job/%s deleted with its pods", j.name))
	}
	return errors.Join(errs...)
}

// waitGone waits until the Job is gone (or replaced by another of the
// same name), watching from the version last read.
func (s *Session) waitGone(ctx context.Context, j followed) error {
	jobs := s.client.BatchV1().Jobs(j.namespace)
	sel := fields.OneTermEqualSelector(metav1.ObjectNameField, j.name).String()
	for {
		list, err := jobs.List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return err
		}
		if len(list.Items) == 0 || list.Items[0].UID != j.uid {
			return nil
		}
		w, err := jobs.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: list.ResourceVersion})
		if err != nil {
			return err
		}
		gone := func() bool {
			defer w.Stop()
			for ev := range w.ResultChan() {
				if ev.Type == watch.Deleted {
					return true
				}
			}
			return false // closed: list again
		}()
		if gone {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// StopWorkloads stops everything that runs on a server about to be shut
// down: it deletes every unfinished Job (foreground) and every pod still
// pending or running, and waits until no pod is left running. An embedded
// server's agent leaves pods running when it stops (so that a restarted
// agent can adopt them); a throwaway server must not leave processes
// behind. batchd run --keep calls it before stopping the server, since
// kubectl may have started anything meanwhile.
func StopWorkloads(ctx context.Context, cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("building client: %w", err)
	}
	jobs, err := client.BatchV1().Jobs(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing jobs: %w", err)
	}
	var errs []error
	for _, j := range jobs.Items {
		if terminalCondition(&j) != nil {
			continue
		}
		err := client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting job %s/%s: %w", j.Namespace, j.Name, err))
		}
	}
	pods, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("listing pods: %w", err))...)
	}
	live := map[types.UID]bool{}
	for _, p := range pods.Items {
		if !podLive(&p) {
			continue
		}
		live[p.UID] = true
		if p.DeletionTimestamp != nil {
			continue
		}
		err := client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("deleting pod %s/%s: %w", p.Namespace, p.Name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(live) == 0 {
		return nil
	}
	w, err := client.CoreV1().Pods(metav1.NamespaceAll).Watch(ctx, metav1.ListOptions{ResourceVersion: pods.ResourceVersion})
	if err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			continue
		}
		if ev.Type == watch.Deleted || !podLive(p) {
			delete(live, p.UID)
		} else {
			live[p.UID] = true
		}
		if len(live) == 0 {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("waiting for %d pods to stop: %w", len(live), err)
	}
	return fmt.Errorf("waiting for %d pods to stop: the watch ended", len(live))
}

// podLive: the pod may have running processes (it has not ended, or it is
// being deleted and the agent has not confirmed yet).
func podLive(p *corev1.Pod) bool {
	return p.DeletionTimestamp != nil || !terminal(p.Status.Phase)
}
