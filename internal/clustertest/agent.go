package clustertest

import (
	"os/exec"
	"path/filepath"

	"github.com/batchd/batchd/internal/controlplane"
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
	cmd := exec.Command("go", "build", "-o", out, "github.com/batchd/batchd/cmd/batchd-pod")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{err: err, out: string(b)}
	}
	return out, nil
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "building batchd-pod: " + e.err.Error() + "\n" + e.out }
