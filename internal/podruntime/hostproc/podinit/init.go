package podinit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/batchd/batchd/internal/crilog"
)

// forwarded are the signals the helper passes on to the command.
var forwarded = []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1}

// Main runs the helper with args (os.Args[1:]) and returns its exit code:
// 0 once the container's exit is recorded, non-zero if it could not be
// started or recorded. It is meant to be the whole of a main function.
func Main(args []string) int {
	if len(args) != 2 || args[0] != Arg {
		fmt.Fprintf(os.Stderr, "usage: %s %s <container-dir>\n", filepath.Base(os.Args[0]), Arg)
		return 2
	}
	// Signals first: as PID 1 of a namespace, a signal without a handler
	// from the runtime would be dropped or, with Go's default, end us.
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, append(forwarded, unix.SIGUSR2, unix.SIGCHLD)...)
	unix.CloseOnExec(SyncFD)
	sync := os.NewFile(SyncFD, "sync")

	dir, err := os.OpenRoot(args[1])
	if err != nil {
		report(sync, fmt.Errorf("opening container directory: %w", err))
		return 1
	}
	c, err := start(dir)
	if err != nil {
		now := time.Now()
		werr := writeRecord(dir, ExitFile, Exit{Code: 128, StartError: err.Error(), FinishedAt: now})
		report(sync, err)
		if werr != nil {
			return 1
		}
		return 0
	}
	report(sync, nil)
	if err := c.supervise(sigs); err != nil {
		return 1
	}
	return 0
}

func report(sync *os.File, err error) {
	msg := SyncOK
	if err != nil {
		msg = strings.ReplaceAll(err.Error(), "\n", " ")
	}
	// The runtime may be gone (agent restart): that is fine.
	sync.Write([]byte(msg + "\n"))
	sync.Close()
}

// container is a started command under supervision.
type container struct {
	dir       *os.Root
	pid       int // in our namespace
	startedAt time.Time
	oom       *os.File // nil without a memory cgroup
	log       *os.File
	copiers   sync.WaitGroup
	note      string // something the exit record should mention
	cg        *cgroupFiles
	exec      *execServer
}

