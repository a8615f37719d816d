package job

import (
	"maps"
	"slices"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"
)

// Limits per sync (JOB-SYNC-07, JOB-TRK-07).
const (
	maxCreateDeletePerSync = 500
	maxUncountedPods       = 500
)

// input is everything decide reads. Nothing in it is modified.
type input struct {
	job  *batchv1.Job
	pods []*corev1.Pod // the Job's pods after adoption and release
	// satisfied: every pod creation and deletion the controller issued has
	// been observed (JOB-SYNC-06).
	satisfied bool
	// expectedRemovals are pods whose finalizer removal is not yet
	// observed; they count as already counted.
	expectedRemovals sets.Set[types.UID]
	backoff          backoffRecord // the Job's record before this sync
	now              time.Time
	tuning           tuning
}

// tuning holds timings that are constants upstream.
type tuning struct {
	backoffBase, backoffMax time.Duration // pod failure backoff (JOB-BO-04)
	batch                   time.Duration // least requeue for a backoff (JOB-BO-05)
}

var upstreamTuning = tuning{backoffBase: defaultPodFailureBackoff, backoffMax: maxPodFailureBackoff, batch: defaultBatchPeriod}

// plan is everything one sync wants to change. decide computes it from its
// input alone; apply is the only place that writes.
type plan struct {
	// job is a copy of the Job whose status is the first status to write:
	// counters, newly finished pods as uncounted, indexes and any interim
	// condition. orig is the status read, to tell whether it changed.
	job  *batchv1.Job
	orig batchv1.JobStatus

	create    []*corev1.Pod // pods to create, in slow-start batches
	remove    []*corev1.Pod // surplus or suspended: finalizer off, then delete
	terminate []*corev1.Pod // a finish criterion was met: delete, keeping the finalizer

	finalize      []*corev1.Pod         // pods whose tracking finalizer goes after the first write
	withFinalizer sets.Set[types.UID]   // pods still carrying the finalizer before that
	terminal      *batchv1.JobCondition // Complete or Failed, once nothing is uncounted or terminating
	reachedMax    bool                  // the uncounted lists are full; finish in a later sync

	events       []event      // recorded after pod changes, before status writes
	failures     []podFailure // failed pods the first status write records; for metrics
	backoff      backoffRecord
	requeueAfter time.Duration
}

// syncState is decide's working state.
type syncState struct {
	input
	job                *batchv1.Job
	active             []*corev1.Pod
	activeCount        int32
	ready, terminating int32
	succeeded, failed  int32
	uncountedSucceeded sets.Set[types.UID]
	uncountedFailed    sets.Set[types.UID]

	prevSucceededIndexes, succeededIndexes intervals
	failedIndexes                          intervals // nil unless backoffLimitPerIndex is set
	delayed                                map[int]*corev1.Pod
	finished                               *batchv1.JobCondition
}

// decide computes one sync of a Job that is neither finished nor managed
// elsewhere, following upstream's syncJob (spec section 6.1).
func decide(in input) plan {
	job := in.job.DeepCopy()
	st := &job.Status
	p := plan{job: job, orig: *in.job.Status.DeepCopy()}
	if st.UncountedTerminatedPods == nil {
		st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	s := &syncState{input: in, job: job}
	s.active = activePods(in.pods)
	s.activeCount = int32(len(s.active))
	s.ready = countReady(s.active)
	s.terminating = countTerminating(in.pods)
	s.uncountedSucceeded = sets.New(st.UncountedTerminatedPods.Succeeded...)
	s.uncountedFailed = sets.New(st.UncountedTerminatedPods.Failed...)
	newSucceeded, newFailed := s.newlyFinished()
	s.succeeded = st.Succeeded + int32(len(newSucceeded)) + int32(s.uncountedSucceeded.Len())
	s.failed = st.Failed + countedFailures(job, newFailed) + int32(s.uncountedFailed.Len())

	if st.StartTime == nil && !suspended(job) {
		st.StartTime = ptr.To(metav1.NewTime(in.now))
	}
	p.backoff = in.backoff.next(newSucceeded, newFailed)

	s.finishCriteria(&p)

	if s.finished != nil {
		// JOB-COND-02, JOB-COND-08: stop active pods, keeping finalizers so
		// they are counted as failed; keep the criterion only if the cache
		// holds every pod the controller made.
		p.terminate = s.active
		if !in.satisfied {
			s.finished = nil
		}
		s.terminating += s.activeCount
		s.activeCount = 0
		s.ready = 0
	} else {
		managed := false
		if in.satisfied && job.DeletionTimestamp == nil {
			s.manage(&p)
			managed = true
		}
		complete := false
		if job.Spec.Completions == nil {
			complete = s.succeeded > 0 && s.activeCount == 0
		} else {
			complete = s.succeeded >= *job.Spec.Completions && s.activeCount == 0
		}
		switch {
		case complete:
			s.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, msgCompletionsReached, in.now)
		case managed:
			s.reconcileSuspended(&p)
		}
	}

	st.Active = s.activeCount
	st.Ready = ptr.To(s.ready)
	st.Terminating = ptr.To(s.terminating)
	s.track(&p)
	return p
}

