package job

import (
	"context"
	"sync"
	"sync/atomic"
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

// apiClock measures how long a sync waits for the API server, so that its
// cost for batching is its own work: the listing and deciding, which grow
// with the Job's pods, not the round trips of the pods it creates or the
// finalizers it removes, which grow with the work done (one per pod
// whichever the batching) and cost the sync no CPU while it waits. A
// sync that creates 100 pods waits for them for a good part of a second;
// counted as cost, that wait made the Job's next sync wait the whole 1 s,
// and every replacement of a finished pod with it.
type apiClock struct{ waited atomic.Int64 }

type apiClockKey struct{}

// withAPIClock returns a context whose API waits (waitAPI) are measured.
func withAPIClock(ctx context.Context) (context.Context, *apiClock) {
	c := &apiClock{}
	return context.WithValue(ctx, apiClockKey{}, c), c
}

// waitAPI runs f, a wait for API calls made from the sync's goroutine (one
// call, or a group of concurrent ones), and adds its duration to ctx's
// apiClock, if any.
func waitAPI(ctx context.Context, f func()) {
	c, _ := ctx.Value(apiClockKey{}).(*apiClock)
	if c == nil {
		f()
		return
	}
	start := time.Now()
	f()
	c.waited.Add(int64(time.Since(start)))
}

// cost is a sync's duration without its API waits.
func (c *apiClock) cost(took time.Duration) time.Duration {
	return max(took-time.Duration(c.waited.Load()), 0)
}

// enqueueBatched queues a sync of job after the batching delay.
func (c *Controller) enqueueBatched(job *batchv1.Job) {
	c.enqueue(job, c.batcher.delay(cache.MetaObjectToName(job)))
}
