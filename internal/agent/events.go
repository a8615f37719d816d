package agent

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/batchd/batchd/internal/eventsink"
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
	return eventsink.NewRecorder(ctx, client, corev1.EventSource{Component: eventComponent, Host: node})
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
