package podruntime

import (
	"context"
	"errors"
	"syscall"
	"time"
)

// PodID identifies a pod sandbox within one runtime. It is chosen by the
// runtime and is opaque to the agent.
type PodID string

// ContainerID identifies a container within one runtime. It is chosen by
// the runtime and is opaque to the agent.
type ContainerID string

// Runtime runs pods. Implementations are safe for concurrent use. No
// method blocks past its ctx, and every method's effect is recorded before
// it returns, so that [Runtime.List] on a fresh instance over the same
// state (after an agent restart) sees it. A runtime never restarts a
// container on its own: restarts are new containers with a higher
// Attempt, started by the agent.
type Runtime interface {
	// StartPod creates a pod sandbox: the runtime's per-pod state and
	// resource accounting. It starts no user process. Containers of one
	// pod may run at the same time and see the same hostname and volumes.
	StartPod(ctx context.Context, spec PodSpec) (PodID, error)

	// StartContainer starts a container in the pod and returns once its
	// command is running (or has already finished). It returns an error
	// wrapping ErrNotFound if the pod does not exist and ErrExists if the
	// pod already has a container with this name and attempt.
	//
	// If the command cannot be run (executable not found or not
	// executable, a mount or working directory that cannot be set up), it
	// returns the container's ID together with an error wrapping
	// ErrStartFailed; the container then exists, has exited with
	// ReasonStartError and code 128 (what containerd reports), and Wait
	// returns that status. The same holds when ctx ends during the start
	// (the error then also wraps ctx's error). The returned ID is valid
	// exactly when the error is nil or wraps ErrStartFailed.
	StartContainer(ctx context.Context, pod PodID, spec ContainerSpec) (ContainerID, error)

	// Wait blocks until the container has exited and returns how, or
	// until ctx ends. Any number of callers may wait, at any time, from
	// any instance: a finished container's status is kept until its pod is
	// removed, and every call returns the same status. It returns an error
	// wrapping ErrNotFound for an unknown container.
	Wait(ctx context.Context, id ContainerID) (ExitStatus, error)

	// Stop sends the container SIGTERM and, if it has not exited after
	// grace, kills it and everything it started (SIGKILL). grace <= 0
	// kills at once. Stop returns once the container has exited, so a
	// following Wait returns at once. If ctx ends first, Stop kills the
	// container without waiting any longer and returns ctx's error. Stop
	// on a container that has exited returns nil, so it is safe to call
	// twice. The exit status of a container killed by Stop is code 137
	// with ReasonError (never ReasonOOMKilled), unless it exited on its own
	// first.
	Stop(ctx context.Context, id ContainerID, grace time.Duration) error

	// RemovePod kills whatever still runs in the pod (without grace: call
	// Stop first for a graceful stop), then deletes the pod's state and
	// resource accounting, including its containers' exit statuses. Log
	// files are deleted only when they live in the runtime's own default
	// log directory (PodSpec.LogDirectory empty). Removing a pod that does
	// not exist returns nil, so it is safe to call twice.
	RemovePod(ctx context.Context, pod PodID) error

	// List returns every pod this runtime's state holds, with its
	// containers, including pods and containers started by an earlier
	// instance (before an agent restart) and containers that exited while
	// no instance was running. A restarted agent uses it to reattach: Wait
	// and Stop work on the listed IDs. Pods are ordered by creation time.
	List(ctx context.Context) ([]PodState, error)

	// ExecSync runs cmd in a running container and waits for it to end,
	// as CRI's ExecSync does (the agent's exec probes use it). The command
	// runs in the container's mount, UTS, IPC and PID namespaces and
	// cgroups, with the container's environment, working directory and
	// user; cmd[0] without a slash is looked up in the container's PATH,
	// in the container's view of the filesystem. It returns the exit code
	// and stdout and stderr interleaved as written, of which the first
	// MaxExecOutput bytes are kept.
	//
	// The timeout is ctx's deadline: when ctx ends before the command,
	// the command and every process in its process group are killed and
	// ExecSync returns ctx's error. When the command exits, what it left
	// running in its process group is killed too. ExecSync returns an
	// error wrapping ErrNotFound for an unknown container, ErrNotRunning
	// if the container is not running (not yet started, or exited, also
	// while the command runs), and ErrStartFailed if the command could
	// not be run (not found, not executable). It works on containers
	// started by an earlier instance, and any number of calls may run at
	// once.
	ExecSync(ctx context.Context, id ContainerID, cmd []string) (ExecResult, error)
}

// MaxExecOutput is how much of an ExecSync command's output is kept.
const MaxExecOutput = 16 << 10

// ExecResult is how an ExecSync command ended.
type ExecResult struct {
	// Code is the exit code, or 128+signal if the command was killed by
	// a signal.
	Code int
	// Output is the command's stdout and stderr, interleaved, at most
	// MaxExecOutput bytes: the beginning, when there was more.
	Output []byte
	// Truncated is true when the command wrote more than Output holds.
	Truncated bool
}

// Sentinel errors, classified with errors.Is.
var (
	// ErrNotFound: no such pod or container.
	ErrNotFound = errors.New("not found")
	// ErrExists: the pod already has a container with that name and attempt.
	ErrExists = errors.New("already exists")
	// ErrStartFailed: the container exists but its command could not be
	// run; its exit status has ReasonStartError. From ExecSync: the
	// command could not be run.
	ErrStartFailed = errors.New("container could not be started")
	// ErrNotRunning: the container is not running (ExecSync).
	ErrNotRunning = errors.New("container is not running")
)

