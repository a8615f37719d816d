package scheduler

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
)

// newRecorder builds the event recorder Run uses when Config.Recorder is
// nil: client-go's, reporting as "default-scheduler" through client.
// stop shuts it down and waits for the event being written, if any;
// events still queued are dropped, as upstream's scheduler drops them.
func newRecorder(ctx context.Context, client kubernetes.Interface) (recorder record.EventRecorder, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	s := &sink{ctx: ctx, client: client}
	broadcaster.StartRecordingToSink(s)
	recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: corev1.DefaultSchedulerName})
	return recorder, func() {
		cancel()
		broadcaster.Shutdown()
		s.stop()
	}
}

// sink writes events with a context, unlike client-go's EventSinkImpl, so
// that stopping the recorder cancels the write in flight; once stopped, it
// drops events quietly instead of having the broadcaster log failures.
type sink struct {
	ctx    context.Context
	client kubernetes.Interface
	// mu is held for reading by each write and for writing by stop, so stop
	// waits for the write in flight (a WaitGroup would race Add with Wait).
	mu      sync.RWMutex
	stopped bool
}

// stop waits for the write in flight and drops every later event.
func (s *sink) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
}

func (s *sink) Create(e *corev1.Event) (*corev1.Event, error) {
	return s.write(e, func() (*corev1.Event, error) {
		return s.client.CoreV1().Events(e.Namespace).Create(s.ctx, e, metav1.CreateOptions{})
	})
}

func (s *sink) Update(e *corev1.Event) (*corev1.Event, error) {
	return s.write(e, func() (*corev1.Event, error) {
		return s.client.CoreV1().Events(e.Namespace).Update(s.ctx, e, metav1.UpdateOptions{})
	})
}

func (s *sink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	return s.write(e, func() (*corev1.Event, error) {
		return s.client.CoreV1().Events(e.Namespace).Patch(s.ctx, e.Name, types.StrategicMergePatchType, data, metav1.PatchOptions{})
	})
}

func (s *sink) write(e *corev1.Event, do func() (*corev1.Event, error)) (*corev1.Event, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.stopped || s.ctx.Err() != nil {
		return e, nil
	}
	out, err := do()
	if err != nil && s.ctx.Err() != nil {
		return e, nil
	}
	return out, err
}
