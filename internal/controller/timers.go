package controller

import (
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Timers fires delayed syncs on a clock, keeping at most one pending timer
// per key: the earliest. A later request for a key that already has an
// earlier one pending is dropped, as a work queue's AddAfter does, because
// the sync at the earlier time asks again for whatever it still needs.
type Timers struct {
	clock   clock.WithDelayedExecution
	fire    func(cache.ObjectName)
	mu      sync.Mutex
	stopped bool
	pending map[cache.ObjectName]pending
}

type pending struct {
	at    time.Time
	timer clock.Timer
}

// NewTimers returns Timers that call fire(key) when a key's time comes,
// typically a work queue's Add.
func NewTimers(c clock.WithDelayedExecution, fire func(cache.ObjectName)) *Timers {
	return &Timers{clock: c, fire: fire, pending: make(map[cache.ObjectName]pending)}
}

// After arranges for key to fire after d on the clock. A d of zero or less
// fires at once, without waiting for a fake clock to be stepped.
func (t *Timers) After(key cache.ObjectName, d time.Duration) {
	t.At(key, t.clock.Now().Add(d))
}

// At arranges for key to fire at time at on the clock, at once if that
// time has come: a deadline decided on a clock reading fires when due
// even if the clock moved on before the timer was set.
func (t *Timers) At(key cache.ObjectName, at time.Time) {
	d := at.Sub(t.clock.Now())
	if d <= 0 {
		t.Forget(key)
		t.fire(key)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	if p, ok := t.pending[key]; ok {
		if !p.at.After(at) {
			return
		}
		p.timer.Stop()
	}
	var timer clock.Timer
	// A fake clock runs the callback while holding its own lock, and After
	// asks the clock for the time while holding t.mu: taking t.mu in the
	// callback itself could deadlock, so it hands over to a goroutine.
	timer = t.clock.AfterFunc(d, func() {
		go func() {
			t.mu.Lock()
			if p, ok := t.pending[key]; ok && p.timer == timer {
				delete(t.pending, key)
			}
			stopped := t.stopped
			t.mu.Unlock()
			if !stopped {
				t.fire(key)
			}
		}()
	})
	t.pending[key] = pending{at: at, timer: timer}
}

// Forget stops key's pending timer, if any.
func (t *Timers) Forget(key cache.ObjectName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.pending[key]; ok {
		p.timer.Stop()
		delete(t.pending, key)
	}
}

// Len returns how many keys have a timer pending.
func (t *Timers) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// Stop stops every pending timer; later calls to After do nothing.
func (t *Timers) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	for key, p := range t.pending {
		p.timer.Stop()
		delete(t.pending, key)
	}
}
