package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/batchd/batchd/internal/helperbuild"
)

const (
	// Log messages startAgentServer waits for, besides readyMsg.
	runtimeReadyMsg = "Pod runtime ready"
	agentStartedMsg = "Node agent started"
)

// agentServer is a `batchd server` process that runs its node agent
// in-process, so that the pods it schedules run as host processes.
type agentServer struct {
	server
	Node            string // the Node the agent registered
	RuntimeStateDir string // the hostproc runtime's state directory
	Helper          string // the batchd-pod helper the runtime starts
	Cgroups         string // the cgroup mode the runtime detected: v1, v2 or none
}

// startAgentServer runs `batchd server` with its node agent on a fresh data
// directory and a free loopback port, and waits until the API is ready and
// the agent has registered its node. It needs root (the hostproc runtime
// makes namespaces and cgroups) and the agent's fixed port. When the test
// ends it stops the server with SIGTERM (SIGKILL to its process group after
// stopTimeout) and removes the runtime's state directory if no pod is left
// in it; a server that does not exit cleanly fails the test.
//
// The batchd-pod helper is used from next to the batchd binary when it is
// there, else built into a temporary directory put first on the server's
// PATH, as `make build` installs it; if that build fails the server serves
// as its own helper (through a link it makes).
func startAgentServer(t *testing.T) *agentServer {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e tests run the batchd binary; skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("the node agent's hostproc runtime needs root (namespaces, mounts, cgroups)")
	}
	env := os.Environ()
	if _, err := os.Stat(filepath.Join(filepath.Dir(batchdBinary), "batchd-pod")); err != nil {
		if dir, err := buildPodHelper(t); err != nil {
			t.Logf("building cmd/batchd-pod failed, batchd serves as its own pod helper: %v", err)
		} else {
			env = prependPath(env, dir)
		}
	}

	dir := t.TempDir()
	logs := &jsonLog{}
	proc := startServerProcess(t, env, logs, "server",
		"--log-format", "json",
		"--data-dir", dir,
		"--listen", "127.0.0.1:0",
		// Not kubelet's fixed port: other servers with agents may run.
		"--agent-listen", ":0",
	)
	s := &agentServer{server: server{DataDir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig")}}
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		proc.stop(t)
		// Anything batchd left in its process group. Containers run in
		// sessions of their own: the test deletes its pods before this.
		proc.killGroup()
		s.removeRuntimeState(t)
		if t.Failed() {
			t.Logf("batchd log (last %d lines):\n%s", logTailLines, logs.tail(logTailLines))
		}
	})

	deadline := time.Now().Add(readyTimeout)
	wait := func(msg string) map[string]any {
		t.Helper()
		for {
			if line, ok := logs.find(msg); ok {
				return line
			}
			select {
			case <-proc.done:
				t.Fatalf("batchd exited before it logged %q: %v\n%s", msg, proc.waitErr, logs.tail(logTailLines))
			case <-time.After(pollInterval):
			}
			if time.Now().After(deadline) {
				t.Fatalf("batchd did not log %q within %v:\n%s", msg, readyTimeout, logs.tail(logTailLines))
			}
		}
	}
	ready := wait(readyMsg)
	rt := wait(runtimeReadyMsg)
	started := wait(agentStartedMsg)
	s.URL, _ = ready["url"].(string)
	s.RuntimeStateDir, _ = rt["stateDir"].(string)
	s.Helper, _ = rt["helper"].(string)
	s.Cgroups, _ = rt["cgroups"].(string)
	s.Node, _ = started["node"].(string)
	t.Logf("batchd server %s with its agent: node %q, runtime state %s, helper %s, cgroups %q", s.URL, s.Node, s.RuntimeStateDir, s.Helper, s.Cgroups)
	if w, ok := logs.find("Pod runtime limitation"); ok {
		t.Logf("pod runtime limitation: %v", w["warning"])
	}

	u, err := url.Parse(s.URL)
	if err != nil || u.Scheme != "https" || u.Port() == "" || u.Port() == "0" {
		t.Fatalf("ready line has url %q, want https://127.0.0.1:PORT (parse error: %v)", s.URL, err)
	}
	kc, err := clientcmd.LoadFromFile(s.Kubeconfig)
	if err != nil {
		t.Fatalf("reading the admin kubeconfig: %v", err)
	}
	if ctx, ok := kc.Contexts[kc.CurrentContext]; !ok || kc.Clusters[ctx.Cluster] == nil || kc.Clusters[ctx.Cluster].Server != s.URL {
		t.Fatalf("admin kubeconfig %s has no current context pointing at %s", s.Kubeconfig, s.URL)
	}
	return s
}

// removeRuntimeState removes the runtime's state directory (tmpfs under
// /run/batchd, named after the data directory, which the test removes) once
// the server has stopped, unless pods are left in it.
func (s *agentServer) removeRuntimeState(t *testing.T) {
	t.Helper()
	dir := s.RuntimeStateDir
	if dir == "" || !strings.HasPrefix(dir, "/run/batchd/") {
		return // under the data directory, or unknown
	}
	pods, err := os.ReadDir(filepath.Join(dir, "pods"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Logf("leaving %s: %v", dir, err)
		return
	}
	if len(pods) > 0 {
		t.Logf("leaving %s: %d pods are still in it", dir, len(pods))
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Logf("removing %s: %v", dir, err)
	}
}

// buildPodHelper builds cmd/batchd-pod into a temporary directory and
// returns the directory.
func buildPodHelper(t *testing.T) (string, error) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := helperbuild.Build(ctx, helperbuild.Best(ctx), filepath.Join(dir, "batchd-pod")); err != nil {
		return "", err
	}
	return dir, nil
}

// prependPath returns env with dir first on PATH.
func prependPath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			kv, found = "PATH="+dir+string(os.PathListSeparator)+v, true
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "PATH="+dir)
	}
	return out
}

// jsonLog collects batchd's output and finds its JSON log lines by message.
// Not every line is JSON: batchd also prints a human hint when ready.
type jsonLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []map[string]any // complete JSON lines, in order
	done  int              // bytes of buf already split into lines
}

func (l *jsonLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		rest := l.buf.Bytes()[l.done:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		var line map[string]any
		if json.Unmarshal(rest[:i], &line) == nil {
			l.lines = append(l.lines, line)
		}
		l.done += i + 1
	}
	return len(p), nil
}

// find returns the first JSON line whose msg is msg.
func (l *jsonLog) find(msg string) (map[string]any, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if line["msg"] == msg {
			return line, true
		}
	}
	return nil, false
}

// tail returns the last n lines written so far.
func (l *jsonLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.SplitAfter(l.buf.String(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
