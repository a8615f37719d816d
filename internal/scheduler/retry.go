package scheduler

import (
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
)

// Retry timing for pods no node could take, upstream's defaults
// (podInitialBackoffSeconds, podMaxBackoffSeconds,
// podMaxInUnschedulablePodsDuration).
const (
	initialBackoff = time.Second
	maxBackoff     = 10 * time.Second
	// maxParked is how long a pod waits for a helpful cluster change
	// before it is tried again anyway, in case an event was missed.
	maxParked = 5 * time.Minute
	// flushInterval is how often parked pods are checked against maxParked.
	flushInterval = 30 * time.Second
)

// parking keeps the pods that no node could take until a cluster change
// may help them (upstream's unschedulable pod pool), and the backoff of
// every pod that failed: a pod moved back to the queue waits out what is
// left of its backoff, counted from its last attempt, so a flood of
// changes cannot make it spin.
type parking struct {
	mu sync.Mutex
	// moves counts calls to move, per kind of change: an attempt that
	// began before a move that may help it may have missed what the move
	// brought, so it is not parked.
	moves    generation
	parked   map[cache.ObjectName]parkedPod
	attempts map[cache.ObjectName]attempt
}

// generation counts moves for each kind of cause (bit i of a cause
// counts at index i).
type generation [causeKinds]uint64

// changed reports whether a move of a kind in c happened between g and now.
func (g generation) changed(now generation, c cause) bool {
	for i := range g {
		if c&(1<<i) != 0 && g[i] != now[i] {
			return true
		}
	}
	return false
}

type parkedPod struct {
	cause cause // what rejected it: which changes may help
	since time.Time
}

type attempt struct {
	failures int
	last     time.Time
}

// keyDelay is a pod to queue again after delay.
type keyDelay struct {
	key   cache.ObjectName
	delay time.Duration
}

func newParking() *parking {
	return &parking{parked: map[cache.ObjectName]parkedPod{}, attempts: map[cache.ObjectName]attempt{}}
}

// generation is read before an attempt and passed to park after it.
func (p *parking) generation() generation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.moves
}

// park records a failed attempt of key, begun at generation gen, that
// changes of the kinds in c may lift. If such a change happened during the
// attempt, the pod is not parked: park returns false and how long the caller should wait before
// queueing it again.
func (p *parking) park(key cache.ObjectName, c cause, gen generation, now time.Time) (bool, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.attempts[key]
	a.failures++
	a.last = now
	p.attempts[key] = a
	if gen.changed(p.moves, c) {
		return false, backoff(a.failures)
	}
	p.parked[key] = parkedPod{cause: c, since: now}
	return true, 0
}

// move takes out of the lot every parked pod that a change of the kinds
// in c may help, with the backoff each has left.
func (p *parking) move(c cause, now time.Time) []keyDelay {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.moves {
		if c&(1<<i) != 0 {
			p.moves[i]++
		}
	}
	var out []keyDelay
	for key, pp := range p.parked {
		if pp.cause&c == 0 {
			continue
		}
		delete(p.parked, key)
		out = append(out, keyDelay{key, p.remainingLocked(key, now)})
	}
	return out
}

// expire takes out every pod parked for maxParked or longer.
func (p *parking) expire(now time.Time) []keyDelay {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []keyDelay
	for key, pp := range p.parked {
		if now.Sub(pp.since) >= maxParked {
			delete(p.parked, key)
			out = append(out, keyDelay{key, 0})
		}
	}
	return out
}

// unpark takes key out of the lot, if it is there, because the pod itself
// changed; it returns the backoff left.
func (p *parking) unpark(key cache.ObjectName, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.parked, key)
	return p.remainingLocked(key, now)
}

// done forgets key: the pod was bound, or is gone.
func (p *parking) done(key cache.ObjectName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.parked, key)
	delete(p.attempts, key)
}

// isParked reports whether key waits in the lot.
func (p *parking) isParked(key cache.ObjectName) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.parked[key]
	return ok
}

func (p *parking) remainingLocked(key cache.ObjectName, now time.Time) time.Duration {
	a, ok := p.attempts[key]
	if !ok {
		return 0
	}
	return max(0, a.last.Add(backoff(a.failures)).Sub(now))
}

// backoff is how long a pod waits after its nth failed attempt: 1s,
// doubling, at most 10s.
func backoff(failures int) time.Duration {
	d := initialBackoff
	for i := 1; i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
