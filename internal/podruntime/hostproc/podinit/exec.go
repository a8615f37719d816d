package podinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The helper is the one process already in the container's namespaces, so
// it is the one that runs ExecSync commands: it forks them as it forked
// the container's command (same environment, working directory, user and
// cgroups, in its mount, UTS, IPC and PID namespaces), which needs no
// setns(2) (a multi-threaded Go program cannot join a mount namespace).
// Being PID 1 it reaps them too, so the supervisor's reaper hands their
// statuses over (execServer.exited).

// execRequestTimeout bounds how long a connection may take to send its
// request, and the response to be written.
const execRequestTimeout = 10 * time.Second

// execServer runs ExecRequests in the container.
type execServer struct {
	ln   *os.File // listening socket, non-blocking, in Go's poller
	spec *Spec
	cg   *cgroupFiles

	mu      sync.Mutex
	closed  bool                         // the container is ending: run nothing more
	waiting map[int]chan unix.WaitStatus // running commands by PID

	serving  sync.WaitGroup // the accept loop
	handlers sync.WaitGroup // one per connection
}

// listenExec creates the exec socket in the container directory. The path
// goes through /proc/self/fd so that its length does not depend on the
// directory's (a unix socket path holds at most 107 bytes).
func listenExec(dir int) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("creating exec socket: %w", err)
	}
	path := "/proc/self/fd/" + strconv.Itoa(dir) + "/" + ExecSocket
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("binding exec socket: %w", err)
	}
	if err := unix.Listen(fd, 64); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listening on exec socket: %w", err)
	}
	return os.NewFile(uintptr(fd), ExecSocket), nil
}

func newExecServer(ln *os.File, spec *Spec, cg *cgroupFiles) *execServer {
	s := &execServer{ln: ln, spec: spec, cg: cg, waiting: map[int]chan unix.WaitStatus{}}
	s.serving.Go(s.serve)
	return s
}

// serve accepts connections until the listener is closed.
func (s *execServer) serve() {
	rc, err := s.ln.SyscallConn()
	if err != nil {
		return
	}
	for {
		var nfd int
		var aerr error
		err := rc.Read(func(fd uintptr) bool {
			nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
			return !isErrno(aerr, unix.EAGAIN)
		})
		if err != nil {
			return // closed
		}
		if aerr != nil {
			if isErrno(aerr, unix.EINTR) || isErrno(aerr, unix.ECONNABORTED) {
				continue
			}
			return
		}
		conn := os.NewFile(uintptr(nfd), "exec")
		s.handlers.Go(func() { s.handle(conn) })
	}
}

// close stops accepting commands; the caller then kills and reaps what
// runs. Handlers still running get their command's status from exited.
func (s *execServer) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.ln.Close()
	s.serving.Wait()
}

// wait waits, for at most d, for the handlers to answer.
func (s *execServer) wait(d time.Duration) {
	done := make(chan struct{})
	go func() { s.handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// exited hands a reaped child's status to the handler that started it,
// and reports whether there was one.
func (s *execServer) exited(pid int, ws unix.WaitStatus) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.waiting[pid]
	if ok {
		delete(s.waiting, pid)
		ch <- ws
	}
	return ok
}

func (s *execServer) handle(conn *os.File) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(execRequestTimeout))
	var req ExecRequest
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		return
	}
	conn.SetReadDeadline(time.Time{})
	// The runtime gives up (its ctx ended) by closing the connection.
	gone := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Go(func() {
		io.Copy(io.Discard, conn)
		close(gone)
	})
	resp, ok := s.run(req, gone)
	if ok {
		b, err := json.Marshal(resp)
		if err == nil {
			conn.SetWriteDeadline(time.Now().Add(execRequestTimeout))
			conn.Write(b)
		}
	}
	conn.Close() // ends the watcher's read
	watcher.Wait()
}

// run runs one command; ok is false when the runtime gave up on it.
func (s *execServer) run(req ExecRequest, gone <-chan struct{}) (resp ExecResponse, ok bool) {
	if len(req.Command) == 0 {
		return ExecResponse{StartError: "no command"}, true
	}
	path, err := lookPath(req.Command[0], s.spec.Env)
	if err != nil {
		return ExecResponse{StartError: err.Error()}, true
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return ExecResponse{StartError: err.Error()}, true
	}
	defer devnull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return ExecResponse{StartError: err.Error()}, true
	}
	defer outR.Close()
	attr := &syscall.ProcAttr{
		Dir:   s.spec.WorkingDir,
		Env:   s.spec.Env,
		Files: []uintptr{devnull.Fd(), outW.Fd(), outW.Fd()},
		// Its own process group, so that what it starts is killed with it.
		Sys: &syscall.SysProcAttr{Setpgid: true},
	}
	if u := s.spec.User; u != nil {
		attr.Sys.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
		if u.Groups == nil {
			attr.Sys.Credential.Groups = []uint32{}
		}
	}
	exited := make(chan unix.WaitStatus, 1)
	pid, err := s.fork(path, req.Command, attr, exited)
	outW.Close()
	if errors.Is(err, errClosed) {
		return ExecResponse{NotRunning: true}, true
	}
	if err != nil {
		return ExecResponse{StartError: err.Error()}, true
	}

	limit := max(req.MaxOutput, 0)
	var out []byte
	var truncated bool
	var copier sync.WaitGroup
	copier.Go(func() {
		buf := make([]byte, 4096)
		for {
			n, err := outR.Read(buf)
			if room := limit - len(out); n > room {
				truncated = true
				n = room
			}
			out = append(out, buf[:n]...)
			if err != nil {
				return
			}
		}
	})

	var ws unix.WaitStatus
	aborted := false
	select {
	case ws = <-exited:
	case <-gone:
		aborted = true
		unix.Kill(-pid, unix.SIGKILL)
		ws = <-exited
	}
	// What it left in its group goes too; the output ends once nothing
	// holds the pipe, or after a grace for a process that left the group.
	unix.Kill(-pid, unix.SIGKILL)
	done := make(chan struct{})
	go func() { copier.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		outR.Close()
		<-done
	}
	if aborted {
		return ExecResponse{}, false
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ExecResponse{NotRunning: true}, true
	}
	resp = ExecResponse{Output: out, Truncated: truncated}
	if ws.Signaled() {
		resp.Code = 128 + int(ws.Signal())
	} else {
		resp.Code = ws.ExitStatus()
	}
	return resp, true
}

var errClosed = errors.New("container is ending")

// fork starts the command in the container's cgroups and registers it
// for its exit status. The lock makes both one step for the reaper, which
// may collect the child before ForkExec returns, and keeps close from
// missing a command started just before it.
func (s *execServer) fork(path string, argv []string, attr *syscall.ProcAttr, exited chan unix.WaitStatus) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	pid, _, err := s.cg.forkExec(path, argv, attr)
	if err != nil {
		return 0, fmt.Errorf("exec: %q: %w", argv[0], err)
	}
	s.waiting[pid] = exited
	return pid, nil
}
