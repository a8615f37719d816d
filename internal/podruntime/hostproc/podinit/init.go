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
	"slices"
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

	// The container directory is a descriptor that every file of ours in
	// it is opened relative to (without following symlinks), so that its
	// path is resolved once.
	dir, err := unix.Open(args[1], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		report(fmt.Errorf("opening container directory: %w", err))
		return 1
	}
	c, err := start(dir)
	if err != nil {
		werr := writeRecord(dir, ExitFile, Exit{Code: 128, StartError: err.Error(), FinishedAt: now()})
		report(err)
		if werr != nil {
			return 1
		}
		return 0
	}
	report(nil)
	if err := c.supervise(sigs); err != nil {
		return 1
	}
	return 0
}

// now is the time for records: in UTC, which needs no time zone database
// (time.Local would read /etc/localtime on every start) and means the
// same instant.
func now() time.Time { return time.Now().UTC() }

// report writes the start report on SyncFD and closes it.
func report(err error) {
	msg := SyncOK
	if err != nil {
		msg = strings.ReplaceAll(err.Error(), "\n", " ")
	}
	// The runtime may be gone (agent restart): that is fine.
	fdWriter(SyncFD).Write([]byte(msg + "\n"))
	unix.Close(SyncFD)
}

// container is a started command under supervision.
type container struct {
	dir       int // the container directory
	pid       int // in our namespace
	startedAt time.Time
	oom       int // the OOM counter; -1 without a memory cgroup
	log       int // the log file
	copiers   sync.WaitGroup
	note      string // something the exit record should mention
	cg        *cgroupFiles
	exec      *execServer
}

func start(dir int) (*container, error) {
	b, err := readFileAt(dir, InitFile, unix.O_NOFOLLOW)
	if err != nil {
		return nil, fmt.Errorf("reading spec: %w", err)
	}
	spec := &Spec{}
	if err := spec.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	if len(spec.Command) == 0 {
		return nil, errors.New("spec has no command")
	}

	// While /proc is still the host's: who we are in the host's PID
	// namespace (the stat file has both the PID and the start time), and
	// our cgroups.
	stat, err := readFile("/proc/self/stat")
	if err != nil {
		return nil, fmt.Errorf("reading host pid: %w", err)
	}
	hostPid, ticks, err := parseStat(stat)
	if err != nil {
		return nil, fmt.Errorf("parsing /proc/self/stat: %w", err)
	}
	cg, err := openCgroups(spec.Cgroups)
	if err != nil {
		return nil, err
	}
	// Until the command runs, a failure closes what is open so far.
	started := false
	var fds []int
	defer func() {
		if !started {
			cg.close()
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}()
	c := &container{dir: dir, cg: cg, oom: -1}
	if spec.OOMFile != "" {
		if c.oom, err = openAt(unix.AT_FDCWD, spec.OOMFile, unix.O_RDONLY, 0); err != nil {
			return nil, fmt.Errorf("opening OOM counter: %w", err)
		}
		fds = append(fds, c.oom)
	}
	devnull, err := openAt(unix.AT_FDCWD, os.DevNull, unix.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", os.DevNull, err)
	}
	defer unix.Close(devnull)
	if c.log, err = openAt(unix.AT_FDCWD, spec.LogPath, unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND, 0o640); err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	fds = append(fds, c.log)

	if err := setupMounts(spec); err != nil {
		return nil, err
	}
	path, err := lookPath(spec.Command[0], spec.Env)
	if err != nil {
		return nil, err
	}
	ln, err := listenExec(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if !started {
			ln.Close()
		}
	}()
	outR, outW, err := outputPipe("stdout")
	if err != nil {
		return nil, err
	}
	fds = append(fds, outW)
	errR, errW, err := outputPipe("stderr")
	if err != nil {
		outR.Close()
		return nil, err
	}
	fds = append(fds, errW)
	defer func() {
		if !started {
			outR.Close()
			errR.Close()
		}
	}()
	attr := &syscall.ProcAttr{
		Dir:   spec.WorkingDir,
		Env:   spec.Env,
		Files: []uintptr{uintptr(devnull), uintptr(outW), uintptr(errW)},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	}
	if u := spec.User; u != nil {
		attr.Sys.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
		if u.Groups == nil {
			attr.Sys.Credential.Groups = []uint32{}
		}
	}
	pid, lerr, err := cg.forkExec(path, spec.Command, attr)
	c.startedAt = now()
	// The command has its copies of the pipes' write ends; ours go, so
	// that the copiers see the end of output when the command's do.
	unix.Close(outW)
	unix.Close(errW)
	fds = slices.DeleteFunc(fds, func(fd int) bool { return fd == outW || fd == errW })
	if err != nil {
		return nil, fmt.Errorf("exec: %q: %w", spec.Command[0], err)
	}
	c.pid = pid
	if lerr != nil {
		// One of our threads (v1) or all of us (v2) stay in the
		// container's cgroups: the command runs, but we may count
		// against its limits. Not worth failing the start.
		c.note = fmt.Sprintf("helper could not return to its own cgroups: %v", lerr)
	}

	// The copiers are owned by supervise, which waits for them.
	lw := crilog.NewWriter(fdWriter(c.log), crilog.WriterOptions{MaxLineSize: spec.MaxLogLineSize})
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

// outputPipe returns a pipe for one of the command's output streams: the
// read end non-blocking in Go's poller, for a copier goroutine, and the
// write end a plain blocking descriptor for the command, never in the
// poller (which would cost registering and unregistering it for nothing).
func outputPipe(name string) (r *os.File, w int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, -1, fmt.Errorf("creating %s pipe: %w", name, err)
	}
	if err := unix.SetNonblock(p[0], true); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, -1, fmt.Errorf("creating %s pipe: %w", name, err)
	}
	return os.NewFile(uintptr(p[0]), name), p[1], nil
}

