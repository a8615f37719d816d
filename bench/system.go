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
	"runtime/debug"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/controlplane"
)

// systemFlags are the knobs of the system benchmark.
type systemFlags struct {
	completions int
	parallelism int
	runs        int
	noFsync     bool
	baselines   []string
	bin         string
	jsonPath    string
	cpuProfile  string
	memProfile  string
	timeout     time.Duration
	upstream    bool   // the Job controller's upstream batching
	maxPods     int    // the Node's pods capacity; 0: enough for the parallelism
	disk        string // diskFresh or diskTmp
}

// baselineKinds are the raw baselines, in the order they run.
var baselineKinds = []string{"exec", "ns", "helper"}

func parseSystemFlags(args []string, stderr io.Writer) (systemFlags, error) {
	f := systemFlags{}
	fs := flag.NewFlagSet("system", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench system [flags]\n\n"+
			"Runs a Job of -completions /bin/true pods at -parallelism through the whole\n"+
			"system (API, Job controller, scheduler, node agent, hostproc runtime) of an\n"+
			"in-process control plane, then spawns the same processes directly with the\n"+
			"same concurrency (the raw baselines). Each figure is the median of -runs runs.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&f.completions, "completions", 1000, "pods the Job must complete")
	fs.IntVar(&f.parallelism, "parallelism", 100, "pods at once (and the baselines' concurrency)")
	fs.IntVar(&f.runs, "runs", 3, "runs; each runs the system once and every baseline once")
	fs.BoolVar(&f.noFsync, "no-fsync", false, "turn off fsync in embedded etcd; production keeps it on")
	base := fs.String("baselines", strings.Join(baselineKinds, ","), "comma-separated raw baselines to run: exec (plain fork/exec), ns (with the pod namespaces), helper (whole hostproc pods through batchd-pod); empty: none")
	fs.StringVar(&f.bin, "bin", "", "`dir`ectory holding a built batchd-pod (default: go build it into a temporary directory)")
	fs.StringVar(&f.jsonPath, "json", "", "also write the results as JSON to this `file`")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the system runs (server, agent and the benchmark's watches share the process) to this `file`")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a profile of the memory allocated during the system runs to this `file` (go tool pprof -sample_index=alloc_space)")
	fs.DurationVar(&f.timeout, "timeout", 15*time.Minute, "time budget of each system run")
	fs.IntVar(&f.maxPods, "max-pods", 0, "the node's pods capacity (batchd server --max-pods); 0: kubelet's 110, or the parallelism if higher, as a user running that many pods on one big machine would set it")
	diskFlag(fs, &f.disk, diskFresh)
	fs.BoolVar(&f.upstream, "upstream-batching", false, "the Job controller waits upstream's fixed 1 s after pod events instead of batchd's adaptive wait")
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
	if f.completions < 1 || f.parallelism < 1 || f.runs < 1 || f.timeout <= 0 {
		fmt.Fprintln(stderr, "-completions, -parallelism and -runs must be at least 1, -timeout positive")
		return f, errUsage
	}
	if err := validDisk(f.disk); err != nil {
		fmt.Fprintln(stderr, err)
		return f, errUsage
	}
	for b := range strings.SplitSeq(*base, ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if !containsString(baselineKinds, b) {
			fmt.Fprintf(stderr, "-baselines: unknown %q (want %s)\n", b, strings.Join(baselineKinds, ", "))
			return f, errUsage
		}
		f.baselines = append(f.baselines, b)
	}
	return f, nil
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// runSystem runs the system benchmark and its baselines.
func runSystem(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseSystemFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	bins, err := buildBinaries(ctx, f.bin, false, stderr)
	if err != nil {
		return err
	}
	defer bins.remove()

	res := newResults("system")
	res.param(fmt.Sprintf("system %d@%d", f.completions, f.parallelism), fmt.Sprintf("%d /bin/true pods at parallelism %d, in-process server with its agent (hostproc, node capacity %d pods), etcd fsync %v, disk %s", f.completions, f.parallelism, nodePods(f), !f.noFsync, f.disk))
	scen := fmt.Sprintf("system %d@%d", f.completions, f.parallelism)
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintln(stderr, "bench:", err)
			}
		}()
	}
	if f.memProfile != "" {
		stop, err := startAllocProfile(f.memProfile)
		if err != nil {
			return err
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintln(stderr, "bench:", err)
			}
		}()
	}
	var errs []error
	for run := 1; run <= f.runs && ctx.Err() == nil; run++ {
		wall, err := systemOnce(ctx, f, bins.helper, res, scen, run, stderr)
		if err != nil {
			err = fmt.Errorf("%s run %d: %w", scen, run, err)
			res.fail(err)
			errs = append(errs, err)
			continue
		}
		for _, kind := range f.baselines {
			if ctx.Err() != nil {
				break
			}
			if err := baselineOnce(ctx, kind, f.completions, f.parallelism, bins.helper, f.disk, res, scen, wall, run, stderr); err != nil {
				err = fmt.Errorf("%s baseline %s run %d: %w", scen, kind, run, err)
				res.fail(err)
				errs = append(errs, err)
			}
		}
	}
	if err := res.output(stdout, f.jsonPath); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// podTimes is when the benchmark's watch first saw a pod in each state,
