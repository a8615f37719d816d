// Package apiserver is batchd's HTTP layer of the Kubernetes REST API: it
// routes /api and /apis paths to the registry stores, negotiates content
// types (JSON, YAML, protobuf, PartialObjectMetadata), streams watches,
// applies patches, serves discovery and /version, authenticates requests
// and writes every error as a metav1.Status with upstream's reason and code.
//
// The object rules themselves (validation, concurrency, deletion) belong to
// package registry; this package only translates HTTP to and from it.
package apiserver
