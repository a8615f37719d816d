package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Where a run's on-disk state (etcd's data, the pods' log directories)
// lives: the -disk flag.
const (
	// diskFresh: a new ext4 file system for each run, without a journal
	// as this machine's root, on a loop device backed by a preallocated
	// file in the temporary directory. Every run then starts from the
	// same disk state. On a long-lived ext4 a directory's creation costs
	// from 15 µs to over 1 ms depending on how full the block groups
	// around its parent are, which grows with every run's deletions: a
	// pod's two log directories were the largest item of a run's CPU
	// profile, and the figures drifted by a quarter between identical
	// runs. An fsync costs more on it (about 0.35 ms against 0.2 ms on
	// this machine's root), so etcd is, if anything, measured slower.
	diskFresh = "fresh"
	// diskTmp: a directory in the temporary directory, as it is.
	diskTmp = "tmp"
)

// freshDiskSize is the file system's size: etcd's WAL segments and
// snapshots of a 10,000-pod run, with room to spare.
const freshDiskSize = 1 << 30

// diskFlag registers -disk, where each run's on-disk state lives, with
// the default def.
func diskFlag(fs *flag.FlagSet, p *string, def string) {
	fs.StringVar(p, "disk", def, "where each run's etcd data and pod logs live: fresh (a new ext4 file system on a loop device per run) or tmp (the temporary directory as it is)")
}

// validDisk checks a -disk value.
func validDisk(kind string) error {
	switch kind {
	case diskFresh, diskTmp:
		return nil
	}
	return fmt.Errorf("-disk %q: want %s or %s", kind, diskFresh, diskTmp)
}

// diskDir returns a new directory for a run's on-disk state, on a fresh
// file system (diskFresh) or in the temporary directory (diskTmp), and
// what removes it (and unmounts and deletes the file system).
func diskDir(kind, pattern string) (string, func(), error) {
	if kind != diskFresh {
		dir, err := os.MkdirTemp("", pattern)
		return dir, func() { os.RemoveAll(dir) }, err
	}
	mnt, err := os.MkdirTemp("", pattern+"mnt-")
	if err != nil {
		return "", nil, err
	}
	img := mnt + ".img"
	cleanup := func() {
		os.Remove(img)
		os.Remove(mnt)
	}
	f, err := os.OpenFile(img, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		err = errors.Join(syscall.Fallocate(int(f.Fd()), 0, 0, freshDiskSize), f.Close())
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("making a file system image: %w", err)
	}
	// Inode tables written now, not by the kernel's lazy-init thread
	// during the run.
	if err := runCmd("mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-E", "lazy_itable_init=0,nodiscard", img); err != nil {
		cleanup()
		return "", nil, err
	}
	// Direct I/O: the loop device writes the image without a second
	// page cache, and an fsync costs about what it costs on the host.
	dev, err := output("losetup", "--find", "--show", "--direct-io=on", img)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	detach := func() {
		if err := runCmd("losetup", "--detach", dev); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		}
	}
	if err := runCmd("mount", dev, mnt); err != nil {
		detach()
		cleanup()
		return "", nil, err
	}
	dir := filepath.Join(mnt, "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		_ = runCmd("umount", mnt)
		detach()
		cleanup()
		return "", nil, err
	}
	return dir, func() {
		if err := runCmd("umount", mnt); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v; the file system stays mounted at %s\n", err, mnt)
			return
		}
		detach()
		cleanup()
	}, nil
}

func runCmd(name string, args ...string) error {
	_, err := output(name, args...)
	return err
}

// output runs a command and returns its output, trimmed.
func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}
