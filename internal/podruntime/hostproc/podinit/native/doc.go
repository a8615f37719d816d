// Package native is the C implementation of the batchd-pod helper
// (package podinit), linked into cmd/batchd-pod with cgo.
//
// Its C code runs from an ELF constructor, before the Go runtime starts,
// and only when the process was started as a helper: argv exactly
// "<anything> podinit <container-dir>" (argc == 3 and argv[1] ==
// "podinit"). It then does the whole of podinit.Main's job and exits with
// podinit.Main's exit codes; the Go runtime never starts. With any other
// arguments the constructor returns and the Go program starts as usual
// (cmd/batchd-pod then runs podinit.Main, which prints the usage).
//
// Why: an empty Go program costs about 1.1 ms of CPU to exec and exit on
// the machine of runtime.md, a static C program about 0.4 ms, and the
// helper is started for every container. The package is linked with
// -static (a dynamically linked binary pays the dynamic loader on every
// start), so the C code uses no NSS function (getpwnam and the like),
// and it builds with glibc or musl (internal/helperbuild picks; musl
// starts 0.27 ms faster on a VM, where glibc's start-up CPUID queries
// trap): nothing in it is glibc's alone, errno texts included (errno.c).
//
// The C code mirrors podinit file by file (init.c: start and supervise;
// spec.c: InitFile and /proc/self/stat; mounts.c: private mounts, the
// tmpfs "mimic" root and pivot_root; cgroups.c: join and leave; crilog.c:
// the CRI log writer of package crilog; exec.c and json.c: the exec
// socket; records.c: Running and Exit records, Go's JSON and time
// formats). The Go code is the reference: the C helper reads the same
// spec, writes the same records and log lines and speaks the same exec
// protocol, and its error messages read like the Go helper's. The
// package owns none of those formats; podinit and crilog do.
//
// Built with CGO_ENABLED=0 the package is empty and cmd/batchd-pod is the
// pure-Go helper.
package native
