package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/apiserver"
	"github.com/batchd/batchd/internal/authn"
	"github.com/batchd/batchd/internal/datadir"
	"github.com/batchd/batchd/internal/etcd"
	"github.com/batchd/batchd/internal/kubeconfig"
	"github.com/batchd/batchd/internal/loopback"
	"github.com/batchd/batchd/internal/metrics"
	"github.com/batchd/batchd/internal/pki"
	"github.com/batchd/batchd/internal/registry"
	"github.com/batchd/batchd/internal/storage"
	"github.com/batchd/batchd/internal/version"
)

// Config configures a control plane. The zero value plus a DataDir is a
// working single-machine server on 127.0.0.1:6443.
type Config struct {
	// DataDir holds etcd's data, the PKI, the admin token and kubeconfig.
	DataDir string
	// EtcdEndpoints selects an external etcd cluster; empty embeds one.
	EtcdEndpoints []string
	EtcdTLS       etcd.TLS
	// Listen is the HTTPS address; ":0" or "127.0.0.1:0" picks a port.
	// Empty means DefaultListen.
	Listen string
	// Hosts are extra names or IPs the serving certificate must cover.
	Hosts []string
	// NoFsync and FastElection tune the embedded etcd for tests (see
	// package etcd).
	NoFsync      bool
	FastElection bool
	// MinWatchTimeout bounds watches without timeoutSeconds (0: 30 min).
	MinWatchTimeout time.Duration
	// NoProfiling turns off Go's runtime profiles at /debug/pprof/
	// (kube-apiserver's --profiling=false).
	NoProfiling bool
	// NamespaceDeletionDelay is how long the namespace controller waits
	// after a namespace's deletion before emptying it (0: upstream's 5 s;
	// negative: no wait, for tests).
	NamespaceDeletionDelay time.Duration
	// BookmarkInterval is how often watches that allow bookmarks get one
	// (0: etcd.DefaultProgressNotifyInterval, one minute). When a resource
	// is idle they come from etcd's progress notifications, which only
	// the embedded etcd is told this interval for.
	BookmarkInterval time.Duration
	// WatchCacheCapacity is how many recent changes of each resource the
	// watch cache keeps (0: storage.DefaultCacheCapacity). Watches from
	// older revisions read etcd's history.
	WatchCacheCapacity int
	// EventTTL is how long an event is kept after its last update
	// (0: DefaultEventTTL, upstream's one hour).
	EventTTL time.Duration
	Log      *slog.Logger
	// JobController tunes the Job controller for tests (zero: upstream).
	JobController JobControllerConfig
	// Scheduler tunes the scheduler for tests (zero: it runs).
	Scheduler SchedulerConfig
	// Timed tunes the CronJob and TTL-after-finished controllers for tests
	// (zero: upstream).
	Timed TimedControllersConfig
	// Agent configures the in-process node agent (zero: it runs).
	Agent AgentConfig
	// TokenClock is the clock service account tokens are issued and
	// checked with, for tests (a k8s.io/utils/clock/testing fake steps a
	// token past its expiry); nil: the real clock.
	TokenClock clock.PassiveClock
}

// DefaultListen is where a server listens unless told otherwise: loopback
// only, so a laptop's API is not on the network by accident.
const DefaultListen = "127.0.0.1:6443"

// DefaultEventTTL is upstream's --event-ttl default.
const DefaultEventTTL = time.Hour

// shutdownGrace is how long a stopping server lets requests finish.
const shutdownGrace = 5 * time.Second

// Server is one control-plane process.
type Server struct {
	cfg   Config
	log   *slog.Logger
	ready chan struct{}

	mu         sync.Mutex
	restConfig *rest.Config
	kubeconfig string
	etcd       *clientv3.Client
	// shared are the controllers' informers the in-process agent watches
	// through; set before ready is closed.
	shared *agent.SharedInformers
}

// New validates cfg; it starts nothing.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("controlplane: DataDir is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.EventTTL == 0 {
		cfg.EventTTL = DefaultEventTTL
	}
	return &Server{cfg: cfg, log: cfg.Log, ready: make(chan struct{})}, nil
}

// Ready is closed once the API serves requests, the system namespaces
// exist and the controllers have synced.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// AdminConfig returns a client configuration with admin credentials. It is
// valid once Ready is closed.
func (s *Server) AdminConfig() *rest.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restConfig == nil {
		return nil
	}
	return rest.CopyConfig(s.restConfig)
}

// EtcdClient returns the client of the server's etcd, for diagnostics and
// tests (compaction, inspecting keys). It is valid once Ready is closed and
// until Run returns.
func (s *Server) EtcdClient() *clientv3.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etcd
}

