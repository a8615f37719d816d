package job_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

// seedKubectl runs one kubectl binary against the test clusters, with an
// isolated HOME and discovery cache.
type seedKubectl struct {
	version    string
	path       string
	env        []string
	cache      string
	kubeconfig string
}

// on returns a copy of k that talks to cluster.
func (k *seedKubectl) on(cluster *clustertest.Cluster) *seedKubectl {
	c := *k
	c.kubeconfig = cluster.Kubeconfig()
	return &c
}

// newSeedKubectl finds kubectl.<version> beside the binary "kubectl" on
// PATH resolves to (the machine's dispatcher installs them there). Without
// it, the owner version falls back to kubectl itself; other versions skip.
func newSeedKubectl(t *testing.T, version string) *seedKubectl {
	t.Helper()
	dispatcher, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH; test/e2e covers kubectl against the built binary")
	}
	path := dispatcher
	if real, err := filepath.EvalSymlinks(dispatcher); err == nil {
		candidate := filepath.Join(filepath.Dir(real), "kubectl."+version)
		if fi, err := os.Stat(candidate); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			path = candidate
		} else if version != goldenOwner {
			t.Skipf("kubectl %s not installed: no executable %s", version, candidate)
		}
	}
	env := []string{"HOME=" + t.TempDir()}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "HOME" || name == "KUBECONFIG" || strings.HasPrefix(name, "KUBECTL_") {
			continue
		}
		env = append(env, kv)
	}
	return &seedKubectl{version: version, path: path, env: env, cache: t.TempDir()}
}

type kubectlResult struct {
	stdout, stderr string
	err            error
}

func (k *seedKubectl) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, k.path, append([]string{"--kubeconfig", k.kubeconfig, "--cache-dir", k.cache}, args...)...)
	cmd.Env = k.env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// exec runs kubectl to completion.
func (k *seedKubectl) exec(t *testing.T, args ...string) kubectlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), kubectlTimeout)
	defer cancel()
	cmd := k.command(ctx, args)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return kubectlResult{stdout.String(), stderr.String(), err}
}

// run runs kubectl and fails the test unless it succeeds.
func (k *seedKubectl) run(t *testing.T, args ...string) string {
	t.Helper()
	r := k.exec(t, args...)
	if r.err != nil {
		t.Fatalf("kubectl.%s %s: %v\n%s", k.version, strings.Join(args, " "), r.err, r.stderr)
	}
	return r.stdout
}

func (k *seedKubectl) apply(t *testing.T, ns, manifest, want string) {
	t.Helper()
	if out := k.run(t, "-n", ns, "apply", "-f", filepath.Join(seedDir, manifest)); out != want {
		t.Fatalf("kubectl apply -f %s printed %q, want %q", manifest, out, want)
	}
}

// describeGoldens compares `kubectl describe job` with its golden, for the
// owner kubectl and the older layout.
func (k *seedKubectl) describeGoldens(t *testing.T, name, ns, job, golden string) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		k.goldenText(t, golden, k.run(t, "-n", ns, "describe", "job", job))
		t.Run("kubectl "+olderDescribe, func(t *testing.T) {
			old := newSeedKubectl(t, olderDescribe)
			old.kubeconfig = k.kubeconfig
			old.goldenText(t, golden, old.run(t, "-n", ns, "describe", "job", job))
		})
	})
}

// kubectlWait is a kubectl wait running while the test drives the Job.
type kubectlWait struct {
	args   []string
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
	err    error // set before done is closed
}

