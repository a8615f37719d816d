// Command bench measures batchd for the notes (testing layer 7 of the
// design). It starts a real in-process control plane on embedded etcd and
// drives it through the Kubernetes API with client-go; nothing here is a
// test, and no timing is ever asserted.
//
// Usage:
//
//	go run ./bench api [-runs 3] [-no-fsync] [-json FILE] [-cpuprofile FILE]
//	go run ./bench cron [-cronjobs 1000] [-runs 2] [-fake-clock] [-no-fsync]
//	go run ./bench job [-completions 10000] [-parallelism 500] [-no-fsync]
//
// "api" measures ConfigMap creates/s and their latency, watch-event latency
// under load, and full lists of many objects, each with JSON and protobuf.
// It prints a table and, with -json, writes the results as JSON. See
// bench/README.md for what each figure means and the numbers measured.
//
// "cron" creates many CronJobs due at the same minute and measures the
// time from that minute boundary to each Job's creation (schedule lag).
//
// The package owns only the measurement: the server it measures is
// controlplane's, started exactly as the batchd binary starts it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, errUsage) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// errUsage reports a command line that was not understood; its message has
// already been printed.
var errUsage = errors.New("usage")

const usage = `usage: go run ./bench <benchmark> [flags]

benchmarks:
  api    creates/s, watch-event latency and list time through the Kubernetes API
  cron   schedule lag of 1,000 CronJobs due at the same minute
  job    one Job of many pods completed by a stand-in node: pods/s, success to Complete

Run "go run ./bench api -h" or "go run ./bench cron -h" for the flags.
`

// run dispatches to the benchmark named by args[0].
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "api":
		return runAPI(ctx, args[1:], stdout, stderr)
	case "cron":
		return runCron(ctx, args[1:], stdout, stderr)
	case "job":
		return runJob(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown benchmark %q\n\n%s", args[0], usage)
		return errUsage
	}
}
