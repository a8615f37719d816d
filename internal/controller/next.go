package controller

import (
	"context"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// Item is how ProcessNext handles one kind of queue item.
type Item[K comparable] struct {
	// Kind names the item in logs: "job", "cronjob", ...
	Kind string
	// Sync handles a key. An error retries it with the queue's backoff; a
	// positive duration asks for another look then.
	Sync func(ctx context.Context, key K) (time.Duration, error)
	// After schedules that look, on the controller's clock or timers. nil:
	// sync never asks for one.
	After func(key K, d time.Duration)
	// Clock, if set, is the clock Sync decides on: the delay After gets
	// counts from when the sync began, not from when it returned, so the
	// look is not late by the sync's own duration, nor never on a fake
	// clock stepped while the sync ran.
	Clock clock.PassiveClock
}

// ProcessNext takes one key off q, syncs it and files it back: after an
// error it is retried with backoff (a conflict, which only means the
// object changed meanwhile, is logged at debug level, other errors at
// error level unless ctx is done); after success its backoff is
// forgotten. It reports false once q is shut down: the body of every
// controller's worker loop.
func ProcessNext[K comparable](ctx context.Context, q workqueue.TypedRateLimitingInterface[K], log *slog.Logger, it Item[K]) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	start := time.Now()
	var began time.Time
	if it.Clock != nil {
		began = it.Clock.Now()
	}
	after, err := it.Sync(ctx, key)
	if after > 0 && it.After != nil {
		if it.Clock != nil {
			// Zero or less fires at once.
			after -= it.Clock.Since(began)
		}
		it.After(key, after)
	}
	log = log.With(it.Kind, key, "elapsed", time.Since(start))
	switch {
	case err != nil:
		q.AddRateLimited(key)
		switch {
		case ctx.Err() != nil:
		case apierrors.IsConflict(err):
			log.Debug("Object changed during sync, will retry", "err", err)
		default:
			log.Error("Sync failed, will retry", "err", err)
		}
	default:
		q.Forget(key)
		log.Debug("Synced", "requeueAfter", after)
	}
	return true
}
