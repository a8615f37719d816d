package jobrun

import (
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	complete := jobResult{progress: progress{state: stateComplete}}
	failed := func(reason string) jobResult {
		return jobResult{progress: progress{state: stateFailed, reason: reason}}
	}
	tests := []struct {
		name    string
		outcome outcome
		results []jobResult
		want    int
	}{
		{name: "all complete", results: []jobResult{complete, complete}, want: 0},
		{name: "backoff limit", results: []jobResult{complete, failed("BackoffLimitExceeded")}, want: 2},
		{name: "deadline", results: []jobResult{failed("DeadlineExceeded")}, want: 3},
		{name: "pod failure policy is generic", results: []jobResult{failed("PodFailurePolicy")}, want: 1},
		{name: "failed indexes are generic", results: []jobResult{failed("FailedIndexes")}, want: 1},
		{name: "max failed indexes are generic", results: []jobResult{failed("MaxFailedIndexesExceeded")}, want: 1},
		{name: "the first failed job decides", results: []jobResult{failed("DeadlineExceeded"), failed("BackoffLimitExceeded")}, want: 3},
		{name: "unfinished counts as failed", results: []jobResult{{progress: progress{state: stateRunning}}}, want: 1},
		{name: "interrupted wins", outcome: outcomeInterrupted, results: []jobResult{complete}, want: 130},
		{name: "terminated", outcome: outcomeTerminated, want: 143},
		{name: "timed out", outcome: outcomeTimedOut, results: []jobResult{failed("BackoffLimitExceeded")}, want: 124},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.outcome, tt.results); got != tt.want {
				t.Errorf("exitCode() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCodeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{name: "nil", want: 0},
		{name: "usage", err: Usage(errors.New("bad")), want: ExitUsage},
		{name: "wrapped", err: fmt.Errorf("running: %w", &ExitError{Code: ExitDeadlineExceeded}), want: 3},
		{name: "anything else is the server's", err: errors.New("connection refused"), want: ExitUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CodeOf(tt.err); got != tt.want {
				t.Errorf("CodeOf() = %d, want %d", got, tt.want)
			}
		})
	}
}
