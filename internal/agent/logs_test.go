package agent_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// TestPodLogs: pods/log through the API server to the agent: the whole
// log, tailLines, limitBytes, timestamps, previous, follow ending with the
// container, and upstream's error for a container not started.
func TestPodLogs(t *testing.T) {
	_, cs := start(t)
	ctx := context.Background()
	pods := cs.CoreV1().Pods("default")
	create(t, cs, shPod("lines", corev1.RestartPolicyNever, "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three"))
	waitPhase(t, cs, "lines", corev1.PodSucceeded, 30*time.Second)
	get := func(name string, o *corev1.PodLogOptions) (string, error) {
		rc, err := pods.GetLogs(name, o).Stream(ctx) // decodes error Status bodies, as kubectl sees them
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	if got, err := get("lines", &corev1.PodLogOptions{}); err != nil || got != "one\ntwo\nthree\n" {
		t.Errorf("logs = %q, %v", got, err)
	}
	if got, err := get("lines", &corev1.PodLogOptions{TailLines: ptr.To[int64](1)}); err != nil || got != "three\n" {
		t.Errorf("tailLines=1: %q, %v", got, err)
	}
	if got, err := get("lines", &corev1.PodLogOptions{LimitBytes: ptr.To[int64](5)}); err != nil || got != "one\nt" {
		t.Errorf("limitBytes=5: %q, %v", got, err)
	}
	if got, err := get("lines", &corev1.PodLogOptions{Timestamps: true}); err != nil || !strings.Contains(got, "Z one\n") {
		t.Errorf("timestamps: %q, %v", got, err)
	}
	if _, err := get("lines", &corev1.PodLogOptions{Previous: true}); err == nil || !strings.Contains(err.Error(), "previous terminated container") {
		t.Errorf("previous: %v", err)
	}

	create(t, cs, shPod("slow", corev1.RestartPolicyNever, "for i in 1 2 3; do echo $i; sleep 0.3; done"))
	waitPhase(t, cs, "slow", corev1.PodRunning, 30*time.Second)
	begin := time.Now()
	rc, err := pods.GetLogs("slow", &corev1.PodLogOptions{Follow: true}).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "1\n2\n3\n" {
		t.Errorf("follow: %q, %v", b, err)
	}
	if el := time.Since(begin); el > 5*time.Second {
		t.Errorf("follow ended %v after the start, not with the container", el)
	}

	p := shPod("nowhere", corev1.RestartPolicyNever, "true")
	p.Spec.NodeSelector = map[string]string{"no": "such-node"}
	create(t, cs, p)
	if _, err := get("nowhere", &corev1.PodLogOptions{}); err == nil || !strings.Contains(err.Error(), `container "c" in pod "nowhere" is waiting to start: ContainerCreating`) {
		t.Errorf("unstarted: %v", err)
	}
}
