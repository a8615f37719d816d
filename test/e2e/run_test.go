package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// runTimeout bounds one batchd run; the slowest example waits out a 10 s
// pod failure backoff.
const runTimeout = 60 * time.Second

// outputMode is how a test connects to batchd run's stdout.
type outputMode string

const (
	pipeMode outputMode = "pipe" // plain lines, as in CI logs
	ptyMode  outputMode = "pty"  // the live progress view
)

var outputModes = []outputMode{pipeMode, ptyMode}

// pod matches a generated pod (or Job) name suffix.
const pod = `[a-z0-9]{5}`

// runExpect is what one example's run must print and return.
type runExpect struct {
	code int
	// lines must each match a whole line of the output (ANSI sequences
	// and carriage returns removed), in this order.
	lines []string
	// counts are patterns that must match exactly so many lines.
	counts map[string]int
	// atLeast are patterns that must match at least so many lines.
	atLeast map[string]int
	// plain and live must match a line only in pipe or pty mode.
	plain, live []string
}

// TestRunExamples runs every example through batchd run, in a pipe and in a
// pseudo-terminal, and checks the exit code, the merged [pod/container]
// logs, the progress output and the summary.
func TestRunExamples(t *testing.T) {
	requireRunnable(t)
	tests := []struct {
		name string
		args []string
		want runExpect
	}{
		{
			// First: it waits out a 10 s backoff, so it should not start last.
			name: "failing-backoff exits 2 with BackoffLimitExceeded",
			args: []string{"examples/failing-backoff.yaml"},
			want: runExpect{
				code: 2,
				lines: []string{
					`job/failing-backoff applied`,
					`job/failing-backoff: Failed in \S+ \(0 pods succeeded, 2 failed, 1 retry\): BackoffLimitExceeded: Job has reached the specified backoff limit`,
					`  last 2 lines of \[failing-backoff-` + pod + `/main\] \(exit code 1\):`,
					`    (connecting to the database|error: connection refused)`,
				},
				counts: map[string]int{`\[failing-backoff-` + pod + `/main\] error: connection refused`: 2},
				plain:  []string{`job/failing-backoff: 0/1 succeeded, 0 active, 1 failed, backoff 10s`},
			},
		},
		{
			name: "hello",
			args: []string{"examples/hello.yaml"},
			want: runExpect{
				lines: []string{
					`job/hello applied`,
					`\[hello-` + pod + `/hello\] hello from hello-` + pod,
					`job/hello: Complete in \S+ \(1 pod succeeded, 0 failed, 0 retries\)`,
				},
				plain: []string{`job/hello: 1/1 succeeded, 0 active, 0 failed`},
				live:  []string{`job/hello\s+(Pending|Running|Completing|Complete)\s+.*succeeded.*`},
			},
		},
		{
			name: "pi",
			args: []string{"examples/pi.yaml"},
			want: runExpect{
				lines:  []string{`job/pi: Complete in \S+ \(5 pods succeeded, 0 failed, 0 retries\)`},
				counts: map[string]int{`\[pi-` + pod + `/pi\] 3\.14159265358979323846264338327950288419716939937510\d+`: 5},
				plain:  []string{`job/pi: 5/5 succeeded, 0 active, 0 failed`},
			},
		},
		{
			name: "parallel",
			args: []string{"examples/parallel.yaml"},
			want: runExpect{
				lines:  []string{`job/parallel: Complete in \S+ \(8 pods succeeded, 0 failed, 0 retries\)`},
				counts: map[string]int{`\[parallel-` + pod + `/worker\] done by parallel-` + pod: 8},
			},
		},
		{
			name: "indexed",
			args: []string{"examples/indexed.yaml"},
			want: runExpect{
				lines: []string{`job/indexed: Complete in \S+ \(6 pods succeeded, 0 failed, 0 retries\)`},
				// At least: once in ~50 runs under load, the Job controller
				// started a second pod for an index and both ran.
				atLeast: map[string]int{
					`\[indexed-0-` + pod + `/square\] index 0 squared is 0`:  1,
					`\[indexed-5-` + pod + `/square\] index 5 squared is 25`: 1,
				},
				plain: []string{`job/indexed: 6/6 succeeded, 0 active, 0 failed, indexes \+\+\+\+\+\+`},
				live:  []string{`job/indexed\s+\S+\s+.*\[[.~>+]{6}\].*`},
			},
		},
		{
			name: "deadline exits 3 with DeadlineExceeded",
			args: []string{"examples/deadline.yaml"},
			want: runExpect{
				code: 3,
				lines: []string{
					`\[deadline-` + pod + `/slow\] starting a long task`,
					`job/deadline: Failed in \S+ \(0 pods succeeded, 1 failed, 0 retries\): DeadlineExceeded: Job was active longer than specified deadline`,
					`  last 1 line of \[deadline-` + pod + `/slow\] \(exit code \d+.*\):`,
					`    starting a long task`,
				},
			},
		},
		{
			name: "podfailurepolicy exits 1 with PodFailurePolicy",
			args: []string{"examples/podfailurepolicy.yaml"},
			want: runExpect{
				code: 1,
				lines: []string{
					`job/podfailurepolicy: Failed in \S+ \(0 pods succeeded, 1 failed, 0 retries\): PodFailurePolicy: Container main for pod default/podfailurepolicy-` + pod + ` failed with exit code 42 matching FailJob rule at index 0`,
					`  last 2 lines of \[podfailurepolicy-` + pod + `/main\] \(exit code 42\):`,
				},
				counts: map[string]int{`\[podfailurepolicy-` + pod + `/main\] input is malformed`: 1},
			},
		},
		{
			name: "cronjob runs once with --now",
			args: []string{"--now", "examples/cronjob.yaml"},
			want: runExpect{
				lines: []string{
					`cronjob/nightly-report applied`,
					`job/nightly-report-` + pod + ` created from cronjob/nightly-report`,
					`\[nightly-report-` + pod + `-` + pod + `/report\] report for \d{4}-\d\d-\d\d: all good`,
					`job/nightly-report-` + pod + `: Complete in \S+ \(1 pod succeeded, 0 failed, 0 retries\)`,
				},
			},
		},
		{
			name: "configmap-secret",
			args: []string{"examples/configmap-secret.yaml"},
			want: runExpect{
				lines: []string{
					`configmap/app-config applied`,
					`secret/app-secret applied`,
					`job/configmap-secret applied`,
					`job/configmap-secret: Complete in \S+ \(1 pod succeeded, 0 failed, 0 retries\)`,
				},
				counts: map[string]int{
					`\[configmap-secret-` + pod + `/app\] hello, world`:       1,
					`\[configmap-secret-` + pod + `/app\] token has 12 bytes`: 1,
				},
			},
		},
		{
			name: "init-container",
			args: []string{"examples/init-container.yaml"},
			want: runExpect{
				lines: []string{
					`\[init-container-` + pod + `/fetch\] fetching input`,
					`\[init-container-` + pod + `/sort\] sorted: 1 2 3`,
					`job/init-container: Complete in \S+ \(1 pod succeeded, 0 failed, 0 retries\)`,
				},
			},
		},
		{
			name: "hello and podfailurepolicy from stdin with logs of failed pods only",
			args: []string{"--logs=failed", "--tail=1", "-f", "-"},
			want: runExpect{
				code: 1, // podfailurepolicy is the first to fail in manifest order
				lines: []string{
					`job/hello: Complete in \S+ \(1 pod succeeded, 0 failed, 0 retries\)`,
					`job/podfailurepolicy: Failed in \S+ \(0 pods succeeded, 1 failed, 0 retries\): PodFailurePolicy: .*`,
					`  last 1 line of \[podfailurepolicy-` + pod + `/main\] \(exit code 42\):`,
				},
				counts: map[string]int{
					`\[hello-` + pod + `/hello\] .*`:                           0, // succeeded: not printed
					`\[podfailurepolicy-` + pod + `/main\] input is malformed`: 1,
				},
			},
		},
	}
	stdin := catExamples(t, "hello.yaml", "podfailurepolicy.yaml")
	for _, tt := range tests {
		for _, mode := range outputModes {
			t.Run(tt.name+" "+string(mode), func(t *testing.T) {
				t.Parallel()
				in := ""
				if slices.Contains(tt.args, "-") {
					in = stdin
				}
				r := runBatchd(t, mode, in, tt.args...)
				r.check(t, mode, tt.want)
			})
		}
	}
}

