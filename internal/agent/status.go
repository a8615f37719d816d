package agent

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/podruntime"
)

// Condition types and reasons kubelet uses that client-go has no
// constants for.
const (
	podReadyToStartContainers corev1.PodConditionType = "PodReadyToStartContainers"
	reasonPodCompleted                                = "PodCompleted"
	reasonContainersNotReady                          = "ContainersNotReady"
	reasonContainersNotInit                           = "ContainersNotInitialized"
	containerIDPrefix                                 = "hostproc://"
)

func (w *worker) markDirty() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

// Status writes settle: a change that leaves the pod running or pending
// is written once the status has not changed for statusSettle (but no
// later than statusSettleMax after the first change), a terminal status
// at once. A container that starts and finishes quickly, like /bin/true,
// then costs one write (and events for every watcher) instead of three:
// Pending with ContainerCreating, Running and Succeeded follow each other
// within milliseconds. Kubelet paces the same writes with its pod
// workers' sync loop. While the status would only say that the pod's
// first containers are being created, it waits up to creatingSettleMax:
// on a busy node a start takes longer than statusSettle, and 98 % of a
// 1,000-pod Job's pods got a ContainerCreating write of their own. (A
// settling time that grew with the node's running pods made a lone pod's
// Running wait longer on a node full of idle ones, for no write saved.)
const (
	statusSettle      = 10 * time.Millisecond
	statusSettleMax   = 100 * time.Millisecond
	creatingSettleMax = time.Second
	// creatingPoll is how often a status that says containers are being
	// created is looked at again while it waits: the start's outcome
	// marks the status dirty and ends the wait at once, so this is only a
	// fallback. (Every statusSettle, a busy node's waiting pods computed
	// their status some twenty times each.)
	creatingPoll = 100 * time.Millisecond
)

// statusLoop writes the pod's status whenever it changes, coalescing
// changes that come while a write is in flight or while it settles.
func (w *worker) statusLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.dirty:
		}
		if !w.settle(ctx) {
			return
		}
		w.writeNow(ctx)
	}
}

// settle waits until the status is terminal, or has not changed for
// statusSettle, or has been changing for statusSettleMax
// (creatingSettleMax while it only says containers are being created). It
// reports false if ctx ended. Real time, not w.a.clock: a pause in the
// work, not a deadline a test would step.
func (w *worker) settle(ctx context.Context) bool {
	first := time.Now()
	for {
		terminal, creating := w.statusNow()
		if terminal {
			return true
		}
		limit, pause := statusSettleMax, statusSettle
		if creating {
			limit, pause = creatingSettleMax, creatingPoll
		}
		wait := min(pause, time.Until(first.Add(limit)))
		if wait <= 0 {
			return true
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-w.dirty:
			t.Stop() // changed again: settle anew
		case <-t.C:
			if !creating {
				return true
			}
			// The start under way is the next change, its outcome the
			// status worth writing.
		}
	}
}

