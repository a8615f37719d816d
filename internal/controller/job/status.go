package job

import (
	"cmp"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"
)

// track picks the pods whose finalizer goes in this sync and records them
// in the status to write first: UIDs in uncountedTerminatedPods, indexes in
// completedIndexes, and the interim condition (JOB-TRK-03..08,
// JOB-COND-07).
func (s *syncState) track(p *plan) {
	job, st := s.job, &s.job.Status
	indexed := isIndexed(job)
	pods := s.pods
	if indexed {
		pods = slices.Clone(pods)
		slices.SortStableFunc(pods, func(a, b *corev1.Pod) int { return cmp.Compare(completionIndex(a), completionIndex(b)) })
	}
	p.withFinalizer = sets.New[types.UID]()
	for _, pod := range pods {
		if hasTrackingFinalizer(pod) && !s.expectedRemovals.Has(pod.UID) {
			p.withFinalizer.Insert(pod.UID)
		}
	}
	foldUncounted(st, p.withFinalizer)
	uncounted := st.UncountedTerminatedPods
	var newIndexes []int
	failing := s.finished != nil && s.finished.Type != batchv1.JobSuccessCriteriaMet
	for _, pod := range pods {
		if !hasTrackingFinalizer(pod) || s.expectedRemovals.Has(pod.UID) {
			continue
		}
		failed := isFailed(pod, job)
		if !s.canRemoveFinalizer(pod, failed) {
			continue
		}
		p.finalize = append(p.finalize, pod)
		switch {
		case pod.Status.Phase == corev1.PodSucceeded && !s.uncountedFailed.Has(pod.UID):
			if indexed {
				if validIndex(pod, job) && !s.prevSucceededIndexes.has(completionIndex(pod)) {
					newIndexes = append(newIndexes, completionIndex(pod))
				}
			} else if !s.uncountedSucceeded.Has(pod.UID) {
				uncounted.Succeeded = append(uncounted.Succeeded, pod.UID)
			}
		case failed || failing:
			// Once a failure criterion is met, every unfinished pod
			// counts as failed (JOB-TRK-06).
			if !s.uncountedFailed.Has(pod.UID) && (!indexed || validIndex(pod, job)) {
				m := matchFailurePolicy(job.Spec.PodFailurePolicy, pod)
				if m.count {
					uncounted.Failed = append(uncounted.Failed, pod.UID)
				}
				f := podFailure{action: m.action}
				if failed {
					f.finishedAt = lastFinish(pod)
				}
				p.failures = append(p.failures, f)
			}
		}
		if len(newIndexes)+len(uncounted.Succeeded)+len(uncounted.Failed) >= maxUncountedPods {
			p.reachedMax = true
			break
		}
	}
	if indexed {
		s.succeededIndexes = s.succeededIndexes.withIndexes(newIndexes)
		st.CompletedIndexes = s.succeededIndexes.String()
		st.Succeeded = int32(s.succeededIndexes.total())
		st.FailedIndexes = nil
		if hasBackoffLimitPerIndex(job) {
			st.FailedIndexes = ptr.To(s.failedIndexes.String())
		}
	}
	switch {
	case s.finished == nil:
	case s.finished.Type == batchv1.JobFailureTarget:
		st.Conditions = append(st.Conditions, *s.finished)
		s.finished = newCondition(batchv1.JobFailed, s.finished.Reason, s.finished.Message, s.now)
	case s.finished.Type == batchv1.JobSuccessCriteriaMet:
		if conditionTrue(st.Conditions, batchv1.JobSuccessCriteriaMet) == nil {
			st.Conditions = append(st.Conditions, *s.finished)
		}
		s.finished = newCondition(batchv1.JobComplete, s.finished.Reason, s.finished.Message, s.now)
	}
	p.terminal = s.finished
}

// canRemoveFinalizer: the Job is being deleted or has met a criterion, the
// pod succeeded, or it failed and is not the last failed pod of an index
// awaiting its replacement (JOB-TRK-05, JOB-BLI-09).
func (s *syncState) canRemoveFinalizer(pod *corev1.Pod, failed bool) bool {
	if s.job.DeletionTimestamp != nil || s.finished != nil || pod.Status.Phase == corev1.PodSucceeded {
		return true
	}
	if !failed {
		return false
	}
	if hasBackoffLimitPerIndex(s.job) {
		if ix := completionIndex(pod); ix != noIndex {
			if d, ok := s.delayed[ix]; ok && d.UID == pod.UID {
				return false
			}
		}
	}
	return true
}

