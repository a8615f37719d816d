package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// commandTimeout bounds one kubectl invocation.
	commandTimeout = 60 * time.Second
	// pollInterval is how often waitFor re-checks its condition.
	pollInterval = 25 * time.Millisecond
)

// findKubectl returns the path of kubectl.<version>, which the machine
// installs next to the kubectl dispatcher (the directory of
// `readlink -f $(which kubectl)`). It skips the test if there is none.
func findKubectl(t *testing.T, version string) string {
	t.Helper()
	dispatcher, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skipf("kubectl %s not installed: no kubectl on PATH to find kubectl.%s next to", version, version)
	}
	real, err := filepath.EvalSymlinks(dispatcher)
	if err != nil {
		t.Skipf("kubectl %s not installed: resolving %s: %v", version, dispatcher, err)
	}
	path := filepath.Join(filepath.Dir(real), "kubectl."+version)
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Skipf("kubectl %s not installed: no executable %s", version, path)
	}
	return path
}

// kubectl runs one kubectl binary against one server, with its own
// discovery cache and an isolated HOME.
type kubectl struct {
	version    string // "1.33"
	minor      int    // 33
	path       string
	kubeconfig string
	cacheDir   string
	env        []string
}

// newKubectl returns a kubectl with a fresh cache directory, so every
// scenario starts with cold discovery.
func newKubectl(t *testing.T, version, path, kubeconfig string) *kubectl {
	t.Helper()
	_, minorStr, _ := strings.Cut(version, ".")
	minor, err := strconv.Atoi(minorStr)
	if err != nil {
		t.Fatalf("kubectl version %q: want 1.<minor>", version)
	}
	// TMPDIR keeps the files kubectl edit leaves behind in the test's
	// directory.
	env := []string{"HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "HOME", "TMPDIR", "KUBECONFIG", "EDITOR", "KUBE_EDITOR":
			continue // no stray configuration from the machine
		}
		if strings.HasPrefix(name, "KUBECTL_") {
			continue
		}
		env = append(env, kv)
	}
	return &kubectl{
		version:    version,
		minor:      minor,
		path:       path,
		kubeconfig: kubeconfig,
		cacheDir:   t.TempDir(),
		env:        env,
	}
}

// withKubeconfig returns a copy of k that uses another kubeconfig.
func (k *kubectl) withKubeconfig(path string) *kubectl {
	c := *k
	c.kubeconfig = path
	return &c
}

// withEnv returns a copy of k whose kubectl runs with the extra environment
// variables kv ("NAME=value"), such as KUBE_EDITOR.
func (k *kubectl) withEnv(kv ...string) *kubectl {
	c := *k
	c.env = append(slices.Clone(k.env), kv...)
	return &c
}

// tempDir returns the TMPDIR kubectl runs with.
func (k *kubectl) tempDir() string {
	for _, kv := range k.env {
		if dir, ok := strings.CutPrefix(kv, "TMPDIR="); ok {
			return dir
		}
	}
	return os.TempDir()
}

// result is what one kubectl invocation produced.
type result struct {
	stdout, stderr string
	err            error // nil when kubectl exited 0
}

func (k *kubectl) command(ctx context.Context, args []string) *exec.Cmd {
	full := append([]string{"--kubeconfig", k.kubeconfig, "--cache-dir", k.cacheDir}, args...)
	cmd := exec.CommandContext(ctx, k.path, full...)
	cmd.Env = k.env
	return cmd
}

// run runs kubectl with args to completion. A kubectl that hangs past
// commandTimeout fails the test.
func (k *kubectl) run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := k.command(ctx, args)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), err: err}
	t.Logf("kubectl.%s %s (%v)\n%s", k.version, strings.Join(args, " "), time.Since(start).Round(time.Millisecond), indent(r))
	if ctx.Err() != nil {
		t.Fatalf("kubectl %s did not finish within %v", strings.Join(args, " "), commandTimeout)
	}
	return r
}

// mustRun runs kubectl and fails the test unless it exits 0. It returns
// stdout.
func (k *kubectl) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := k.run(t, args...)
	if r.err != nil {
		t.Fatalf("kubectl %s: %v\nstderr:\n%s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r.stdout
}

// mustFail runs kubectl and fails the test if it exits 0. It returns
// stderr.
func (k *kubectl) mustFail(t *testing.T, args ...string) string {
	t.Helper()
	r := k.run(t, args...)
	if r.err == nil {
		t.Fatalf("kubectl %s succeeded, want an error\nstdout:\n%s", strings.Join(args, " "), r.stdout)
	}
	var exit *exec.ExitError
	if !errors.As(r.err, &exit) {
		t.Fatalf("kubectl %s did not run: %v", strings.Join(args, " "), r.err)
	}
	return r.stderr
}

// indent formats a result for t.Logf, skipping empty streams.
func indent(r result) string {
	var b strings.Builder
	if r.err != nil {
		fmt.Fprintf(&b, "  exit: %v\n", r.err)
	}
	for _, s := range []struct{ name, text string }{{"stdout", r.stdout}, {"stderr", r.stderr}} {
		if s.text == "" {
			continue
		}
		fmt.Fprintf(&b, "  %s:\n", s.name)
		for line := range strings.Lines(s.text) {
			b.WriteString("    " + line)
		}
		if !strings.HasSuffix(s.text, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// background is a kubectl process that runs until the test stops it, such
// as `kubectl get -w`.
type background struct {
	args   []string
	cancel context.CancelFunc
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
	err    error // set before done is closed
}

// start runs kubectl with args in the background. The test's cleanup stops
// it if the test did not.
func (k *kubectl) start(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	b := &background{args: args, cancel: cancel, done: make(chan struct{})}
	cmd := k.command(ctx, args)
	cmd.Stdout, cmd.Stderr = &b.stdout, &b.stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting kubectl %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("kubectl.%s %s (started in the background)", k.version, strings.Join(args, " "))
	go func() {
		b.err = cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		b.cancel()
		<-b.done
	})
	return b
}

// exited reports whether the process has ended, without waiting.
func (b *background) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// stop kills the process and waits for it to exit.
func (b *background) stop() {
	b.cancel()
	<-b.done
}

// wait waits for the process to exit by itself and returns its error. It
// fails the test if the process is still running after timeout.
func (b *background) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-b.done:
		return b.err
	case <-time.After(timeout):
		t.Fatalf("kubectl %s still running after %v\nstdout:\n%s\nstderr:\n%s",
			strings.Join(b.args, " "), timeout, b.stdout.String(), b.stderr.String())
		return nil
	}
}

// waitForOutput polls the process's stdout until cond holds, failing the
// test after timeout or if the process exits first.
func (b *background) waitForOutput(t *testing.T, timeout time.Duration, what string, cond func(stdout string) bool) {
	t.Helper()
	waitFor(t, timeout, what, func() bool {
		if cond(b.stdout.String()) {
			return true
		}
		if b.exited() && !cond(b.stdout.String()) {
			t.Fatalf("kubectl %s exited (%v) while waiting for %s\nstdout:\n%s\nstderr:\n%s",
				strings.Join(b.args, " "), b.err, what, b.stdout.String(), b.stderr.String())
		}
		return false
	})
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting for %s", what)
		case <-time.After(pollInterval):
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
