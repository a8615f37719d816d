package e2e

import (
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// batchdProcess is a batchd command a test started, in a process group of
// its own so that stop can kill whatever it left behind.
type batchdProcess struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has exited
	waitErr error         // valid once done is closed
}

// startServerProcess runs the batchd binary with args, its output to out, and env
// unless nil.
func startServerProcess(t *testing.T, env []string, out io.Writer, args ...string) *batchdProcess {
	t.Helper()
	cmd := exec.Command(batchdBinary, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting batchd: %v", err)
	}
	p := &batchdProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p
}

// stop ends the process with SIGTERM and fails the test if it had already
// exited, does not exit cleanly, or is still running after stopTimeout
// (its process group is then killed).
func (p *batchdProcess) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Errorf("batchd exited before the test ended: %v", p.waitErr)
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("sending SIGTERM to batchd: %v", err)
	}
	select {
	case <-p.done:
		if p.waitErr != nil {
			t.Errorf("batchd did not exit cleanly on SIGTERM: %v", p.waitErr)
		}
	case <-time.After(stopTimeout):
		p.killGroup()
		<-p.done
		t.Errorf("batchd still running %v after SIGTERM; killed its process group", stopTimeout)
	}
}

// killGroup kills every process left in batchd's process group.
func (p *batchdProcess) killGroup() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }
