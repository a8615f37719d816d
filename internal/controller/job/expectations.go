package job

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// expectationsTTL is how long unobserved creations or deletions hold a Job's
// syncs back before the controller stops waiting for them (JOB-SYNC-06).
const expectationsTTL = 5 * time.Minute

// expectations counts, per Job, the pod creations and deletions the
// controller issued but has not yet seen in its pod informer. While any is
// outstanding, syncs neither create nor delete pods nor declare the Job
// finished: the cache would be behind the controller's own writes.
type expectations struct {
	clock clock.PassiveClock

	mu      sync.Mutex
	entries map[cache.ObjectName]*expectation
}

type expectation struct {
	add, del int
	set      time.Time
}

func newExpectations(c clock.PassiveClock) *expectations {
	return &expectations{clock: c, entries: make(map[cache.ObjectName]*expectation)}
}

// satisfied reports whether key has nothing outstanding, or waited so long
// that its expectations expired.
func (e *expectations) satisfied(key cache.ObjectName) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.entries[key]
	if !ok {
		return true
	}
	if x.add <= 0 && x.del <= 0 {
		return true
	}
	return e.clock.Since(x.set) > expectationsTTL
}

// expect records creations and deletions about to be issued for key; it
// replaces whatever was recorded before, as upstream's SetExpectations does.
func (e *expectations) expect(key cache.ObjectName, add, del int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.entries[key] = &expectation{add: add, del: del, set: e.clock.Now()}
}

// observe lowers key's outstanding creations by add and deletions by del:
// the informer saw them, or the request failed and never will be seen.
func (e *expectations) observe(key cache.ObjectName, add, del int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.entries[key]; ok {
		x.add -= add
		x.del -= del
	}
}

func (e *expectations) forget(key cache.ObjectName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.entries, key)
}

// finalizerExpectations holds, per Job, the UIDs of pods whose tracking
// finalizer the controller removed but whose update it has not yet seen.
// Syncs treat those pods as already counted, so a stale cache never counts a
// finished pod twice (JOB-TRK-03).
type finalizerExpectations struct {
	mu      sync.Mutex
	entries map[cache.ObjectName]sets.Set[types.UID]
}

func newFinalizerExpectations() *finalizerExpectations {
	return &finalizerExpectations{entries: make(map[cache.ObjectName]sets.Set[types.UID])}
}

func (f *finalizerExpectations) expect(key cache.ObjectName, uids []types.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.entries[key]
	if !ok {
		s = sets.New[types.UID]()
		f.entries[key] = s
	}
	s.Insert(uids...)
}

func (f *finalizerExpectations) observed(key cache.ObjectName, uid types.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.entries[key]; ok {
		s.Delete(uid)
		if s.Len() == 0 {
			delete(f.entries, key)
		}
	}
}

// pending returns a copy of key's expected removals.
func (f *finalizerExpectations) pending(key cache.ObjectName) sets.Set[types.UID] {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.entries[key].Clone()
}

func (f *finalizerExpectations) forget(key cache.ObjectName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.entries, key)
}
