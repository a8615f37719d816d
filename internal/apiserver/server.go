package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/version"

	"github.com/batchd/batchd/internal/authn"
	"github.com/batchd/batchd/internal/openapi"
	"github.com/batchd/batchd/internal/registry"
)

// Authenticator tells who sent a request.
type Authenticator interface {
	Authenticate(r *http.Request) (authn.User, bool)
}

// Config wires a Server.
type Config struct {
	Scheme        *runtime.Scheme
	Stores        []*registry.Store
	Authenticator Authenticator
	Version       version.Info
	Log           *slog.Logger
	// MinWatchTimeout is the shortest a watch without timeoutSeconds stays
	// open; each such watch gets a random duration between it and twice it
	// (upstream: 30 to 60 minutes). 0 means 30 minutes.
	MinWatchTimeout time.Duration
	// Metrics serves GET /metrics (administrators only); nil: 404.
	Metrics http.Handler
	// Profiling serves Go's runtime profiles under /debug/pprof/
	// (administrators only), as kube-apiserver's --profiling does.
	Profiling bool
	// NodeToken is the bearer token pods/log presents to node agents.
	NodeToken string
	// ServiceAccountTokens, if set, serves serviceaccounts/token
	// (TokenRequest); nil: the subresource does not exist.
	ServiceAccountTokens TokenIssuer
}

// Server serves the Kubernetes API. It is an http.Handler.
type Server struct {
	codecs    serializer.CodecFactory
	scheme    *runtime.Scheme
	stores    map[schema.GroupVersionResource]*registry.Store
	groups    []apiGroup
	authn     Authenticator
	version   version.Info
	log       *slog.Logger
	minWatch  time.Duration
	nodeToken string
	tokens    TokenIssuer
	discovery discoveryDocs
	openapi   *openapi.Documents
	// fieldManagers maintain managedFields and merge server-side applies.
	fieldManagers fieldManagers
	paramCodec    runtime.ParameterCodec

	metrics          http.Handler
	profiling        bool
	closeWatches     chan struct{}
	closeWatchesOnce sync.Once
	inflight         atomic.Int64
}

// drainPoll is how often Drain checks for requests still being served.
const drainPoll = 2 * time.Millisecond

// Drain ends every open watch stream (and makes new ones end at once), then
// waits until no request is being served or ctx ends. Call it before
// closing the HTTP server: watches never end by themselves, and HTTP/2's
// graceful shutdown would add a second per connection.
func (s *Server) Drain(ctx context.Context) error {
	s.closeWatchesOnce.Do(func() { close(s.closeWatches) })
	for s.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d requests: %w", s.inflight.Load(), ctx.Err())
		case <-time.After(drainPoll):
		}
	}
	return nil
}

// New builds a Server; it starts nothing.
func New(cfg Config) (*Server, error) {
	if cfg.Scheme == nil || cfg.Authenticator == nil || len(cfg.Stores) == 0 {
		return nil, errors.New("apiserver: Scheme, Authenticator and Stores are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MinWatchTimeout == 0 {
		cfg.MinWatchTimeout = 30 * time.Minute
	}
	s := &Server{
		codecs:     serializer.NewCodecFactory(cfg.Scheme, serializer.EnableStrict),
		scheme:     cfg.Scheme,
		stores:     map[schema.GroupVersionResource]*registry.Store{},
		authn:      cfg.Authenticator,
		version:    cfg.Version,
		log:        cfg.Log,
		minWatch:   cfg.MinWatchTimeout,
		nodeToken:  cfg.NodeToken,
		tokens:     cfg.ServiceAccountTokens,
		paramCodec: runtime.NewParameterCodec(cfg.Scheme),

		closeWatches: make(chan struct{}),
		metrics:      cfg.Metrics,
		profiling:    cfg.Profiling,
	}
	for _, st := range cfg.Stores {
		gvr := st.Resource().GroupVersionResource()
		if _, dup := s.stores[gvr]; dup {
			return nil, errors.New("apiserver: resource " + gvr.String() + " registered twice")
		}
		s.stores[gvr] = st
	}
	if s.tokens != nil {
		for _, r := range tokenStores {
			if s.coreStore(r) == nil {
				return nil, errors.New("apiserver: ServiceAccountTokens needs the " + r + " resource")
			}
		}
	}
	resources := servedResources(cfg.Stores, s.tokens != nil)
	s.groups = groupsOf(resources)
	var err error
	if s.discovery, err = buildDiscovery(s.groups); err != nil {
		return nil, err
	}
	returnsObject := map[string]bool{}
	for _, st := range cfg.Stores {
		returnsObject[st.Resource().GroupVersionResource().String()] = st.Resource().ReturnDeletedObject
	}
	if s.openapi, err = buildOpenAPI(resources, returnsObject); err != nil {
		return nil, err
	}
	if s.fieldManagers, err = newFieldManagers(cfg.Scheme, cfg.Stores, s.openapi.Schemas()); err != nil {
		return nil, err
	}
	return s, nil
}

// publicPaths are served without credentials, as upstream serves them to
// system:unauthenticated.
var publicPaths = map[string]bool{"/version": true, "/healthz": true, "/livez": true, "/readyz": true}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("Panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
			s.writeError(w, r, apierrors.NewInternalError(errors.New("internal server error")))
		}
	}()
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == "" {
		path = "/"
	}
	user, authenticated := s.authn.Authenticate(r)
	if !authenticated && !publicPaths[path] {
		s.writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
		return
	}
	switch {
	case path == "/version":
		s.writeJSON(w, http.StatusOK, s.version)
	case path == "/healthz" || path == "/livez" || path == "/readyz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok"))
	case path == "/metrics" && s.metrics != nil:
		s.serveMetrics(w, r, user)
	case strings.HasPrefix(path, "/openapi/"):
		s.openapi.ServeHTTP(w, r)
	case path == debugPrefix || strings.HasPrefix(path, debugPrefix+"/"):
		s.serveDebug(w, r, path, user)
	case path == "/api" || path == "/apis":
		s.serveDiscoveryRoot(w, r, path)
	case strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/apis/"):
		s.serveAPI(w, r, path, user)
	default:
		s.writeError(w, r, errPathNotFound())
	}
}
