package hostproc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
)

// ExecSync asks the container's helper, which is in the container's
// namespaces, to run cmd there (podinit's exec server), over the unix
// socket in the container directory.
func (r *Runtime) ExecSync(ctx context.Context, id podruntime.ContainerID, cmd []string) (podruntime.ExecResult, error) {
	c, err := r.lookup(id)
	if err != nil {
		return podruntime.ExecResult{}, fmt.Errorf("exec in container: %w", err)
	}
	if len(cmd) == 0 {
		return podruntime.ExecResult{}, fmt.Errorf("exec in container %s: %w: no command", id, podruntime.ErrStartFailed)
	}
	notRunning := func() (podruntime.ExecResult, error) {
		return podruntime.ExecResult{}, fmt.Errorf("exec in container %s: %w", id, podruntime.ErrNotRunning)
	}
	if _, ok, err := c.exit(); err != nil {
		return podruntime.ExecResult{}, fmt.Errorf("exec in container %s: %w", id, err)
	} else if ok {
		return notRunning()
	}
	if _, ok, err := c.running(); err != nil {
		return podruntime.ExecResult{}, fmt.Errorf("exec in container %s: %w", id, err)
	} else if !ok {
		return notRunning()
	}
	conn, err := dialExec(ctx, c.dir)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return podruntime.ExecResult{}, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
	case errors.Is(err, syscall.ENOENT):
		if _, ok, _ := c.exit(); ok {
			return notRunning()
		}
		// The helper creates the socket before the container is recorded
		// running: this one predates exec support.
		return podruntime.ExecResult{}, fmt.Errorf("exec in container %s: its pod helper (an older batchd-pod) does not run commands", id)
	default:
		// No helper listens: it has ended (or is ending).
		return notRunning()
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // the helper kills the command
	defer stop()
	if err := json.NewEncoder(conn).Encode(podinit.ExecRequest{Command: cmd, MaxOutput: podruntime.MaxExecOutput}); err != nil {
		if ctx.Err() != nil {
			return podruntime.ExecResult{}, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
		}
		return notRunning()
	}
	var resp podinit.ExecResponse
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return podruntime.ExecResult{}, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
		}
		// The helper drops connections only when the container ends.
		return notRunning()
	}
	switch {
	case resp.NotRunning:
		return notRunning()
	case resp.StartError != "":
		return podruntime.ExecResult{}, fmt.Errorf("exec in container %s: %w: %s", id, podruntime.ErrStartFailed, resp.StartError)
	}
	return podruntime.ExecResult{Code: resp.Code, Output: resp.Output, Truncated: resp.Truncated}, nil
}

// dialExec connects to the container's exec socket, through
// /proc/self/fd so that the path fits a unix socket address whatever the
// state directory's length.
func dialExec(ctx context.Context, dir string) (net.Conn, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	path := filepath.Join("/proc/self/fd", strconv.Itoa(int(d.Fd())), podinit.ExecSocket)
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", path)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			return nil, op.Err
		}
		return nil, err
	}
	return conn, nil
}
