// Command batchd runs Kubernetes Jobs and CronJobs without a cluster.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/batchd/batchd/internal/cli"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
)

func main() {
	// Started as batchd-pod (a link made when that helper is not
	// installed), batchd is the hostproc runtime's pod helper.
	if filepath.Base(os.Args[0]) == hostproc.HelperName {
		os.Exit(podinit.Main(os.Args[1:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.NewRoot(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	var exit *cli.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
