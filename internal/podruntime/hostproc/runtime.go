package hostproc

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/batchd/batchd/internal/crilog"
	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
)

// ErrUnprivileged is wrapped by New's error when the process may not
// create mount and PID namespaces (it lacks CAP_SYS_ADMIN).
var ErrUnprivileged = errors.New("hostproc needs CAP_SYS_ADMIN (root) to create mount and PID namespaces")

// HelperName is the file name of the helper binary (cmd/batchd-pod).
const HelperName = "batchd-pod"

// Config configures a Runtime.
type Config struct {
	// StateDir holds pod state. It must survive agent restarts but need
	// not survive reboots (pods do not), so put it on tmpfs, as containerd
	// does with /run/containerd: e.g. /run/batchd/hostproc. On a disk,
	// its small file writes and renames cost milliseconds per pod when the
	// disk is busy. Logs go to PodSpec.LogDirectory, which should be on
	// disk (kubelet: /var/log/pods). Required. One live Runtime per
	// StateDir, except briefly while an agent restarts.
	StateDir string
	// HelperPath is the batchd-pod binary. Empty: batchd-pod next to the
	// running executable, else on $PATH.
	HelperPath string
	// Cgroups selects the cgroup backend; the zero value detects it.
	Cgroups CgroupMode
	// CgroupParent is the cgroup pods are created in, in every hierarchy:
	// relative to the agent's own cgroup, or from the hierarchy's root if
	// absolute. Empty: "batchd".
	CgroupParent string
	// MaxLogLineSize is where a log line is split into partial records.
	// 0: crilog.DefaultMaxLineSize (16 KiB, containerd's default).
	MaxLogLineSize int
	// Log receives the runtime's logs. nil: discarded.
	Log *slog.Logger
}

// Runtime is the host-process pod runtime. See the package documentation.
type Runtime struct {
	stateDir string
	helper   string
	maxLine  int
	cg       *cgroups
	log      *slog.Logger

	mu       sync.Mutex
	children map[podruntime.ContainerID]child // helpers this process started and has not reaped
}

// child is a helper this process started. Until it is reaped its PID
// names it, so waiting for it needs neither its running record nor a check
// of its start time.
type child struct {
	pid     int
	running bool // it reported the command running
}

var _ podruntime.Runtime = (*Runtime)(nil)
var _ podruntime.CapabilityReporter = (*Runtime)(nil)

// New checks privileges, finds the helper, creates StateDir and detects
// cgroups (creating the parent cgroup). It starts no process and no
// goroutine. Missing cgroup support is not an error: it is logged once
// and reported by Capabilities.
func New(cfg Config) (*Runtime, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("hostproc: StateDir is required")
	}
	if err := checkPrivileges(); err != nil {
		return nil, err
	}
	state, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("hostproc: resolving state directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(state, podsDir), 0o700); err != nil {
		return nil, fmt.Errorf("hostproc: creating state directory: %w", err)
	}
	helper := cfg.HelperPath
	if helper == "" {
		if helper, err = findHelper(); err != nil {
			return nil, err
		}
	}
	if fi, err := os.Stat(helper); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("hostproc: helper %s is not an executable file (err: %v)", helper, err)
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "batchd"
	}
	if cfg.MaxLogLineSize <= 0 {
		cfg.MaxLogLineSize = crilog.DefaultMaxLineSize
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cg := detectCgroups(cfg.Cgroups, cfg.CgroupParent)
	log.Info("Pod runtime ready", "runtime", "hostproc", "cgroups", string(cg.mode), "stateDir", state, "helper", helper)
	for _, w := range cg.caps.Warnings {
		log.Warn("Pod runtime limitation", "runtime", "hostproc", "warning", w)
	}
	return &Runtime{
		stateDir: state,
		helper:   helper,
		maxLine:  cfg.MaxLogLineSize,
		cg:       cg,
		log:      log,
		children: map[podruntime.ContainerID]child{},
	}, nil
}

func checkPrivileges() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("hostproc: reading capabilities: %w", err)
	}
	if data[0].Effective&(1<<unix.CAP_SYS_ADMIN) == 0 {
		return ErrUnprivileged
	}
	return nil
}

func findHelper() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), HelperName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(HelperName)
	if err != nil {
		return "", fmt.Errorf("hostproc: helper %s not found next to the executable or on $PATH: %w", HelperName, err)
	}
	return p, nil
}

