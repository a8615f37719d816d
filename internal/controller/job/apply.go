package job

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
)

// apply carries out a plan in upstream's order: pod deletions or creations,
// the status with newly finished pods as uncounted and any interim
// condition, the finalizer removals, then the counters and the terminal
// condition, and only then the terminal events (JOB-SYNC-08, JOB-TRK-03,
// JOB-COND-07, JOB-EVT-02). When a write fails whose result a later step
// depends on, it stops and lets the next sync decide again.
func (c *Controller) apply(ctx context.Context, key cache.ObjectName, p plan) error {
	job := p.job
	st := &job.Status
	var podErr error
	switch {
	case len(p.terminate) > 0:
		// The criterion stands only if every active pod is being deleted
		// (JOB-COND-08).
		if err := c.terminatePods(ctx, job, p.terminate); err != nil {
			return err
		}
	case len(p.remove) > 0:
		c.expect.expect(key, 0, len(p.remove))
		failed, err := c.removePods(ctx, key, job, p.remove)
		for _, pod := range failed {
			st.Active++
			*st.Terminating--
			if isReady(pod) {
				*st.Ready++
			}
		}
		podErr = err
	case len(p.create) > 0:
		c.expect.expect(key, len(p.create), 0)
		created, failed, err := c.createPods(ctx, key, job, p.create)
		c.metrics.podsCreatedFor(job, created, failed)
		st.Active -= int32(len(p.create) - created)
		podErr = err
	}
	c.record(job, p.events...)

	written := &p.orig // the status last stored, for the metrics
	if statusChanged(st, &p.orig) {
		if err := c.writeStatus(ctx, job, written); err != nil {
			return errors.Join(podErr, fmt.Errorf("adding uncounted pods to status: %w", err))
		}
		c.metrics.failuresRecorded(p.failures, c.clock.Now())
		written = st.DeepCopy()
		c.backoffs.set(key, p.backoff)
	}

	removed, rmErr := c.removeFinalizers(ctx, key, p.finalize)
	changed, done := p.settle(st, removed)
	if rmErr != nil {
		if changed && !done {
			if err := c.writeStatus(ctx, job, written); err != nil {
				rmErr = errors.Join(rmErr, err)
			}
		}
		return errors.Join(podErr, rmErr)
	}
	if changed {
		if err := c.writeStatus(ctx, job, written); err != nil {
			return errors.Join(podErr, fmt.Errorf("removing uncounted pods from status: %w", err))
		}
	}
	if done {
		c.backoffs.forget(key)
		c.record(job, p.terminalEvents()...)
	}
	return podErr
}

// writeStatus updates the Job's status with its resourceVersion, so a stale
// read fails with a conflict and is retried (JOB-SYNC-08). On success the
// Job takes the new resourceVersion, ready for a second write. before is
// the status the write replaces, for the metrics.
func (c *Controller) writeStatus(ctx context.Context, job *batchv1.Job, before *batchv1.JobStatus) error {
	var updated *batchv1.Job
	var err error
	waitAPI(ctx, func() {
		updated, err = c.client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
	})
	if err != nil {
		return err
	}
	job.ResourceVersion = updated.ResourceVersion
	c.written.wrote(cache.MetaObjectToName(job), updated)
	c.metrics.statusWritten(job, before, c.clock.Now())
	return nil
}

// createPods creates pods in slow-start batches of 1, 2, 4 ..., the pods of
// a batch concurrently; a failure skips the remaining batches (JOB-POD-08,
// JOB-POD-09). It returns how many were created and how many creations
// failed.
func (c *Controller) createPods(ctx context.Context, key cache.ObjectName, job *batchv1.Job, pods []*corev1.Pod) (created, failed int, _ error) {
	var ok, bad atomic.Int32
	var firstErr error
	for size, rest := 1, pods; len(rest) > 0; size *= 2 {
		batch := rest[:min(size, len(rest))]
		rest = rest[len(batch):]
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, pod := range batch {
			wg.Go(func() {
				if err := c.createPod(ctx, job, pod); err != nil {
					bad.Add(1)
					c.expect.observe(key, 1, 0) // the informer will never see it
					if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
						errs[i] = err
					}
					return
				}
				ok.Add(1)
			})
		}
		waitAPI(ctx, wg.Wait)
		if err := errors.Join(errs...); err != nil {
			c.expect.observe(key, len(rest), 0)
			firstErr = err
			break
		}
	}
	return int(ok.Load()), int(bad.Load()), firstErr
}

