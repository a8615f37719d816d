package kubeconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
)

// caPEM only needs to look like PEM: client-go does not parse it until it
// connects.
const caPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func TestWriteThenLoad(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		wantContext string
	}{
		{
			name:        "default name",
			cfg:         Config{Server: "https://127.0.0.1:6443", CAData: []byte(caPEM), Token: "secret-token"},
			wantContext: "batchd",
		},
		{
			name:        "custom name",
			cfg:         Config{Server: "https://batchd.example:6443", CAData: []byte(caPEM), Token: "t2", Name: "lab"},
			wantContext: "lab",
		},
		{
			name:        "no CA data",
			cfg:         Config{Server: "https://batchd.example", Token: "t3"},
			wantContext: "batchd",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "kubeconfig")
			if err := Write(path, tt.cfg); err != nil {
				t.Fatalf("Write() error = %v", err)
			}

			rc, err := clientcmd.BuildConfigFromFlags("", path)
			if err != nil {
				t.Fatalf("BuildConfigFromFlags() error = %v", err)
			}
			got := Config{Server: rc.Host, CAData: rc.CAData, Token: rc.BearerToken, Name: tt.cfg.Name}
			if diff := cmp.Diff(tt.cfg, got); diff != "" {
				t.Errorf("loaded config mismatch (-want +got):\n%s", diff)
			}

			raw, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatalf("LoadFromFile() error = %v", err)
			}
			if raw.CurrentContext != tt.wantContext {
				t.Errorf("current-context = %q, want %q", raw.CurrentContext, tt.wantContext)
			}

			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("kubeconfig mode = %v, want 0600", got)
			}
		})
	}
}

func TestWriteReplacesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, []byte("old and readable"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, Config{Server: "https://127.0.0.1:6443", Token: "new"}); err != nil {
		t.Fatalf("Write() error = %v", err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("BuildConfigFromFlags() error = %v", err)
	}
	if rc.BearerToken != "new" {
		t.Errorf("BearerToken = %q, want %q", rc.BearerToken, "new")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced kubeconfig: stat error %v; want mode 0600", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1 (no temporary files left)", len(entries))
	}
}

func TestWriteValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "no server", cfg: Config{Token: "t"}, wantErr: "Server is required"},
		{name: "no token", cfg: Config{Server: "https://x"}, wantErr: "Token is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kubeconfig")
			err := Write(path, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Write() error = %v, want it to contain %q", err, tt.wantErr)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("Write() with an invalid config created the file (stat error %v)", err)
			}
		})
	}
}
