package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/batchd/batchd/internal/metrics"
)

func TestRequestMetrics(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		target  string
		header  http.Header
		info    metrics.RequestInfo
		code    int
		wantRow string // the apiserver_request_total sample
	}{
		{
			name: "create in a namespace", method: http.MethodPost, target: "/apis/batch/v1/namespaces/ns/jobs",
			info:    metrics.RequestInfo{Verb: "create", Group: "batch", Version: "v1", Resource: "jobs", Scope: "namespace"},
			code:    http.StatusCreated,
			wantRow: `apiserver_request_total{code="201",component="apiserver",dry_run="",group="batch",resource="jobs",scope="namespace",subresource="",verb="POST",version="v1"} 1`,
		},
		{
			name: "server-side apply is APPLY", method: http.MethodPatch, target: "/apis/batch/v1/namespaces/ns/jobs/a?fieldManager=me",
			header:  http.Header{"Content-Type": {"application/apply-patch+yaml"}},
			info:    metrics.RequestInfo{Verb: "patch", Group: "batch", Version: "v1", Resource: "jobs", Scope: "resource"},
			code:    http.StatusOK,
			wantRow: `apiserver_request_total{code="200",component="apiserver",dry_run="",group="batch",resource="jobs",scope="resource",subresource="",verb="APPLY",version="v1"} 1`,
		},
		{
			name: "dry-run status update", method: http.MethodPut, target: "/apis/batch/v1/namespaces/ns/jobs/a/status?dryRun=All&dryRun=All",
			info:    metrics.RequestInfo{Verb: "update", Group: "batch", Version: "v1", Resource: "jobs", Subresource: "status", Scope: "resource"},
			code:    http.StatusConflict,
			wantRow: `apiserver_request_total{code="409",component="apiserver",dry_run="All",group="batch",resource="jobs",scope="resource",subresource="status",verb="PUT",version="v1"} 1`,
		},
		{
			name: "watch of the core group", method: http.MethodGet, target: "/api/v1/pods?watch=true",
			info:    metrics.RequestInfo{Verb: "watch", Version: "v1", Resource: "pods", Scope: "cluster"},
			wantRow: `apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 1`,
		},
		{
			name: "unclassified request falls back to the method", method: http.MethodGet, target: "/healthz",
			code:    http.StatusOK,
			wantRow: `apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="",scope="",subresource="",verb="GET",version=""} 1`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m, err := metrics.NewRequestMetrics(reg)
			if err != nil {
				t.Fatalf("NewRequestMetrics: %v", err)
			}
			h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.code != 0 {
					w.WriteHeader(tt.code)
				}
				// Watches stream: the wrapped writer must still flush.
				if _, ok := w.(http.Flusher); !ok {
					t.Errorf("wrapped ResponseWriter is not an http.Flusher")
				}
				io.WriteString(w, "ok")
			}), func(*http.Request) metrics.RequestInfo { return tt.info })

			req := httptest.NewRequest(tt.method, tt.target, nil)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			h.ServeHTTP(httptest.NewRecorder(), req)

			got, err := reg.Gather()
			if err != nil {
				t.Fatalf("gathering: %v", err)
			}
			lines := exposition(t, got, []string{"apiserver_request_total", "apiserver_request_duration_seconds"})
			if !containsLine(lines, tt.wantRow) {
				t.Errorf("apiserver_request_total: no sample %s in\n%s", tt.wantRow, strings.Join(lines, "\n"))
			}
			count := strings.Replace(strings.Replace(tt.wantRow, "apiserver_request_total", "apiserver_request_duration_seconds_count", 1), `code="`+codeOf(tt.wantRow)+`",`, "", 1)
			if !containsLine(lines, count) {
				t.Errorf("apiserver_request_duration_seconds: no sample %s in\n%s", count, strings.Join(lines, "\n"))
			}
		})
	}
}

func TestRequestMetricsBuckets(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.NewRequestMetrics(reg)
	if err != nil {
		t.Fatalf("NewRequestMetrics: %v", err)
	}
	m.Wrap(http.NotFoundHandler(), nil).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	got, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	var les []string
	for _, mf := range got {
		if mf.GetName() != "apiserver_request_duration_seconds" {
			continue
		}
		for _, b := range mf.GetMetric()[0].GetHistogram().GetBucket() {
			les = append(les, prometheusFloat(b.GetUpperBound()))
		}
	}
	// kube-apiserver's buckets (staging/src/k8s.io/apiserver/pkg/endpoints/metrics).
	want := "0.005 0.025 0.05 0.1 0.2 0.4 0.6 0.8 1 1.25 1.5 2 3 4 5 6 8 10 15 20 30 45 60"
	if got := strings.Join(les, " "); got != want {
		t.Errorf("buckets = %s, want %s", got, want)
	}
}

func TestNewRequestMetricsTwiceFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.NewRequestMetrics(reg); err != nil {
		t.Fatalf("first NewRequestMetrics: %v", err)
	}
	if _, err := metrics.NewRequestMetrics(reg); err == nil {
		t.Errorf("second NewRequestMetrics on one registry: error = nil, want a duplicate registration error")
	}
}

func TestHandler(t *testing.T) {
	reg := registryWith(t, newCollector(t, &batchv1.Job{ObjectMeta: meta("h")}))
	srv := httptest.NewServer(metrics.Handler(reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("scraping: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the scrape: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape status = %d, want 200; body:\n%s", resp.StatusCode, body)
	}
	want := `kube_job_info{job_name="h",namespace="ns"} 1`
	if !strings.Contains(string(body), want) {
		t.Errorf("scrape has no %s:\n%s", want, body)
	}
}

func TestNewRegistryHasProcessMetrics(t *testing.T) {
	mfs, err := metrics.NewRegistry().Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"go_goroutines"} {
		if !names[n] {
			t.Errorf("NewRegistry() lacks %s", n)
		}
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func codeOf(row string) string {
	_, after, _ := strings.Cut(row, `code="`)
	code, _, _ := strings.Cut(after, `"`)
	return code
}
