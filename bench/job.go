package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/batchd/batchd/internal/controlplane"
	"github.com/batchd/batchd/internal/jobtest"
)

// runJob measures the Job controller through the whole API: one Job whose
// pods a stand-in node loop completes as soon as they appear (no processes
// run), from create to the Complete condition.
func runJob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("job", flag.ContinueOnError)
	fs.SetOutput(stderr)
	completions := fs.Int("completions", 10000, "pods the Job must complete")
	parallelism := fs.Int("parallelism", 500, "pods at once")
	workers := fs.Int("node-workers", 64, "concurrent status writers of the stand-in node")
	noFsync := fs.Bool("no-fsync", false, "run etcd without fsync")
	upstream := fs.Bool("upstream-batching", false, "the Job controller waits upstream's fixed 1 s after pod events instead of batchd's adaptive wait")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	dir, err := os.MkdirTemp("", "batchd-bench-job-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := startServer(ctx, controlplane.Config{
		DataDir: dir, Listen: "127.0.0.1:0", FastElection: true, NoFsync: *noFsync,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		// Pods are finished by the loop below, not run: no scheduling.
		Scheduler:     controlplane.SchedulerConfig{Disabled: true},
		JobController: controlplane.JobControllerConfig{MinBatchPeriod: upstreamBatching(*upstream)},
	})
	if err != nil {
		return err
	}
	defer srv.stop()
	cfg := *srv.config
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		return err
	}
	const ns = "default"
	node := &jobtest.Node{Client: client}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu                        sync.Mutex
		firstPod, lastPod, lastOK time.Time
		seen                      atomic.Int64
	)
	served := make(chan error, 1)
	go func() {
		served <- node.Serve(ctx, ns, *workers, func(ctx context.Context, pod *corev1.Pod) {
			now := time.Now()
			mu.Lock()
			if firstPod.IsZero() {
				firstPod = now
			}
			lastPod = now
			mu.Unlock()
			seen.Add(1)
			if err := node.Succeed(ctx, pod); err == nil {
				mu.Lock()
				lastOK = time.Now()
				mu.Unlock()
			}
		})
	}()
	cpuBefore := cpuTime()
	start := time.Now()
	job := jobtest.New("bench", jobtest.Namespace(ns), jobtest.Completions(int32(*completions)), jobtest.Parallelism(int32(*parallelism)))
	if _, err := client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the job: %w", err)
	}
	var done *batchv1.Job
	for {
		j, err := client.BatchV1().Jobs(ns).Get(ctx, "bench", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if jobtest.Complete(j) || jobtest.Failed(j) {
			done = j
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	completeAt := time.Now()
	cpu := cpuTime() - cpuBefore
	cancel()
	<-served
	mu.Lock()
	defer mu.Unlock()
	pods := seen.Load()
	fmt.Fprintf(stdout, "job of %d pods at parallelism %d, stand-in node (no processes), fsync=%v\n", *completions, *parallelism, !*noFsync)
	fmt.Fprintf(stdout, "  result                          %s (succeeded %d, failed %d)\n", jobtest.ConditionTypes(done), done.Status.Succeeded, done.Status.Failed)
	fmt.Fprintf(stdout, "  create to Complete              %v\n", completeAt.Sub(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "  pods created                    %d\n", pods)
	fmt.Fprintf(stdout, "  pods/s, first to last creation  %.0f\n", float64(pods-1)/lastPod.Sub(firstPod).Seconds())
	fmt.Fprintf(stdout, "  pods/s, end to end              %.0f\n", float64(*completions)/completeAt.Sub(start).Seconds())
	fmt.Fprintf(stdout, "  last pod success to Complete    %v (polled every 20ms)\n", completeAt.Sub(lastOK).Round(time.Millisecond))
	fmt.Fprintf(stdout, "  process CPU per pod             %v (server, controllers, etcd and the node loop together)\n",
		(cpu / time.Duration(max(pods, 1))).Round(time.Microsecond))
	return nil
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
