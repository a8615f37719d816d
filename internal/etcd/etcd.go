package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// Defaults for the zero values of Config.
const (
	// DefaultCompactionRetention is how much revision history periodic
	// auto-compaction keeps. It bounds how old a resourceVersion a watch
	// can resume from before it gets 410 Gone.
	DefaultCompactionRetention = 5 * time.Minute
	// DefaultQuotaBackendBytes is the size at which etcd raises a NOSPACE
	// alarm and stops accepting writes. It is etcd's own default, set
	// explicitly so that it does not change under us.
	DefaultQuotaBackendBytes = 2 << 30

	// DefaultProgressNotifyInterval matches how often upstream's watch
	// cache sends bookmarks (about once a minute), not etcd's 10 minutes.
	DefaultProgressNotifyInterval = time.Minute
)

// TLS names the files of a client TLS identity for an external cluster.
// All fields empty means plain connections, unless an endpoint uses https,
// in which case the server is verified against the system roots.
type TLS struct {
	CertFile string // client certificate (PEM); needs KeyFile
	KeyFile  string // client private key (PEM); needs CertFile
	CAFile   string // CA bundle (PEM) to verify the servers; empty = system roots
}

func (t TLS) empty() bool { return t == TLS{} }

// Config says where batchd's etcd is. Its zero value is not valid: set
// either DataDir (embedded member) or Endpoints (external cluster).
type Config struct {
	// DataDir is the embedded member's directory. It is created with mode
	// 0700 if missing. Unused when Endpoints is set.
	DataDir string

	// Endpoints are the client URLs of an external cluster. Empty means run
	// an embedded member in DataDir.
	Endpoints []string

	// TLS is the client identity for Endpoints. It must be empty for an
	// embedded member.
	TLS TLS

	// NoFsync turns off fsync in the embedded member (etcd's
	// UnsafeNoFsync). For tests only: a crash or power loss can lose
	// acknowledged writes or corrupt the data.
	NoFsync bool

	// FastElection makes the embedded member tick every 10 ms with a
	// 100 ms election timeout instead of 100 ms and 500 ms. Measured on a
	// 2-core box: ready in 25-100 ms instead of 0.2-0.6 s, but an idle
	// member then burns about 2 % of a core instead of 0.5 %. A single
	// member cannot lose an election, so it is safe either way: tests and
	// short-lived commands such as `batchd run` want it, a long-running
	// server does not.
	FastElection bool

	// ListenClientURL, if set, makes the embedded member also serve etcd's
	// client API (gRPC plus /health, /metrics, /version) on this URL, for
	// etcdctl debugging or for another process. Use "unix:///path/etcd.sock"
	// or "http://127.0.0.1:port"; port 0 picks a free port, which
	// ClientURLs reports (etcd's member list still shows port 0). Keep it
	// on loopback: it has no authentication.
	// Empty means no listener at all. Not allowed with Endpoints.
	ListenClientURL string

	// CompactionRetention is how much history periodic auto-compaction
	// keeps in the embedded member. 0 means DefaultCompactionRetention.
	CompactionRetention time.Duration

	// ProgressNotifyInterval is how often the embedded member tells idle
	// watches its current revision; the API turns these into watch
	// bookmarks. 0 means DefaultProgressNotifyInterval.
	ProgressNotifyInterval time.Duration

	// QuotaBackendBytes is the embedded member's backend size limit.
	// 0 means DefaultQuotaBackendBytes.
	QuotaBackendBytes int64

	// Log receives batchd's own messages and etcd's warnings and errors.
	// nil means slog.Default().
	Log *slog.Logger
}

// Cluster is an open connection to batchd's etcd: an embedded member and an
// in-process client, or a network client of an external cluster.
type Cluster struct {
	client *clientv3.Client
	member *embed.Etcd // nil for an external cluster
	urls   []string
	log    *etcdLog

	closeOnce sync.Once
	closeErr  error
}

