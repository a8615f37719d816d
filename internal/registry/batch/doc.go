// Package batch defines the served batch/v1 resources, Jobs and CronJobs:
// their defaulting, validation, status subresources and selectable fields,
// following upstream's pkg/registry/batch and batch/v1 defaults. The
// controllers that act on them live in internal/controller.
package batch
