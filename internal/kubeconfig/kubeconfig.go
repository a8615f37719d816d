package kubeconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultName is the cluster, user and context name when Config.Name is empty.
const DefaultName = "batchd"

// Config is the content of an admin kubeconfig.
type Config struct {
	Server string // API server URL, e.g. "https://127.0.0.1:6443"; required
	CAData []byte // PEM CA bundle that signed the serving certificate; empty = system roots
	Token  string // bearer token; required
	Name   string // cluster, user and context name; empty = DefaultName
}

// Write replaces the file at path with a kubeconfig for cfg, with mode
// 0600 because it holds a credential. It writes a temporary file next to
// path and renames it, so a reader never sees a partial file. It creates
// path's directory, with mode 0700, if it is missing.
func Write(path string, cfg Config) error {
	if cfg.Server == "" {
		return errors.New("kubeconfig: Server is required")
	}
	if cfg.Token == "" {
		return errors.New("kubeconfig: Token is required")
	}
	name := cfg.Name
	if name == "" {
		name = DefaultName
	}

	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{
		Server:                   cfg.Server,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: cfg.Token}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return fmt.Errorf("encoding kubeconfig: %w", err)
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating kubeconfig directory: %w", err)
	}
	return writeFileAtomic(path, data, 0o600)
}

// writeFileAtomic replaces path with data: it writes a temporary file in
// the same directory, syncs it and renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(perm)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, werr)
	}
	return nil
}
