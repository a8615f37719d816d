package clustertest

import (
	"os"
	"os/exec"
	"path/filepath"
)

// KubectlPath returns kubectl.<version> (e.g. "1.33") installed beside the
// file the kubectl on PATH resolves to, as the development machines keep
// every supported version, or "" if there is none: callers skip.
func KubectlPath(version string) string {
	p, err := exec.LookPath("kubectl")
	if err != nil {
		return ""
	}
	if p, err = filepath.EvalSymlinks(p); err != nil {
		return ""
	}
	k := filepath.Join(filepath.Dir(p), "kubectl."+version)
	if _, err := os.Stat(k); err != nil {
		return ""
	}
	return k
}
