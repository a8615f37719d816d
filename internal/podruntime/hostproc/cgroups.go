package hostproc

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
)

// CgroupMode selects how hostproc enforces resource limits.
type CgroupMode string

// Cgroup modes.
const (
	// CgroupsAuto uses v1 controllers where they are mounted (v1 and
	// hybrid hosts), else v2, else none.
	CgroupsAuto CgroupMode = ""
	CgroupsV1   CgroupMode = "v1"
	CgroupsV2   CgroupMode = "v2"
	// CgroupsNone runs pods without limits.
	CgroupsNone CgroupMode = "none"
)

// The controllers hostproc uses.
const (
	ctlMemory = "memory"
	ctlCPU    = "cpu"
	ctlPIDs   = "pids"
)

// hierarchy is one mounted cgroup hierarchy hostproc uses.
type hierarchy struct {
	mount       string          // e.g. /sys/fs/cgroup/memory
	controllers string          // second field of its /proc/self/cgroup line
	base        string          // directory pods are created in
	provides    map[string]bool // which of memory, cpu, pids it has (and we enabled)
	// swap: the memory controller has a swap limit file (v1 swap
	// accounting, v2 swap controller), found once at detection so that
	// no container start tries to write a file that is not there.
	swap bool
}

// cgroups creates per-container cgroups and sets limits with plain file
// writes (runtime.md §2: a library adds a dozen modules and still lacks the
// v1 OOM counter). Layout: <base>/<container ID>; there is no pod level,
// since there are no pod-level limits and each level costs a mkdir and an
// rmdir per hierarchy.
type cgroups struct {
	mode  CgroupMode // v1, v2 or none after detection
	hiers []hierarchy
	caps  podruntime.Capabilities
}

type mountInfo struct {
	mount, fstype, super string
}

func readMounts() ([]mountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mountInfo
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mount opts [optional...] - fstype source super
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 {
			continue
		}
		out = append(out, mountInfo{mount: unescapeMount(a[4]), fstype: b[0], super: b[2]})
	}
	return out, sc.Err()
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func ownCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for line := range strings.Lines(string(b)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) == 3 {
			m[parts[1]] = parts[2]
		}
	}
	return m, nil
}

// detectCgroups finds the hierarchies for mode and probes that they are
// writable. It never fails: what cannot be used is reported in caps'
// warnings and left out.
func detectCgroups(mode CgroupMode, parent string) *cgroups {
	cg := &cgroups{mode: CgroupsNone}
	warn := func(format string, args ...any) {
		cg.caps.Warnings = append(cg.caps.Warnings, fmt.Sprintf(format, args...))
	}
	if mode == CgroupsNone {
		warn("cgroups disabled by configuration: no CPU, memory or PID limits, no OOM detection")
		return cg
	}
	mounts, err := readMounts()
	if err != nil {
		warn("reading mounts: %v: running pods without limits", err)
		return cg
	}
	own, err := ownCgroups()
	if err != nil {
		warn("reading own cgroups: %v: running pods without limits", err)
		return cg
	}
	v1 := map[string]mountInfo{} // controller -> mount
	var v2 *mountInfo
	for i, m := range mounts {
		switch m.fstype {
		case "cgroup":
			for opt := range strings.SplitSeq(m.super, ",") {
				if opt == ctlMemory || opt == ctlCPU || opt == ctlPIDs {
					v1[opt] = m
				}
			}
		case "cgroup2":
			v2 = &mounts[i]
		}
	}
	if mode == CgroupsAuto {
		switch {
		case len(v1) > 0:
			mode = CgroupsV1
		case v2 != nil:
			mode = CgroupsV2
		default:
			warn("no cgroup hierarchy mounted: running pods without limits")
			return cg
		}
	}
	switch mode {
	case CgroupsV1:
		cg.detectV1(v1, own, parent, warn)
	case CgroupsV2:
		if v2 == nil {
			warn("cgroup v2 requested but not mounted: running pods without limits")
			return cg
		}
		cg.detectV2(*v2, own, parent, warn)
	default:
		warn("unknown cgroup mode %q: running pods without limits", mode)
		return cg
	}
	if len(cg.hiers) > 0 {
		cg.mode = mode
	}
	for _, h := range cg.hiers {
		cg.caps.MemoryLimit = cg.caps.MemoryLimit || h.provides[ctlMemory]
		cg.caps.CPULimit = cg.caps.CPULimit || h.provides[ctlCPU]
		cg.caps.PIDsLimit = cg.caps.PIDsLimit || h.provides[ctlPIDs]
	}
	if !cg.caps.MemoryLimit {
		warn("no usable memory cgroup: memory limits are not enforced and OOM kills are not reported")
	}
	if !cg.caps.CPULimit {
		warn("no usable cpu cgroup: CPU limits and requests are not enforced")
	}
	if !cg.caps.PIDsLimit {
		warn("no usable pids cgroup: PID limits are not enforced")
	}
	return cg
}

