package clustertest

import (
	"time"

	"k8s.io/utils/clock"

	"github.com/batchd/batchd/internal/controlplane"
)

// WithJobClock gives the Job controller its own clock, typically a
// k8s.io/utils/clock/testing fake that the test steps to reach active
// deadlines and the end of pod failure backoff.
func WithJobClock(c clock.WithDelayedExecution) Option {
	return func(cfg *controlplane.Config) { cfg.JobController.Clock = c }
}

// WithJobBatchPeriod sets how long the Job controller lets pod events
// coalesce before a sync (upstream: 1 s; negative: no wait).
func WithJobBatchPeriod(d time.Duration) Option {
	return func(cfg *controlplane.Config) { cfg.JobController.BatchPeriod = d }
}

// WithUpstreamJobBatching makes the Job controller wait its whole batch
// period after every pod event, as upstream does, instead of adapting the
// wait to the Job's size.
func WithUpstreamJobBatching() Option {
	return func(cfg *controlplane.Config) { cfg.JobController.MinBatchPeriod = -1 }
}

// WithoutJobController runs no Job controller, for tests that run their
// own (with fault injection, say).
func WithoutJobController() Option {
	return func(cfg *controlplane.Config) { cfg.JobController.Disabled = true }
}

// WithoutScheduler runs no scheduler, for tests that run their own.
func WithoutScheduler() Option {
	return func(cfg *controlplane.Config) { cfg.Scheduler.Disabled = true }
}

// WithCronJobClock gives the CronJob controller its own clock, typically a
// k8s.io/utils/clock/testing fake that the test steps to each schedule
// time (plus the controller's 100 ms padding).
func WithCronJobClock(c clock.WithDelayedExecution) Option {
	return func(cfg *controlplane.Config) { cfg.Timed.CronJob.Clock = c }
}

// WithoutCronJobController runs no CronJob controller.
func WithoutCronJobController() Option {
	return func(cfg *controlplane.Config) { cfg.Timed.CronJob.Disabled = true }
}

// WithTTLClock gives the TTL-after-finished controller its own clock, a
// fake the test steps past Jobs' expiry.
func WithTTLClock(c clock.WithDelayedExecution) Option {
	return func(cfg *controlplane.Config) { cfg.Timed.TTL.Clock = c }
}

// WithoutTTLController runs no TTL-after-finished controller, so finished
// Jobs stay whatever their TTL.
func WithoutTTLController() Option {
	return func(cfg *controlplane.Config) { cfg.Timed.TTL.Disabled = true }
}
