package hostproc_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
	"github.com/batchd/batchd/internal/podruntime/podruntimetest"
)

// The test binary is also the helper and the workload: one binary, no
// build step, no images.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == podinit.Arg {
		// Not os.Exit, which sleeps a second under -race; the helper's
		// stderr goes nowhere, so the race report at exit is no loss.
		syscall.Exit(podinit.Main(os.Args[1:]))
	}
	podruntimetest.RunWorkload()
	if len(os.Args) > 1 && os.Args[1] == agentArg {
		os.Exit(agentMain(os.Args[2:]))
	}
	code := m.Run()
	os.RemoveAll(cHelperDir())
	os.Exit(code)
}

// agentArg runs the test binary as a short-lived "agent": it starts a pod
// whose container waits for a file, prints the IDs and exits without
// cleaning up, as an agent that crashes would.
const agentArg = "hostproc-test-agent"

func agentMain(args []string) int {
	stateDir, parent, gate, helperPath := args[0], args[1], args[2], args[3]
	rt, err := hostproc.New(hostproc.Config{StateDir: stateDir, HelperPath: helperPath, CgroupParent: parent})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	pod, err := rt.StartPod(ctx, podruntime.PodSpec{Name: "survivor", Namespace: "default", UID: "u"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	id, err := rt.StartContainer(ctx, pod, podruntime.ContainerSpec{Name: "main", Command: podruntimetest.Workload("wait-file", gate, "5")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(pod, id)
	return 0
}

// cgroupParent is a per-root cgroup name, so that two instances on one
// root (a restart) share it and tests do not collide.
func cgroupParent(root string) string {
	h := fnv.New32a()
	h.Write([]byte(root))
	return fmt.Sprintf("batchd-test-%08x", h.Sum32())
}

func newRuntime(t *testing.T, h helper, root string, mode hostproc.CgroupMode) *hostproc.Runtime {
	t.Helper()
	parent := cgroupParent(root)
	rt, err := hostproc.New(hostproc.Config{
		StateDir:     root,
		HelperPath:   h.path(t),
		Cgroups:      mode,
		CgroupParent: parent,
		Log:          slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if errors.Is(err, hostproc.ErrUnprivileged) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatalf("hostproc.New: %v", err)
	}
	t.Cleanup(func() { removeCgroupParent(parent) })
	return rt
}

// removeCgroupParent removes the test's parent cgroup in every hierarchy
// (best effort: pods were removed by the suite).
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
		for _, d := range dirs {
			os.Remove(d)
		}
	}
}

// requirePrivileges skips the test once, rather than in every subtest,
// when hostproc cannot run here.
func requirePrivileges(t *testing.T) {
	t.Helper()
	newRuntime(t, helpers[0], t.TempDir(), hostproc.CgroupsNone)
}

// forEachHelper runs fn as a subtest per helper.
func forEachHelper(t *testing.T, fn func(t *testing.T, h helper)) {
	for _, h := range helpers {
		t.Run(h.name, func(t *testing.T) { fn(t, h) })
	}
}

func TestConformance(t *testing.T) {
	requirePrivileges(t)
	forEachHelper(t, func(t *testing.T, h helper) {
		h.path(t) // skip before the suite's setup if it cannot be built
		podruntimetest.Run(t, func(t *testing.T, root string) podruntime.Runtime {
			return newRuntime(t, h, root, hostproc.CgroupsAuto)
		})
	})
}

// TestConformanceWithoutCgroups: everything but limits works without
// cgroups, and the runtime says what it does not enforce.
func TestConformanceWithoutCgroups(t *testing.T) {
	requirePrivileges(t)
	forEachHelper(t, func(t *testing.T, h helper) {
		h.path(t)
		podruntimetest.Run(t, func(t *testing.T, root string) podruntime.Runtime {
			rt := newRuntime(t, h, root, hostproc.CgroupsNone)
			if c := rt.Capabilities(); c.MemoryLimit || c.CPULimit || c.PIDsLimit || len(c.Warnings) == 0 {
				t.Errorf("Capabilities without cgroups = %+v, want nothing enforced and a warning", c)
			}
			return rt
		})
	})
}

// ownCgroup returns this process's cgroup path in the hierarchy whose
// /proc/self/cgroup line lists ctl.
func ownCgroup(t *testing.T, ctl string) string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) == 3 && slices.Contains(strings.Split(parts[1], ","), ctl) {
			return parts[2]
		}
	}
	return ""
}

