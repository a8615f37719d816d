// Package controller holds building blocks shared by two or more of the
// controllers under it. Today that is Timers, which fires delayed syncs on a
// controller's injected clock (next cron schedule times, TTL expiries), so
// that a test's fake clock drives them while retries keep using the work
// queue's real clock.
//
// It owns no controller and talks to no API server; each controller package
// (job, cronjob, ttl, gc, ...) owns its own loop and decisions.
package controller
