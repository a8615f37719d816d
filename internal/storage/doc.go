// Package storage keeps Kubernetes objects in etcd. It owns the key layout
// under a resource prefix, the storage encoding (a codec chosen by the
// caller, protobuf in batchd), resourceVersion as the etcd revision,
// optimistic concurrency through compare-and-swap transactions, paged
// lists with continue tokens, and watches from a resourceVersion with
// 410-style expiry when etcd has compacted the revision.
//
// Its watch cache (RunCache) follows each resource with one etcd watch and
// serves every watch of the resource from it: each change is decoded once
// and each object encoded once per wire format, instead of once per
// watcher, and a new watch starts without etcd's catch-up delay. Watches
// the cache cannot serve (from a revision it no longer holds, or too slow
// to keep up) read etcd directly, so the cache never changes what a watch
// delivers.
//
// It knows nothing about API groups, validation, defaulting or HTTP: the
// registry decides what an object may look like, storage only makes its
// writes atomic and its history observable. It depends on the etcd client
// alone, not on how etcd was started, so embedded and external clusters
// share this one code path.
package storage
