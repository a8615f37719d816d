package agent_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
)

// newAgent is an agent named node-a on a fresh runtime, talking to the
// API through client.
func newAgent(t *testing.T, client kubernetes.Interface) *agent.Agent {
	t.Helper()
	rt, err := hostproc.New(hostproc.Config{StateDir: runtimeDir(t), HelperPath: helper})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{
		Client: client, NodeName: "node-a", Runtime: rt, StateDir: t.TempDir(), ListenAddress: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRegistersOnceTheServerAnswers: an agent whose API server does not
// answer yet keeps trying, as kubelet does, and its Node turns Ready
// once the server answers: agents on other machines may start before
// their server. The fault: a proxy in front of a real server answers the
// agent's first node requests 503.
func TestRegistersOnceTheServerAnswers(t *testing.T) {
	c := clustertest.Start(t)
	upstream, err := rest.TransportFor(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(c.Config().Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = upstream
	const refuse = 3
	var refused atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v1/nodes") && refused.Load() < refuse {
			refused.Add(1)
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	a := newAgent(t, kubernetes.NewForConfigOrDie(&rest.Config{Host: front.URL, QPS: -1}))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}()
	waitNodeReady(t, c.Client())
	if got := refused.Load(); got != refuse {
		t.Errorf("the proxy refused %d node requests, want %d: the retries were not exercised", got, refuse)
	}
}

// TestRegistrationRefusedFailsAtOnce: what retrying cannot change (here a
// token the server does not know: 401) ends Run with the error at once.
func TestRegistrationRefusedFailsAtOnce(t *testing.T) {
	c := clustertest.Start(t)
	cfg := c.Config()
	cfg.BearerToken = "not-a-token"
	a := newAgent(t, kubernetes.NewForConfigOrDie(cfg))
	// Bounded: an agent that retried forever would return nil at the end.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := a.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("Run with an unknown token = %v, want the server's Unauthorized", err)
	}
}
