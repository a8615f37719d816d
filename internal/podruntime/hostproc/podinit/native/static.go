//go:build !batchd_dynamic

package native

// The helper is linked statically: a dynamically linked one pays the
// dynamic loader on every container start (0.3 ms of CPU per pod in
// `bench system`, a fifth of a pod's processes). Building it needs a
// static C library: musl's (CC=musl-gcc, the fastest to start; see
// internal/helperbuild) or glibc's (Debian's libc6-dev has it; Fedora's
// is glibc-static); without one, build with -tags batchd_dynamic (`make
// build` chooses), or CGO_ENABLED=0 for the Go helper.

/*
#cgo LDFLAGS: -static
*/
import "C"
