package namespace

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
)

// Verbs a resource must advertise in discovery for this controller to act
// on it.
const (
	verbDelete           = "delete"
	verbDeleteCollection = "deletecollection"
	verbList             = "list"
)

// finalizerEstimateSeconds is upstream's guess at how long objects held by
// finalizers take to go away, used when nothing better is known.
const finalizerEstimateSeconds = 15

// podsResource is the only resource with a graceful deletion estimate.
var podsResource = schema.GroupResource{Resource: "pods"}

// resource is one namespaced resource the controller empties, with the
// verbs discovery advertised for it.
type resource struct {
	gvr   schema.GroupVersionResource
	verbs []string
}

func (r resource) supports(verb string) bool { return slices.Contains(r.verbs, verb) }

// deletable picks from a discovery answer the namespaced resources that can
// be deleted, ordered by group, version and resource. Subresources are skipped. It returns the
// error of the first group version that does not parse; the other group
// versions are still used.
func deletable(lists []*metav1.APIResourceList) ([]resource, error) {
	var out []resource
	var parseErr error
	seen := make(map[schema.GroupVersionResource]bool)
	for _, l := range lists {
		if l == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			if parseErr == nil {
				parseErr = err // upstream's condition message is the bare error
			}
			continue
		}
		for _, r := range l.APIResources {
			if !r.Namespaced || strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, verbDelete) {
				continue
			}
			gvr := gv.WithResource(r.Name)
			if seen[gvr] {
				continue
			}
			seen[gvr] = true
			out = append(out, resource{gvr: gvr, verbs: slices.Clone([]string(r.Verbs))})
		}
	}
	slices.SortFunc(out, func(a, b resource) int {
		return cmp.Or(
			strings.Compare(a.gvr.Group, b.gvr.Group),
			strings.Compare(a.gvr.Version, b.gvr.Version),
			strings.Compare(a.gvr.Resource, b.gvr.Resource))
	})
	return out, parseErr
}

// leftover is what remains of one resource after its objects were deleted.
type leftover struct {
	count      int
	finalizers map[string]int // finalizer -> number of remaining objects carrying it
	estimate   int64          // seconds to wait before looking again; 0: no wait
}

// assess judges the objects of gvr still listed after deleting them all.
// Objects are expected to linger while a grace period runs (estimate > 0)
// or while they carry finalizers (upstream then waits
// finalizerEstimateSeconds). Anything else is an error: the objects should
// have been gone.
func assess(gvr schema.GroupVersionResource, namespace string, items []unstructured.Unstructured, estimate int64) (leftover, error) {
	if len(items) == 0 {
		return leftover{}, nil
	}
	l := leftover{count: len(items), estimate: estimate}
	for _, it := range items {
		for _, f := range it.GetFinalizers() {
			if l.finalizers == nil {
				l.finalizers = make(map[string]int)
			}
			l.finalizers[f]++
		}
	}
	if estimate > 0 {
		return l, nil
	}
	if len(l.finalizers) > 0 {
		l.estimate = finalizerEstimateSeconds
		return l, nil
	}
	return l, fmt.Errorf("unexpected items still remain in namespace: %s for gvr: %v", namespace, gvr)
}

// podEstimate returns how many seconds the namespace's pods may still need
// to terminate: the longest terminationGracePeriodSeconds among pods that
// have not finished, or 0 once that much time has passed since the
// namespace's deletion.
func podEstimate(pods []corev1.Pod, deletedAt, now time.Time) int64 {
	var estimate int64
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g > estimate {
			estimate = *g
		}
	}
	if now.Sub(deletedAt) >= time.Duration(estimate)*time.Second {
		return 0
	}
	return estimate
}

// requeueAfter is how long to wait before looking at a namespace again when
// content is expected to go away within estimate seconds. Like upstream it
// looks again halfway through.
func requeueAfter(estimate int64) time.Duration {
	return time.Duration(estimate/2+1) * time.Second
}

// deleteContent deletes every object in the namespace and reports what is
// left. Failures for one resource do not stop the others.
func (c *Controller) deleteContent(ctx context.Context, ns *corev1.Namespace) outcome {
	var o outcome
	lists, err := discovery.ServerPreferredNamespacedResourcesWithContext(ctx, c.discovery)
	if err != nil {
		// Partial answers are normal: empty what can be found, report the rest.
		o.discoveryErr = err
	}
	resources, err := deletable(lists)
	if err != nil {
		o.parseErr = err
	}
	for _, r := range resources {
		l, err := c.deleteResource(ctx, ns, r)
		if err != nil {
			o.contentErrs = append(o.contentErrs, err)
		}
		o.estimate = max(o.estimate, l.estimate)
		if l.count == 0 {
			continue
		}
		if o.remaining == nil {
			o.remaining = make(map[schema.GroupVersionResource]int)
		}
		o.remaining[r.gvr] = l.count
		for f, n := range l.finalizers {
			if o.finalizers == nil {
				o.finalizers = make(map[string]int)
			}
			o.finalizers[f] += n
		}
	}
	return o
}

// deleteResource deletes all objects of one resource in the namespace and
// lists what is left.
func (c *Controller) deleteResource(ctx context.Context, ns *corev1.Namespace, r resource) (leftover, error) {
	var estimate int64
	if r.gvr.GroupResource() == podsResource {
		pods, err := c.client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil {
			return leftover{}, fmt.Errorf("listing pods to estimate their grace period: %w", err)
		}
		estimate = podEstimate(pods.Items, ns.DeletionTimestamp.Time, c.clock.Now())
	}
	client := c.dynamic.Resource(r.gvr).Namespace(ns.Name)
	// Background propagation: the garbage collector must not add the orphan
	// finalizer; dependents in this namespace are deleted here anyway.
	opts := metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}

	if r.supports(verbDeleteCollection) {
		err := client.DeleteCollection(ctx, opts, metav1.ListOptions{})
		switch {
		case err == nil:
		case apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err):
			c.log.Debug("Collection delete not supported, deleting one by one", "namespace", ns.Name, "err", err)
		default:
			return leftover{estimate: estimate}, fmt.Errorf("deleting all %s: %w", r.gvr, err)
		}
	}
	if !r.supports(verbList) {
		// Nothing to delete one by one, nothing to verify: upstream trusts it.
		return leftover{estimate: estimate}, nil
	}
	list, err := client.List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err):
		return leftover{estimate: estimate}, nil
	case err != nil:
		return leftover{estimate: estimate}, fmt.Errorf("listing %s: %w", r.gvr, err)
	}
	// One by one: everything when there is no collection delete, and any
	// straggler a collection delete missed.
	deleted := false
	for _, it := range list.Items {
		if it.GetDeletionTimestamp() != nil {
			continue // already going; waiting on a grace period or finalizers
		}
		err := client.Delete(ctx, it.GetName(), opts)
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
			return leftover{estimate: estimate}, fmt.Errorf("deleting %s %s: %w", r.gvr, it.GetName(), err)
		}
		deleted = true
	}
	if deleted {
		if list, err = client.List(ctx, metav1.ListOptions{}); err != nil {
			return leftover{estimate: estimate}, fmt.Errorf("listing %s: %w", r.gvr, err)
		}
	}
	return assess(r.gvr, ns.Name, list.Items, estimate)
}
