package gc

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// waitingFor reports whether obj is being deleted and holds finalizer f.
func waitingFor(obj metav1.Object, f string) bool {
	return obj.GetDeletionTimestamp() != nil && slices.Contains(obj.GetFinalizers(), f)
}

// startsWaitingFor reports whether obj, last seen as old (nil: never seen),
// has just started waiting for finalizer f.
func startsWaitingFor(old, obj metav1.Object, f string) bool {
	return waitingFor(obj, f) && (old == nil || !waitingFor(old, f))
}

// refChange is one ownerReference whose fields changed, keyed by UID.
type refChange struct {
	old, new metav1.OwnerReference
}

// referencesDiff compares two lists of ownerReferences by UID: references
// only in new, only in old, and in both but different. Each list keeps the
// order of its source.
func referencesDiff(old, new []metav1.OwnerReference) (added, removed []metav1.OwnerReference, changed []refChange) {
	byUID := make(map[types.UID]metav1.OwnerReference, len(old))
	for _, r := range old {
		byUID[r.UID] = r
	}
	inNew := make(map[types.UID]bool, len(new))
	for _, r := range new {
		inNew[r.UID] = true
		o, ok := byUID[r.UID]
		switch {
		case !ok:
			added = append(added, r)
		case !equalRefs(o, r):
			changed = append(changed, refChange{old: o, new: r})
		}
	}
	for _, r := range old {
		if !inNew[r.UID] {
			removed = append(removed, r)
		}
	}
	return added, removed, changed
}

func equalRefs(a, b metav1.OwnerReference) bool {
	return a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Name == b.Name && a.UID == b.UID &&
		ptr.Equal(a.Controller, b.Controller) && ptr.Equal(a.BlockOwnerDeletion, b.BlockOwnerDeletion)
}

// unblocked returns the owners that a dependent stopped blocking: the
// reference was removed, or its blockOwnerDeletion went from true to unset
// or false. An owner waiting for its dependents may now be done.
func unblocked(removed []metav1.OwnerReference, changed []refChange) []types.UID {
	var out []types.UID
	for _, r := range removed {
		if ptr.Deref(r.BlockOwnerDeletion, false) {
			out = append(out, r.UID)
		}
	}
	for _, c := range changed {
		if ptr.Deref(c.old.BlockOwnerDeletion, false) && !ptr.Deref(c.new.BlockOwnerDeletion, false) {
			out = append(out, c.new.UID)
		}
	}
	return out
}

// references sorts an object's ownerReferences by what the API server says
// of their owners (upstream's classifyReferences).
type references struct {
	solid    []metav1.OwnerReference // the owner exists and is not deleting its dependents
	dangling []metav1.OwnerReference // the owner is absent, or has another UID
	// waiting: the owner is being deleted with foregroundDeletion.
	waiting []metav1.OwnerReference
}

// plan is what to do with one object that has owners.
type plan struct {
	// removeOwners are ownerReferences to patch away, by owner UID.
	removeOwners []types.UID
	// unblock: before deleting, set blockOwnerDeletion=false on every
	// reference, so that a cycle of foreground deletions cannot deadlock.
	unblock bool
	// delete the object, with policy.
	delete bool
	policy metav1.DeletionPropagation
}

// decideDependent is upstream's attemptToDeleteItem decision for an object
// with ownerReferences, its finalizers, and its own dependents in the graph.
//
// An object with a solid owner stays, and only loses its references to
// dangling owners and to owners waiting for their dependents (those would
// otherwise wait forever). An object whose owners wait for it is deleted in
// the foreground if it has dependents of its own, so that the wait
// propagates down; if one of those dependents also waits, its own blocking
// references are dropped first to break the cycle. Any other object whose
// owners are all gone is deleted with the policy its finalizers already ask
// for, Background by default.
func decideDependent(finalizers []string, refs references, dependents []dependent) plan {
	switch {
	case len(refs.solid) > 0:
		var uids []types.UID
		for _, r := range refs.dangling {
			uids = append(uids, r.UID)
		}
		for _, r := range refs.waiting {
			uids = append(uids, r.UID)
		}
		return plan{removeOwners: uids}
	case len(refs.waiting) > 0 && len(dependents) > 0:
		p := plan{delete: true, policy: metav1.DeletePropagationForeground}
		p.unblock = slices.ContainsFunc(dependents, func(d dependent) bool { return d.deletingDependents })
		return p
	default:
		return plan{delete: true, policy: deletePolicy(finalizers)}
	}
}

// deletePolicy is the propagation policy that keeps what an object's
// finalizers already ask for: orphan, foreground, or else background.
func deletePolicy(finalizers []string) metav1.DeletionPropagation {
	switch {
	case slices.Contains(finalizers, metav1.FinalizerOrphanDependents):
		return metav1.DeletePropagationOrphan
	case slices.Contains(finalizers, metav1.FinalizerDeleteDependents):
		return metav1.DeletePropagationForeground
	default:
		return metav1.DeletePropagationBackground
	}
}

// decideOwner is upstream's processDeletingDependentsItem decision for an
// owner being deleted in the foreground: once no dependent blocks it, its
// foregroundDeletion finalizer goes (finalize); until then the blocking
// dependents are checked, except those already deleting their own
// dependents, which the collector is handling.
func decideOwner(dependents []dependent) (finalize bool, check []identity) {
	blocked := false
	for _, d := range dependents {
		if !d.blocking {
			continue
		}
		blocked = true
		if !d.deletingDependents {
			check = append(check, d.id)
		}
	}
	return !blocked, check
}

// without returns list without the entries equal to x, nil if none remain.
func without[T comparable](list []T, x T) []T {
	var out []T
	for _, v := range list {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}
