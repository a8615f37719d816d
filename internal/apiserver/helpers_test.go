package apiserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batchd/batchd/internal/controlplane"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// runServer runs a control plane on dataDir until ctx ends, returning its error.
func runServer(ctx context.Context, dataDir string) error {
	srv, err := controlplane.New(controlplane.Config{DataDir: dataDir, Listen: "127.0.0.1:0", NoFsync: true, FastElection: true})
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
