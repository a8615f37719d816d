package ttl_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

// env is one test's cluster, with the TTL controller on a fake clock and
// no Job controller unless asked: the test finishes Jobs through their
// status.
type env struct {
	cluster *clustertest.Cluster
	c       kubernetes.Interface
	ns      string
	fc      *testingclock.FakeClock
}

var nsSeq atomic.Int64

func start(t *testing.T, opts ...clustertest.Option) *env {
	t.Helper()
	t.Parallel()
	fc := testingclock.NewFakeClock(time.Now().Truncate(time.Second))
	opts = append([]clustertest.Option{clustertest.WithTTLClock(fc), clustertest.WithoutJobController()}, opts...)
	e := &env{cluster: clustertest.Start(t, opts...), fc: fc}
	e.connect(t)
	return e
}

func (e *env) connect(t *testing.T) {
	t.Helper()
	cfg := e.cluster.Config()
	cfg.QPS = -1
	c, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	e.c = c
	if e.ns != "" {
		return
	}
	e.ns = fmt.Sprintf("ttl%d", nsSeq.Add(1))
	_, err = c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{})
	must(t, err)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// create creates a Job with the given TTL (nil: none).
func (e *env) create(t *testing.T, name string, ttl *int32, opts ...jobtest.Option) *batchv1.Job {
	t.Helper()
	job := jobtest.New(name, append([]jobtest.Option{jobtest.Namespace(e.ns)}, opts...)...)
	job.Spec.TTLSecondsAfterFinished = ttl
	return jobtest.Create(t, e.c, job)
}

// finish marks the Job finished at the given time.
func (e *env) finish(t *testing.T, job *batchv1.Job, complete bool, at time.Time) {
	t.Helper()
	_, err := jobtest.Finish(t.Context(), e.c, job, complete, at)
	must(t, err)
}

// settle gives the controller time to see what the test just did before
// the clock moves.
func settle() { time.Sleep(300 * time.Millisecond) }

func (e *env) exists(t *testing.T, job *batchv1.Job) bool {
	t.Helper()
	_, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), job.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	must(t, err)
	return true
}

// stays checks for a while that the Job is still there.
func (e *env) stays(t *testing.T, job *batchv1.Job, why string) {
	t.Helper()
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if !e.exists(t, job) {
			t.Fatalf("job %s deleted: %s", job.Name, why)
		}
		time.Sleep(jobtest.Poll)
	}
}

func (e *env) awaitGone(t *testing.T, job *batchv1.Job) {
	t.Helper()
	jobtest.Await(t, job.Name+" deleted", func(ctx context.Context) (bool, string, error) {
		_, err := e.c.BatchV1().Jobs(e.ns).Get(ctx, job.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err), nil
	})
}

// JOB-TTL-01 JOB-TTL-02 JOB-TTL-04: the TTL counts from the finish time of
// a Complete or Failed Job, and the Job is looked at again when it
// expires, on the controller's clock, not before.
func TestExpiry(t *testing.T) {
	e := start(t)
	done := e.create(t, "done", ptr.To[int32](60))
	failed := e.create(t, "failed", ptr.To[int32](30))
	now := e.fc.Now()
	e.finish(t, done, true, now)
	e.finish(t, failed, false, now)
	settle()

	e.fc.SetTime(now.Add(29 * time.Second))
	e.stays(t, failed, "29 s of a 30 s TTL")
	e.fc.SetTime(now.Add(30 * time.Second))
	e.awaitGone(t, failed)
	e.fc.SetTime(now.Add(59 * time.Second))
	e.stays(t, done, "59 s of a 60 s TTL")
	e.fc.SetTime(now.Add(60 * time.Second))
	e.awaitGone(t, done)
}

// JOB-TTL-02: completionTime is not the finish time.
func TestFinishTimeIsTheCondition(t *testing.T) {
	e := start(t)
	job := e.create(t, "late", ptr.To[int32](10))
	now := e.fc.Now()
	// The Job completed (completionTime) long ago but its condition came
	// only now, as when a controller was down.
	cur, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), job.Name, metav1.GetOptions{})
	must(t, err)
	long := metav1.NewTime(now.Add(-time.Hour))
	when := metav1.NewTime(now)
	cur.Status.StartTime = &long
	cur.Status.CompletionTime = &long
	cur.Status.Succeeded = 1
	cur.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: when},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: when},
	}
	_, err = e.c.BatchV1().Jobs(e.ns).UpdateStatus(t.Context(), cur, metav1.UpdateOptions{})
	must(t, err)
	settle()
	e.stays(t, job, "finished 0 s ago by its condition, an hour ago by completionTime")
	e.fc.SetTime(now.Add(10 * time.Second))
	e.awaitGone(t, job)
}