// Capabilities reports what this host lets the runtime enforce.
func (r *Runtime) Capabilities() podruntime.Capabilities {
	c := r.cg.caps
	c.Warnings = slices.Clone(c.Warnings)
	return c
}

// StartPod records the pod. Its cgroups are its containers'.
func (r *Runtime) StartPod(ctx context.Context, spec podruntime.PodSpec) (podruntime.PodID, error) {
	if spec.LogDirectory != "" && !filepath.IsAbs(spec.LogDirectory) {
		return "", fmt.Errorf("starting pod %s/%s: log directory %q is not absolute", spec.Namespace, spec.Name, spec.LogDirectory)
	}
	id := newPodID()
	dir := r.podDir(id)
	if err := os.MkdirAll(filepath.Join(dir, containersDir), 0o700); err != nil {
		return "", fmt.Errorf("starting pod %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	if err := writeJSON(filepath.Join(dir, podFile), podRecord{Spec: spec, CreatedAt: time.Now()}); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("starting pod %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	return id, nil
}

// StartContainer starts the helper in new namespaces and waits for its
// report that the command runs.
func (r *Runtime) StartContainer(ctx context.Context, pod podruntime.PodID, spec podruntime.ContainerSpec) (podruntime.ContainerID, error) {
	if err := validateContainer(spec); err != nil {
		return "", fmt.Errorf("starting container %s in pod %s: %w", spec.Name, pod, err)
	}
	var pr podRecord
	if !validPodID(pod) {
		return "", fmt.Errorf("starting container %s: pod %s: %w", spec.Name, pod, podruntime.ErrNotFound)
	}
	if ok, err := readJSON(filepath.Join(r.podDir(pod), podFile), &pr); err != nil || !ok {
		if err == nil {
			err = podruntime.ErrNotFound
		}
		return "", fmt.Errorf("starting container %s: pod %s: %w", spec.Name, pod, err)
	}
	key := containerKey(spec.Name, spec.Attempt)
	id := containerID(pod, key)
	dir := r.containerDir(pod, key)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			err = podruntime.ErrExists
		}
		return "", fmt.Errorf("starting container %s: %w", id, err)
	}
	// From here on a failure must not leave a half-made container behind.
	// Cgroups go first: RemovePod finds them through the directory.
	undo := func(err error) (podruntime.ContainerID, error) {
		for _, h := range r.cg.hiers {
			os.Remove(filepath.Join(h.base, containerCgroup(id)))
		}
		os.RemoveAll(dir)
		return "", fmt.Errorf("starting container %s: %w", id, err)
	}

	logDir := pr.Spec.LogDirectory
	if logDir == "" {
		logDir = filepath.Join(r.podDir(pod), logsDir)
	}
	rel := spec.LogPath
	if rel == "" {
		rel = filepath.Join(spec.Name, fmt.Sprintf("%d.log", spec.Attempt))
	}
	logPath := filepath.Join(logDir, rel)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return undo(fmt.Errorf("creating log directory: %w", err))
	}
	cgs, oom, err := r.cg.createContainer(id, spec.Resources)
	if err != nil {
		return undo(err)
	}
	hspec := podinit.Spec{
		Command:        spec.Command,
		Env:            containerEnv(spec, pr.Spec.Hostname),
		WorkingDir:     cmp.Or(spec.WorkingDir, "/"),
		Hostname:       pr.Spec.Hostname,
		LogPath:        logPath,
		MaxLogLineSize: r.maxLine,
		RootDir:        filepath.Join(dir, rootDir),
		Cgroups:        cgs,
		OOMFile:        oom,
	}
	if u := spec.User; u != nil {
		hspec.User = &podinit.User{UID: u.UID, GID: u.GID, Groups: u.SupplementalGroups}
	}
	for _, m := range spec.Mounts {
		hspec.Mounts = append(hspec.Mounts, podinit.Mount{Source: m.HostPath, Target: m.ContainerPath, ReadOnly: m.ReadOnly})
	}
	b, err := hspec.MarshalBinary()
	if err != nil {
		return undo(err)
	}
	// No write-then-rename: the helper reads it only once it is complete,
	// and the container record, written next, is what marks the container
	// as existing.
	if err := writeFile(filepath.Join(dir, podinit.InitFile), b, createFlags, 0o600); err != nil {
		return undo(fmt.Errorf("writing helper spec: %w", err))
	}
	rec := containerRecord{Container: spec, LogPath: logPath, CreatedAt: time.Now()}
	if err := writeJSON(filepath.Join(dir, podinit.SpecFile), rec); err != nil {
		return undo(err)
	}
	c := container{id: id, pod: pod, dir: dir}
	msg, err := r.spawn(ctx, c)
	switch {
	case errors.Is(err, errSpawn):
		return undo(err)
	case err != nil: // ctx ended: the helper was killed, a StartError recorded
		return id, fmt.Errorf("starting container %s: %w: %w", id, podruntime.ErrStartFailed, err)
	case msg != podinit.SyncOK:
		return id, fmt.Errorf("starting container %s: %w: %s", id, podruntime.ErrStartFailed, msg)
	}
	r.log.Debug("Started container", "pod", string(pod), "container", string(id))
	return id, nil
}