// Open starts an embedded member in cfg.DataDir, or connects to
// cfg.Endpoints, and returns once it can serve requests: the member is
// ready (it has elected itself leader and published its attributes), or
// the external cluster answered a linearizable read. ctx bounds the whole
// wait; pass a deadline, because an unreachable external cluster is
// otherwise retried until ctx is done. If Open fails it closes whatever it
// had opened.
//
// Open refuses an embedded DataDir whose backend is locked by another etcd
// member, in this process or another; etcd itself would wait for that lock
// forever. etcd's start-up takes no context: if ctx ends while it runs,
// Open waits for the start to finish (normally milliseconds), closes the
// member and returns ctx's cause, so that nothing of the member uses the
// directory after Open failed; only if another member took the lock after
// the check does it give up after 30 s and leave a goroutine to close the
// member when the start finishes. Holding a datadir.Dir for the directory
// rules out the other member.
func Open(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("opening etcd: %w", err)
	}
	if len(cfg.Endpoints) > 0 {
		return openExternal(ctx, cfg)
	}
	return openEmbedded(ctx, cfg)
}

func (cfg Config) validate() error {
	if len(cfg.Endpoints) > 0 {
		if cfg.ListenClientURL != "" {
			return errors.New("etcd: ListenClientURL applies to an embedded member only, not with Endpoints")
		}
		if slices.Contains(cfg.Endpoints, "") {
			return errors.New("etcd: Endpoints contains an empty URL")
		}
		if (cfg.TLS.CertFile == "") != (cfg.TLS.KeyFile == "") {
			return errors.New("etcd: TLS.CertFile and TLS.KeyFile must be set together")
		}
	} else {
		if cfg.DataDir == "" {
			return errors.New("etcd: either DataDir or Endpoints is required")
		}
		if !cfg.TLS.empty() {
			return errors.New("etcd: TLS applies to external Endpoints only")
		}
		if cfg.ListenClientURL != "" {
			if _, err := listenURL(cfg.ListenClientURL); err != nil {
				return err
			}
		}
	}
	if cfg.CompactionRetention < 0 {
		return fmt.Errorf("etcd: CompactionRetention %v is negative", cfg.CompactionRetention)
	}
	if cfg.QuotaBackendBytes < 0 {
		return fmt.Errorf("etcd: QuotaBackendBytes %d is negative", cfg.QuotaBackendBytes)
	}
	return nil
}

func (cfg *Config) setDefaults() {
	if cfg.CompactionRetention == 0 {
		cfg.CompactionRetention = DefaultCompactionRetention
	}
	if cfg.QuotaBackendBytes == 0 {
		cfg.QuotaBackendBytes = DefaultQuotaBackendBytes
	}
	if cfg.ProgressNotifyInterval == 0 {
		cfg.ProgressNotifyInterval = DefaultProgressNotifyInterval
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
}

// listenURL parses and checks a ListenClientURL. Only plain schemes are
// served: the listener is for loopback debugging, not for remote clients.
func listenURL(s string) (url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return url.URL{}, fmt.Errorf("etcd: parsing ListenClientURL: %w", err)
	}
	switch u.Scheme {
	case "unix":
		if u.Host+u.Path == "" {
			return url.URL{}, fmt.Errorf("etcd: ListenClientURL %q has no socket path", s)
		}
	case "http":
		if u.Port() == "" {
			return url.URL{}, fmt.Errorf("etcd: ListenClientURL %q has no port (use :0 for any free port)", s)
		}
	default:
		return url.URL{}, fmt.Errorf("etcd: ListenClientURL %q: scheme must be http or unix", s)
	}
	return *u, nil
}

// Client returns the client for the cluster: in-process for an embedded
// member, over the network for an external cluster. It is owned by the
// Cluster; do not close it.
func (c *Cluster) Client() *clientv3.Client { return c.client }

// ClientURLs returns where other processes can reach the cluster: the
// embedded member's ListenClientURL with the port it really got, or the
// external Endpoints. It is nil for an embedded member without a listener.
func (c *Cluster) ClientURLs() []string { return slices.Clone(c.urls) }

// Close closes the client, then stops the embedded member, if any, which
// waits for in-flight requests (up to etcd's request timeout) and releases
// the data files. Close is safe to call more than once; later calls return
// the first call's result.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		c.log.beginClose()
		err := c.client.Close()
		if c.member != nil {
			// The in-process client has no connection, and its Close
			// always reports context.Canceled; there is nothing to report.
			err = nil
			c.member.Close()
		}
		if err != nil {
			c.closeErr = fmt.Errorf("closing etcd client: %w", err)
		}
	})
	return c.closeErr
}
