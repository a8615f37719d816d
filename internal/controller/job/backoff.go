package job

import (
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Pod failure backoff (JOB-BO-04): 10 s doubling, capped at 600 s.
const (
	defaultPodFailureBackoff = 10 * time.Second
	maxPodFailureBackoff     = 10 * time.Minute
)

// backoffRecord is what the controller remembers of a Job's recent pod
// failures to delay replacements (JOB-BO-01). It lives in memory only.
type backoffRecord struct {
	failuresAfterLastSuccess int32
	lastFailureTime          *time.Time
}

// next folds the pods that finished since they were last counted into r
// (JOB-BO-02). It sorts neither slice in place.
func (r backoffRecord) next(succeeded, failed []*corev1.Pod) backoffRecord {
	succeeded = sortedByFinish(succeeded)
	failed = sortedByFinish(failed)
	if len(succeeded) == 0 {
		if len(failed) == 0 {
			return r
		}
		t := finishedTime(failed[len(failed)-1])
		return backoffRecord{failuresAfterLastSuccess: r.failuresAfterLastSuccess + int32(len(failed)), lastFailureTime: &t}
	}
	out := backoffRecord{}
	lastSuccess := finishedTime(succeeded[len(succeeded)-1])
	for i := len(failed) - 1; i >= 0; i-- {
		t := finishedTime(failed[i])
		if !t.After(lastSuccess) {
			break
		}
		if out.lastFailureTime == nil {
			out.lastFailureTime = &t
		}
		out.failuresAfterLastSuccess++
	}
	return out
}

func sortedByFinish(pods []*corev1.Pod) []*corev1.Pod {
	out := slices.Clone(pods)
	slices.SortStableFunc(out, func(a, b *corev1.Pod) int { return finishedTime(a).Compare(finishedTime(b)) })
	return out
}

// remaining is how long replacements must still wait (JOB-BO-04).
func (r backoffRecord) remaining(now time.Time, base, limit time.Duration) time.Duration {
	return remainingBackoff(now, base, limit, r.failuresAfterLastSuccess, r.lastFailureTime)
}

// remainingBackoff: the delay for n failures is base doubled n-1 times,
// capped at limit, counted from the last failure.
func remainingBackoff(now time.Time, base, limit time.Duration, failures int32, last *time.Time) time.Duration {
	if failures == 0 || last == nil {
		return 0
	}
	delay := base
	for i := int32(1); i < failures; i++ {
		delay *= 2
		if delay >= limit {
			delay = limit
			break
		}
	}
	elapsed := now.Sub(*last)
	if delay < elapsed {
		return 0
	}
	return delay - elapsed
}

// indexBackoff is how long the index of lastFailed must wait before its
// replacement (JOB-BLI-08); 0 when the index has no failed pod.
func indexBackoff(now time.Time, base, limit time.Duration, lastFailed *corev1.Pod) time.Duration {
	if lastFailed == nil {
		return 0
	}
	t := finishedTime(lastFailed)
	return remainingBackoff(now, base, limit, absoluteFailureCount(lastFailed)+1, &t)
}

// backoffs keeps every Job's backoffRecord (JOB-BO-07: saved after a
// successful status write, dropped when the Job finishes or goes away).
type backoffs struct {
	mu      sync.Mutex
	records map[cache.ObjectName]backoffRecord
}

func newBackoffs() *backoffs {
	return &backoffs{records: make(map[cache.ObjectName]backoffRecord)}
}

func (b *backoffs) get(key cache.ObjectName) backoffRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.records[key]
}

func (b *backoffs) set(key cache.ObjectName, r backoffRecord) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.records[key] = r
}

func (b *backoffs) forget(key cache.ObjectName) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.records, key)
}
