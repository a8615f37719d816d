package job_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

// TestThroughput measures a Job of 2000 completions at parallelism 200
// whose pods a node loop ends as soon as they appear. It asserts nothing
// about speed; set BATCHD_THROUGHPUT=1 to run it.
func TestThroughput(t *testing.T) {
	if os.Getenv("BATCHD_THROUGHPUT") == "" {
		t.Skip("set BATCHD_THROUGHPUT=1 to measure")
	}
	e := newEnv(t, clustertest.Start(t))
	ctx, cancel := context.WithCancel(t.Context())
	var (
		mu          sync.Mutex
		first, last time.Time
		lastSuccess time.Time
		created     atomic.Int64
	)
	served := make(chan error, 1)
	go func() {
		served <- e.node.Serve(ctx, e.ns, 32, func(ctx context.Context, pod *corev1.Pod) {
			now := time.Now()
			mu.Lock()
			if first.IsZero() {
				first = now
			}
			last = now
			mu.Unlock()
			created.Add(1)
			if err := e.node.Succeed(ctx, pod); err == nil {
				mu.Lock()
				lastSuccess = time.Now()
				mu.Unlock()
			}
		})
	}()
	start := time.Now()
	job := e.create(t, "big", jobtest.Completions(2000), jobtest.Parallelism(200))
	done := jobtest.AwaitJobWithin(t, e.c, job, "complete", 5*time.Minute, jobtest.Complete)
	completeAt := time.Now()
	cancel()
	<-served
	mu.Lock()
	defer mu.Unlock()
	t.Logf("pods created: %d in %v (%.0f pods/s from first to last creation); total %v",
		created.Load(), last.Sub(first).Round(time.Millisecond), float64(created.Load()-1)/last.Sub(first).Seconds(), completeAt.Sub(start).Round(time.Millisecond))
	t.Logf("last pod success to Complete observed: %v (completionTime %v)", completeAt.Sub(lastSuccess).Round(time.Millisecond), done.Status.CompletionTime)
}
