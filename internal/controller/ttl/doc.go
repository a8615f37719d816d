// Package ttl implements the TTL-after-finished controller: it deletes a
// finished Job (Complete or Failed) once spec.ttlSecondsAfterFinished has
// passed since it finished, as upstream Kubernetes 1.36's
// pkg/controller/ttlafterfinished does (spec: JOB-TTL-01..07).
//
// The finish time is the lastTransitionTime of the Job's Complete or Failed
// condition. Before deleting, the controller re-reads the Job from the API
// server and checks again with the fresh TTL; it deletes with propagation
// Foreground and a precondition on the Job's UID, so the garbage collector
// removes the Job's pods before the Job. It keeps no state of its own: each
// Job's expiry is recomputed from the Job on every sync and waited for on
// the injected clock, so a restart loses nothing. It records no events.
//
// It talks to the API server only through client-go. Deleting the pods is
// the garbage collector's work, not this package's. Log key beyond the house
// vocabulary: "expiredFor" (how late after expiry the Job was deleted).
package ttl
