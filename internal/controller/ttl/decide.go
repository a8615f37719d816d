package ttl

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// verdict is what decide concludes about one Job.
type verdict struct {
	// candidate: the Job has a TTL, has finished and is not being deleted
	// (JOB-TTL-01).
	candidate bool
	// expireAt is the finish time plus the TTL (JOB-TTL-02).
	expireAt time.Time
	// left is how long until expireAt; zero or less means delete now.
	left time.Duration
}

func (v verdict) expired() bool { return v.candidate && v.left <= 0 }

// decide computes a Job's verdict at now. A finished Job whose Complete or
// Failed condition has no lastTransitionTime is an error, retried with
// backoff (JOB-TTL-06); a finish time in the future only defers the
// deletion.
func decide(job *batchv1.Job, now time.Time) (verdict, error) {
	if job.DeletionTimestamp != nil || job.Spec.TTLSecondsAfterFinished == nil {
		return verdict{}, nil
	}
	finished, ok, err := finishTime(job)
	if !ok || err != nil {
		return verdict{}, err
	}
	at := finished.Add(time.Duration(*job.Spec.TTLSecondsAfterFinished) * time.Second)
	return verdict{candidate: true, expireAt: at, left: at.Sub(now)}, nil
}

// finishTime is the lastTransitionTime of the Job's Complete or Failed
// condition, not its completionTime (JOB-TTL-02); ok is false while the Job
// has not finished.
func finishTime(job *batchv1.Job) (t time.Time, ok bool, err error) {
	for _, c := range job.Status.Conditions {
		if (c.Type != batchv1.JobComplete && c.Type != batchv1.JobFailed) || c.Status != corev1.ConditionTrue {
			continue
		}
		if c.LastTransitionTime.IsZero() {
			return time.Time{}, true, fmt.Errorf("unable to find the time when the Job %s/%s finished", job.Namespace, job.Name)
		}
		return c.LastTransitionTime.Time, true, nil
	}
	return time.Time{}, false, nil
}
