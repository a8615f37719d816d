package jobrun

import (
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// state is what a Job is doing, as the progress view and summary show it.
type state string

const (
	statePending    state = "Pending"    // no pod active yet
	stateRunning    state = "Running"    // pods active
	stateBackoff    state = "BackOff"    // pods failed; waiting to retry
	stateSuspended  state = "Suspended"  // spec.suspend
	stateCompleting state = "Completing" // SuccessCriteriaMet: waiting for pods to end
	stateFailing    state = "Failing"    // FailureTarget: waiting for pods to end
	stateComplete   state = "Complete"
	stateFailed     state = "Failed"
)

// finished reports whether s is terminal.
func (s state) finished() bool { return s == stateComplete || s == stateFailed }

// Upstream's pod failure backoff (JOB-BO-04): 10 s doubling per failure
// since the last success, capped at 10 min. The progress view estimates
// the wait with it; the Job controller alone decides.
const (
	podFailureBackoff    = 10 * time.Second
	maxPodFailureBackoff = 10 * time.Minute
)

// jobState is what the follower knows of one Job: the latest version seen
// and every pod of it seen, including deleted ones.
type jobState struct {
	display   string // "job/pi"
	namespace string
	name      string
	uid       types.UID
	job       *batchv1.Job // nil until seen
	pods      map[types.UID]*podRecord
	start     time.Time // when following began
	end       time.Time // when a terminal condition was first seen
}

// podRecord is what the follower remembers of one pod of a Job.
type podRecord struct {
	name  string
	last  *corev1.Pod // the latest version seen (shared with the informer's cache)
	index int         // completion index; -1 for NonIndexed Jobs
	phase corev1.PodPhase
	gone  bool // deleted, or being deleted
	// finishedAt is when a terminal pod finished: its containers' latest
	// finishedAt, else when the follower saw it end.
	finishedAt time.Time
	// firstSeen and failedSeen order events: the follower's event count
	// when the pod was first seen, and when it was first seen Failed.
	firstSeen, failedSeen uint64
}

// progress is one Job's state for display, computed by progressOf.
type progress struct {
	display     string
	seen        bool // the Job has been seen at all
	state       state
	reason      string // of the terminal (or FailureTarget) condition
	message     string
	completions *int32
	succeeded   int32
	failed      int32
	active      int32
	ready       int32
	indexes     string // per-index states; Indexed Jobs only
	retries     int
	backoff     time.Duration // delay before the next retry, in BackOff
	retryAt     time.Time     // when that delay ends, in BackOff
	start, end  time.Time     // end is zero until finished
}

// progressOf computes a Job's progress from what was seen of it.
func progressOf(j *jobState) progress {
	p := progress{display: j.display, state: statePending, start: j.start, end: j.end}
	job := j.job
	if job == nil {
		return p
	}
	p.seen = true
	st := job.Status
	p.completions = job.Spec.Completions
	p.succeeded, p.failed, p.active = st.Succeeded, st.Failed, st.Active
	if st.Ready != nil {
		p.ready = *st.Ready
	}
	pods := sortedPods(j.pods)
	p.retries = retries(pods)
	if job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion && job.Spec.Completions != nil {
		p.indexes = indexString(int(*job.Spec.Completions), st.CompletedIndexes, failedIndexes(st), pods)
	}
	if c := terminalCondition(job); c != nil {
		p.state, p.reason, p.message = state(c.Type), c.Reason, c.Message
		return p
	}
	if c := condition(job, batchv1.JobFailureTarget); c != nil {
		p.state, p.reason, p.message = stateFailing, c.Reason, c.Message
		return p
	}
	if c := condition(job, batchv1.JobSuccessCriteriaMet); c != nil {
		p.state, p.reason, p.message = stateCompleting, c.Reason, c.Message
		return p
	}
	if job.Spec.Suspend != nil && *job.Spec.Suspend {
		p.state = stateSuspended
		return p
	}
	if n, last := failuresSinceSuccess(pods); n > 0 && st.Active == 0 && !anyLive(pods) && !pastBackoffLimit(job, pods) {
		p.state = stateBackoff
		p.backoff = backoffDelay(n)
		p.retryAt = last.Add(p.backoff)
		return p
	}
	if st.Active > 0 || anyLive(pods) {
		p.state = stateRunning
	}
	return p
}

// terminalCondition is the Job's true Complete or Failed condition.
func terminalCondition(job *batchv1.Job) *batchv1.JobCondition {
	if c := condition(job, batchv1.JobComplete); c != nil {
		return c
	}
	return condition(job, batchv1.JobFailed)
}

func condition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		c := &job.Status.Conditions[i]
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func failedIndexes(st batchv1.JobStatus) string {
	if st.FailedIndexes == nil {
		return ""
	}
	return *st.FailedIndexes
}

// sortedPods orders pods by when they were first seen.
func sortedPods(m map[types.UID]*podRecord) []*podRecord {
	pods := make([]*podRecord, 0, len(m))
	for _, p := range m {
		pods = append(pods, p)
	}
	slices.SortFunc(pods, func(a, b *podRecord) int { return compareUint(a.firstSeen, b.firstSeen) })
	return pods
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func terminal(p corev1.PodPhase) bool { return p == corev1.PodSucceeded || p == corev1.PodFailed }

// anyLive reports whether a pod is still pending or running.
func anyLive(pods []*podRecord) bool {
	return slices.ContainsFunc(pods, func(p *podRecord) bool { return !p.gone && !terminal(p.phase) })
}

// retries counts failed pods that were replaced: a pod of the same Job
// (of the same index, for Indexed Jobs) was first seen after the failure.
// The Job controller creates a replacement only after it has seen the
// failure, and the follower sees events in the server's order.
func retries(pods []*podRecord) int {
	n := 0
	for _, f := range pods {
		if f.failedSeen == 0 {
			continue
		}
		if slices.ContainsFunc(pods, func(p *podRecord) bool {
			return p.firstSeen > f.failedSeen && p.index == f.index
		}) {
			n++
		}
	}
	return n
}

// failuresSinceSuccess counts the pods that failed after the last one that
// succeeded, and when the last of them finished, as the Job controller's
// backoff does (JOB-BO-02).
func failuresSinceSuccess(pods []*podRecord) (int, time.Time) {
	var lastSuccess, lastFailure time.Time
	for _, p := range pods {
		if p.phase == corev1.PodSucceeded && p.finishedAt.After(lastSuccess) {
			lastSuccess = p.finishedAt
		}
	}
	n := 0
	for _, p := range pods {
		if p.phase == corev1.PodFailed && p.finishedAt.After(lastSuccess) {
			n++
			if p.finishedAt.After(lastFailure) {
				lastFailure = p.finishedAt
			}
		}
	}
	return n, lastFailure
}

// pastBackoffLimit reports whether more pods failed than spec.backoffLimit
// allows: the Job is about to fail, not to retry.
func pastBackoffLimit(job *batchv1.Job, pods []*podRecord) bool {
	if job.Spec.BackoffLimit == nil || job.Spec.BackoffLimitPerIndex != nil {
		return false
	}
	failed := 0
	for _, p := range pods {
		if p.phase == corev1.PodFailed {
			failed++
		}
	}
	return failed > int(*job.Spec.BackoffLimit)
}

// backoffDelay is the wait after n consecutive failures.
func backoffDelay(n int) time.Duration {
	d := podFailureBackoff
	for i := 1; i < n && d < maxPodFailureBackoff; i++ {
		d *= 2
	}
	return min(d, maxPodFailureBackoff)
}

// Per-index states in the compact string of an Indexed Job.
const (
	indexWaiting   = '.' // no pod yet
	indexPending   = '~' // pod created, not running
	indexRunning   = '>' // pod running
	indexRetrying  = '!' // pod failed, replacement not started
	indexSucceeded = '+' // in status.completedIndexes
	indexFailed    = 'x' // in status.failedIndexes
)

// maxIndexChars is the widest per-index string shown one character per
// index; longer ones are run-length encoded.
const maxIndexChars = 64

// indexString renders one character per completion index.
func indexString(n int, completed, failed string, pods []*podRecord) string {
	if n <= 0 {
		return ""
	}
	s := make([]byte, n)
	for i := range s {
		s[i] = indexWaiting
	}
	for _, p := range pods { // oldest first: a newer pod's state wins
		if p.index < 0 || p.index >= n {
			continue
		}
		switch {
		case p.phase == corev1.PodFailed:
			s[p.index] = indexRetrying
		case p.phase == corev1.PodSucceeded:
			s[p.index] = indexSucceeded
		case p.gone:
		case p.phase == corev1.PodRunning:
			s[p.index] = indexRunning
		default:
			s[p.index] = indexPending
		}
	}
	for _, i := range parseIndexes(failed, n) {
		s[i] = indexFailed
	}
	for _, i := range parseIndexes(completed, n) {
		s[i] = indexSucceeded
	}
	if n <= maxIndexChars {
		return string(s)
	}
	return runLength(s)
}

// runLength writes "40+ 3> 57." for forty '+', three '>', fifty-seven '.'.
func runLength(s []byte) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(j - i))
		b.WriteByte(s[i])
		i = j
	}
	return b.String()
}

// parseIndexes parses the interval syntax of status.completedIndexes
// ("1,3-5") into the indexes below n. Malformed parts are skipped: the
// string is only shown, never acted on.
func parseIndexes(s string, n int) []int {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := max(a, 0); i <= b && i < n; i++ {
			out = append(out, i)
		}
	}
	return out
}