// TestRunInterrupt stops a running Job with Ctrl-C: batchd run deletes it,
// its processes are gone, it exits 130 and leaves no data directory.
func TestRunInterrupt(t *testing.T) {
	requireRunnable(t)
	for _, mode := range outputModes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			marker := strconv.Itoa(100000 + int(time.Now().UnixNano()%800000)) // sleep's argument: unique enough to find
			if mode == ptyMode {
				marker = "1" + marker
			}
			manifest := filepath.Join(t.TempDir(), "long.yaml")
			b, err := os.ReadFile("testdata/run/long.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(manifest, bytes.ReplaceAll(b, []byte("MARKER"), []byte(marker)), 0o644); err != nil {
				t.Fatal(err)
			}
			p := startBatchd(t, mode, "", manifest)
			p.waitFor(t, regexp.MustCompile(`\[long-`+pod+`/sleeper\] started(.|\n)*\[long-`+pod+`/sleeper\] started`))
			if got := processesWith("sleep " + marker); len(got) == 0 {
				t.Errorf("no process runs sleep %s: the test looks for the wrong thing", marker)
			}
			p.interrupt(t)
			r := p.wait(t)
			r.check(t, mode, runExpect{
				code: 130,
				lines: []string{
					// A terminal echoes the ^C typed.
					`(\^C)?Interrupted: deleting the Jobs and stopping their pods \(Ctrl-C again to stop waiting\)`,
					`job/long deleted with its pods`,
					`job/long: Running, interrupted after \S+ \(0 pods succeeded, 0 failed, 0 retries\)`,
				},
				counts: map[string]int{`.*not reached.*`: 0},
			})
			if got := processesWith("sleep " + marker); len(got) > 0 {
				t.Errorf("processes still run after batchd run exited: %v", got)
			}
		})
	}
}

