// Package podinit is the pod side of the hostproc runtime: the code of the
// small helper binary (cmd/batchd-pod) that hostproc starts, with clone
// flags, as PID 1 of each container's new mount, UTS, IPC and PID
// namespaces. It stays small on purpose: every package linked into the
// helper costs start-up time on every container start, so it imports
// neither client-go nor the agent, only the standard library, x/sys and
// crilog.
//
// The helper, in order: reads the container's spec from the container
// directory ([InitFile]); makes its mounts private; sets the hostname; builds a private
// root when a mount point or working directory does not exist on the host
// (a tmpfs "mimic" of the missing path's ancestors, whose other entries are
// bind-mounted back, then pivot_root: nothing is created on the host);
// bind-mounts the volumes; mounts a fresh /proc; joins the container's
// cgroups just long enough to start the command in them (on v1 only the
// thread that forks it, shared ones too; on v2 the whole helper, and a
// shared one, where the container has none of its own, for good); records
// that the
// container runs; reports success or failure to the runtime over fd 3;
// then supervises. As PID 1 it forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT
// and SIGUSR1 to the command, kills everything in the namespace on
// SIGUSR2, reaps orphans, writes the command's output to the CRI log
// file, and runs the runtime's ExecSync commands in the container
// ([ExecSocket], exec.go). When the command exits it kills what is left
// in the namespace (if anything is: it has no child left otherwise),
// records the exit (code, signal, OOM kill count) in the container
// directory and exits. It outlives the agent, so a restarted agent finds
// results on disk.
//
// The helper's own cost is paid on every container start, so it avoids
// what a long-lived program would not mind: *os.File for files it reads
// or writes once (fd.go), encoding/json for its spec and records
// (specfile.go, the records' MarshalJSON), the kernel's global
// threadgroup lock when it moves into and out of v1 cgroups
// (cgroups.go), and a kill of the whole namespace when nothing is left
// in it.
//
// The helper has two implementations: this package, and package native,
// the same helper in C that cmd/batchd-pod runs when built with cgo (a
// Go program's runtime start and exit alone cost about a millisecond of
// CPU per container). This package is the reference: a change to what
// the helper does, or to a file format, is made in both, and hostproc's
// tests run every case against both helpers.
//
// The package owns that process and the file formats it shares with
// hostproc ([Spec] in [InitFile], [Running], [Exit], [ExecRequest],
// [ExecResponse]). It does not own cgroup creation or limits, state
// layout above one container directory, or classification of exits into
// reasons: hostproc does those.
package podinit