// TestCgroupLimits checks the v1 files a container's limits are written
// to, that only the command (not the helper) is in the container's
// cgroups, and that RemovePod removes them. It needs cgroup v1
// controllers, as on the machine runtime.md describes.
func TestCgroupLimits(t *testing.T) { forEachHelper(t, testCgroupLimits) }

func testCgroupLimits(t *testing.T, h helper) {
	root := t.TempDir()
	rt := newRuntime(t, h, root, hostproc.CgroupsV1)
	c := rt.Capabilities()
	if !c.MemoryLimit || !c.CPULimit || !c.PIDsLimit {
		t.Skipf("cgroup v1 memory, cpu and pids controllers not all usable: %v", c.Warnings)
	}
	ctx := t.Context()
	pod, err := rt.StartPod(ctx, podruntime.PodSpec{Name: "limits"})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.RemovePod(ctx, pod)
	id, err := rt.StartContainer(ctx, pod, podruntime.ContainerSpec{
		Name:    "main",
		Command: podruntimetest.Workload("sleep", "60s"),
		Resources: podruntime.Resources{
			CPURequestMilli:  250,
			CPULimitMilli:    500,
			MemoryLimitBytes: 64 << 20,
			PIDsLimit:        100,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := func(ctl string) string {
		return filepath.Join("/sys/fs/cgroup", ctl, ownCgroup(t, ctl), cgroupParent(root), string(id))
	}
	read := func(ctl, file string) string {
		b, err := os.ReadFile(filepath.Join(dir(ctl), file))
		if err != nil {
			t.Fatalf("reading %s: %v", file, err)
		}
		return strings.TrimSpace(string(b))
	}
	for _, tc := range []struct{ ctl, file, want string }{
		{"memory", "memory.limit_in_bytes", "67108864"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpu", "cpu.shares", "256"},
		{"pids", "pids.max", "100"},
	} {
		if got := read(tc.ctl, tc.file); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.file, got, tc.want)
		}
	}
	// The helper left the cgroups after starting the command: only the
	// command (one process) is there.
	var run podinit.Running
	b, err := os.ReadFile(filepath.Join(root, "pods", string(pod), "containers", "main_0", podinit.RunningFile))
	if err != nil || json.Unmarshal(b, &run) != nil {
		t.Fatalf("reading running record: %v", err)
	}
	for _, ctl := range []string{"memory", "cpu", "pids"} {
		procs := strings.Fields(read(ctl, "cgroup.procs"))
		if len(procs) != 1 || procs[0] == strconv.Itoa(run.Pid) {
			t.Errorf("%s cgroup.procs = %v, want just the command (helper is %d)", ctl, procs, run.Pid)
		}
	}
	if err := rt.Stop(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if err := rt.RemovePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	for _, ctl := range []string{"memory", "cpu", "pids"} {
		if _, err := os.Stat(dir(ctl)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("container cgroup in %s still exists after RemovePod (err %v)", ctl, err)
		}
	}
}

// TestCgroupsWithoutLimits: a container without limits gets a memory
// cgroup of its own (for the OOM counter) but none in the v1 cpu and pids
// hierarchies, where the command runs in the shared parent cgroup (and
// its helper does not), and RemovePod leaves no cgroup behind.
func TestCgroupsWithoutLimits(t *testing.T) { forEachHelper(t, testCgroupsWithoutLimits) }

func testCgroupsWithoutLimits(t *testing.T, h helper) {
	root := t.TempDir()
	rt := newRuntime(t, h, root, hostproc.CgroupsV1)
	c := rt.Capabilities()
	if !c.MemoryLimit || !c.CPULimit || !c.PIDsLimit {
		t.Skipf("cgroup v1 memory, cpu and pids controllers not all usable: %v", c.Warnings)
	}
	ctx := t.Context()
	pod, err := rt.StartPod(ctx, podruntime.PodSpec{Name: "nolimits"})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.RemovePod(ctx, pod)
	id, err := rt.StartContainer(ctx, pod, podruntime.ContainerSpec{Name: "main", Command: podruntimetest.Workload("sleep", "60s")})
	if err != nil {
		t.Fatal(err)
	}
	parent := func(ctl string) string {
		return filepath.Join("/sys/fs/cgroup", ctl, ownCgroup(t, ctl), cgroupParent(root))
	}
	procs := func(dir string) []string {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			t.Fatalf("reading %s: %v", dir, err)
		}
		return strings.Fields(string(b))
	}
	command := procs(filepath.Join(parent("memory"), string(id)))
	if len(command) != 1 {
		t.Fatalf("memory cgroup of the container has processes %v, want just the command", command)
	}
	if _, err := os.Stat(filepath.Join(parent("memory"), string(id), "memory.oom_control")); err != nil {
		t.Errorf("no OOM counter for the container: %v", err)
	}
	for _, ctl := range []string{"cpu", "pids"} {
		if _, err := os.Stat(filepath.Join(parent(ctl), string(id))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s cgroup of a container without limits exists (err %v)", ctl, err)
		}
		// The command, not its helper: that stays in the runtime's own
		// cgroups, like a container runtime's shim.
		if got := procs(parent(ctl)); !slices.Equal(got, command) {
			t.Errorf("%s parent cgroup has processes %v, want the command %v alone", ctl, got, command)
		}
	}
	if err := rt.RemovePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(parent("memory"), string(id))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("memory cgroup of the container still exists after RemovePod (err %v)", err)
	}
}

// TestReattachAfterAgentExit: the process that started a container exits
// (its helpers are reparented); a Runtime in another process lists the
// container as running, waits for it and gets its exit code and logs.
func TestReattachAfterAgentExit(t *testing.T) { forEachHelper(t, testReattachAfterAgentExit) }

func testReattachAfterAgentExit(t *testing.T, h helper) {
	root := t.TempDir()
	gate := filepath.Join(t.TempDir(), "gate")
	rt := newRuntime(t, h, root, hostproc.CgroupsAuto)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), exe, agentArg, root, cgroupParent(root), gate, h.path(t)).Output()
	if err != nil {
		t.Fatalf("agent process: %v", err)
	}
	var pod podruntime.PodID
	var id podruntime.ContainerID
	if _, err := fmt.Sscan(string(out), &pod, &id); err != nil {
		t.Fatalf("agent printed %q: %v", out, err)
	}
	defer rt.RemovePod(context.Background(), pod)

	pods, err := rt.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 1 || len(pods[0].Containers) != 1 || pods[0].Containers[0].State != podruntime.StateRunning {
		t.Fatalf("List after the agent exited = %+v, want one running container", pods)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := rt.Wait(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Code != 5 || st.Reason != podruntime.ReasonError {
		t.Errorf("exit after reattach = %+v, want code 5, Error", st)
	}
	b, err := os.ReadFile(pods[0].Containers[0].LogPath)
	if err != nil || !strings.Contains(string(b), " stdout F after\n") {
		t.Errorf("log after reattach = %q, %v; want the line written after the agent exited", b, err)
	}
}

// TestCgroupModes: every mode yields a runtime that runs pods; what a
// mode cannot enforce on this host is reported, not fatal. (On the hybrid
// machine of runtime.md, v2 has no controllers.)
func TestCgroupModes(t *testing.T) {
	requirePrivileges(t)
	forEachHelper(t, testCgroupModes)
}

func testCgroupModes(t *testing.T, h helper) {
	for _, mode := range []hostproc.CgroupMode{hostproc.CgroupsAuto, hostproc.CgroupsV1, hostproc.CgroupsV2, hostproc.CgroupsNone} {
		t.Run("mode "+cmp.Or(string(mode), "auto"), func(t *testing.T) {
			rt := newRuntime(t, h, t.TempDir(), mode)
			c := rt.Capabilities()
			t.Logf("capabilities: %+v", c)
			if (!c.MemoryLimit || !c.CPULimit || !c.PIDsLimit) && len(c.Warnings) == 0 {
				t.Errorf("Capabilities %+v: something is not enforced but there is no warning", c)
			}
			pod, err := rt.StartPod(t.Context(), podruntime.PodSpec{Name: "m"})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.RemovePod(context.Background(), pod)
			id, err := rt.StartContainer(t.Context(), pod, podruntime.ContainerSpec{
				Name:      "main",
				Command:   podruntimetest.Workload("exit", "0"),
				Resources: podruntime.Resources{CPULimitMilli: 500, MemoryLimitBytes: 128 << 20, PIDsLimit: 1000},
			})
			if err != nil {
				t.Fatal(err)
			}
			if st, err := rt.Wait(t.Context(), id); err != nil || st.Reason != podruntime.ReasonCompleted {
				t.Errorf("Wait = %+v, %v; want Completed", st, err)
			}
		})
	}
}
