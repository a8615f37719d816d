// Package registry holds the rules every served resource shares: what a
// create, update, delete, list and watch may do to an object's metadata
// (uid, name generation, timestamps, generation, finalizers, deletion),
// optimistic concurrency, dry runs, label and field selectors, and the
// mapping of storage errors to upstream's API errors.
//
// What differs between kinds (defaulting, validation, which fields a
// subresource may change, graceful deletion) comes from a Strategy that the
// per-group packages (registry/core, registry/batch, registry/coordination)
// provide. This package does not speak HTTP; the apiserver package does.
package registry
