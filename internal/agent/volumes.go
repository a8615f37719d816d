package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/podruntime"
)

// Volumes live under the agent's state directory:
//
//	volumes/<pod uid>/<volume>   emptyDir (tmpfs for medium Memory) and
//	                             the files of configMap, secret,
//	                             downwardAPI and projected volumes
//	claims/<namespace>/<claim>   persistentVolumeClaim: one directory per
//	                             claim, so its data outlives its pods
//
// and in RunDir (tmpfs):
//
//	serviceaccount/<pod uid>     the service account volume (serviceaccount.go)
//	containers/<pod uid>/        termination message files (termination.go)
//
// hostPath volumes are the host path itself.

func (a *Agent) podVolumeDir(pod *corev1.Pod) string {
	return filepath.Join(a.cfg.StateDir, "volumes", string(pod.UID))
}

// mounts prepares the container's volumes and returns its bind mounts.
func (a *Agent) mounts(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]podruntime.Mount, error) {
	if len(c.VolumeMounts) == 0 {
		return nil, nil
	}
	vols := map[string]*corev1.Volume{}
	for i := range pod.Spec.Volumes {
		vols[pod.Spec.Volumes[i].Name] = &pod.Spec.Volumes[i]
	}
	var out []podruntime.Mount
	for _, vm := range c.VolumeMounts {
		v := vols[vm.Name]
		if v == nil {
			return nil, fmt.Errorf("volume %q not found", vm.Name)
		}
		dir, ro, err := a.volumePath(ctx, pod, c, v)
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		if vm.SubPath != "" {
			if filepath.IsAbs(vm.SubPath) || strings.Contains(vm.SubPath, "..") {
				return nil, fmt.Errorf("volume %q: invalid subPath %q", v.Name, vm.SubPath)
			}
			dir = filepath.Join(dir, vm.SubPath)
			if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(dir, 0o777); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, podruntime.Mount{HostPath: dir, ContainerPath: vm.MountPath, ReadOnly: vm.ReadOnly || ro})
	}
	return out, nil
}

// volumePath materialises a volume and returns its host path and whether
// it is always read-only.
func (a *Agent) volumePath(ctx context.Context, pod *corev1.Pod, c *corev1.Container, v *corev1.Volume) (string, bool, error) {
	dir := filepath.Join(a.podVolumeDir(pod), v.Name)
	switch {
	case v.HostPath != nil:
		t := corev1.HostPathUnset
		if v.HostPath.Type != nil {
			t = *v.HostPath.Type
		}
		switch t {
		case corev1.HostPathDirectoryOrCreate:
			if err := os.MkdirAll(v.HostPath.Path, 0o755); err != nil {
				return "", false, err
			}
		case corev1.HostPathFileOrCreate:
			f, err := os.OpenFile(v.HostPath.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return "", false, err
			}
			f.Close()
		case corev1.HostPathUnset:
		default:
			if _, err := os.Stat(v.HostPath.Path); err != nil {
				return "", false, err
			}
		}
		return v.HostPath.Path, false, nil
	case v.EmptyDir != nil:
		if _, err := os.Stat(dir); err == nil {
			return dir, false, nil
		}
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return "", false, err
		}
		if v.EmptyDir.Medium == corev1.StorageMediumMemory {
			opts := ""
			if v.EmptyDir.SizeLimit != nil {
				opts = "size=" + strconv.FormatInt(v.EmptyDir.SizeLimit.Value(), 10)
			}
			if err := unix.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
				return "", false, fmt.Errorf("mounting tmpfs: %w", err)
			}
		}
		return dir, false, os.Chmod(dir, 0o777)
	case v.PersistentVolumeClaim != nil:
		d := filepath.Join(a.cfg.StateDir, "claims", pod.Namespace, v.PersistentVolumeClaim.ClaimName)
		return d, v.PersistentVolumeClaim.ReadOnly, os.MkdirAll(d, 0o777)
	}
	files, err := a.volumeFiles(ctx, pod, c, v)
	if err != nil {
		return "", false, err
	}
	if err := writeFiles(dir, files); err != nil {
		return "", false, err
	}
	return dir, true, nil
}

type volFile struct {
	data []byte
	mode os.FileMode
}

