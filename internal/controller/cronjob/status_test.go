package cronjob_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// CRON-EX-01 CRON-JOB-01 CRON-JOB-02 CRON-JOB-03 CRON-JOB-04 CRON-STAT-01
// CRON-STAT-05 CRON-STAT-06 CRON-HIST-01 CRON-HIST-02 CRON-HIST-03: a
// CronJob "hello" on */1 with no timeZone: each minute a Job
// hello-<unix minutes> with the template's metadata, the scheduled time in
// UTC and a controller ownerReference; status.active and lastScheduleTime
// follow; after the 4th success only 3 remain, the oldest deleted with
// SuccessfulDelete; lastSuccessfulTime tracks the newest completion.
func TestEveryMinuteWithHistory(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("hello", "*/1 * * * *", func(cj *batchv1.CronJob) {
		cj.Spec.JobTemplate.Labels = map[string]string{"app": "hello"}
		cj.Spec.JobTemplate.Annotations = map[string]string{"team": "batch"}
	}))
	first := firstMinute(cj)
	var names []string
	for i := range 4 {
		at := first.Add(time.Duration(i) * time.Minute)
		n := name(cj, at)
		e.runAt(at)
		got := e.awaitCronJob(t, cj, "run "+n, func(cj *batchv1.CronJob) bool { return slices.Contains(activeNames(cj), n) })
		e.awaitEvent(t, cj, "Normal", "SuccessfulCreate", "Created job "+n)
		if !got.Status.LastScheduleTime.Time.Equal(at) {
			t.Errorf("CRON-STAT-05 lastScheduleTime = %v, want %v", got.Status.LastScheduleTime, at)
		}
		job, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), n, metav1.GetOptions{})
		must(t, err)
		checkJob(t, cj, job, at, "UTC")
		checkRef(t, got, job)
		e.stepTo(at.Add(10 * time.Second))
		e.finish(t, n, true)
		names = append(names, n)
		e.awaitCronJob(t, cj, "lastSuccessfulTime", func(cj *batchv1.CronJob) bool {
			return len(cj.Status.Active) == 0 && cj.Status.LastSuccessfulTime != nil && cj.Status.LastSuccessfulTime.Time.Equal(at.Add(10*time.Second))
		})
	}
	e.awaitJobs(t, cj, names[1:]...)
	e.awaitEvent(t, cj, "Normal", "SuccessfulDelete", "Deleted job "+names[0])
	if n := e.countEvents(t, cj, "SuccessfulDelete"); n != 1 {
		t.Errorf("SuccessfulDelete events = %d, want 1", n)
	}
}

// checkJob checks a Job the CronJob created for a schedule time
// (CRON-JOB-01..03).
func checkJob(t *testing.T, cj *batchv1.CronJob, job *batchv1.Job, at time.Time, zone string) {
	t.Helper()
	if job.Name != name(cj, at) {
		t.Errorf("CRON-JOB-01 name %s, want %s", job.Name, name(cj, at))
	}
	loc, err := time.LoadLocation(zone)
	must(t, err)
	wantAnn := maps.Clone(cj.Spec.JobTemplate.Annotations)
	if wantAnn == nil {
		wantAnn = map[string]string{}
	}
	wantAnn[batchv1.CronJobScheduledTimestampAnnotation] = at.In(loc).Format(time.RFC3339)
	if diff := cmp.Diff(wantAnn, job.Annotations); diff != "" {
		t.Errorf("CRON-JOB-02 annotations (-want +got):\n%s", diff)
	}
	for k, v := range cj.Spec.JobTemplate.Labels {
		if job.Labels[k] != v {
			t.Errorf("CRON-JOB-02 label %s=%q, want %q", k, job.Labels[k], v)
		}
	}
	wantRefs := []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	if diff := cmp.Diff(wantRefs, job.OwnerReferences); diff != "" {
		t.Errorf("CRON-JOB-03 ownerReferences (-want +got):\n%s", diff)
	}
	tmpl := cj.Spec.JobTemplate.Spec.Template.Spec
	if got := job.Spec.Template.Spec; got.RestartPolicy != tmpl.RestartPolicy || !cmp.Equal(got.Containers[0].Command, tmpl.Containers[0].Command) {
		t.Errorf("CRON-JOB-03 the Job's pod spec is not the template's: %+v", got)
	}
	if ptr.Deref(job.Spec.BackoffLimit, 0) != 6 {
		t.Errorf("the created Job is not defaulted as any Job: backoffLimit %v", job.Spec.BackoffLimit)
	}
}

// checkRef checks the Job's entry in status.active (CRON-STAT-01).
func checkRef(t *testing.T, cj *batchv1.CronJob, job *batchv1.Job) {
	t.Helper()
	for _, r := range cj.Status.Active {
		if r.Name != job.Name {
			continue
		}
		want := corev1.ObjectReference{Kind: "Job", Namespace: job.Namespace, Name: job.Name, UID: job.UID, APIVersion: "batch/v1", ResourceVersion: r.ResourceVersion}
		if diff := cmp.Diff(want, r); diff != "" || r.ResourceVersion == "" {
			t.Errorf("CRON-STAT-01 status.active entry (-want +got):\n%s", diff)
		}
		return
	}
	t.Errorf("CRON-STAT-01 %s not in status.active %v", job.Name, activeNames(cj))
}