// startWait starts `kubectl wait` and returns once it watches the Job.
func (k *seedKubectl) startWait(t *testing.T, ns string, args ...string) *kubectlWait {
	t.Helper()
	args = append([]string{"-n", ns, "wait", "--timeout=60s", "-v=6"}, args...)
	ctx, cancel := context.WithCancel(t.Context())
	b := &kubectlWait{args: args, done: make(chan struct{})}
	cmd := k.command(ctx, args)
	cmd.Stdout, cmd.Stderr = &b.stdout, &b.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting kubectl %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		b.err = cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	// -v=6 logs each request: the watch is the sign kubectl has read the
	// Job once and found the condition missing.
	jobtest.Await(t, "kubectl wait to watch", func(context.Context) (bool, string, error) {
		return strings.Contains(b.stderr.String(), "watch=true") || b.exited(), b.stderr.String(), nil
	})
	b.stillWaiting(t, "on start")
	return b
}

func (b *kubectlWait) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// stillWaiting fails the test if kubectl wait has returned, and checks for
// a moment that it does not return now (a bounded negative check).
func (b *kubectlWait) stillWaiting(t *testing.T, when string) {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(300 * time.Millisecond):
		return
	}
	t.Fatalf("kubectl %s returned %s (%v)\nstdout:\n%s\nstderr:\n%s", strings.Join(b.args, " "), when, b.err, b.stdout.String(), lastLines(b.stderr.String(), 10))
}

// conditionMet waits for kubectl wait to succeed with this output.
func (b *kubectlWait) conditionMet(t *testing.T, want string) {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(jobtest.Timeout):
		t.Fatalf("kubectl %s still running after %v\nstderr:\n%s", strings.Join(b.args, " "), jobtest.Timeout, lastLines(b.stderr.String(), 10))
	}
	if b.err != nil || b.stdout.String() != want {
		t.Fatalf("kubectl %s: %v, stdout %q, want %q\nstderr:\n%s", strings.Join(b.args, " "), b.err, b.stdout.String(), want, lastLines(b.stderr.String(), 10))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
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

// goldenTable compares a `kubectl get` table, normalised, with its golden.
func (k *seedKubectl) goldenTable(t *testing.T, name, got string) {
	t.Helper()
	k.compareGolden(t, name, normaliseTable(t, got))
}

// goldenText compares describe output or a message, normalised, with its
// golden.
func (k *seedKubectl) goldenText(t *testing.T, name, got string) {
	t.Helper()
	k.compareGolden(t, name, normaliseText(got))
}

// compareGolden compares got with testdata/seed/<name>.golden, or this
// kubectl version's own <name>.kubectl-<version>.golden if there is one.
// With -update it writes the owner's output to the shared file and another
// version's to its own file, only if it differs from the shared one.
func (k *seedKubectl) compareGolden(t *testing.T, name, got string) {
	t.Helper()
	shared := filepath.Join(seedDir, name+".golden")
	own := filepath.Join(seedDir, fmt.Sprintf("%s.kubectl-%s.golden", name, k.version))
	if *update {
		switch want, err := os.ReadFile(shared); {
		case k.version == goldenOwner:
			writeGolden(t, shared, got)
			removeGolden(t, own)
		case err == nil && string(want) == got:
			removeGolden(t, own)
		default:
			writeGolden(t, own, got)
		}
		return
	}
	path := own
	want, err := os.ReadFile(own)
	if errors.Is(err, fs.ErrNotExist) {
		path = shared
		want, err = os.ReadFile(shared)
	}
	if err != nil {
		t.Fatalf("reading golden file: %v (create it with -update)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("kubectl %s output differs from %s (-want +got); if intended, rerun with -update:\n%s", k.version, path, diff)
	}
}

func writeGolden(t *testing.T, path, content string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(content), 0o644))
	t.Logf("wrote %s", path)
}

