package hostproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
)

// errGone: the helper process no longer exists (or its PID now names
// another process).
var errGone = errors.New("helper process is gone")

// proc is a handle on a running helper that stays valid across PID reuse:
// a pidfd, waited on through Go's poller so that waiting is cancellable
// and costs no thread. Kernels without pidfd (before 5.3) fall back to
// polling /proc.
type proc struct {
	pid   int
	ticks uint64
	f     *os.File // pidfd; nil in the fallback
}

// openProc returns a handle on pid if it is still the process that
// started at ticks (0: do not check; only for our own unreaped child). A
// process that has exited but is not yet reaped is returned: it is
// "exited", not "gone".
func openProc(pid int, ticks uint64) (*proc, error) {
	if pid <= 0 {
		return nil, errGone
	}
	p := &proc{pid: pid, ticks: ticks}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	switch {
	case err == nil:
		p.f = os.NewFile(uintptr(fd), "pidfd:"+strconv.Itoa(pid))
	case errors.Is(err, unix.ESRCH):
		return nil, errGone
	case errors.Is(err, unix.ENOSYS):
	default:
		return nil, fmt.Errorf("opening pidfd of %d: %w", pid, err)
	}
	// Check identity after opening: if the PID was reused before the
	// pidfd was taken, the start time differs.
	if ticks != 0 {
		got, err := podinit.StartTicks("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || got != ticks {
			p.close()
			return nil, errGone
		}
	}
	return p, nil
}

func (p *proc) close() {
	if p.f != nil {
		p.f.Close()
	}
}

func (p *proc) signal(sig unix.Signal) error {
	if p.f == nil {
		if !p.alive() {
			return nil
		}
		return unix.Kill(p.pid, sig)
	}
	rc, err := p.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.PidfdSendSignal(int(fd), sig, nil, 0) }); err != nil {
		return err
	}
	if errors.Is(serr, unix.ESRCH) {
		return nil // exited meanwhile
	}
	return serr
}

// exited reports, without blocking, whether the process has exited.
func (p *proc) exited() bool {
	if p.f == nil {
		return !p.alive()
	}
	rc, err := p.f.SyscallConn()
	if err != nil {
		return false
	}
	var done bool
	rc.Control(func(fd uintptr) { done = pidfdReadable(fd) })
	return done
}

func pidfdReadable(fd uintptr) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}

// alive is the fallback check: the PID exists, is the same process, and
// is not a zombie.
func (p *proc) alive() bool {
	b, err := readFile("/proc/" + strconv.Itoa(p.pid) + "/stat")
	if err != nil {
		return false
	}
	if p.ticks != 0 {
		if t, err := podinit.StartTicks("/proc/" + strconv.Itoa(p.pid) + "/stat"); err != nil || t != p.ticks {
			return false
		}
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// aLongTimeAgo is a deadline that has passed: it wakes a pending wait.
var aLongTimeAgo = time.Unix(1, 0)

// wait blocks until the process exits (true), deadline passes (false; zero
// deadline: none), or ctx ends (ctx's error).
func (p *proc) wait(ctx context.Context, deadline time.Time) (bool, error) {
	if p.f == nil || p.f.SetReadDeadline(deadline) != nil {
		return p.poll(ctx, deadline)
	}
	stop := context.AfterFunc(ctx, func() { p.f.SetReadDeadline(aLongTimeAgo) })
	defer stop()
	rc, err := p.f.SyscallConn()
	if err != nil {
		return false, err
	}
	var done bool
	err = rc.Read(func(fd uintptr) bool {
		done = pidfdReadable(fd)
		return done
	})
	switch {
	case done:
		return true, nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, nil
	default:
		return false, err
	}
}

// poll is wait without a pollable pidfd.
func (p *proc) poll(ctx context.Context, deadline time.Time) (bool, error) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if p.exited() {
			return true, nil
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
		}
	}
}
