package datadir

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustOpen(t *testing.T, path string) *Dir {
	t.Helper()
	d, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s) error = %v", path, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	d := mustOpen(t, path)

	got := []string{d.Path(), d.EtcdDir(), d.PKIDir(), d.KubeconfigPath()}
	want := []string{path, path + "/etcd", path + "/pki", path + "/kubeconfig"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paths mismatch (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("data directory mode = %v, want 0700", got)
	}
	pid, err := os.ReadFile(filepath.Join(path, "batchd.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(pid), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("lock file contains %q, want %q", got, want)
	}
}

func TestOpenRelativePathIsAbsolute(t *testing.T) {
	t.Chdir(t.TempDir())
	d := mustOpen(t, "rel")
	if !filepath.IsAbs(d.Path()) || filepath.Base(d.Path()) != "rel" {
		t.Errorf("Path() = %q, want an absolute path ending in rel", d.Path())
	}
}

func TestOpenTwiceInOneProcess(t *testing.T) {
	path := t.TempDir()
	first := mustOpen(t, path)

	_, err := Open(path)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open() error = %v, want ErrLocked", err)
	}
	want := fmt.Sprintf("data directory %s is in use by another batchd server (lock %s/batchd.lock held)", path, path)
	if got := err.Error(); got != want {
		t.Errorf("second Open() error = %q, want %q", got, want)
	}

	if err := first.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close() error = %v", err)
	}
	mustOpen(t, path)
}

// holdEnv, when set, makes TestOpenLockedByAnotherProcess the helper
// process: it holds the named directory until its stdin closes.
const holdEnv = "DATADIR_TEST_HOLD"

func TestOpenLockedByAnotherProcess(t *testing.T) {
	if path := os.Getenv(holdEnv); path != "" {
		hold(path)
		return
	}
	path := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestOpenLockedByAnotherProcess$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper process said %q (%v), want \"locked\"", line, err)
	}

	_, err = Open(path)
	if !errors.Is(err, ErrLocked) {
		t.Errorf("Open() while another process holds it: error = %v, want ErrLocked", err)
	}
	pid, rerr := os.ReadFile(filepath.Join(path, "batchd.lock"))
	if got, want := strings.TrimSpace(string(pid)), strconv.Itoa(cmd.Process.Pid); rerr != nil || got != want {
		t.Errorf("lock file names pid %q (%v), want the helper's %s", got, rerr, want)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v", err)
	}
	mustOpen(t, path)
}

// hold is the helper process's body.
func hold(path string) {
	d, err := Open(path)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	d.Close()
}

func TestDefault(t *testing.T) {
	if os.Geteuid() == 0 {
		if got, want := Default(), "/var/lib/batchd"; got != want {
			t.Errorf("Default() as root = %q, want %q", got, want)
		}
		return
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	if got, want := Default(), filepath.Join(home, ".batchd"); got != want {
		t.Errorf("Default() = %q, want %q", got, want)
	}
}
