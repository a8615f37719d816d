package eventsink

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

// NewRecorder returns client-go's event recorder reporting as source,
// writing through client until ctx ends or stop is called. stop shuts the
// recorder down and waits for the event being written, if any; events
// still queued are dropped, as upstream's scheduler and kubelet drop them.
func NewRecorder(ctx context.Context, client kubernetes.Interface, source corev1.EventSource) (recorder record.EventRecorder, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	s := &sink{ctx: ctx, client: client}
	broadcaster.StartRecordingToSink(s)
	recorder = broadcaster.NewRecorder(scheme.Scheme, source)
	return recorder, func() {
		cancel()
		broadcaster.Shutdown()
		s.stop()
	}
}

// sink is a record.EventSink whose writes carry ctx.
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

// write runs do unless the sink is stopped; failures caused by stopping
// are not errors.
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
