package controller

import "k8s.io/apimachinery/pkg/api/meta"

// DropManagedFields is an informer transform that empties
// metadata.managedFields before an object enters a cache, as upstream's
// kube-controller-manager does: no controller (nor the node agent) reads
// them, and they are
// often a third of a stored pod. Writes from a trimmed copy are safe: an
// update that carries no managedFields keeps the stored ones.
func DropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil && m.GetManagedFields() != nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
