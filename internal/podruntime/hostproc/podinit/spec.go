package podinit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Arg is the first argument of a helper invocation:
// "<helper> podinit <container-dir>". A binary that embeds the helper (a
// test binary) checks for it before doing anything else.
const Arg = "podinit"

// Names of the files in a container directory.
const (
	// SpecFile is the runtime's record of the container (JSON), written
	// once the container's files are ready. The helper does not read it.
	SpecFile = "container.json"
	// InitFile holds the Spec, in the format of [Spec.MarshalBinary]
	// (specfile.go), written before the helper starts.
	InitFile = "init"
	// RunningFile holds Running once the command has started.
	RunningFile = "running.json"
	// ExitFile holds Exit once the container has ended.
	ExitFile = "exit.json"
)

// SyncFD is the descriptor on which the helper reports the start: one line,
// SyncOK or an error message.
const SyncFD = 3

// SyncOK is the line the helper writes on SyncFD when the command runs.
const SyncOK = "ok"

// SigKillAll is the signal that tells the helper to SIGKILL every process
// in its PID namespace. Other signals it forwards to the command.
const SigKillAll = "SIGUSR2"

// Spec is what the helper needs to start one container (InitFile). Paths
// are as the host sees them, except Mounts' Target and WorkingDir, which
// are as the container sees them.
type Spec struct {
	Command    []string
	Env        []string
	WorkingDir string
	User       *User
	Hostname   string
	Mounts     []Mount
	// LogPath is the CRI log file; its directory exists.
	LogPath        string
	MaxLogLineSize int
	// RootDir is a directory, created on first use in a directory only
	// the runtime writes, that the helper mounts a private root on when a
	// mount point or the working directory is missing.
	RootDir string
	// Cgroups are the container's cgroups, one per hierarchy.
	Cgroups []Cgroup
	// OOMFile is the cgroup file with the container's "oom_kill <n>" line
	// (v1 memory.oom_control, v2 memory.events); empty without a memory
	// cgroup.
	OOMFile string
}

// User is a numeric identity for the command.
type User struct {
	UID    uint32
	GID    uint32
	Groups []uint32
}

// Mount is a bind mount.
type Mount struct {
	Source   string
	Target   string
	ReadOnly bool
}

// Cgroup is one hierarchy's cgroup for the container.
type Cgroup struct {
	// Dir is the container's cgroup directory.
	Dir string
	// Mount is where the hierarchy is mounted, and Controllers is the
	// hierarchy's second field in /proc/self/cgroup ("memory",
	// "cpu,cpuacct", "" for v2): together they locate the helper's own
	// cgroup, which it returns to once the command runs.
	Mount       string
	Controllers string
	// Shared: Dir is a cgroup without limits that other containers share
	// (a hierarchy in which this container needs none of its own). On v1
	// the command and its exec commands start there as in the
	// container's own; on v2 the helper moves into it for good.
	Shared bool
}

// Running is the record of a started container.
type Running struct {
	// Pid and StartTicks identify the helper (host PID namespace), so a
	// runtime can tell it from a later process that reuses the PID.
	Pid        int
	StartTicks uint64
	StartedAt  time.Time
}

// Exit is the record of an ended container. Code is the exit code or
// 128+Signal.
type Exit struct {
	Code       int
	Signal     int    `json:",omitempty"`
	OOMKills   uint64 `json:",omitempty"` // the memory cgroup's oom_kill count
	StartError string `json:",omitempty"` // set when the command never ran
	// Lost is set by the runtime, not the helper, when the helper ended
	// without recording the exit (it was killed, or crashed).
	Lost       bool   `json:",omitempty"`
	Message    string `json:",omitempty"`
	StartedAt  time.Time
	FinishedAt time.Time
}

// StartTicks returns the start time, in clock ticks since boot, of the
// process whose stat file is at statPath ("/proc/<pid>/stat"). With the
// PID it identifies a process across PID reuse.
func StartTicks(statPath string) (uint64, error) {
	b, err := os.ReadFile(statPath)
	if err != nil {
		return 0, err
	}
	_, ticks, err := parseStat(b)
	if err != nil {
		return 0, fmt.Errorf("parsing %s: %w", statPath, err)
	}
	return ticks, nil
}

