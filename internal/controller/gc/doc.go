// Package gc implements the ownerReference garbage collector, matching
// upstream Kubernetes (pkg/controller/garbagecollector):
//
//   - Background: an object all of whose owners are gone (absent, or present
//     with another UID than the ownerReference names) is deleted; an object
//     with at least one remaining owner only loses its dangling
//     ownerReferences.
//   - Foreground: an owner being deleted with the "foregroundDeletion"
//     finalizer has its dependents deleted, and loses the finalizer once no
//     dependent with blockOwnerDeletion=true remains.
//   - Orphan: an owner being deleted with the "orphan" finalizer has its
//     ownerReference removed from every dependent, then loses the finalizer.
//
// It watches the metadata (metav1.PartialObjectMetadata) of every resource
// that discovery lists with the list, watch and delete verbs, except events,
// and keeps a graph of owners and dependents keyed by UID. One goroutine
// applies informer events to the graph; workers then check candidates
// against the API server with live GETs before acting, delete with UID and
// resourceVersion preconditions, and remove finalizers and ownerReferences
// with patches (strategic merge carrying the UID, or JSON merge carrying the
// resourceVersion), as upstream does.
//
// Resources are discovered once, when Run starts. batchd serves a fixed set
// of built-in kinds (no CRDs, no aggregation), so upstream's periodic
// rediscovery has nothing to find; ownerReferences naming a kind the server
// does not serve are retried with backoff, as upstream does.
//
// It talks to the API server only through client-go (metadata client and
// discovery); it never reads storage directly. Adding the "orphan" and
// "foregroundDeletion" finalizers on DELETE is the API server's work, not
// this package's. Log keys beyond the house vocabulary: "owner" (an
// ownerReference's target), "resource", "policy".
package gc
