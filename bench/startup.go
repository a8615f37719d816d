package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/batchd/batchd/internal/controlplane"
)

// startupFlags are the knobs of the startup benchmark.
type startupFlags struct {
	runs       int
	pods       int
	workers    int
	bin        string
	jsonPath   string
	idle       time.Duration
	agent      string
	cacheDir   string
	regenerate bool
	timeout    time.Duration
}

func parseStartupFlags(args []string, stderr io.Writer) (startupFlags, error) {
	f := startupFlags{}
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench startup [flags]\n\n"+
			"Starts the real `batchd server` binary as a subprocess, on an empty data\n"+
			"directory and on one holding -pods finished pods, and measures the time from\n"+
			"process start to its \"batchd server ready\" log line, and its RSS once idle.\n"+
			"Each figure is the median of -runs runs.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&f.runs, "runs", 5, "starts of each data directory")
	fs.IntVar(&f.pods, "pods", 100000, "finished pods in the full data directory; 0 skips it")
	fs.IntVar(&f.workers, "workers", 64, "concurrent API clients writing the finished pods (once; the result is cached)")
	fs.StringVar(&f.bin, "bin", "", "`dir`ectory holding a built batchd and batchd-pod (default: go build them into a temporary directory)")
	fs.StringVar(&f.jsonPath, "json", "", "also write the results as JSON to this `file`")
	fs.DurationVar(&f.idle, "idle", 5*time.Second, "how long after ready the idle RSS is read")
	fs.StringVar(&f.agent, "agent", "auto", "run the server's node agent: on, off (--no-agent), or auto (on if kubelet's port 10250, which the agent listens on, is free)")
	fs.StringVar(&f.cacheDir, "cache", "", "`dir`ectory for the prepared data directories (default: the system's temporary directory)")
	fs.BoolVar(&f.regenerate, "regenerate", false, "write the full data directory again even if a cached one exists")
	fs.DurationVar(&f.timeout, "timeout", 3*time.Minute, "time budget of each server start")
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
	if f.runs < 1 || f.pods < 0 || f.workers < 1 || f.idle < 0 || f.timeout <= 0 {
		fmt.Fprintln(stderr, "-runs and -workers must be at least 1, -pods and -idle not negative, -timeout positive")
		return f, errUsage
	}
	switch f.agent {
	case "on", "off", "auto":
	default:
		fmt.Fprintln(stderr, "-agent: want on, off or auto")
		return f, errUsage
	}
	return f, nil
}

// runStartup runs the startup benchmark.
func runStartup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseStartupFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	res := newResults("startup")
	agent := f.agent == "on"
	if f.agent == "auto" {
		agent = portFree(":10250")
	}
	agentNote := "on"
	if !agent {
		agentNote = "off (--no-agent)"
		if f.agent == "auto" {
			agentNote += ": port 10250 is in use"
		}
	}
	res.param("startup", fmt.Sprintf("the batchd binary as a subprocess (`batchd server --listen 127.0.0.1:0`), node agent %s; idle RSS read %v after ready", agentNote, f.idle))

	var full string
	if f.pods > 0 {
		full, err = finishedPodsDir(ctx, f, stderr)
		if err != nil {
			return err
		}
	}
	bins, err := buildBinaries(ctx, f.bin, true, stderr)
	if err != nil {
		return err
	}
	defer bins.remove()

	var errs []error
	for run := 1; run <= f.runs && ctx.Err() == nil; run++ {
		empty, err := os.MkdirTemp("", "batchd-bench-startup-empty-")
		if err != nil {
			return err
		}
		if err := startOnce(ctx, f, bins.batchd, empty, agent, res, "startup, empty data dir", run, stderr); err != nil {
			err = fmt.Errorf("startup, empty data dir, run %d: %w", run, err)
			res.fail(err)
			errs = append(errs, err)
		}
		os.RemoveAll(empty)
		removeRuntimeStateDir(empty)
		if full == "" || ctx.Err() != nil {
			continue
		}
		scen := fmt.Sprintf("startup, %d finished pods", f.pods)
		if err := startOnce(ctx, f, bins.batchd, full, agent, res, scen, run, stderr); err != nil {
			err = fmt.Errorf("%s, run %d: %w", scen, run, err)
			res.fail(err)
			errs = append(errs, err)
		}
	}
	if err := res.output(stdout, f.jsonPath); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// portFree reports whether addr can be listened on now.
func portFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// readyMessage is the log message the server writes once it is ready.
const readyMessage = "batchd server ready"

// startOnce starts `batchd server` on dataDir, waits for its ready line,
// reads its RSS after -idle, stops it with SIGTERM and records the times.
func startOnce(ctx context.Context, f startupFlags, bin, dataDir string, agent bool, res *results, scen string, run int, progress io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	args := []string{"server", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-format", "json"}
	if !agent {
		args = append(args, "--no-agent")
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = io.Discard
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	type readyLine struct {
		at      time.Time
		elapsed time.Duration // as the server logged it; 0 if unknown
	}
	ready := make(chan readyLine, 1)
	var (
		tailMu sync.Mutex
		tail   []string // the last lines of its log, for errors
	)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		seen := false
		for sc.Scan() {
			line := sc.Text()
			if !seen && strings.Contains(line, readyMessage) {
				seen = true
				at := time.Now()
				var rec struct {
					Elapsed json.RawMessage `json:"elapsed"`
				}
				json.Unmarshal([]byte(line), &rec)
				ready <- readyLine{at: at, elapsed: parseLoggedDuration(rec.Elapsed)}
			}
			tailMu.Lock()
			tail = append(tail, line)
			if len(tail) > 20 {
				tail = tail[1:]
			}
			tailMu.Unlock()
		}
		exited <- cmd.Wait()
	}()
	lastLines := func() string {
		tailMu.Lock()
		defer tailMu.Unlock()
		return strings.Join(tail, "\n")
	}
	stop := func() (time.Duration, error) {
		t0 := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				return 0, err
			}
			return time.Since(t0), nil
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			return 0, errors.New("the server did not stop within 30 s of SIGTERM; killed")
		}
	}

	var r readyLine
	select {
	case r = <-ready:
	case err := <-exited:
		return fmt.Errorf("the server exited before it was ready (%v):\n%s", err, lastLines())
	case <-ctx.Done():
		stop()
		return fmt.Errorf("the server was not ready: %w\n%s", ctx.Err(), lastLines())
	}
	toReady := r.at.Sub(start)
	startMem, _ := readProcStatus(cmd.Process.Pid)
	select {
	case <-time.After(f.idle):
	case err := <-exited:
		return fmt.Errorf("the server exited while idle (%v):\n%s", err, lastLines())
	case <-ctx.Done():
		stop()
		return ctx.Err()
	}
	mem, memErr := readProcStatus(cmd.Process.Pid)
	shutdown, stopErr := stop()
	res.add(scen, "process start to ready", "ms", ms(toReady))
	if r.elapsed > 0 {
		res.add(scen, "ready, as the server logs it (from Run)", "ms", ms(r.elapsed))
	}
	if memErr == nil {
		res.add(scen, "RSS at ready", "MiB", mib(startMem.rss))
		res.add(scen, fmt.Sprintf("idle RSS, %v after ready", f.idle), "MiB", mib(mem.rss))
		res.add(scen, "peak RSS while starting and idle", "MiB", mib(mem.hwm))
	}
	if stopErr == nil {
		res.add(scen, "SIGTERM to exit", "ms", ms(shutdown))
	}
	logf(progress, "%s run %d: ready after %v (server says %v), idle RSS %.0f MiB", scen, run, toReady.Round(time.Millisecond), r.elapsed, mib(mem.rss))
	return stopErr
}

// parseLoggedDuration reads a duration as slog's JSON handler writes it
// (nanoseconds) or as text ("1.5s").
func parseLoggedDuration(raw json.RawMessage) time.Duration {
	var ns int64
	if err := json.Unmarshal(raw, &ns); err == nil {
		return time.Duration(ns)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if d, err := time.ParseDuration(s); err == nil {
			return d
		}
	}
	return 0
}

// removeRuntimeStateDir removes the hostproc state directory a server's
// agent made on tmpfs for dataDir (controlplane's default:
// /run/batchd/<first 8 bytes of sha256 of the absolute data dir>).
func removeRuntimeStateDir(dataDir string) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return
	}
	sum := sha256.Sum256([]byte(abs))
	os.RemoveAll(filepath.Join("/run/batchd", hex.EncodeToString(sum[:8])))
}

// completeMarker, in a prepared data directory, holds the number of
// finished pods it was written with; it is written last.
const completeMarker = "bench-finished-pods"