func validateContainer(spec podruntime.ContainerSpec) error {
	if !validName(spec.Name) {
		return fmt.Errorf("name %q is not a DNS label", spec.Name)
	}
	if len(spec.Command) == 0 {
		return errors.New("no command")
	}
	if spec.WorkingDir != "" && !filepath.IsAbs(spec.WorkingDir) {
		return fmt.Errorf("working directory %q is not absolute", spec.WorkingDir)
	}
	for _, m := range spec.Mounts {
		if !filepath.IsAbs(m.HostPath) || !filepath.IsAbs(m.ContainerPath) {
			return fmt.Errorf("mount %s at %s: paths must be absolute", m.HostPath, m.ContainerPath)
		}
	}
	if filepath.IsAbs(spec.LogPath) || strings.Contains(spec.LogPath, "..") {
		return fmt.Errorf("log path %q must be relative to the pod's log directory", spec.LogPath)
	}
	return nil
}

// containerEnv is spec.Env plus what containerd and runc add when the
// image does not: PATH, HOSTNAME, HOME.
func containerEnv(spec podruntime.ContainerSpec, hostname string) []string {
	env := slices.Clone(spec.Env)
	has := func(k string) bool {
		return slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
	}
	if !has("PATH") {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	if hostname != "" && !has("HOSTNAME") {
		env = append(env, "HOSTNAME="+hostname)
	}
	if !has("HOME") {
		home := "/root"
		if spec.User != nil && spec.User.UID != 0 {
			home = "/"
		}
		env = append(env, "HOME="+home)
	}
	return env
}

// errSpawn: the helper could not be started at all (not the workload's
// fault; nothing is recorded).
var errSpawn = errors.New("spawning pod helper")

// cloneFlags are the helper's namespaces: mount, UTS (hostname), IPC and
// PID. The network namespace is the host's (hostNetwork).
const cloneFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWPID

// helperEnv is the helper's whole environment. GOMAXPROCS=1: the helper
// mostly waits, and one P spares it the threads that spin looking for work
// for a second P. (It does not spare the runtime's cgroup CPU-limit probe
// at start, /proc/self/cgroup, mountinfo and cpu.cfs_quota_us: Go 1.25 and
// later make it either way.) The GC is left on: a container's start never
// reaches the first collection (the helper's heap stays far below the
// 4 MiB goal), and a long-lived helper that runs many ExecSync commands
// needs one.
var helperEnv = []string{"GOMAXPROCS=1"}

// spawn starts the helper for c and returns its start report: SyncOK or
// the reason the command could not start (the helper then recorded a
// StartError exit).
func (r *Runtime) spawn(ctx context.Context, c container) (string, error) {
	// Plain descriptors where the poller has nothing to do (/dev/null,
	// the helper's end of the pipe), and syscall.ForkExec rather than
	// os.StartProcess, whose pidfd we would close unused: we reap by PID
	// (reap), so a fresh instance can do the same.
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		return "", fmt.Errorf("%w: creating pipe: %v", errSpawn, err)
	}
	syncW := pipe[1]
	if err := unix.SetNonblock(pipe[0], true); err != nil {
		unix.Close(pipe[0])
		unix.Close(syncW)
		return "", fmt.Errorf("%w: creating pipe: %v", errSpawn, err)
	}
	syncR := os.NewFile(uintptr(pipe[0]), "sync") // non-blocking: in the poller, for readLine's deadline
	defer syncR.Close()
	devnull, err := open(os.DevNull, unix.O_RDONLY, 0)
	if err != nil {
		unix.Close(syncW)
		return "", fmt.Errorf("%w: %v", errSpawn, err)
	}
	pid, err := syscall.ForkExec(r.helper, []string{r.helper, podinit.Arg, c.dir}, &syscall.ProcAttr{
		Dir:   "/",
		Env:   helperEnv,
		Files: []uintptr{uintptr(devnull), uintptr(devnull), uintptr(devnull), uintptr(syncW)},
		Sys:   &syscall.SysProcAttr{Cloneflags: cloneFlags, Setsid: true},
	})
	unix.Close(devnull)
	unix.Close(syncW)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", errSpawn, r.helper, err)
	}
	r.mu.Lock()
	r.children[c.id] = child{pid: pid}
	r.mu.Unlock()

	line, err := readLine(ctx, syncR)
	if err != nil {
		// Cancelled, or the helper died before reporting: make sure it is
		// gone, and that the container has an exit.
		syscall.Kill(pid, syscall.SIGKILL)
		r.reapBlocking(c.id)
		msg := "pod helper exited before starting the command"
		if ctx.Err() != nil {
			msg = "start cancelled: " + ctx.Err().Error()
		}
		c.recordLost(podinit.Exit{Code: 128, StartError: msg, FinishedAt: time.Now()})
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return msg, nil
	}
	if line != podinit.SyncOK {
		r.reapBlocking(c.id) // it exits right after reporting
		return line, nil
	}
	r.mu.Lock()
	r.children[c.id] = child{pid: pid, running: true}
	r.mu.Unlock()
	return line, nil
}

