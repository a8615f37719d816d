// Package storage keeps Kubernetes objects in etcd. It owns the key layout
// under a resource prefix, the storage encoding (a codec chosen by the
// caller, protobuf in batchd), resourceVersion as the etcd revision,
// optimistic concurrency through compare-and-swap transactions, paged
// lists with continue tokens, and watches from a resourceVersion with
// 410-style expiry when etcd has compacted the revision.
//
// It knows nothing about API groups, validation, defaulting or HTTP: the
// registry decides what an object may look like, storage only makes its
// writes atomic and its history observable. It depends on the etcd client
// alone, not on how etcd was started, so embedded and external clusters
// share this one code path.
package storage
