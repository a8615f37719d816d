// Package clustertest starts a real batchd control plane in the test
// process, on a temporary data directory with embedded etcd (fsync off, fast
// election), listening on a free loopback port, for tests that drive it
// with client-go or kubectl. Nothing in it is faked.
package clustertest
