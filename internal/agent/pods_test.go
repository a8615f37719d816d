package agent_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestInitSidecarVolumes: an init container fills an emptyDir the main
// container reads, with a ConfigMap, a Secret and a PVC mounted; a native
// sidecar (restartPolicy Always init container) runs alongside and is
// stopped once the main container ends, so the pod Succeeds.
func TestInitSidecarVolumes(t *testing.T) {
	_, cs := start(t)
	ctx := context.Background()
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"k": "cmval"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"p": []byte("secval")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	p := shPod("vols", corev1.RestartPolicyNever, `cat /work/f /cm/k /sec/p > /out/r; echo " $CMENV" >> /out/r; echo kept > /claim/x`)
	p.Spec.Volumes = []corev1.Volume{
		{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
		{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
		{Name: "claim", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
		{Name: "out", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: out}}},
	}
	p.Spec.InitContainers = []corev1.Container{
		{Name: "fill", Image: "busybox", Command: []string{"sh", "-c", "printf initdata > /work/f"},
			VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}},
		{Name: "side", Image: "busybox", Command: []string{"sleep", "300"}, RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
	}
	c := &p.Spec.Containers[0]
	c.Command[2] = "sleep 0.5; " + c.Command[2]
	c.Env = []corev1.EnvVar{{Name: "CMENV", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "k"}}}}
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "work", MountPath: "/work"}, {Name: "cm", MountPath: "/cm"}, {Name: "sec", MountPath: "/sec"},
		{Name: "claim", MountPath: "/claim"}, {Name: "out", MountPath: "/out"},
	}
	create(t, cs, p)
	running := waitPhase(t, cs, "vols", corev1.PodRunning, 30*time.Second)
	if condition(running, corev1.PodInitialized) != corev1.ConditionTrue {
		t.Errorf("running pod not Initialized: %+v", running.Status.Conditions)
	}
	done := waitPhase(t, cs, "vols", corev1.PodSucceeded, 30*time.Second)
	b, _ := os.ReadFile(out + "/r")
	if got := strings.TrimSpace(string(b)); got != "initdatacmvalsecval cmval" {
		t.Errorf("output %q", got)
	}
	if len(done.Status.InitContainerStatuses) != 2 || done.Status.InitContainerStatuses[0].State.Terminated == nil ||
		done.Status.InitContainerStatuses[1].State.Terminated == nil {
		t.Errorf("init statuses = %+v", done.Status.InitContainerStatuses)
	}
}

// TestActiveDeadline: a pod past spec.activeDeadlineSeconds is stopped
// and fails with reason DeadlineExceeded.
func TestActiveDeadline(t *testing.T) {
	_, cs := start(t)
	p := shPod("late", corev1.RestartPolicyNever, "sleep 300")
	p.Spec.ActiveDeadlineSeconds = ptr.To[int64](1)
	create(t, cs, p)
	failed := waitPhase(t, cs, "late", corev1.PodFailed, 20*time.Second)
	if failed.Status.Reason != "DeadlineExceeded" {
		t.Errorf("reason = %q", failed.Status.Reason)
	}
	if s := failed.Status.ContainerStatuses[0]; s.State.Terminated == nil || s.State.Terminated.ExitCode != 143 && s.State.Terminated.ExitCode != 137 {
		t.Errorf("container = %+v", s)
	}
}
