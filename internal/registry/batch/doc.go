// Package batch defines the served batch/v1 resources, Jobs and CronJobs:
// their defaulting, selector generation, create and update validation,
// status subresources, warnings and selectable fields, following
// upstream's batch/v1 defaults, pkg/apis/batch/validation and
// pkg/registry/batch (spec: JOB-DEF, JOB-SEL, JOB-VAL, JOB-UPD, JOB-SVAL,
// CRON-DEF, CRON-VAL, CRON-SYN). Schedules are parsed with the cron parser
// upstream uses, and time zones are checked against a compiled-in tz
// database. Metadata rules common to every kind are the registry Store's;
// the controllers that act on Jobs and CronJobs live in internal/controller.
package batch
