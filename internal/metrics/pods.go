package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Label names of the Pod families, as upstream kube-state-metrics
// (internal/store/pod.go): every family carries namespace, pod and uid.
const (
	labelPod           = "pod"
	labelUID           = "uid"
	labelContainer     = "container"
	labelPhase         = "phase"
	labelHostIP        = "host_ip"
	labelPodIP         = "pod_ip"
	labelNode          = "node"
	labelCreatedByKind = "created_by_kind"
	labelCreatedByName = "created_by_name"
	labelPriorityClass = "priority_class"
	labelHostNetwork   = "host_network"
)

// podPhases are kube_pod_status_phase's phase values, in upstream's order.
var podPhases = [...]corev1.PodPhase{
	corev1.PodPending, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown, corev1.PodRunning,
}

type podFamilies struct {
	info, owner, created, startTime, completionTime family
	phase, ready                                    family
	restarts, running, waiting, terminated          family
	waitingReason, terminatedReason                 family
}

func newPodFamilies() podFamilies {
	g := prometheus.GaugeValue
	ns, pod, uid := labelNamespace, labelPod, labelUID
	return podFamilies{
		info: newFamily("kube_pod_info", "Information about pod.", g, ns, pod, uid,
			labelHostIP, labelPodIP, labelNode, labelCreatedByKind, labelCreatedByName, labelPriorityClass, labelHostNetwork),
		owner:            newFamily("kube_pod_owner", "Information about the Pod's owner.", g, ns, pod, uid, labelOwnerKind, labelOwnerName, labelOwnerIsController),
		created:          newFamily("kube_pod_created", "Unix creation timestamp", g, ns, pod, uid),
		startTime:        newFamily("kube_pod_start_time", "Start time in unix timestamp for a pod.", g, ns, pod, uid),
		completionTime:   newFamily("kube_pod_completion_time", "Completion time in unix timestamp for a pod.", g, ns, pod, uid),
		phase:            newFamily("kube_pod_status_phase", "The pods current phase.", g, ns, pod, uid, labelPhase),
		ready:            newFamily("kube_pod_status_ready", "Describes whether the pod is ready to serve requests.", g, ns, pod, uid, labelCondition),
		restarts:         newFamily("kube_pod_container_status_restarts_total", "The number of container restarts per container.", prometheus.CounterValue, ns, pod, uid, labelContainer),
		running:          newFamily("kube_pod_container_status_running", "Describes whether the container is currently in running state.", g, ns, pod, uid, labelContainer),
		waiting:          newFamily("kube_pod_container_status_waiting", "Describes whether the container is currently in waiting state.", g, ns, pod, uid, labelContainer),
		terminated:       newFamily("kube_pod_container_status_terminated", "Describes whether the container is currently in terminated state.", g, ns, pod, uid, labelContainer),
		waitingReason:    newFamily("kube_pod_container_status_waiting_reason", "Describes the reason the container is currently in waiting state.", g, ns, pod, uid, labelContainer, labelReason),
		terminatedReason: newFamily("kube_pod_container_status_terminated_reason", "Describes the reason the container is currently in terminated state.", g, ns, pod, uid, labelContainer, labelReason),
	}
}

func (f podFamilies) describe(ch chan<- *prometheus.Desc) {
	describeAll(ch, f.info, f.owner, f.created, f.startTime, f.completionTime, f.phase, f.ready,
		f.restarts, f.running, f.waiting, f.terminated, f.waitingReason, f.terminatedReason)
}

func (f podFamilies) collect(ch chan<- prometheus.Metric, pods []*corev1.Pod) {
	for _, p := range pods {
		f.collectPod(ch, p)
	}
}

func (f podFamilies) collectPod(ch chan<- prometheus.Metric, p *corev1.Pod) {
	ns, name, uid := p.Namespace, p.Name, string(p.UID)
	var createdByKind, createdByName string
	if ref := metav1.GetControllerOf(p); ref != nil {
		createdByKind, createdByName = ref.Kind, ref.Name
	}
	f.info.emit(ch, 1, ns, name, uid, p.Status.HostIP, p.Status.PodIP, p.Spec.NodeName,
		createdByKind, createdByName, p.Spec.PriorityClassName, strconv.FormatBool(p.Spec.HostNetwork))
	emitOwners(ch, f.owner, p.OwnerReferences, ns, name, uid)
	emitTime(ch, f.created, &p.CreationTimestamp, ns, name, uid)
	emitTime(ch, f.startTime, p.Status.StartTime, ns, name, uid)

	// Completion time: the latest finishedAt of a terminated container.
	var lastFinish int64
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.FinishedAt.Unix() > lastFinish {
			lastFinish = t.FinishedAt.Unix()
		}
	}
	if lastFinish > 0 {
		f.completionTime.emit(ch, float64(lastFinish), ns, name, uid)
	}

	// Phase: no series until the pod has one, then one per phase.
	if p.Status.Phase != "" {
		for _, ph := range podPhases {
			f.phase.emit(ch, boolFloat(p.Status.Phase == ph), ns, name, uid, string(ph))
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			emitCondition(ch, f.ready, c.Status, ns, name, uid)
		}
	}

	for _, cs := range p.Status.ContainerStatuses {
		c := cs.Name
		f.restarts.emit(ch, float64(cs.RestartCount), ns, name, uid, c)
		f.running.emit(ch, boolFloat(cs.State.Running != nil), ns, name, uid, c)
		f.waiting.emit(ch, boolFloat(cs.State.Waiting != nil), ns, name, uid, c)
		f.terminated.emit(ch, boolFloat(cs.State.Terminated != nil), ns, name, uid, c)
		// The *_reason families have a series only for the current state.
		if w := cs.State.Waiting; w != nil {
			f.waitingReason.emit(ch, 1, ns, name, uid, c, w.Reason)
		}
		if t := cs.State.Terminated; t != nil {
			f.terminatedReason.emit(ch, 1, ns, name, uid, c, t.Reason)
		}
	}
}
