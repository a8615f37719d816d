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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchd/batchd/internal/crilog"
	"github.com/batchd/batchd/internal/podruntime"
)

func testConcurrent(t *testing.T, s *suite) {
	rt, _ := s.runtime(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			c := ctx(t)
			pod, err := rt.StartPod(c, podruntime.PodSpec{Name: fmt.Sprintf("p%d", i)})
			if err != nil {
				errs[i] = err
				return
			}
			defer rt.RemovePod(c, pod)
			id, err := rt.StartContainer(c, pod, s.container("main", s.cmd("exit", strconv.Itoa(i))))
			if err != nil {
				errs[i] = err
				return
			}
			st, err := rt.Wait(c, id)
			if err == nil && st.Code != i {
				err = fmt.Errorf("pod %d exited %d", i, st.Code)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

func testReattach(t *testing.T, s *suite) {
	root := t.TempDir()
	old := s.newRuntime(t, root)
	gate1, gate2 := filepath.Join(t.TempDir(), "gate1"), filepath.Join(t.TempDir(), "gate2")
	spec := podruntime.PodSpec{Name: "job-0-abcde", Namespace: "ns", UID: "uid-1", Labels: map[string]string{"batch.kubernetes.io/job-completion-index": "0"}, Hostname: "job-0"}
	pod := startPod(t, old, spec)
	running := start(t, old, pod, s.container("running", s.cmd("wait-file", gate1, "3")))
	doneBefore := start(t, old, pod, s.container("done-before", s.cmd("exit", "7")))
	doneBetween := start(t, old, pod, s.container("done-between", s.cmd("wait-file", gate2, "4")))
	stopped := start(t, old, pod, s.container("stopped", s.cmd("ignore-term")))
	awaitLog(t, old, running, "before")
	awaitLog(t, old, stopped, "ready")
	checkStatus(t, wait(t, old, doneBefore), podruntime.ExitStatus{Code: 7, Reason: podruntime.ReasonError})

	// The agent "restarts": the old instance is no longer used, and
	// done-between finishes while no instance is watching.
	if err := os.WriteFile(gate2, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := s.newRuntime(t, root)

	pods, err := fresh.List(ctx(t))
	if err != nil {
		t.Fatalf("List on a fresh instance: %v", err)
	}
	if len(pods) != 1 || pods[0].ID != pod {
		t.Fatalf("List on a fresh instance = %+v, want pod %s", pods, pod)
	}
	if diff := cmp.Diff(spec, pods[0].Spec); diff != "" {
		t.Errorf("pod spec after reattach (-want +got):\n%s", diff)
	}
	byName := map[string]podruntime.ContainerState{}
	for _, c := range pods[0].Containers {
		byName[c.Spec.Name] = c
	}
	if c := byName["running"]; c.ID != running || c.State != podruntime.StateRunning || c.StartedAt.IsZero() {
		t.Errorf("running container after reattach: %+v", c)
	}
	if c := byName["done-before"]; c.State != podruntime.StateExited || c.Exit == nil || c.Exit.Code != 7 {
		t.Errorf("finished container after reattach: %+v", c)
	}

	checkStatus(t, wait(t, fresh, doneBetween), podruntime.ExitStatus{Code: 4, Reason: podruntime.ReasonError})
	if err := os.WriteFile(gate1, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	checkStatus(t, wait(t, fresh, running), podruntime.ExitStatus{Code: 3, Reason: podruntime.ReasonError})
	if _, lines := logLines(t, fresh, running); !slices.Equal(lines[crilog.Stdout], []string{"before", "after"}) {
		t.Errorf("log of the reattached container = %q, want before and after", lines[crilog.Stdout])
	}
	if err := fresh.Stop(ctx(t), stopped, 0); err != nil {
		t.Fatalf("Stop from a fresh instance: %v", err)
	}
	checkStatus(t, wait(t, fresh, stopped), podruntime.ExitStatus{Code: 137, Signal: syscall.SIGKILL, Reason: podruntime.ReasonError})
	// The restarted agent can start the next attempt in the same pod.
	next := s.container("running", s.cmd("exit", "0"))
	next.Attempt = 1
	checkStatus(t, wait(t, fresh, start(t, fresh, pod, next)), podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
	if err := fresh.RemovePod(ctx(t), pod); err != nil {
		t.Fatalf("RemovePod from a fresh instance: %v", err)
	}
	if pods, err := old.List(ctx(t)); err != nil || len(pods) != 0 {
		t.Errorf("List after RemovePod = %+v, %v; want nothing", pods, err)
	}
}

func testExec(t *testing.T, s *suite) {
	root := t.TempDir()
	rt := s.newRuntime(t, root)
	uniq := fmt.Sprintf("batchd-conformance-%d", time.Now().UnixNano())
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "in.txt"), []byte("from host"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	dataPath := "/" + uniq + "/data" // only in the container's view
	// The container runs as nobody: its gate must be reachable.
	gateDir, err := os.MkdirTemp("", "batchd-exec-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(gateDir) })
	if err := os.Chmod(gateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(gateDir, "gate")
	pod := startPod(t, rt, podruntime.PodSpec{Name: "exec-0", Namespace: "default", UID: "exec-uid", Hostname: "exec-0"})
	spec := s.container("main", s.cmd("wait-file", gate, "0"))
	spec.Env = []string{"FOO=bar"}
	spec.WorkingDir = "/tmp"
	spec.User = &podruntime.User{UID: 65534, GID: 65534}
	spec.Mounts = append(spec.Mounts, podruntime.Mount{HostPath: data, ContainerPath: dataPath, ReadOnly: true})
	id := start(t, rt, pod, spec)
	awaitLog(t, rt, id, "before")

	execOK := func(t *testing.T, rt podruntime.Runtime, cmd []string) podruntime.ExecResult {
		t.Helper()
		res, err := rt.ExecSync(ctx(t), id, cmd)
		if err != nil {
			t.Fatalf("ExecSync(%q): %v", cmd[2:], err)
		}
		return res
	}
	t.Run("runs in the container's namespaces with its identity", func(t *testing.T) {
		res := execOK(t, rt, s.cmd("info"))
		var in workloadInfo
		if res.Code != 0 || json.Unmarshal(bytes.TrimSpace(res.Output), &in) != nil {
			t.Fatalf("info: code %d, output %q", res.Code, res.Output)
		}
		hostNS, _ := os.Readlink("/proc/self/ns/pid")
		if in.Hostname != "exec-0" || in.Cwd != "/tmp" || in.UID != 65534 || in.GID != 65534 || !slices.Contains(in.Env, "FOO=bar") {
			t.Errorf("hostname %q cwd %q uid %d gid %d env %q; want the container's exec-0, /tmp, 65534, 65534, FOO=bar",
				in.Hostname, in.Cwd, in.UID, in.GID, in.Env)
		}
		// The container's own processes and the command, in a fresh PID
		// namespace.
		if in.PidNS == "" || in.PidNS == hostNS || in.Pid > 64 || in.Procs < 3 || in.Procs > 4 {
			t.Errorf("PID namespace %q (host's %q), pid %d, %d processes visible: want the container's namespace",
				in.PidNS, hostNS, in.Pid, in.Procs)
		}
	})
	t.Run("sees the container's mounts", func(t *testing.T) {
		res := execOK(t, rt, s.cmd("cat", dataPath+"/in.txt"))
		if res.Code != 0 || string(res.Output) != "from host" {
			t.Errorf("cat: code %d, output %q; want 0, %q", res.Code, res.Output, "from host")
		}
	})
	t.Run("exit code and interleaved output", func(t *testing.T) {
		if res := execOK(t, rt, s.cmd("exit", "3")); res.Code != 3 {
			t.Errorf("exit 3: code %d", res.Code)
		}
		res := execOK(t, rt, s.cmd("logs"))
		for _, want := range []string{"hello\n", "oops\n"} {
			if !bytes.Contains(res.Output, []byte(want)) {
				t.Errorf("output lacks %q", want)
			}
		}
		// It writes about 20 KB: the first MaxExecOutput bytes are kept.
		if len(res.Output) != podruntime.MaxExecOutput || !res.Truncated {
			t.Errorf("output of %d bytes, truncated %v: want %d, truncated", len(res.Output), res.Truncated, podruntime.MaxExecOutput)
		}
	})
	t.Run("ctx deadline kills the command", func(t *testing.T) {
		c, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		_, err := rt.ExecSync(c, id, s.cmd("ignore-term"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ExecSync past its deadline: %v, want DeadlineExceeded", err)
		}
		if d := time.Since(t0); d > 10*time.Second {
			t.Errorf("ExecSync returned after %v", d)
		}
		// The killed command is gone from the container.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var in workloadInfo
			res := execOK(t, rt, s.cmd("info"))
			if json.Unmarshal(bytes.TrimSpace(res.Output), &in) == nil && in.Procs <= 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("container still sees %d processes after the timed-out command", in.Procs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("concurrent commands", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() {
				res, err := rt.ExecSync(ctx(t), id, s.cmd("exit", strconv.Itoa(i)))
				if err == nil && res.Code != i {
					err = fmt.Errorf("command %d exited %d", i, res.Code)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Error(err)
		}
	})
	t.Run("command that cannot run", func(t *testing.T) {
		if _, err := rt.ExecSync(ctx(t), id, []string{"batchd-conformance-no-such-command"}); !errors.Is(err, podruntime.ErrStartFailed) {
			t.Errorf("ExecSync of a missing command: %v, want ErrStartFailed", err)
		}
	})
	t.Run("from a fresh instance", func(t *testing.T) {
		fresh := s.newRuntime(t, root)
		if res := execOK(t, fresh, s.cmd("exit", "4")); res.Code != 4 {
			t.Errorf("exit 4 from a fresh instance: code %d", res.Code)
		}
	})
	t.Run("not running", func(t *testing.T) {
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		checkStatus(t, wait(t, rt, id), podruntime.ExitStatus{Reason: podruntime.ReasonCompleted})
		if _, err := rt.ExecSync(ctx(t), id, s.cmd("exit", "0")); !errors.Is(err, podruntime.ErrNotRunning) {
			t.Errorf("ExecSync in an exited container: %v, want ErrNotRunning", err)
		}
		if _, err := rt.ExecSync(ctx(t), "no-such-container", s.cmd("exit", "0")); !errors.Is(err, podruntime.ErrNotFound) {
			t.Errorf("ExecSync in an unknown container: %v, want ErrNotFound", err)
		}
	})
}