// by the local clock.
type podTimes struct {
	added, bound, running, succeeded time.Time
	failed                           bool
}

// podTracker records podTimes from a pod watch.
type podTracker struct {
	mu            sync.Mutex
	pods          map[types.UID]*podTimes
	succeeded     int
	failed        int
	failures      []string // why the first few failed pods failed
	lastSucceeded time.Time
	changed       chan struct{} // receives (without blocking) on each new success
}

func newPodTracker() *podTracker {
	return &podTracker{pods: map[types.UID]*podTimes{}, changed: make(chan struct{}, 1)}
}

// observe handles one watch event of pod, received at.
func (t *podTracker) observe(pod *corev1.Pod, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pods[pod.UID]
	if p == nil {
		p = &podTimes{added: at}
		t.pods[pod.UID] = p
	}
	if p.bound.IsZero() && pod.Spec.NodeName != "" {
		p.bound = at
	}
	if p.running.IsZero() && started(pod) {
		p.running = at
	}
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		if p.succeeded.IsZero() {
			p.succeeded = at
			t.succeeded++
			t.lastSucceeded = at
			select {
			case t.changed <- struct{}{}:
			default:
			}
		}
	case corev1.PodFailed:
		if !p.failed {
			p.failed = true
			t.failed++
			if len(t.failures) < 3 {
				t.failures = append(t.failures, failure(pod))
			}
		}
	}
}

// failure says why a failed pod failed, for the progress log.
func failure(pod *corev1.Pod) string {
	msg := fmt.Sprintf("pod %s: %s %s", pod.Name, pod.Status.Reason, pod.Status.Message)
	for _, c := range pod.Status.ContainerStatuses {
		if t := c.State.Terminated; t != nil {
			msg += fmt.Sprintf("; container %s: exit %d, %s %q", c.Name, t.ExitCode, t.Reason, t.Message)
		}
	}
	return msg
}

// started reports whether a pod's container has started: the phase is
// Running or terminal, or a container status says running or terminated.
// A /bin/true pod may skip Running entirely.
func started(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed:
		return true
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Running != nil || cs.State.Terminated != nil {
			return true
		}
	}
	return false
}

// follow watches from resourceVersion rv, re-watching when the server ends
// a watch, and hands every object to fn with the time its event arrived.
// It returns when ctx ends.
func follow(ctx context.Context, rv string, watchFn cache.WatchFuncWithContext, fn func(obj any, at time.Time)) error {
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, rv, &cache.ListWatch{WatchFuncWithContext: watchFn})
	if err != nil {
		return err
	}
	defer rw.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rw.Done():
			return errors.New("watch ended")
		case ev, ok := <-rw.ResultChan():
			if !ok {
				return errors.New("watch ended")
			}
			at := time.Now()
			if ev.Type == watch.Error {
				return fmt.Errorf("watch: %w", apierrors.FromObject(ev.Object))
			}
			fn(ev.Object, at)
		}
	}
}

// benchNamespace is where the system benchmark's Job runs.
const benchNamespace = "bench"

// systemJob is a Job of /bin/true pods, as a user would write it.
func systemJob(completions, parallelism int) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "true", Namespace: benchNamespace},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(int32(completions)),
			Parallelism: ptr.To(int32(parallelism)),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "true", Image: "busybox", Command: []string{"/bin/true"}}},
			}},
		},
	}
}

// systemOnce starts a control plane with its agent on a fresh data
// directory, runs the Job to completion, records the figures and stops
// the server. It returns the wall time, create to Complete.
func systemOnce(ctx context.Context, f systemFlags, helper string, res *results, scen string, run int, progress io.Writer) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	// Start each run's server from a collected heap, so that its peak RSS
	// owes little to the runs before.
	runtime.GC()
	debug.FreeOSMemory()
	srv, remove, err := startNodeServer(ctx, controlplane.Config{
		NoFsync:       f.noFsync,
		JobController: controlplane.JobControllerConfig{MinBatchPeriod: upstreamBatching(f.upstream)},
		Agent:         controlplane.AgentConfig{MaxPods: nodePods(f)},
	}, f.disk, helper, progress)
	if err != nil {
		return 0, err
	}
	defer remove()
	wall, err := systemMeasure(ctx, f, srv, res, scen, run, progress)
	stopStart := time.Now()
	stopErr := srv.stop()
	logf(progress, "%s run %d: server stopped in %v", scen, run, time.Since(stopStart).Round(time.Millisecond))
	return wall, errors.Join(err, stopErr)
}

