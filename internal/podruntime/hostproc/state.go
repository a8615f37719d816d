package hostproc

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
)

// On-disk layout under Config.StateDir. Everything a fresh Runtime needs
// to reattach is here; nothing is kept only in memory.
//
//	pods/<pod>/pod.json                         podRecord
//	pods/<pod>/logs/                            default log directory
//	pods/<pod>/containers/<name>_<attempt>/
//	    init                                    podinit.Spec, the helper's part (podinit.InitFile)
//	    container.json                          containerRecord (written before the helper starts)
//	    running.json                            podinit.Running (by the helper, once the command runs)
//	    exit.json                               podinit.Exit (by the helper, or by us if it was lost)
//	    root/                                   mount point of a private root, used only inside the container
const (
	podsDir       = "pods"
	podFile       = "pod.json"
	logsDir       = "logs"
	containersDir = "containers"
	rootDir       = "root"
)

type podRecord struct {
	Spec      podruntime.PodSpec
	CreatedAt time.Time
}

// containerRecord is container.json. The helper's part is in its own
// file (podinit.InitFile), which the helper reads without encoding/json.
type containerRecord struct {
	Container podruntime.ContainerSpec `json:"container"`
	LogPath   string                   `json:"logPath"`
	CreatedAt time.Time                `json:"createdAt"`
}

func newPodID() podruntime.PodID {
	var b [8]byte
	rand.Read(b[:])
	return podruntime.PodID(hex.EncodeToString(b[:]))
}

func validPodID(id podruntime.PodID) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(string(id))
	return err == nil
}

// validName accepts a DNS label, as Kubernetes requires of container names.
func validName(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func containerKey(name string, attempt uint32) string {
	return name + "_" + strconv.FormatUint(uint64(attempt), 10)
}

func containerID(pod podruntime.PodID, key string) podruntime.ContainerID {
	return podruntime.ContainerID(string(pod) + "_" + key)
}

// parseContainerID splits "<pod>_<name>_<attempt>".
func parseContainerID(id podruntime.ContainerID) (podruntime.PodID, string, bool) {
	pod, key, ok := strings.Cut(string(id), "_")
	if !ok || !validPodID(podruntime.PodID(pod)) {
		return "", "", false
	}
	name, attempt, ok := strings.Cut(key, "_")
	if !ok || !validName(name) {
		return "", "", false
	}
	if _, err := strconv.ParseUint(attempt, 10, 32); err != nil {
		return "", "", false
	}
	return podruntime.PodID(pod), key, true
}

func (r *Runtime) podDir(pod podruntime.PodID) string {
	return filepath.Join(r.stateDir, podsDir, string(pod))
}

func (r *Runtime) containerDir(pod podruntime.PodID, key string) string {
	return filepath.Join(r.podDir(pod), containersDir, key)
}

// readJSON decodes path into v; ok is false if the file does not exist.
func readJSON(path string, v any) (ok bool, err error) {
	b, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decoding %s: %w", path, err)
	}
	return true, nil
}

// writeJSON writes v to path atomically (write, then rename).
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := writeFile(tmp, b, createFlags, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// container is a container directory and what it says.
type container struct {
	id  podruntime.ContainerID
	pod podruntime.PodID
	dir string
}

func (r *Runtime) lookup(id podruntime.ContainerID) (container, error) {
	pod, key, ok := parseContainerID(id)
	if !ok {
		return container{}, fmt.Errorf("container %s: %w", id, podruntime.ErrNotFound)
	}
	c := container{id: id, pod: pod, dir: r.containerDir(pod, key)}
	if _, err := os.Stat(filepath.Join(c.dir, podinit.SpecFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return container{}, fmt.Errorf("container %s: %w", id, podruntime.ErrNotFound)
		}
		return container{}, err
	}
	return c, nil
}

func (c container) exit() (podinit.Exit, bool, error) {
	var e podinit.Exit
	ok, err := readJSON(filepath.Join(c.dir, podinit.ExitFile), &e)
	return e, ok, err
}

func (c container) running() (podinit.Running, bool, error) {
	var run podinit.Running
	ok, err := readJSON(filepath.Join(c.dir, podinit.RunningFile), &run)
	return run, ok, err
}

// recordLost writes the exit of a container whose helper ended without
// recording one, unless a record appeared meanwhile.
func (c container) recordLost(e podinit.Exit) (podinit.Exit, error) {
	if got, ok, err := c.exit(); err != nil || ok {
		return got, err
	}
	return e, writeJSON(filepath.Join(c.dir, podinit.ExitFile), e)
}

// classify turns the helper's record into the contract's status.
func classify(e podinit.Exit) podruntime.ExitStatus {
	st := podruntime.ExitStatus{
		Code:       e.Code,
		Signal:     syscall.Signal(e.Signal),
		OOMKilled:  e.OOMKills > 0,
		Message:    e.Message,
		StartedAt:  e.StartedAt,
		FinishedAt: e.FinishedAt,
	}
	switch {
	case e.StartError != "":
		st.Reason, st.Message, st.OOMKilled = podruntime.ReasonStartError, e.StartError, false
	case e.Lost:
		st.Reason = podruntime.ReasonContainerStatusUnknown
	case st.OOMKilled:
		st.Reason = podruntime.ReasonOOMKilled
	case e.Code == 0:
		st.Reason = podruntime.ReasonCompleted
	default:
		st.Reason = podruntime.ReasonError
	}
	return st
}
