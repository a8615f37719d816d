// Package hostproc is the default pod runtime: it runs each container as
// host processes in its own mount, UTS, IPC and PID namespaces, with the
// host's network (like hostNetwork: true) and the host's filesystem as its
// root. There are no images: a container's command is a path on the node.
// It is cheap (a few milliseconds per container, runtime.md) and needs
// root (CAP_SYS_ADMIN); New says so with ErrUnprivileged otherwise.
//
// # How a container runs
//
// StartContainer writes the container's spec into its state directory
// (the helper's part in a file of its own, which the helper decodes
// without encoding/json), creates its cgroups with their limits, and
// starts the batchd-pod helper (package podinit, or its C twin, package
// native, in a cgo build) with clone flags,
// detached into its own session. The helper is PID 1 of the new PID
// namespace: it builds the mount view
// (volumes bind-mounted at their mountPath; where a mountPath or the
// working directory does not exist on the host, a private tmpfs "mimic"
// root so that nothing is created on the host), joins the cgroups, starts
// the command as PID 2 with the requested user, environment and working
// directory, and reports back over a pipe. From then on the helper, not
// the agent, owns the container: it writes the command's stdout and stderr
// as a CRI log file, forwards SIGTERM to it, reaps orphans, and records the
// exit in the state directory before it exits. The agent's Runtime keeps
// nothing in memory but the helper PIDs it must reap, so a fresh Runtime
// over the same StateDir (an agent restart) sees every pod and result, and
// Wait, Stop and RemovePod work on them.
//
// Because the command runs under an init rather than as PID 1, SIGTERM
// ends a command that installs no handler for it (as with `docker run
// --init`, tini, or a pod with shareProcessNamespace), where a container
// runtime's PID 1 would ignore it until the grace period ends.
//
// # Exit statuses
//
// Code is the exit code or 128+signal. Reason is OOMKilled when the
// container's memory cgroup counted an OOM kill (v1 memory.oom_control or
// v2 memory.events "oom_kill"; each container has its own cgroup so the
// kill is attributed to the right one), else Completed or Error.
// A command that cannot be executed gives StartError with code 128. A
// helper that vanished without a record gives ContainerStatusUnknown with
// code 137.
//
// # Cgroups
//
// Limits are plain file writes: v1 controllers where mounted (this
// includes hybrid hosts), else v2, else none. Each container has its own
// cgroup, <hierarchy>/<agent's cgroup>/<CgroupParent>/<container ID>,
// with no pod level (there are no pod-level limits, and every level is a
// mkdir and an rmdir per hierarchy). On v1 a container gets one only in
// the memory hierarchy (always: the OOM counter) and in those that
// enforce a limit it has; elsewhere its processes share <CgroupParent>
// itself. The helper stays in the agent's cgroups on v1, as a container
// runtime's shim stays in the runtime's, and joins the container's only
// with the thread that forks the command (podinit). What cannot be
// enforced is logged by New and reported by Capabilities; pods still run.
//
// # ExecSync
//
// A multi-threaded Go program cannot join another mount namespace
// (setns(2) refuses a process that shares its filesystem attributes
// between threads), so ExecSync does not enter the container from
// outside: the container's helper, already in its namespaces, listens on
// a unix socket in the container directory (exec.sock, root only) and
// forks the command there as it forked the container's own, with the
// same environment, working directory, user and cgroups, in a process
// group of its own. The runtime sends the command and waits for the exit
// code and output; closing the connection (ctx's end) makes the helper
// kill the group. As PID 1 the helper reaps these commands and hands
// their statuses to the waiting connection. It also works from a fresh
// Runtime after an agent restart, since the helper outlives the agent.
//
// # Not covered (yet)
//
// Images and a container root filesystem; network namespaces and ports;
// per-pod (rather than per-container) UTS, IPC and /dev/shm; streaming
// exec, attach and port-forward; mount propagation and recursive
// read-only mounts; log rotation; seccomp, AppArmor and capability sets;
// user namespaces. The package does not decide restarts, phases,
// deadlines or probe results: the agent does.
package hostproc
