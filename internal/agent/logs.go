package agent

import (
	"bufio"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/batchd/batchd/internal/crilog"
	"github.com/batchd/batchd/internal/pki"
)

// The agent's HTTPS endpoint serves kubelet's
// GET /containerLogs/{namespace}/{pod}/{container} with the query
// parameters follow, previous, timestamps, tailLines, sinceSeconds,
// sinceTime and limitBytes, as plain text. Callers present Config.Token
// as a bearer token. The serving certificate is signed by a CA of the
// agent's own, in <StateDir>/pki, which the API server does not verify
// (as upstream without --kubelet-certificate-authority).

// listen opens the agent's endpoint; the actual port goes in the Node.
func (a *Agent) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", a.cfg.ListenAddress)
	if err != nil {
		return nil, fmt.Errorf("agent: listening on %s: %w", a.cfg.ListenAddress, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
		a.listenPort = tcp.Port
	}
	return ln, nil
}

// serve serves the endpoint on ln until ctx ends.
func (a *Agent) serve(ctx context.Context, ln net.Listener) error {
	certs, err := pki.Ensure(filepath.Join(a.cfg.StateDir, "pki"), []string{a.hostIP, a.node})
	if err != nil {
		ln.Close()
		return fmt.Errorf("agent: serving certificate: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", a.serveLogs)
	mux.Handle("GET /metrics", a.metrics.handler())
	srv := &http.Server{
		Handler:           a.authenticate(mux),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{certs.Serving}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return fmt.Errorf("agent: serving: %w", err)
	case <-ctx.Done():
		srv.Close()
		<-errc
		return nil
	}
}

func (a *Agent) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if a.cfg.Token == "" || !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(a.cfg.Token)) != 1 {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logRequest is a parsed /containerLogs query.
type logRequest struct {
	follow, previous, timestamps bool
	tail                         int64 // -1: all
	since                        time.Time
	limit                        int64 // 0: none
}

func parseLogQuery(q map[string][]string) (logRequest, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	lr := logRequest{tail: -1}
	lr.follow, _ = strconv.ParseBool(get("follow"))
	lr.previous, _ = strconv.ParseBool(get("previous"))
	lr.timestamps, _ = strconv.ParseBool(get("timestamps"))
	if s := get("tailLines"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return lr, fmt.Errorf("invalid tailLines %q", s)
		}
		lr.tail = n
	}
	if s := get("limitBytes"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return lr, fmt.Errorf("invalid limitBytes %q", s)
		}
		lr.limit = n
	}
	if s := get("sinceSeconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return lr, fmt.Errorf("invalid sinceSeconds %q", s)
		}
		lr.since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if s := get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return lr, fmt.Errorf("invalid sinceTime %q", s)
		}
		lr.since = t
	}
	return lr, nil
}

func (a *Agent) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, cname := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	lr, err := parseLogQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	path, done, err := a.logFile(r.Context(), ns, name, cname, lr.previous)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if !lr.follow {
		closed := make(chan struct{})
		close(closed)
		done = closed
	}
	skip := int64(0)
	if lr.tail >= 0 {
		n, err := countLines(path, lr.since)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		skip = max(n-lr.tail, 0)
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	flusher, _ := w.(http.Flusher)
	var written int64
	errLimit := errors.New("limit reached")
	startOfLine := true
	ctx, stopDone := context.WithCancel(r.Context())
	defer stopDone()
	err = crilog.Follow(ctx, path, crilog.FollowOptions{Done: done}, func(e crilog.Entry) error {
		if !lr.since.IsZero() && e.Time.Before(lr.since) {
			return nil
		}
		if skip > 0 {
			if !e.Partial {
				skip--
			}
			return nil
		}
		var b []byte
		if lr.timestamps && startOfLine {
			b = append(e.Time.UTC().AppendFormat(b, time.RFC3339Nano), ' ')
		}
		b = append(b, e.Content...)
		if !e.Partial {
			b = append(b, '\n')
		}
		startOfLine = !e.Partial
		if lr.limit > 0 && written+int64(len(b)) > lr.limit {
			b = b[:lr.limit-written]
		}
		n, err := w.Write(b)
		written += int64(n)
		if err != nil {
			return err
		}
		if lr.follow && flusher != nil {
			flusher.Flush()
		}
		if lr.limit > 0 && written >= lr.limit {
			return errLimit
		}
		return nil
	})
	if err != nil && !errors.Is(err, errLimit) && r.Context().Err() == nil {
		a.log.Debug("Serving logs", "pod", ns+"/"+name, "container", cname, "err", err)
	}
}

