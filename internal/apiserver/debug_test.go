package apiserver_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/batchd/batchd/internal/clustertest"
)

// TestProfiling: /debug/pprof serves Go's profiles to administrators, as
// kube-apiserver's --profiling does, refuses other users with 403, and is
// absent (404) with profiling off.
func TestProfiling(t *testing.T) {
	c := clustertest.Start(t)
	sas := c.Client().CoreV1().ServiceAccounts("default")
	if _, err := sas.Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "profiler"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := sas.CreateToken(t.Context(), "profiler", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa := rest.AnonymousClientConfig(c.Config())
	sa.BearerToken = tok.Status.Token
	off := clustertest.Start(t, clustertest.WithoutProfiling())

	tests := []struct {
		name     string
		cfg      *rest.Config
		path     string
		wantCode int
		wantBody string
	}{
		{"index", c.Config(), "/debug/pprof/", http.StatusOK, "goroutine"},
		{"heap by name", c.Config(), "/debug/pprof/heap?debug=1", http.StatusOK, "heap profile:"},
		{"goroutines", c.Config(), "/debug/pprof/goroutine?debug=1", http.StatusOK, "goroutine profile:"},
		{"service account", sa, "/debug/pprof/heap?debug=1", http.StatusForbidden, `"reason":"Forbidden"`},
		{"profiling off", off.Config(), "/debug/pprof/heap?debug=1", http.StatusNotFound, `"reason":"NotFound"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			transport, err := rest.TransportFor(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tt.cfg.Host+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: transport}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET %s = %d %.200q, want %d containing %q", tt.path, resp.StatusCode, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}
