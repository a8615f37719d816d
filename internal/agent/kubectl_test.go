package agent_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/clustertest"
)

// TestKubectlLogsFollowJob: stock `kubectl logs -f job/x` streams a Job's
// pod as it runs and ends when the container ends.
func TestKubectlLogsFollowJob(t *testing.T) {
	kubectl := clustertest.KubectlPath("1.33")
	if kubectl == "" {
		t.Skip("kubectl.1.33 not found next to kubectl")
	}
	c, cs := start(t)
	ctx := context.Background()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "default"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: "busybox",
				Command: []string{"sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.3; done"}}},
		}}},
	}
	if _, err := cs.BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the job's pod running", func() bool {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "job-name=x"})
		return err == nil && len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodRunning
	})
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, kubectl, "--kubeconfig", c.Kubeconfig(), "logs", "-f", "job/x").CombinedOutput()
	if err != nil || string(out) != "line 1\nline 2\nline 3\n" {
		t.Errorf("kubectl logs -f job/x: %q, %v", out, err)
	}
}