// CRON-HIST-01 CRON-HIST-02 CRON-HIST-03 CRON-HIST-04 CRON-STAT-02: limits
// apply per outcome, manual Jobs count, running Jobs are never cleaned,
// and a limit of 0 keeps nothing.
func TestHistoryLimits(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("hist", "* * * * *", limits(0, 1)))
	first := firstMinute(cj)
	m := func(i int) time.Time { return first.Add(time.Duration(i) * time.Minute) }

	e.runAt(m(0))
	e.awaitJobs(t, cj, name(cj, m(0)))
	e.finish(t, name(cj, m(0)), false)
	e.awaitEvent(t, cj, "Normal", "SawCompletedJob", fmt.Sprintf("Saw completed job: %s, condition: Failed", name(cj, m(0))))

	e.runAt(m(1))
	e.awaitJobs(t, cj, name(cj, m(0)), name(cj, m(1)))
	e.finish(t, name(cj, m(1)), false) // the second failure pushes out the first
	e.awaitJobs(t, cj, name(cj, m(1)))
	e.awaitEvent(t, cj, "Normal", "SuccessfulDelete", "Deleted job "+name(cj, m(0)))

	e.runAt(m(2))
	e.awaitJobs(t, cj, name(cj, m(1)), name(cj, m(2)))
	e.finish(t, name(cj, m(2)), true) // limit 0: gone as it completes
	e.awaitJobs(t, cj, name(cj, m(1)))
	got := e.awaitCronJob(t, cj, "lastSuccessfulTime", func(cj *batchv1.CronJob) bool { return cj.Status.LastSuccessfulTime != nil })
	if len(got.Status.Active) != 0 {
		t.Errorf("status.active = %v after cleanup", activeNames(got))
	}

	// A manual Job counts toward the failed limit.
	cj = e.update(t, cj, suspend)
	manual := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "by-hand", Namespace: e.ns,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr.To(true)}}},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
	_, err := e.c.BatchV1().Jobs(e.ns).Create(t.Context(), manual, metav1.CreateOptions{})
	must(t, err)
	e.stepTo(m(3))
	e.finish(t, "by-hand", false)
	e.awaitJobs(t, cj, "by-hand")
}

// CRON-STAT-03: a Job in status.active that is deleted leaves the list
// with MissingJob.
func TestMissingJob(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("gone", "* * * * *"))
	first := firstMinute(cj)
	e.runAt(first)
	e.awaitCronJob(t, cj, "run", hasActive(name(cj, first)))
	must(t, e.c.BatchV1().Jobs(e.ns).Delete(t.Context(), name(cj, first), metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}))
	e.awaitEvent(t, cj, "Normal", "MissingJob", "Active job went missing: "+name(cj, first))
	e.awaitCronJob(t, cj, "list emptied", hasActive())
}

// CRON-JOB-05 CRON-STAT-04: a Job with the due time's name that this
// CronJob controls but does not list (created before a crash, say) is
// listed when the time comes, without a create event; one that someone
// else owns is left alone, and the CronJob carries on.
func TestJobAlreadyExists(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("exists", "* * * * *"))
	first := firstMinute(cj)
	second := first.Add(time.Minute)
	third := first.Add(2 * time.Minute)
	ours := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name(cj, first), Namespace: e.ns,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
	_, err := e.c.BatchV1().Jobs(e.ns).Create(t.Context(), ours, metav1.CreateOptions{})
	must(t, err)
	theirs := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name(cj, second), Namespace: e.ns}, Spec: *cj.Spec.JobTemplate.Spec.DeepCopy()}
	_, err = e.c.BatchV1().Jobs(e.ns).Create(t.Context(), theirs, metav1.CreateOptions{})
	must(t, err)
	e.awaitEvent(t, cj, "Warning", "UnexpectedJob", "Saw a job that the controller did not create or forgot: "+name(cj, first))

	e.runAt(first)
	got := e.awaitCronJob(t, cj, "the existing Job listed", hasActive(name(cj, first)))
	if !got.Status.LastScheduleTime.Time.Equal(first) {
		t.Errorf("lastScheduleTime = %v, want %v", got.Status.LastScheduleTime, first)
	}
	e.noEvent(t, cj, "SuccessfulCreate", "FailedCreate")

	e.runAt(second)
	stays(t, "someone else's Job is not listed", func() (bool, string) {
		cur := e.get(t, cj)
		return slices.Equal(activeNames(cur), []string{name(cj, first)}) && cur.Status.LastScheduleTime.Time.Equal(first), describe(cur)
	})
	e.noEvent(t, cj, "SuccessfulCreate", "FailedCreate")

	e.runAt(third)
	e.awaitCronJob(t, cj, "carries on", hasActive(name(cj, first), name(cj, third)))
}

