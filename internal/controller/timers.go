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
	if t.set(key, at) {
		t.fire(key)
	}
}

// set starts key's timer for at. It reports whether the clock has passed
// at (a fake clock stepped since At read it, or a long pause), in which
// case it sets none and key must fire now.
func (t *Timers) set(key cache.ObjectName, at time.Time) (late bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	if p, ok := t.pending[key]; ok {
		if !p.at.After(at) {
			return false
		}
		p.timer.Stop()
		delete(t.pending, key)
	}
	var timer clock.Timer
	// A fake clock runs the callback while holding its own lock, and After
	// asks the clock for the time while holding t.mu: taking t.mu in the
	// callback itself could deadlock, so it hands over to a goroutine.
	callback := func() {
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
	}
	// The clock sets a timer d from its own reading of the time, which
	// may be later than the one d was measured from: a fake clock stepped
	// in between would fire it late by the step. A timer set while the
	// clock moved (more than a real clock does in the meantime) is set
	// again.
	for {
		now := t.clock.Now()
		if !now.Before(at) {
			return true
		}
		timer = t.clock.AfterFunc(at.Sub(now), callback)
		if t.clock.Since(now) < clockSlack {
			break
		}
		timer.Stop()
	}
	t.pending[key] = pending{at: at, timer: timer}
	return false
}

// clockSlack is how far a clock may move while a timer is set without it
// being set again: far more than a real clock moves in the meantime, far
// less than a test steps a fake one.
const clockSlack = 10 * time.Millisecond

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
