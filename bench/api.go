package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/batchd/batchd/internal/controlplane"
)

// apiFlags are the knobs of the api benchmark.
type apiFlags struct {
	runs          int
	noFsync       bool
	jsonPath      string
	cpuProfile    string
	timeout       time.Duration
	clients       []int
	contentTypes  []contentType
	creates       int
	serialCreates int
	watchEvents   int
	serialWatch   int
	listObjects   int
	connPerClient bool

	podList         int
	fanoutWatchers  int
	fanoutEvents    int
	fanoutInterval  time.Duration
	mutatingClients int
	mutatingCalls   int
}

func parseAPIFlags(args []string, stderr io.Writer) (apiFlags, error) {
	f := apiFlags{}
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench api [flags]\n\n"+
			"Starts an in-process batchd control plane on embedded etcd and measures it\n"+
			"through the API with client-go. Each figure is the median of -runs runs.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&f.runs, "runs", 3, "runs per figure; the table shows the median and the (min-max) range")
	fs.BoolVar(&f.noFsync, "no-fsync", false, "turn off fsync in embedded etcd (as tests do); production keeps it on")
	fs.StringVar(&f.jsonPath, "json", "", "also write the results as JSON to this `file`")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the measurements (server and clients share the process) to this `file`")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "total time budget; the results so far are printed when it runs out")
	clients := fs.String("clients", "1,32", "comma-separated numbers of concurrent clients (writers)")
	types := fs.String("content-types", "json,protobuf", "comma-separated content types: json, protobuf")
	fs.IntVar(&f.creates, "creates", 2000, "ConfigMaps created per run with more than one client")
	fs.IntVar(&f.serialCreates, "serial-creates", 500, "ConfigMaps created per run with one client")
	fs.IntVar(&f.watchEvents, "watch-events", 1000, "objects created (events awaited) per watch run with more than one writer")
	fs.IntVar(&f.serialWatch, "serial-watch-events", 300, "objects created per watch run with one writer")
	fs.IntVar(&f.listObjects, "list", 10000, "ConfigMaps in the namespace listed by the list figure; 0 skips it")
	fs.BoolVar(&f.connPerClient, "conn-per-client", false, "give each client its own clientset and HTTP/2 connection instead of sharing one")
	fs.IntVar(&f.podList, "pod-list", 10000, "pods in the namespace listed by the pod list figure; 0 skips it")
	fs.IntVar(&f.fanoutWatchers, "fanout-watchers", 50, "watchers of the watch fan-out figure, each on its own connection; 0 skips it")
	fs.IntVar(&f.fanoutEvents, "fanout-events", 200, "objects created (events awaited at every watcher) per fan-out run")
	fs.DurationVar(&f.fanoutInterval, "fanout-interval", 10*time.Millisecond, "time between the fan-out writer's creates")
	fs.IntVar(&f.mutatingClients, "mutating-clients", 50, "concurrent clients of the mutating-call figure, each on its own connection; 0 skips it")
	fs.IntVar(&f.mutatingCalls, "mutating-calls", 3000, "mutating calls (create, update, delete in turn) per run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, err
		}
		return f, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		return f, errUsage
	}
	var err error
	if f.clients, err = parseClients(*clients); err != nil {
		fmt.Fprintln(stderr, err)
		return f, errUsage
	}
	if f.contentTypes, err = parseContentTypes(*types); err != nil {
		fmt.Fprintln(stderr, err)
		return f, errUsage
	}
	for name, v := range map[string]int{"runs": f.runs, "creates": f.creates, "serial-creates": f.serialCreates,
		"watch-events": f.watchEvents, "serial-watch-events": f.serialWatch} {
		if v < 1 {
			fmt.Fprintf(stderr, "-%s must be at least 1, got %d\n", name, v)
			return f, errUsage
		}
	}
	if f.listObjects < 0 || f.timeout <= 0 {
		fmt.Fprintln(stderr, "-list must not be negative and -timeout must be positive")
		return f, errUsage
	}
	if f.podList < 0 || f.fanoutWatchers < 0 || f.fanoutEvents < 1 || f.fanoutInterval < 0 || f.mutatingClients < 0 || f.mutatingCalls < 3 {
		fmt.Fprintln(stderr, "-pod-list, -fanout-watchers and -mutating-clients must not be negative, -fanout-events at least 1, -mutating-calls at least 3")
		return f, errUsage
	}
	return f, nil
}

