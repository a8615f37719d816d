package hostproc

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// The per-container files (records, the helper's spec, cgroup limits) are
// read and written with plain descriptors rather than os.ReadFile and
// os.WriteFile: an *os.File puts every file it opens in non-blocking mode
// and tries to register it with the poller, which a regular file or a
// cgroup file refuses, some five system calls per file for nothing, on
// every container start and removal.

// readFile returns the contents of path. Its error is an *fs.PathError,
// as os.ReadFile's, so that errors.Is(err, fs.ErrNotExist) works.
func readFile(path string) ([]byte, error) {
	fd, err := open(path, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	// The files are small, and /proc files report size 0, so there is no
	// stat for the size: a small buffer grows as needed.
	b := make([]byte, 0, 512)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

// writeFile writes b to path, creating it with perm or truncating it.
// flags are added to O_WRONLY: O_CREAT|O_TRUNC for a file, nothing for a
// cgroup file.
func writeFile(path string, b []byte, flags int, perm uint32) error {
	fd, err := open(path, unix.O_WRONLY|flags, perm)
	if err != nil {
		return err
	}
	var werr error
	for n := 0; n < len(b) && werr == nil; {
		m, err := unix.Write(fd, b[n:])
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			werr = &fs.PathError{Op: "write", Path: path, Err: err}
		default:
			n += m
		}
	}
	if err := unix.Close(fd); err != nil && werr == nil {
		werr = &fs.PathError{Op: "close", Path: path, Err: err}
	}
	return werr
}

func open(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, perm)
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return -1, &fs.PathError{Op: "open", Path: path, Err: err}
		default:
			return fd, nil
		}
	}
}

// createFlags are os.WriteFile's.
const createFlags = os.O_CREATE | os.O_TRUNC
