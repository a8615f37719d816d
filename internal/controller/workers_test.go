package controller

import (
	"context"
	"log/slog"
	"testing"

	"k8s.io/client-go/tools/cache"
)

// A controller stopped while its caches sync (a server shut down right
// after it became ready) has stopped, not failed: batchd must exit 0.
func TestRunWorkersStoppedBeforeTheCachesSync(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran, shutdowns int
	err := RunWorkers(ctx, Workers{
		Log:      slog.New(slog.DiscardHandler),
		Synced:   []cache.InformerSynced{func() bool { return false }},
		Count:    2,
		Loops:    []func(context.Context) bool{func(context.Context) bool { ran++; return false }},
		Shutdown: func() { shutdowns++ },
	})
	if err != nil {
		t.Errorf("RunWorkers = %v, want nil: a shutdown is not a failure", err)
	}
	if ran != 0 {
		t.Errorf("a loop ran %d times before the caches synced", ran)
	}
	if shutdowns == 0 {
		t.Error("the queues were not shut down")
	}
}