// newlyFinished returns the succeeded and failed pods not yet counted: they
// carry the finalizer, are not listed as uncounted and, for Indexed Jobs,
// have a valid index.
func (s *syncState) newlyFinished() (succeeded, failed []*corev1.Pod) {
	for _, p := range s.pods {
		if !hasTrackingFinalizer(p) || s.expectedRemovals.Has(p.UID) {
			continue
		}
		if isIndexed(s.job) && !validIndex(p, s.job) {
			continue
		}
		if p.Status.Phase == corev1.PodSucceeded && !s.uncountedSucceeded.Has(p.UID) {
			succeeded = append(succeeded, p)
		}
		if isFailed(p, s.job) && !s.uncountedFailed.Has(p.UID) {
			failed = append(failed, p)
		}
	}
	return succeeded, failed
}

// finishCriteria looks for a failure or success criterion in upstream's
// order (JOB-COND-05), except the completions criterion, which needs pod
// management first.
func (s *syncState) finishCriteria(p *plan) {
	job, st, now := s.job, &s.job.Status, s.now
	if c := conditionTrue(st.Conditions, batchv1.JobSuccessCriteriaMet); c != nil {
		s.finished = c.DeepCopy()
	}
	if s.finished == nil {
		if c := conditionTrue(st.Conditions, batchv1.JobFailureTarget); c != nil {
			s.finished = newCondition(batchv1.JobFailed, c.Reason, c.Message, now)
		} else if msg := failJobMessage(job, s.pods); msg != nil {
			s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonPodFailurePolicy, *msg, now)
		}
	}
	if s.finished == nil {
		switch {
		case s.failed > *job.Spec.BackoffLimit || pastBackoffLimitOnFailure(job, s.pods):
			s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimitExceeded, now)
		case pastActiveDeadline(job, now):
			s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, msgDeadlineExceeded, now)
		case job.Spec.ActiveDeadlineSeconds != nil && !suspended(job):
			left := time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second - now.Sub(st.StartTime.Time)
			p.requeue(left)
		}
	}
	if !isIndexed(job) {
		return
	}
	s.prevSucceededIndexes, s.succeededIndexes = succeededIndexes(job, s.pods)
	s.succeeded = int32(s.succeededIndexes.total())
	if hasBackoffLimitPerIndex(job) {
		s.failedIndexes = failedIndexes(job, s.pods)
		if s.finished == nil {
			failed := s.failedIndexes.total()
			switch {
			case job.Spec.MaxFailedIndexes != nil && failed > int(*job.Spec.MaxFailedIndexes):
				s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonMaxFailedIndexesExceeded, msgMaxFailedIndexesExceeded, now)
			case failed > 0 && failed+s.succeededIndexes.total() >= int(*job.Spec.Completions):
				s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonFailedIndexes, msgFailedIndexes, now)
			}
		}
		s.delayed = delayedDeletions(s)
	}
	if s.finished == nil {
		if msg, ok := matchSuccessPolicy(job.Spec.SuccessPolicy, *job.Spec.Completions, s.succeededIndexes); ok {
			s.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonSuccessPolicy, msg, now)
		}
	}
}

