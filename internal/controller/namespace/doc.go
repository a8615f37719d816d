// Package namespace implements the namespace lifecycle controller. When a
// namespace is being deleted (metadata.deletionTimestamp is set), it deletes
// every object of every namespaced resource the API server advertises in
// discovery, reports progress in the namespace's status conditions as
// upstream Kubernetes does (NamespaceDeletionDiscoveryFailure,
// NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure,
// NamespaceContentRemaining, NamespaceFinalizersRemaining), and once nothing
// is left removes the "kubernetes" finalizer from spec.finalizers and deletes
// the namespace.
//
// It talks to the API server only through client-go: typed clients for
// namespaces and pods, the dynamic client for content, discovery for the list
// of resources. It never reads storage directly. It does not stop pods itself
// (the agent does that), does not refuse creations in a terminating namespace
// (the API server does), and does not cascade to owned objects in other
// namespaces (the garbage collector does).
package namespace
