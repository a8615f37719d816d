package agent_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/podruntime"
)

// slowStarts delays every container start (a fault: a busy node).
type slowStarts struct {
	podruntime.Runtime
	delay time.Duration
}

func (s slowStarts) StartContainer(ctx context.Context, pod podruntime.PodID, spec podruntime.ContainerSpec) (podruntime.ContainerID, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return s.Runtime.StartContainer(ctx, pod, spec)
}

// TestStatusWaitsForContainerCreation: while a pod's status would only
// say its containers are being created, the agent waits for the start
// (up to a second) instead of writing Pending with ContainerCreating: a
// quick pod on a busy node then costs one status write, not two. A start
// slower than that still shows ContainerCreating.
func TestStatusWaitsForContainerCreation(t *testing.T) {
	tests := []struct {
		name         string
		delay        time.Duration
		wantCreating bool
	}{
		{"start within a second", 400 * time.Millisecond, false},
		{"start slower than a second", 2500 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clustertest.Start(t)
			cs := c.Client()
			runAgent(t, c, nodeAgent{runtimeDir: runtimeDir(t), stateDir: t.TempDir(),
				wrapRuntime: func(rt podruntime.Runtime) podruntime.Runtime { return slowStarts{rt, tt.delay} }})
			waitNodeReady(t, cs)
			ctx := t.Context()
			pods := cs.CoreV1().Pods("default")
			list, err := pods.List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			create(t, cs, shPod("quick", corev1.RestartPolicyNever, "true"))

			var creating, statusWrites int
			timeout := time.After(30 * time.Second)
			for done := false; !done; {
				select {
				case <-timeout:
					t.Fatal("the pod did not succeed within 30s")
				case ev := <-w.ResultChan():
					pod, ok := ev.Object.(*corev1.Pod)
					if !ok || ev.Type != watch.Modified || len(pod.Status.ContainerStatuses) == 0 {
						continue // created, bound: not the agent's writes
					}
					statusWrites++
					if st := pod.Status.ContainerStatuses[0].State; st.Waiting != nil && st.Waiting.Reason == "ContainerCreating" {
						creating++
					}
					done = pod.Status.Phase == corev1.PodSucceeded
				}
			}
			if got := creating > 0; got != tt.wantCreating {
				t.Errorf("ContainerCreating written %d times (of %d status writes), want it written: %v", creating, statusWrites, tt.wantCreating)
			}
		})
	}
}

// statusWrites counts the pod status updates the API accepted.
type statusWrites struct {
	next http.RoundTripper
	n    *atomic.Int32
}

func (s statusWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err == nil && req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/pods/") && strings.HasSuffix(req.URL.Path, "/status") && resp.StatusCode == http.StatusOK {
		s.n.Add(1)
	}
	return resp, err
}

// TestStatusWrittenOncePerChange: each change of a pod's status is one
// update, none repeats a status the API already holds. The agent's times
// have nanoseconds and the API keeps seconds, so a status compared
// without normalizing them always differed, and a finished pod's status
// was written again with nothing changed.
func TestStatusWrittenOncePerChange(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   int32
	}{
		{"quick pod: Succeeded", "true", 1},
		{"pod that runs a while: Running, Succeeded", "sleep 1.5", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clustertest.Start(t)
			cs := c.Client()
			var writes atomic.Int32
			stop := runAgent(t, c, nodeAgent{runtimeDir: runtimeDir(t), stateDir: t.TempDir(),
				wrapClient: func(rt http.RoundTripper) http.RoundTripper { return statusWrites{rt, &writes} }})
			waitNodeReady(t, cs)
			create(t, cs, shPod("p", corev1.RestartPolicyNever, tt.script))
			waitPhase(t, cs, "p", corev1.PodSucceeded, 30*time.Second)
			stop() // every write the agent was to make is made
			if got := writes.Load(); got != tt.want {
				t.Errorf("%d status writes, want %d", got, tt.want)
			}
		})
	}
}