// KubeconfigPath is the admin kubeconfig written at start.
func (s *Server) KubeconfigPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kubeconfig
}

// Run serves until ctx is done, then shuts everything down in reverse
// order. It returns the first error of any component. A stop is not an
// error, even in the middle of the start (a SIGTERM in the first second):
// when all that failed did so because ctx ended, Run logs it and returns
// nil; a failure of its own, a close's included, is still returned.
func (s *Server) Run(ctx context.Context) (err error) {
	defer func() {
		if err != nil && onlyStopped(ctx, err) {
			s.log.Info("Stopped while starting", "err", err)
			err = nil
		}
	}()
	start := time.Now()
	dir, err := datadir.Open(s.cfg.DataDir)
	if err != nil {
		return err
	}
	defer closeAndJoin(&err, "releasing data directory", dir.Close)

	cluster, err := etcd.Open(ctx, etcd.Config{
		DataDir:      dir.EtcdDir(),
		Endpoints:    s.cfg.EtcdEndpoints,
		TLS:          s.cfg.EtcdTLS,
		NoFsync:      s.cfg.NoFsync,
		FastElection: s.cfg.FastElection,
		Log:          s.log.With("component", "etcd"),

		ProgressNotifyInterval: s.cfg.BookmarkInterval,
	})
	if err != nil {
		return fmt.Errorf("opening etcd: %w", err)
	}
	defer closeAndJoin(&err, "closing etcd", cluster.Close)

	certs, err := pki.Ensure(dir.PKIDir(), s.cfg.Hosts)
	if err != nil {
		return fmt.Errorf("preparing certificates: %w", err)
	}
	adminToken, err := authn.LoadOrCreateToken(filepath.Join(dir.Path(), "admin.token"))
	if err != nil {
		return err
	}
	agentToken, err := loadAgentToken(dir.Path())
	if err != nil {
		return err
	}
	loopbackToken, err := authn.NewToken()
	if err != nil {
		return err
	}
	tokens := authn.NewTokens(map[string]authn.User{
		adminToken:    {Name: authn.AdminName, Groups: []string{authn.GroupMasters, authn.GroupAuthed}},
		loopbackToken: {Name: authn.LoopbackName, Groups: []string{authn.GroupMasters, authn.GroupAuthed}},
		agentToken:    agentUser,
	})

	stores, err := buildStores(cluster.Client(), s.cfg.EventTTL, s.log)
	if err != nil {
		return err
	}
	// Service account tokens: issued by TokenRequest, checked against
	// storage on use. batchd has no authorizer: service accounts, like
	// every authenticated user, get full access.
	saTokens, err := authn.NewServiceAccounts(authn.ServiceAccountsConfig{
		Key:     certs.ServiceAccountKey,
		Objects: newStoreObjects(stores.list),
		Clock:   s.cfg.TokenClock,
		Log:     s.log.With("component", "authn"),
	})
	if err != nil {
		return err
	}
	reg := metrics.NewRegistry()
	requests, err := metrics.NewRequestMetrics(reg)
	if err != nil {
		return err
	}
	api, err := apiserver.New(apiserver.Config{
		Scheme:          stores.scheme,
		Stores:          stores.list,
		Authenticator:   authn.Union{tokens, saTokens},
		Version:         version.Info(),
		Log:             s.log.With("component", "apiserver"),
		MinWatchTimeout: s.cfg.MinWatchTimeout,
		Profiling:       !s.cfg.NoProfiling,
		NodeToken:       agentToken,

		ServiceAccountTokens: saTokens,
		// Ours and etcd's (which registers in the default registry).
		Metrics: metrics.Handler(prometheus.Gatherers{reg, prometheus.DefaultGatherer}),
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.Listen, err)
	}
	url := "https://" + clientAddress(ln.Addr())
	httpServer := &http.Server{
		Handler:           requests.Wrap(api, apiserver.ClassifyRequest),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{certs.Serving}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}

	// In-process clients (controllers, scheduler, the local agent) call the
	// same handler in memory: no TLS, HTTP/2 framing or socket per request.
	inproc := loopback.NewTransport(httpServer.Handler)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(runCtx)
	// One etcd watch per resource serves every API watch of it.
	cacheLog := s.log.With("component", "watchcache")
	for _, st := range stores.storage {
		g.Go(func() error {
			st.RunCache(gctx, storage.CacheConfig{Capacity: s.cfg.WatchCacheCapacity, BookmarkInterval: s.cfg.BookmarkInterval, Log: cacheLog})
			return nil
		})
	}
	g.Go(func() error {
		if err := httpServer.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving HTTPS: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		drainCtx, done := context.WithTimeout(context.WithoutCancel(gctx), shutdownGrace)
		defer done()
		if err := api.Drain(drainCtx); err != nil {
			s.log.Warn("Closing the API with requests in flight", "err", err)
		}
		if err := inproc.Close(drainCtx); err != nil {
			s.log.Warn("Closing the in-process API connection with requests in flight", "err", err)
		}
		return httpServer.Close()
	})

	loopbackConfig := &rest.Config{
		Host:          url,
		BearerToken:   loopbackToken,
		Transport:     inproc,
		QPS:           -1, // in-process clients are limited by the store, not a token bucket
		ContentConfig: rest.ContentConfig{ContentType: "application/vnd.kubernetes.protobuf"},
		UserAgent:     "batchd/" + version.Version(),
	}
	admin := &rest.Config{
		Host:            url,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: certs.CACertPEM},
	}
	kubeconfigPath := dir.KubeconfigPath()
	if err := kubeconfig.Write(kubeconfigPath, kubeconfig.Config{Server: url, CAData: certs.CACertPEM, Token: adminToken}); err != nil {
		cancel()
		return errors.Join(err, g.Wait())
	}
	s.mu.Lock()
	s.restConfig, s.kubeconfig, s.etcd = admin, kubeconfigPath, cluster.Client()
	s.mu.Unlock()

	g.Go(func() error {
		ctrl, err := newControllers(loopbackConfig, s.cfg, reg, s.log)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.shared = ctrl.shared()
		s.mu.Unlock()
		if err := bootstrap(gctx, ctrl.client); err != nil {
			return err
		}
		return ctrl.run(gctx, func() {
			s.log.Info("batchd server ready", "url", url, "kubeconfig", kubeconfigPath, "elapsed", time.Since(start).Round(time.Millisecond))
			close(s.ready)
		})
	})
	g.Go(func() error { return s.runAgent(gctx, dir.Path(), url, inproc, certs.CACertPEM, agentToken) })
	return g.Wait()
}

