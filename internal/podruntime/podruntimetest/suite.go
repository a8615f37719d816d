package podruntimetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchd/batchd/internal/crilog"
	"github.com/batchd/batchd/internal/podruntime"
)

// NewRuntime returns a runtime whose state lives under root, a directory
// the suite owns. Called twice with the same root, it must return two
// instances over the same state: that is how the suite simulates an agent
// restart. A runtime that keeps its state elsewhere (a CRI endpoint) may
// ignore root, as long as the second instance sees what the first made.
// It should call t.Skip when the runtime cannot run here.
type NewRuntime func(t *testing.T, root string) podruntime.Runtime

// Run runs the conformance suite against the runtimes newRuntime makes.
// Every subtest gets a fresh root and removes the pods it started.
func Run(t *testing.T, newRuntime NewRuntime) {
	dir, err := os.MkdirTemp("", "batchd-workload-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin, err := copyBinary(dir)
	if err != nil {
		t.Fatalf("copying the test binary for workloads: %v", err)
	}
	s := &suite{bin: bin, newRuntime: newRuntime}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"JOB-AGENT-04 exit codes and reasons", testExitCodes},
		{"start errors", testStartErrors},
		{"OOM detection", testOOM},
		{"JOB-AGENT-03 grace period stop then kill", testStop},
		{"CRI logs", testLogs},
		{"mounts at mountPath", testMounts},
		{"JOB-AGENT-05 hostname environment working dir and user", testIdentity},
		{"PID namespace isolation", testPIDNamespace},
		{"main process exit ends the container", testOrphans},
		{"containers of a pod share volumes", testSharedVolume},
		{"remove pod", testRemove},
		{"concurrent pods", testConcurrent},
		{"reattach from a fresh instance", testReattach},
		{"exec in a running container", testExec},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s) })
	}
}

type suite struct {
	bin        string
	newRuntime NewRuntime
}

// runtime returns a runtime on a fresh root, and the root.
func (s *suite) runtime(t *testing.T) (podruntime.Runtime, string) {
	t.Helper()
	root := t.TempDir()
	return s.newRuntime(t, root), root
}

// cmd is the argv of a workload.
func (s *suite) cmd(name string, args ...string) []string {
	return append([]string{s.bin, workloadArg, name}, args...)
}

// container is a ContainerSpec for a workload. The workload binary's
// directory is mounted read-only at the same path, for runtimes with their
// own root filesystem.
func (s *suite) container(name string, cmd []string) podruntime.ContainerSpec {
	d := filepath.Dir(s.bin)
	return podruntime.ContainerSpec{
		Name:    name,
		Command: cmd,
		Mounts:  []podruntime.Mount{{HostPath: d, ContainerPath: d, ReadOnly: true}},
	}
}

// ctx bounds one subtest's calls.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func startPod(t *testing.T, rt podruntime.Runtime, spec podruntime.PodSpec) podruntime.PodID {
	t.Helper()
	if spec.Name == "" {
		spec.Name, spec.Namespace, spec.UID = "pod", "default", "uid-"+strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	pod, err := rt.StartPod(ctx(t), spec)
	if err != nil {
		t.Fatalf("StartPod: %v", err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := rt.RemovePod(c, pod); err != nil {
			t.Errorf("cleanup: RemovePod(%s): %v", pod, err)
		}
	})
	return pod
}

func start(t *testing.T, rt podruntime.Runtime, pod podruntime.PodID, spec podruntime.ContainerSpec) podruntime.ContainerID {
	t.Helper()
	id, err := rt.StartContainer(ctx(t), pod, spec)
	if err != nil {
		t.Fatalf("StartContainer(%s): %v", spec.Name, err)
	}
	return id
}

func wait(t *testing.T, rt podruntime.Runtime, id podruntime.ContainerID) podruntime.ExitStatus {
	t.Helper()
	st, err := rt.Wait(ctx(t), id)
	if err != nil {
		t.Fatalf("Wait(%s): %v", id, err)
	}
	return st
}

// runOne starts a pod with one container and waits for it.
func (s *suite) runOne(t *testing.T, rt podruntime.Runtime, spec podruntime.ContainerSpec) (podruntime.ContainerID, podruntime.ExitStatus) {
	t.Helper()
	pod := startPod(t, rt, podruntime.PodSpec{})
	id := start(t, rt, pod, spec)
	return id, wait(t, rt, id)
}

