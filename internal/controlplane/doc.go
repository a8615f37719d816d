// Package controlplane runs batchd's server role: it locks the data
// directory, opens etcd, builds storage, the registry and the API server,
// serves HTTPS, writes the admin kubeconfig, creates the system namespaces
// and starts the controllers, in that order, and stops them in reverse.
// Run reads as the table of contents of a batchd server process.
//
// Controllers reach the API through a loopback client-go connection, never
// through storage, exactly as they would against any Kubernetes server.
package controlplane
