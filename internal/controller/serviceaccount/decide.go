package serviceaccount

import corev1 "k8s.io/api/core/v1"

// defaultName is the name of the ServiceAccount every namespace gets.
const defaultName = "default"

// needsAccount reports whether the controller must create the default
// ServiceAccount in ns, given whether the cache already has one. Like
// upstream, it creates nothing in a namespace that is not Active: a
// terminating namespace refuses new objects, and one being deleted is about
// to lose them.
func needsAccount(ns *corev1.Namespace, exists bool) bool {
	return !exists && ns.DeletionTimestamp == nil && ns.Status.Phase == corev1.NamespaceActive
}
