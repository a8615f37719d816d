package cronjob_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/jobtest"
)

// CRON-CONC-01: Allow creates a Job at every due time, whatever runs.
func TestAllow(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("allow", "* * * * *"))
	first := firstMinute(cj)
	var want []string
	for i := range 3 {
		at := first.Add(time.Duration(i) * time.Minute)
		e.runAt(at)
		want = append(want, name(cj, at))
		e.awaitJobs(t, cj, want...)
	}
	e.awaitCronJob(t, cj, "three active", hasActive(want...))
}

// CRON-EX-02 CRON-CONC-02 CRON-SCHED-11: Forbid with a Job running 90 s:
// at the next minute JobAlreadyActive and nothing is created; when the Job
// completes, the skipped run starts at once if no later minute passed,
// else the latest due minute runs.
func TestForbid(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("forbid", "* * * * *", forbid))
	t1 := firstMinute(cj)
	e.runAt(t1)
	e.awaitCronJob(t, cj, "first run", hasActive(name(cj, t1)))

	t2 := t1.Add(time.Minute)
	e.runAt(t2)
	e.awaitEvent(t, cj, "Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
	e.noNewJobs(t, cj, name(cj, t1))
	if got := e.get(t, cj); !got.Status.LastScheduleTime.Time.Equal(t1) {
		t.Errorf("CRON-CONC-02 lastScheduleTime = %v, want %v unchanged", got.Status.LastScheduleTime, t1)
	}

	e.stepTo(t1.Add(90 * time.Second))
	e.finish(t, name(cj, t1), true)
	e.awaitEvent(t, cj, "Normal", "SawCompletedJob", fmt.Sprintf("Saw completed job: %s, condition: Complete", name(cj, t1)))
	e.awaitJobs(t, cj, name(cj, t1), name(cj, t2))
	e.awaitCronJob(t, cj, "the skipped run active", hasActive(name(cj, t2)))

	// This time the Job runs past the following minute too.
	t3, t4 := t2.Add(time.Minute), t2.Add(2*time.Minute)
	e.runAt(t3)
	e.runAt(t4)
	e.stepTo(t4.Add(30 * time.Second))
	e.noNewJobs(t, cj, name(cj, t1), name(cj, t2))
	e.finish(t, name(cj, t2), true)
	e.awaitJobs(t, cj, name(cj, t1), name(cj, t2), name(cj, t4))
}

// CRON-CONC-04 CRON-MAN-03: Forbid looks only at this CronJob's
// status.active: another CronJob's running Job, or a running Job of this
// one that it did not create, does not block it.
func TestForbidLooksAtItsOwnActiveList(t *testing.T) {
	e := start(t, false)
	a := e.create(t, e.cronJob("a", "* * * * *", forbid))
	b := e.create(t, e.cronJob("b", "* * * * *", forbid, suspend))
	first := firstMinute(a)
	e.runAt(first)
	e.awaitCronJob(t, a, "a runs", hasActive(name(a, first)))

	b = e.get(t, b)
	manual := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "manual-b", Namespace: e.ns,
			Annotations:     map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: b.Name, UID: b.UID, Controller: new(true)}}},
		Spec: *b.Spec.JobTemplate.Spec.DeepCopy(),
	}
	_, err := e.c.BatchV1().Jobs(e.ns).Create(t.Context(), manual, metav1.CreateOptions{})
	must(t, err)
	// Resumed with a's Job and its own manual Job running, b runs its
	// missed minute all the same.
	e.update(t, b, func(cj *batchv1.CronJob) { cj.Spec.Suspend = new(false) })
	e.awaitEvent(t, b, "Warning", "UnexpectedJob", "Saw a job that the controller did not create or forgot: manual-b")
	e.awaitJobs(t, b, "manual-b", name(b, first))
	e.awaitCronJob(t, b, "manual Job not listed", hasActive(name(b, first)))

	second := first.Add(time.Minute)
	e.runAt(second)
	e.awaitEvent(t, a, "Normal", "JobAlreadyActive", "")
	e.awaitEvent(t, b, "Normal", "JobAlreadyActive", "")
	e.noNewJobs(t, a, name(a, first))
}

// CRON-EX-03 CRON-CONC-03: Replace at the next minute deletes the running
// Job in the background (its pods go with it) and creates the new one. The
// Job controller runs here, so the Jobs have pods.
func TestReplace(t *testing.T) {
	e := start(t, true)
	cj := e.create(t, e.cronJob("replace", "* * * * *", replace))
	t1 := firstMinute(cj)
	e.runAt(t1)
	jobs := e.awaitJobs(t, cj, name(cj, t1))
	old := &jobs[0]
	oldPods := jobtest.AwaitPods(t, e.c, old, "created", func(p []*corev1.Pod) bool { return len(p) == 1 })

	t2 := t1.Add(time.Minute)
	e.runAt(t2)
	e.awaitEvent(t, cj, "Normal", "SuccessfulDelete", "Deleted job "+old.Name)
	e.awaitEvent(t, cj, "Normal", "SuccessfulCreate", "Created job "+name(cj, t2))
	jobs = e.awaitJobs(t, cj, name(cj, t2))
	e.awaitCronJob(t, cj, "only the new Job active", hasActive(name(cj, t2)))
	jobtest.Await(t, "the replaced Job's pod is deleted", func(ctx context.Context) (bool, string, error) {
		_, err := e.c.CoreV1().Pods(e.ns).Get(ctx, oldPods[0].Name, metav1.GetOptions{})
		return err != nil, fmt.Sprint(err), nil
	})
	jobtest.AwaitPods(t, e.c, &jobs[0], "created for the new Job", func(p []*corev1.Pod) bool { return len(p) == 1 })
}
