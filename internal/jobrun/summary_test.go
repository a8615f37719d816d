package jobrun

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
)

func TestSummaryLines(t *testing.T) {
	done := t0.Add(1230 * time.Millisecond)
	tests := []struct {
		name string
		r    jobResult
		want []string
	}{
		{
			name: "complete",
			r:    jobResult{progress: progress{display: "job/pi", state: stateComplete, completions: ptr.To[int32](5), succeeded: 5, start: t0, end: done}},
			want: []string{"job/pi: Complete in 1.23s (5 pods succeeded, 0 failed, 0 retries)"},
		},
		{
			name: "failed with the failing container's last lines",
			r: jobResult{
				progress: progress{display: "job/f", state: stateFailed, reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit",
					failed: 2, retries: 1, start: t0, end: done},
				tail: &podTail{pod: "f-x7k2p", container: "main", exitCode: 1, reason: "Error", lines: []string{"connecting", "refused"}},
			},
			want: []string{
				"job/f: Failed in 1.23s (0 pods succeeded, 2 failed, 1 retry): BackoffLimitExceeded: Job has reached the specified backoff limit",
				"  last 2 lines of [f-x7k2p/main] (exit code 1):",
				"    connecting",
				"    refused",
			},
		},
		{
			name: "a killed container names its reason; a silent one says so",
			r: jobResult{
				progress: progress{display: "job/d", state: stateFailed, reason: "DeadlineExceeded", failed: 1, start: t0, end: done},
				tail:     &podTail{pod: "d-1", container: "slow", exitCode: 137, reason: "OOMKilled"},
			},
			want: []string{
				"job/d: Failed in 1.23s (0 pods succeeded, 1 failed, 0 retries): DeadlineExceeded",
				"  [d-1/slow] (exit code 137, OOMKilled) logged nothing",
			},
		},
		{
			name: "an unreadable log says why",
			r: jobResult{
				progress: progress{display: "job/d", state: stateFailed, reason: "PodFailurePolicy", message: "Container main failed", failed: 1, start: t0, end: done},
				tail:     &podTail{pod: "d-1", container: "main", exitCode: 42, unavailable: "pod d-1 is gone"},
			},
			want: []string{
				"job/d: Failed in 1.23s (0 pods succeeded, 1 failed, 0 retries): PodFailurePolicy: Container main failed",
				"  [d-1/main] (exit code 42): log unavailable: pod d-1 is gone",
			},
		},
		{
			name: "interrupted while running",
			r:    jobResult{progress: progress{display: "job/long", state: stateRunning, active: 2, start: t0}, stopped: "interrupted"},
			want: []string{"job/long: Running, interrupted after 2.00s (0 pods succeeded, 0 failed, 0 retries)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summaryLines(tt.r, t0.Add(2*time.Second))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summaryLines() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
