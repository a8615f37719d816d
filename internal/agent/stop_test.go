package agent_test

import (
	"context"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestStopWhileStarting: an agent stopped before it has registered its
// Node (a SIGTERM while the server is still out of reach) has stopped,
// not failed: Run returns nil, so batchd agent exits 0. The server here
// is an address nothing serves.
func TestStopWhileStarting(t *testing.T) {
	a := newAgent(t, kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://127.0.0.1:1"}))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := a.Run(ctx); err != nil {
		t.Errorf("Run stopped while starting = %v, want nil: a stop is not a failure", err)
	}
}
