package podinit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// cgroupFiles are open cgroup.procs files: the container's, to join before
// starting the command, and the helper's own, to return to after. The
// helper leaves so that it never counts against the container's limits and
// the OOM killer of the container's memory cgroup never picks it.
type cgroupFiles struct {
	ins, outs []*os.File
}

// openCgroups moves the helper into the shared cgroups for good and opens
// the container's own ones (and the helper's) for join and leave.
func openCgroups(cgs []Cgroup) (*cgroupFiles, error) {
	f := &cgroupFiles{}
	var own map[string]string
	for _, cg := range cgs {
		if cg.Shared {
			if err := os.WriteFile(filepath.Join(cg.Dir, "cgroup.procs"), []byte("0"), 0); err != nil {
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
		j, err := os.OpenFile(filepath.Join(cg.Dir, "cgroup.procs"), os.O_WRONLY, 0)
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
		l, err := os.OpenFile(filepath.Join(cg.Mount, p, "cgroup.procs"), os.O_WRONLY, 0)
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
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 {
			m[parts[1]] = parts[2]
		}
	}
	return m, sc.Err()
}

// join moves the helper into the container's cgroups; a child forked now
// starts there.
func (f *cgroupFiles) join() error {
	for _, j := range f.ins {
		if _, err := j.Write([]byte("0")); err != nil {
			return fmt.Errorf("joining cgroup %s: %w", j.Name(), err)
		}
	}
	return nil
}

// leave moves the helper back to the cgroups it came from.
func (f *cgroupFiles) leave() error {
	var errs []error
	for _, l := range f.outs {
		if _, err := l.Write([]byte("0")); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func (f *cgroupFiles) close() {
	for _, x := range append(f.ins, f.outs...) {
		x.Close()
	}
}