// TestRunKeepAndKubeconfig: --keep leaves the embedded server running and
// prints its kubeconfig; batchd run --kubeconfig uses that server; Ctrl-C
// then stops the kept server, which exits with its Jobs' code.
func TestRunKeepAndKubeconfig(t *testing.T) {
	requireRunnable(t)
	t.Parallel()
	keep := startBatchd(t, pipeMode, "", "--keep", "examples/hello.yaml")
	exported := regexp.MustCompile(`export KUBECONFIG=(\S+)`)
	keep.waitFor(t, exported)
	kubeconfig := exported.FindStringSubmatch(keep.out.String())[1]

	r := runBatchd(t, pipeMode, "", "--kubeconfig", kubeconfig, "examples/pi.yaml")
	r.check(t, pipeMode, runExpect{lines: []string{`job/pi: Complete in \S+ \(5 pods succeeded, 0 failed, 0 retries\)`}})
	again := runBatchd(t, pipeMode, "", "--kubeconfig", kubeconfig, "--logs=none", "examples/hello.yaml")
	again.check(t, pipeMode, runExpect{lines: []string{
		`job/hello had already finished: it does not run again \(delete it first, or name it with metadata.generateName\)`,
		`job/hello: Complete in \S+ \(1 pod succeeded, 0 failed, 0 retries\)`,
	}})

	keep.interrupt(t)
	r = keep.wait(t)
	r.check(t, pipeMode, runExpect{lines: []string{
		`job/hello: Complete in \S+ \(1 pod succeeded, 0 failed, 0 retries\)`,
		`batchd keeps running; Ctrl-C stops it. To use it with kubectl:`,
		`  export KUBECONFIG=` + regexp.QuoteMeta(kubeconfig),
		`Stopping: deleting unfinished Jobs and running pods \(Ctrl-C again to stop waiting\)`,
	}})
}

// TestRunTimeout: --timeout stops following, deletes the Job, exits 124.
func TestRunTimeout(t *testing.T) {
	requireRunnable(t)
	t.Parallel()
	r := runBatchd(t, pipeMode, "", "--timeout=1s", "--logs=none", "examples/deadline.yaml")
	r.check(t, pipeMode, runExpect{
		code: 124,
		lines: []string{
			`Timed out after 1s: deleting the Jobs and stopping their pods \(Ctrl-C again to stop waiting\)`,
			`job/deadline deleted with its pods`,
			`job/deadline: (Pending|Running), timed out after \S+ \(0 pods succeeded, 0 failed, 0 retries\)`,
		},
		counts: map[string]int{`\[deadline-.*`: 0},
	})
}

