package crilog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// FollowOptions tunes Follow. The zero value follows until ctx ends.
type FollowOptions struct {
	// Done, once closed, tells Follow that nothing more will be written
	// (the container exited): Follow reads to the end of the file and
	// returns nil.
	Done <-chan struct{}
	// Poll is how often Follow looks for new data at the end of the file.
	// 0: 100ms.
	Poll time.Duration
}

// Follow calls fn for every record of the log at path, from its first, and
// then for every record appended later, like `tail -F`. It returns nil
// after Done is closed and the file is read to its end, ctx's error when
// ctx ends first, or fn's error. A missing file is waited for. When the
// file at path is replaced (kubelet-style rotation renames the file and
// starts a new one), Follow finishes the old file and continues with the
// new one from its start. Lines that are not records are skipped. It
// starts no goroutines.
func Follow(ctx context.Context, path string, opts FollowOptions, fn func(Entry) error) error {
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	var (
		f   *os.File
		r   *Reader
		ino uint64
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		done := isClosed(opts.Done) // sampled before reading, so nothing written before Done is missed
		if f == nil {
			nf, err := os.Open(path)
			switch {
			case err == nil:
				f, r, ino = nf, NewReader(nf), inode(nf)
			case !errors.Is(err, os.ErrNotExist):
				return fmt.Errorf("opening log %s: %w", path, err)
			}
		}
		if f != nil {
			if err := drain(r, fn); err != nil {
				return err
			}
			// At the end of this file: switch if the path now names another.
			if st, err := os.Stat(path); err == nil && inodeOf(st) != ino {
				if err := drain(r, fn); err != nil { // whatever arrived before the switch
					return err
				}
				f.Close()
				f, r = nil, nil
				continue
			}
		}
		if done {
			return nil
		}
		timer.Reset(opts.Poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-opts.Done:
			timer.Stop()
		}
	}
}

// drain passes every complete record to fn, skipping malformed lines.
func drain(r *Reader, fn func(Entry) error) error {
	for {
		e, err := r.Next()
		switch {
		case err == nil:
			if err := fn(e); err != nil {
				return err
			}
		case errors.Is(err, ErrMalformed):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return fmt.Errorf("reading log: %w", err)
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func inode(f *os.File) uint64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return inodeOf(st)
}

func inodeOf(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}
