package e2e

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestServerPacesTheCollector: `batchd server` lets its heap grow by a
// headroom between collections (internal/gcpace) instead of Go's default
// GC percent of 100, unless the user chose a pace with GOGC or GOMEMLIMIT.
// The server reports the percent in effect as go_gc_gogc_percent.
func TestServerPacesTheCollector(t *testing.T) {
	var base []string // the test's environment without the user's pace
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			base = append(base, kv)
		}
	}
	for _, tc := range []struct {
		name  string
		env   []string
		paced bool // percent above 100; else exactly the user's
		want  int
	}{
		{name: "default", paced: true},
		{name: "GOGC", env: []string{"GOGC=150"}, want: 150},
		{name: "GOMEMLIMIT", env: []string{"GOMEMLIMIT=4GiB"}, want: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startServerEnv(t, append(append([]string(nil), base...), tc.env...))
			got := gogcPercent(t, srv)
			switch {
			case tc.paced && got <= 100:
				t.Errorf("go_gc_gogc_percent %d, want the pacer's, above Go's default 100", got)
			case !tc.paced && got != tc.want:
				t.Errorf("go_gc_gogc_percent %d with %s, want the user's %d", got, tc.env, tc.want)
			}
		})
	}
}

// gogcPercent reads go_gc_gogc_percent from the server's /metrics.
func gogcPercent(t *testing.T, srv *server) int {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", srv.Kubeconfig)
	if err != nil {
		t.Fatalf("loading the admin kubeconfig: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	body, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(t.Context())
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_gc_gogc_percent "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("go_gc_gogc_percent %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatalf("no go_gc_gogc_percent in /metrics:\n%.2000s", body)
	return 0
}
