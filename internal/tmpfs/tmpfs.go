package tmpfs

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotEmpty is wrapped by Ensure's error when dir is on another
// filesystem and already holds files: mounting over them would hide them
// from whoever uses them (another batchd, an older version's pods).
var ErrNotEmpty = errors.New("directory is not empty")

// Ensure makes sure dir exists and is on a tmpfs. If dir is on another
// filesystem and empty (or missing), it mounts a tmpfs there with mode
// 0700 and reports mounted. The mount is meant to stay: it outlives the
// process, so that a restarted agent finds its pods' state. Concurrent
// callers (processes too) mount at most once: they serialize on a lock
// of the directory and look again after taking it.
//
// On error dir may still be usable, on its own filesystem: callers
// should log the error and go on.
func Ensure(dir string) (mounted bool, err error) {
	if on, err := OnTmpfs(dir); err == nil && on {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("tmpfs: %w", err)
	}
	// Lock the directory as it is now: a caller that opened it before a
	// mount holds the lower directory, one after holds the tmpfs root;
	// either way it checks again under the lock.
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("tmpfs: opening %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := flock(fd); err != nil {
		return false, fmt.Errorf("tmpfs: locking %s: %w", dir, err)
	}
	defer unix.Flock(fd, unix.LOCK_UN)
	if on, err := OnTmpfs(dir); err != nil {
		return false, fmt.Errorf("tmpfs: %w", err)
	} else if on {
		return false, nil
	}
	if empty, err := isEmpty(dir); err != nil {
		return false, fmt.Errorf("tmpfs: %w", err)
	} else if !empty {
		return false, fmt.Errorf("tmpfs: %s is not on a tmpfs and a tmpfs mounted there would hide its files: %w", dir, ErrNotEmpty)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		return false, fmt.Errorf("tmpfs: mounting a tmpfs on %s: %w", dir, err)
	}
	return true, nil
}

// OnTmpfs reports whether dir is on a tmpfs.
func OnTmpfs(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Type == unix.TMPFS_MAGIC, nil
}

func flock(fd int) error {
	for {
		err := unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func isEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}
