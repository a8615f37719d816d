package cli

import (
	"context"
	"log/slog"
	"sync"

	"github.com/batchd/batchd/internal/gcpace"
)

// withGCPacing runs fn while the garbage collector is paced for a control
// plane (gcpace.DefaultHeadroom): the server's live heap is small and it
// allocates fast, so Go's default pace spends ~10 % of its CPU collecting.
// GOGC or GOMEMLIMIT in the environment turn the pacing off.
func withGCPacing(ctx context.Context, log *slog.Logger, fn func() error) error {
	ctx, stop := context.WithCancel(ctx)
	var pacer sync.WaitGroup
	pacer.Go(func() { gcpace.Run(ctx, gcpace.DefaultHeadroom, log) })
	defer func() {
		stop()
		pacer.Wait()
	}()
	return fn()
}
