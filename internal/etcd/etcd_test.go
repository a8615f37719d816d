package etcd

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// testLog writes to the test's output.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// testConfig is an embedded member that starts fast and skips fsync.
func testConfig(t *testing.T, dir string) Config {
	return Config{DataDir: dir, NoFsync: true, FastElection: true, Log: testLog(t)}
}

// mustOpen opens cfg and closes the cluster when the test ends.
func mustOpen(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close() error = %v", err)
		}
	})
	return c
}

func mustPut(t *testing.T, c *clientv3.Client, key, value string) {
	t.Helper()
	if _, err := c.Put(t.Context(), key, value); err != nil {
		t.Fatalf("Put(%q) error = %v", key, err)
	}
}

// get returns the value of key, or "" if it does not exist.
func get(t *testing.T, c *clientv3.Client, key string) string {
	t.Helper()
	resp, err := c.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q) error = %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

func TestEmbeddedReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // Open must tighten it
		t.Fatal(err)
	}
	cfg := testConfig(t, dir)

	start := time.Now()
	c, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Logf("embedded etcd open to ready (new member): %v", time.Since(start))
	if fi, err := os.Stat(dir); err != nil {
		t.Errorf("Stat(DataDir) error = %v", err)
	} else if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("DataDir mode after Open = %v, want 0700", got)
	}
	if got := c.ClientURLs(); got != nil {
		t.Errorf("ClientURLs() without a listener = %v, want nil", got)
	}
	mustPut(t, c.Client(), "/k", "v1")
	if got, want := get(t, c.Client(), "/k"), "v1"; got != want {
		t.Errorf("Get(/k) = %q, want %q", got, want)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close() error = %v", err)
	}

	start = time.Now()
	c = mustOpen(t, cfg)
	t.Logf("embedded etcd open to ready (existing member): %v", time.Since(start))
	if got, want := get(t, c.Client(), "/k"), "v1"; got != want {
		t.Errorf("after reopen Get(/k) = %q, want %q", got, want)
	}
}

func TestExternalSeesEmbeddedWrites(t *testing.T) {
	tests := []struct {
		name   string
		listen func(dir string) string
		scheme string
	}{
		{
			name:   "tcp on a free port",
			listen: func(string) string { return "http://127.0.0.1:0" },
			scheme: "http://127.0.0.1:",
		},
		{
			name:   "unix socket",
			listen: func(dir string) string { return "unix://" + filepath.Join(dir, "etcd.sock") },
			scheme: "unix:///",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, filepath.Join(dir, "etcd"))
			cfg.ListenClientURL = tt.listen(dir)
			member := mustOpen(t, cfg)

			urls := member.ClientURLs()
			if len(urls) != 1 || !strings.HasPrefix(urls[0], tt.scheme) || strings.HasSuffix(urls[0], ":0") {
				t.Fatalf("ClientURLs() = %v, want one resolved URL starting with %q", urls, tt.scheme)
			}

			external := mustOpen(t, Config{Endpoints: urls, Log: cfg.Log})
			if diff := cmp.Diff(urls, external.ClientURLs()); diff != "" {
				t.Errorf("external ClientURLs() mismatch (-want +got):\n%s", diff)
			}

			mustPut(t, external.Client(), "/from-external", "a")
			if got, want := get(t, member.Client(), "/from-external"), "a"; got != want {
				t.Errorf("embedded Get(/from-external) = %q, want %q", got, want)
			}
			mustPut(t, member.Client(), "/from-embedded", "b")
			if got, want := get(t, external.Client(), "/from-embedded"), "b"; got != want {
				t.Errorf("external Get(/from-embedded) = %q, want %q", got, want)
			}
		})
	}
}

func TestOpenFailsWithinDeadline(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     func(t *testing.T) context.Context
		cfg     func(t *testing.T) Config
		wantErr string
	}{
		{
			name: "unreachable external endpoint",
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				t.Cleanup(cancel)
				return ctx
			},
			cfg: func(t *testing.T) Config {
				return Config{Endpoints: []string{"http://127.0.0.1:1"}, Log: testLog(t)}
			},
			wantErr: "connecting to etcd at http://127.0.0.1:1: context deadline exceeded",
		},
		{
			name: "embedded with cancelled context",
			ctx:  func(*testing.T) context.Context { return cancelled },
			cfg: func(t *testing.T) Config {
				return testConfig(t, t.TempDir())
			},
			wantErr: "context canceled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx(t)
			c, err := Open(ctx, tt.cfg(t))
			if err == nil {
				c.Close()
				t.Fatalf("Open() succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open() error = %q, want it to contain %q", err, tt.wantErr)
			}
			if deadline, ok := ctx.Deadline(); ok && time.Now().After(deadline.Add(time.Second)) {
				t.Errorf("Open() returned %v after its deadline", time.Since(deadline))
			}
		})
	}
}

