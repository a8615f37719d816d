package agent_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/batchd/batchd/internal/metrics/metricstest"
)

// TestAgentMetrics scrapes the agent's /metrics (kubelet's names) while a
// pod runs and after another has exited, and checks the figures against
// what the pods did. Without the agent token the endpoint refuses.
func TestAgentMetrics(t *testing.T) {
	c, cs := start(t)
	node := waitNodeReady(t, cs)
	token, err := os.ReadFile(filepath.Join(c.DataDir(), "agent.token"))
	if err != nil {
		t.Fatal(err)
	}
	var ip string
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ip = a.Address
		}
	}
	url := "https://" + net.JoinHostPort(ip, strconv.Itoa(int(node.Status.DaemonEndpoints.KubeletEndpoint.Port))) + "/metrics"
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// The agent's serving certificate is signed by its own CA, as
		// kubelet's self-signed one; the API server does not verify it either.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test against the agent's own CA
	}}
	scrape := func(tok string) (metricstest.Families, int, error) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, 0, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return nil, resp.StatusCode, nil
		}
		fams, err := metricstest.Parse(body)
		return fams, resp.StatusCode, err
	}
	if _, code, err := scrape(""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("scrape without a token: status %d, %v; want 401", code, err)
	}

	create(t, cs, shPod("done", corev1.RestartPolicyNever, "exit 0"))
	waitPhase(t, cs, "done", corev1.PodSucceeded, 30*time.Second)
	create(t, cs, shPod("runs", corev1.RestartPolicyNever, "sleep 300"))
	waitPhase(t, cs, "runs", corev1.PodRunning, 30*time.Second)

	want := []struct {
		name  string
		label string
		value float64
	}{
		{"kubelet_running_pods", "", 1}, // "done" has stopped
		{"kubelet_running_containers", "container_state=running", 1},
		{"kubelet_started_pods_total", "", 2},
		{"kubelet_started_containers_total", "container_type=container", 2},
		{"kubelet_pod_start_duration_seconds", "", 2}, // samples
	}
	var diffs []string
	waitFor(t, 10*time.Second, "the agent's metrics", func() bool {
		fams, code, err := scrape(strings.TrimSpace(string(token)))
		if err != nil || code != http.StatusOK {
			diffs = []string{fmt.Sprintf("scrape: status %d, %v", code, err)}
			return false
		}
		diffs = nil
		for _, w := range want {
			if got, ok := fams.Value(w.name, w.label); !ok || got != w.value {
				diffs = append(diffs, fmt.Sprintf("%s{%s} = %v (present %v), want %v", w.name, w.label, got, ok, w.value))
			}
		}
		if _, ok := fams["process_resident_memory_bytes"]; !ok {
			diffs = append(diffs, "process_resident_memory_bytes missing")
		}
		return len(diffs) == 0
	})
	if len(diffs) > 0 {
		t.Errorf("agent metrics:\n%s", strings.Join(diffs, "\n"))
	}
}
