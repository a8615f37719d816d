package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/batchd/batchd/internal/podruntime/hostproc"
)

// TestFinishedPodReleasesSandbox: once a pod's terminal status is written,
// the agent removes its sandbox (and so its cgroups), as kubelet cleans up
// a terminated pod, while the pod object stays; its logs are still served,
// also by an agent started after the pod ended.
func TestFinishedPodReleasesSandbox(t *testing.T) {
	c, cs, dir := startIn(t)
	create(t, cs, shPod("done", corev1.RestartPolicyNever, "echo bye"))
	done := waitPhase(t, cs, "done", corev1.PodSucceeded, 30*time.Second)
	// The agent's cache drops managedFields; its status writes must keep
	// the creator's entry and add its own for the status.
	var creator, status bool
	for _, e := range done.ManagedFields {
		creator = creator || e.Subresource == ""
		status = status || e.Subresource == "status"
	}
	if !creator || !status {
		t.Errorf("managedFields after the agent's writes: %+v; want the creator's and a status entry", done.ManagedFields)
	}

	rt, err := hostproc.New(hostproc.Config{StateDir: dir, HelperPath: helper})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the finished pod's sandbox to be removed", func() bool {
		pods, err := rt.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods {
			if p.Spec.Name == "done" {
				return false
			}
		}
		return true
	})
	if got := podLog(t, cs, "done"); got != "bye" {
		t.Errorf("log after release = %q, want bye", got)
	}

	c.Restart(t, agentOpts(dir)...)
	cs = c.Client()
	waitNodeReady(t, cs)
	var got string
	waitFor(t, 10*time.Second, "the log from a restarted agent", func() bool {
		got = podLogErr(cs, "done")
		return got == "bye"
	})
	if got != "bye" {
		t.Errorf("log after restart = %q, want bye", got)
	}
}

func podLog(t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	b, err := cs.CoreV1().Pods("default").GetLogs(name, &corev1.PodLogOptions{}).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("logs of %s: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}

func podLogErr(cs kubernetes.Interface, name string) string {
	b, err := cs.CoreV1().Pods("default").GetLogs(name, &corev1.PodLogOptions{}).DoRaw(context.Background())
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.TrimSpace(string(b))
}
