package job

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

const (
	completionIndexEnv = "JOB_COMPLETION_INDEX"
	noIndex            = -1
	// maxGeneratedNameLength is the API server's limit on the generateName
	// prefix it keeps (JOB-POD-06, JOB-IDX-03).
	maxGeneratedNameLength = 58
)

func isIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

func hasBackoffLimitPerIndex(job *batchv1.Job) bool { return job.Spec.BackoffLimitPerIndex != nil }

// interval is a closed range of completion indexes.
type interval struct{ first, last int }

// intervals is an ascending list of disjoint, non-adjacent intervals: the
// form of status.completedIndexes and status.failedIndexes (JOB-IDX-09).
type intervals []interval

// parseIntervals reads "1,3-5,7", keeping indexes below completions and
// skipping corrupt items, as upstream does.
func parseIntervals(s string, completions int) intervals {
	if s == "" {
		return nil
	}
	var out intervals
	for item := range strings.SplitSeq(s, ",") {
		limits := strings.Split(item, "-")
		first, err := strconv.Atoi(limits[0])
		if err != nil {
			continue
		}
		if first >= completions {
			break
		}
		last := first
		if len(limits) > 1 {
			if last, err = strconv.Atoi(limits[1]); err != nil {
				continue
			}
			last = min(last, completions-1)
		}
		if n := len(out); n > 0 && out[n-1].last == first-1 {
			out[n-1].last = last
		} else {
			out = append(out, interval{first, last})
		}
	}
	return out
}

// withIndexes returns the union of iv and the ascending indexes.
func (iv intervals) withIndexes(indexes []int) intervals {
	add := make(intervals, len(indexes))
	for i, x := range indexes {
		add[i] = interval{x, x}
	}
	return iv.merge(add)
}

// merge returns the union of two interval lists.
func (iv intervals) merge(other intervals) intervals {
	var out intervals
	push := func(x interval) {
		n := len(out)
		if n == 0 || x.first > out[n-1].last+1 {
			out = append(out, x)
		} else if out[n-1].last < x.last {
			out[n-1].last = x.last
		}
	}
	i, j := 0, 0
	for i < len(iv) && j < len(other) {
		if iv[i].first < other[j].first {
			push(iv[i])
			i++
		} else {
			push(other[j])
			j++
		}
	}
	for ; i < len(iv); i++ {
		push(iv[i])
	}
	for ; j < len(other); j++ {
		push(other[j])
	}
	return out
}

func (iv intervals) total() int {
	n := 0
	for _, x := range iv {
		n += x.last - x.first + 1
	}
	return n
}

func (iv intervals) has(ix int) bool {
	i, _ := slices.BinarySearchFunc(iv, ix, func(x interval, ix int) int { return cmp.Compare(x.last, ix) })
	return i < len(iv) && iv[i].first <= ix
}

// String writes the upstream form: runs of three or more as "a-b", pairs as
// "a,b" (JOB-IDX-09).
func (iv intervals) String() string {
	var b strings.Builder
	for _, x := range iv {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(x.first))
		switch {
		case x.last == x.first+1:
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(x.last))
		case x.last > x.first:
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(x.last))
		}
	}
	return b.String()
}

// completionIndex reads a pod's index annotation; noIndex when it is
// missing, not an integer or negative (JOB-IDX-07).
func completionIndex(pod *corev1.Pod) int {
	v, ok := pod.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return noIndex
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return noIndex
	}
	return i
}

// validIndex reports whether a pod of an Indexed Job has an index in
// [0, completions).
func validIndex(pod *corev1.Pod, job *batchv1.Job) bool {
	ix := completionIndex(pod)
	return ix != noIndex && ix < int(*job.Spec.Completions)
}

func indexesOf(pods []*corev1.Pod) sets.Set[int] {
	out := sets.New[int]()
	for _, p := range pods {
		if ix := completionIndex(p); ix != noIndex {
			out.Insert(ix)
		}
	}
	return out
}

// succeededIndexes returns status.completedIndexes and that list plus the
// indexes of succeeded pods not yet counted (JOB-IDX-08, JOB-TRK-04).
func succeededIndexes(job *batchv1.Job, pods []*corev1.Pod) (prev, now intervals) {
	completions := int(*job.Spec.Completions)
	prev = parseIntervals(job.Status.CompletedIndexes, completions)
	fresh := sets.New[int]()
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded && validIndex(p, job) && hasTrackingFinalizer(p) {
			fresh.Insert(completionIndex(p))
		}
	}
	return prev, prev.withIndexes(sets.List(fresh))
}

// failedIndexes returns status.failedIndexes plus the indexes that failed
// since (JOB-BLI-03).
func failedIndexes(job *batchv1.Job, pods []*corev1.Pod) intervals {
	completions := int(*job.Spec.Completions)
	var prev intervals
	if job.Status.FailedIndexes != nil {
		prev = parseIntervals(*job.Status.FailedIndexes, completions)
	}
	fresh := sets.New[int]()
	for _, p := range pods {
		if validIndex(p, job) && hasTrackingFinalizer(p) && indexFailed(job, p) {
			fresh.Insert(completionIndex(p))
		}
	}
	return prev.withIndexes(sets.List(fresh))
}

// indexFailed reports whether a pod's failure fails its index: a FailIndex
// rule matched, or the failure counts and the index has used up
// backoffLimitPerIndex (JOB-BLI-03, JOB-PFP-13).
func indexFailed(job *batchv1.Job, pod *corev1.Pod) bool {
	if !isFailed(pod, job) {
		return false
	}
	counted := true
	if job.Spec.PodFailurePolicy != nil {
		m := matchFailurePolicy(job.Spec.PodFailurePolicy, pod)
		if m.action != nil && *m.action == batchv1.PodFailurePolicyActionFailIndex {
			return true
		}
		counted = m.count
	}
	return counted && indexFailureCount(pod) >= *job.Spec.BackoffLimitPerIndex
}

