package cronjob_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

// TestMain lets the cluster tests, which mostly wait on the API server,
// run eight at a time unless -parallel says otherwise.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}

// pad is the controller's wait after a schedule time (CRON-SCHED-08).
const pad = 100 * time.Millisecond

// env is one test's cluster, with the CronJob controller on a fake clock
// the test steps, and a namespace of its own.
type env struct {
	cluster *clustertest.Cluster
	c       kubernetes.Interface
	ns      string
	fc      *testingclock.FakeClock
}

var nsSeq atomic.Int64

// start runs a cluster for the test. Unless jobs is set, no Job controller
// runs: the test finishes Jobs through their status.
func start(t *testing.T, jobs bool, opts ...clustertest.Option) *env {
	t.Helper()
	t.Parallel()
	fc := testingclock.NewFakeClock(time.Now())
	opts = append([]clustertest.Option{clustertest.WithCronJobClock(fc)}, opts...)
	if !jobs {
		opts = append(opts, clustertest.WithoutJobController())
	}
	e := &env{cluster: clustertest.Start(t, opts...), fc: fc}
	e.connect(t)
	return e
}

// connect makes a client and a namespace; it is called again after a
// restart of the cluster, keeping the namespace.
func (e *env) connect(t *testing.T) {
	t.Helper()
	cfg := e.cluster.Config()
	cfg.QPS = -1
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building client: %v", err)
	}
	e.c = c
	if e.ns != "" {
		return
	}
	e.ns = fmt.Sprintf("cj%d", nsSeq.Add(1))
	if _, err := c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", e.ns, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type cjOpt func(*batchv1.CronJob)

// cronJob is a CronJob as `kubectl create cronjob NAME --image=busybox
// --schedule=SCHEDULE -- echo hi` sends it, changed by opts.
func (e *env) cronJob(name, schedule string, opts ...cjOpt) *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyOnFailure,
					Containers:    []corev1.Container{{Name: name, Image: "busybox", Command: []string{"echo", "hi"}}},
				}}},
			},
		},
	}
	for _, o := range opts {
		o(cj)
	}
	return cj
}

func forbid(cj *batchv1.CronJob)  { cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent }
func replace(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent }
func suspend(cj *batchv1.CronJob) { cj.Spec.Suspend = ptr.To(true) }

func deadline(s int64) cjOpt {
	return func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptr.To(s) }
}

func limits(succeeded, failed int32) cjOpt {
	return func(cj *batchv1.CronJob) {
		cj.Spec.SuccessfulJobsHistoryLimit, cj.Spec.FailedJobsHistoryLimit = ptr.To(succeeded), ptr.To(failed)
	}
}

func timeZone(tz string) cjOpt { return func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To(tz) } }

// create creates the CronJob and returns it as stored.
func (e *env) create(t *testing.T, cj *batchv1.CronJob) *batchv1.CronJob {
	t.Helper()
	got, err := e.c.BatchV1().CronJobs(e.ns).Create(t.Context(), cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating cronjob %s: %v", cj.Name, err)
	}
	return got
}

// firstMinute is the first whole minute after the CronJob's creation: the
// first run of an every-minute schedule (CRON-SCHED-07).
func firstMinute(cj *batchv1.CronJob) time.Time {
	return cj.CreationTimestamp.Truncate(time.Minute).Add(time.Minute)
}

// name is the Job name for a schedule time (CRON-JOB-01).
func name(cj *batchv1.CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
}

// stepTo moves the fake clock to t, past which timers fire.
func (e *env) stepTo(t time.Time) { e.fc.SetTime(t) }

// runAt moves the clock to a schedule time plus the controller's padding,
// when its timer fires.
func (e *env) runAt(t time.Time) { e.stepTo(t.Add(pad)) }

// settle gives the controller time to act on what it has seen; it is
// used before a step whose effect depends on the controller having
// already synced, and by negative checks.
func settle() { time.Sleep(300 * time.Millisecond) }

func (e *env) get(t *testing.T, cj *batchv1.CronJob) *batchv1.CronJob {
	t.Helper()
	got, err := e.c.BatchV1().CronJobs(e.ns).Get(t.Context(), cj.Name, metav1.GetOptions{})
	must(t, err)
	return got
}

