package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/batchd/batchd/internal/controlplane"
	"github.com/batchd/batchd/internal/helperbuild"
	"github.com/batchd/batchd/internal/tmpfs"
)

// series is one row of a suite table: one figure of one scenario, with
// the value of every run.
type series struct {
	Scenario string    `json:"scenario"`
	Figure   string    `json:"figure"`
	Unit     string    `json:"unit"`
	Values   []float64 `json:"values"`
	Median   float64   `json:"median"`
	Min      float64   `json:"min"`
	Max      float64   `json:"max"`
	Runs     int       `json:"runs"`
	Note     string    `json:"note,omitempty"`
}

// results collects the series of the system, startup, run-hello, cron and
// all benchmarks, in the order they were first added, and the conditions
// they were measured in. It is the JSON those commands write.
type results struct {
	mu sync.Mutex

	Benchmark  string            `json:"benchmark"`
	Started    time.Time         `json:"started"`
	Finished   time.Time         `json:"finished"`
	GoVersion  string            `json:"go_version"`
	Platform   string            `json:"platform"`
	NumCPU     int               `json:"num_cpu"`
	GOMAXPROCS int               `json:"gomaxprocs"`
	Params     map[string]string `json:"params,omitempty"`
	LoadStart  [3]float64        `json:"load_average_start"`
	LoadEnd    [3]float64        `json:"load_average_end"`
	Series     []*series         `json:"series"`
	Errors     []string          `json:"errors,omitempty"`
}

func newResults(benchmark string) *results {
	return &results{
		Benchmark:  benchmark,
		Started:    time.Now(),
		GoVersion:  runtime.Version(),
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Params:     map[string]string{},
		LoadStart:  loadAverage(),
	}
}

// param records a condition of the measurement.
func (r *results) param(k, v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Params[k] = v
}

// add records one run's value of a figure.
func (r *results) add(scenario, figure, unit string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.Series {
		if s.Scenario == scenario && s.Figure == figure {
			s.Values = append(s.Values, v)
			return
		}
	}
	r.Series = append(r.Series, &series{Scenario: scenario, Figure: figure, Unit: unit, Values: []float64{v}})
}

// note attaches a remark to a figure (shown in the JSON only).
func (r *results) note(scenario, figure, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.Series {
		if s.Scenario == scenario && s.Figure == figure {
			s.Note = text
		}
	}
}

// fail records an error that cost some figures; the others still count.
func (r *results) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Errors = append(r.Errors, err.Error())
}

// merge appends other's series and errors.
func (r *results) merge(other *results) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Series = append(r.Series, other.Series...)
	r.Errors = append(r.Errors, other.Errors...)
}

// finish computes the summaries.
func (r *results) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Finished = time.Now()
	r.LoadEnd = loadAverage()
	for _, s := range r.Series {
		s.Runs = len(s.Values)
		s.Median = median(s.Values)
		s.Min, s.Max = slices.Min(s.Values), slices.Max(s.Values)
	}
}

