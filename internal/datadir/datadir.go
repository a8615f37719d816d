package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// ErrLocked is wrapped by the error Open returns when another batchd server
// (another process, or another Dir in this process) holds the directory.
var ErrLocked = errors.New("data directory is locked")

// Names inside a data directory.
const (
	lockName       = "batchd.lock"
	etcdName       = "etcd"
	pkiName        = "pki"
	kubeconfigName = "kubeconfig"
)

// Dir is an open, exclusively locked batchd data directory.
type Dir struct {
	path string

	mu   sync.Mutex
	lock *os.File // nil once closed
}

// Open creates path with mode 0700 if it does not exist and takes an
// exclusive lock on path/batchd.lock, which it holds until Close. The lock
// is an flock(2) on an open file description, so it also conflicts with
// another Dir in this process, dies with the process, and is not inherited
// by child processes (Go opens files close-on-exec). Open does not wait:
// if the lock is held, it returns an error wrapping ErrLocked. It writes
// its process ID into the lock file for humans.
func Open(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("datadir: path is required")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolving data directory %s: %w", path, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	lockPath := filepath.Join(abs, lockName)
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file of data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &lockedError{dir: abs, lock: lockPath}
		}
		return nil, fmt.Errorf("locking data directory %s: %w", abs, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing process ID to %s: %w", lockPath, err)
	}
	return &Dir{path: abs, lock: f}, nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// lockedError is the error Open returns for a directory in use.
type lockedError struct {
	dir, lock string
}

func (e *lockedError) Error() string {
	return fmt.Sprintf("data directory %s is in use by another batchd server (lock %s held)", e.dir, e.lock)
}

func (e *lockedError) Unwrap() error { return ErrLocked }

// Path returns the directory's absolute path.
func (d *Dir) Path() string { return d.path }

// EtcdDir returns the embedded etcd member's directory, path/etcd.
func (d *Dir) EtcdDir() string { return filepath.Join(d.path, etcdName) }

// PKIDir returns the directory of the CA and serving certificates, path/pki.
func (d *Dir) PKIDir() string { return filepath.Join(d.path, pkiName) }

// KubeconfigPath returns the admin kubeconfig's path, path/kubeconfig.
func (d *Dir) KubeconfigPath() string { return filepath.Join(d.path, kubeconfigName) }

// Close empties the lock file and releases the lock. Close it after
// everything that uses the directory has stopped. It is safe to call more
// than once; later calls do nothing.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lock == nil {
		return nil
	}
	f := d.lock
	d.lock = nil
	// The PID goes first, while the lock is still ours; closing the file
	// releases the lock.
	terr := f.Truncate(0)
	if err := f.Close(); err != nil {
		return fmt.Errorf("releasing lock on data directory %s: %w", d.path, err)
	}
	if terr != nil {
		return fmt.Errorf("clearing lock file of data directory %s: %w", d.path, terr)
	}
	return nil
}

// Default returns the data directory used when none is given:
// /var/lib/batchd for root, $HOME/.batchd for anyone else, and .batchd in
// the working directory if there is no home directory.
func Default() string {
	if os.Geteuid() == 0 {
		return "/var/lib/batchd"
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".batchd"
	}
	return filepath.Join(home, ".batchd")
}