// update reads the CronJob, changes it and writes it back, retrying
// conflicts with the controller's status writes; it then lets the
// controller see the change before the test steps the clock.
func (e *env) update(t *testing.T, cj *batchv1.CronJob, change func(*batchv1.CronJob)) *batchv1.CronJob {
	t.Helper()
	var got *batchv1.CronJob
	jobtest.Await(t, "updating cronjob "+cj.Name, func(ctx context.Context) (bool, string, error) {
		cur, err := e.c.BatchV1().CronJobs(e.ns).Get(ctx, cj.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		change(cur)
		got, err = e.c.BatchV1().CronJobs(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			return false, err.Error(), nil
		}
		return err == nil, "", err
	})
	settle()
	return got
}

// jobsOf lists the Jobs controlled by the CronJob (by UID), by name.
func jobsOf(ctx context.Context, c kubernetes.Interface, cj *batchv1.CronJob) ([]batchv1.Job, error) {
	list, err := c.BatchV1().Jobs(cj.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []batchv1.Job
	for _, j := range list.Items {
		if ref := metav1.GetControllerOf(&j); ref != nil && ref.UID == cj.UID {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b batchv1.Job) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func jobNames(jobs []batchv1.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name)
	}
	return out
}

// awaitJobs waits until the CronJob's Jobs, by name, are want.
func (e *env) awaitJobs(t *testing.T, cj *batchv1.CronJob, want ...string) []batchv1.Job {
	t.Helper()
	slices.Sort(want)
	var got []batchv1.Job
	jobtest.Await(t, fmt.Sprintf("jobs of %s %v", cj.Name, want), func(ctx context.Context) (bool, string, error) {
		jobs, err := jobsOf(ctx, e.c, cj)
		if err != nil {
			return false, err.Error(), nil
		}
		got = jobs
		return slices.Equal(jobNames(jobs), want), fmt.Sprint(jobNames(jobs)), nil
	})
	return got
}

// awaitCronJob waits until the CronJob satisfies ok and returns it.
func (e *env) awaitCronJob(t *testing.T, cj *batchv1.CronJob, what string, ok func(*batchv1.CronJob) bool) *batchv1.CronJob {
	t.Helper()
	var got *batchv1.CronJob
	jobtest.Await(t, cj.Name+" "+what, func(ctx context.Context) (bool, string, error) {
		cur, err := e.c.BatchV1().CronJobs(e.ns).Get(ctx, cj.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		got = cur
		return ok(cur), describe(cur), nil
	})
	return got
}

// describe summarises a CronJob's status for failure messages.
func describe(cj *batchv1.CronJob) string {
	var active []string
	for _, r := range cj.Status.Active {
		active = append(active, r.Name)
	}
	return fmt.Sprintf("active=%v lastSchedule=%v lastSuccessful=%v", active, cj.Status.LastScheduleTime, cj.Status.LastSuccessfulTime)
}

// activeNames lists status.active by name.
func activeNames(cj *batchv1.CronJob) []string {
	var out []string
	for _, r := range cj.Status.Active {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

// hasActive is an awaitCronJob predicate: status.active lists exactly
// these Jobs.
func hasActive(names ...string) func(*batchv1.CronJob) bool {
	slices.Sort(names)
	return func(cj *batchv1.CronJob) bool { return slices.Equal(activeNames(cj), names) }
}

// stays checks for a while that cond keeps holding.
func stays(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if ok, state := cond(); !ok {
			t.Fatalf("%s: no longer holds: %s", what, state)
		}
		time.Sleep(jobtest.Poll)
	}
}

// noNewJobs checks for a while that the CronJob's Jobs stay these.
func (e *env) noNewJobs(t *testing.T, cj *batchv1.CronJob, want ...string) {
	t.Helper()
	slices.Sort(want)
	stays(t, "jobs of "+cj.Name, func() (bool, string) {
		jobs, err := jobsOf(t.Context(), e.c, cj)
		must(t, err)
		return slices.Equal(jobNames(jobs), want), fmt.Sprint(jobNames(jobs))
	})
}

// finish marks a Job finished at the fake clock's time.
func (e *env) finish(t *testing.T, jobName string, complete bool) *batchv1.Job {
	t.Helper()
	job, err := jobtest.Finish(t.Context(), e.c, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: jobName, Namespace: e.ns}}, complete, e.fc.Now())
	must(t, err)
	return job
}

// events lists the events about an object, oldest first.
func (e *env) events(t *testing.T, uid types.UID) []corev1.Event {
	t.Helper()
	list, err := e.c.CoreV1().Events(e.ns).List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.uid=" + string(uid)})
	must(t, err)
	out := list.Items
	slices.SortStableFunc(out, func(a, b corev1.Event) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return out
}

func eventStrings(evs []corev1.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type+" "+ev.Reason+": "+ev.Message)
	}
	return out
}

// awaitEvent waits for an event about the CronJob with this reason whose
// message contains msg, and returns it.
func (e *env) awaitEvent(t *testing.T, cj *batchv1.CronJob, typ, reason, msg string) corev1.Event {
	t.Helper()
	var got corev1.Event
	jobtest.Await(t, fmt.Sprintf("event %s %q on %s", reason, msg, cj.Name), func(ctx context.Context) (bool, string, error) {
		evs := e.events(t, cj.UID)
		for _, ev := range evs {
			if ev.Type == typ && ev.Reason == reason && strings.Contains(ev.Message, msg) {
				got = ev
				return true, "", nil
			}
		}
		return false, strings.Join(eventStrings(evs), "; "), nil
	})
	return got
}

// noEvent checks for a while that no event with this reason is recorded
// about the CronJob.
func (e *env) noEvent(t *testing.T, cj *batchv1.CronJob, reasons ...string) {
	t.Helper()
	stays(t, fmt.Sprintf("no %v events on %s", reasons, cj.Name), func() (bool, string) {
		evs := e.events(t, cj.UID)
		for _, ev := range evs {
			if slices.Contains(reasons, ev.Reason) {
				return false, strings.Join(eventStrings(evs), "; ")
			}
		}
		return true, ""
	})
}

// countEvents counts the events with this reason about the CronJob
// (aggregated repeats included).
func (e *env) countEvents(t *testing.T, cj *batchv1.CronJob, reason string) int32 {
	t.Helper()
	var n int32
	for _, ev := range e.events(t, cj.UID) {
		if ev.Reason == reason {
			n += max(ev.Count, 1)
		}
	}
	return n
}
