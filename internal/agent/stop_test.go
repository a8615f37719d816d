package agent_test

import (
	"context"
	"log/slog"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
)

// TestStopWhileStarting: an agent stopped before it has registered its
// Node (a SIGTERM while the server is still out of reach) has stopped,
// not failed: Run returns nil, so batchd agent exits 0. The server here
// is an address nothing serves.
func TestStopWhileStarting(t *testing.T) {
	rt, err := hostproc.New(hostproc.Config{StateDir: runtimeDir(t), HelperPath: helper})
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://127.0.0.1:1"})
	a, err := agent.New(agent.Config{
		Client: client, NodeName: "node-a", Runtime: rt, StateDir: t.TempDir(), ListenAddress: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := a.Run(ctx); err != nil {
		t.Errorf("Run stopped while starting = %v, want nil: a stop is not a failure", err)
	}
}
