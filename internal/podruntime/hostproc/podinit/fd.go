package podinit

import "golang.org/x/sys/unix"

// The helper starts once per container, so what it costs is paid on every
// start. Files it only reads or writes once (the spec, /proc and cgroup
// files, records, the log) are plain descriptors rather than *os.File:
// os.File puts every file it opens in non-blocking mode and tries to
// register it with the poller (fcntl, epoll_ctl, fcntl again for a regular
// file), some five system calls per file for nothing.

// isErrno reports whether err is the bare errno e, as x/sys/unix returns
// it. The helper's system call loops check errnos this way rather than
// with errors.Is, whose assertion to an interface sets up a cache at each
// call site on first use, on every start, for errors never wrapped here.
func isErrno(err error, e unix.Errno) bool {
	en, ok := err.(unix.Errno)
	return ok && en == e
}

// openAt opens name in dir (unix.AT_FDCWD: the working directory),
// close-on-exec, retrying on EINTR.
func openAt(dir int, name string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Openat(dir, name, flags|unix.O_CLOEXEC, perm)
		if !isErrno(err, unix.EINTR) {
			return fd, err
		}
	}
}

// readFileAt returns the contents of name in dir (unix.AT_FDCWD: the
// working directory); flags are added to O_RDONLY.
func readFileAt(dir int, name string, flags int) ([]byte, error) {
	fd, err := openAt(dir, name, unix.O_RDONLY|flags, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	// Everything read here is small, and /proc files report size 0, so
	// there is no stat for the size: a small buffer grows as needed.
	b := make([]byte, 0, 512)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if isErrno(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

// readFile is readFileAt in the working directory.
func readFile(path string) ([]byte, error) { return readFileAt(unix.AT_FDCWD, path, 0) }

// writeFileAt creates or truncates name in dir and writes b to it; flags
// are added to O_WRONLY|O_CREAT|O_TRUNC.
func writeFileAt(dir int, name string, b []byte, perm uint32, flags int) error {
	fd, err := openAt(dir, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|flags, perm)
	if err != nil {
		return err
	}
	_, werr := fdWriter(fd).Write(b)
	if err := unix.Close(fd); werr == nil {
		werr = err
	}
	return werr
}

// fdWriter writes to a blocking descriptor, all of p or an error.
type fdWriter int

func (w fdWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(int(w), p[n:])
		if isErrno(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}
