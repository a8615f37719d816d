// Command batchd-pod is the helper the hostproc pod runtime starts as PID 1
// of every container's namespaces (see package podinit). It is a separate,
// small binary on purpose: it must not link client-go or the agent, whose
// package initialisation would cost milliseconds on every container start.
// Install it next to the batchd binary.
package main

import (
	"os"

	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
)

func main() {
	os.Exit(podinit.Main(os.Args[1:]))
}
