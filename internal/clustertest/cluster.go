package clustertest

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/batchd/batchd/internal/controlplane"
)

// startTimeout bounds how long a test waits for the server to be ready.
const startTimeout = 60 * time.Second

// Cluster is a running in-process batchd.
type Cluster struct {
	dataDir string
	srv     *controlplane.Server
	cancel  context.CancelFunc
	done    chan error
	config  *rest.Config
	client  kubernetes.Interface
}

// Option adjusts a cluster's configuration before it starts.
type Option func(*controlplane.Config)

// WithMinWatchTimeout shortens how long watches without timeoutSeconds
// stay open.
func WithMinWatchTimeout(d time.Duration) Option {
	return func(c *controlplane.Config) { c.MinWatchTimeout = d }
}

// WithWatchCacheCapacity makes the API server's watch cache keep only n
// recent changes per resource, so that watches from older revisions read
// etcd's history (and meet its compaction).
func WithWatchCacheCapacity(n int) Option {
	return func(c *controlplane.Config) { c.WatchCacheCapacity = n }
}

// WithBookmarkInterval makes idle watches get bookmarks every d.
func WithBookmarkInterval(d time.Duration) Option {
	return func(c *controlplane.Config) { c.BookmarkInterval = d }
}

// WithEventTTL makes events expire after d.
func WithEventTTL(d time.Duration) Option {
	return func(c *controlplane.Config) { c.EventTTL = d }
}

// Start runs a control plane for the rest of the test; t.Cleanup stops it.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{dataDir: t.TempDir()}
	c.start(t, opts)
	t.Cleanup(func() { c.Stop(t) })
	return c
}

func (c *Cluster) start(t testing.TB, opts []Option) {
	t.Helper()
	cfg := controlplane.Config{
		DataDir:      c.dataDir,
		Listen:       "127.0.0.1:0",
		NoFsync:      true,
		FastElection: true,
		// Tests see namespaces emptied at once instead of after 5 s.
		NamespaceDeletionDelay: -1,
		Agent:                  controlplane.AgentConfig{Disabled: true}, // WithAgent runs one
		Log:                    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := controlplane.New(cfg)
	if err != nil {
		t.Fatalf("configuring batchd: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.srv, c.cancel, c.done = srv, cancel, make(chan error, 1)
	go func() { c.done <- srv.Run(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-c.done:
		cancel()
		c.cancel = nil
		t.Fatalf("batchd stopped before it was ready: %v", err)
	case <-time.After(startTimeout):
		cancel()
		t.Fatalf("batchd not ready after %v", startTimeout)
	}
	c.config = srv.AdminConfig()
	if c.client, err = kubernetes.NewForConfig(c.config); err != nil {
		t.Fatalf("building client: %v", err)
	}
}

// Stop shuts the server down and waits for it; safe to call twice.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if c.cancel == nil {
		return
	}
	c.cancel()
	c.cancel = nil
	if err := <-c.done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("batchd stopped with an error: %v", err)
	}
}

// Restart stops the server and starts a new one on the same data directory.
func (c *Cluster) Restart(t testing.TB, opts ...Option) {
	t.Helper()
	c.Stop(t)
	c.start(t, opts)
}

// Client returns an admin clientset (JSON, client-go defaults otherwise).
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Config returns a fresh copy of the admin client configuration.
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.config) }

// Kubeconfig is the admin kubeconfig file the server wrote.
func (c *Cluster) Kubeconfig() string { return c.srv.KubeconfigPath() }

// DataDir is the server's data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// Compact compacts etcd's history up to the current revision, so watches
// and lists at older resourceVersions get 410 Expired. It returns the
// revision compacted to.
func (c *Cluster) Compact(t testing.TB) int64 {
	t.Helper()
	client := c.srv.EtcdClient()
	resp, err := client.Get(t.Context(), "compact-probe")
	if err != nil {
		t.Fatalf("reading etcd revision: %v", err)
	}
	rev := resp.Header.Revision
	if _, err := client.Compact(t.Context(), rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compacting etcd to %d: %v", rev, err)
	}
	return rev
}

// WithoutProfiling turns off /debug/pprof (batchd server --profiling=false).
func WithoutProfiling() Option {
	return func(c *controlplane.Config) { c.NoProfiling = true }
}