// foldUncounted moves the uncounted UIDs of pods that no longer carry the
// finalizer into the counters (JOB-TRK-03 step 3). It reports a change.
func foldUncounted(st *batchv1.JobStatus, withFinalizer sets.Set[types.UID]) bool {
	u := st.UncountedTerminatedPods
	changed := false
	if kept := keep(u.Succeeded, withFinalizer); len(kept) != len(u.Succeeded) {
		st.Succeeded += int32(len(u.Succeeded) - len(kept))
		u.Succeeded, changed = kept, true
	}
	if kept := keep(u.Failed, withFinalizer); len(kept) != len(u.Failed) {
		st.Failed += int32(len(u.Failed) - len(kept))
		u.Failed, changed = kept, true
	}
	return changed
}

func keep(uids []types.UID, in sets.Set[types.UID]) []types.UID {
	var out []types.UID
	for _, uid := range uids {
		if in.Has(uid) {
			out = append(out, uid)
		}
	}
	return out
}

// settle is the status after the finalizers of removed pods are gone: their
// UIDs are folded into the counters and, when nothing is uncounted or
// terminating, the terminal condition is added (JOB-COND-02, JOB-COND-03,
// JOB-COND-09, JOB-PRP-04). It reports whether st changed and whether the
// Job finished.
func (p *plan) settle(st *batchv1.JobStatus, removed sets.Set[types.UID]) (changed, done bool) {
	left := p.withFinalizer.Difference(removed)
	changed = foldUncounted(st, left)
	if p.terminal == nil || p.reachedMax {
		return changed, false
	}
	u := st.UncountedTerminatedPods
	if len(u.Succeeded)+len(u.Failed) > 0 || ptr.Deref(st.Terminating, 0) > 0 {
		return changed, false
	}
	t := p.terminal
	ensureCondition(st, t.Type, t.Status, t.Reason, t.Message, t.LastTransitionTime.Time)
	if t.Type == batchv1.JobComplete {
		st.CompletionTime = ptr.To(t.LastTransitionTime)
	}
	return true, true
}

// final is the status a sync ends with when every write succeeds.
func (p *plan) final() batchv1.JobStatus {
	st := *p.job.Status.DeepCopy()
	removed := sets.New[types.UID]()
	for _, pod := range p.finalize {
		removed.Insert(pod.UID)
	}
	p.settle(&st, removed)
	return st
}

// terminalEvents are recorded once the terminal condition is written
// (JOB-EVT-02, JOB-COND-12).
func (p *plan) terminalEvents() []event {
	job, t := p.job, p.terminal
	if t.Type != batchv1.JobComplete {
		return []event{warning(t.Reason, t.Message)}
	}
	var out []event
	if job.Spec.Completions != nil && job.Status.Succeeded > *job.Spec.Completions {
		out = append(out, warning(reasonTooManySucceeded, msgTooManySucceeded))
	}
	return append(out, normal(reasonCompleted, msgCompleted))
}

func statusChanged(a, b *batchv1.JobStatus) bool { return !apiequality.Semantic.DeepEqual(*a, *b) }

func newCondition(t batchv1.JobConditionType, reason, message string, now time.Time) *batchv1.JobCondition {
	return &batchv1.JobCondition{
		Type:               t,
		Status:             corev1.ConditionTrue,
		LastProbeTime:      metav1.NewTime(now),
		LastTransitionTime: metav1.NewTime(now),
		Reason:             reason,
		Message:            message,
	}
}

// ensureCondition sets or appends a condition; it never appends a False
// one (JOB-SUS-04). It reports a change.
func ensureCondition(st *batchv1.JobStatus, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) bool {
	if c := findCondition(st.Conditions, t); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == message {
			return false
		}
		*c = *newCondition(t, reason, message, now)
		c.Status = status
		return true
	}
	if status == corev1.ConditionFalse {
		return false
	}
	c := newCondition(t, reason, message, now)
	c.Status = status
	st.Conditions = append(st.Conditions, *c)
	return true
}