// TestRunUsageErrors: bad flags and manifests exit 64, before or after the
// server started.
func TestRunUsageErrors(t *testing.T) {
	requireRunnable(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no manifests", want: `Error: no manifests: give one or more files, directories or -f - for stdin`},
		{name: "missing file", args: []string{"examples/missing.yaml"}, want: `Error: reading manifest: stat examples/missing.yaml: no such file or directory`},
		{name: "unknown flag", args: []string{"--frobnicate", "examples/hello.yaml"}, want: `Error: unknown flag: --frobnicate`},
		{name: "bad --logs", args: []string{"--logs=some", "examples/hello.yaml"}, want: `Error: invalid --logs "some": want all, failed or none`},
		{name: "keep with server", args: []string{"--keep", "--server=https://127.0.0.1:1", "examples/hello.yaml"}, want: `Error: --keep and --data-dir are for the embedded server.*`},
		{name: "rejected by the server", args: []string{"test/e2e/testdata/run/invalid.yaml"}, want: `Error: .*invalid.yaml#1: applying job/invalid: .*spec.completions.*`},
		{name: "kind not served", args: []string{"test/e2e/testdata/run/unknown-kind.yaml"}, want: `Error: .*unknown-kind.yaml#1: the server does not serve Deployment.apps`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runBatchd(t, pipeMode, "", tt.args...)
			r.check(t, pipeMode, runExpect{code: 64})
			if !regexp.MustCompile(`(?m)^` + tt.want + `$`).MatchString(r.stderr) {
				t.Errorf("stderr does not match %q:\n%s", tt.want, r.stderr)
			}
		})
	}
}

func requireRunnable(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e tests run the batchd binary; skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("batchd run's node agent runs pods as host processes, which needs root")
	}
}

// repoRoot is where the examples' paths in the docs are relative to.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func catExamples(t *testing.T, names ...string) string {
	t.Helper()
	var b strings.Builder
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", n))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.String()
}

// runResult is a finished batchd run.
type runResult struct {
	args   []string
	code   int
	stdout string // ANSI sequences and carriage returns removed
	raw    string
	stderr string
	tmp    string // the run's TMPDIR
}

// runBatchd runs batchd run to the end.
func runBatchd(t *testing.T, mode outputMode, stdin string, args ...string) runResult {
	t.Helper()
	return startBatchd(t, mode, stdin, args...).wait(t)
}

// running is a batchd run in progress.
type running struct {
	args   []string
	mode   outputMode
	cmd    *exec.Cmd
	tty    *os.File // pty mode: the terminal's controlling side
	out    *notifyBuffer
	stderr *notifyBuffer
	copied chan struct{} // pty mode: closed when the terminal's output ends
	tmp    string
}

func startBatchd(t *testing.T, mode outputMode, stdin string, args ...string) *running {
	t.Helper()
	r := &running{args: args, mode: mode, out: newNotifyBuffer(), stderr: newNotifyBuffer(), tmp: t.TempDir()}
	r.cmd = exec.Command(batchdBinary, append([]string{"run"}, args...)...)
	r.cmd.Dir = repoRoot(t)
	r.cmd.Env = append(os.Environ(), "TMPDIR="+r.tmp, "TERM=xterm")
	r.cmd.Stderr = r.stderr
	r.cmd.Stdin = strings.NewReader(stdin)
	switch mode {
	case pipeMode:
		r.cmd.Stdout = r.out
		if err := r.cmd.Start(); err != nil {
			t.Fatalf("starting batchd run: %v", err)
		}
	case ptyMode:
		// Only stdout is the terminal, as in `batchd run ... 2>err.log`;
		// pty.StartWithSize would make stdin and stderr the terminal too.
		tty, tt, err := pty.Open()
		if err != nil {
			t.Fatalf("opening a pseudo-terminal: %v", err)
		}
		if err := pty.Setsize(tty, &pty.Winsize{Rows: 40, Cols: 200}); err != nil {
			t.Fatal(err)
		}
		r.cmd.Stdout = tt
		r.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 1} // fd 1: stdout
		if err := r.cmd.Start(); err != nil {
			t.Fatalf("starting batchd run: %v", err)
		}
		tt.Close() // the child has it
		r.tty = tty
		r.copied = make(chan struct{})
		go func() { // ends when the terminal's last writer closes it (EIO)
			defer close(r.copied)
			io.Copy(r.out, tty)
		}()
	}
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
		if r.tty != nil {
			r.tty.Close()
		}
	})
	return r
}

// waitFor waits until the output matches re.
func (r *running) waitFor(t *testing.T, re *regexp.Regexp) {
	t.Helper()
	deadline := time.After(runTimeout)
	for {
		changed := r.out.changed()
		if re.MatchString(clean(r.out.String())) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("batchd run %s did not print %q within %v; output:\n%s\nstderr:\n%s", strings.Join(r.args, " "), re, runTimeout, clean(r.out.String()), r.stderr.String())
		}
	}
}