// startNodeServer starts an in-process control plane with its node agent
// as the system and latency scenarios measure it: cfg with a fresh data
// directory on disk, the runtime's state on tmpfs, the helper, warnings
// logged to progress, and the API and the agent's endpoint on free ports
// (kubelet's :10250 may be taken by another server). remove deletes both
// directories once the server has stopped.
func startNodeServer(ctx context.Context, cfg controlplane.Config, disk, helper string, progress io.Writer) (srv *server, remove func(), err error) {
	dataDir, removeData, err := diskDir(disk, "batchd-bench-node-")
	if err != nil {
		return nil, nil, err
	}
	rtDir, err := tmpfsDir("batchd-bench-rt-")
	if err != nil {
		removeData()
		return nil, nil, err
	}
	remove = func() {
		os.RemoveAll(rtDir)
		removeData()
	}
	cfg.DataDir, cfg.Listen = dataDir, "127.0.0.1:0"
	cfg.Log = slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.Agent.HelperPath, cfg.Agent.RuntimeStateDir, cfg.Agent.ListenAddress = helper, rtDir, "127.0.0.1:0"
	if srv, err = startServer(ctx, cfg); err != nil {
		remove()
		return nil, nil, err
	}
	return srv, remove, nil
}

func systemMeasure(ctx context.Context, f systemFlags, srv *server, res *results, scen string, run int, progress io.Writer) (time.Duration, error) {
	conf := *srv.config
	conf.ContentType = ctProtobuf.mime
	cs, err := kubernetes.NewForConfig(&conf)
	if err != nil {
		return 0, err
	}
	node, err := awaitReadyNode(ctx, cs)
	if err != nil {
		return 0, err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}, metav1.CreateOptions{}); err != nil {
		return 0, fmt.Errorf("creating namespace: %w", err)
	}
	pods, err := cs.CoreV1().Pods(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	jobs, err := cs.BatchV1().Jobs(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}

	wctx, stopWatches := context.WithCancel(ctx)
	tracker := newPodTracker()
	type jobEnd struct {
		at       time.Time
		job      *batchv1.Job
		complete bool
	}
	ended := make(chan jobEnd, 1)
	watchErrs := make(chan error, 2)
	var wg sync.WaitGroup
	defer func() {
		stopWatches()
		wg.Wait()
	}()
	wg.Go(func() {
		watchErrs <- follow(wctx, pods.ResourceVersion, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cs.CoreV1().Pods(benchNamespace).Watch(ctx, o)
		}, func(obj any, at time.Time) {
			if pod, ok := obj.(*corev1.Pod); ok {
				tracker.observe(pod, at)
			}
		})
	})
	wg.Go(func() {
		sent := false
		watchErrs <- follow(wctx, jobs.ResourceVersion, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cs.BatchV1().Jobs(benchNamespace).Watch(ctx, o)
		}, func(obj any, at time.Time) {
			job, ok := obj.(*batchv1.Job)
			if !ok || sent {
				return
			}
			for _, c := range job.Status.Conditions {
				if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
					sent = true
					ended <- jobEnd{at: at, job: job, complete: c.Type == batchv1.JobComplete}
					return
				}
			}
		})
	})

	peakOK := resetPeakRSS()
	cpu0, child0 := cpuTime(), childCPUTime()
	logf(progress, "%s run %d: node %s ready; creating the Job", scen, run, node)
	start := time.Now()
	if _, err := cs.BatchV1().Jobs(benchNamespace).Create(ctx, systemJob(f.completions, f.parallelism), metav1.CreateOptions{}); err != nil {
		return 0, fmt.Errorf("creating the Job: %w", err)
	}
	var end jobEnd
	select {
	case <-ctx.Done():
		tracker.mu.Lock()
		n := tracker.succeeded
		tracker.mu.Unlock()
		return 0, fmt.Errorf("waiting for the Job (%d pods succeeded so far): %w", n, ctx.Err())
	case err := <-watchErrs:
		return 0, err
	case end = <-ended:
	}
	wall := end.at.Sub(start)
	cpu, childCPU := cpuTime()-cpu0, childCPUTime()-child0
	mem, memErr := readProcStatus(0)
	if !end.complete {
		return 0, fmt.Errorf("the Job failed: %s", describeConditions(end.job))
	}
	// The Job watch may run ahead of the pod watch: let the pod watch
	// catch up with every success the Job counted.
	catchUp := time.After(10 * time.Second)
	for waiting := true; waiting; {
		tracker.mu.Lock()
		waiting = tracker.succeeded < f.completions
		tracker.mu.Unlock()
		if !waiting {
			break
		}
		select {
		case <-tracker.changed:
		case <-catchUp:
			waiting = false
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	stopWatches()

	tracker.mu.Lock()
	defer tracker.mu.Unlock()
	// A Job Complete over fewer succeeded pods than its completions has
	// counted a pod twice: a wrong result is not a measurement.
	if tracker.succeeded < f.completions {
		return 0, fmt.Errorf("the Job is Complete with %d succeeded but its pods' watch saw %d of %d succeed within 10s (%d pods seen)",
			end.job.Status.Succeeded, tracker.succeeded, f.completions, len(tracker.pods))
	}
	var toBound, toRunning, toSucceeded []time.Duration
	for _, p := range tracker.pods {
		if !p.bound.IsZero() {
			toBound = append(toBound, p.bound.Sub(p.added))
		}
		if !p.running.IsZero() {
			toRunning = append(toRunning, p.running.Sub(p.added))
		}
		if !p.succeeded.IsZero() {
			toSucceeded = append(toSucceeded, p.succeeded.Sub(p.added))
		}
	}
	n := float64(f.completions)
	res.add(scen, "wall time, Job create to Complete", "s", wall.Seconds())
	res.add(scen, "pods per second, end to end", "pods/s", n/wall.Seconds())
	res.add(scen, "pod create to bound to the node p50", "ms", ms(percentile(toBound, 50)))
	res.add(scen, "pod create to bound to the node p99", "ms", ms(percentile(toBound, 99)))
	res.add(scen, "pod create to Running p50", "ms", ms(percentile(toRunning, 50)))
	res.add(scen, "pod create to Running p99", "ms", ms(percentile(toRunning, 99)))
	res.add(scen, "pod create to Succeeded p50", "ms", ms(percentile(toSucceeded, 50)))
	res.add(scen, "pod create to Succeeded p99", "ms", ms(percentile(toSucceeded, 99)))
	res.add(scen, "last pod Succeeded to Job Complete", "ms", ms(end.at.Sub(tracker.lastSucceeded)))
	res.add(scen, "server process CPU", "cores", cpu.Seconds()/wall.Seconds())
	res.add(scen, "server process CPU per pod", "ms", ms(cpu)/n)
	res.add(scen, "pod processes CPU per pod", "ms", ms(childCPU)/n)
	if memErr == nil {
		if peakOK {
			res.add(scen, "server peak RSS during the Job", "MiB", mib(mem.hwm))
		}
		res.add(scen, "server RSS at Complete", "MiB", mib(mem.rss))
	}
	logf(progress, "%s run %d: Complete after %v (%.0f pods/s), %d pods seen, %d failed; create to bound p50 %.1f ms, to Running p50 %.1f ms p99 %.1f ms",
		scen, run, wall.Round(time.Millisecond), n/wall.Seconds(), len(tracker.pods), tracker.failed,
		ms(percentile(toBound, 50)), ms(percentile(toRunning, 50)), ms(percentile(toRunning, 99)))
	for _, f := range tracker.failures { // tracker.mu is held
		logf(progress, "%s run %d: failed %s", scen, run, f)
	}
	return wall, nil
}

// awaitReadyNode waits for a Node with Ready=True and returns its name.
func awaitReadyNode(ctx context.Context, cs kubernetes.Interface) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, n := range nodes.Items {
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						return n.Name, nil
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no Ready node (is the agent running? it needs root): %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func describeConditions(job *batchv1.Job) string {
	var parts []string
	for _, c := range job.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, "; ")
}

// upstreamBatching is the Job controller's MinBatchPeriod for
// -upstream-batching: negative turns batchd's adaptive wait off.
func upstreamBatching(on bool) time.Duration {
	if on {
		return -1
	}
	return 0
}

// nodePods is the Node's pods capacity for a system run: -max-pods, else
// kubelet's default or the Job's parallelism, whichever is higher, so that
// the parallelism measured is the one asked for.
func nodePods(f systemFlags) int {
	if f.maxPods > 0 {
		return f.maxPods
	}
	return max(agent.DefaultMaxPods, f.parallelism)
}