func (r *results) writeTable(w io.Writer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(w, "batchd %s benchmark, %s, %s %s, %d CPUs (GOMAXPROCS %d); took %s\n",
		r.Benchmark, r.Started.Format(time.DateTime), r.GoVersion, r.Platform, r.NumCPU, r.GOMAXPROCS,
		r.Finished.Sub(r.Started).Round(time.Second))
	fmt.Fprintf(w, "load average (1, 5, 15 min): start %s, end %s\n", fmtLoad(r.LoadStart), fmtLoad(r.LoadEnd))
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range r.Params {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %s\n", k, r.Params[k])
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfigure\tunit\tmedian\t(min-max)\truns")
	for _, s := range r.Series {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t(%s-%s)\t%d\n", s.Scenario, s.Figure, s.Unit,
			fmtSig(s.Median), fmtSig(s.Min), fmtSig(s.Max), s.Runs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	return nil
}

func (r *results) writeJSON(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing results: %w", err)
		}
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}

// output prints the table and, if path is set, writes the JSON.
func (r *results) output(stdout io.Writer, path string) error {
	r.finish()
	if err := r.writeTable(stdout); err != nil {
		return err
	}
	if path != "" {
		return r.writeJSON(path)
	}
	return nil
}

// fmtSig prints at least three significant digits, without exponent.
func fmtSig(v float64) string {
	a := math.Abs(v)
	if a >= 100 || a == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	decimals := min(6, 2-int(math.Floor(math.Log10(a))))
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// procStatus holds the memory lines of /proc/<pid>/status, in bytes.
type procStatus struct {
	rss, hwm int64 // VmRSS, VmHWM
}

// readProcStatus reads /proc/<pid>/status; pid 0 is this process.
func readProcStatus(pid int) (procStatus, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	f, err := os.Open(path)
	if err != nil {
		return procStatus{}, err
	}
	defer f.Close()
	var st procStatus
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &st.rss
		case "VmHWM":
			dst = &st.hwm
		default:
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err == nil {
			*dst = n << 10
		}
	}
	return st, sc.Err()
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux 4.0+:
// writing 5 to clear_refs); it reports whether that worked.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// childCPUTime is the user+system CPU time of the children this process
// has waited for (and of their waited-for descendants).
func childCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// moduleRoot is the directory of batchd's go.mod, found from the working
// directory upwards.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/batchd/batchd\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the benchmark from inside the batchd module (go.mod not found above the working directory)")
		}
		dir = parent
	}
}

// binaries are the batchd and batchd-pod executables a benchmark runs.
type binaries struct {
	dir    string
	batchd string
	helper string
	temp   bool // dir is ours to remove
}

// buildBinaries builds cmd/batchd-pod, and cmd/batchd if withBatchd, as
// `make build` does, into a temporary directory; or, if dir is set, uses
// the ones there.
func buildBinaries(ctx context.Context, dir string, withBatchd bool, progress io.Writer) (*binaries, error) {
	if dir != "" {
		b := &binaries{dir: dir, batchd: filepath.Join(dir, "batchd"), helper: filepath.Join(dir, "batchd-pod")}
		need := []string{b.helper}
		if withBatchd {
			need = append(need, b.batchd)
		}
		for _, p := range need {
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("-bin: %w", err)
			}
		}
		return b, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "batchd-bench-bin-")
	if err != nil {
		return nil, err
	}
	b := &binaries{dir: tmp, batchd: filepath.Join(tmp, "batchd"), helper: filepath.Join(tmp, "batchd-pod"), temp: true}
	start := time.Now()
	flavor := helperbuild.Best(ctx)
	cmd, err := helperbuild.Command(ctx, flavor, b.helper, "-trimpath", "-ldflags=-s -w")
	if err != nil {
		b.remove()
		return nil, err
	}
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.remove()
		return nil, fmt.Errorf("building the %s pod helper: %w\n%s", flavor, err, out)
	}
	built := 1
	if withBatchd {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", b.batchd, "./cmd/batchd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.remove()
			return nil, fmt.Errorf("building ./cmd/batchd: %w\n%s", err, out)
		}
		built++
	}
	logf(progress, "built %d binaries (the %s pod helper) in %s in %v", built, flavor, tmp, time.Since(start).Round(100*time.Millisecond))
	return b, nil
}

func (b *binaries) remove() {
	if b != nil && b.temp {
		os.RemoveAll(b.dir)
	}
}

// tmpfsDir makes a temporary directory on tmpfs (controlplane.RunRoot,
// mounted if need be, else /dev/shm),
// where the hostproc runtime keeps its state in production; else in the
// default temporary directory.
func tmpfsDir(pattern string) (string, error) {
	controlplane.EnsureRunRoot(slog.New(slog.DiscardHandler))
	for _, parent := range []string{controlplane.RunRoot, "/dev/shm"} {
		if on, err := tmpfs.OnTmpfs(parent); err != nil || !on {
			continue
		}
		if d, err := os.MkdirTemp(parent, pattern); err == nil {
			return d, nil
		}
	}
	return os.MkdirTemp("", pattern)
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
