package jobtest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Poll and Timeout bound every Await.
const (
	Poll    = 20 * time.Millisecond
	Timeout = 30 * time.Second
)

// Await polls cond until it reports done, failing the test with the last
// state cond described when Timeout passes.
func Await(t testing.TB, what string, cond func(ctx context.Context) (done bool, state string, err error)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), Poll, Timeout, true, func(ctx context.Context) (bool, error) {
		done, state, err := cond(ctx)
		last = state
		return done, err
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; last seen: %s", what, err, last)
	}
}

// AwaitJob waits until the Job satisfies ok and returns it.
func AwaitJob(t testing.TB, c kubernetes.Interface, job *batchv1.Job, what string, ok func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var got *batchv1.Job
	Await(t, job.Name+" "+what, func(ctx context.Context) (bool, string, error) {
		j, err := c.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		got = j
		return ok(j), DescribeStatus(j), nil
	})
	return got
}

// AwaitPods waits until the Job's pods satisfy ok and returns them.
func AwaitPods(t testing.TB, c kubernetes.Interface, job *batchv1.Job, what string, ok func([]*corev1.Pod) bool) []*corev1.Pod {
	t.Helper()
	var got []*corev1.Pod
	Await(t, job.Name+" pods "+what, func(ctx context.Context) (bool, string, error) {
		pods, err := PodsOf(ctx, c, job)
		if err != nil {
			return false, err.Error(), nil
		}
		got = pods
		return ok(pods), DescribePods(pods), nil
	})
	return got
}

// AwaitActive waits for exactly n active pods of the Job and returns them.
func AwaitActive(t testing.TB, c kubernetes.Interface, job *batchv1.Job, n int) []*corev1.Pod {
	t.Helper()
	var active []*corev1.Pod
	AwaitPods(t, c, job, fmt.Sprintf("%d active", n), func(pods []*corev1.Pod) bool {
		active = Active(pods)
		return len(active) == n
	})
	return active
}

// PodsOf lists the pods controlled by the Job, oldest first.
func PodsOf(ctx context.Context, c kubernetes.Interface, job *batchv1.Job) ([]*corev1.Pod, error) {
	list, err := c.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*corev1.Pod
	for i := range list.Items {
		p := &list.Items[i]
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == job.UID {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return rv(a.ResourceVersion) - rv(b.ResourceVersion)
	})
	return out, nil
}

func rv(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// Active returns the pods neither finished nor being deleted.
func Active(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

// Index returns a pod's completion index annotation, -1 if none.
func Index(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// ByIndex returns the active pod holding index ix, or nil.
func ByIndex(pods []*corev1.Pod, ix int) *corev1.Pod {
	for _, p := range Active(pods) {
		if Index(p) == ix {
			return p
		}
	}
	return nil
}

// Condition returns the Job's condition of type t, or nil.
func Condition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if job.Status.Conditions[i].Type == t {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

// Has reports whether the Job has condition t with status True.
func Has(job *batchv1.Job, t batchv1.JobConditionType) bool {
	c := Condition(job, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// Complete and Failed are AwaitJob predicates.
func Complete(job *batchv1.Job) bool { return Has(job, batchv1.JobComplete) }
func Failed(job *batchv1.Job) bool   { return Has(job, batchv1.JobFailed) }

// ConditionTypes lists the Job's condition types in order, with status
// and reason: "SuccessCriteriaMet=True/CompletionsReached".
func ConditionTypes(job *batchv1.Job) []string {
	var out []string
	for _, c := range job.Status.Conditions {
		out = append(out, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	return out
}

// DescribeStatus summarises a Job's status for failure messages.
func DescribeStatus(j *batchv1.Job) string {
	s := j.Status
	var ready, term int32
	if s.Ready != nil {
		ready = *s.Ready
	}
	if s.Terminating != nil {
		term = *s.Terminating
	}
	u := ""
	if s.UncountedTerminatedPods != nil {
		u = fmt.Sprintf("%d/%d", len(s.UncountedTerminatedPods.Succeeded), len(s.UncountedTerminatedPods.Failed))
	}
	failedIx := "<nil>"
	if s.FailedIndexes != nil {
		failedIx = strconv.Quote(*s.FailedIndexes)
	}
	return fmt.Sprintf("active=%d ready=%d terminating=%d succeeded=%d failed=%d uncounted=%s completed=%q failedIndexes=%s start=%v conditions=%v",
		s.Active, ready, term, s.Succeeded, s.Failed, u, s.CompletedIndexes, failedIx, s.StartTime != nil, ConditionTypes(j))
}

// DescribePods summarises pods for failure messages.
func DescribePods(pods []*corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "%s(%s del=%v fin=%v ix=%d) ", p.Name, p.Status.Phase, p.DeletionTimestamp != nil, len(p.Finalizers) > 0, Index(p))
	}
	return b.String()
}

// Events lists the events recorded on the Job, in the order they were
// created.
func Events(ctx context.Context, c kubernetes.Interface, job *batchv1.Job) ([]corev1.Event, error) {
	list, err := c.CoreV1().Events(job.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.uid=" + string(job.UID)})
	if err != nil {
		return nil, err
	}
	out := list.Items
	slices.SortStableFunc(out, func(a, b corev1.Event) int { return rv(a.ResourceVersion) - rv(b.ResourceVersion) })
	return out, nil
}

// AwaitEvent waits for an event with this reason on the Job whose message
// contains msg, and returns the Job's events.
func AwaitEvent(t testing.TB, c kubernetes.Interface, job *batchv1.Job, reason, msg string) []corev1.Event {
	t.Helper()
	var got []corev1.Event
	Await(t, fmt.Sprintf("event %s %q on %s", reason, msg, job.Name), func(ctx context.Context) (bool, string, error) {
		evs, err := Events(ctx, c, job)
		if err != nil {
			return false, err.Error(), nil
		}
		got = evs
		var seen []string
		for _, e := range evs {
			seen = append(seen, e.Reason+": "+e.Message)
			if e.Reason == reason && strings.Contains(e.Message, msg) {
				return true, "", nil
			}
		}
		return false, strings.Join(seen, "; "), nil
	})
	return got
}

// Reasons lists event reasons in order.
func Reasons(evs []corev1.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Reason)
	}
	return out
}

// Create creates the Job and returns it as stored.
func Create(t testing.TB, c kubernetes.Interface, job *batchv1.Job) *batchv1.Job {
	t.Helper()
	got, err := c.BatchV1().Jobs(job.Namespace).Create(t.Context(), job, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating job %s: %v", job.Name, err)
	}
	return got
}

// Update reads the Job, applies change and writes it back, retrying
// conflicts.
func Update(t testing.TB, c kubernetes.Interface, job *batchv1.Job, change func(*batchv1.Job)) *batchv1.Job {
	t.Helper()
	var got *batchv1.Job
	Await(t, "updating job "+job.Name, func(ctx context.Context) (bool, string, error) {
		cur, err := c.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		change(cur)
		got, err = c.BatchV1().Jobs(job.Namespace).Update(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			return false, err.Error(), nil
		}
		return err == nil, "", err
	})
	return got
}

// AwaitJobWithin is AwaitJob with a deadline other than Timeout.
func AwaitJobWithin(t testing.TB, c kubernetes.Interface, job *batchv1.Job, what string, timeout time.Duration, ok func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var got *batchv1.Job
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		j, err := c.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		got, last = j, DescribeStatus(j)
		return ok(j), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s %s: %v; last seen: %s", job.Name, what, err, last)
	}
	return got
}
