// Package cronjob implements the CronJob controller: it creates a batch/v1
// Job from each CronJob's jobTemplate at its schedule times and keeps the
// CronJob's status and Job history, behaving as upstream Kubernetes 1.36's
// (pkg/controller/cronjob, the "v2" controller) does (spec: CRON-SCHED,
// CRON-CONC, CRON-SUS, CRON-JOB, CRON-STAT, CRON-HIST, CRON-EVT, and the
// controller's side of CRON-SYN, CRON-MAN and CRON-GC).
//
// One sync reads the CronJob and its child Jobs (those whose controller
// reference carries its UID) from informer caches, confirms with live GETs
// what the caches may not have seen yet, asks the pure function decide for
// a plan (finished Jobs to prune, events, Jobs to replace, the Job to
// create, the new status, when to look again) and hands it to apply, the
// only place that writes. A CronJob is looked at again when it or one of its
// Jobs changes, and at its next schedule time plus 100 ms, on the injected
// clock: the controller never polls.
//
// Schedules are parsed with robfig/cron/v3's standard parser, as upstream
// does; a schedule without timeZone or a legacy TZ= prefix is read in the
// process's time zone. This package mirrors the registry's schedule rules
// without importing it (controllers talk to the API server only through
// client-go). It does not run or finish Jobs (the Job controller does),
// delete a deleted CronJob's Jobs (the garbage collector does), or delete
// finished Jobs by age (the TTL controller does). Log keys beyond the house
// vocabulary: "schedule", "skew" (a Job's creation after its schedule time).
package cronjob