// countLines counts the complete lines of a log at or after since.
func countLines(path string, since time.Time) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rd := crilog.NewReader(bufio.NewReader(f))
	var n int64
	for {
		e, err := rd.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			continue
		}
		if !e.Partial && (since.IsZero() || !e.Time.Before(since)) {
			n++
		}
	}
}

// logFile finds a container's current (or previous) log file and a
// channel closed once that run of the container has ended.
func (a *Agent) logFile(ctx context.Context, ns, name, cname string, previous bool) (string, <-chan struct{}, error) {
	a.mu.Lock()
	var w *worker
	for _, cand := range a.workers {
		if p, _ := cand.current(); p.Namespace == ns && p.Name == name {
			w = cand
		}
	}
	a.mu.Unlock()
	if w == nil {
		return "", nil, fmt.Errorf("pod %s/%s is not running on node %s", ns, name, a.node)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var c *ctr
	for _, cand := range append(append([]*ctr{}, w.inits...), w.mains...) {
		if cand.spec.Name == cname {
			c = cand
		}
	}
	if c == nil {
		return "", nil, fmt.Errorf("container %q not found in pod %s/%s", cname, ns, name)
	}
	backoff := !c.running && c.exit == nil && c.last != nil
	if c.id == "" && !backoff {
		// A pod that finished before this agent started (its sandbox
		// released) has its logs on disk only.
		if path, ok := a.lastLogOnDisk(w.pod, cname, previous); ok {
			done := make(chan struct{})
			close(done)
			return path, done, nil
		}
		return "", nil, fmt.Errorf("container %q in pod %q is waiting to start: %s", cname, name, c.waiting)
	}
	attempt := c.attempt
	if backoff {
		attempt-- // the next run has not started; show the last one
	}
	if previous {
		if c.attempt == 0 {
			return "", nil, fmt.Errorf("previous terminated container %q in pod %q not found", cname, name)
		}
		attempt = c.attempt - 1
	}
	p := w.pod
	path := filepath.Join(a.logDir(), p.Namespace+"_"+p.Name+"_"+string(p.UID), cname, strconv.FormatUint(uint64(attempt), 10)+".log")
	done := make(chan struct{})
	if attempt != c.attempt || !c.running {
		close(done)
		return path, done, nil
	}
	go func() { // owned by the request: ends when the run ends or the pod worker does
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			w.mu.Lock()
			over := c.attempt != attempt || c.exit != nil || c.waiting == "CrashLoopBackOff"
			w.mu.Unlock()
			if over {
				return
			}
			a.mu.Lock()
			alive := a.workers[p.UID] == w
			a.mu.Unlock()
			if !alive {
				return
			}
		}
	}()
	return path, done, nil
}

// lastLogOnDisk finds the log of a finished pod's container in the log
// directory: the highest attempt, or the one before it for previous.
func (a *Agent) lastLogOnDisk(p *corev1.Pod, cname string, previous bool) (string, bool) {
	if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
		return "", false
	}
	dir := filepath.Join(a.logDir(), p.Namespace+"_"+p.Name+"_"+string(p.UID), cname)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	var attempts []uint64
	for _, e := range ents {
		if n, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), ".log"), 10, 32); err == nil && strings.HasSuffix(e.Name(), ".log") {
			attempts = append(attempts, n)
		}
	}
	slices.Sort(attempts)
	i := len(attempts) - 1
	if previous {
		i--
	}
	if i < 0 {
		return "", false
	}
	return filepath.Join(dir, strconv.FormatUint(attempts[i], 10)+".log"), true
}

// Kubelet's limits for a termination message taken from the log.
const (
	fallbackMaxLines = 80
	fallbackMaxBytes = 2048
)

// logTail is the end of a container run's log, at most fallbackMaxLines
// lines and fallbackMaxBytes bytes, for terminationMessagePolicy
// FallbackToLogsOnError.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	rd := crilog.NewReader(bufio.NewReader(f))
	var lines []string
	cur := ""
	for {
		e, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			continue
		}
		cur += string(e.Content)
		if !e.Partial {
			lines = append(lines, cur+"\n")
			cur = ""
			if len(lines) > fallbackMaxLines {
				lines = lines[1:]
			}
		}
	}
	s := strings.Join(lines, "")
	if len(s) > fallbackMaxBytes {
		s = s[len(s)-fallbackMaxBytes:]
	}
	return s
}