// interrupt is Ctrl-C: typed on the terminal in pty mode (the terminal
// sends SIGINT to its foreground process group), a SIGINT otherwise.
func (r *running) interrupt(t *testing.T) {
	t.Helper()
	if r.mode == ptyMode {
		if _, err := r.tty.Write([]byte{3}); err != nil { // ^C
			t.Fatalf("typing Ctrl-C: %v", err)
		}
		return
	}
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupting batchd run: %v", err)
	}
}

func (r *running) wait(t *testing.T) runResult {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(runTimeout):
		r.cmd.Process.Kill()
		<-done
		t.Fatalf("batchd run %s did not end within %v; output:\n%s\nstderr:\n%s", strings.Join(r.args, " "), runTimeout, clean(r.out.String()), r.stderr.String())
	}
	if r.copied != nil {
		select {
		case <-r.copied:
		case <-time.After(5 * time.Second):
			t.Errorf("the terminal stayed open after batchd run exited: a process it started still holds it")
		}
	}
	raw := r.out.String()
	return runResult{args: r.args, code: r.cmd.ProcessState.ExitCode(), stdout: clean(raw), raw: raw, stderr: r.stderr.String(), tmp: r.tmp}
}

// check compares a run with what it should have done.
func (r runResult) check(t *testing.T, mode outputMode, want runExpect) {
	t.Helper()
	failed := false
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		failed = true
	}
	if r.code != want.code {
		fail("exit code %d, want %d", r.code, want.code)
	}
	lines := strings.Split(r.stdout, "\n")
	next := 0
	for _, p := range want.lines {
		re := regexp.MustCompile(`^` + p + `$`)
		found := false
		for i := next; i < len(lines); i++ {
			if re.MatchString(lines[i]) {
				next, found = i+1, true
				break
			}
		}
		if !found {
			fail("no line matches %q (after line %d)", p, next)
		}
	}
	for p, n := range want.counts {
		if got := matching(lines, p); got != n {
			fail("%d lines match %q, want %d", got, p, n)
		}
	}
	for p, n := range want.atLeast {
		if got := matching(lines, p); got < n {
			fail("%d lines match %q, want at least %d", got, p, n)
		}
	}
	extra := want.plain
	if mode == ptyMode {
		extra = want.live
	}
	for _, p := range extra {
		if !regexp.MustCompile(`(?m)^` + p + `$`).MatchString(r.stdout) {
			fail("no %s line matches %q", mode, p)
		}
	}
	switch hasANSI := strings.Contains(r.raw, "\x1b["); {
	case mode == pipeMode && hasANSI:
		fail("plain output has terminal escape sequences")
	case mode == ptyMode && len(want.lines) > 0 && want.code != 64 && !hasANSI:
		fail("terminal output has no live progress view (no escape sequences)")
	}
	if left, _ := filepath.Glob(filepath.Join(r.tmp, "batchd-run-*")); len(left) > 0 {
		fail("batchd run left its data directory behind: %v", left)
	}
	if failed {
		t.Logf("batchd run %s\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.stdout, r.stderr)
	}
}

// matching counts the lines that match pattern as a whole.
func matching(lines []string, pattern string) int {
	re := regexp.MustCompile(`^` + pattern + `$`)
	n := 0
	for _, l := range lines {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

// ansi matches the escape sequences of the live view.
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// clean removes escape sequences and carriage returns (a terminal turns
// "\n" into "\r\n").
func clean(s string) string {
	return strings.ReplaceAll(ansi.ReplaceAllString(s, ""), "\r", "")
}

// processesWith lists the processes whose command line contains s.
func processesWith(s string) []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		cmdline := strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		if strings.Contains(cmdline, s) && filepath.Base(d) != strconv.Itoa(os.Getpid()) {
			out = append(out, fmt.Sprintf("%s: %s", filepath.Base(d), cmdline))
		}
	}
	return out
}

// notifyBuffer is a buffer that is safe for concurrent use and tells
// waiters when it grows.
type notifyBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	wake chan struct{}
}

func newNotifyBuffer() *notifyBuffer { return &notifyBuffer{wake: make(chan struct{})} }

func (b *notifyBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	close(b.wake)
	b.wake = make(chan struct{})
	return n, err
}

func (b *notifyBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// changed returns a channel closed at the next write.
func (b *notifyBuffer) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.wake
}
