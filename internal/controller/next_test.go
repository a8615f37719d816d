package controller_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/batchd/batchd/internal/controller"
)

// TestProcessNext: how a sync's result files its key back.
func TestProcessNext(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "jobs"}, "x", errors.New("changed"))
	tests := []struct {
		name         string
		after        time.Duration
		err          error
		wantRequeues int           // the key's backoff count afterwards
		wantAfter    time.Duration // what After was asked for
	}{
		{"success forgets the key", 0, nil, 0, 0},
		{"success with a later look", 3 * time.Second, nil, 0, 3 * time.Second},
		{"an error retries with backoff", 0, errors.New("boom"), 1, 0},
		{"a conflict retries with backoff", 0, conflict, 1, 0},
		{"an error still schedules a deadline", 2 * time.Second, errors.New("boom"), 1, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Hour, time.Hour))
			defer q.ShutDown()
			q.AddRateLimited("k") // a backoff to forget
			q.Forget("k")
			q.Add("k")
			var gotAfter time.Duration
			more := controller.ProcessNext(context.Background(), q, slog.New(slog.DiscardHandler), controller.Item[string]{
				Kind:  "thing",
				Sync:  func(context.Context, string) (time.Duration, error) { return tt.after, tt.err },
				After: func(_ string, d time.Duration) { gotAfter = d },
			})
			if !more {
				t.Fatal("ProcessNext reported a shut-down queue")
			}
			if got := q.NumRequeues("k"); got != tt.wantRequeues {
				t.Errorf("requeues = %d, want %d", got, tt.wantRequeues)
			}
			if gotAfter != tt.wantAfter {
				t.Errorf("After(%v), want %v", gotAfter, tt.wantAfter)
			}
		})
	}
	t.Run("a shut-down queue ends the loop", func(t *testing.T) {
		q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
		q.ShutDown()
		if controller.ProcessNext(context.Background(), q, slog.New(slog.DiscardHandler), controller.Item[string]{
			Sync: func(context.Context, string) (time.Duration, error) { t.Error("synced after shutdown"); return 0, nil },
		}) {
			t.Error("ProcessNext = true on a shut-down queue")
		}
	})
}

// TestProcessNextCountsTheDelayFromTheSyncStart: the later look a sync asks
// for is due that long after the sync began, so a clock that moves while
// the sync runs (a test stepping a fake clock; a slow sync on a real one)
// neither delays it nor, on a fake clock, loses it.
func TestProcessNextCountsTheDelayFromTheSyncStart(t *testing.T) {
	tests := []struct {
		name     string
		during   time.Duration // the clock moves this much while the sync runs
		wantNow  bool          // the look is due when the sync returns
		stepThen time.Duration // else, stepping this much more makes it due
	}{
		{"the clock moved past the look's time", 10 * time.Second, true, 0},
		{"the clock moved part of the way", 4 * time.Second, false, 6 * time.Second},
		{"the clock did not move", 0, false, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := testingclock.NewFakeClock(time.Unix(1_700_000_000, 0))
			fired := make(chan cache.ObjectName, 1)
			timers := controller.NewTimers(fc, func(k cache.ObjectName) { fired <- k })
			defer timers.Stop()
			q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName]())
			defer q.ShutDown()
			key := cache.ObjectName{Namespace: "ns", Name: "x"}
			q.Add(key)
			controller.ProcessNext(context.Background(), q, slog.New(slog.DiscardHandler), controller.Item[cache.ObjectName]{
				Kind: "thing",
				Sync: func(context.Context, cache.ObjectName) (time.Duration, error) {
					fc.Step(tt.during) // after the sync read the clock
					return 10 * time.Second, nil
				},
				After: timers.After,
				Clock: fc,
			})
			expectFired := func(want bool) {
				t.Helper()
				select {
				case <-fired:
					if !want {
						t.Fatal("the look fired before its time")
					}
				case <-time.After(200 * time.Millisecond):
					if want {
						t.Fatal("the look did not fire when due")
					}
				}
			}
			expectFired(tt.wantNow)
			if !tt.wantNow {
				fc.Step(tt.stepThen - time.Millisecond)
				expectFired(false)
				fc.Step(time.Millisecond)
				expectFired(true)
			}
		})
	}
}
