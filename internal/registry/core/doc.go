// Package core defines the served core/v1 resources (namespaces, pods,
// configmaps, secrets, serviceaccounts, events, nodes): their defaulting,
// validation, subresource rules, selectable fields and graceful deletion,
// following upstream's pkg/registry/core and core/v1 defaults. It also
// provides the namespace lifecycle check the registry runs on create.
//
// Pod template defaulting and validation live here too, because Jobs and
// CronJobs embed pod templates and must default them exactly as pods are.
package core
