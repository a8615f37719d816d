package job_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/controller/job"
	"github.com/batchd/batchd/internal/jobtest"
)

// faults is a fault injector in the controller's HTTP transport: fail
// decides, per request, whether to answer with an error status instead.
type faults struct {
	mu       sync.Mutex
	requests []string // "METHOD path" of every request
	bodies   map[string][]string
	fail     func(method, path string, n int) int             // status to return, 0 to pass
	hold     func(method, path string, n int) <-chan struct{} // when non-nil and it returns a channel, the request waits for it to close
	count    map[string]int
	next     http.RoundTripper
}

func (f *faults) RoundTrip(r *http.Request) (*http.Response, error) {
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.requests = append(f.requests, key)
	f.count[key]++
	n := f.count[key]
	if r.Body != nil && r.Method == http.MethodDelete {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.bodies[key] = append(f.bodies[key], string(b))
	}
	status := 0
	if f.fail != nil {
		status = f.fail(r.Method, r.URL.Path, n)
	}
	var gate <-chan struct{}
	if f.hold != nil {
		gate = f.hold(r.Method, r.URL.Path, n)
	}
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	if status != 0 {
		body := `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected","reason":"InternalError","code":500}`
		if status == http.StatusConflict {
			body = `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected conflict","reason":"Conflict","code":409}`
		}
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
	return f.next.RoundTrip(r)
}

func (f *faults) countOf(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// faultEnv runs a cluster without its Job controller and a controller of
// the test's own whose requests go through f.
func faultEnv(t *testing.T, f *faults) *env {
	t.Helper()
	f.count, f.bodies = map[string]int{}, map[string][]string{}
	return ownControllerEnv(t, func(rt http.RoundTripper) http.RoundTripper { f.next = rt; return f }, nil, nil)
}

// ownControllerEnv runs a cluster without its Job controller and a
// controller of the test's own: its API requests go through wrapAPI, its
// informers' through wrapInformers (nil: unwrapped).
func ownControllerEnv(t *testing.T, wrapAPI, wrapInformers func(http.RoundTripper) http.RoundTripper, wrapPods func(coreinformers.PodInformer) coreinformers.PodInformer) *env {
	t.Helper()
	t.Parallel()
	cluster := clustertest.Start(t, clustertest.WithoutJobController())
	e := newEnv(t, cluster)
	clientThrough := func(wrap func(http.RoundTripper) http.RoundTripper) kubernetes.Interface {
		if wrap == nil {
			return e.c
		}
		cfg := cluster.Config()
		cfg.QPS = -1
		cfg.Wrap(wrap)
		client, err := kubernetes.NewForConfig(cfg)
		must(t, err)
		return client
	}
	client := clientThrough(wrapAPI)
	factory := informers.NewSharedInformerFactory(clientThrough(wrapInformers), 0)
	events := record.NewBroadcaster()
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: e.c.CoreV1().Events("")})
	var pods coreinformers.PodInformer = factory.Core().V1().Pods()
	if wrapPods != nil {
		pods = wrapPods(pods)
	}
	c, err := job.New(job.Config{
		Client:   client,
		Jobs:     factory.Batch().V1().Jobs(),
		Pods:     pods,
		Recorder: events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "job-controller"}),
	})
	must(t, err)
	factory.Start(t.Context().Done())
	done := make(chan error)
	go func() { done <- c.Run(t.Context()) }()
	t.Cleanup(func() {
		<-done
		factory.Shutdown()
		events.Shutdown()
	})
	return e
}

// JOB-POD-08 JOB-POD-09 JOB-SYNC-03
func TestSlowStartStopsAtAFailedBatch(t *testing.T) {
	isCreate := func(method, path string) bool { return method == http.MethodPost && strings.HasSuffix(path, "/pods") }
	release := make(chan struct{})
	f := &faults{
		fail: func(method, path string, n int) int {
			if isCreate(method, path) && n == 4 {
				return http.StatusInternalServerError
			}
			return 0
		},
		// Creations after the first sync's seven wait until the test has
		// looked, however slow the machine and however soon the retry.
		hold: func(method, path string, n int) <-chan struct{} {
			if isCreate(method, path) && n > 7 {
				return release
			}
			return nil
		},
	}
	e := faultEnv(t, f)
	job := e.create(t, "slow", jobtest.Completions(10), jobtest.Parallelism(10))
	jobtest.AwaitEvent(t, e.c, job, "FailedCreate", "Error creating:")
	// Batches of 1, 2 and 4 were tried; the failure in the third skips
	// the rest of that sync. A retry may have begun: its first batch, of
	// one, waits on the gate. Without the skip, a fourth batch of three
	// would have been sent at once.
	if got := f.countOf("POST /api/v1/namespaces/" + e.ns + "/pods"); got != 7 && got != 8 {
		t.Errorf("%d pod creations before the retry went through, want 7 (plus 1 waiting retry)", got)
	}
	if got := len(e.pods(t, job)); got != 6 {
		t.Errorf("%d pods after the failed batch, want 6", got)
	}
	close(release)
	e.active(t, job, 10) // the retry creates the rest
}

// JOB-SYNC-08 JOB-SYNC-03
func TestStatusConflictIsRetried(t *testing.T) {
	f := &faults{fail: func(method, path string, n int) int {
		if method == http.MethodPut && strings.HasSuffix(path, "/status") && n <= 2 {
			return http.StatusConflict
		}
		return 0
	}}
	e := faultEnv(t, f)
	job := e.create(t, "conflict")
	e.active(t, job, 1)
	start := time.Now()
	e.awaitJob(t, job, "status written", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
	if f.countOf("PUT") < 3 {
		t.Errorf("status writes %d, want the two conflicts retried", f.countOf("PUT"))
	}
	_ = start
}

// JOB-POD-11
func TestDeletesUseDefaultOptions(t *testing.T) {
	f := &faults{}
	e := faultEnv(t, f)
	job := e.create(t, "defdel", jobtest.Completions(5), jobtest.Parallelism(2))
	e.active(t, job, 2)
	e.update(t, job, func(j *batchv1.Job) { j.Spec.Parallelism = new(int32) })
	e.active(t, job, 0)
	f.mu.Lock()
	defer f.mu.Unlock()
	for key, bodies := range f.bodies {
		for _, b := range bodies {
			if strings.Contains(b, "gracePeriodSeconds") || strings.Contains(b, "propagationPolicy") {
				t.Errorf("%s sent %s, want default delete options", key, b)
			}
		}
	}
}
