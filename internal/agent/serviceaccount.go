package agent

import (
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/batchd/batchd/internal/podruntime"
)

// Service account volume. Upstream, the ServiceAccount admission plugin
// adds a projected volume (kube-api-access-*: a bound token, the
// kube-root-ca.crt ConfigMap's ca.crt and the namespace) to every pod
// whose automountServiceAccountToken is not false (the pod's field, else
// the service account's), and kubelet mounts it read-only at
// /var/run/secrets/kubernetes.io/serviceaccount. batchd has neither that
// admission plugin nor the root CA publisher, so the agent provides the
// mount itself, in every container that does not mount a volume there
// already, from
//
//	<StateDir>/serviceaccount/<pod uid>/{ca.crt,namespace}
//
// There is no token file: batchd's API server authenticates a fixed set of
// bearer tokens (internal/authn) and serves no TokenRequest
// (serviceaccounts/token), so the agent cannot mint a token for the pod's
// service account, and a made-up one would only fail later. Workloads
// that talk to the API need a token of their own (a Secret) until the
// server issues service account tokens.
const (
	serviceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	serviceAccountDirName   = "serviceaccount"
)

func (a *Agent) serviceAccountDir(pod *corev1.Pod) string {
	return filepath.Join(a.cfg.StateDir, serviceAccountDirName, string(pod.UID))
}

// automountServiceAccount is the ServiceAccount admission plugin's rule:
// the pod's automountServiceAccountToken, else its service account's,
// else true.
func (a *Agent) automountServiceAccount(pod *corev1.Pod) bool {
	if v := pod.Spec.AutomountServiceAccountToken; v != nil {
		return *v
	}
	if a.sas != nil && pod.Spec.ServiceAccountName != "" {
		if sa, err := a.sas.ServiceAccounts(pod.Namespace).Get(pod.Spec.ServiceAccountName); err == nil && sa.AutomountServiceAccountToken != nil {
			return *sa.AutomountServiceAccountToken
		}
	}
	return true
}

// serviceAccountMount writes the pod's service account files and returns
// their mount; ok is false when the container gets none.
func (a *Agent) serviceAccountMount(pod *corev1.Pod, c *corev1.Container) (m podruntime.Mount, ok bool, err error) {
	if !a.automountServiceAccount(pod) {
		return podruntime.Mount{}, false, nil
	}
	for _, vm := range c.VolumeMounts {
		if filepath.Clean(vm.MountPath) == serviceAccountMountPath {
			return podruntime.Mount{}, false, nil
		}
	}
	files := map[string]volFile{"namespace": {data: []byte(pod.Namespace), mode: 0o644}}
	if len(a.cfg.CACert) > 0 {
		files["ca.crt"] = volFile{data: a.cfg.CACert, mode: 0o644}
	}
	dir := a.serviceAccountDir(pod)
	if err := writeFiles(dir, files); err != nil {
		return podruntime.Mount{}, false, err
	}
	return podruntime.Mount{HostPath: dir, ContainerPath: serviceAccountMountPath, ReadOnly: true}, true, nil
}

// ensureMountPoints creates, on the host, the two mount points kubelet
// puts in every container: /dev/termination-log (an empty file) and the
// service account directory (empty). A runtime that runs containers on
// the host's root filesystem (hostproc) can then bind mount over them
// directly; without them, each container would need a private copy of
// the missing path's ancestors (hostproc's "mimic" root: milliseconds and
// about a hundred mounts per container for /dev). They are created once,
// hold nothing (every container that uses them covers them with its own
// files), and live on tmpfs on usual hosts (/dev is devtmpfs, /var/run
// is /run). One difference remains: a container without the service
// account mount sees the host's empty directory (as it sees the rest of
// the host's filesystem) where upstream it would see none. Failing is not
// an error: containers then pay for the private root.
func (a *Agent) ensureMountPoints() {
	if err := os.MkdirAll(serviceAccountMountPath, 0o755); err != nil {
		a.log.Debug("Creating service account mount point", "err", err)
	}
	p := corev1.TerminationMessagePathDefault
	if _, err := os.Lstat(p); err == nil {
		return
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		a.log.Debug("Creating termination message mount point", "err", err)
		return
	}
	f.Close()
}