// finishedPodsDir returns a data directory holding f.pods finished pods,
// writing it the first time through the API of an in-process server and
// reusing it after that.
func finishedPodsDir(ctx context.Context, f startupFlags, progress io.Writer) (string, error) {
	parent := f.cacheDir
	if parent == "" {
		parent = os.TempDir()
	}
	dir := filepath.Join(parent, fmt.Sprintf("batchd-bench-startup-%d-pods", f.pods))
	if b, err := os.ReadFile(filepath.Join(dir, completeMarker)); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(f.pods) && !f.regenerate {
		logf(progress, "using the data directory with %d finished pods in %s (-regenerate writes it again)", f.pods, dir)
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	logf(progress, "writing %d finished pods into %s, once (about 2 writes per pod through the API)", f.pods, dir)
	start := time.Now()
	srv, err := startServer(ctx, controlplane.Config{
		DataDir:      dir,
		Listen:       "127.0.0.1:0",
		FastElection: true,
		NoFsync:      true, // the data is flushed when the server stops
		// Error: etcd warns of every slow request while it is flooded.
		Log:   slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelError})),
		Agent: controlplane.AgentConfig{Disabled: true},
	})
	if err != nil {
		return "", err
	}
	werr := writeFinishedPods(ctx, srv, f.pods, f.workers, progress)
	if err := errors.Join(werr, srv.stop()); err != nil {
		return "", fmt.Errorf("writing finished pods: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, completeMarker), []byte(strconv.Itoa(f.pods)+"\n"), 0o644); err != nil {
		return "", err
	}
	logf(progress, "wrote %d finished pods in %v", f.pods, time.Since(start).Round(time.Second))
	return dir, nil
}

// finishedNamespace holds the startup benchmark's finished pods.
const finishedNamespace = "finished"

// writeFinishedPods creates n pods bound to a node that does not exist
// (so no scheduler or agent touches them) and sets each one's status to
// Succeeded, as a finished Job's pod looks: workers clients at once, in
// protobuf, over several connections.
func writeFinishedPods(ctx context.Context, srv *server, n, workers int, progress io.Writer) error {
	const conns = 8
	var clients []kubernetes.Interface
	for range conns {
		conf := *srv.config
		conf.ContentType = ctProtobuf.mime
		cs, err := (&connections{}).newClient(&conf, ctProtobuf)
		if err != nil {
			return err
		}
		clients = append(clients, cs)
	}
	if _, err := clients[0].CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: finishedNamespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	var next, done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for w := range workers {
		cs := clients[w%conns]
		g.Go(func() error {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return nil
				}
				pod, err := cs.CoreV1().Pods(finishedNamespace).Create(gctx, finishedPod(i), metav1.CreateOptions{})
				if err != nil {
					return fmt.Errorf("creating pod %d: %w", i, err)
				}
				setSucceeded(pod)
				if _, err := cs.CoreV1().Pods(finishedNamespace).UpdateStatus(gctx, pod, metav1.UpdateOptions{}); err != nil {
					return fmt.Errorf("finishing pod %s: %w", pod.Name, err)
				}
				if d := done.Add(1); d%10000 == 0 {
					logf(progress, "  %d of %d pods written", d, n)
				}
			}
		})
	}
	return g.Wait()
}

// finishedPod is the i-th pod of a finished Job, as the Job controller
// creates them, bound to a node that does not exist.
func finishedPod(i int) *corev1.Pod {
	job := fmt.Sprintf("job-%d", i/1000)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%06d", job, i),
			Labels: map[string]string{
				"batch.kubernetes.io/job-name": job,
				"job-name":                     job,
			},
		},
		Spec: corev1.PodSpec{
			NodeName:      "bench-gone-node",
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name:    "work",
				Image:   "busybox",
				Command: []string{"sh", "-c", "echo done"},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
			}},
		},
	}
}

// setSucceeded gives pod the status of a pod whose container exited 0.
func setSucceeded(pod *corev1.Pod) {
	now := metav1.Now()
	pod.Status.Phase = corev1.PodSucceeded
	pod.Status.StartTime = &now
	pod.Status.HostIP = "127.0.0.1"
	pod.Status.PodIP = "127.0.0.1"
	pod.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "PodCompleted"},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: now, Reason: "PodCompleted"},
		{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, LastTransitionTime: now, Reason: "PodCompleted"},
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name:  "work",
		Image: "busybox",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now,
		}},
	}}
}