// JOB-TTL-04: the TTL is mutable; a change is honoured at the next
// evaluation, later or sooner.
func TestTTLChange(t *testing.T) {
	e := start(t)
	raised := e.create(t, "raised", ptr.To[int32](60))
	lowered := e.create(t, "lowered", ptr.To[int32](3600))
	now := e.fc.Now()
	e.finish(t, raised, true, now)
	e.finish(t, lowered, true, now)
	settle()
	jobtest.Update(t, e.c, raised, func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr.To[int32](120) })
	e.fc.SetTime(now.Add(30 * time.Second))
	jobtest.Update(t, e.c, lowered, func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr.To[int32](10) })
	e.awaitGone(t, lowered) // expired 20 s ago under the new TTL
	settle()
	e.fc.SetTime(now.Add(60 * time.Second))
	e.stays(t, raised, "the old TTL passed, the new one did not")
	e.fc.SetTime(now.Add(120 * time.Second))
	e.awaitGone(t, raised)
}

// JOB-TTL-05 JOB-TTL-01: a TTL of 0 deletes the Job as it finishes; without
// a TTL, or unfinished, a Job stays forever.
func TestZeroAndUnsetTTL(t *testing.T) {
	e := start(t)
	zero := e.create(t, "zero", ptr.To[int32](0))
	unset := e.create(t, "unset", nil)
	running := e.create(t, "running", ptr.To[int32](0))
	e.finish(t, unset, true, e.fc.Now())
	e.finish(t, zero, true, e.fc.Now())
	e.awaitGone(t, zero)
	e.fc.Step(365 * 24 * time.Hour)
	e.stays(t, unset, "no TTL")
	e.stays(t, running, "not finished")
}

// JOB-TTL-06: a finish time in the future (clock skew) only defers the
// deletion; a terminal condition without lastTransitionTime is an error,
// retried until the condition gets one.
func TestSkewAndMissingTransitionTime(t *testing.T) {
	e := start(t)
	future := e.create(t, "future", ptr.To[int32](0))
	now := e.fc.Now()
	e.finish(t, future, false, now.Add(time.Minute))
	settle()
	e.stays(t, future, "finished a minute from now")
	e.fc.SetTime(now.Add(time.Minute))
	e.awaitGone(t, future)

	undated := e.create(t, "undated", ptr.To[int32](0))
	cur, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), undated.Name, metav1.GetOptions{})
	must(t, err)
	start := metav1.NewTime(now)
	cur.Status.StartTime = &start
	cur.Status.Failed = 1
	cur.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue},
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue},
	}
	got, err := e.c.BatchV1().Jobs(e.ns).UpdateStatus(t.Context(), cur, metav1.UpdateOptions{})
	must(t, err)
	if lt := got.Status.Conditions[1].LastTransitionTime; !lt.IsZero() {
		t.Skipf("the API server filled in lastTransitionTime (%v); nothing to test", lt)
	}
	e.fc.Step(time.Hour)
	e.stays(t, undated, "no finish time")
	got.Status.Conditions[1].LastTransitionTime = metav1.NewTime(now)
	_, err = e.c.BatchV1().Jobs(e.ns).UpdateStatus(t.Context(), got, metav1.UpdateOptions{})
	must(t, err)
	e.awaitGone(t, undated)
}

// JOB-TTL-07: the TTL applies to every Job, a CronJob's and one managed
// by another controller too, and the controller records no events.
func TestAppliesToEveryJobWithoutEvents(t *testing.T) {
	e := start(t, clustertest.WithoutCronJobController())
	cj, err := e.c.BatchV1().CronJobs(e.ns).Create(t.Context(), &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 0 * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: jobtest.New("x").Spec,
		}},
	}, metav1.CreateOptions{})
	must(t, err)
	child := e.create(t, "child", ptr.To[int32](5), func(j *batchv1.Job) {
		j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr.To(true)}}
	})
	external := e.create(t, "external", ptr.To[int32](5), jobtest.ManagedBy("example.com/queue"))
	now := e.fc.Now()
	e.finish(t, child, true, now)
	e.finish(t, external, false, now)
	settle()
	e.fc.SetTime(now.Add(5 * time.Second))
	e.awaitGone(t, child)
	e.awaitGone(t, external)
	evs, err := e.c.CoreV1().Events(e.ns).List(t.Context(), metav1.ListOptions{})
	must(t, err)
	for _, ev := range evs.Items {
		if ev.Source.Component == "ttl-after-finished-controller" || ev.ReportingController == "ttl-after-finished-controller" {
			t.Errorf("event from the TTL controller: %s %s", ev.Reason, ev.Message)
		}
	}
}

