package table

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod STATUS values the printer makes up itself (kubectl.md §2.9); all
// others come from the pod's phase, its reason or a container's state.
const (
	podRunning       = "Running"
	podNotReady      = "NotReady"
	podCompleted     = "Completed"
	podTerminating   = "Terminating"
	podUnknown       = "Unknown"
	podInitializing  = "PodInitializing" // a waiting reason that does not count as an init problem
	nodeLostReason   = "NodeLost"        // upstream's NodeUnreachablePodReason
	initPrefix       = "Init:"
	podSucceededText = "The pod has completed successfully."
	podFailedText    = "The pod failed."
)

func podPrinter() printer {
	return printerOf(corev1.SchemeGroupVersion.WithKind("Pod"), podColumns, podRow)
}

// podRow is upstream's printPod: READY counts ready app containers and
// started, ready sidecars (restartable init containers); STATUS is the
// phase or status.reason, overridden by SchedulingGated, by the first init
// container that has not finished (Init:N/M, Init:<reason>,
// Init:ExitCode:N, Init:Signal:N), then by the first app container (in
// status order) that is waiting or terminated, then by Terminating or, for a
// pod on a lost node, Unknown; RESTARTS sums restart counts with the age of
// the latest restart.
func podRow(pod *corev1.Pod, now time.Time) metav1.TableRow {
	restarts, sidecarRestarts := 0, 0
	var lastRestart, lastSidecarRestart time.Time
	total := len(pod.Spec.Containers)
	ready := 0

	phase := pod.Status.Phase
	reason := string(phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}

	var row metav1.TableRow
	switch phase {
	case corev1.PodSucceeded:
		row.Conditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodSucceeded), Message: podSucceededText}}
	case corev1.PodFailed:
		row.Conditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodFailed), Message: podFailedText}}
	}

	initContainers := make(map[string]*corev1.Container, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		initContainers[c.Name] = c
		if isSidecar(c) {
			total++
		}
	}

	initializing := false
	for i, cs := range pod.Status.InitContainerStatuses {
		restarts += int(cs.RestartCount)
		lastRestart = later(lastRestart, cs.LastTerminationState)
		sidecar := isSidecar(initContainers[cs.Name])
		if sidecar {
			sidecarRestarts += int(cs.RestartCount)
			lastSidecarRestart = later(lastSidecarRestart, cs.LastTerminationState)
		}
		switch term, wait := cs.State.Terminated, cs.State.Waiting; {
		case term != nil && term.ExitCode == 0:
			continue
		case sidecar && cs.Started != nil && *cs.Started:
			if cs.Ready {
				ready++
			}
			continue
		case term != nil:
			switch {
			case term.Reason != "":
				reason = initPrefix + term.Reason
			case term.Signal != 0:
				reason = fmt.Sprintf("%sSignal:%d", initPrefix, term.Signal)
			default:
				reason = fmt.Sprintf("%sExitCode:%d", initPrefix, term.ExitCode)
			}
			initializing = true
		case wait != nil && wait.Reason != "" && wait.Reason != podInitializing:
			reason = initPrefix + wait.Reason
			initializing = true
		default:
			reason = fmt.Sprintf("%s%d/%d", initPrefix, i, len(pod.Spec.InitContainers))
			initializing = true
		}
		break
	}

	if !initializing || conditionTrue(pod.Status.Conditions, corev1.PodInitialized) {
		// Only sidecar restarts count once the pod is initialized.
		restarts, lastRestart = sidecarRestarts, lastSidecarRestart
		hasRunning := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := pod.Status.ContainerStatuses[i]
			restarts += int(cs.RestartCount)
			lastRestart = later(lastRestart, cs.LastTerminationState)
			switch term, wait := cs.State.Terminated, cs.State.Waiting; {
			case wait != nil && wait.Reason != "":
				reason = wait.Reason
			case term != nil && term.Reason != "":
				reason = term.Reason
			case term != nil && term.Signal != 0:
				reason = fmt.Sprintf("Signal:%d", term.Signal)
			case term != nil:
				reason = fmt.Sprintf("ExitCode:%d", term.ExitCode)
			case cs.Ready && cs.State.Running != nil:
				hasRunning = true
				ready++
			}
		}
		// A pod with a container still running is not Completed.
		if reason == podCompleted && hasRunning {
			if hasReady(pod.Status.Conditions) {
				reason = podRunning
			} else {
				reason = podNotReady
			}
		}
	}

	if pod.DeletionTimestamp != nil {
		switch {
		case pod.Status.Reason == nodeLostReason:
			reason = podUnknown
		case phase != corev1.PodSucceeded && phase != corev1.PodFailed:
			reason = podTerminating
		}
	}

	restartCell := strconv.Itoa(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		restartCell = fmt.Sprintf("%d (%s ago)", restarts, since(lastRestart, now))
	}

	row.Cells = []any{pod.Name, fmt.Sprintf("%d/%d", ready, total), reason, restartCell, since(pod.CreationTimestamp.Time, now),
		orNone(podIP(pod)), orNone(pod.Spec.NodeName), orNone(pod.Status.NominatedNodeName), readinessGates(pod)}
	return row
}

// isSidecar reports whether c is a restartable init container.
func isSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// later returns the later of t and the end of a previous termination.
func later(t time.Time, last corev1.ContainerState) time.Time {
	if last.Terminated != nil && t.Before(last.Terminated.FinishedAt.Time) {
		return last.Terminated.FinishedAt.Time
	}
	return t
}

// conditionTrue reports whether the first condition of type ct is True.
func conditionTrue(conds []corev1.PodCondition, ct corev1.PodConditionType) bool {
	for _, c := range conds {
		if c.Type == ct {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// hasReady reports whether any Ready condition is True (upstream's
// hasPodReadyCondition looks past duplicates, unlike conditionTrue).
func hasReady(conds []corev1.PodCondition) bool {
	for _, c := range conds {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// podIP is the IP upstream prints: its internal Pod's first podIPs entry,
// which conversion from v1 sets to status.podIP when that is present.
func podIP(pod *corev1.Pod) string {
	if pod.Status.PodIP != "" {
		return pod.Status.PodIP
	}
	if len(pod.Status.PodIPs) > 0 {
		return pod.Status.PodIPs[0].IP
	}
	return ""
}

// readinessGates is "<true>/<gates>", counting the first condition of each
// gate's type, or "<none>" without gates.
func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return none
	}
	n := 0
	for _, g := range pod.Spec.ReadinessGates {
		if conditionTrue(pod.Status.Conditions, g.ConditionType) {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, len(pod.Spec.ReadinessGates))
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}
