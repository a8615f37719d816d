package podinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// setupMounts prepares the container's view of the filesystem inside the
// helper's new mount namespace. Nothing it does is visible on the host.
func setupMounts(spec *Spec) error {
	// Mandatory: on hosts where / is shared (systemd), our mounts would
	// otherwise propagate to the host. Cloneflags, unlike Go's
	// Unshareflags, do not do this for us.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("setting hostname: %w", err)
		}
	}
	mounts := slices.Clone(spec.Mounts)
	slices.SortStableFunc(mounts, func(a, b Mount) int { return depth(a.Target) - depth(b.Target) })
	for _, m := range mounts {
		if !filepath.IsAbs(m.Target) || !filepath.IsAbs(m.Source) {
			return fmt.Errorf("mount %s at %s: paths must be absolute", m.Source, m.Target)
		}
	}

	// Paths that must exist in the container but do not on the host, and
	// are not inside a volume (where they are created in the volume, as
	// runc does), need a private root.
	var missing []string
	for _, p := range append(targets(mounts), spec.WorkingDir) {
		if p == "" || underMount(p, mounts) {
			continue
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		if err := mimicRoot(spec.RootDir, missing); err != nil {
			return fmt.Errorf("building private root for %v: %w", missing, err)
		}
	}

	for _, m := range mounts {
		if err := bind(m); err != nil {
			return fmt.Errorf("mounting %s at %s: %w", m.Source, m.Target, err)
		}
	}
	if spec.WorkingDir != "" {
		if err := os.MkdirAll(spec.WorkingDir, 0o755); err != nil {
			return fmt.Errorf("creating working directory: %w", err)
		}
	}
	// A fresh /proc shows the new PID namespace only.
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	return nil
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }

func targets(ms []Mount) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Target
	}
	return out
}

// underMount reports whether p lies strictly inside another mount's target.
func underMount(p string, ms []Mount) bool {
	p = filepath.Clean(p)
	for _, m := range ms {
		t := filepath.Clean(m.Target)
		if p != t && strings.HasPrefix(p, strings.TrimSuffix(t, "/")+"/") {
			return true
		}
	}
	return false
}

func bind(m Mount) error {
	src, err := os.Stat(m.Source)
	if err != nil {
		return err
	}
	if dst, err := os.Stat(m.Target); err == nil {
		if dst.IsDir() != src.IsDir() {
			return fmt.Errorf("source and target are not both directories or both files")
		}
	} else if src.IsDir() {
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(m.Target), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(m.Target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if !m.ReadOnly {
		return nil
	}
	// A read-only bind needs a second call, which must keep the flags
	// the mount already has (EPERM otherwise, in a user namespace).
	var st unix.Statfs_t
	if err := unix.Statfs(m.Target, &st); err != nil {
		return err
	}
	keep := uintptr(st.Flags) & (unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_NOATIME | unix.ST_NODIRATIME | unix.ST_RELATIME)
	return unix.Mount("", m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, "")
}

// mimicRoot replaces the root with a private copy in which the missing
// paths can be created without touching the host (snapd's "writable
// mimic", bubblewrap's pivot): a tmpfs on root, where each ancestor of a
// missing path is a directory of the tmpfs and every other host entry is
// bind-mounted back (directories recursively) or recreated (symlinks).
// Host content stays live; entries the host adds later to a mimicked
// directory are not seen.
func mimicRoot(root string, missing []string) error {
	if root == "" {
		return errors.New("no root directory to build on")
	}
	chain := map[string]bool{}
	for _, p := range missing {
		a, err := existingAncestor(p)
		if err != nil {
			return err
		}
		for d := a; ; d = filepath.Dir(d) {
			chain[d] = true
			if d == "/" {
				break
			}
		}
	}
	if err := os.Mkdir(root, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mounting tmpfs: %w", err)
	}
	if err := mimicDir(root, "/", chain); err != nil {
		return err
	}
	// root sits inside some host directory that was bound back in, which
	// brought a copy of root's own mount along: drop it.
	unix.Unmount(filepath.Join(root, root), unix.MNT_DETACH)
	return pivot(root)
}

// existingAncestor returns the deepest existing ancestor of p, with
// symlinks resolved, so that a path through a symlink is mimicked where it
// really lives.
func existingAncestor(p string) (string, error) {
	d := filepath.Dir(filepath.Clean(p))
	for {
		if _, err := os.Stat(d); err == nil {
			return filepath.EvalSymlinks(d)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		d = filepath.Dir(d)
	}
}

func mimicDir(root, dir string, chain map[string]bool) error {
	if dir != "/" {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		in := filepath.Join(root, dir)
		if err := os.Mkdir(in, fi.Mode().Perm()); err != nil {
			return err
		}
		if st, ok := fi.Sys().(*unix.Stat_t); ok {
			if err := os.Lchown(in, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		os.Chmod(in, fi.Mode().Perm()) // mkdir applied the umask
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		host := filepath.Join(dir, e.Name())
		in := filepath.Join(root, host)
		if chain[host] {
			if err := mimicDir(root, host, chain); err != nil {
				return err
			}
			continue
		}
		typ := e.Type()
		switch {
		case typ&fs.ModeSymlink != 0:
			target, err := os.Readlink(host)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, in); err != nil {
				return err
			}
		case typ.IsDir():
			if err := os.Mkdir(in, 0o755); err != nil {
				return err
			}
			if err := unix.Mount(host, in, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return fmt.Errorf("binding %s: %w", host, err)
			}
		default:
			f, err := os.OpenFile(in, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			f.Close()
			if err := unix.Mount(host, in, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return fmt.Errorf("binding %s: %w", host, err)
			}
		}
	}
	return nil
}

// pivot makes root the root of our mount namespace and detaches the old
// one (runc's pivot_root(".", ".") sequence).
func pivot(root string) error {
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(oldroot)
	newroot, err := unix.Open(root, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(newroot)
	if err := unix.Fchdir(newroot); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return err
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching old root: %w", err)
	}
	return unix.Chdir("/")
}