// CRON-JOB-06: a Job the API server refuses gives FailedCreate and is
// retried with backoff. An Indexed template whose Job name is too long for
// its pods' hostnames passes CronJob validation and fails only here
// (CRON-VAL-08).
func TestCreateFails(t *testing.T) {
	e := start(t, false)
	long := strings.Repeat("x", 52)
	cj := e.create(t, e.cronJob(long, "* * * * *", func(cj *batchv1.CronJob) {
		cj.Spec.JobTemplate.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		cj.Spec.JobTemplate.Spec.Completions = ptr.To[int32](100)
		cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Name = "main"
	}))
	first := firstMinute(cj)
	e.runAt(first)
	ev := e.awaitEvent(t, cj, "Warning", "FailedCreate", "Error creating job: ")
	if !strings.Contains(ev.Message, "will not able to create pod with invalid DNS label") {
		t.Errorf("FailedCreate message %q", ev.Message)
	}
	e.awaitCronJob(t, cj, "retried", func(*batchv1.CronJob) bool { return e.countEvents(t, cj, "FailedCreate") >= 3 })
	e.noNewJobs(t, cj)
	if got := e.get(t, cj); got.Status.LastScheduleTime != nil {
		t.Errorf("lastScheduleTime set without a Job: %v", got.Status.LastScheduleTime)
	}
}

// CRON-JOB-07: a CronJob's children are the Jobs whose controller
// reference carries its UID; a reference by name to an earlier CronJob of
// the same name does not count. The garbage collector deletes such a Job,
// so a finalizer holds it for the test.
func TestChildrenAreMatchedByUID(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("same", "* * * * *"))
	stale := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "stale", Namespace: e.ns, Finalizers: []string{"batchd.test/hold"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: "0000-old", Controller: ptr.To(true)}}},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
	_, err := e.c.BatchV1().Jobs(e.ns).Create(t.Context(), stale, metav1.CreateOptions{})
	must(t, err)
	first := firstMinute(cj)
	e.runAt(first)
	e.awaitJobs(t, cj, name(cj, first))
	e.awaitCronJob(t, cj, "only its own Job listed", hasActive(name(cj, first)))
	e.noEvent(t, cj, "UnexpectedJob")
	job, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), "stale", metav1.GetOptions{})
	must(t, err)
	job.Finalizers = nil
	_, err = e.c.BatchV1().Jobs(e.ns).Update(t.Context(), job, metav1.UpdateOptions{})
	must(t, err)
}

// CRON-STAT-07: the status is written only when it changes.
func TestStatusWrittenOnlyOnChange(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("quiet", "* * * * *"))
	first := firstMinute(cj)
	e.runAt(first)
	cj = e.awaitCronJob(t, cj, "run", hasActive(name(cj, first)))
	settle()
	rv := e.get(t, cj).ResourceVersion
	// A change to the child syncs the CronJob; nothing in its books changes.
	job, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), name(cj, first), metav1.GetOptions{})
	must(t, err)
	job.Labels["touched"] = "yes"
	_, err = e.c.BatchV1().Jobs(e.ns).Update(t.Context(), job, metav1.UpdateOptions{})
	must(t, err)
	stays(t, "the CronJob is not rewritten", func() (bool, string) {
		got := e.get(t, cj).ResourceVersion
		return got == rv, "resourceVersion " + got + ", was " + rv
	})
}

// CRON-EVT-01: events are about the CronJob and come from
// cronjob-controller, with upstream's types and reasons.
func TestEventSource(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("evt", "* * * * *", forbid))
	first := firstMinute(cj)
	e.runAt(first)
	e.awaitCronJob(t, cj, "run", hasActive(name(cj, first)))
	e.runAt(first.Add(time.Minute))
	e.awaitEvent(t, cj, "Normal", "JobAlreadyActive", "")
	e.finish(t, name(cj, first), true)
	e.awaitJobs(t, cj, name(cj, first), name(cj, first.Add(time.Minute)))
	e.awaitEvent(t, cj, "Normal", "SuccessfulCreate", "Created job "+name(cj, first.Add(time.Minute)))
	var reasons []string
	for _, ev := range e.events(t, cj.UID) {
		reasons = append(reasons, ev.Type+"/"+ev.Reason)
		if ev.Source.Component != "cronjob-controller" {
			t.Errorf("event %s from %q, want cronjob-controller", ev.Reason, ev.Source.Component)
		}
		if o := ev.InvolvedObject; o.Kind != "CronJob" || o.APIVersion != "batch/v1" || o.Name != cj.Name || o.Namespace != e.ns || o.UID != cj.UID {
			t.Errorf("event %s is about %+v", ev.Reason, o)
		}
	}
	want := []string{"Normal/SuccessfulCreate", "Normal/JobAlreadyActive", "Normal/SawCompletedJob", "Normal/SuccessfulCreate"}
	if diff := cmp.Diff(want, reasons); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