// Copy buffer sizes: most commands write little, and a buffer is memory
// the helper touches (page faults, zeroing) on every start, so a stream
// starts with a small one and moves to the big one once a read fills it.
const (
	smallCopyBuffer = 2 << 10
	copyBuffer      = 32 << 10
)

func copyStream(w *crilog.StreamWriter, r *os.File) {
	buf := make([]byte, smallCopyBuffer)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				// The log is broken: drain what is left without logging
				// it, so that the command never blocks.
				io.Copy(io.Discard, r)
				break
			}
			if n == len(buf) && len(buf) < copyBuffer {
				buf = make([]byte, copyBuffer)
			}
		}
		if err != nil {
			break
		}
	}
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
	finished := now()
	// The handlers stay: a signal from now on lands in the channel,
	// unread, where without them a SIGTERM would end the helper before it
	// records the exit.

	// The container is its main process: run no more commands in it, end
	// whatever it left behind, reap it, and let the log copiers see the
	// end of both pipes.
	c.exec.close()
	c.endAll()
	c.exec.wait(200 * time.Millisecond)
	defer c.cg.close()
	copied := make(chan struct{})
	go func() { c.copiers.Wait(); close(copied) }()
	select {
	case <-copied:
		unix.Close(c.log)
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
	if c.oom >= 0 {
		n, err := oomKills(c.oom)
		if err != nil && rec.Message == "" {
			rec.Message = err.Error()
		}
		rec.OOMKills = n
	}
	return writeRecord(c.dir, ExitFile, rec)
}

// endAll kills and reaps every process left in the namespace. Every
// process started in it descends from us, so none is left when we have
// no child (wait4 says ECHILD): the usual case, a command that left
// nothing behind, then costs neither the kill nor the kernel's walk over
// every process on the host that kill(-1) makes. (A process that joined
// the namespace from outside, with setns, is no descendant of ours; the
// kernel kills it when we, the namespace's init, exit.)
func (c *container) endAll() {
	killed := false
	for {
		flags := unix.WNOHANG
		if killed {
			flags = 0
		}
		var s unix.WaitStatus
		pid, err := unix.Wait4(-1, &s, flags, nil)
		switch {
		case isErrno(err, unix.EINTR):
		case err != nil:
			return // ECHILD: nothing left
		case pid > 0:
			c.exec.exited(pid, s)
		default: // children that still run
			unix.Kill(-1, unix.SIGKILL)
			killed = true
		}
	}
}

// reap collects every exited child; done reports whether the command was
// among them, with its status. Other children go to other (the exec
// server's commands, or orphans it does not know).
func reap(cmd int, other func(pid int, ws unix.WaitStatus) bool) (ws unix.WaitStatus, done bool) {
	for {
		var s unix.WaitStatus
		pid, err := unix.Wait4(-1, &s, unix.WNOHANG, nil)
		if isErrno(err, unix.EINTR) {
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
func oomKills(fd int) (uint64, error) {
	buf := make([]byte, 4096)
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return 0, fmt.Errorf("reading OOM counter: %w", err)
	}
	for line := range bytes.Lines(buf[:n]) {
		if v, ok := bytes.CutPrefix(line, []byte("oom_kill ")); ok {
			return strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		}
	}
	return 0, errors.New("reading OOM counter: no oom_kill line (kernel older than 4.13?)")
}

// writeRecord writes v as JSON to name in dir, atomically (write, then
// rename). There is no fsync: the state directory is on tmpfs, or its
// records need not survive a crash of the node, which ends the pods too.
func writeRecord(dir int, name string, v json.Marshaler) error {
	b, err := v.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	tmp := name + ".tmp"
	if err := writeFileAt(dir, tmp, b, 0o644, unix.O_NOFOLLOW); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := unix.Renameat(dir, tmp, dir, name); err != nil {
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