// basePath is where pods go in a hierarchy: parent relative to our own
// cgroup, or from the hierarchy's root if parent is absolute.
func basePath(mount, own, parent string) string {
	if filepath.IsAbs(parent) {
		return filepath.Join(mount, parent)
	}
	return filepath.Join(mount, own, parent)
}

func (cg *cgroups) detectV1(v1 map[string]mountInfo, own map[string]string, parent string, warn func(string, ...any)) {
	for _, ctl := range []string{ctlMemory, ctlCPU, ctlPIDs} {
		m, ok := v1[ctl]
		if !ok {
			continue
		}
		i := slices.IndexFunc(cg.hiers, func(h hierarchy) bool { return h.mount == m.mount })
		if i < 0 {
			// The /proc/self/cgroup field lists the hierarchy's
			// controllers (e.g. "cpu,cpuacct"); find it by membership.
			field, found := "", false
			for f := range own {
				if slices.Contains(strings.Split(f, ","), ctl) {
					field, found = f, true
					break
				}
			}
			if !found {
				warn("cgroup v1 %s: not in /proc/self/cgroup", ctl)
				continue
			}
			cg.hiers = append(cg.hiers, hierarchy{mount: m.mount, controllers: field, base: basePath(m.mount, own[field], parent), provides: map[string]bool{}})
			i = len(cg.hiers) - 1
		}
		if err := probe(cg.hiers[i].base, probeFile(ctl, CgroupsV1)); err != nil {
			warn("cgroup v1 %s at %s is not usable: %v", ctl, cg.hiers[i].base, err)
			continue
		}
		cg.hiers[i].provides[ctl] = true
		if ctl == ctlMemory {
			cg.hiers[i].swap = exists(filepath.Join(cg.hiers[i].base, "memory.memsw.limit_in_bytes"))
		}
	}
	cg.hiers = slices.DeleteFunc(cg.hiers, func(h hierarchy) bool { return len(h.provides) == 0 })
}

func (cg *cgroups) detectV2(m mountInfo, own map[string]string, parent string, warn func(string, ...any)) {
	h := hierarchy{mount: m.mount, controllers: "", base: basePath(m.mount, own[""], parent), provides: map[string]bool{}}
	if err := os.MkdirAll(h.base, 0o755); err != nil {
		warn("cgroup v2: creating %s: %v: running pods without limits", h.base, err)
		return
	}
	// Controllers must be enabled in every ancestor's subtree_control,
	// down to base (whose children are pods, whose children are
	// containers). A cgroup with processes cannot enable them ("no
	// internal processes"): run the agent in a leaf cgroup and point
	// CgroupParent at a sibling.
	for _, ctl := range []string{ctlMemory, ctlCPU, ctlPIDs} {
		if err := enableV2(m.mount, h.base, ctl); err != nil {
			warn("cgroup v2 %s: %v", ctl, err)
			continue
		}
		if err := probe(h.base, probeFile(ctl, CgroupsV2)); err != nil {
			warn("cgroup v2 %s at %s is not usable: %v", ctl, h.base, err)
			continue
		}
		h.provides[ctl] = true
		if ctl == ctlMemory {
			h.swap = exists(filepath.Join(h.base, "memory.swap.max"))
		}
	}
	if len(h.provides) == 0 {
		os.Remove(h.base) // best effort: it is empty
		return
	}
	cg.hiers = append(cg.hiers, h)
}

