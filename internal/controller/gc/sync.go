package gc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/retry"
)

var (
	// errUnknownKind: an ownerReference or object names a kind the server
	// does not serve. Retried with backoff, as upstream's restMappingError.
	errUnknownKind = errors.New("kind not served")
	// errClusterScopedDependent: a cluster-scoped object names a namespaced
	// owner, which cannot be. Not retried.
	errClusterScopedDependent = errors.New("cluster-scoped objects cannot refer to namespaced owners")
)

// attemptToDelete checks one node of the graph against the API server and
// acts on it (upstream's attemptToDeleteWorker and attemptToDeleteItem).
// A virtual node whose object exists is looked at again until an informer
// has seen it.
func (c *Controller) attemptToDelete(ctx context.Context, uid types.UID) (bool, error) {
	n, ok := c.graph.view(uid)
	if !ok {
		return false, nil
	}
	log := c.log.With("key", n.id)
	if n.beingDeleted && !n.deletingDependents {
		// On its way out: its dependents are looked at once it is gone.
		return false, nil
	}
	latest, err := c.get(ctx, n.id)
	switch {
	case errors.Is(err, errClusterScopedDependent):
		log.Debug("Ignoring namespaced owner of cluster-scoped object")
		return false, nil
	case apierrors.IsNotFound(err):
		c.virtualDelete(n.id)
		return false, nil
	case err != nil:
		return false, fmt.Errorf("getting %s: %w", n.id, err)
	case latest.UID != n.id.uid:
		c.virtualDelete(n.id)
		return false, nil
	}

	if n.deletingDependents {
		return false, c.finishForeground(ctx, n)
	}
	owners := latest.GetOwnerReferences()
	if len(owners) == 0 {
		return n.virtual, nil
	}
	refs, err := c.classify(ctx, n.id, owners)
	if errors.Is(err, errClusterScopedDependent) {
		log.Debug("Ignoring cluster-scoped object with a namespaced owner")
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking owners of %s: %w", n.id, err)
	}
	p := decideDependent(latest.GetFinalizers(), refs, n.dependents)
	switch {
	case len(p.removeOwners) > 0:
		log.Debug("Removing references to absent or waiting owners", "owner", p.removeOwners)
		if err := c.removeOwners(ctx, n.id, p.removeOwners); err != nil {
			return false, err
		}
	case p.delete:
		if p.unblock {
			log.Debug("Unblocking owners to break a cycle of foreground deletions")
			if err := c.unblockOwners(ctx, n.id, owners); err != nil {
				return false, err
			}
		}
		log.Debug("Deleting object whose owners are all gone", "policy", p.policy)
		err := c.deleteObject(ctx, n.id, latest.ResourceVersion, owners, p.policy)
		if apierrors.IsNotFound(err) {
			c.virtualDelete(n.id)
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("deleting %s: %w", n.id, err)
		}
	}
	return n.virtual, nil
}

// foregroundSettle is how long after an owner starts waiting for its
// dependents the collector lets its informers catch up before deciding
// that none blocks it.
const foregroundSettle = 500 * time.Millisecond

// finishForeground removes an owner's foregroundDeletion finalizer once
// no dependent blocks it, and otherwise checks the blocking dependents.
func (c *Controller) finishForeground(ctx context.Context, n view) error {
	finalize, check := decideOwner(n.dependents)
	if finalize {
		// Beyond upstream: a dependent created just before the owner's
		// deletion may not have reached the graph yet (informers of
		// different resources lag independently), and finalizing now
		// would let the owner go before it. Give the informers a moment.
		if wait := foregroundSettle - time.Since(n.waitingSince); wait > 0 {
			c.deletes.AddAfter(n.id.uid, wait)
			return nil
		}
		c.log.Debug("Removing foregroundDeletion finalizer, no dependent blocks it", "key", n.id)
		return c.removeFinalizer(ctx, n.id, metav1.FinalizerDeleteDependents)
	}
	for _, d := range check {
		c.deletes.Add(d.uid)
	}
	return nil
}

