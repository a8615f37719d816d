// Package controller holds building blocks shared by two or more of the
// controllers under it: RunWorkers, the Run of every queue-driven
// controller (wait for caches, run the worker loops, shut the queues down,
// wait for every goroutine); ProcessNext, the body of a worker loop (take
// a key, sync it, file it back with backoff or a later look);
// DropManagedFields, the informer transform that keeps managedFields out
// of the caches; and Timers, which fires delayed syncs on a
// controller's injected clock (next cron schedule times, TTL expiries), so
// that a test's fake clock drives them while retries keep using the work
// queue's real clock.
//
// It owns no controller and talks to no API server; each controller package
// (job, cronjob, ttl, gc, ...) owns its own loop and decisions.
package controller
