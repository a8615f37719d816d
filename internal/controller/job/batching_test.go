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
