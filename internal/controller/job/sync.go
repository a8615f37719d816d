package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"k8s.io/klog/v2"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// sync is the whole retry contract: an error means "retry with backoff", a
// positive duration means "look again then", zero means "done until an
// event" (JOB-SYNC-01..03).
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
	shared, err := c.jobs.Jobs(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		c.batcher.forget(key)
		c.expect.forget(key)
		c.removals.forget(key)
		c.written.forget(key)
		c.backoffs.forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if c.written.stale(key, shared) {
		return 0, nil // the cache is behind our last status write (writtenVersions)
	}
	if managedElsewhere(shared) { // JOB-SYNC-11, JOB-MB-02
		return 0, nil
	}
	if finished(shared) { // JOB-SYNC-04
		c.backoffs.forget(key)
		return 0, nil
	}
	if m := shared.Spec.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		c.record(shared, warning(reasonUnknownCompletionMode, msgUnknownCompletionMode)) // JOB-SYNC-05
		return 0, nil
	}
	// The API never stores a Job without a selector; a Job that has none
	// (written by an older server, or straight into etcd) selects no pods,
	// so syncing it would create pods it never sees, without end.
	if shared.Spec.Selector == nil || len(shared.Spec.Selector.MatchLabels)+len(shared.Spec.Selector.MatchExpressions) == 0 {
		c.log.Warn("Skipping Job without a selector", "job", klog.KObj(shared))
		return 0, nil
	}
	// Expectations before pods: a pod that shows up after this check only
	// defers the sync (JOB-SYNC-06). The same for finalizer removals: a
	// removal observed after the pods were listed would otherwise leave
	// the listed, stale pod (finished, finalizer still on) unexpected, and
	// it would be counted a second time (JOB-TRK-03). Read before, the
	// pod is either still expected or listed without its finalizer: the
	// informer stores an update before it calls the handlers.
	satisfied := c.expect.satisfied(key)
	expectedRemovals := c.removals.pending(key)
	pods, err := c.claimPods(ctx, shared)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	ctx, api := withAPIClock(ctx)
	p := decide(input{
		job:              shared,
		pods:             pods,
		satisfied:        satisfied,
		expectedRemovals: expectedRemovals,
		backoff:          c.backoffs.get(key),
		now:              c.clock.Now(),
		tuning:           upstreamTuning,
	})
	err = c.apply(ctx, key, p)
	took := time.Since(start)
	c.batcher.synced(key, api.cost(took))
	c.metrics.synced(shared, syncAction(&p, satisfied), took, err)
	return p.requeueAfter, err
}

// claimPods returns the Job's pods: those it controls whose labels match its
// selector, plus orphans it adopts; it releases controlled pods that no
// longer match (JOB-SYNC-10, JOB-ADOPT-01..03, JOB-ADOPT-05). Returned pods
// are shared with the cache, except adopted ones.
func (c *Controller) claimPods(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("converting selector of job %s: %w", job.Name, err)
	}
	all, err := c.pods.Pods(job.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var (
		claimed  []*corev1.Pod
		errs     []error
		checked  bool
		adoptErr error
	)
	for _, pod := range all {
		matches := selector.Matches(labels.Set(pod.Labels))
		if ref := metav1.GetControllerOf(pod); ref != nil {
			if ref.UID != job.UID {
				continue // JOB-ADOPT-02
			}
			if matches {
				claimed = append(claimed, pod)
				continue
			}
			if job.DeletionTimestamp != nil {
				continue
			}
			if err := c.patchPod(ctx, pod, releasePatch(pod, job)); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("releasing pod %s: %w", pod.Name, err))
			}
			continue
		}
		if job.DeletionTimestamp != nil || !matches || pod.DeletionTimestamp != nil {
			continue
		}
		if !checked {
			adoptErr, checked = c.canAdopt(ctx, job), true
		}
		if adoptErr != nil {
			errs = append(errs, fmt.Errorf("can't adopt pod %s: %w", pod.Name, adoptErr))
			continue
		}
		if err := c.patchPod(ctx, pod, adoptPatch(pod, job)); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("adopting pod %s: %w", pod.Name, err))
			}
			continue
		}
		adopted := pod.DeepCopy()
		adopted.OwnerReferences = append(adopted.OwnerReferences, controllerRef(job))
		if !hasTrackingFinalizer(adopted) {
			adopted.Finalizers = append(adopted.Finalizers, batchv1.JobTrackingFinalizer)
		}
		claimed = append(claimed, adopted)
	}
	return claimed, errors.Join(errs...)
}

