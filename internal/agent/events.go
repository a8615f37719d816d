package agent

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

// Event reasons and messages kubelet uses (pkg/kubelet/events), for the
// events the agent emits about a pod's containers.
const (
	eventUnhealthy = "Unhealthy" // Warning: a probe failed
	eventKilling   = "Killing"   // Normal: the agent stops a container
	eventComponent = "kubelet"
)

// newRecorder builds the agent's event recorder, reporting as kubelet on
// this node. stop shuts it down and waits for the event being written;
// events still queued are dropped.
func newRecorder(ctx context.Context, client kubernetes.Interface, node string) (recorder record.EventRecorder, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	s := &sink{ctx: ctx, client: client}
	broadcaster.StartRecordingToSink(s)
	recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: eventComponent, Host: node})
	return recorder, func() {
		cancel()
		broadcaster.Shutdown()
		s.stop()
	}
}

// containerRef is the involvedObject of an event about one container:
// the pod, with the container's field path, as kubelet reports it.
func containerRef(pod *corev1.Pod, c *corev1.Container, init bool) *corev1.ObjectReference {
	path := "spec.containers{" + c.Name + "}"
	if init {
		path = "spec.initContainers{" + c.Name + "}"
	}
	return &corev1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		ResourceVersion: pod.ResourceVersion, FieldPath: path,
	}
}

// sink writes events with a context, unlike client-go's EventSinkImpl, so
// that stopping the recorder cancels the write in flight; once stopped, it
// drops events quietly instead of having the broadcaster log failures.
type sink struct {
	ctx    context.Context
	client kubernetes.Interface
	// mu is held for reading by each write and for writing by stop, so stop
	// waits for the write in flight.
	mu      sync.RWMutex
	stopped bool
}

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