// manage creates or deletes pods toward the desired number of active pods
// (JOB-POD-01..08, JOB-IDX-05, JOB-IDX-06, JOB-BO-05, JOB-BLI-08).
func (s *syncState) manage(p *plan) {
	job := s.job
	if suspended(job) {
		s.removePods(p, removalCandidates(job, s.active, len(s.active)))
		return
	}
	parallelism := ptr.Deref(job.Spec.Parallelism, 1)
	var want int32
	if job.Spec.Completions == nil {
		want = parallelism
		if s.succeeded > 0 {
			want = s.activeCount
		}
	} else {
		want = max(min(*job.Spec.Completions-s.succeeded, parallelism), 0)
	}
	rm := removalCandidates(job, s.active, int(max(s.activeCount-want, 0)))
	if len(rm) > maxCreateDeletePerSync {
		rm = rm[:maxCreateDeletePerSync]
	}
	if len(rm) > 0 {
		s.removePods(p, rm) // deletion wins over creation (JOB-SYNC-07)
		return
	}
	var terminating int32
	if onlyReplaceFailed(job) {
		terminating = s.terminating
	}
	diff := want - terminating - s.activeCount
	if diff <= 0 {
		return
	}
	if !hasBackoffLimitPerIndex(job) {
		if left := p.backoff.remaining(s.now, s.tuning.backoffBase, s.tuning.backoffMax); left > 0 {
			p.requeue(max(left, s.tuning.batch))
			return
		}
	}
	diff = min(diff, maxCreateDeletePerSync)
	indexes := []int(nil)
	if isIndexed(job) {
		indexes = pendingIndexes(job, s.pods, s.active, s.succeededIndexes, s.failedIndexes, int(diff))
		if hasBackoffLimitPerIndex(job) {
			var now []int
			var least time.Duration
			for _, ix := range indexes {
				left := indexBackoff(s.now, s.tuning.backoffBase, s.tuning.backoffMax, s.delayed[ix])
				switch {
				case left == 0:
					now = append(now, ix)
				case least == 0 || left < least:
					least = left
				}
			}
			if len(now) == 0 && least > 0 {
				p.requeue(max(least, s.tuning.batch))
				return
			}
			indexes = now
		}
		diff = int32(len(indexes))
	}
	p.create = newPods(job, indexes, int(diff), s.delayed)
	s.activeCount += diff
}

func (s *syncState) removePods(p *plan, pods []*corev1.Pod) {
	p.remove = pods
	n := int32(len(pods))
	s.activeCount -= n
	s.terminating += n
	s.ready -= countReady(pods)
}

// removalCandidates picks at least n active pods to delete, and for
// Indexed Jobs every pod whose index is missing, out of range or repeated.
func removalCandidates(job *batchv1.Job, active []*corev1.Pod, n int) []*corev1.Pod {
	var rm, left []*corev1.Pod
	if isIndexed(job) {
		rm, left = duplicateIndexPods(active, int(*job.Spec.Completions))
	} else {
		left = active
	}
	if len(rm) < n {
		left = slices.Clone(left)
		slices.SortStableFunc(left, removalOrder)
		rm = append(rm, left[:n-len(rm)]...)
	}
	return rm
}

// reconcileSuspended keeps the Suspended condition in line with
// spec.suspend (JOB-SUS-01..04, JOB-STAT-01).
func (s *syncState) reconcileSuspended(p *plan) {
	st := &s.job.Status
	if suspended(s.job) {
		if ensureCondition(st, batchv1.JobSuspended, corev1.ConditionTrue, reasonJobSuspended, msgJobSuspended, s.now) {
			p.events = append(p.events, normal(reasonSuspendedEvent, msgJobSuspended))
			st.StartTime = nil
		}
		return
	}
	if ensureCondition(st, batchv1.JobSuspended, corev1.ConditionFalse, reasonJobResumed, msgJobResumed, s.now) {
		p.events = append(p.events, normal(reasonResumedEvent, msgJobResumed))
		st.StartTime = ptr.To(metav1.NewTime(s.now))
	}
}