func removeGolden(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

// What legitimately varies from run to run, and nothing else, is
// normalised: uids, the random suffix of generated pod names, timestamps,
// and ages and durations.
var (
	uidPattern = regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	// generatedName is a name from metadata.generateName: the prefix and
	// five characters of the alphabet the API server draws from.
	generatedName = regexp.MustCompile(`\b([a-z0-9][-.a-z0-9]*)-[bcdfghjklmnpqrstvwxz2456789]{5}\b`)
	// describeTime is a timestamp as describe prints it (RFC1123Z).
	describeTime = regexp.MustCompile(`\b[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}`)
	// describeDuration is describe's Duration line.
	describeDuration = regexp.MustCompile(`(?m)^(Duration:\s+)\S+$`)
	// age is a duration as kubectl prints ages ("0s", "5m10s", "3d"), or
	// "<invalid>" for a time in the future.
	ageCell = regexp.MustCompile(`^(?:[0-9]+[smhdy])+$|^<invalid>$`)
	// cellSeparator splits table lines into cells.
	cellSeparator = regexp.MustCompile(` {2,}`)
	// repeated is the Age cell of an event seen more than once.
	repeatedAge = regexp.MustCompile(`^\S+ \(x([0-9]+) over \S+\)$`)
)

func normaliseNames(s string) string {
	s = uidPattern.ReplaceAllString(s, "<uid>")
	return generatedName.ReplaceAllString(s, "${1}-<suffix>")
}

// normaliseTable normalises a `kubectl get` table: ages and durations
// become <age>, and the columns are re-aligned as kubectl aligns them
// (three spaces), since an age's width moves the next columns.
func normaliseTable(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 3, ' ', 0)
	var width int
	for line := range strings.Lines(s) {
		cells := cellSeparator.Split(strings.TrimSpace(line), -1)
		if width == 0 {
			width = len(cells)
		} else if len(cells) != width {
			t.Fatalf("table row %q has %d cells, header %d (an empty cell?):\n%s", line, len(cells), width, s)
		}
		for i, c := range cells {
			if ageCell.MatchString(c) {
				cells[i] = "<age>"
			} else {
				cells[i] = normaliseNames(c)
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	must(t, tw.Flush())
	return trimTrailing(b.String())
}

// normaliseText normalises describe output: names and timestamps, the
// Duration line, and the Events table, re-aligned.
func normaliseText(s string) string {
	s = normaliseNames(trimTrailing(s))
	s = describeTime.ReplaceAllString(s, "<time>")
	s = describeDuration.ReplaceAllString(s, "${1}<age>")
	return normaliseEvents(s)
}

func trimTrailing(s string) string {
	return regexp.MustCompile(`(?m)[ \t]+$`).ReplaceAllString(s, "")
}

// normaliseEvents rewrites the table after "Events:" (indented two spaces,
// columns padded by two): the Age cell becomes <age>, or "<age> (x<n>
// over <age>)" for a repeated event, so counts stay checked. The pods of
// one sync are created concurrently, upstream as here, so the order of
// adjacent events of the same type and reason is not defined: each such
// run is sorted by message.
func normaliseEvents(s string) string {
	head, table, found := strings.Cut(s, "Events:\n")
	if !found {
		return s
	}
	var rows [][]string
	rest := ""
	lines := strings.SplitAfter(table, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, "  ") {
			rest = strings.Join(lines[i:], "")
			break
		}
		cells := cellSeparator.Split(strings.TrimSpace(line), 5)
		if len(rows) >= 2 && len(cells) == 5 {
			if m := repeatedAge.FindStringSubmatch(cells[2]); m != nil {
				cells[2] = "<age> (x" + m[1] + " over <age>)"
			} else if ageCell.MatchString(cells[2]) {
				cells[2] = "<age>"
			}
		}
		rows = append(rows, cells)
	}
	for start := 2; start < len(rows); {
		end := start + 1
		for end < len(rows) && len(rows[end]) == 5 && len(rows[start]) == 5 &&
			rows[end][0] == rows[start][0] && rows[end][1] == rows[start][1] {
			end++
		}
		slices.SortStableFunc(rows[start:end], func(a, b []string) int { return strings.Compare(a[len(a)-1], b[len(b)-1]) })
		start = end
	}
	var b strings.Builder
	b.WriteString(head + "Events:\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, "  "+strings.Join(r, "\t"))
	}
	tw.Flush()
	b.WriteString(rest)
	return trimTrailing(b.String())
}
