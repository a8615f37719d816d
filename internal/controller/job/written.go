package job

import (
	"strconv"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// writtenVersions remembers, per Job, the resourceVersion of the
// controller's last status write, so that a sync can tell when its
// informer has not yet caught up with it.
//
// A sync that starts right after the one that wrote the status (pod events
// queued it meanwhile) can find the Job in the cache as it was before that
// write while the pods are already as the write left them: a succeeded pod
// whose tracking finalizer the last sync removed counts as already
// counted, but the cached status does not count it yet, so the sync would
// see one completion less and create a pod too many (then fail its status
// write with a conflict, JOB-SYNC-08). Upstream's 1 s batching makes that
// window rare; batchd syncs a busy Job back to back. Such a sync does
// nothing: the Job's update event brings the next one.
//
// batchd's resourceVersions are etcd revisions, so a newer one is a larger
// number; one that does not parse is never called stale.
type writtenVersions struct {
	mu      sync.Mutex
	entries map[cache.ObjectName]written
}

type written struct {
	uid types.UID
	rv  uint64
}

func newWrittenVersions() *writtenVersions {
	return &writtenVersions{entries: map[cache.ObjectName]written{}}
}

// wrote records a status write's result.
func (w *writtenVersions) wrote(key cache.ObjectName, job *batchv1.Job) {
	rv, err := strconv.ParseUint(job.ResourceVersion, 10, 64)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur, ok := w.entries[key]; !ok || cur.uid != job.UID || rv > cur.rv {
		w.entries[key] = written{uid: job.UID, rv: rv}
	}
}

// stale reports whether cached, the informer's copy of the Job, is older
// than the controller's last status write to it.
func (w *writtenVersions) stale(key cache.ObjectName, cached *batchv1.Job) bool {
	rv, err := strconv.ParseUint(cached.ResourceVersion, 10, 64)
	if err != nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, ok := w.entries[key]
	return ok && cur.uid == cached.UID && rv < cur.rv
}

func (w *writtenVersions) forget(key cache.ObjectName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.entries, key)
}
