package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
)

// podCloneFlags are the namespaces hostproc starts every pod's helper in
// (hostproc's cloneFlags): mount, UTS, IPC and PID.
const podCloneFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWPID

// baselineNames name the baselines in the table.
var baselineNames = map[string]string{
	"exec":   "baseline fork/exec",
	"ns":     "baseline fork/exec in pod namespaces",
	"helper": "baseline hostproc pods (batchd-pod)",
}

// baselineOnce spawns n /bin/true processes, conc at a time, the way kind
// says, records its figures and its ratio to the system's wall time.
func baselineOnce(ctx context.Context, kind string, n, conc int, helper, disk string, res *results, scen string, systemWall time.Duration, run int, progress io.Writer) error {
	var (
		one     func(ctx context.Context, i int) error
		cleanup func()
	)
	switch kind {
	case "exec":
		one = func(ctx context.Context, _ int) error { return exec.CommandContext(ctx, "/bin/true").Run() }
	case "ns":
		one = func(ctx context.Context, _ int) error {
			cmd := exec.CommandContext(ctx, "/bin/true")
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: podCloneFlags, Setsid: true}
			return cmd.Run()
		}
	case "helper":
		var err error
		one, cleanup, err = hostprocPods(helper, disk)
		if err != nil {
			return err
		}
		defer cleanup()
	default:
		return fmt.Errorf("unknown baseline %q", kind)
	}
	child0 := childCPUTime()
	wall, lats, err := spawnLoop(ctx, n, conc, one)
	childCPU := childCPUTime() - child0
	if err != nil {
		return err
	}
	name := baselineNames[kind]
	res.add(scen, name+": wall time", "s", wall.Seconds())
	res.add(scen, name+": processes per second", "procs/s", float64(n)/wall.Seconds())
	res.add(scen, name+": start to exit p50", "ms", ms(percentile(lats, 50)))
	res.add(scen, name+": start to exit p99", "ms", ms(percentile(lats, 99)))
	res.add(scen, name+": child CPU per process", "ms", ms(childCPU)/float64(n))
	res.add(scen, "ratio system / "+strings.TrimPrefix(name, "baseline "), "x", systemWall.Seconds()/wall.Seconds())
	if kind == "helper" {
		res.note(scen, name+": start to exit p50", "a whole pod: StartPod, StartContainer, Wait and RemovePod")
		res.note(scen, name+": start to exit p99", "a whole pod: StartPod, StartContainer, Wait and RemovePod")
	}
	logf(progress, "%s run %d: %s: %d in %v (%.0f/s), p50 %.2f ms p99 %.2f ms; system/baseline %.2fx",
		scen, run, name, n, wall.Round(time.Millisecond), float64(n)/wall.Seconds(),
		ms(percentile(lats, 50)), ms(percentile(lats, 99)), systemWall.Seconds()/wall.Seconds())
	return nil
}

// spawnLoop calls one n times from conc goroutines, each calling again as
// soon as its last call returns, and returns the wall time and each call's
// duration. The first error stops it.
func spawnLoop(ctx context.Context, n, conc int, one func(ctx context.Context, i int) error) (time.Duration, []time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lats := make([]time.Duration, n)
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	start := time.Now()
	for range min(conc, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := one(ctx, i); err != nil {
					errOnce.Do(func() { first = err; cancel() })
					return
				}
				lats[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	return time.Since(start), lats, first
}

// hostprocPods returns a function that runs one whole /bin/true pod
// through the hostproc runtime and the batchd-pod helper, as the agent
// does: StartPod with the pod's log directory on disk, StartContainer,
// Wait, RemovePod; state on tmpfs, cgroups detected (limits none). It
// skips what the agent adds around that: the API, volumes and status.
func hostprocPods(helper, disk string) (func(ctx context.Context, i int) error, func(), error) {
	state, err := tmpfsDir("batchd-bench-hostproc-")
	if err != nil {
		return nil, nil, err
	}
	logs, removeLogs, err := diskDir(disk, "batchd-bench-logs-")
	if err != nil {
		os.RemoveAll(state)
		return nil, nil, err
	}
	parent := "batchd-bench-" + strconv.Itoa(os.Getpid())
	cleanup := func() {
		os.RemoveAll(state)
		removeLogs()
		removeCgroupParent(parent)
	}
	rt, err := hostproc.New(hostproc.Config{StateDir: state, HelperPath: helper, CgroupParent: parent, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	one := func(ctx context.Context, i int) error {
		name := "true-" + strconv.Itoa(i)
		pod, err := rt.StartPod(ctx, podruntime.PodSpec{
			Name: name, Namespace: benchNamespace, UID: name, Hostname: name,
			LogDirectory: filepath.Join(logs, benchNamespace+"_"+name+"_"+name),
		})
		if err != nil {
			return err
		}
		id, err := rt.StartContainer(ctx, pod, podruntime.ContainerSpec{Name: "true", Command: []string{"/bin/true"}})
		if err == nil {
			var st podruntime.ExitStatus
			if st, err = rt.Wait(ctx, id); err == nil && st.Code != 0 {
				err = fmt.Errorf("pod %s exited with %d", name, st.Code)
			}
		}
		return errors.Join(err, rt.RemovePod(ctx, pod))
	}
	return one, cleanup, nil
}

// removeCgroupParent removes the (empty) cgroup parent hostproc created
// below this process's cgroup in each hierarchy.
func removeCgroupParent(parent string) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return
	}
	for line := range strings.Lines(string(b)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", parts[2], parent))
		dirs2, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", parts[2], parent))
		for _, d := range append(dirs, dirs2...) {
			os.Remove(d)
		}
	}
}
