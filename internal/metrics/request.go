package metrics

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RequestInfo is what the API server knows about a request, for the
// request metrics' labels. The API server's classify function fills it in.
type RequestInfo struct {
	// Verb is the Kubernetes verb (get, list, watch, create, update, patch,
	// delete, deletecollection, connect) or an upstream reported verb (GET,
	// LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE, DELETECOLLECTION,
	// CONNECT). Empty means the HTTP method.
	Verb                                  string
	Group, Version, Resource, Subresource string
	// Scope is "resource" (a named object), "namespace", "cluster", or ""
	// for non-resource requests, as upstream.
	Scope string
	// Component is "apiserver" when empty.
	Component string
}

// Upstream's label values for the request metrics.
const (
	componentAPIServer = "apiserver"
	dryRunAll          = "All"
	dryRunInvalid      = "invalid"
	applyPatchType     = "application/apply-patch+yaml"
)

// requestDurationBuckets are kube-apiserver's for
// apiserver_request_duration_seconds.
var requestDurationBuckets = []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3,
	4, 5, 6, 8, 10, 15, 20, 30, 45, 60}

// RequestMetrics records kube-apiserver's apiserver_request_total and
// apiserver_request_duration_seconds, with upstream's names, labels and
// buckets.
type RequestMetrics struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRequestMetrics creates the request metrics and registers them in reg.
func NewRequestMetrics(reg prometheus.Registerer) (*RequestMetrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: a Registerer is required")
	}
	m := &RequestMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
		}, []string{"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
			Buckets: requestDurationBuckets,
		}, []string{"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component"}),
	}
	for _, c := range []prometheus.Collector{m.total, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering request metrics: %w", err)
		}
	}
	return m, nil
}

// Wrap returns h instrumented: each request is counted and timed once h
// returns (for a watch, when it ends). classify labels the request from its
// method, URL and headers, as upstream's RequestInfoFactory does; it sees
// the request Wrap received, not contexts h derived from it. A nil classify
// labels by HTTP method only. The response writer passed to h still
// supports http.Flusher, http.Hijacker and http.ResponseController.
func (m *RequestMetrics) Wrap(h http.Handler, classify func(*http.Request) RequestInfo) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			var info RequestInfo
			if classify != nil {
				info = classify(r)
			}
			m.observe(r, info, rec.status(), time.Since(start))
		}()
		h.ServeHTTP(rec, r)
	})
}

func (m *RequestMetrics) observe(r *http.Request, info RequestInfo, code int, elapsed time.Duration) {
	verb := reportedVerb(r, info.Verb)
	dryRun := cleanDryRun(r)
	component := info.Component
	if component == "" {
		component = componentAPIServer
	}
	m.total.WithLabelValues(verb, dryRun, info.Group, info.Version, info.Resource, info.Subresource,
		info.Scope, component, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(verb, dryRun, info.Group, info.Version, info.Resource, info.Subresource,
		info.Scope, component).Observe(elapsed.Seconds())
}

// reportedVerb maps a verb to the one upstream reports: uppercase, a server
// side apply PATCH as APPLY, the legacy WATCHLIST as WATCH.
func reportedVerb(r *http.Request, verb string) string {
	switch strings.ToLower(verb) {
	case "":
		verb = r.Method
	case "create":
		verb = http.MethodPost
	case "update":
		verb = http.MethodPut
	case "watchlist":
		verb = "WATCH"
	}
	verb = strings.ToUpper(verb)
	if verb == http.MethodPatch && r.Header.Get("Content-Type") == applyPatchType {
		verb = "APPLY"
	}
	return verb
}

// cleanDryRun is upstream's dry_run label: the sorted, deduplicated dryRun
// query values, or "invalid" when one is not "All".
func cleanDryRun(r *http.Request) string {
	if !strings.Contains(r.URL.RawQuery, "dryRun") {
		return ""
	}
	values := r.URL.Query()["dryRun"]
	for _, v := range values {
		if v != dryRunAll {
			return dryRunInvalid
		}
	}
	return strings.Join(slices.Compact(slices.Sorted(slices.Values(values))), ",")
}

// statusRecorder remembers the response code and passes flushes, hijacks
// and Unwrap (for http.ResponseController) through.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("metrics: response writer does not support hijacking")
	}
	if s.code == 0 {
		s.code = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