func parseClients(s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("-clients: %q is not a number from 1 to 1024", part)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseContentTypes(s string) ([]contentType, error) {
	var out []contentType
	for part := range strings.SplitSeq(s, ",") {
		ct, ok := contentTypes[strings.TrimSpace(part)]
		if !ok {
			return nil, fmt.Errorf("-content-types: unknown %q (want json or protobuf)", part)
		}
		out = append(out, ct)
	}
	return out, nil
}

// runAPI runs the api benchmark: start a server, measure, print, stop.
func runAPI(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	f, err := parseAPIFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	goroutinesBefore := runtime.NumGoroutine()
	rep := newReport(f)

	tmp, err := os.MkdirTemp("", "batchd-bench-")
	if err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing %s: %w", tmp, rerr))
		}
	}()

	srv, err := startServer(ctx, controlplane.Config{
		DataDir:      tmp,
		Listen:       "127.0.0.1:0",
		FastElection: true,
		NoFsync:      f.noFsync,
		Log:          slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	measureErr := func() error {
		ctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		if f.cpuProfile != "" {
			stop, err := startCPUProfile(f.cpuProfile)
			if err != nil {
				return err
			}
			defer func() {
				if perr := stop(); perr != nil {
					fmt.Fprintln(stderr, "bench:", perr)
				}
			}()
		}
		b := &apiBench{flags: f, base: srv.config, report: rep, progress: stderr}
		err := b.measure(ctx)
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("the time budget (-timeout %v) ran out; the table has the runs that finished: %w", f.timeout, err)
		}
		return err
	}()

	stopErr := srv.stop()
	rep.finish()
	if err := rep.writeTable(stdout); err != nil {
		return err
	}
	if f.jsonPath != "" {
		if err := rep.writeJSON(f.jsonPath); err != nil {
			return err
		}
	}
	if n := waitGoroutines(goroutinesBefore, 5*time.Second); n > goroutinesBefore {
		fmt.Fprintf(stderr, "bench: %d goroutines still running after shutdown (%d at start)\n", n, goroutinesBefore)
	}
	return errors.Join(measureErr, stopErr)
}

// server is a running control plane.
type server struct {
	config *rest.Config
	cancel context.CancelFunc
	done   chan error
}

// startupTimeout bounds how long the benchmark waits for the server.
const startupTimeout = time.Minute

// startServer runs a control plane until stop is called.
func startServer(ctx context.Context, cfg controlplane.Config) (*server, error) {
	cp, err := controlplane.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("configuring control plane: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &server{cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- cp.Run(ctx) }()
	select {
	case <-cp.Ready():
	case err := <-s.done:
		cancel()
		return nil, fmt.Errorf("control plane stopped before it was ready: %w", err)
	case <-time.After(startupTimeout):
		cancel()
		return nil, errors.Join(fmt.Errorf("control plane not ready after %v", startupTimeout), <-s.done)
	}
	s.config = cp.AdminConfig()
	s.config.QPS = -1 // no client-side throttling: measure the server
	return s, nil
}

// stop cancels the server and waits for Run to return.
func (s *server) stop() error {
	s.cancel()
	if err := <-s.done; err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("control plane: %w", err)
	}
	return nil
}

func startCPUProfile(path string) (stop func() error, err error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		return nil, errors.Join(fmt.Errorf("starting CPU profile: %w", err), out.Close())
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := out.Close(); err != nil {
			return fmt.Errorf("writing CPU profile: %w", err)
		}
		return nil
	}, nil
}

// startAllocProfile samples allocations finely (one sample per 64 KiB
// instead of 512) from now on, and stop writes the process's allocation
// profile to path: the runs' allocations, and the little the benchmark
// allocated before them.
func startAllocProfile(path string) (stop func() error, err error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating memory profile: %w", err)
	}
	runtime.MemProfileRate = 64 << 10
	return func() error {
		runtime.GC() // publish the runs' allocations
		if err := pprof.Lookup("allocs").WriteTo(out, 0); err != nil {
			return errors.Join(fmt.Errorf("writing memory profile: %w", err), out.Close())
		}
		if err := out.Close(); err != nil {
			return fmt.Errorf("writing memory profile: %w", err)
		}
		return nil
	}, nil
}

// waitGoroutines waits up to d for the number of goroutines to fall to want
// and returns the last count.
func waitGoroutines(want int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// apiBench holds what every measurement of the api benchmark shares.
type apiBench struct {
	flags    apiFlags
	base     *rest.Config
	report   *report
	progress io.Writer
}

// measure runs every figure -runs times, interleaving content types and
// client counts within a run so that a noisy moment on the shared machine
// does not land on a single cell.
func (b *apiBench) measure(ctx context.Context) error {
	for run := 1; run <= b.flags.runs; run++ {
		for _, ct := range b.flags.contentTypes {
			for _, n := range b.flags.clients {
				if err := b.createRun(ctx, run, ct, n); err != nil {
					return err
				}
				if err := b.watchRun(ctx, run, ct, n); err != nil {
					return err
				}
			}
		}
	}
	if b.flags.listObjects > 0 {
		if err := b.listRuns(ctx); err != nil {
			return err
		}
	}
	for run := 1; run <= b.flags.runs; run++ {
		for _, ct := range b.flags.contentTypes {
			if b.flags.fanoutWatchers > 0 {
				if err := b.fanoutRun(ctx, run, ct); err != nil {
					return err
				}
			}
			if b.flags.mutatingClients > 0 {
				if err := b.mutatingRun(ctx, run, ct); err != nil {
					return err
				}
			}
		}
	}
	if b.flags.podList > 0 {
		return b.podListRuns(ctx)
	}
	return nil
}

func (b *apiBench) logf(format string, args ...any) {
	fmt.Fprintf(b.progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// createsFor is the number of objects one run writes with n clients.
func createsFor(n, serial, concurrent int) int {
	if n == 1 {
		return serial
	}
	return concurrent
}

// median returns the middle of xs (the mean of the two middles for an even
// count); xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