func state(t *testing.T, rt podruntime.Runtime, id podruntime.ContainerID) podruntime.ContainerState {
	t.Helper()
	pods, err := rt.List(ctx(t))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, p := range pods {
		for _, c := range p.Containers {
			if c.ID == id {
				return c
			}
		}
	}
	t.Fatalf("container %s not in List", id)
	return podruntime.ContainerState{}
}

// logLines reassembles a container's log per stream, checking the format.
func logLines(t *testing.T, rt podruntime.Runtime, id podruntime.ContainerID) (entries []crilog.Entry, lines map[crilog.Stream][]string) {
	t.Helper()
	b, err := os.ReadFile(state(t, rt, id).LogPath)
	if err != nil {
		t.Fatalf("reading log: %v", err)
	}
	lines = map[crilog.Stream][]string{}
	pending := map[crilog.Stream]string{}
	for raw := range bytes.Lines(b) {
		e, err := crilog.Parse(raw)
		if err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		e.Content = bytes.Clone(e.Content)
		entries = append(entries, e)
		pending[e.Stream] += string(e.Content)
		if !e.Partial {
			lines[e.Stream] = append(lines[e.Stream], pending[e.Stream])
			pending[e.Stream] = ""
		}
	}
	for s, p := range pending {
		if p != "" {
			lines[s] = append(lines[s], p+"<partial>")
		}
	}
	return entries, lines
}

// awaitLog waits until the container's stdout has the line want.
func awaitLog(t *testing.T, rt podruntime.Runtime, id podruntime.ContainerID, want string) {
	t.Helper()
	path := state(t, rt, id).LogPath
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	found := errors.New("found")
	err := crilog.Follow(c, path, crilog.FollowOptions{Poll: 5 * time.Millisecond}, func(e crilog.Entry) error {
		if e.Stream == crilog.Stdout && string(e.Content) == want {
			return found
		}
		return nil
	})
	if !errors.Is(err, found) {
		t.Fatalf("waiting for %q in the log of %s: %v", want, id, err)
	}
}

// checkStatus compares the fields of an ExitStatus that do not vary.
func checkStatus(t *testing.T, got podruntime.ExitStatus, want podruntime.ExitStatus) {
	t.Helper()
	g := podruntime.ExitStatus{Code: got.Code, Signal: got.Signal, OOMKilled: got.OOMKilled, Reason: got.Reason}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("exit status mismatch (-want +got):\n%s\nmessage: %q", diff, got.Message)
	}
}

func testExitCodes(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	before := time.Now()
	for _, tc := range []struct {
		name string
		cmd  []string
		want podruntime.ExitStatus
	}{
		{"exit 0 is Completed", s.cmd("exit", "0"), podruntime.ExitStatus{Code: 0, Reason: podruntime.ReasonCompleted}},
		{"exit 3 is Error", s.cmd("exit", "3"), podruntime.ExitStatus{Code: 3, Reason: podruntime.ReasonError}},
		{"exit 255 is Error", s.cmd("exit", "255"), podruntime.ExitStatus{Code: 255, Reason: podruntime.ReasonError}},
		{"SIGKILL is 137", s.cmd("kill-self", "9"), podruntime.ExitStatus{Code: 137, Signal: syscall.SIGKILL, Reason: podruntime.ReasonError}},
		{"SIGTERM is 143", s.cmd("kill-self", "15"), podruntime.ExitStatus{Code: 143, Signal: syscall.SIGTERM, Reason: podruntime.ReasonError}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, st := s.runOne(t, rt, s.container("main", tc.cmd))
			checkStatus(t, st, tc.want)
			if st.StartedAt.Before(before.Add(-time.Second)) || st.FinishedAt.Before(st.StartedAt) || st.FinishedAt.After(time.Now().Add(time.Second)) {
				t.Errorf("StartedAt %v, FinishedAt %v: want before <= StartedAt <= FinishedAt <= now", st.StartedAt, st.FinishedAt)
			}
			// Every later Wait and List agree.
			if again := wait(t, rt, id); !cmp.Equal(again, st) {
				t.Errorf("second Wait = %+v, want %+v", again, st)
			}
			cs := state(t, rt, id)
			if cs.State != podruntime.StateExited || cs.Exit == nil || !cmp.Equal(*cs.Exit, st) {
				t.Errorf("List: state %s, exit %+v; want Exited with %+v", cs.State, cs.Exit, st)
			}
		})
	}
}