// storeObjects answers the service account authenticator's lookups from
// storage (the API server's own stores), so a token stops authenticating
// once its service account's or pod's deletion is stored (give or take
// authn.DefaultTokenCacheTTL).
type storeObjects map[string]*registry.Store

func newStoreObjects(stores []*registry.Store) storeObjects {
	out := storeObjects{}
	for _, st := range stores {
		if res := st.Resource(); res.GroupVersion == corev1.SchemeGroupVersion {
			switch res.Name {
			case authn.ResourceServiceAccounts, authn.ResourcePods, authn.ResourceSecrets:
				out[res.Name] = st
			}
		}
	}
	return out
}

// Get implements authn.Objects.
func (o storeObjects) Get(ctx context.Context, resource, namespace, name string) (authn.Object, error) {
	st := o[resource]
	if st == nil {
		return authn.Object{}, fmt.Errorf("no %s resource", resource)
	}
	obj, err := st.Get(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return authn.Object{}, authn.ErrNotFound
	}
	if err != nil {
		return authn.Object{}, err
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return authn.Object{}, err
	}
	out := authn.Object{UID: string(acc.GetUID())}
	if dt := acc.GetDeletionTimestamp(); dt != nil {
		out.Deleted = dt.Time
	}
	return out, nil
}

// clientAddress turns a listen address into one clients can dial: a
// wildcard host becomes loopback.
func clientAddress(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// onlyStopped reports whether err is nothing but ctx's end: ctx is done,
// and every error joined in err is, or wraps, ctx's error or its cause.
func onlyStopped(ctx context.Context, err error) bool {
	if ctx.Err() == nil || err == nil {
		return false
	}
	return onlyStoppedBy(err, ctx.Err(), context.Cause(ctx))
}

func onlyStoppedBy(err error, ends ...error) bool {
	for _, end := range ends {
		if err == end {
			return true
		}
		if is, ok := err.(interface{ Is(error) bool }); ok && is.Is(end) {
			return true
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		joined := u.Unwrap() // not to be modified: errors.Join hands out its own
		return len(joined) > 0 && !slices.ContainsFunc(joined, func(e error) bool { return e == nil || !onlyStoppedBy(e, ends...) })
	case interface{ Unwrap() error }:
		next := u.Unwrap()
		return next != nil && onlyStoppedBy(next, ends...)
	}
	return false
}

// closeAndJoin runs a deferred close and adds its error to *err.
func closeAndJoin(err *error, what string, close func() error) {
	if cerr := close(); cerr != nil {
		*err = errors.Join(*err, fmt.Errorf("%s: %w", what, cerr))
	}
}