func (c *Controller) createPod(ctx context.Context, job *batchv1.Job, pod *corev1.Pod) error {
	got, err := c.client.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.record(job, warning(reasonFailedCreate, fmt.Sprintf(msgFailedCreate, err)))
		}
		return fmt.Errorf("creating pod of job %s/%s: %w", job.Namespace, job.Name, err)
	}
	c.record(job, normal(reasonSuccessfulCreate, fmt.Sprintf(msgSuccessfulCreate, got.Name)))
	return nil
}

// deletePodOf deletes with default options, recording the outcome
// (JOB-POD-10, JOB-POD-11). NotFound is returned but not recorded.
func (c *Controller) deletePodOf(ctx context.Context, job *batchv1.Job, pod *corev1.Pod) error {
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
	switch {
	case err == nil:
		c.record(job, normal(reasonSuccessfulDelete, fmt.Sprintf(msgSuccessfulDelete, pod.Name)))
	case !apierrors.IsNotFound(err):
		c.record(job, warning(reasonFailedDelete, fmt.Sprintf(msgFailedDelete, err)))
	}
	return err
}

// terminatePods deletes the active pods of a Job that met a finish
// criterion, keeping their finalizers so they are counted.
func (c *Controller) terminatePods(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod) error {
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, pod := range pods {
		wg.Go(func() {
			if err := c.deletePodOf(ctx, job, pod); err != nil && !apierrors.IsNotFound(err) {
				errs[i] = fmt.Errorf("deleting pod %s of job %s: %w", pod.Name, job.Name, err)
			}
		})
	}
	waitAPI(ctx, wg.Wait)
	return errors.Join(errs...)
}

// removePods removes surplus or suspended pods: finalizer first, so they
// are never counted, then the pod (JOB-POD-04). It returns the pods it
// could not remove.
func (c *Controller) removePods(ctx context.Context, key cache.ObjectName, job *batchv1.Job, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, pod := range pods {
		wg.Go(func() {
			err := func() error {
				if hasTrackingFinalizer(pod) {
					if err := c.patchPod(ctx, pod, finalizerPatch); err != nil {
						return fmt.Errorf("removing completion finalizer: %w", err)
					}
				}
				return c.deletePodOf(ctx, job, pod)
			}()
			if err != nil {
				c.expect.observe(key, 0, 1)
				if !apierrors.IsNotFound(err) {
					errs[i] = err
				}
			}
		})
	}
	waitAPI(ctx, wg.Wait)
	var failed []*corev1.Pod
	for i, err := range errs {
		if err != nil {
			failed = append(failed, pods[i])
		}
	}
	return failed, errors.Join(errs...)
}

// removeFinalizers removes the tracking finalizer from pods concurrently.
// It returns the UIDs of pods that no longer carry it, gone ones included.
func (c *Controller) removeFinalizers(ctx context.Context, key cache.ObjectName, pods []*corev1.Pod) (sets.Set[types.UID], error) {
	removed := sets.New[types.UID]()
	if len(pods) == 0 {
		return removed, nil
	}
	uids := make([]types.UID, len(pods))
	for i, p := range pods {
		uids[i] = p.UID
	}
	c.removals.expect(key, uids)
	ok := make([]bool, len(pods))
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, pod := range pods {
		wg.Go(func() {
			err := c.patchPod(ctx, pod, finalizerPatch)
			if err != nil {
				c.removals.observed(key, pod.UID) // no update will come
				if !apierrors.IsNotFound(err) {
					errs[i] = fmt.Errorf("removing tracking finalizer from pod %s: %w", pod.Name, err)
					return
				}
			}
			ok[i] = true
		})
	}
	waitAPI(ctx, wg.Wait)
	for i, pod := range pods {
		if ok[i] {
			removed.Insert(pod.UID)
		}
	}
	return removed, errors.Join(errs...)
}
