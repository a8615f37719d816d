package controller

import (
	"context"
	"log/slog"
	"sync"

	"k8s.io/client-go/tools/cache"
)

// Workers describes a controller's worker loops for RunWorkers.
type Workers struct {
	Log    *slog.Logger
	Synced []cache.InformerSynced
	// Count is how many goroutines run each loop.
	Count int
	// Loops process one queue item per call and report false once their
	// queue is shut down.
	Loops []func(ctx context.Context) bool
	// Shutdown shuts the queues (and timers) down; it must be safe to call
	// twice.
	Shutdown func()
}

// RunWorkers waits for the caches, runs Count goroutines of every loop
// until ctx is done, then shuts the queues down and returns once every
// goroutine has exited: the Run of every controller here.
func RunWorkers(ctx context.Context, w Workers) error {
	defer w.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), w.Synced...) {
		// Only ctx ends the wait: a shutdown, not a failure.
		w.Log.Info("Stopped before the caches synced")
		return nil
	}
	w.Log.Info("Starting controller", "workers", w.Count)
	var wg sync.WaitGroup
	for range w.Count {
		for _, loop := range w.Loops {
			wg.Go(func() {
				for loop(ctx) {
				}
			})
		}
	}
	<-ctx.Done()
	w.Shutdown()
	wg.Wait()
	w.Log.Info("Stopped controller")
	return nil
}
