package cli

import (
	"context"
	"log/slog"
	"sync"

	"github.com/batchd/batchd/internal/gcpace"
)

// withGCPacing runs fn, a control plane, while the garbage collector is
// paced for it (gcpace.DefaultHeadroom): its live heap is small and it
// allocates fast, so at Go's default pace it spent ~13 % of its CPU
// collecting. GOGC or GOMEMLIMIT in the environment turn the pacing off.
// A batchd agent alone is not paced: it allocates little, and shares its
// machine's memory with the pods.
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
