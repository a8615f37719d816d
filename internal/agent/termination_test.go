package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTerminationMessage: kubelet's terminationMessagePath and
// terminationMessagePolicy. The file (by default /dev/termination-log)
// is there in every container, its last 4096 bytes become
// state.terminated.message; FallbackToLogsOnError takes the end of the
// log (80 lines, 2048 bytes) when a failed container left the file empty;
// and a pod's messages share 12 KiB.
func TestTerminationMessage(t *testing.T) {
	_, cs := start(t)
	ctx := context.Background()
	// repeat prints n times the character ch, without a newline.
	repeat := func(ch string, n int) string {
		return fmt.Sprintf("i=0; while [ $i -lt %d ]; do printf %s; i=$((i+1)); done", n, ch)
	}
	fallback := func(p *corev1.Pod) *corev1.Pod {
		for i := range p.Spec.Containers {
			p.Spec.Containers[i].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
		}
		return p
	}
	custom := shPod("custom-path", corev1.RestartPolicyNever, "printf custom > /tmp/batchd-test-termination-msg")
	custom.Spec.Containers[0].TerminationMessagePath = "/tmp/batchd-test-termination-msg"
	share := shPod("share", corev1.RestartPolicyNever, repeat("x", 4096)+" > /dev/termination-log")
	for _, n := range []string{"d", "e", "f"} {
		c := share.Spec.Containers[0]
		c.Name = n
		share.Spec.Containers = append(share.Spec.Containers, c)
	}
	pods := []struct {
		pod  *corev1.Pod
		want []string // message of each container
	}{
		{shPod("file", corev1.RestartPolicyNever, "printf bye > /dev/termination-log"), []string{"bye"}},
		{custom, []string{"custom"}},
		{shPod("tail", corev1.RestartPolicyNever, "{ "+repeat("a", 1000)+"; "+repeat("b", 4096)+"; } > /dev/termination-log; exit 1"),
			[]string{strings.Repeat("b", 4096)}},
		{shPod("no-fallback", corev1.RestartPolicyNever, "echo from log; exit 1"), []string{""}},
		{fallback(shPod("fallback-lines", corev1.RestartPolicyNever, "i=1; while [ $i -le 100 ]; do echo $i; i=$((i+1)); done; exit 2")),
			[]string{linesFrom(21, 100)}},
		{fallback(shPod("fallback-bytes", corev1.RestartPolicyNever, repeat("y", 3000)+"; echo; echo end; exit 2")),
			[]string{strings.Repeat("y", 2048-5) + "\nend\n"}},
		{fallback(shPod("fallback-ok", corev1.RestartPolicyNever, "echo all good")), []string{""}},
		{fallback(shPod("fallback-file", corev1.RestartPolicyNever, "echo noise; printf 'from file' > /dev/termination-log; exit 3")),
			[]string{"from file"}},
		// 12 KiB over four containers: each message keeps its first 3072 bytes.
		{share, []string{strings.Repeat("x", 3072), strings.Repeat("x", 3072), strings.Repeat("x", 3072), strings.Repeat("x", 3072)}},
	}
	for _, tc := range pods {
		create(t, cs, tc.pod)
	}
	for _, tc := range pods {
		var p *corev1.Pod
		waitFor(t, 60*time.Second, "pod "+tc.pod.Name+" finished", func() bool {
			got, err := cs.CoreV1().Pods("default").Get(ctx, tc.pod.Name, metav1.GetOptions{})
			p = got
			return err == nil && (got.Status.Phase == corev1.PodSucceeded || got.Status.Phase == corev1.PodFailed)
		})
		for i, s := range p.Status.ContainerStatuses {
			if s.State.Terminated == nil {
				t.Errorf("%s/%s: not terminated: %+v", tc.pod.Name, s.Name, s.State)
				continue
			}
			if got := s.State.Terminated.Message; got != tc.want[i] {
				t.Errorf("%s/%s: message %q (%d bytes), want %q (%d bytes)", tc.pod.Name, s.Name, abbrev(got), len(got), abbrev(tc.want[i]), len(tc.want[i]))
			}
		}
	}
	if _, err := os.Stat("/tmp/batchd-test-termination-msg"); err == nil {
		t.Error("a custom terminationMessagePath was created on the host")
	}
}

func linesFrom(from, to int) string {
	var b bytes.Buffer
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}

func abbrev(s string) string {
	if len(s) > 40 {
		return s[:20] + "..." + s[len(s)-20:]
	}
	return s
}
