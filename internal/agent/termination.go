package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/batchd/batchd/internal/podruntime"
)

// Termination messages, as kubelet gives them (kuberuntime_container.go,
// kubecontainer's limits): every run of a container with a
// terminationMessagePath gets a fresh empty file, world-writable, bind
// mounted at that path, under
//
//	<RunDir>/containers/<pod uid>/<container>/<attempt>.termination-log
//
// When the run has ended, state.terminated.message is the file's last
// 4096 bytes. With terminationMessagePolicy FallbackToLogsOnError, a run
// that failed (non-zero exit, but not a start error) with an empty or
// missing file gets the end of its log instead: the last 80 lines, at
// most 2048 bytes (logTail). A message the runtime gave comes first,
// separated by ": ". The status cuts each container's messages to its
// share of 12 KiB per pod (apiStatus).
const (
	maxTerminationMessage      = 4 << 10  // MaxContainerTerminationMessageLength
	maxPodTerminationMessages  = 12 << 10 // MaxPodTerminationMessageLogLength
	terminationLogFileMode     = 0o666
	terminationLogFileSuffix   = ".termination-log"
	containerFilesDirName      = "containers"
	terminationReadErrorFormat = "Error on reading termination log %s: %v"
)

func (a *Agent) containerFilesDir(pod *corev1.Pod) string {
	return filepath.Join(a.cfg.RunDir, containerFilesDirName, string(pod.UID))
}

func (a *Agent) terminationLogPath(pod *corev1.Pod, container string, attempt uint32) string {
	return filepath.Join(a.containerFilesDir(pod), container, strconv.FormatUint(uint64(attempt), 10)+terminationLogFileSuffix)
}

// terminationMount creates the run's empty termination message file and
// returns its mount; ok is false when the container has no
// terminationMessagePath.
func (a *Agent) terminationMount(pod *corev1.Pod, c *corev1.Container, attempt uint32) (m podruntime.Mount, ok bool, err error) {
	if c.TerminationMessagePath == "" {
		return podruntime.Mount{}, false, nil
	}
	p := a.terminationLogPath(pod, c.Name, attempt)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return podruntime.Mount{}, false, fmt.Errorf("termination message file: %w", err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, terminationLogFileMode)
	if err != nil {
		return podruntime.Mount{}, false, fmt.Errorf("termination message file: %w", err)
	}
	f.Close()
	// The umask applied to the create; any user may write it.
	if err := os.Chmod(p, terminationLogFileMode); err != nil {
		return podruntime.Mount{}, false, fmt.Errorf("termination message file: %w", err)
	}
	return podruntime.Mount{HostPath: p, ContainerPath: c.TerminationMessagePath}, true, nil
}

// withTerminationMessage adds the run's termination message to st.
func (a *Agent) withTerminationMessage(pod *corev1.Pod, c *corev1.Container, attempt uint32, st podruntime.ExitStatus) podruntime.ExitStatus {
	fallback := c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError &&
		st.Code != 0 && st.Reason != podruntime.ReasonStartError
	msg, checkLogs := "", fallback
	if c.TerminationMessagePath != "" {
		p := a.terminationLogPath(pod, c.Name, attempt)
		data, err := readTail(p, maxTerminationMessage)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			msg, checkLogs = fmt.Sprintf(terminationReadErrorFormat, p, err), false
		default:
			msg, checkLogs = string(data), fallback && len(data) == 0
		}
	}
	if checkLogs {
		msg = logTail(filepath.Join(a.logDir(), pod.Namespace+"_"+pod.Name+"_"+string(pod.UID), c.Name, fmt.Sprintf("%d.log", attempt)))
	}
	if msg != "" {
		if st.Message != "" {
			st.Message += ": "
		}
		st.Message += msg
	}
	return st
}

// readTail returns the last limit bytes of the file at path.
func readTail(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if off := fi.Size() - limit; off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(io.LimitReader(f, limit))
}
