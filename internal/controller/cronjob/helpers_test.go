package cronjob

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// at parses an RFC 3339 time, panicking on a typo in a test table.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mtime(s string) *metav1.Time { return &metav1.Time{Time: at(s)} }

type cjOpt func(*batchv1.CronJob)

// newCronJob is a defaulted CronJob "hello" as the API server stores it,
// created at the given time with the given schedule.
func newCronJob(created, schedule string, opts ...cjOpt) *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "ns", UID: "cj-uid", CreationTimestamp: metav1.NewTime(at(created))},
		Spec: batchv1.CronJobSpec{
			Schedule:                   schedule,
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			Suspend:                    ptr.To(false),
			SuccessfulJobsHistoryLimit: ptr.To[int32](3),
			FailedJobsHistoryLimit:     ptr.To[int32](1),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "hello"}, Annotations: map[string]string{"note": "x"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyOnFailure,
					Containers:    []corev1.Container{{Name: "hello", Image: "busybox", Command: []string{"echo", "hi"}}},
				}}},
			},
		},
	}
	for _, o := range opts {
		o(cj)
	}
	return cj
}

func lastScheduled(s string) cjOpt {
	return func(cj *batchv1.CronJob) { cj.Status.LastScheduleTime = mtime(s) }
}

func deadline(seconds int64) cjOpt {
	return func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptr.To(seconds) }
}

func timeZone(tz string) cjOpt { return func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To(tz) } }

func policy(p batchv1.ConcurrencyPolicy) cjOpt {
	return func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = p }
}

func suspended(cj *batchv1.CronJob) { cj.Spec.Suspend = ptr.To(true) }

func limits(succeeded, failed int32) cjOpt {
	return func(cj *batchv1.CronJob) {
		cj.Spec.SuccessfulJobsHistoryLimit, cj.Spec.FailedJobsHistoryLimit = ptr.To(succeeded), ptr.To(failed)
	}
}

// active lists Jobs in status.active.
func active(jobs ...*batchv1.Job) cjOpt {
	return func(cj *batchv1.CronJob) {
		for _, j := range jobs {
			cj.Status.Active = append(cj.Status.Active, jobRef(j))
		}
	}
}

func deleting(cj *batchv1.CronJob) { cj.DeletionTimestamp = mtime("2026-01-01T00:00:00Z") }

type jobOpt func(*batchv1.Job)

// child is a Job the CronJob created for a schedule time, started then.
func child(cj *batchv1.CronJob, scheduled string, opts ...jobOpt) *batchv1.Job {
	t := at(scheduled)
	j := newJob(cj, t, time.UTC)
	j.UID = types.UID("uid-" + j.Name)
	j.ResourceVersion = "7"
	j.Status.StartTime = &metav1.Time{Time: t}
	for _, o := range opts {
		o(j)
	}
	return j
}

// manual is a Job kubectl create job --from made: owned, no timestamp
// annotation (CRON-MAN-01).
func manual(cj *batchv1.CronJob, name string, opts ...jobOpt) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: cj.Namespace, UID: types.UID("uid-" + name),
		Annotations:     map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, controllerKind)},
	}}
	for _, o := range opts {
		o(j)
	}
	return j
}

// completedAt finishes a Job successfully at s.
func completedAt(s string) jobOpt {
	return func(j *batchv1.Job) {
		j.Status.Conditions = append(j.Status.Conditions,
			batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(at(s))},
			batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(at(s))})
		j.Status.CompletionTime = mtime(s)
	}
}

func failedAt(s string) jobOpt {
	return func(j *batchv1.Job) {
		j.Status.Conditions = append(j.Status.Conditions,
			batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(at(s))},
			batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(at(s))})
	}
}

func beingDeleted(j *batchv1.Job) { j.DeletionTimestamp = mtime("2026-01-01T00:00:00Z") }

// summary is the part of a plan a row checks, printable in a diff.
type summary struct {
	Events       []string
	Prune        []string
	Replace      []string
	Create       string
	Scheduled    string
	Active       []string
	LastSchedule string
	LastSuccess  string
	RequeueAfter time.Duration
}

func summarize(p plan) summary {
	s := summary{RequeueAfter: p.requeueAfter}
	for _, e := range p.events {
		s.Events = append(s.Events, fmt.Sprintf("%s %s: %s", e.typ, e.reason, e.message))
	}
	for _, j := range p.prune {
		s.Prune = append(s.Prune, j.Name)
	}
	for _, r := range p.replace {
		s.Replace = append(s.Replace, r.Name)
	}
	if p.create != nil {
		s.Create = p.create.Name
		s.Scheduled = p.scheduled.UTC().Format(time.RFC3339)
	}
	for _, r := range p.status.Active {
		s.Active = append(s.Active, r.Name)
	}
	if t := p.status.LastScheduleTime; t != nil {
		s.LastSchedule = t.UTC().Format(time.RFC3339)
	}
	if t := p.status.LastSuccessfulTime; t != nil {
		s.LastSuccess = t.UTC().Format(time.RFC3339)
	}
	return s
}
