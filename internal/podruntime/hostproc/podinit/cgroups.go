package podinit

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// cgroupFiles are open cgroup membership files: the container's, to join
// before starting the command, and the helper's own, to return to after.
// The helper leaves so that it never counts against the container's limits
// and the OOM killer of the container's memory cgroup never picks it.
//
// On v1 they are "tasks" files, and only the thread that forks the command
// moves (forkExec). Moving the whole process (v1 and v2 "cgroup.procs")
// takes the kernel's global threadgroup lock for writing, which waits for
// an RCU grace period: about a millisecond per write on average, up to
// 15 ms, with three hierarchies to join and leave per start. Moving the
// calling thread is exempt from that lock (some 20 µs a write). A child
// starts in the cgroups of the thread that forks it; memory is charged to
// a process's leader's cgroup, so the helper's memory stays where it was.
// v2 has no per-thread membership outside threaded subtrees, so there the
// helper moves as a whole.
type cgroupFiles struct {
	ins, outs []cgroupFile
}

// cgroupFile is an open membership file.
type cgroupFile struct {
	fd   int
	path string
}

// openMembership opens the file through which the calling thread (v1) or
// process (v2) joins the cgroup dir.
func openMembership(dir string, v1 bool) (cgroupFile, error) {
	name := "cgroup.procs"
	if v1 {
		name = "tasks"
	}
	p := filepath.Join(dir, name)
	fd, err := openAt(unix.AT_FDCWD, p, unix.O_WRONLY, 0)
	return cgroupFile{fd, p}, err
}

// enter moves the caller into the cgroup.
func (f cgroupFile) enter() error {
	if _, err := fdWriter(f.fd).Write([]byte("0")); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	return nil
}

// openCgroups opens the cgroups the container's processes go in, and the
// helper's own, for join and leave around each fork; on v2 it moves the
// helper into a shared cgroup for good instead.
//
// On v1 a shared cgroup (<CgroupParent>, where the container has no limit
// of that controller) is joined by the forking thread like the
// container's own: moving the whole helper there waited for an RCU grace
// period, 10-15 ms of every container's start. The helper itself stays in
// the agent's cgroups, as a container runtime's shim stays in the
// runtime's.
func openCgroups(cgs []Cgroup) (*cgroupFiles, error) {
	f := &cgroupFiles{}
	var own map[string]string
	for _, cg := range cgs {
		// A v2 hierarchy is the one whose /proc/self/cgroup line has no
		// controllers field.
		v1 := cg.Controllers != ""
		if cg.Shared && !v1 {
			// The whole helper, every thread, so that whichever forks
			// starts its child there.
			j, err := openMembership(cg.Dir, false)
			if err == nil {
				err = j.enter()
				unix.Close(j.fd)
			}
			if err != nil {
				f.close()
				return nil, fmt.Errorf("joining cgroup %s: %w", cg.Dir, err)
			}
			continue
		}
		if own == nil {
			var err error
			if own, err = ownCgroups(); err != nil {
				f.close()
				return nil, err
			}
		}
		j, err := openMembership(cg.Dir, v1)
		if err != nil {
			f.close()
			return nil, fmt.Errorf("opening container cgroup: %w", err)
		}
		f.ins = append(f.ins, j)
		p, ok := own[cg.Controllers]
		if !ok {
			f.close()
			return nil, fmt.Errorf("own cgroup for %q not found in /proc/self/cgroup", cg.Controllers)
		}
		l, err := openMembership(filepath.Join(cg.Mount, p), v1)
		if err != nil {
			f.close()
			return nil, fmt.Errorf("opening own cgroup: %w", err)
		}
		f.outs = append(f.outs, l)
	}
	return f, nil
}

// ownCgroups maps the controllers field of /proc/self/cgroup to the path.
func ownCgroups() (map[string]string, error) {
	b, err := readFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("reading own cgroups: %w", err)
	}
	m := map[string]string{}
	for line := range strings.Lines(string(b)) {
		parts := strings.SplitN(strings.TrimSuffix(line, "\n"), ":", 3)
		if len(parts) == 3 {
			m[parts[1]] = parts[2]
		}
	}
	return m, nil
}

// forkExec starts a command in the container's cgroups: it joins them,
// forks and returns to the helper's own. err is ForkExec's; leaveErr says
// the helper could not return (the thread then stays locked, so that no
// other goroutine runs, or forks, in the container's cgroups).
func (f *cgroupFiles) forkExec(path string, argv []string, attr *syscall.ProcAttr) (pid int, leaveErr, err error) {
	// On v1 the thread that joins is the one that must fork.
	runtime.LockOSThread()
	defer func() {
		if leaveErr == nil {
			runtime.UnlockOSThread()
		}
	}()
	if err := f.join(); err != nil {
		return 0, f.leave(), err
	}
	pid, err = syscall.ForkExec(path, argv, attr)
	return pid, f.leave(), err
}

// join moves the calling thread (v1) or the helper (v2) into the
// container's cgroups.
func (f *cgroupFiles) join() error {
	for _, j := range f.ins {
		if err := j.enter(); err != nil {
			return fmt.Errorf("joining cgroup: %w", err)
		}
	}
	return nil
}

// leave moves it back to the cgroups it came from.
func (f *cgroupFiles) leave() error {
	var errs []error
	for _, l := range f.outs {
		if err := l.enter(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f *cgroupFiles) close() {
	for _, x := range append(f.ins, f.outs...) {
		unix.Close(x.fd)
	}
}