func start(dir *os.Root) (*container, error) {
	b, err := dir.ReadFile(SpecFile)
	if err != nil {
		return nil, fmt.Errorf("reading spec: %w", err)
	}
	var file struct {
		Init Spec `json:"init"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("decoding spec: %w", err)
	}
	spec := &file.Init
	if len(spec.Command) == 0 {
		return nil, errors.New("spec has no command")
	}

	// While /proc is still the host's: who we are in the host's PID
	// namespace, and our cgroups.
	self, err := os.Readlink("/proc/self")
	if err != nil {
		return nil, fmt.Errorf("reading host pid: %w", err)
	}
	hostPid, err := strconv.Atoi(self)
	if err != nil {
		return nil, fmt.Errorf("parsing host pid %q: %w", self, err)
	}
	ticks, err := StartTicks("/proc/self/stat")
	if err != nil {
		return nil, fmt.Errorf("reading start time: %w", err)
	}
	cg, err := openCgroups(spec.Cgroups)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			cg.close()
		}
	}()
	c := &container{dir: dir, cg: cg}
	if spec.OOMFile != "" {
		if c.oom, err = os.Open(spec.OOMFile); err != nil {
			return nil, fmt.Errorf("opening OOM counter: %w", err)
		}
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	logf, err := os.OpenFile(spec.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}

	if err := setupMounts(spec); err != nil {
		logf.Close()
		return nil, err
	}
	path, err := lookPath(spec.Command[0], spec.Env)
	if err != nil {
		logf.Close()
		return nil, err
	}
	ln, err := listenExec(dir)
	if err != nil {
		logf.Close()
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		logf.Close()
		ln.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		logf.Close()
		ln.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	attr := &syscall.ProcAttr{
		Dir:   spec.WorkingDir,
		Env:   spec.Env,
		Files: []uintptr{devnull.Fd(), outW.Fd(), errW.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	}
	if u := spec.User; u != nil {
		attr.Sys.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
		if u.Groups == nil {
			attr.Sys.Credential.Groups = []uint32{}
		}
	}
	if err := cg.join(); err != nil {
		logf.Close()
		ln.Close()
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return nil, err
	}
	pid, err := syscall.ForkExec(path, spec.Command, attr)
	c.startedAt = time.Now()
	lerr := cg.leave()
	outW.Close()
	errW.Close()
	if err != nil {
		logf.Close()
		ln.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("exec: %q: %w", spec.Command[0], err)
	}
	c.pid = pid
	if lerr != nil {
		// We stay in the container's cgroups: the command runs, but our
		// memory counts against its limit. Not worth failing the start.
		c.note = fmt.Sprintf("helper could not return to its own cgroups: %v", lerr)
	}

	// The copiers are owned by supervise, which waits for them.
	c.log = logf
	lw := crilog.NewWriter(logf, crilog.WriterOptions{MaxLineSize: spec.MaxLogLineSize})
	c.copiers.Go(func() { copyStream(lw.Stream(crilog.Stdout), outR) })
	c.copiers.Go(func() { copyStream(lw.Stream(crilog.Stderr), errR) })
	// Commands can be run in the container from the moment it is
	// recorded as running.
	c.exec = newExecServer(ln, spec, cg)
	started = true

	if err := writeRecord(dir, RunningFile, Running{Pid: hostPid, StartTicks: ticks, StartedAt: c.startedAt}); err != nil {
		c.exec.close()
		unix.Kill(-1, unix.SIGKILL)
		return nil, err
	}
	return c, nil
}

func copyStream(w *crilog.StreamWriter, r *os.File) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				break // the log is broken; keep draining so the command never blocks
			}
		}
		if err != nil {
			break
		}
	}
	// Drain anything left without logging it, then flush.
	io.Copy(io.Discard, r)
	w.Close()
	r.Close()
}

// supervise runs until the command exits, then records the exit.
func (c *container) supervise(sigs chan os.Signal) error {
	ws, done := reap(c.pid, c.exec.exited)
	for !done {
		switch sig := <-sigs; sig {
		case unix.SIGCHLD:
			ws, done = reap(c.pid, c.exec.exited)
		case unix.SIGUSR2:
			unix.Kill(-1, unix.SIGKILL)
		default:
			unix.Kill(c.pid, sig.(syscall.Signal))
		}
	}
	finished := time.Now()
	signal.Stop(sigs)

	// The container is its main process: run no more commands in it, end
	// whatever it left behind, reap it, and let the log copiers see the
	// end of both pipes.
	c.exec.close()
	unix.Kill(-1, unix.SIGKILL)
	for {
		var s unix.WaitStatus
		pid, err := unix.Wait4(-1, &s, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			break // ECHILD: nothing left
		}
		c.exec.exited(pid, s)
	}
	c.exec.wait(200 * time.Millisecond)
	defer c.cg.close()
	copied := make(chan struct{})
	go func() { c.copiers.Wait(); close(copied) }()
	select {
	case <-copied:
		c.log.Close()
	case <-time.After(5 * time.Second):
		// A pipe is held open from outside the namespace; the process
		// exit ends the copiers and this waiter.
		c.note = "log copy did not finish"
	}

	rec := Exit{StartedAt: c.startedAt, FinishedAt: finished, Message: c.note}
	switch {
	case ws.Signaled():
		rec.Signal = int(ws.Signal())
		rec.Code = 128 + rec.Signal
	default:
		rec.Code = ws.ExitStatus()
	}
	if c.oom != nil {
		n, err := oomKills(c.oom)
		if err != nil && rec.Message == "" {
			rec.Message = err.Error()
		}
		rec.OOMKills = n
	}
	return writeRecord(c.dir, ExitFile, rec)
}

// reap collects every exited child; done reports whether the command was
// among them, with its status. Other children go to other (the exec
// server's commands, or orphans it does not know).
func reap(cmd int, other func(pid int, ws unix.WaitStatus) bool) (ws unix.WaitStatus, done bool) {
	for {
		var s unix.WaitStatus
		pid, err := unix.Wait4(-1, &s, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return ws, done
		}
		if pid == cmd {
			ws, done = s, true
		} else {
			other(pid, s)
		}
	}
}

// oomKills reads the "oom_kill <n>" line of a memory cgroup's
// memory.oom_control (v1) or memory.events (v2).
func oomKills(f *os.File) (uint64, error) {
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("reading OOM counter: %w", err)
	}
	for line := range bytes.Lines(buf[:n]) {
		if v, ok := bytes.CutPrefix(line, []byte("oom_kill ")); ok {
			return strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		}
	}
	return 0, errors.New("reading OOM counter: no oom_kill line (kernel older than 4.13?)")
}

// writeRecord writes v as JSON to name in dir, atomically.
func writeRecord(dir *os.Root, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := dir.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := dir.Rename(tmp, name); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// defaultPath is containerd's default PATH for Linux containers.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath resolves file as a container would: with the PATH of its own
// environment, in its own mount view.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if err := executable(file); err != nil {
			return "", fmt.Errorf("exec: %q: %w", file, err)
		}
		return file, nil
	}
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, file)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory")
	}
	if fi.Mode()&0o111 == 0 {
		return os.ErrPermission
	}
	return nil
}
