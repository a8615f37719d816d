// Command batchd-pod is the helper the hostproc pod runtime starts as PID 1
// of every container's namespaces (see package podinit). It is a separate,
// small binary on purpose: it must not link client-go or the agent, whose
// package initialisation would cost milliseconds on every container start.
// Install it next to the batchd binary.
//
// Built with cgo (the default where a C compiler is present), the helper
// is the C implementation in package native, statically linked: it runs
// from a constructor before the Go runtime starts, which saves about a
// millisecond of CPU per container, and main never runs for a helper
// invocation. Built with CGO_ENABLED=0, main runs podinit.Main, the Go
// implementation, which is the reference for both.
package main

import (
	"os"

	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
	// The C helper: its constructor runs "batchd-pod podinit <dir>" to
	// the end and exits before the Go runtime starts. Empty without cgo.
	_ "github.com/batchd/batchd/internal/podruntime/hostproc/podinit/native"
)

func main() {
	// Reached without cgo, or with arguments the C helper does not take
	// (it then leaves them to podinit.Main, which prints the usage).
	os.Exit(podinit.Main(os.Args[1:]))
}
