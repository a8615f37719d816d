package jobtest

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Finish marks a Job that no Job controller runs as finished at the given
// time, through its status as upstream's integration tests do: a startTime
// (kept when set), the conditions a Job controller adds, each with
// lastTransitionTime at, and the counters; a completed Job also gets its
// completionTime. It retries conflicts and returns the Job as stored.
func Finish(ctx context.Context, c kubernetes.Interface, job *batchv1.Job, complete bool, at time.Time) (*batchv1.Job, error) {
	for {
		cur, err := c.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		st := &cur.Status
		when := metav1.NewTime(at)
		if st.StartTime == nil || st.StartTime.After(at) {
			st.StartTime = &when
		}
		st.Active = 0
		types := []batchv1.JobConditionType{batchv1.JobFailureTarget, batchv1.JobFailed}
		if complete {
			types = []batchv1.JobConditionType{batchv1.JobSuccessCriteriaMet, batchv1.JobComplete}
			st.Succeeded++
			st.CompletionTime = &when
		} else {
			st.Failed++
		}
		for _, t := range types {
			st.Conditions = append(st.Conditions, batchv1.JobCondition{
				Type: t, Status: corev1.ConditionTrue, LastTransitionTime: when, LastProbeTime: when,
			})
		}
		got, err := c.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("finishing job %s: %w", job.Name, err)
		}
		return got, nil
	}
}
