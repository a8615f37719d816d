package gcpace

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name           string
		live, headroom uint64
		want           int
	}{
		{"before the first collection: Go's minimum heap", 0, 128 * mib, 3200},
		{"small heap: grows by the headroom", 32 * mib, 128 * mib, 400},
		{"rounds up, never below the headroom", 100 * mib, 128 * mib, 128},
		{"heap as big as the headroom: Go's default", 128 * mib, 128 * mib, 100},
		{"big heap: Go's default", 1536 * mib, 128 * mib, 100},
		{"headroom below Go's minimum heap", 0, 1 * mib, 100},
		{"huge headroom: bounded, never negative", 4 * mib, 1 << 62, maxPercent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Percent(tc.live, tc.headroom)
			if got != tc.want {
				t.Errorf("Percent(%d MiB, %d MiB) = %d, want %d", tc.live/mib, tc.headroom/mib, got, tc.want)
			}
			if next := tc.live + tc.live*uint64(got)/100; tc.live >= minLive && got < maxPercent && next < tc.live+max(tc.live, tc.headroom) {
				t.Errorf("next collection at %d bytes, below live + max(live, headroom)", next)
			}
		})
	}
}

// gogc reads the collector's current GC percent.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

func live() uint64 {
	s := []metrics.Sample{{Name: metricLive}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitFor polls cond until it holds; a pacer that never gets there fails
// the test after a minute rather than hanging it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunPacesAfterEachCollectionAndRestores(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	const headroom = 1 << 30 // far above this test's live heap
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, headroom, slog.New(slog.DiscardHandler))
	}()
	waitFor(t, "the pacer to raise the GC percent", func() bool { return gogc() > 100 })

	// A bigger live heap after a collection lowers the percent: the
	// pacer recomputes it from each collection's live heap.
	keep := make([][]byte, 0, 64)
	for range 64 {
		keep = append(keep, make([]byte, 1<<20))
	}
	runtime.GC()
	want := Percent(live(), headroom)
	waitFor(t, "the percent for the live heap after a collection", func() bool { return gogc() == want })
	runtime.KeepAlive(keep)

	cancel()
	<-done
	if got := gogc(); got != 100 {
		t.Errorf("after Run returned the GC percent is %d, want the 100 it found", got)
	}
}

func TestRunLeavesTheUsersPace(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv(env, map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}[env])
			defer debug.SetGCPercent(debug.SetGCPercent(100))

			done := make(chan struct{})
			go func() {
				defer close(done)
				Run(context.Background(), 1<<30, slog.New(slog.DiscardHandler))
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatalf("Run with %s set did not return", env)
			}
			if got := gogc(); got != 100 {
				t.Errorf("GC percent %d, want it untouched (100)", got)
			}
		})
	}
}

func TestPaceWhileFnRuns(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	err := Pace(context.Background(), 1<<30, slog.New(slog.DiscardHandler), func() error {
		waitFor(t, "the pacer to raise the GC percent while fn runs", func() bool { return gogc() > 100 })
		return errTest
	})
	if err != errTest {
		t.Errorf("Pace = %v, want fn's error", err)
	}
	if got := gogc(); got != 100 {
		t.Errorf("after Pace returned the GC percent is %d, want the 100 it found", got)
	}
}

var errTest = errors.New("fn's error")