// pendingIndexes returns the lowest count indexes below completions that
// no active pod holds and that have neither succeeded nor failed; with
// podReplacementPolicy Failed, terminating pods hold their index too
// (JOB-IDX-05).
func pendingIndexes(job *batchv1.Job, pods, active []*corev1.Pod, succeeded intervals, failed intervals, count int) []int {
	if count <= 0 {
		return nil
	}
	completions := int(*job.Spec.Completions)
	taken := succeeded.withIndexes(sets.List(indexesOf(active)))
	if onlyReplaceFailed(job) {
		var terminating []*corev1.Pod
		for _, p := range pods {
			if isTerminating(p) {
				terminating = append(terminating, p)
			}
		}
		taken = taken.withIndexes(sets.List(indexesOf(terminating)))
	}
	taken = taken.merge(failed)
	out := make([]int, 0, count)
	candidate := 0
	for _, x := range taken {
		for ; candidate < completions && len(out) < count && candidate < x.first; candidate++ {
			out = append(out, candidate)
		}
		candidate = max(candidate, x.last+1)
	}
	for ; candidate < completions && len(out) < count; candidate++ {
		out = append(out, candidate)
	}
	return out
}

// duplicateIndexPods splits active pods of an Indexed Job into those to
// delete (no valid index, index ≥ completions, or all but the most advanced
// pod of a repeated index) and the rest (JOB-IDX-06).
func duplicateIndexPods(pods []*corev1.Pod, completions int) (rm, left []*corev1.Pod) {
	byIndex := make(map[int][]*corev1.Pod)
	for _, p := range pods {
		ix := completionIndex(p)
		if ix == noIndex || ix >= completions {
			rm = append(rm, p)
			continue
		}
		byIndex[ix] = append(byIndex[ix], p)
	}
	for _, ix := range slices.Sorted(maps.Keys(byIndex)) {
		same := byIndex[ix]
		if len(same) > 1 {
			slices.SortStableFunc(same, removalOrder)
			rm = append(rm, same[:len(same)-1]...)
		}
		left = append(left, same[len(same)-1])
	}
	return rm, left
}

// delayedDeletions returns, per index awaiting a replacement, the last
// failed pod of that index: it keeps its finalizer until the replacement
// exists, so its failure counts can be carried over (JOB-BLI-09).
func delayedDeletions(in *syncState) map[int]*corev1.Pod {
	active := indexesOf(in.active)
	out := make(map[int]*corev1.Pod)
	for _, p := range in.pods {
		if !hasTrackingFinalizer(p) || in.expectedRemovals.Has(p.UID) || !validIndex(p, in.job) || !isFailed(p, in.job) {
			continue
		}
		ix := completionIndex(p)
		if in.succeededIndexes.has(ix) || in.failedIndexes.has(ix) || active.Has(ix) {
			continue
		}
		if last, ok := out[ix]; !ok || (absoluteFailureCount(last) <= absoluteFailureCount(p) && !finishedTime(p).Before(finishedTime(last))) {
			out[ix] = p
		}
	}
	return out
}

// indexFailureCount reads the job-index-failure-count annotation; missing,
// unparsable, negative or too large values read as 0 (JOB-BLI-02).
func indexFailureCount(pod *corev1.Pod) int32 {
	return parseCount(pod.Annotations[batchv1.JobIndexFailureCountAnnotation])
}

func ignoredFailureCount(pod *corev1.Pod) int32 {
	return parseCount(pod.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation])
}

func absoluteFailureCount(pod *corev1.Pod) int32 {
	return indexFailureCount(pod) + ignoredFailureCount(pod)
}

func parseCount(s string) int32 {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > math.MaxInt32 {
		return 0
	}
	return int32(v)
}

// nextFailureCounts are the failure-count annotations of the pod replacing
// failed (JOB-BLI-02); both 0 when there is none.
func nextFailureCounts(job *batchv1.Job, failed *corev1.Pod) (counted, ignored int32) {
	if failed == nil {
		return 0, 0
	}
	counted, ignored = indexFailureCount(failed), ignoredFailureCount(failed)
	if job.Spec.PodFailurePolicy != nil && !matchFailurePolicy(job.Spec.PodFailurePolicy, failed).count {
		return counted, ignored + 1
	}
	return counted + 1, ignored
}

// indexedGenerateName is "<job>-<index>-", cut to 58 characters by
// shortening the Job name (JOB-IDX-03).
func indexedGenerateName(jobName string, index int) string {
	suffix := "-" + strconv.Itoa(index) + "-"
	prefix := jobName + suffix
	if len(prefix) > maxGeneratedNameLength {
		prefix = prefix[:maxGeneratedNameLength-len(suffix)] + suffix
	}
	return prefix
}

// addIndexEnv gives every container and init container JOB_COMPLETION_INDEX
// from the index label, unless it already has the variable (JOB-IDX-04).
func addIndexEnv(spec *corev1.PodSpec) {
	add := func(c *corev1.Container) {
		for _, e := range c.Env {
			if e.Name == completionIndexEnv {
				return
			}
		}
		c.Env = append(c.Env, corev1.EnvVar{
			Name: completionIndexEnv,
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				FieldPath: fmt.Sprintf("metadata.labels['%s']", batchv1.JobCompletionIndexAnnotation),
			}},
		})
	}
	for i := range spec.InitContainers {
		add(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		add(&spec.Containers[i])
	}
}
