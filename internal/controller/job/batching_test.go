package job

import (
	"testing"
	"time"

	"k8s.io/client-go/tools/cache"
)

// TestAdaptiveBatching: JOB-SYNC-02's batch period, adapted to what a
// Job's sync costs when a minimum is set, never outside [min, max].
func TestAdaptiveBatching(t *testing.T) {
	const ms = time.Millisecond
	key := cache.ObjectName{Namespace: "ns", Name: "job"}
	tests := []struct {
		name     string
		min, max time.Duration
		cost     time.Duration // the Job's last sync; 0: never synced
		want     time.Duration
	}{
		{"upstream: always the period", 0, time.Second, 2 * ms, time.Second},
		{"upstream with a negative minimum", -1, time.Second, 2 * ms, time.Second},
		{"never synced waits the minimum", 5 * ms, time.Second, 0, 5 * ms},
		{"cheap syncs wait the minimum", 5 * ms, time.Second, 200 * time.Microsecond, 5 * ms},
		{"ten times the last sync", 5 * ms, time.Second, 3 * ms, 30 * ms},
		{"expensive syncs wait the period", 5 * ms, time.Second, 400 * ms, time.Second},
		{"a minimum above the period is ignored", 2 * time.Second, time.Second, 0, time.Second},
		{"no batching at all", 5 * ms, 0, 3 * ms, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBatcher(tt.min, tt.max)
			if tt.cost > 0 {
				b.synced(key, tt.cost)
			}
			if got := b.delay(key); got != tt.want {
				t.Errorf("delay = %v, want %v", got, tt.want)
			}
			b.forget(key)
			if got, want := b.delay(key), min(max(tt.min, 0), tt.max); tt.min > 0 && tt.min < tt.max && got != want {
				t.Errorf("after forget: delay = %v, want the minimum %v", got, want)
			}
		})
	}
}

// TestAPIWaitsAreNotSyncCost: the time a sync spends waiting for the API
// (its status write, its groups of pod creations and finalizer removals)
// does not count as its cost for batching: a sync that waited 40 ms for
// pods to be created out of 45 ms costs 5 ms, so the Job's next sync
// waits 50 ms, not 450.
func TestAPIWaitsAreNotSyncCost(t *testing.T) {
	const ms = time.Millisecond
	ctx, clock := withAPIClock(t.Context())
	waitAPI(ctx, func() { time.Sleep(20 * ms) })
	waitAPI(ctx, func() { time.Sleep(20 * ms) })
	waited := time.Duration(clock.waited.Load())
	if waited < 40*ms {
		t.Fatalf("two API waits of 20 ms measured %v in all", waited)
	}
	if got := clock.cost(waited + 5*ms); got != 5*ms {
		t.Errorf("cost of a sync of %v with %v of API waits = %v, want 5ms", waited+5*ms, waited, got)
	}
	if got := clock.cost(waited / 2); got != 0 {
		t.Errorf("cost never goes below zero: got %v", got)
	}
	b := newBatcher(5*ms, time.Second)
	key := cache.ObjectName{Namespace: "ns", Name: "job"}
	b.synced(key, clock.cost(waited+5*ms))
	if got := b.delay(key); got != 50*ms {
		t.Errorf("next sync waits %v, want 50ms (ten times the 5 ms of work)", got)
	}

	// Without a clock (code paths outside a sync), f just runs.
	ran := false
	waitAPI(t.Context(), func() { ran = true })
	if !ran {
		t.Error("waitAPI without a clock did not run f")
	}
}
