// Package controlplane runs batchd's server role: it locks the data
// directory, opens etcd, builds storage, the registry and the API server,
// serves HTTPS, writes the admin kubeconfig, creates the system namespaces
// and starts the controllers, in that order, and stops them in reverse.
// Run reads as the table of contents of a batchd server process.
//
// Controllers and the in-process agent reach the API through client-go,
// never through storage, exactly as they would against any Kubernetes
// server; their connection is in memory (package loopback), calling the
// same handler, authentication and metrics as the HTTPS listener.
package controlplane