func (p *plan) requeue(after time.Duration) {
	if after <= 0 {
		after = time.Nanosecond
	}
	if p.requeueAfter == 0 || after < p.requeueAfter {
		p.requeueAfter = after
	}
}

// newPods builds the pods to create from the template (JOB-POD-05, JOB-POD-07,
// JOB-IDX-01..04, JOB-BLI-01, JOB-BLI-02).
func newPods(job *batchv1.Job, indexes []int, n int, delayed map[int]*corev1.Pod) []*corev1.Pod {
	tmpl := job.Spec.Template.DeepCopy()
	if isIndexed(job) {
		addIndexEnv(&tmpl.Spec)
	}
	if !slices.Contains(tmpl.Finalizers, batchv1.JobTrackingFinalizer) {
		tmpl.Finalizers = append(tmpl.Finalizers, batchv1.JobTrackingFinalizer)
	}
	ref := controllerRef(job)
	out := make([]*corev1.Pod, 0, n)
	for i := range n {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Namespace:       job.Namespace,
				GenerateName:    job.Name + "-",
				Labels:          maps.Clone(tmpl.Labels),
				Annotations:     maps.Clone(tmpl.Annotations),
				Finalizers:      slices.Clone(tmpl.Finalizers),
				OwnerReferences: []metav1.OwnerReference{ref},
			},
			Spec: *tmpl.Spec.DeepCopy(),
		}
		if i < len(indexes) {
			ix := indexes[i]
			ixs := strconv.Itoa(ix)
			if pod.Annotations == nil {
				pod.Annotations = make(map[string]string)
			}
			if pod.Labels == nil {
				pod.Labels = make(map[string]string)
			}
			pod.Annotations[batchv1.JobCompletionIndexAnnotation] = ixs
			pod.Labels[batchv1.JobCompletionIndexAnnotation] = ixs
			pod.Spec.Hostname = job.Name + "-" + ixs
			pod.GenerateName = indexedGenerateName(job.Name, ix)
			if hasBackoffLimitPerIndex(job) {
				counted, ignored := nextFailureCounts(job, delayed[ix])
				pod.Annotations[batchv1.JobIndexFailureCountAnnotation] = strconv.Itoa(int(counted))
				if ignored > 0 {
					pod.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(int(ignored))
				}
			}
		}
		out = append(out, pod)
	}
	return out
}

// controllerRef is the ownerReference of the Job's pods (JOB-POD-07).
func controllerRef(job *batchv1.Job) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         batchv1.SchemeGroupVersion.String(),
		Kind:               "Job",
		Name:               job.Name,
		UID:                job.UID,
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}
}

func suspended(job *batchv1.Job) bool { return ptr.Deref(job.Spec.Suspend, false) }

// finished reports whether a Job has Complete=True or Failed=True.
func finished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// managedElsewhere reports whether spec.managedBy names another controller
// (JOB-MB-01, JOB-MB-02).
func managedElsewhere(job *batchv1.Job) bool {
	m := job.Spec.ManagedBy
	return m != nil && *m != batchv1.JobControllerName
}

// pastBackoffLimitOnFailure counts container restarts of pending and
// running pods under restartPolicy OnFailure (JOB-BL-02).
func pastBackoffLimitOnFailure(job *batchv1.Job, pods []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var n int32
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending {
			n += restartCount(p)
		}
	}
	if *job.Spec.BackoffLimit == 0 {
		return n > 0
	}
	return n >= *job.Spec.BackoffLimit
}

// pastActiveDeadline reports whether the Job has been active longer than
// spec.activeDeadlineSeconds allows (JOB-DL-01, JOB-SUS-05).
func pastActiveDeadline(job *batchv1.Job, now time.Time) bool {
	ads, start := job.Spec.ActiveDeadlineSeconds, job.Status.StartTime
	if ads == nil || start == nil || suspended(job) {
		return false
	}
	return now.Sub(start.Time) >= time.Duration(*ads)*time.Second
}