func enableV2(mount, base, ctl string) error {
	rel, err := filepath.Rel(mount, base)
	if err != nil {
		return err
	}
	dir := mount
	for _, part := range append([]string{""}, strings.Split(rel, "/")...) {
		dir = filepath.Join(dir, part)
		avail, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		if err != nil {
			return err
		}
		if !slices.Contains(strings.Fields(string(avail)), ctl) {
			return fmt.Errorf("controller not available in %s (it has %q)", dir, strings.TrimSpace(string(avail)))
		}
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
		if err != nil {
			return err
		}
		if slices.Contains(strings.Fields(string(b)), ctl) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+ctl), 0); err != nil {
			return fmt.Errorf("enabling in %s: %w", dir, err)
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func probeFile(ctl string, mode CgroupMode) string {
	switch {
	case ctl == ctlMemory && mode == CgroupsV1:
		return "memory.limit_in_bytes"
	case ctl == ctlMemory:
		return "memory.max"
	case ctl == ctlCPU && mode == CgroupsV1:
		return "cpu.cfs_quota_us"
	case ctl == ctlCPU:
		return "cpu.max"
	default:
		return "pids.max"
	}
}

// probe creates base and a child in it, writes the child's limit file
// with its own value, and removes the child.
func probe(base, file string) error {
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	var b [6]byte
	rand.Read(b[:])
	dir := filepath.Join(base, "probe-"+hex.EncodeToString(b[:]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	defer os.Remove(dir)
	v, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, file), v, 0)
}

// ownCgroup reports whether a container gets a cgroup of its own in h:
// always on v2 (one hierarchy) and where h has memory (the OOM counter,
// and what finds a container's processes to kill), otherwise only when
// the container has a limit h enforces. A v1 hierarchy without either
// adds nothing per container but a mkdir and an rmdir (some 50 µs of CPU
// each, plus the kernel's deferred teardown): the command shares the
// parent cgroup there with other such containers, apart from the agent,
// as every container's cgroup would be.
func (cg *cgroups) ownCgroup(h hierarchy, res podruntime.Resources) bool {
	return cg.mode == CgroupsV2 || h.provides[ctlMemory] ||
		h.provides[ctlCPU] && (res.CPURequestMilli > 0 || res.CPULimitMilli > 0) ||
		h.provides[ctlPIDs] && res.PIDsLimit > 0
}

// containerCgroup is the name of a container's cgroup in every hierarchy
// it has one in: its ID, "<pod>_<name>_<attempt>", directly in the base.
func containerCgroup(id podruntime.ContainerID) string { return string(id) }

// createContainer makes the container's cgroups with their limits and
// returns what the helper needs to join them and read the OOM counter.
func (cg *cgroups) createContainer(id podruntime.ContainerID, res podruntime.Resources) ([]podinit.Cgroup, string, error) {
	var (
		out []podinit.Cgroup
		oom string
	)
	for _, h := range cg.hiers {
		if !cg.ownCgroup(h, res) {
			out = append(out, podinit.Cgroup{Dir: h.base, Mount: h.mount, Controllers: h.controllers, Shared: true})
			continue
		}
		dir := filepath.Join(h.base, containerCgroup(id))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, "", fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		out = append(out, podinit.Cgroup{Dir: dir, Mount: h.mount, Controllers: h.controllers})
		for _, w := range cg.limits(h, res) {
			if err := writeFile(filepath.Join(dir, w.file), []byte(w.value), 0, 0); err != nil && !w.optional {
				return nil, "", fmt.Errorf("setting %s=%s in %s: %w", w.file, w.value, dir, err)
			}
		}
		if h.provides[ctlMemory] {
			if cg.mode == CgroupsV1 {
				oom = filepath.Join(dir, "memory.oom_control")
			} else {
				oom = filepath.Join(dir, "memory.events")
			}
		}
	}
	return out, oom, nil
}

type limitWrite struct {
	file, value string
	optional    bool // absent on some kernels or configurations
}

// cfsPeriod is kubelet's CFS period, 100ms.
const cfsPeriod = 100000

func (cg *cgroups) limits(h hierarchy, res podruntime.Resources) []limitWrite {
	var ws []limitWrite
	add := func(file string, v int64, optional bool) {
		ws = append(ws, limitWrite{file, strconv.FormatInt(v, 10), optional})
	}
	v1 := cg.mode == CgroupsV1
	if h.provides[ctlMemory] {
		if v1 {
			if res.MemoryLimitBytes > 0 {
				add("memory.limit_in_bytes", res.MemoryLimitBytes, false)
				if h.swap {
					add("memory.memsw.limit_in_bytes", res.MemoryLimitBytes, true)
				}
				add("memory.swappiness", 0, true)
			}
		} else {
			ws = append(ws, limitWrite{"memory.oom.group", "1", true}) // kill the whole container, as kubelet does on v2
			if res.MemoryLimitBytes > 0 {
				add("memory.max", res.MemoryLimitBytes, false)
				if h.swap {
					add("memory.swap.max", 0, true)
				}
			}
		}
	}
	if h.provides[ctlCPU] {
		if res.CPURequestMilli > 0 {
			shares := max(res.CPURequestMilli*1024/1000, 2) // kubelet's MilliCPUToShares
			if v1 {
				add("cpu.shares", shares, false)
			} else {
				add("cpu.weight", 1+((shares-2)*9999)/262142, false) // runc's shares-to-weight
			}
		}
		if res.CPULimitMilli > 0 {
			quota := max(res.CPULimitMilli*cfsPeriod/1000, 1000) // kubelet's MilliCPUToQuota, 1ms floor
			if v1 {
				// cpu.cfs_period_us is not written: every new cgroup
				// starts with the kernel's default period, which is
				// kubelet's, 100ms.
				add("cpu.cfs_quota_us", quota, false)
			} else {
				ws = append(ws, limitWrite{file: "cpu.max", value: fmt.Sprintf("%d %d", quota, cfsPeriod)})
			}
		}
	}
	if h.provides[ctlPIDs] && res.PIDsLimit > 0 {
		add("pids.max", res.PIDsLimit, false)
	}
	return ws
}

// removeContainers removes the cgroups of a pod's containers (by their
// IDs) where they exist, and the pod-level cgroups that earlier versions
// made (<base>/<pod>/<container>), so that an upgraded agent leaks none.
// Processes still in a cgroup (an interrupted start) are killed first. It
// retries while the kernel still counts exiting processes, until ctx ends.
func (cg *cgroups) removeContainers(ctx context.Context, pod podruntime.PodID, ids []podruntime.ContainerID) error {
	var errs []error
	for _, h := range cg.hiers {
		for _, id := range ids {
			errs = append(errs, removeCgroup(ctx, filepath.Join(h.base, containerCgroup(id))))
		}
		podDir := filepath.Join(h.base, string(pod))
		// Usually the pod's cgroup is empty now; listing a cgroup costs
		// more than removing it (its control files are listed too).
		if err := unix.Rmdir(podDir); err == nil || errors.Is(err, unix.ENOENT) {
			continue
		}
		ents, err := os.ReadDir(podDir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			if e.IsDir() {
				errs = append(errs, removeCgroup(ctx, filepath.Join(podDir, e.Name())))
			}
		}
		errs = append(errs, removeCgroup(ctx, podDir))
	}
	return errors.Join(errs...)
}

func removeCgroup(ctx context.Context, dir string) error {
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		// rmdir(2) itself: os.Remove tries unlink(2) first.
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("removing cgroup %s: %w", dir, err)
		}
		killProcs(dir)
		select {
		case <-ctx.Done():
			return fmt.Errorf("removing cgroup %s: %w", dir, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// killProcs SIGKILLs every process listed in a cgroup.
func killProcs(dir string) {
	b, err := readFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for f := range strings.FieldsSeq(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