func testStartErrors(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	for _, tc := range []struct {
		name string
		cmd  []string
	}{
		{"missing executable", []string{"/nonexistent/batchd-conformance"}},
		{"not found on PATH", []string{"batchd-conformance-no-such-command"}},
		{"not executable", []string{filepath.Dir(s.bin)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := startPod(t, rt, podruntime.PodSpec{})
			id, err := rt.StartContainer(ctx(t), pod, s.container("main", tc.cmd))
			if !errors.Is(err, podruntime.ErrStartFailed) {
				t.Fatalf("StartContainer error = %v, want ErrStartFailed", err)
			}
			if id == "" {
				t.Fatal("StartContainer returned no ID with ErrStartFailed")
			}
			st := wait(t, rt, id)
			checkStatus(t, st, podruntime.ExitStatus{Code: 128, Reason: podruntime.ReasonStartError})
			if st.Message == "" {
				t.Error("StartError without a message")
			}
		})
	}
	t.Run("unknown pod", func(t *testing.T) {
		_, err := rt.StartContainer(ctx(t), "0123456789abcdef", s.container("main", s.cmd("exit", "0")))
		if !errors.Is(err, podruntime.ErrNotFound) {
			t.Errorf("StartContainer in an unknown pod: %v, want ErrNotFound", err)
		}
	})
	t.Run("same name and attempt twice", func(t *testing.T) {
		pod := startPod(t, rt, podruntime.PodSpec{})
		spec := s.container("main", s.cmd("exit", "0"))
		wait(t, rt, start(t, rt, pod, spec))
		if _, err := rt.StartContainer(ctx(t), pod, spec); !errors.Is(err, podruntime.ErrExists) {
			t.Errorf("second StartContainer: %v, want ErrExists", err)
		}
		spec.Attempt = 1
		checkStatus(t, wait(t, rt, start(t, rt, pod, spec)), podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
	})
}

func testOOM(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	if cr, ok := rt.(podruntime.CapabilityReporter); ok && !cr.Capabilities().MemoryLimit {
		t.Skipf("runtime does not enforce memory limits here: %v", cr.Capabilities().Warnings)
	}
	limit := podruntime.Resources{MemoryLimitBytes: 96 << 20}
	t.Run("hog over the limit is OOMKilled", func(t *testing.T) {
		spec := s.container("main", s.cmd("hog"))
		spec.Resources = limit
		_, st := s.runOne(t, rt, spec)
		checkStatus(t, st, podruntime.ExitStatus{Code: 137, Signal: syscall.SIGKILL, OOMKilled: true, Reason: podruntime.ReasonOOMKilled})
	})
	t.Run("exit within the limit is not OOMKilled", func(t *testing.T) {
		spec := s.container("main", s.cmd("exit", "0"))
		spec.Resources = limit
		_, st := s.runOne(t, rt, spec)
		checkStatus(t, st, podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
	})
}

func testStop(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	t.Run("SIGTERM handler exits before grace", func(t *testing.T) {
		pod := startPod(t, rt, podruntime.PodSpec{})
		id := start(t, rt, pod, s.container("main", s.cmd("handle-term")))
		awaitLog(t, rt, id, "ready")
		t0 := time.Now()
		if err := rt.Stop(ctx(t), id, 30*time.Second); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if d := time.Since(t0); d > 20*time.Second {
			t.Errorf("Stop took %v for a container that exits on SIGTERM", d)
		}
		checkStatus(t, wait(t, rt, id), podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
		_, lines := logLines(t, rt, id)
		if !slices.Contains(lines[crilog.Stdout], "got TERM") {
			t.Errorf("stdout %q lacks %q", lines[crilog.Stdout], "got TERM")
		}
	})
	t.Run("ignored SIGTERM is killed after grace", func(t *testing.T) {
		pod := startPod(t, rt, podruntime.PodSpec{})
		id := start(t, rt, pod, s.container("main", s.cmd("ignore-term")))
		awaitLog(t, rt, id, "ready")
		const grace = 300 * time.Millisecond
		t0 := time.Now()
		if err := rt.Stop(ctx(t), id, grace); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if d := time.Since(t0); d < grace {
			t.Errorf("Stop returned after %v, before the grace period of %v", d, grace)
		}
		checkStatus(t, wait(t, rt, id), podruntime.ExitStatus{Code: 137, Signal: syscall.SIGKILL, Reason: podruntime.ReasonError})
		if err := rt.Stop(ctx(t), id, grace); err != nil {
			t.Errorf("Stop of an exited container: %v, want nil", err)
		}
	})
	t.Run("zero grace kills at once", func(t *testing.T) {
		pod := startPod(t, rt, podruntime.PodSpec{})
		id := start(t, rt, pod, s.container("main", s.cmd("handle-term")))
		awaitLog(t, rt, id, "ready")
		if err := rt.Stop(ctx(t), id, 0); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		checkStatus(t, wait(t, rt, id), podruntime.ExitStatus{Code: 137, Signal: syscall.SIGKILL, Reason: podruntime.ReasonError})
	})
	t.Run("ended context kills without waiting", func(t *testing.T) {
		pod := startPod(t, rt, podruntime.PodSpec{})
		id := start(t, rt, pod, s.container("main", s.cmd("ignore-term")))
		awaitLog(t, rt, id, "ready")
		c, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		if err := rt.Stop(c, id, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Stop past its context: %v, want DeadlineExceeded", err)
		}
		checkStatus(t, wait(t, rt, id), podruntime.ExitStatus{Code: 137, Signal: syscall.SIGKILL, Reason: podruntime.ReasonError})
	})
}

func testLogs(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	id, st := s.runOne(t, rt, s.container("main", s.cmd("logs")))
	checkStatus(t, st, podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
	entries, lines := logLines(t, rt, id)
	want := map[crilog.Stream][]string{
		crilog.Stdout: {"hello", strings.Repeat("x", 20000), "no-newline<partial>"},
		crilog.Stderr: {"oops"},
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("log lines mismatch (-want +got):\n%s", diff)
	}
	var last time.Time
	var xRecords int
	for _, e := range entries {
		if e.Time.Before(st.StartedAt.Add(-time.Second)) || e.Time.After(st.FinishedAt.Add(time.Second)) {
			t.Errorf("record time %v outside the container's run %v..%v", e.Time, st.StartedAt, st.FinishedAt)
		}
		if e.Stream == crilog.Stdout {
			if e.Time.Before(last) {
				t.Errorf("stdout record times go backwards: %v after %v", e.Time, last)
			}
			last = e.Time
			if bytes.HasPrefix(e.Content, []byte("xxxx")) {
				xRecords++
			}
		}
	}
	if xRecords < 2 {
		t.Errorf("a 20000-byte line took %d records, want it split into partial records", xRecords)
	}
}

// hostMounts returns the host's mount table as seen by the test process.
func hostMounts(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testMounts(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	uniq := fmt.Sprintf("batchd-conformance-%d", time.Now().UnixNano())
	data, ro, conf := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "app.conf")
	if err := os.WriteFile(filepath.Join(data, "input.txt"), []byte("from host"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("key=value"), 0o644); err != nil {
		t.Fatal(err)
	}
	dataPath := "/" + uniq + "/data"         // parent missing on the host
	roPath := "/" + uniq + "/ro"             // sibling, read-only
	confPath := "/etc/" + uniq + "/app.conf" // a file, in a missing directory under an existing one
	workDir := "/" + uniq + "/work"          // missing working directory
	mounts := []podruntime.Mount{
		{HostPath: data, ContainerPath: dataPath},
		{HostPath: ro, ContainerPath: roPath, ReadOnly: true},
		{HostPath: conf, ContainerPath: confPath, ReadOnly: true},
	}
	before := hostMounts(t)
	pod := startPod(t, rt, podruntime.PodSpec{})
	run := func(name string, cmd []string) (podruntime.ContainerID, podruntime.ExitStatus) {
		spec := s.container(name, cmd)
		spec.Mounts = append(spec.Mounts, mounts...)
		spec.WorkingDir = workDir
		id := start(t, rt, pod, spec)
		return id, wait(t, rt, id)
	}
	t.Run("read a volume", func(t *testing.T) {
		id, st := run("cat", s.cmd("cat", dataPath+"/input.txt"))
		checkStatus(t, st, podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
		if _, lines := logLines(t, rt, id); !slices.Equal(lines[crilog.Stdout], []string{"from host<partial>"}) {
			t.Errorf("stdout = %q, want the host file's content", lines[crilog.Stdout])
		}
	})
	t.Run("write a volume", func(t *testing.T) {
		_, st := run("write", s.cmd("write", dataPath+"/out.txt", "from pod"))
		checkStatus(t, st, podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
		if b, err := os.ReadFile(filepath.Join(data, "out.txt")); err != nil || string(b) != "from pod" {
			t.Errorf("host sees out.txt = %q, %v; want %q", b, err, "from pod")
		}
	})
	t.Run("read-only volume refuses writes", func(t *testing.T) {
		id, st := run("write-ro", s.cmd("write", roPath+"/x", "nope"))
		checkStatus(t, st, podruntime.ExitStatus{Code: 1, Reason: podruntime.ReasonError})
		if _, lines := logLines(t, rt, id); len(lines[crilog.Stdout]) == 0 || !strings.Contains(lines[crilog.Stdout][0], "read-only file system") {
			t.Errorf("stdout = %q, want a read-only file system error", lines[crilog.Stdout])
		}
	})
	t.Run("file mount", func(t *testing.T) {
		id, st := run("conf", s.cmd("cat", confPath))
		checkStatus(t, st, podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
		if _, lines := logLines(t, rt, id); !slices.Equal(lines[crilog.Stdout], []string{"key=value<partial>"}) {
			t.Errorf("stdout = %q, want the mounted file's content", lines[crilog.Stdout])
		}
	})
	t.Run("host is untouched", func(t *testing.T) {
		for _, p := range []string{"/" + uniq, "/etc/" + uniq} {
			if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("host has %s (err %v): mount points must not be created on the host", p, err)
			}
		}
		after := hostMounts(t)
		if strings.Contains(after, uniq) {
			t.Errorf("host mount table mentions %s", uniq)
		}
		if n, m := strings.Count(before, "\n"), strings.Count(after, "\n"); n != m {
			t.Errorf("host has %d mounts, had %d before", m, n)
		}
	})
}

func (s *suite) info(t *testing.T, rt podruntime.Runtime, pod podruntime.PodID, spec podruntime.ContainerSpec) workloadInfo {
	t.Helper()
	id := start(t, rt, pod, spec)
	checkStatus(t, wait(t, rt, id), podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
	_, lines := logLines(t, rt, id)
	var in workloadInfo
	if len(lines[crilog.Stdout]) != 1 || json.Unmarshal([]byte(lines[crilog.Stdout][0]), &in) != nil {
		t.Fatalf("info workload printed %q", lines[crilog.Stdout])
	}
	return in
}

func testIdentity(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	t.Setenv("BATCHD_CONFORMANCE_AGENT_ONLY", "leak")
	pod := startPod(t, rt, podruntime.PodSpec{Name: "pi-0", Namespace: "default", UID: "u1", Hostname: "pi-0"})
	spec := s.container("main", s.cmd("info"))
	spec.Env = []string{"FOO=bar", "JOB_COMPLETION_INDEX=0"}
	spec.WorkingDir = "/tmp"
	spec.User = &podruntime.User{UID: 65534, GID: 65534, SupplementalGroups: []uint32{4242}}
	host, _ := os.Hostname()
	in := s.info(t, rt, pod, spec)
	if in.Hostname != "pi-0" {
		t.Errorf("hostname = %q, want pi-0", in.Hostname)
	}
	if now, _ := os.Hostname(); now != host {
		t.Errorf("host's hostname changed from %q to %q", host, now)
	}
	if in.Cwd != "/tmp" {
		t.Errorf("working directory = %q, want /tmp", in.Cwd)
	}
	if in.UID != 65534 || in.GID != 65534 || !slices.Contains(in.Groups, 4242) {
		t.Errorf("uid %d gid %d groups %v, want 65534, 65534, including 4242", in.UID, in.GID, in.Groups)
	}
	for _, kv := range []string{"FOO=bar", "JOB_COMPLETION_INDEX=0"} {
		if !slices.Contains(in.Env, kv) {
			t.Errorf("environment %q lacks %s", in.Env, kv)
		}
	}
	for _, kv := range in.Env {
		if strings.HasPrefix(kv, "BATCHD_CONFORMANCE_AGENT_ONLY=") {
			t.Errorf("the agent's environment leaked into the container: %s", kv)
		}
	}
}

func testPIDNamespace(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	pod := startPod(t, rt, podruntime.PodSpec{})
	in := s.info(t, rt, pod, s.container("main", s.cmd("info")))
	hostNS, _ := os.Readlink("/proc/self/ns/pid")
	if in.PidNS == "" || in.PidNS == hostNS {
		t.Errorf("container PID namespace %q, host's %q: want a namespace of its own", in.PidNS, hostNS)
	}
	if in.Proc1NS != in.PidNS {
		t.Errorf("PID 1 as the container sees it is in namespace %q, want the container's %q", in.Proc1NS, in.PidNS)
	}
	if in.Procs < 1 || in.Procs > 3 {
		t.Errorf("container sees %d processes in /proc, want only its own pod's (1 to 3)", in.Procs)
	}
	// An init's threads take PIDs too, so the container's own PID is
	// small rather than 1 or 2.
	if in.Pid > 64 {
		t.Errorf("container's PID is %d, want a small PID from a fresh namespace", in.Pid)
	}
}

func testOrphans(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	t0 := time.Now()
	_, st := s.runOne(t, rt, s.container("main", s.cmd("orphan")))
	checkStatus(t, st, podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
	if d := time.Since(t0); d > 30*time.Second {
		t.Errorf("Wait returned after %v: a child left behind kept the container alive", d)
	}
}

func testSharedVolume(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	shared := t.TempDir()
	path := fmt.Sprintf("/batchd-conformance-%d/shared", time.Now().UnixNano())
	pod := startPod(t, rt, podruntime.PodSpec{})
	withVolume := func(name string, cmd []string) podruntime.ContainerSpec {
		spec := s.container(name, cmd)
		spec.Mounts = append(spec.Mounts, podruntime.Mount{HostPath: shared, ContainerPath: path})
		return spec
	}
	checkStatus(t, wait(t, rt, start(t, rt, pod, withVolume("init", s.cmd("write", path+"/x", "from init")))), podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
	id := start(t, rt, pod, withVolume("main", s.cmd("cat", path+"/x")))
	checkStatus(t, wait(t, rt, id), podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
	if _, lines := logLines(t, rt, id); !slices.Equal(lines[crilog.Stdout], []string{"from init<partial>"}) {
		t.Errorf("main read %q, want what init wrote", lines[crilog.Stdout])
	}
}

func testRemove(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	pod, err := rt.StartPod(ctx(t), podruntime.PodSpec{Name: "rm", Namespace: "default", UID: "rm"})
	if err != nil {
		t.Fatal(err)
	}
	id := start(t, rt, pod, s.container("main", s.cmd("ignore-term")))
	awaitLog(t, rt, id, "ready")
	if err := rt.RemovePod(ctx(t), pod); err != nil {
		t.Fatalf("RemovePod of a running pod: %v", err)
	}
	if err := rt.RemovePod(ctx(t), pod); err != nil {
		t.Errorf("second RemovePod: %v, want nil", err)
	}
	if err := rt.RemovePod(ctx(t), "0123456789abcdef"); err != nil {
		t.Errorf("RemovePod of an unknown pod: %v, want nil", err)
	}
	pods, err := rt.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 0 {
		t.Errorf("List after RemovePod = %+v, want nothing", pods)
	}
	if _, err := rt.Wait(ctx(t), id); !errors.Is(err, podruntime.ErrNotFound) {
		t.Errorf("Wait on a removed container: %v, want ErrNotFound", err)
	}
	if err := rt.Stop(ctx(t), id, 0); !errors.Is(err, podruntime.ErrNotFound) {
		t.Errorf("Stop on a removed container: %v, want ErrNotFound", err)
	}
	if _, err := rt.StartContainer(ctx(t), pod, s.container("again", s.cmd("exit", "0"))); !errors.Is(err, podruntime.ErrNotFound) {
		t.Errorf("StartContainer in a removed pod: %v, want ErrNotFound", err)
	}
}
