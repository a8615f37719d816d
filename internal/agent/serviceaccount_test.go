package agent_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestServiceAccountVolume: containers get the service account directory
// read-only, with the API server's CA, the pod's namespace and a token
// (TestServiceAccountToken checks it), unless the pod or its service
// account turns automountServiceAccountToken off or a volume is mounted
// there; and the kubernetes service's environment variables.
func TestServiceAccountVolume(t *testing.T) {
	c, cs := start(t)
	ctx := context.Background()
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:                   metav1.ObjectMeta{Name: "no-token"},
		AutomountServiceAccountToken: ptr.To(false),
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const dir = "/var/run/secrets/kubernetes.io/serviceaccount"
	script := `ls -A ` + dir + ` > /out/ls; cat ` + dir + `/namespace > /out/ns 2>/dev/null; cat ` + dir + `/ca.crt > /out/ca 2>/dev/null
		if [ -e ` + dir + `/namespace ]; then if touch ` + dir + `/x 2>/dev/null; then echo writable; else echo read-only; fi > /out/rw; fi
		echo "$KUBERNETES_SERVICE_HOST $KUBERNETES_SERVICE_PORT $KUBERNETES_SERVICE_PORT_HTTPS $KUBERNETES_PORT" > /out/env`
	out := map[string]string{}
	pod := func(name string, mutate func(*corev1.Pod)) {
		out[name] = t.TempDir()
		p := shPod(name, corev1.RestartPolicyNever, script)
		p.Spec.Volumes = []corev1.Volume{{Name: "out", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: out[name]}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "out", MountPath: "/out"}}
		if mutate != nil {
			mutate(p)
		}
		create(t, cs, p)
	}
	pod("sa-default", nil)
	// Without the mount, containers see the host's directory, which the
	// agent created empty (ensureMountPoints), as they see the rest of
	// the host: the script does not write there.
	pod("sa-pod-off", func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = ptr.To(false) })
	pod("sa-account-off", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "no-token" })
	// The pod's own field wins over its service account's.
	pod("sa-pod-on", func(p *corev1.Pod) {
		p.Spec.ServiceAccountName = "no-token"
		p.Spec.AutomountServiceAccountToken = ptr.To(true)
	})
	mine := t.TempDir()
	if err := os.WriteFile(filepath.Join(mine, "mine"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pod("sa-own-volume", func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "own", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: mine}}})
		p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "own", MountPath: dir, ReadOnly: true})
	})
	read := func(name, file string) string {
		b, _ := os.ReadFile(filepath.Join(out[name], file))
		return string(b)
	}
	for name := range out {
		waitPhase(t, cs, name, corev1.PodSucceeded, 30*time.Second)
	}

	ca := string(c.Config().TLSClientConfig.CAData)
	for _, name := range []string{"sa-default", "sa-pod-on"} {
		if got := read(name, "ls"); got != "ca.crt\nnamespace\ntoken\n" {
			t.Errorf("%s: directory holds %q, want ca.crt, namespace and token", name, got)
		}
		if got := read(name, "ns"); got != "default" {
			t.Errorf("%s: namespace %q", name, got)
		}
		if got := read(name, "ca"); ca == "" || got != ca {
			t.Errorf("%s: ca.crt is not the API server's CA (%d bytes, want %d)", name, len(got), len(ca))
		}
		if got := read(name, "rw"); got != "read-only\n" {
			t.Errorf("%s: service account directory is %s", name, got)
		}
	}
	for _, name := range []string{"sa-pod-off", "sa-account-off"} {
		if got := read(name, "ls"); got != "" {
			t.Errorf("%s: service account directory holds %q, want nothing mounted", name, got)
		}
	}
	if got := read("sa-own-volume", "ls"); got != "mine\n" {
		t.Errorf("sa-own-volume: directory holds %q, want the pod's own volume", got)
	}

	u, err := url.Parse(c.Config().Host)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(u.Host)
	if got, want := strings.TrimSpace(read("sa-default", "env")), host+" "+port+" "+port+" tcp://"+net.JoinHostPort(host, port); got != want {
		t.Errorf("kubernetes service environment %q, want %q", got, want)
	}
}