// volumeFiles are the files of a configMap, secret, downwardAPI or
// projected volume.
func (a *Agent) volumeFiles(ctx context.Context, pod *corev1.Pod, c *corev1.Container, v *corev1.Volume) (map[string]volFile, error) {
	files := map[string]volFile{}
	switch {
	case v.ConfigMap != nil:
		return files, a.configMapFiles(ctx, pod, files, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, v.ConfigMap.DefaultMode)
	case v.Secret != nil:
		return files, a.secretFiles(ctx, pod, files, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, v.Secret.DefaultMode)
	case v.DownwardAPI != nil:
		return files, a.downwardFiles(pod, c, files, v.DownwardAPI.Items, v.DownwardAPI.DefaultMode)
	case v.Projected != nil:
		for _, s := range v.Projected.Sources {
			var err error
			switch {
			case s.ConfigMap != nil:
				err = a.configMapFiles(ctx, pod, files, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, v.Projected.DefaultMode)
			case s.Secret != nil:
				err = a.secretFiles(ctx, pod, files, s.Secret.Name, s.Secret.Items, s.Secret.Optional, v.Projected.DefaultMode)
			case s.DownwardAPI != nil:
				err = a.downwardFiles(pod, c, files, s.DownwardAPI.Items, v.Projected.DefaultMode)
			}
			if err != nil {
				return nil, err
			}
		}
		return files, nil
	}
	return nil, fmt.Errorf("unsupported volume type")
}

func fileMode(item, def *int32) os.FileMode {
	if item != nil {
		return os.FileMode(*item)
	}
	if def != nil {
		return os.FileMode(*def)
	}
	return 0o644
}

func addItems(files map[string]volFile, data map[string][]byte, items []corev1.KeyToPath, def *int32, what string) error {
	if len(items) == 0 {
		for k, d := range data {
			files[k] = volFile{d, fileMode(nil, def)}
		}
		return nil
	}
	for _, it := range items {
		d, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("%s has no key %q", what, it.Key)
		}
		files[it.Path] = volFile{d, fileMode(it.Mode, def)}
	}
	return nil
}

func (a *Agent) configMapFiles(ctx context.Context, pod *corev1.Pod, files map[string]volFile, name string, items []corev1.KeyToPath, optional *bool, def *int32) error {
	cm, err := a.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if ptrTrue(optional) {
			return nil
		}
		return fmt.Errorf("configmap %q: %w", name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return addItems(files, data, items, def, "configmap "+name)
}

func (a *Agent) secretFiles(ctx context.Context, pod *corev1.Pod, files map[string]volFile, name string, items []corev1.KeyToPath, optional *bool, def *int32) error {
	s, err := a.client.CoreV1().Secrets(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if ptrTrue(optional) {
			return nil
		}
		return fmt.Errorf("secret %q: %w", name, err)
	}
	return addItems(files, s.Data, items, def, "secret "+name)
}

func (a *Agent) downwardFiles(pod *corev1.Pod, c *corev1.Container, files map[string]volFile, items []corev1.DownwardAPIVolumeFile, def *int32) error {
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil && it.FieldRef.FieldPath == "metadata.labels":
			v = formatMap(pod.Labels)
		case it.FieldRef != nil && it.FieldRef.FieldPath == "metadata.annotations":
			v = formatMap(pod.Annotations)
		case it.FieldRef != nil:
			v, err = a.fieldValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			v, err = resourceValue(c, it.ResourceFieldRef)
		}
		if err != nil {
			return err
		}
		files[it.Path] = volFile{[]byte(v), fileMode(it.Mode, def)}
	}
	return nil
}

func formatMap(m map[string]string) string {
	var lines []string
	for k, v := range m {
		lines = append(lines, k+"="+strconv.Quote(v))
	}
	sortStrings(lines)
	return strings.Join(lines, "\n")
}

// writeFiles (re)writes a volume's files.
func writeFiles(dir string, files map[string]volFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, f := range files {
		if filepath.IsAbs(name) || strings.Contains(name, "..") {
			return fmt.Errorf("invalid path %q", name)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		// A temporary file of its own: containers of one pod starting at
		// the same time write the same files.
		tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp*")
		if err != nil {
			return err
		}
		_, werr := tmp.Write(f.data)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), f.mode.Perm())); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		if err := os.Rename(tmp.Name(), p); err != nil {
			os.Remove(tmp.Name())
			return err
		}
	}
	return nil
}

// removeVolumes unmounts and deletes a pod's volumes (not its claims),
// its service account files and its termination message files.
func (a *Agent) removeVolumes(pod *corev1.Pod) {
	dir := a.podVolumeDir(pod)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		_ = unix.Unmount(filepath.Join(dir, e.Name()), unix.MNT_DETACH)
	}
	for _, d := range []string{dir, a.serviceAccountDir(pod), a.containerFilesDir(pod)} {
		if err := os.RemoveAll(d); err != nil {
			a.log.Warn("Removing pod files", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
	}
}
