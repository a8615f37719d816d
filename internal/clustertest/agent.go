package clustertest

import (
	"context"
	"path/filepath"

	"github.com/batchd/batchd/internal/controlplane"
	"github.com/batchd/batchd/internal/helperbuild"
)

// WithAgent runs the in-process node agent (clusters run none by
// default), with the batchd-pod helper at helperPath (see BuildHelper).
// The agent needs root; its node is named after the host.
func WithAgent(helperPath string) Option {
	return func(cfg *controlplane.Config) {
		cfg.Agent.Disabled = false
		cfg.Agent.HelperPath = helperPath
		cfg.Agent.ListenAddress = ":0"
	}
}

// BuildHelper builds cmd/batchd-pod into dir and returns its path, for a
// TestMain to pass to WithAgent.
func BuildHelper(dir string) (string, error) {
	out := filepath.Join(dir, "batchd-pod")
	ctx := context.Background()
	return out, helperbuild.Build(ctx, helperbuild.Best(ctx), out)
}
