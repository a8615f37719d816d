package cronjob

import (
	"maps"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// controllerKind is the kind in the ownerReferences of a CronJob's Jobs.
var controllerKind = batchv1.SchemeGroupVersion.WithKind("CronJob")

// newJob builds the Job for a schedule time from the CronJob's template
// (CRON-JOB-01..03): the deterministic name, the template's labels and
// annotations plus the scheduled-timestamp annotation in loc, one
// controller ownerReference with blockOwnerDeletion, and a deep copy of
// the template's spec, which the API server then defaults as any Job.
func newJob(cj *batchv1.CronJob, scheduled time.Time, loc *time.Location) *batchv1.Job {
	annotations := maps.Clone(cj.Spec.JobTemplate.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[batchv1.CronJobScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            jobName(cj, scheduled),
			Namespace:       cj.Namespace,
			Labels:          maps.Clone(cj.Spec.JobTemplate.Labels),
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, controllerKind)},
		},
	}
	cj.Spec.JobTemplate.Spec.DeepCopyInto(&job.Spec)
	return job
}

// jobRef is the reference to a Job kept in status.active (CRON-STAT-01).
func jobRef(job *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{
		Kind:            "Job",
		Namespace:       job.Namespace,
		Name:            job.Name,
		UID:             job.UID,
		APIVersion:      batchv1.SchemeGroupVersion.String(),
		ResourceVersion: job.ResourceVersion,
	}
}

// finishedAs returns the type of the Job's Complete or Failed condition
// with status True, or "" while it runs.
func finishedAs(job *batchv1.Job) batchv1.JobConditionType {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type
		}
	}
	return ""
}

func inActive(st *batchv1.CronJobStatus, uid types.UID) bool {
	return slices.ContainsFunc(st.Active, func(r corev1.ObjectReference) bool { return r.UID == uid })
}

func removeActive(st *batchv1.CronJobStatus, uid types.UID) {
	st.Active = slices.DeleteFunc(st.Active, func(r corev1.ObjectReference) bool { return r.UID == uid })
}

// byStartTime orders Jobs oldest first by status.startTime, Jobs without
// one last, ties by name, as upstream's history cleanup (CRON-HIST-02).
func byStartTime(a, b *batchv1.Job) int {
	as, bs := a.Status.StartTime, b.Status.StartTime
	switch {
	case as == nil && bs != nil:
		return 1
	case as != nil && bs == nil:
		return -1
	case as != nil && !as.Equal(bs):
		return as.Compare(bs.Time)
	}
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}
