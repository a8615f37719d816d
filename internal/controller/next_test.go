package controller_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"

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
