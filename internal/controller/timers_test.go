package controller

import (
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"
)

func TestTimers(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fire, got := recorder()
	tm := NewTimers(fc, fire)
	a, b := cache.ObjectName{Name: "a"}, cache.ObjectName{Name: "b"}

	tm.After(a, 10*time.Second)
	tm.After(a, 20*time.Second) // later: dropped
	tm.After(b, 20*time.Second)
	tm.After(b, 5*time.Second) // earlier: replaces
	if n := tm.Len(); n != 2 {
		t.Fatalf("pending = %d, want 2", n)
	}
	fc.Step(5 * time.Second)
	waitFor(t, got, []string{"b"})
	fc.Step(5 * time.Second)
	waitFor(t, got, []string{"b", "a"})
	fc.Step(time.Minute)
	if n := tm.Len(); n != 0 {
		t.Errorf("pending after firing = %d, want 0", n)
	}

	tm.After(a, 0) // now: fires without a step
	waitFor(t, got, []string{"b", "a", "a"})

	tm.After(b, time.Second)
	tm.Forget(b)
	tm.After(a, time.Second)
	tm.Stop()
	tm.After(a, time.Second)
	fc.Step(time.Hour)
	time.Sleep(20 * time.Millisecond)
	if g := got(); len(g) != 3 {
		t.Errorf("fired after Forget and Stop: %v", g)
	}
}

// recorder returns a fire function that records the keys it is called
// with, and a function that returns them so far.
func recorder() (fire func(cache.ObjectName), got func() []string) {
	var mu sync.Mutex
	var fired []string
	fire = func(k cache.ObjectName) {
		mu.Lock()
		defer mu.Unlock()
		fired = append(fired, k.Name)
	}
	got = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(fired)
	}
	return fire, got
}

func waitFor(t *testing.T, got func() []string, want []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(got(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("fired %v, want %v", got(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// steppingClock is a fake clock that another goroutine steps right after
// a chosen reading: the test's clock step landing between At's reading
// of the time and the timer it sets.
type steppingClock struct {
	*testingclock.FakeClock
	mu     sync.Mutex
	reads  int
	stepAt int // the reading after which the clock moves
	step   time.Duration
}

func (c *steppingClock) Now() time.Time {
	now := c.FakeClock.Now()
	c.mu.Lock()
	c.reads++
	move := c.reads == c.stepAt
	c.mu.Unlock()
	if move {
		c.Step(c.step)
	}
	return now
}

// TestTimersAtWhenTheClockMovesMeanwhile: a deadline that passes between
// At's reading of the clock and the timer it sets fires at once, not a
// step late (the cronjob tests' TestAllow waited forever for a Job that
// way, once in CI).
func TestTimersAtWhenTheClockMovesMeanwhile(t *testing.T) {
	for _, tc := range []struct {
		name string
		step time.Duration // after At's first reading
		want []string
	}{
		{"the clock passes the deadline", 20 * time.Second, []string{"a"}},
		{"the clock reaches the deadline", 10 * time.Second, []string{"a"}},
		{"the clock stays short of it", 5 * time.Second, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			c := &steppingClock{FakeClock: testingclock.NewFakeClock(start), stepAt: 1, step: tc.step}
			fire, got := recorder()
			tm := NewTimers(c, fire)
			tm.At(cache.ObjectName{Name: "a"}, start.Add(10*time.Second))
			if tc.want != nil {
				waitFor(t, got, tc.want)
				if n := tm.Len(); n != 0 {
					t.Errorf("pending after firing = %d, want 0", n)
				}
				return
			}
			time.Sleep(20 * time.Millisecond)
			if g := got(); len(g) != 0 {
				t.Fatalf("fired %v before the deadline", g)
			}
			c.FakeClock.Step(5 * time.Second) // now at the deadline
			waitFor(t, got, []string{"a"})
		})
	}
}