// readLine reads one line from a pipe, giving up when ctx ends.
func readLine(ctx context.Context, f *os.File) (string, error) {
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(aLongTimeAgo) })
	defer stop()
	line, err := bufio.NewReader(f).ReadString('\n')
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if err != nil {
		return "", err // EOF: the helper died without a word
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// reap collects the zombie of c's helper if this process started it.
func (r *Runtime) reap(id podruntime.ContainerID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.children[id]
	if !ok {
		return
	}
	var ws unix.WaitStatus
	got, err := unix.Wait4(h.pid, &ws, unix.WNOHANG, nil)
	if got == h.pid || errors.Is(err, unix.ECHILD) {
		delete(r.children, id)
	}
}

// reapBlocking waits for a helper this process started and knows is exiting.
func (r *Runtime) reapBlocking(id podruntime.ContainerID) {
	r.mu.Lock()
	h, ours := r.children[id]
	delete(r.children, id)
	r.mu.Unlock()
	if !ours {
		return
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(h.pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// startTimeout bounds how long a container may stay without a running or
// exit record before a fresh instance considers its start lost.
const startTimeout = time.Minute

// helperOf returns a handle on c's helper, or nil if it is gone. A
// container still starting (no running record) is waited for.
func (r *Runtime) helperOf(ctx context.Context, c container) (*proc, error) {
	if p, ok, err := r.openChild(c.id); ok {
		return p, err
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		run, ok, err := c.running()
		if err != nil {
			return nil, err
		}
		if ok {
			p, err := openProc(run.Pid, run.StartTicks)
			if errors.Is(err, errGone) {
				return nil, nil
			}
			return p, err
		}
		if _, ok, err := c.exit(); err != nil || ok {
			return nil, err
		}
		fi, err := os.Stat(filepath.Join(c.dir, podinit.SpecFile))
		if err != nil {
			return nil, err
		}
		if time.Since(fi.ModTime()) > startTimeout {
			return nil, nil // an interrupted start
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// openChild returns a handle on c's helper if this process started it
// and it reported the command running (ok), without reading the running
// record. The lock keeps reap from freeing the PID for reuse before the
// pidfd holds the process; without pidfds (the fallback polls by PID,
// which a reap elsewhere could free) it declines.
func (r *Runtime) openChild(id podruntime.ContainerID) (p *proc, ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ours := r.children[id]
	if !ours || !h.running {
		return nil, false, nil
	}
	p, err = openProc(h.pid, 0)
	if err == nil && p.f == nil {
		return nil, false, nil
	}
	return p, err == nil, err
}

// settle returns c's exit once its helper is gone, recording a lost one
// if the helper left none.
func (r *Runtime) settle(c container, lost podinit.Exit) (podruntime.ExitStatus, error) {
	r.reap(c.id)
	e, ok, err := c.exit()
	if err != nil {
		return podruntime.ExitStatus{}, fmt.Errorf("reading exit of %s: %w", c.id, err)
	}
	if !ok {
		if e, err = c.recordLost(lost); err != nil {
			return podruntime.ExitStatus{}, fmt.Errorf("recording exit of %s: %w", c.id, err)
		}
	}
	return classify(e), nil
}

// lostExit is the record of a container whose helper ended without
// recording the exit: kubelet's ContainerStatusUnknown, code 137.
func lostExit() podinit.Exit {
	return podinit.Exit{Code: 128 + int(syscall.SIGKILL), Lost: true, Message: "the pod helper ended without recording the exit", FinishedAt: time.Now()}
}

// Wait blocks until the container's helper has recorded its exit.
func (r *Runtime) Wait(ctx context.Context, id podruntime.ContainerID) (podruntime.ExitStatus, error) {
	c, err := r.lookup(id)
	if err != nil {
		return podruntime.ExitStatus{}, fmt.Errorf("waiting for container: %w", err)
	}
	if e, ok, err := c.exit(); err != nil || ok {
		r.reap(c.id)
		return classify(e), err
	}
	p, err := r.helperOf(ctx, c)
	if err != nil {
		return podruntime.ExitStatus{}, fmt.Errorf("waiting for container %s: %w", id, err)
	}
	if p == nil {
		return r.settle(c, lostExit())
	}
	_, err = p.wait(ctx, time.Time{})
	p.close()
	if err != nil {
		return podruntime.ExitStatus{}, fmt.Errorf("waiting for container %s: %w", id, err)
	}
	return r.settle(c, lostExit())
}

// killTimeout is how long the helper gets to kill its namespace before it
// is killed itself (and the exit is recorded as lost).
const killTimeout = 5 * time.Second

// Stop asks the helper to forward SIGTERM, waits up to grace, then asks
// it to SIGKILL the whole PID namespace.
func (r *Runtime) Stop(ctx context.Context, id podruntime.ContainerID, grace time.Duration) error {
	c, err := r.lookup(id)
	if err != nil {
		return fmt.Errorf("stopping container: %w", err)
	}
	if _, ok, err := c.exit(); err != nil || ok {
		r.reap(c.id)
		return err
	}
	p, err := r.helperOf(ctx, c)
	if err != nil {
		return fmt.Errorf("stopping container %s: %w", id, err)
	}
	if p == nil {
		_, err := r.settle(c, lostExit())
		return err
	}
	defer p.close()
	// If the helper has to be killed, the container was killed by us: a
	// plain 137, not an unknown status.
	killed := podinit.Exit{Code: 128 + int(syscall.SIGKILL), Signal: int(syscall.SIGKILL), Message: "the pod helper did not act on the kill and was killed itself", FinishedAt: time.Now()}
	done := func() error {
		_, err := r.settle(c, killed)
		return err
	}
	if grace > 0 {
		if err := p.signal(unix.SIGTERM); err != nil {
			return fmt.Errorf("stopping container %s: %w", id, err)
		}
		exited, err := p.wait(ctx, time.Now().Add(grace))
		if exited {
			return done()
		}
		if err != nil {
			p.signal(unix.SIGUSR2) // do not leave it running past ctx
			return fmt.Errorf("stopping container %s: %w", id, err)
		}
	}
	if err := p.signal(unix.SIGUSR2); err != nil {
		return fmt.Errorf("killing container %s: %w", id, err)
	}
	exited, err := p.wait(ctx, time.Now().Add(killTimeout))
	if exited {
		return done()
	}
	// The helper did not act (or ctx ended): kill it, which ends its PID
	// namespace. Its exit is then ours to record.
	p.signal(unix.SIGKILL)
	if err != nil {
		return fmt.Errorf("killing container %s: %w", id, err)
	}
	if _, err := p.wait(ctx, time.Time{}); err != nil {
		return fmt.Errorf("killing container %s: %w", id, err)
	}
	return done()
}

// RemovePod kills what still runs, then deletes cgroups and state.
func (r *Runtime) RemovePod(ctx context.Context, pod podruntime.PodID) error {
	if !validPodID(pod) {
		return nil
	}
	dir := r.podDir(pod)
	ents, err := os.ReadDir(filepath.Join(dir, containersDir))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	} else if err != nil {
		return fmt.Errorf("removing pod %s: %w", pod, err)
	}
	var errs []error
	ids := make([]podruntime.ContainerID, 0, len(ents))
	for _, e := range ents {
		c := container{id: containerID(pod, e.Name()), pod: pod, dir: filepath.Join(dir, containersDir, e.Name())}
		ids = append(ids, c.id)
		if _, err := os.Stat(filepath.Join(c.dir, podinit.SpecFile)); err != nil {
			continue // a start that never got as far as its record
		}
		if err := r.Stop(ctx, c.id, 0); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing pod %s: %w", pod, err)
	}
	if err := r.cg.removeContainers(ctx, pod, ids); err != nil {
		return fmt.Errorf("removing pod %s: %w", pod, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing pod %s: %w", pod, err)
	}
	r.log.Debug("Removed pod", "pod", string(pod))
	return nil
}

// List reads every pod from the state directory.
func (r *Runtime) List(ctx context.Context) ([]podruntime.PodState, error) {
	ents, err := os.ReadDir(filepath.Join(r.stateDir, podsDir))
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	var pods []podruntime.PodState
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := podruntime.PodID(e.Name())
		if !validPodID(id) {
			continue
		}
		var pr podRecord
		ok, err := readJSON(filepath.Join(r.podDir(id), podFile), &pr)
		if err != nil {
			return nil, fmt.Errorf("listing pods: %w", err)
		}
		if !ok {
			continue // being created or removed
		}
		ps := podruntime.PodState{ID: id, Spec: pr.Spec, CreatedAt: pr.CreatedAt}
		cents, err := os.ReadDir(filepath.Join(r.podDir(id), containersDir))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("listing pod %s: %w", id, err)
		}
		for _, ce := range cents {
			cs, ok, err := r.containerState(container{id: containerID(id, ce.Name()), pod: id, dir: filepath.Join(r.podDir(id), containersDir, ce.Name())})
			if err != nil {
				return nil, fmt.Errorf("listing pod %s: %w", id, err)
			}
			if ok {
				ps.Containers = append(ps.Containers, cs)
			}
		}
		slices.SortFunc(ps.Containers, func(a, b podruntime.ContainerState) int {
			return cmp.Or(cmp.Compare(a.Spec.Name, b.Spec.Name), cmp.Compare(a.Spec.Attempt, b.Spec.Attempt))
		})
		pods = append(pods, ps)
	}
	slices.SortFunc(pods, func(a, b podruntime.PodState) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return pods, nil
}

func (r *Runtime) containerState(c container) (podruntime.ContainerState, bool, error) {
	var rec containerRecord
	ok, err := readJSON(filepath.Join(c.dir, podinit.SpecFile), &rec)
	if err != nil || !ok {
		return podruntime.ContainerState{}, false, err
	}
	cs := podruntime.ContainerState{ID: c.id, Spec: rec.Container, State: podruntime.StateCreated, LogPath: rec.LogPath}
	if e, ok, err := c.exit(); err != nil {
		return cs, false, err
	} else if ok {
		st := classify(e)
		cs.State, cs.Exit, cs.StartedAt = podruntime.StateExited, &st, st.StartedAt
		return cs, true, nil
	}
	run, ok, err := c.running()
	if err != nil {
		return cs, false, err
	}
	if !ok {
		if time.Since(rec.CreatedAt) > startTimeout {
			st, err := r.settle(c, lostExit())
			cs.State, cs.Exit = podruntime.StateExited, &st
			return cs, err == nil, err
		}
		return cs, true, nil
	}
	cs.StartedAt = run.StartedAt
	p, err := openProc(run.Pid, run.StartTicks)
	if err != nil && !errors.Is(err, errGone) {
		return cs, false, err
	}
	if p != nil {
		exited := p.exited()
		p.close()
		if !exited {
			cs.State = podruntime.StateRunning
			return cs, true, nil
		}
	}
	st, err := r.settle(c, lostExit())
	if err != nil {
		return cs, false, err
	}
	cs.State, cs.Exit = podruntime.StateExited, &st
	return cs, true, nil
}
