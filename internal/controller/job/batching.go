package job

import (
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/client-go/tools/cache"
)

// batchCostFactor bounds the share of time adaptive batching lets one Job's
// pod-event syncs take: a Job whose sync took d waits about
// batchCostFactor*d before the next one, so its syncs use at most about
// 1/(1+batchCostFactor) of a worker.
const batchCostFactor = 10

// batcher decides how long pod events and status-only updates of a Job
// wait, so that several coalesce into one sync (JOB-SYNC-02).
//
// Upstream always waits max (1 s). With min > 0 the wait adapts to what
// a sync of the Job costs: batchCostFactor times its last sync, between
// min and max. A one-pod Job then reacts in milliseconds, while a Job of
// thousands of pods, whose syncs take long, still coalesces its many pod
// events into few syncs, as upstream's fixed period is there to ensure.
type batcher struct {
	min, max time.Duration

	mu   sync.Mutex
	cost map[cache.ObjectName]time.Duration // duration of each Job's last sync
}

func newBatcher(min, max time.Duration) *batcher {
	return &batcher{min: min, max: max, cost: map[cache.ObjectName]time.Duration{}}
}

// delay is how long an event of key waits before its sync.
func (b *batcher) delay(key cache.ObjectName) time.Duration {
	if b.min <= 0 || b.min >= b.max {
		return b.max
	}
	b.mu.Lock()
	cost := b.cost[key]
	b.mu.Unlock()
	return min(max(batchCostFactor*cost, b.min), b.max)
}

// synced records how long a sync of key took.
func (b *batcher) synced(key cache.ObjectName, took time.Duration) {
	if b.min <= 0 {
		return
	}
	b.mu.Lock()
	b.cost[key] = took
	b.mu.Unlock()
}

// forget drops what is known of a deleted Job.
func (b *batcher) forget(key cache.ObjectName) {
	b.mu.Lock()
	delete(b.cost, key)
	b.mu.Unlock()
}

// enqueueBatched queues a sync of job after the batching delay.
func (c *Controller) enqueueBatched(job *batchv1.Job) {
	c.enqueue(job, c.batcher.delay(cache.MetaObjectToName(job)))
}
