package job

import (
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func hasTrackingFinalizer(pod *corev1.Pod) bool {
	return slices.Contains(pod.Finalizers, batchv1.JobTrackingFinalizer)
}

// isActive: neither finished nor being deleted (JOB-STAT-03).
func isActive(pod *corev1.Pod) bool {
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed &&
		pod.DeletionTimestamp == nil
}

// isTerminating: being deleted but not yet finished (JOB-PRP-03).
func isTerminating(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp != nil &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

func isReady(pod *corev1.Pod) bool {
	c := podCondition(pod, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func activePods(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if isActive(p) {
			out = append(out, p)
		}
	}
	return out
}

func countReady(pods []*corev1.Pod) int32 {
	var n int32
	for _, p := range pods {
		if isReady(p) {
			n++
		}
	}
	return n
}

func countTerminating(pods []*corev1.Pod) int32 {
	var n int32
	for _, p := range pods {
		if isTerminating(p) {
			n++
		}
	}
	return n
}

// onlyReplaceFailed reports whether terminating pods wait for a terminal
// phase before they are replaced or counted (JOB-PRP-02).
func onlyReplaceFailed(job *batchv1.Job) bool {
	if job.Spec.PodFailurePolicy != nil {
		return true
	}
	return ptr.Deref(job.Spec.PodReplacementPolicy, "") == batchv1.Failed
}

// isFailed reports whether a pod counts as failed (JOB-TRK-02).
func isFailed(pod *corev1.Pod, job *batchv1.Job) bool {
	if pod.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailed(job) {
		return false
	}
	return pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodSucceeded
}

// finishedTime estimates when a pod finished (JOB-BO-06).
func finishedTime(p *corev1.Pod) time.Time {
	if t, ok := finishTimeFromContainers(p); ok {
		return t
	}
	if c := podCondition(p, corev1.PodReady); c != nil && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
		return c.LastTransitionTime.Time
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Add(-time.Duration(ptr.Deref(p.DeletionGracePeriodSeconds, 0)) * time.Second)
	}
	return p.CreationTimestamp.Time
}

func finishTimeFromContainers(p *corev1.Pod) (time.Time, bool) {
	var latest time.Time
	found := false
	for _, s := range p.Status.ContainerStatuses {
		if s.State.Terminated == nil || s.State.Terminated.FinishedAt.IsZero() {
			return time.Time{}, false
		}
		if !found || latest.Before(s.State.Terminated.FinishedAt.Time) {
			latest, found = s.State.Terminated.FinishedAt.Time, true
		}
	}
	return latest, found
}

// restartCount sums a pod's container and init-container restarts.
func restartCount(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.InitContainerStatuses {
		n += s.RestartCount
	}
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

// removalOrder sorts pods so that the ones to delete first come first
// (JOB-POD-03, upstream's controller.ActivePods): unscheduled before
// scheduled; Pending, then Unknown, then Running; not ready before ready;
// ready for less time before longer; more restarts before fewer; newer
// before older.
func removalOrder(a, b *corev1.Pod) int {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return boolFirst(a.Spec.NodeName == "")
	}
	if pa, pb := phaseRank(a.Status.Phase), phaseRank(b.Status.Phase); pa != pb {
		return pa - pb
	}
	if ra, rb := isReady(a), isReady(b); ra != rb {
		return boolFirst(!ra)
	}
	if isReady(a) && isReady(b) {
		ta, tb := podCondition(a, corev1.PodReady).LastTransitionTime, podCondition(b, corev1.PodReady).LastTransitionTime
		if !ta.Equal(&tb) {
			return boolFirst(tb.Before(&ta)) // later transition: ready for less time
		}
	}
	if ca, cb := maxRestarts(a), maxRestarts(b); ca != cb {
		return boolFirst(ca > cb)
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return boolFirst(b.CreationTimestamp.Before(&a.CreationTimestamp))
	}
	return 0
}

func boolFirst(aFirst bool) int {
	if aFirst {
		return -1
	}
	return 1
}

func phaseRank(p corev1.PodPhase) int {
	switch p {
	case corev1.PodPending:
		return 0
	case corev1.PodUnknown:
		return 1
	case corev1.PodRunning:
		return 2
	}
	return 3
}

func maxRestarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n = max(n, s.RestartCount)
	}
	return n
}
