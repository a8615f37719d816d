package e2e

import (
	"bytes"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

const (
	// readyTimeout bounds the wait for the "batchd server ready" log line.
	readyTimeout = 60 * time.Second
	// stopTimeout bounds the wait for batchd to exit after SIGTERM; after it
	// the process is killed and the test fails.
	stopTimeout = 30 * time.Second
	// readyMsg is the log message batchd writes once it serves the API.
	readyMsg = "batchd server ready"
	// logTailLines is how much of the server log a failing test prints.
	logTailLines = 60
)

// server is a `batchd server` process started by startServer.
type server struct {
	URL        string // https://127.0.0.1:PORT, from the ready log line
	DataDir    string
	Kubeconfig string // the admin kubeconfig batchd wrote
}

// startServer runs `batchd server` on a fresh data directory and a free
// loopback port, waits until it logs that it is ready, and stops it with
// SIGTERM when the test ends. A server that does not exit cleanly fails the
// test.
func startServer(t *testing.T) *server {
	t.Helper()
	return startServerEnv(t, nil)
}

// startServerEnv is startServer with the process's environment (nil: the
// test's own).
func startServerEnv(t *testing.T, env []string) *server {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e tests run the batchd binary; skipped in -short mode")
	}
	dir := t.TempDir()
	logs := newServerLog()
	proc := startServerProcess(t, env, logs, "server",
		"--log-format", "json",
		"--data-dir", dir,
		"--listen", "127.0.0.1:0",
		"--no-agent", // pods are not run: no root, helper or port 10250 needed
	)
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		proc.stop(t)
		if t.Failed() {
			t.Logf("batchd log (last %d lines):\n%s", logTailLines, logs.tail(logTailLines))
		}
	})

	var ready readyLine
	select {
	case ready = <-logs.ready:
	case <-proc.done:
		t.Fatalf("batchd exited before it was ready: %v\n%s", proc.waitErr, logs.tail(logTailLines))
	case <-time.After(readyTimeout):
		t.Fatalf("batchd did not log %q within %v:\n%s", readyMsg, readyTimeout, logs.tail(logTailLines))
	}

	u, err := url.Parse(ready.URL)
	if err != nil || u.Scheme != "https" || u.Port() == "" || u.Port() == "0" {
		t.Fatalf("ready line has url %q, want https://127.0.0.1:PORT (parse error: %v)", ready.URL, err)
	}
	s := &server{URL: ready.URL, DataDir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig")}
	if ready.Kubeconfig != "" && ready.Kubeconfig != s.Kubeconfig {
		t.Errorf("ready line names kubeconfig %s, want %s", ready.Kubeconfig, s.Kubeconfig)
	}
	kc, err := clientcmd.LoadFromFile(s.Kubeconfig)
	if err != nil {
		t.Fatalf("reading the admin kubeconfig: %v", err)
	}
	ctx, ok := kc.Contexts[kc.CurrentContext]
	if !ok || kc.Clusters[ctx.Cluster] == nil {
		t.Fatalf("admin kubeconfig %s has no usable current context %q", s.Kubeconfig, kc.CurrentContext)
	}
	if got := kc.Clusters[ctx.Cluster].Server; got != s.URL {
		t.Errorf("admin kubeconfig points at %s, want the served %s", got, s.URL)
	}
	return s
}

// readyLine is the part of the ready log line the tests use.
type readyLine struct {
	Msg        string `json:"msg"`
	URL        string `json:"url"`
	Kubeconfig string `json:"kubeconfig"`
}

// serverLog collects batchd's output and reports the ready line once.
// Not every line is JSON: batchd also prints a human hint when ready.
type serverLog struct {
	ready chan readyLine // receives the ready line, once

	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte // an unterminated last line
	seen    bool
}

func newServerLog() *serverLog {
	return &serverLog{ready: make(chan readyLine, 1)}
}

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := l.partial[:i]
		l.partial = l.partial[i+1:]
		var r readyLine
		if !l.seen && json.Unmarshal(line, &r) == nil && r.Msg == readyMsg {
			l.seen = true
			l.ready <- r
		}
	}
	l.partial = bytes.Clone(l.partial)
	return len(p), nil
}

// tail returns the last n lines written so far.
func (l *serverLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.SplitAfter(l.buf.String(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
