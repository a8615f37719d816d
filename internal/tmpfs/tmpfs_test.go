package tmpfs

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// mountable skips the test without the privilege to mount, and makes sure
// whatever the test mounts under dir is gone at its end.
func mountable(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	if on, err := OnTmpfs(dir); err != nil || on {
		t.Skipf("the test's temporary directory must be on a disk filesystem (tmpfs: %v, err: %v)", on, err)
	}
	t.Cleanup(func() {
		for _, d := range []string{filepath.Join(dir, "run"), filepath.Join(dir, "full")} {
			for unix.Unmount(d, unix.MNT_DETACH) == nil {
			}
		}
	})
}

func TestEnsureMountsOnceOnAnEmptyDirectory(t *testing.T) {
	base := t.TempDir()
	mountable(t, base)
	dir := filepath.Join(base, "run")

	// Concurrent callers, as two agents starting at once: one mount.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		mounted int
	)
	for range 8 {
		wg.Go(func() {
			m, err := Ensure(dir)
			if err != nil {
				t.Error(err)
			}
			if m {
				mu.Lock()
				mounted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if mounted != 1 {
		t.Fatalf("%d callers mounted a tmpfs, want exactly 1", mounted)
	}
	if on, err := OnTmpfs(dir); err != nil || !on {
		t.Fatalf("after Ensure: on tmpfs %v, err %v", on, err)
	}
	// One mount, not stacked ones: after unmounting it the directory is
	// back on the disk.
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatal(err)
	}
	if on, _ := OnTmpfs(dir); on {
		t.Fatal("a second tmpfs was stacked on the first")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", fi.Mode().Perm())
	}
}

func TestEnsureLeavesANonEmptyDirectoryAlone(t *testing.T) {
	base := t.TempDir()
	mountable(t, base)
	dir := filepath.Join(base, "full")
	if err := os.MkdirAll(filepath.Join(dir, "pods"), 0o700); err != nil {
		t.Fatal(err)
	}
	m, err := Ensure(dir)
	if !errors.Is(err, ErrNotEmpty) || m {
		t.Fatalf("Ensure on a non-empty directory: mounted %v, err %v; want ErrNotEmpty", m, err)
	}
	if on, _ := OnTmpfs(dir); on {
		t.Fatal("a tmpfs hides the directory's files")
	}
	if _, err := os.Stat(filepath.Join(dir, "pods")); err != nil {
		t.Fatalf("the directory's files: %v", err)
	}
}

func TestEnsureOnTmpfsIsANoOp(t *testing.T) {
	// /dev/shm is a tmpfs on Linux hosts; nothing is mounted.
	if on, err := OnTmpfs("/dev/shm"); err != nil || !on {
		t.Skip("no tmpfs at /dev/shm")
	}
	dir, err := os.MkdirTemp("/dev/shm", "batchd-tmpfs-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := Ensure(dir)
	if err != nil || m {
		t.Fatalf("Ensure on a tmpfs: mounted %v, err %v; want neither", m, err)
	}
}