// canAdopt re-reads the Job from the API server: a Job deleted or replaced
// since the cache saw it must not adopt (JOB-ADOPT-01).
func (c *Controller) canAdopt(ctx context.Context, job *batchv1.Job) error {
	fresh, err := c.client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if fresh.UID != job.UID {
		return fmt.Errorf("original Job %s/%s is gone: got uid %s, wanted %s", job.Namespace, job.Name, fresh.UID, job.UID)
	}
	if fresh.DeletionTimestamp != nil {
		return fmt.Errorf("job %s/%s has just been deleted at %v", job.Namespace, job.Name, fresh.DeletionTimestamp)
	}
	return nil
}

func (c *Controller) patchPod(ctx context.Context, pod *corev1.Pod, patch []byte) error {
	_, err := c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
}

type patchMeta struct {
	Metadata patchObjectMeta `json:"metadata"`
}

type patchObjectMeta struct {
	UID             types.UID        `json:"uid,omitempty"`
	OwnerReferences []map[string]any `json:"ownerReferences,omitempty"`
	Finalizers      []string         `json:"finalizers,omitempty"`
	DeleteFinalizer []string         `json:"$deleteFromPrimitiveList/finalizers,omitempty"`
}

// mustJSON marshals the patch shapes above, which cannot fail to marshal.
func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// adoptPatch adds the controller reference and the tracking finalizer; the
// UID makes it fail on a different pod of the same name.
func adoptPatch(pod *corev1.Pod, job *batchv1.Job) []byte {
	ref := controllerRef(job)
	return mustJSON(patchMeta{Metadata: patchObjectMeta{
		UID: pod.UID,
		OwnerReferences: []map[string]any{{
			"apiVersion": ref.APIVersion, "kind": ref.Kind, "name": ref.Name, "uid": ref.UID,
			"controller": true, "blockOwnerDeletion": true,
		}},
		Finalizers: []string{batchv1.JobTrackingFinalizer},
	}})
}

// releasePatch removes the Job's ownerReference and the tracking finalizer.
func releasePatch(pod *corev1.Pod, job *batchv1.Job) []byte {
	return mustJSON(patchMeta{Metadata: patchObjectMeta{
		UID:             pod.UID,
		OwnerReferences: []map[string]any{{"$patch": "delete", "uid": job.UID}},
		DeleteFinalizer: []string{batchv1.JobTrackingFinalizer},
	}})
}

// finalizerPatch removes the tracking finalizer (spec 25.1).
var finalizerPatch = mustJSON(patchMeta{Metadata: patchObjectMeta{DeleteFinalizer: []string{batchv1.JobTrackingFinalizer}}})

// syncOrphan removes the tracking finalizer from a pod no unfinished Job of
// this controller manages (JOB-ADOPT-04).
func (c *Controller) syncOrphan(ctx context.Context, key cache.ObjectName) error {
	pod, err := c.pods.Pods(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if ref.Kind != "Job" || ref.APIVersion != batchv1.SchemeGroupVersion.String() {
			return nil
		}
		if job := c.resolve(pod.Namespace, ref); job != nil && (managedElsewhere(job) || !finished(job)) {
			return nil
		}
	}
	if !hasTrackingFinalizer(pod) {
		return nil
	}
	if err := c.patchPod(ctx, pod, finalizerPatch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing tracking finalizer from pod %s: %w", key, err)
	}
	return nil
}
