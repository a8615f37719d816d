package job_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/batchd/batchd/internal/jobtest"
)

// slowJobWatch delays what the informers' Job watches deliver (a fault: a
// lagging watch), leaving every other request alone.
type slowJobWatch struct {
	delay time.Duration
	next  http.RoundTripper
}

func (s *slowJobWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil && r.URL.Query().Get("watch") == "true" && strings.HasSuffix(r.URL.Path, "/jobs") {
		resp.Body = &slowBody{ReadCloser: resp.Body, delay: s.delay}
	}
	return resp, err
}

type slowBody struct {
	io.ReadCloser
	delay time.Duration
}

func (b *slowBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		time.Sleep(b.delay)
	}
	return n, err
}

// statusConflicts counts the 409s answered to Job status writes.
type statusConflicts struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (s *statusConflicts) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil && r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/status") && resp.StatusCode == http.StatusConflict {
		s.n.Add(1)
	}
	return resp, err
}

// JOB-SYNC-08 JOB-TRK-03: a sync that starts while the informer's Job is
// older than the controller's own last status write does nothing until the
// informer catches up. Acting on it, the sync fails its status write with
// a conflict (and retries after a backoff); had the cached status not yet
// counted a pod whose finalizer the last sync removed, it would also have
// replaced that pod: one pod more than completions.
func TestSyncWaitsForItsOwnStatusWrite(t *testing.T) {
	conflicts := &statusConflicts{}
	e := ownControllerEnv(t,
		func(rt http.RoundTripper) http.RoundTripper { conflicts.next = rt; return conflicts },
		func(rt http.RoundTripper) http.RoundTripper {
			return &slowJobWatch{delay: 300 * time.Millisecond, next: rt}
		})

	j := e.create(t, "lag", jobtest.Completions(2), jobtest.Parallelism(2))
	pods := e.active(t, j, 2)
	e.awaitJob(t, j, "both pods counted active", func(j *batchv1.Job) bool { return j.Status.Active == 2 })
	// Let the informer catch up with that status before the next change.
	time.Sleep(time.Second)
	e.runAndSucceed(t, pods[0])
	e.counts(t, j, 1, 0)
	// The sync that counted it removed its finalizer; that pod event
	// queues another sync within milliseconds, while the informer's Job
	// is 300 ms or more behind.
	e.stays(t, j, time.Second, "no replacement for the succeeded pod", func(_ *batchv1.Job, pods []*corev1.Pod) bool {
		return len(pods) == 2
	})
	e.runAndSucceed(t, pods[1])
	e.awaitJob(t, j, "complete", jobtest.Complete)
	if got := e.pods(t, j); len(got) != 2 {
		t.Errorf("%d pods for 2 completions, want 2: %s", len(got), jobtest.DescribePods(got))
	}
	if n := conflicts.n.Load(); n != 0 {
		t.Errorf("%d status writes conflicted: a sync acted on a Job older than its own last write", n)
	}
}
