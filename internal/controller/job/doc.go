// Package job implements the Job controller: it keeps every batch/v1 Job's
// pods, their tracking finalizers and the Job's status in line with its
// spec, behaving as upstream Kubernetes 1.36 does (spec: JOB-SYNC, JOB-POD,
// JOB-IDX, JOB-TRK, JOB-PRP, JOB-BO, JOB-BL, JOB-BLI, JOB-PFP, JOB-SP,
// JOB-DL, JOB-SUS, JOB-COND, JOB-STAT, JOB-EVT, JOB-MB, JOB-ADOPT, JOB-GC).
//
// One sync reads the Job and its pods from informer caches, asks the pure
// function decide for a plan (pods to create and delete, finalizers to
// remove, the new status, events, when to look again) and hands the plan to
// apply, the only place that writes, in upstream's order: pods first, then
// the status with the newly finished pods listed as uncounted, then the
// finalizer removals, then the counters and the terminal condition.
//
// It talks to the API server only through client-go and never reads storage
// directly. It does not run pods (the agent does), delete finished Jobs (the
// TTL controller does) or delete a deleted Job's pods (the garbage collector
// does); it only removes its tracking finalizer so they can go.
package job
