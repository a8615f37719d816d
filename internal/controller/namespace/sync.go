package namespace

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// sync is the whole retry contract: an error means "retry with backoff", a
// positive duration means "look again then" (content is still going away),
// zero means "done until an event".
//
// Its steps follow upstream's namespace deleter: make sure the phase says
// Terminating, delete all content, record the result in status conditions,
// and once nothing is left remove the "kubernetes" finalizer and delete the
// namespace.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
	shared, err := c.namespaces.Get(key.Name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading namespace %s from cache: %w", key.Name, err)
	}
	if shared.DeletionTimestamp == nil {
		return 0, nil
	}
	// Other controllers edit a namespace while it terminates: work on the
	// latest version, not the cache's.
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, key.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("getting namespace %s: %w", key.Name, err)
	}
	if ns.DeletionTimestamp == nil {
		return 0, nil
	}
	if ns.Status.Phase != corev1.NamespaceTerminating {
		ns.Status.Phase = corev1.NamespaceTerminating
		if ns, err = c.client.CoreV1().Namespaces().UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil {
			return 0, ignoreNotFound(fmt.Errorf("marking namespace %s terminating: %w", key.Name, err))
		}
	}
	if len(ns.Spec.Finalizers) == 0 {
		// Finalized earlier, maybe by us before a restart: only the delete is left.
		return 0, c.remove(ctx, ns)
	}

	o := c.deleteContent(ctx, ns)
	if conds, changed := conditions(ns.Status.Conditions, o, metav1.NewTime(c.clock.Now())); changed {
		ns.Status.Conditions = conds
		updated, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, ns, metav1.UpdateOptions{})
		if err != nil {
			// Not fatal: the next sync recomputes the conditions.
			c.log.Warn("Updating namespace conditions failed", "namespace", ns.Name, "err", err)
		} else {
			ns = updated
		}
	}
	if err := o.err(); err != nil {
		return 0, fmt.Errorf("deleting content of namespace %s: %w", ns.Name, err)
	}
	if o.estimate > 0 {
		return requeueAfter(o.estimate), nil
	}

	if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		// Someone else's finalizers remain; their removal is an update
		// event that brings the namespace back here.
		return 0, nil
	}
	ns.Spec.Finalizers = withoutFinalizer(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	ns, err = c.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	if err != nil {
		return 0, ignoreNotFound(fmt.Errorf("finalizing namespace %s: %w", key.Name, err))
	}
	if len(ns.Spec.Finalizers) > 0 {
		return 0, nil
	}
	return 0, c.remove(ctx, ns)
}

// remove deletes a finalized namespace, the same one the sync looked at.
func (c *Controller) remove(ctx context.Context, ns *corev1.Namespace) error {
	opts := metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(ns.UID))}
	if err := c.client.CoreV1().Namespaces().Delete(ctx, ns.Name, opts); err != nil {
		return ignoreNotFound(fmt.Errorf("deleting finalized namespace %s: %w", ns.Name, err))
	}
	c.log.Info("Deleted namespace", "namespace", ns.Name)
	return nil
}

// withoutFinalizer returns finalizers without f, deduplicated and sorted as
// upstream writes them.
func withoutFinalizer(finalizers []corev1.FinalizerName, f corev1.FinalizerName) []corev1.FinalizerName {
	out := make([]corev1.FinalizerName, 0, len(finalizers))
	for _, x := range finalizers {
		if x != f {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ignoreNotFound drops NotFound errors: the namespace is gone, which is
// what this controller wants.
func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
