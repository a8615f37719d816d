// Package helperbuild builds cmd/batchd-pod, the hostproc pod helper, the
// best way the machine allows. `make build`, the benchmarks and the tests
// all build it through here, so that they measure and test what users
// run.
//
// The helper is C (package native) linked into a Go binary with cgo, and
// is started for every container, so its start-up is a pod's cost:
//
//   - with musl (musl-gcc on PATH, Debian's musl-tools): static, and
//     0.18 ms of CPU to exec and exit on the machine of runtime.md;
//   - else with glibc's static library (libc.a, Debian's libc6-dev):
//     0.45 ms, most of it glibc's start-up asking the CPU its features
//     and cache sizes (CPUID, which traps to the hypervisor on a VM);
//   - else glibc, linked dynamically (-tags batchd_dynamic): the dynamic
//     loader adds about 0.3 ms more;
//   - with CGO_ENABLED=0, or no C compiler, the pure-Go helper (about
//     1.1 ms).
package helperbuild
