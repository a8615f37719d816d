package jobrun

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
)

// fakeClock is a settable now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestViewPlain(t *testing.T) {
	var out strings.Builder
	clk := &fakeClock{t: t0}
	v := newView(&out, false, nil, clk.now)
	p := progress{display: "job/pi", seen: true, state: stateRunning, completions: ptr.To[int32](3)}
	step := func(succeeded int32, after time.Duration) {
		clk.t = clk.t.Add(after)
		q := p
		q.succeeded = succeeded
		v.update([]progress{q, {display: "job/unseen"}})
	}
	step(0, 0)
	v.line("[pi-1/pi] 3.14")
	step(1, 100*time.Millisecond) // held back: too soon
	step(1, 100*time.Millisecond) // unchanged
	step(2, 400*time.Millisecond) // 600 ms after the last line: printed
	step(3, 100*time.Millisecond) // held back, printed by close
	if err := v.close(); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"job/pi: 0/3 succeeded, 0 active, 0 failed",
		"[pi-1/pi] 3.14",
		"job/pi: 2/3 succeeded, 0 active, 0 failed",
		"job/pi: 3/3 succeeded, 0 active, 0 failed",
		"",
	}, "\n")
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("plain output mismatch (-want +got):\n%s", diff)
	}
}

func TestViewLive(t *testing.T) {
	var out strings.Builder
	clk := &fakeClock{t: t0}
	v := newView(&out, true, func() int { return 80 }, clk.now)
	p := progress{display: "job/pi", seen: true, state: stateRunning, completions: ptr.To[int32](1), active: 1, start: t0}
	v.update([]progress{p})
	v.tick() // nothing moved: no output
	v.line("[pi-1/pi] hello")
	clk.t = clk.t.Add(time.Second)
	v.tick()
	if err := v.close(); err != nil {
		t.Fatal(err)
	}
	const erase = "\r\x1b[1A\x1b[J"
	want := "job/pi  Running      0/1 succeeded  1 active (0 ready)  0 failed  0.00s\n" +
		erase + "[pi-1/pi] hello\n" +
		"job/pi  Running      0/1 succeeded  1 active (0 ready)  0 failed  0.00s\n" +
		erase + "job/pi  Running      0/1 succeeded  1 active (0 ready)  0 failed  1.00s\n" +
		erase
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("live output mismatch (-want +got):\n%s", diff)
	}
}
