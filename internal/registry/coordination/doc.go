// Package coordination defines the served coordination.k8s.io/v1 resource,
// Leases, which node agents renew as heartbeats and leader election uses.
package coordination