// Container termination reasons a runtime reports in ExitStatus.Reason.
// They are the strings kubelet and containerd put in
// containerStatuses[*].state.terminated.reason.
//
// DeadlineExceeded is not among them: it is the reason of a *pod* the agent
// stops because spec.activeDeadlineSeconds passed (JOB-DL-06). The agent
// sets it on the pod; the containers it stopped report ReasonError and
// code 137 like any other killed container.
const (
	ReasonCompleted  = "Completed"  // exited with code 0
	ReasonError      = "Error"      // exited non-zero or was killed, not for memory
	ReasonOOMKilled  = "OOMKilled"  // the kernel's OOM killer killed a process of the container
	ReasonStartError = "StartError" // the command could not be run; code 128
	// ReasonContainerStatusUnknown: the runtime lost track of how the
	// container ended (its supervisor died without recording it); code
	// 137, as kubelet reports for a container it cannot find.
	ReasonContainerStatusUnknown = "ContainerStatusUnknown"
)

// ExitStatus is how a container ended.
type ExitStatus struct {
	// Code is the exit code, or 128+signal if the process was killed by a
	// signal, as kubelet reports it (137 for SIGKILL, 143 for SIGTERM).
	Code int
	// Signal is the signal that killed the process, 0 if it exited.
	Signal syscall.Signal
	// OOMKilled is true when the kernel's OOM killer killed a process of
	// this container (not necessarily its main process). Reason is then
	// ReasonOOMKilled.
	OOMKilled bool
	// Reason is one of the Reason constants.
	Reason string
	// Message is a human-readable detail, e.g. why a start failed. Often
	// empty.
	Message    string
	StartedAt  time.Time // zero if the command never started
	FinishedAt time.Time
}

// PodSpec describes a pod sandbox. Metadata fields are recorded and given
// back by List; the runtime does not interpret them.
type PodSpec struct {
	Name        string
	Namespace   string
	UID         string
	Labels      map[string]string
	Annotations map[string]string

	// Hostname is the hostname the pod's containers see. Empty keeps the
	// node's hostname.
	Hostname string
	// LogDirectory is where the containers' CRI log files go (kubelet:
	// /var/log/pods/<namespace>_<name>_<uid>). Empty: a directory the
	// runtime owns and deletes with the pod.
	LogDirectory string
}

// ContainerSpec describes one container of a pod. Metadata fields are
// recorded and given back by List.
type ContainerSpec struct {
	Name        string // a DNS label, as Kubernetes requires of container names
	Attempt     uint32 // restart count: 0 for the first run
	Labels      map[string]string
	Annotations map[string]string

	// Command is the argv to run. Command[0] without a slash is looked up
	// in the PATH of Env, or in a default PATH if Env has none.
	Command []string
	// Env is the complete environment, "KEY=value", already expanded.
	// Nothing is inherited from the agent.
	Env []string
	// WorkingDir is where the command starts. Empty: "/". A missing
	// directory is created (where it would touch the host, a runtime
	// creates it in the container's private view).
	WorkingDir string
	// User runs the command as this user; nil keeps the runtime's user.
	User *User
	// Mounts are bind mounts, applied in order of ContainerPath depth.
	Mounts []Mount
	// Resources are limits; zero fields are unlimited.
	Resources Resources
	// LogPath is the container's log file, relative to the pod's log
	// directory. Empty: "<Name>/<Attempt>.log", kubelet's layout.
	LogPath string
}

// User is a numeric identity.
type User struct {
	UID                uint32
	GID                uint32
	SupplementalGroups []uint32
}

// Mount makes HostPath visible at ContainerPath. Both are absolute.
// HostPath may be a directory or a file. ContainerPath need not exist on
// the host.
type Mount struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
}

// Resources are a container's limits, in Kubernetes units.
type Resources struct {
	CPURequestMilli  int64 // relative weight (cgroup cpu.shares/cpu.weight)
	CPULimitMilli    int64 // CFS quota
	MemoryLimitBytes int64 // exceeding it OOM-kills the container
	PIDsLimit        int64
}

// PodState is a pod as List reports it.
type PodState struct {
	ID         PodID
	Spec       PodSpec
	CreatedAt  time.Time
	Containers []ContainerState // ordered by name, then attempt
}

// State is the lifecycle state of a container.
type State string

// Container states.
const (
	// StateCreated: recorded but not (yet) running; a start in progress,
	// or one an agent crash interrupted.
	StateCreated State = "Created"
	StateRunning State = "Running"
	StateExited  State = "Exited"
)

// ContainerState is a container as List reports it.
type ContainerState struct {
	ID        ContainerID
	Spec      ContainerSpec
	State     State
	StartedAt time.Time   // zero until running
	Exit      *ExitStatus // set when State is StateExited
	LogPath   string      // absolute path of the CRI log file
}

// Capabilities says what a runtime enforces on this host, for the agent to
// report on its Node and in events.
type Capabilities struct {
	MemoryLimit bool // MemoryLimitBytes is enforced, and OOM kills are reported
	CPULimit    bool // CPULimitMilli and CPURequestMilli are enforced
	PIDsLimit   bool
	// Warnings explain, in sentences, what is not enforced and why.
	Warnings []string
}

// CapabilityReporter is an optional interface: a runtime that can say what
// it enforces implements it. A runtime that does not is taken to enforce
// everything in Resources.
type CapabilityReporter interface {
	Capabilities() Capabilities
}