// attemptToOrphan removes the references to an owner being deleted with
// the orphan finalizer from all its dependents, then the finalizer.
func (c *Controller) attemptToOrphan(ctx context.Context, uid types.UID) (bool, error) {
	n, ok := c.graph.view(uid)
	if !ok {
		return false, nil
	}
	// Beyond upstream, check the owner still asks for orphaning: deleted
	// again with another policy, its dependents are not to be kept.
	owner, err := c.get(ctx, n.id)
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("getting %s: %w", n.id, err)
	case owner.UID != n.id.uid || !waitingFor(owner, metav1.FinalizerOrphanDependents):
		return false, nil
	}
	var errs []error
	for _, d := range n.dependents {
		if err := c.removeOwners(ctx, d.id, []types.UID{n.id.uid}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return false, fmt.Errorf("orphaning dependents of %s: %w", n.id, err)
	}
	c.log.Debug("Orphaned dependents, removing orphan finalizer", "key", n.id, "count", len(n.dependents))
	return false, c.removeFinalizer(ctx, n.id, metav1.FinalizerOrphanDependents)
}

// classify sorts an object's ownerReferences by the state of their
// owners, asking the API server.
func (c *Controller) classify(ctx context.Context, item identity, owners []metav1.OwnerReference) (references, error) {
	var refs references
	for _, ref := range owners {
		owner, err := c.owner(ctx, item, ref)
		switch {
		case err != nil:
			return references{}, err
		case owner == nil:
			refs.dangling = append(refs.dangling, ref)
		case waitingFor(owner, metav1.FinalizerDeleteDependents):
			refs.waiting = append(refs.waiting, ref)
		default:
			refs.solid = append(refs.solid, ref)
		}
	}
	return refs, nil
}

// absentKey identifies an owner found absent: its coordinates and, for a
// namespaced kind, the namespace.
type absentKey struct {
	ref       metav1.OwnerReference
	namespace string
}

// owner returns the owner ref names for item, read live from the API
// server, or nil if it is absent or has another UID (the reference dangles).
func (c *Controller) owner(ctx context.Context, item identity, ref metav1.OwnerReference) (*metav1.PartialObjectMetadata, error) {
	r, err := c.resources.lookup(ref.APIVersion, ref.Kind)
	if err != nil {
		return nil, err
	}
	key := absentKey{ref: metav1.OwnerReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID}}
	if r.namespaced {
		if item.namespace == "" {
			return nil, errClusterScopedDependent
		}
		key.namespace = item.namespace
	}
	if _, ok := c.absent.Get(key); ok {
		return nil, nil
	}
	owner, err := c.client(r, item.namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		c.absent.Add(key, struct{}{})
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("getting owner %s %s: %w", ref.Kind, ref.Name, err)
	case owner.UID != ref.UID:
		c.absent.Add(key, struct{}{})
		return nil, nil
	}
	return owner, nil
}

// client returns the metadata client for r's objects in namespace ns
// (ignored for cluster-scoped resources).
func (c *Controller) client(r resource, ns string) metadata.ResourceInterface {
	if !r.namespaced {
		ns = ""
	}
	return c.metadata.Resource(r.gvr).Namespace(ns)
}

// clientFor returns the metadata client for the object id.
func (c *Controller) clientFor(id identity) (metadata.ResourceInterface, error) {
	r, err := c.resources.lookup(id.apiVersion, id.kind)
	if err != nil {
		return nil, err
	}
	if r.namespaced && id.namespace == "" {
		return nil, errClusterScopedDependent
	}
	return c.client(r, id.namespace), nil
}

// get reads the object id live from the API server.
func (c *Controller) get(ctx context.Context, id identity) (*metav1.PartialObjectMetadata, error) {
	rc, err := c.clientFor(id)
	if err != nil {
		return nil, err
	}
	return rc.Get(ctx, id.name, metav1.GetOptions{})
}

