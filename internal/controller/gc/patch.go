package gc

import (
	"encoding/json"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// The patches are upstream's (garbagecollector/patch.go, operations.go).
// Strategic merge patches carry the object's UID, JSON merge patches its
// resourceVersion, so that neither applies to another object or version.

// deleteRefsStrategicPatch removes the ownerReferences to owners from the
// object with the given UID.
func deleteRefsStrategicPatch(uid types.UID, owners []types.UID) ([]byte, error) {
	type deleteRef struct {
		Patch string    `json:"$patch"`
		UID   types.UID `json:"uid"`
	}
	refs := make([]deleteRef, 0, len(owners))
	for _, o := range owners {
		refs = append(refs, deleteRef{Patch: "delete", UID: o})
	}
	return json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": refs, "uid": uid}})
}

// unblockStrategicPatch sets blockOwnerDeletion=false on each of refs that
// has it true, in the object with the given UID.
func unblockStrategicPatch(uid types.UID, refs []metav1.OwnerReference) ([]byte, error) {
	var blocking []metav1.OwnerReference
	for _, r := range refs {
		if ptr.Deref(r.BlockOwnerDeletion, false) {
			r.BlockOwnerDeletion = ptr.To(false)
			blocking = append(blocking, r)
		}
	}
	return json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": blocking, "uid": uid}})
}

// refsMergePatch replaces the ownerReferences of the object at
// resourceVersion with refs, for servers without strategic merge patch.
func refsMergePatch(resourceVersion string, refs []metav1.OwnerReference) ([]byte, error) {
	return json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": resourceVersion, "ownerReferences": refs}})
}

// withoutOwners returns refs without the references to owners.
func withoutOwners(refs []metav1.OwnerReference, owners []types.UID) []metav1.OwnerReference {
	var out []metav1.OwnerReference
	for _, r := range refs {
		if !slices.Contains(owners, r.UID) {
			out = append(out, r)
		}
	}
	return out
}

// unblocking returns refs with blockOwnerDeletion=false on every one.
func unblocking(refs []metav1.OwnerReference) []metav1.OwnerReference {
	out := make([]metav1.OwnerReference, 0, len(refs))
	for _, r := range refs {
		r.BlockOwnerDeletion = ptr.To(false)
		out = append(out, r)
	}
	return out
}

// finalizersMergePatch sets the finalizers of the object at resourceVersion
// (none: null, which removes the field).
func finalizersMergePatch(resourceVersion string, finalizers []string) ([]byte, error) {
	return json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": resourceVersion, "finalizers": finalizers}})
}
