package batch

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// testUID is the uid the registry gives every Job these tests create.
const testUID = types.UID("0b6f7c3e-0000-4000-8000-00000000c0de")

// testNow is the time status tests start from.
var testNow = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))

// clientJob returns a Job as `kubectl create job pi --image=busybox` sends
// it: a name and a template with one container and restartPolicy Never,
// changed by the given functions.
func clientJob(changes ...func(*batchv1.Job)) *batchv1.Job {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "pi", Image: "busybox"}},
		}}},
	}
	for _, change := range changes {
		change(job)
	}
	return job
}

// created runs job through what the Store does on create before
// validating: it sets the uid, then calls the strategy's PrepareForCreate.
func created(job *batchv1.Job) *batchv1.Job {
	job.UID = testUID
	newJobStrategy().PrepareForCreate(job)
	return job
}

// stored returns a created Job, changed by the given functions as a
// controller or an earlier update would have changed it.
func stored(changes ...func(*batchv1.Job)) *batchv1.Job {
	job := created(clientJob())
	for _, change := range changes {
		change(job)
	}
	return job
}

// updated returns a copy of old with the changes of an update applied and
// the strategy's PrepareForUpdate run, as the Store does.
func updated(old *batchv1.Job, changes ...func(*batchv1.Job)) *batchv1.Job {
	job := old.DeepCopy()
	for _, change := range changes {
		change(job)
	}
	newJobStrategy().PrepareForUpdate(job, old)
	return job
}

// errStrings renders errs as users see them, one cause per entry.
func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// indexed makes a Job Indexed with completions and parallelism n.
func indexed(n int32) func(*batchv1.Job) {
	return func(job *batchv1.Job) {
		mode := batchv1.IndexedCompletion
		job.Spec.CompletionMode = &mode
		job.Spec.Completions = &n
		job.Spec.Parallelism = &n
	}
}

func condition(t batchv1.JobConditionType, s corev1.ConditionStatus) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: s}
}

func timeAt(d time.Duration) *metav1.Time {
	t := metav1.NewTime(testNow.Add(d))
	return &t
}

// errSummaries renders errs without their values, for causes whose value
// is a whole template or status.
func errSummaries(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		s := fmt.Sprintf("%s: %s", e.Field, e.Type)
		if e.Detail != "" {
			s += ": " + e.Detail
		}
		out = append(out, s)
	}
	return out
}