// TestSecondMemberOnSameDataDir checks that a second embedded member on a
// directory that is already open fails at once instead of waiting forever
// for bbolt's file lock.
func TestSecondMemberOnSameDataDir(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	mustOpen(t, cfg)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := Open(ctx, cfg)
	if err == nil {
		c.Close()
		t.Fatal("second Open() on the same DataDir succeeded, want error")
	}
	if want := "is in use by another etcd member"; !strings.Contains(err.Error(), want) {
		t.Errorf("second Open() error = %q, want it to contain %q", err, want)
	}
	if ctx.Err() != nil {
		t.Errorf("second Open() waited for its deadline; want an immediate error")
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{
			name:    "neither DataDir nor Endpoints",
			cfg:     Config{},
			wantErr: "either DataDir or Endpoints is required",
		},
		{
			name:    "listener with external endpoints",
			cfg:     Config{Endpoints: []string{"http://127.0.0.1:2379"}, ListenClientURL: "http://127.0.0.1:0"},
			wantErr: "ListenClientURL applies to an embedded member only",
		},
		{
			name:    "TLS for embedded member",
			cfg:     Config{DataDir: "/x", TLS: TLS{CAFile: "ca.crt"}},
			wantErr: "TLS applies to external Endpoints only",
		},
		{
			name:    "client cert without key",
			cfg:     Config{Endpoints: []string{"https://etcd:2379"}, TLS: TLS{CertFile: "c.crt"}},
			wantErr: "must be set together",
		},
		{
			name:    "https listener",
			cfg:     Config{DataDir: "/x", ListenClientURL: "https://127.0.0.1:0"},
			wantErr: "scheme must be http or unix",
		},
		{
			name:    "listener without port",
			cfg:     Config{DataDir: "/x", ListenClientURL: "http://127.0.0.1"},
			wantErr: "has no port",
		},
		{
			name:    "negative retention",
			cfg:     Config{DataDir: "/x", CompactionRetention: -time.Second},
			wantErr: "CompactionRetention -1s is negative",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("validate() error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// recordHandler keeps every record at info level and above, as a default
// handler would print them.
type recordHandler struct {
	mu      sync.Mutex
	records []string // "LEVEL message"
}

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *recordHandler) WithGroup(string) slog.Handler                { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Level.String()+" "+r.Message)
	return nil
}

// TestEmbeddedIsQuiet checks that a clean open, write and close logs only
// our own line, and none of etcd's start-up and shutdown chatter.
func TestEmbeddedIsQuiet(t *testing.T) {
	tests := []struct {
		name   string
		listen string
	}{
		{name: "no listener"},
		{name: "tcp listener", listen: "http://127.0.0.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &recordHandler{}
			cfg := testConfig(t, t.TempDir())
			cfg.ListenClientURL = tt.listen
			cfg.Log = slog.New(h)
			c, err := Open(t.Context(), cfg)
			if err != nil {
				t.Fatalf("Open() error = %v", err)
			}
			mustPut(t, c.Client(), "/k", "v")
			if err := c.Close(); err != nil {
				t.Fatalf("Close() error = %v", err)
			}

			// Warnings about a slow disk or an overloaded machine may
			// come and go; the chatter of a healthy member must not.
			noise := []string{
				"Running http and grpc server on single port. This is not recommended for production.",
				"simple token is not cryptographically signed",
				"Failed to detect schema version",
				"failed to update storage version",
				"setting up serving from embedded etcd failed.",
				"stopping insecure grpc server due to error",
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			var ours int
			for _, r := range h.records {
				level, msg, _ := strings.Cut(r, " ")
				switch {
				case r == "INFO Embedded etcd ready":
					ours++
				case level == "INFO" || level == "DEBUG":
					t.Errorf("logged %q; want no info records from etcd", r)
				case slices.Contains(noise, msg):
					t.Errorf("logged %q; want known noise at debug level", r)
				default:
					t.Logf("etcd warning (allowed): %s", r)
				}
			}
			if ours != 1 {
				t.Errorf("logged %q %d times, want once", "Embedded etcd ready", ours)
			}
		})
	}
}

func TestClientTLS(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		tls       TLS
		endpoints []string
		wantTLS   bool
		wantErr   string
	}{
		{name: "plain", endpoints: []string{"http://127.0.0.1:2379"}},
		{name: "https endpoint uses system roots", endpoints: []string{"https://etcd:2379"}, wantTLS: true},
		{name: "missing CA file", tls: TLS{CAFile: filepath.Join(dir, "absent.pem")}, wantErr: "reading etcd CA file"},
		{name: "CA file without certificates", tls: TLS{CAFile: notPEM}, wantErr: "no PEM certificates found"},
		{name: "bad client key pair", tls: TLS{CertFile: notPEM, KeyFile: notPEM}, wantErr: "loading etcd client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := clientTLS(tt.tls, tt.endpoints)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("clientTLS() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("clientTLS() error = %v", err)
			}
			if (got != nil) != tt.wantTLS {
				t.Errorf("clientTLS() = %v, want TLS config: %v", got, tt.wantTLS)
			}
		})
	}
}
