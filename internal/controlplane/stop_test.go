package controlplane_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/batchd/batchd/internal/controlplane"
)

// TestStopWhileStarting: a server stopped at any point of its start (a
// SIGTERM or Ctrl-C in its first second, which cancels Run's context with
// the signal as the cause) has stopped, not failed: Run returns nil, so
// batchd server exits 0. It returned "opening etcd: waiting for embedded
// etcd ... to be ready: terminated signal received" and exited 1.
func TestStopWhileStarting(t *testing.T) {
	signal := errors.New("terminated signal received")
	for _, tc := range []struct {
		name  string
		after time.Duration // from Run's start; negative: before Run
	}{
		{"before Run", -1},
		{"as Run starts", 0},
		{"while etcd starts", 20 * time.Millisecond},
		{"later in the start", 60 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := controlplane.New(controlplane.Config{
				DataDir:      t.TempDir(),
				Listen:       "127.0.0.1:0",
				NoFsync:      true,
				FastElection: true,
				Agent:        controlplane.AgentConfig{Disabled: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithCancelCause(t.Context())
			if tc.after < 0 {
				stop(signal)
			} else {
				time.AfterFunc(tc.after, func() { stop(signal) })
			}
			if err := srv.Run(ctx); err != nil {
				t.Errorf("Run stopped %s = %v, want nil: a stop is not a failure", tc.name, err)
			}
		})
	}
}

// TestStartFailureIsReported: only a stop is forgiven; a start that fails
// on its own still fails.
func TestStartFailureIsReported(t *testing.T) {
	srv, err := controlplane.New(controlplane.Config{
		DataDir: t.TempDir(),
		Listen:  "192.0.2.1:0", // TEST-NET-1, on no interface here: the start fails
		NoFsync: true, FastElection: true,
		Agent: controlplane.AgentConfig{Disabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(t.Context()); err == nil {
		t.Error("Run on an address that cannot be listened on = nil, want its error")
	}
}
