package jobrun

import (
	"testing"
	"time"

	"k8s.io/utils/ptr"
)

func TestPlainLine(t *testing.T) {
	tests := []struct {
		name string
		p    progress
		want string
	}{
		{
			name: "counts against completions",
			p:    progress{display: "job/pi", state: stateRunning, completions: ptr.To[int32](5), succeeded: 2, active: 2},
			want: "job/pi: 2/5 succeeded, 2 active, 0 failed",
		},
		{
			name: "no completions: a work queue",
			p:    progress{display: "job/q", state: stateRunning, succeeded: 3, active: 1},
			want: "job/q: 3 succeeded, 1 active, 0 failed",
		},
		{
			name: "indexes, retries and backoff, without times",
			p: progress{display: "job/idx", state: stateBackoff, completions: ptr.To[int32](3), succeeded: 1, failed: 2,
				indexes: "+!.", retries: 1, backoff: 20 * time.Second, retryAt: t0},
			want: "job/idx: 1/3 succeeded, 0 active, 2 failed, indexes +!., 1 retry, backoff 20s",
		},
		{
			name: "failing names the reason",
			p:    progress{display: "job/f", state: stateFailing, reason: "BackoffLimitExceeded", completions: ptr.To[int32](1), failed: 3, retries: 2},
			want: "job/f: 0/1 succeeded, 0 active, 3 failed, 2 retries, failing: BackoffLimitExceeded",
		},
		{
			name: "suspended",
			p:    progress{display: "job/s", state: stateSuspended, completions: ptr.To[int32](1)},
			want: "job/s: 0/1 succeeded, 0 active, 0 failed, suspended",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plainLine(tt.p); got != tt.want {
				t.Errorf("plainLine() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLiveLine(t *testing.T) {
	tests := []struct {
		name string
		p    progress
		now  time.Time
		want string
	}{
		{
			name: "running with ready pods and elapsed time",
			p:    progress{display: "job/pi", state: stateRunning, completions: ptr.To[int32](5), succeeded: 2, active: 2, ready: 1, start: t0},
			now:  t0.Add(1234 * time.Millisecond),
			want: "job/pi     Running      2/5 succeeded  2 active (1 ready)  0 failed  1.23s",
		},
		{
			name: "backing off counts down to the retry",
			p: progress{display: "job/f", state: stateBackoff, completions: ptr.To[int32](1), failed: 1, retries: 0,
				backoff: 10 * time.Second, retryAt: t0.Add(10 * time.Second), start: t0},
			now:  t0.Add(3500 * time.Millisecond),
			want: "job/f      BackOff      0/1 succeeded  0 active  1 failed  retry in 7s  3.50s",
		},
		{
			name: "a retry past due",
			p:    progress{display: "job/f", state: stateBackoff, completions: ptr.To[int32](1), failed: 1, retryAt: t0, start: t0},
			now:  t0.Add(12 * time.Second),
			want: "job/f      BackOff      0/1 succeeded  0 active  1 failed  retry due  12.0s",
		},
		{
			name: "a finished job's time stops",
			p: progress{display: "job/idx", state: stateFailed, reason: "FailedIndexes", completions: ptr.To[int32](3), succeeded: 2, failed: 1,
				indexes: "++x", start: t0, end: t0.Add(2 * time.Second)},
			now:  t0.Add(time.Hour),
			want: "job/idx    Failed       2/3 succeeded  0 active  1 failed  [++x]  FailedIndexes  2.00s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := liveLine(tt.p, tt.now, 9); got != tt.want {
				t.Errorf("liveLine() =\n%q, want\n%q", got, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"}, {420 * time.Millisecond, "0.42s"}, {12345 * time.Millisecond, "12.3s"}, {125 * time.Second, "2m5s"},
	} {
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		s    string
		cols int
		want string
	}{
		{"abcdef", 0, "abcdef"}, {"abcdef", 7, "abcdef"}, {"abcdef", 6, "abcde"}, {"äöüß", 3, "äö"},
	} {
		if got := truncate(tt.s, tt.cols); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.cols, got, tt.want)
		}
	}
}
