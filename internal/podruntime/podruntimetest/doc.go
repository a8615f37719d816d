// Package podruntimetest is the conformance suite every pod runtime runs:
// [Run] checks, in named subtests, the guarantees package podruntime
// documents (exit codes and reasons, start errors, OOM detection, stop with
// grace then kill, CRI-format logs, mounts at mountPath, hostname, user and
// environment, PID-namespace isolation, removal, reattaching from a fresh
// instance after a restart, and ExecSync in a running container).
//
// Workloads are the test binary itself, re-executed (Nomad's testtask), so
// the suite needs no images or fixtures: a runtime's test calls
// [RunWorkload] first thing in TestMain. The package owns the suite and the
// workloads; it knows nothing about any particular runtime.
package podruntimetest