// deleteObject deletes the object id with preconditions on its UID and the
// resourceVersion its owners were checked at. If only the resourceVersion
// moved on and the owners are the same, it deletes again without it, as
// upstream does.
func (c *Controller) deleteObject(ctx context.Context, id identity, resourceVersion string, owners []metav1.OwnerReference, policy metav1.DeletionPropagation) error {
	rc, err := c.clientFor(id)
	if err != nil {
		return err
	}
	opts := metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &id.uid, ResourceVersion: &resourceVersion},
		PropagationPolicy: &policy,
	}
	err = rc.Delete(ctx, id.name, opts)
	if !apierrors.IsConflict(err) {
		return err
	}
	live, liveErr := rc.Get(ctx, id.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(liveErr):
		return nil
	case liveErr == nil && live.UID == id.uid && live.ResourceVersion != resourceVersion &&
		slices.EqualFunc(live.OwnerReferences, owners, equalRefs):
		opts.Preconditions.ResourceVersion = nil
		return rc.Delete(ctx, id.name, opts)
	}
	return err
}

// removeOwners patches the references to owners away from the object id:
// a strategic merge patch carrying its UID, or, where the server has no
// strategic merge patch for the resource, a JSON merge patch at the
// resourceVersion just read.
func (c *Controller) removeOwners(ctx context.Context, id identity, owners []types.UID) error {
	smp, err := deleteRefsStrategicPatch(id.uid, owners)
	if err != nil {
		return fmt.Errorf("building patch for %s: %w", id, err)
	}
	return c.patch(ctx, id, smp, func(live *metav1.PartialObjectMetadata) ([]byte, error) {
		return refsMergePatch(live.ResourceVersion, withoutOwners(live.OwnerReferences, owners))
	})
}

// unblockOwners patches blockOwnerDeletion=false onto the object's
// references.
func (c *Controller) unblockOwners(ctx context.Context, id identity, owners []metav1.OwnerReference) error {
	smp, err := unblockStrategicPatch(id.uid, owners)
	if err != nil {
		return fmt.Errorf("building patch for %s: %w", id, err)
	}
	return c.patch(ctx, id, smp, func(live *metav1.PartialObjectMetadata) ([]byte, error) {
		return refsMergePatch(live.ResourceVersion, unblocking(live.OwnerReferences))
	})
}

// patch applies a strategic merge patch to id, falling back to the JSON
// merge patch jmp builds from the live object when the server refuses
// strategic merge patches (415).
func (c *Controller) patch(ctx context.Context, id identity, smp []byte, jmp func(*metav1.PartialObjectMetadata) ([]byte, error)) error {
	rc, err := c.clientFor(id)
	if err != nil {
		return err
	}
	_, err = rc.Patch(ctx, id.name, types.StrategicMergePatchType, smp, metav1.PatchOptions{})
	if !apierrors.IsUnsupportedMediaType(err) {
		return wrapPatchErr(id, err)
	}
	live, err := rc.Get(ctx, id.name, metav1.GetOptions{})
	if err != nil {
		return wrapPatchErr(id, err)
	}
	if live.UID != id.uid {
		return nil // another object now: nothing of ours to patch
	}
	p, err := jmp(live)
	if err != nil {
		return fmt.Errorf("building patch for %s: %w", id, err)
	}
	_, err = rc.Patch(ctx, id.name, types.MergePatchType, p, metav1.PatchOptions{})
	return wrapPatchErr(id, err)
}

func wrapPatchErr(id identity, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("patching %s: %w", id, err)
}

// removeFinalizer removes finalizer f from the object id with a JSON merge
// patch at the resourceVersion just read, retrying conflicts a few times,
// as upstream does. An object already gone, or without f, is fine.
func (c *Controller) removeFinalizer(ctx context.Context, id identity, f string) error {
	rc, err := c.clientFor(id)
	if err != nil {
		return err
	}
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		live, err := rc.Get(ctx, id.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if live.UID != id.uid || !slices.Contains(live.Finalizers, f) {
			return nil
		}
		p, err := finalizersMergePatch(live.ResourceVersion, without(live.Finalizers, f))
		if err != nil {
			return err
		}
		_, err = rc.Patch(ctx, id.name, types.MergePatchType, p, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("removing finalizer %s from %s: %w", f, id, err)
	}
	return nil
}
