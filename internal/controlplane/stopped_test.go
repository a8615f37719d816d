package controlplane

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestOnlyStopped(t *testing.T) {
	signal := errors.New("terminated signal received")
	stopped, stop := context.WithCancelCause(context.Background())
	stop(signal)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	closing := errors.New("closing etcd: input/output error")

	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"the cause, wrapped", stopped, fmt.Errorf("opening etcd: waiting: %w", signal), true},
		{"the context's error, wrapped twice", stopped, fmt.Errorf("bootstrap: %w", fmt.Errorf("create: %w", context.Canceled)), true},
		{"plain cancel", canceled, fmt.Errorf("x: %w", context.Canceled), true},
		{"stops joined", stopped, errors.Join(fmt.Errorf("a: %w", signal), fmt.Errorf("b: %w", context.Canceled)), true},
		{"a stop joined with a close that failed", stopped, errors.Join(fmt.Errorf("a: %w", signal), closing), false},
		{"a close that failed, wrapping a joined stop", stopped, fmt.Errorf("run: %w", errors.Join(context.Canceled, closing)), false},
		{"a failure of its own", stopped, closing, false},
		{"a cancellation nobody asked for: ctx live", live, fmt.Errorf("x: %w", context.Canceled), false},
		{"another context's deadline", canceled, fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"no error", stopped, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := onlyStopped(tc.ctx, tc.err); got != tc.want {
				t.Errorf("onlyStopped(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
