// Command bench measures batchd for the notes and for issue #8 (testing
// layer 7 of the design). Nothing here is a test, and no timing is ever
// asserted. It starts real servers, on embedded etcd with fsync on unless
// told otherwise, and drives them through the Kubernetes API with
// client-go, or runs the real batchd binary.
//
// Usage:
//
//	go run ./bench all [-json FILE] [-quick] [-only LIST] [-bin DIR] [-pause D]
//	go run ./bench system [-completions 1000] [-parallelism 100] [-runs 3] [-baselines exec,ns,helper] [-cpuprofile FILE] [-memprofile FILE]
//	go run ./bench startup [-runs 5] [-pods 100000] [-agent auto|on|off]
//	go run ./bench run-hello [-runs 5]
//	go run ./bench api [-runs 3] [-no-fsync] [-json FILE] [-cpuprofile FILE] [-memprofile FILE]
//	go run ./bench cron [-cronjobs 1000] [-runs 2] [-fake-clock] [-no-fsync]
//	go run ./bench job [-completions 10000] [-parallelism 500] [-no-fsync]
//	go run ./bench latency [-pods 50] [-jobs 20] [-runs 3] [-no-fsync] [-json FILE] [-bin DIR]
//
// "all" runs the scenarios of issue #8 (system at 1,000@100 and
// 10,000@500 with its raw baselines, startup, run-hello, api, cron and
// latency),
// each in a subprocess of its own, and prints one table (scenario, figure,
// unit, median, min-max, runs); with -json it writes every run's value.
// -quick shrinks every size for a smoke run.
//
// "system" runs a Job of /bin/true pods through the whole system: an
// in-process control plane with its node agent and the hostproc runtime.
// It measures create to Complete, pods/s, per-pod create-to-Running
// latency as a watch in the benchmark sees it, last success to Complete,
// CPU and RSS; then, in the same run, spawns the same number of processes
// at the same concurrency directly (fork/exec, fork/exec in the pod
// namespaces, and whole hostproc pods through batchd-pod) and reports the
// ratios.
//
// "latency" runs the same in-process system idle and, one at a time,
// times lone pods from the create call to Running (and to bound to the
// node), then one-pod Jobs from the create call to Complete, each as a
// watch opened before sees it.
//
// "startup" starts the batchd binary as a subprocess, on an empty data
// directory and on one holding many finished pods (written once and
// cached), and measures process start to the "batchd server ready" log
// line and the idle RSS. "run-hello" times cold `batchd run
// examples/hello.yaml` from process start to exit.
//
// "api" measures ConfigMap creates/s and their latency, watch-event latency
// under load, full lists of many ConfigMaps and of many pods, watch fan-out
// to many watchers, and mutating calls under many clients, each with JSON
// and protobuf. "cron" creates many CronJobs due at the same minute and
// measures the time from that minute boundary to each Job's creation
// (schedule lag). "job" runs one Job whose pods a stand-in node completes.
//
// See bench/README.md for the method of every figure and what limits it.
// The package owns only the measurement: the servers it measures are
// controlplane's, started exactly as the batchd binary starts them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/batchd/batchd/internal/gcpace"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The benchmarks' in-process servers pace the collector as batchd's
	// commands do (the pacer covers the whole process, the benchmarks'
	// clients too); GOGC=100 in the environment measures Go's default.
	err := gcpace.Pace(ctx, gcpace.DefaultHeadroom, slog.New(slog.DiscardHandler), func() error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
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
  all        every scenario of issue #8, one table (-json FILE, -quick for a smoke run)
  system     a Job of /bin/true pods through the whole system, and the raw spawn baselines
  startup    batchd server start to ready (empty, and with 100,000 finished pods); idle RSS
  run-hello  cold batchd run examples/hello.yaml, process start to exit
  api        creates/s, watch latency and fan-out, lists, mutating calls through the API
  cron       schedule lag of 1,000 CronJobs due at the same minute
  job        one Job of many pods completed by a stand-in node: pods/s, success to Complete
  latency    idle system, one at a time: lone pod create to Running, one-pod Job create to Complete

Run "go run ./bench <benchmark> -h" for its flags.
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
	case "latency":
		return runLatency(ctx, args[1:], stdout, stderr)
	case "system":
		return runSystem(ctx, args[1:], stdout, stderr)
	case "startup":
		return runStartup(ctx, args[1:], stdout, stderr)
	case "run-hello":
		return runRunHello(ctx, args[1:], stdout, stderr)
	case "all":
		return runAll(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown benchmark %q\n\n%s", args[0], usage)
		return errUsage
	}
}