// JOB-TTL-03 JOB-EX-08: at expiry the Job is deleted in the foreground
// with a precondition on its UID: the Job stays, marked for deletion,
// until its dependents are gone (its pods, here held by a finalizer), and
// then goes.
func TestForegroundDeletion(t *testing.T) {
	e := start(t)
	job := e.create(t, "fg", ptr.To[int32](0))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "fg-pod", Namespace: e.ns, Finalizers: []string{"batchd.test/hold"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: job.Spec.Template.Spec,
	}
	_, err := e.c.CoreV1().Pods(e.ns).Create(t.Context(), pod, metav1.CreateOptions{})
	must(t, err)
	// The garbage collector waits for the dependents it knows of: let it
	// see the pod before the Job expires.
	settle()
	e.finish(t, job, true, e.fc.Now())
	jobtest.Await(t, "the Job being deleted in the foreground", func(ctx context.Context) (bool, string, error) {
		j, err := e.c.BatchV1().Jobs(e.ns).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return j.DeletionTimestamp != nil && slices.Contains(j.Finalizers, metav1.FinalizerDeleteDependents), fmt.Sprint(j.Finalizers), nil
	})
	jobtest.Await(t, "the pod being deleted", func(ctx context.Context) (bool, string, error) {
		p, err := e.c.CoreV1().Pods(e.ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return p.DeletionTimestamp != nil, "", nil
	})
	if !e.exists(t, job) {
		t.Fatal("the Job went before its pod")
	}
	p, err := e.c.CoreV1().Pods(e.ns).Get(t.Context(), pod.Name, metav1.GetOptions{})
	must(t, err)
	p.Finalizers = nil
	_, err = e.c.CoreV1().Pods(e.ns).Update(t.Context(), p, metav1.UpdateOptions{})
	must(t, err)
	e.awaitGone(t, job)
}

// JOB-TTL-03 JOB-EX-08: with the Job controller and a node stand-in, a
// Job with a TTL runs, completes, and is deleted when the TTL passes; its
// pod is deleted before the Job.
func TestRealJob(t *testing.T) {
	t.Parallel()
	fc := testingclock.NewFakeClock(time.Now().Truncate(time.Second))
	e := &env{cluster: clustertest.Start(t, clustertest.WithTTLClock(fc), clustertest.WithJobClock(fc)), fc: fc}
	e.connect(t)
	node := &jobtest.Node{Client: e.c, Clock: fc}
	job := e.create(t, "real", ptr.To[int32](30))
	pods := jobtest.AwaitActive(t, e.c, job, 1)

	w, err := e.c.CoreV1().Pods(e.ns).Watch(t.Context(), metav1.ListOptions{})
	must(t, err)
	jw, err := e.c.BatchV1().Jobs(e.ns).Watch(t.Context(), metav1.ListOptions{})
	must(t, err)
	var mu sync.Mutex
	var order []string
	record := func(w watch.Interface, what string) {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Deleted {
				mu.Lock()
				order = append(order, what)
				mu.Unlock()
			}
		}
	}
	go record(w, "pod")
	go record(jw, "job")
	t.Cleanup(func() { w.Stop(); jw.Stop() })

	must(t, node.Succeed(t.Context(), pods[0]))
	jobtest.AwaitJob(t, e.c, job, "complete", jobtest.Complete)
	settle()
	fc.Step(29 * time.Second)
	e.stays(t, job, "29 s of a 30 s TTL")
	fc.Step(time.Second)
	e.awaitGone(t, job)
	jobtest.Await(t, "deletions seen", func(context.Context) (bool, string, error) {
		mu.Lock()
		defer mu.Unlock()
		return len(order) == 2, fmt.Sprint(order), nil
	})
	mu.Lock()
	defer mu.Unlock()
	if order[0] != "pod" || order[1] != "job" {
		t.Errorf("deletion order %v, want the pod before the Job", order)
	}
}

// JOB-TTL-04: the controller keeps no state: after a restart the expiry
// is recomputed from the Job and honoured.
func TestRestartLosesNothing(t *testing.T) {
	e := start(t)
	job := e.create(t, "kept", ptr.To[int32](60))
	now := e.fc.Now()
	e.finish(t, job, true, now)
	settle()
	e.cluster.Restart(t, clustertest.WithTTLClock(e.fc), clustertest.WithoutJobController())
	e.connect(t)
	e.stays(t, job, "before expiry")
	e.fc.SetTime(now.Add(time.Minute))
	e.awaitGone(t, job)
}