// statusNow reports whether the pod's status, as it would be written now,
// is terminal (or the pod is gone), and whether it only says that the
// pod's containers are being created: none has started, and one is about
// to be (not held back by an error).
func (w *worker) statusNow() (terminal, creating bool) {
	pod, gone := w.current()
	if gone {
		return true, false
	}
	ph := w.computeStatus(pod).Phase
	if ph == corev1.PodSucceeded || ph == corev1.PodFailed {
		return true, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range slices.Concat(w.inits, w.mains) {
		if c.id != "" || c.running || c.exit != nil || c.last != nil {
			return false, false
		}
		if c.waiting == "ContainerCreating" || c.waiting == "PodInitializing" {
			creating = true
		}
	}
	return false, creating
}

// writeNow writes the current status if it differs from the last written.
// The update is built on the pod the API returned for the last write when
// the informer has not caught up with it yet (latest): the informer's
// copy would conflict (its resourceVersion is stale) and recompute
// transition times. A conflict left (another writer) is retried against a
// fresh copy. An update rather than kubelet's strategic merge patch: on
// the API server a status patch costs about twice an update (a JSON round
// trip of the whole pod), and the agent is the pods' only status writer.
func (w *worker) writeNow(ctx context.Context) {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	pod, gone := w.current()
	if gone {
		return
	}
	for attempt := 0; attempt < 5 && ctx.Err() == nil; attempt++ {
		pod = w.latest(pod)
		st := w.computeStatus(pod)
		if w.written != nil && apiequality.Semantic.DeepEqual(st, *w.written) {
			return
		}
		if apiequality.Semantic.DeepEqual(st, pod.Status) {
			w.written = &st
			return
		}
		p := pod.DeepCopy()
		p.Status = st
		got, err := w.a.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		switch {
		case err == nil:
			w.written, w.apiPod = &st, got
			return
		case apierrors.IsConflict(err):
			fresh, gerr := w.a.client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			if gerr != nil || fresh.UID != p.UID {
				return
			}
			pod = fresh
		case apierrors.IsNotFound(err):
			return
		default:
			if ctx.Err() == nil {
				w.a.log.Warn("Writing pod status", "pod", w.key(), "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			if fresh, gone := w.current(); !gone {
				pod = fresh
			}
		}
	}
}

// latest returns the newer of the informer's copy of the pod and the one
// the API returned for this worker's last status write. batchd's
// resourceVersions are etcd revisions, so the newer has the larger one;
// should one not parse, the informer's copy wins. Callers hold writeMu.
func (w *worker) latest(pod *corev1.Pod) *corev1.Pod {
	api := w.apiPod
	if api == nil || api.UID != pod.UID {
		return pod
	}
	mine, err1 := strconv.ParseUint(api.ResourceVersion, 10, 64)
	seen, err2 := strconv.ParseUint(pod.ResourceVersion, 10, 64)
	if err1 != nil || err2 != nil || seen >= mine {
		return pod
	}
	return api
}

// computeStatus builds the status kubelet would report (its
// generateAPIPodStatus and getPhase) from the containers' states, keeping
// transition times of unchanged conditions from old.
func (w *worker) computeStatus(old *corev1.Pod) corev1.PodStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := corev1.PodStatus{
		HostIP:            w.a.hostIP,
		HostIPs:           []corev1.HostIP{{IP: w.a.hostIP}},
		PodIP:             w.a.hostIP,
		PodIPs:            []corev1.PodIP{{IP: w.a.hostIP}},
		QOSClass:          old.Status.QOSClass,
		StartTime:         old.Status.StartTime,
		NominatedNodeName: old.Status.NominatedNodeName,
	}
	if st.StartTime == nil {
		st.StartTime = ptr.To(metav1.NewTime(w.startAt))
	}
	perContainer := maxPodTerminationMessages / max(len(w.inits)+len(w.mains), 1)
	for _, c := range w.inits {
		st.InitContainerStatuses = append(st.InitContainerStatuses, c.apiStatus(perContainer))
	}
	for _, c := range w.mains {
		st.ContainerStatuses = append(st.ContainerStatuses, c.apiStatus(perContainer))
	}
	initialized := true
	for _, c := range w.inits {
		if c.sidecar && !(c.running || c.exit != nil || c.last != nil) || !c.sidecar && (c.exit == nil || c.exit.Code != 0) {
			initialized = false
		}
	}
	st.Phase = w.phaseLocked(initialized)
	if w.failReason != "" {
		st.Phase, st.Reason, st.Message = corev1.PodFailed, w.failReason, w.failMessage
	} else if w.disruption != nil && st.Phase == corev1.PodFailed {
		// Stopped for a node shutdown, and its containers have ended
		// before disrupt could call fail: a status written now must
		// already say why.
		st.Reason, st.Message = reasonNodeShutdown, msgNodeShutdown
	}
	terminal := st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed

	var unready []string
	for _, c := range w.mains {
		if !c.isReady() {
			unready = append(unready, c.spec.Name)
		}
	}
	for _, c := range w.inits {
		if c.sidecar && !c.isReady() {
			unready = append(unready, c.spec.Name)
		}
	}
	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
		if ok {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
		}
		return c
	}
	ready := len(unready) == 0 && !terminal && initialized
	readyReason, readyMsg := reasonContainersNotReady, fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	if terminal {
		readyReason, readyMsg = reasonPodCompleted, ""
	}
	initReason, initMsg := reasonContainersNotInit, ""
	if !initialized {
		var names []string
		for _, c := range w.inits {
			if !c.sidecar && (c.exit == nil || c.exit.Code != 0) {
				names = append(names, c.spec.Name)
			}
		}
		initMsg = fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(names, " "))
	}
	if terminal && initialized {
		initReason = reasonPodCompleted
	}
	conds := []corev1.PodCondition{
		cond(podReadyToStartContainers, w.started && !terminal, "", ""),
		cond(corev1.PodInitialized, initialized, initReason, initMsg),
		cond(corev1.PodReady, ready, readyReason, readyMsg),
		cond(corev1.ContainersReady, ready, readyReason, readyMsg),
	}
	if w.disruption != nil {
		conds = append(conds, *w.disruption)
	}
	scheduled := false
	for _, c := range old.Status.Conditions {
		switch {
		case c.Type == podReadyToStartContainers, c.Type == corev1.PodInitialized, c.Type == corev1.PodReady, c.Type == corev1.ContainersReady:
		case c.Type == corev1.DisruptionTarget && w.disruption != nil:
		default:
			if c.Type == corev1.PodScheduled {
				scheduled = true
			}
			st.Conditions = append(st.Conditions, c) // PodScheduled, DisruptionTarget, ...
		}
	}
	if !scheduled {
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
	}
	now := metav1.NewTime(w.a.clock.Now().Truncate(time.Second))
	for _, c := range conds {
		c.LastTransitionTime = now
		for _, o := range old.Status.Conditions {
			if o.Type == c.Type && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	for i := range st.Conditions {
		if st.Conditions[i].Type == corev1.PodScheduled && st.Conditions[i].LastTransitionTime.IsZero() {
			st.Conditions[i].LastTransitionTime = now
		}
	}
	sort.SliceStable(st.Conditions, func(i, j int) bool { return condOrder(st.Conditions[i].Type) < condOrder(st.Conditions[j].Type) })
	normalizeTimes(&st)
	return st
}

// normalizeTimes truncates the status's times to the seconds the API
// stores, as kubelet's status manager normalizes a status: compared with
// the stored pod or the last written status, a time with nanoseconds
// always differs, and a pod's status was written a second time with
// nothing changed (a whole update request per pod for nothing).
func normalizeTimes(st *corev1.PodStatus) {
	trunc := func(t *metav1.Time) { t.Time = t.Time.Truncate(time.Second) }
	if st.StartTime != nil {
		t := *st.StartTime
		trunc(&t)
		st.StartTime = &t
	}
	for i := range st.Conditions {
		trunc(&st.Conditions[i].LastProbeTime)
		trunc(&st.Conditions[i].LastTransitionTime)
	}
	state := func(s *corev1.ContainerState) {
		if s.Running != nil {
			trunc(&s.Running.StartedAt)
		}
		if s.Terminated != nil {
			trunc(&s.Terminated.StartedAt)
			trunc(&s.Terminated.FinishedAt)
		}
	}
	for _, list := range [][]corev1.ContainerStatus{st.InitContainerStatuses, st.ContainerStatuses} {
		for i := range list {
			state(&list[i].State)
			state(&list[i].LastTerminationState)
		}
	}
}

func condOrder(t corev1.PodConditionType) int {
	switch t {
	case podReadyToStartContainers:
		return 0
	case corev1.PodInitialized:
		return 1
	case corev1.PodReady:
		return 2
	case corev1.ContainersReady:
		return 3
	case corev1.PodScheduled:
		return 4
	}
	return 5
}

// phaseLocked is kubelet's getPhase.
func (w *worker) phaseLocked(initialized bool) corev1.PodPhase {
	for _, c := range w.inits {
		if !c.sidecar && c.exit != nil && c.exit.Code != 0 && w.policy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
	}
	if !initialized {
		return corev1.PodPending
	}
	var waiting, running, stopped, succeeded int
	for _, c := range w.mains {
		switch {
		case c.running:
			running++
		case c.exit != nil:
			stopped++
			if c.exit.Code == 0 {
				succeeded++
			}
		case c.last != nil:
			stopped++
			if c.last.Code == 0 {
				succeeded++
			}
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped > 0:
		anyRestarting := false
		for _, c := range w.mains {
			if c.exit == nil || w.wouldRestart(c, *c.exit) {
				anyRestarting = true
			}
		}
		if anyRestarting || w.sidecarRunningLocked() {
			// As kubelet, a pod is terminal only once its sidecars,
			// stopped after the main containers, have ended too.
			return corev1.PodRunning
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	}
	return corev1.PodPending
}

// sidecarRunningLocked reports whether a sidecar (restartPolicy Always
// init container) still runs.
func (w *worker) sidecarRunningLocked() bool {
	for _, c := range w.inits {
		if c.sidecar && c.running {
			return true
		}
	}
	return false
}

// apiStatus is the container's status as kubelet reports it, with
// termination messages cut to maxMessage bytes (kubelet shares 12 KiB
// among a pod's containers).
func (c *ctr) apiStatus(maxMessage int) corev1.ContainerStatus {
	s := corev1.ContainerStatus{
		Name:         c.spec.Name,
		Image:        c.spec.Image,
		ImageID:      imageID(c.spec.Image),
		RestartCount: int32(c.attempt),
		Started:      ptr.To(c.running && c.started),
		Ready:        c.isReady(),
	}
	if c.id != "" {
		s.ContainerID = containerIDPrefix + string(c.id)
	}
	switch {
	case c.running:
		s.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.startAt)}
	case c.exit != nil:
		s.State.Terminated = terminated(c.exit, s.ContainerID)
	default:
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: c.waiting}
		if c.waiting == "CrashLoopBackOff" {
			s.State.Waiting.Message = fmt.Sprintf("back-off restarting failed container %s", c.spec.Name)
		}
	}
	if c.last != nil {
		s.LastTerminationState.Terminated = terminated(c.last, "")
	}
	for _, t := range []*corev1.ContainerStateTerminated{s.State.Terminated, s.LastTerminationState.Terminated} {
		if t != nil && len(t.Message) > maxMessage {
			t.Message = t.Message[:maxMessage]
		}
	}
	return s
}

func terminated(e *podruntime.ExitStatus, id string) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{
		// No Signal: kubelet leaves it unset (the CRI reports none), and
		// kubectl describe would print a line upstream never shows.
		ExitCode:    int32(e.Code),
		Reason:      e.Reason,
		Message:     e.Message,
		FinishedAt:  metav1.NewTime(e.FinishedAt),
		ContainerID: id,
	}
	if !e.StartedAt.IsZero() {
		t.StartedAt = metav1.NewTime(e.StartedAt)
	}
	return t
}

// imageID: host-process pods have no image; the image name stands in.
func imageID(image string) string {
	if image == "" {
		return ""
	}
	return containerIDPrefix + image
}