// parseStat returns the PID (field 1) and start time (field 22) of a
// /proc/<pid>/stat file's contents.
func parseStat(b []byte) (pid int, ticks uint64, err error) {
	pidField, _, _ := bytes.Cut(b, []byte(" "))
	if pid, err = strconv.Atoi(string(pidField)); err != nil {
		return 0, 0, fmt.Errorf("bad pid: %w", err)
	}
	// The command name may contain spaces and parentheses: fields are
	// counted after the last ')'. starttime is field 22; "state" is 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("no command name")
	}
	fields := bytes.Fields(b[i+1:])
	const idx = 22 - 3
	if len(fields) <= idx {
		return 0, 0, fmt.Errorf("%d fields", len(fields))
	}
	ticks, err = strconv.ParseUint(string(fields[idx]), 10, 64)
	return pid, ticks, err
}

// ExecSocket is the unix socket, in the container directory, on which the
// helper runs commands in its container for the runtime's ExecSync. A
// connection carries one ExecRequest and one ExecResponse, both JSON; the
// runtime closing the connection before the response kills the command.
const ExecSocket = "exec.sock"

// ExecRequest asks the helper to run a command in the container.
type ExecRequest struct {
	Command []string
	// MaxOutput is how many bytes of output to keep.
	MaxOutput int
}

// ExecResponse is how the command ended.
type ExecResponse struct {
	// Code is the exit code, or 128+signal.
	Code      int
	Output    []byte `json:",omitempty"`
	Truncated bool   `json:",omitempty"`
	// NotRunning: the container ended before or while the command ran.
	NotRunning bool `json:",omitempty"`
	// StartError says why the command could not be run.
	StartError string `json:",omitempty"`
}

// MarshalJSON encodes r as encoding/json would, without reflection: the
// helper writes it on every start, where encoding/json would build its
// per-type caches first.
func (r Running) MarshalJSON() ([]byte, error) {
	b := append([]byte(`{"Pid":`), strconv.Itoa(r.Pid)...)
	b = append(b, `,"StartTicks":`...)
	b = strconv.AppendUint(b, r.StartTicks, 10)
	b = append(b, `,"StartedAt":`...)
	b, err := appendTime(b, r.StartedAt)
	return append(b, '}'), err
}

// MarshalJSON encodes e as encoding/json would (omitting empty optional
// fields), without reflection, for the same reason as Running's.
func (e Exit) MarshalJSON() ([]byte, error) {
	b := append([]byte(`{"Code":`), strconv.Itoa(e.Code)...)
	if e.Signal != 0 {
		b = append(b, `,"Signal":`...)
		b = strconv.AppendInt(b, int64(e.Signal), 10)
	}
	if e.OOMKills != 0 {
		b = append(b, `,"OOMKills":`...)
		b = strconv.AppendUint(b, e.OOMKills, 10)
	}
	var err error
	if e.StartError != "" {
		b = append(b, `,"StartError":`...)
		if b, err = appendString(b, e.StartError); err != nil {
			return nil, err
		}
	}
	if e.Lost {
		b = append(b, `,"Lost":true`...)
	}
	if e.Message != "" {
		b = append(b, `,"Message":`...)
		if b, err = appendString(b, e.Message); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"StartedAt":`...)
	if b, err = appendTime(b, e.StartedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"FinishedAt":`...)
	if b, err = appendTime(b, e.FinishedAt); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func appendTime(b []byte, t time.Time) ([]byte, error) {
	j, err := t.MarshalJSON()
	return append(b, j...), err
}

// appendString appends s as a JSON string. Messages are rare (errors), so
// encoding/json does it.
func appendString(b []byte, s string) ([]byte, error) {
	j, err := json.Marshal(s)
	return append(b, j...), err
}
