package scheduler

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/batchd/batchd/internal/eventsink"
)

// newRecorder builds the event recorder Run uses when Config.Recorder is
// nil: client-go's, reporting as "default-scheduler" through client.
// stop shuts it down and waits for the event being written, if any;
// events still queued are dropped, as upstream's scheduler drops them.
func newRecorder(ctx context.Context, client kubernetes.Interface) (recorder record.EventRecorder, stop func()) {
	return eventsink.NewRecorder(ctx, client, corev1.EventSource{Component: corev1.DefaultSchedulerName})
}
