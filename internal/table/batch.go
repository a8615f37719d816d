package table

import (
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Job STATUS values (KUBECTL-02).
const (
	jobComplete           = "Complete"
	jobFailed             = "Failed"
	jobTerminating        = "Terminating"
	jobSuspended          = "Suspended"
	jobFailureTarget      = "FailureTarget"
	jobSuccessCriteriaMet = "SuccessCriteriaMet"
	jobRunning            = "Running"
)

func jobPrinter() printer {
	return printerOf(batchv1.SchemeGroupVersion.WithKind("Job"), jobColumns, jobRow)
}

func cronJobPrinter() printer {
	return printerOf(batchv1.SchemeGroupVersion.WithKind("CronJob"), cronJobColumns, cronJobRow)
}

// jobRow is upstream's printJob (KUBECTL-01..05).
func jobRow(job *batchv1.Job, now time.Time) metav1.TableRow {
	names, images := containerCells(job.Spec.Template.Spec.Containers)
	return metav1.TableRow{Cells: []any{
		job.Name, jobStatus(job), jobCompletions(job), jobDuration(job, now), since(job.CreationTimestamp.Time, now),
		names, images, metav1.FormatLabelSelector(job.Spec.Selector),
	}}
}

// jobStatus is the first that applies (KUBECTL-02).
func jobStatus(job *batchv1.Job) string {
	conds := job.Status.Conditions
	switch {
	case jobCondition(conds, batchv1.JobComplete):
		return jobComplete
	case jobCondition(conds, batchv1.JobFailed):
		return jobFailed
	case job.DeletionTimestamp != nil:
		return jobTerminating
	case jobCondition(conds, batchv1.JobSuspended):
		return jobSuspended
	case jobCondition(conds, batchv1.JobFailureTarget):
		return jobFailureTarget
	case jobCondition(conds, batchv1.JobSuccessCriteriaMet):
		return jobSuccessCriteriaMet
	default:
		return jobRunning
	}
}

// jobCondition reports whether the first condition of type ct is True
// (KUBECTL-02: later ones of the same type are not looked at).
func jobCondition(conds []batchv1.JobCondition, ct batchv1.JobConditionType) bool {
	for _, c := range conds {
		if c.Type == ct {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// jobCompletions is KUBECTL-03.
func jobCompletions(job *batchv1.Job) string {
	if job.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", job.Status.Succeeded, *job.Spec.Completions)
	}
	if p := job.Spec.Parallelism; p != nil && *p > 1 {
		return fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, *p)
	}
	return fmt.Sprintf("%d/1", job.Status.Succeeded)
}

// jobDuration is KUBECTL-04: empty before the Job starts, start to
// completion once complete, else start to now (a failed Job's keeps
// growing: failure sets no completionTime).
func jobDuration(job *batchv1.Job, now time.Time) string {
	switch start, end := job.Status.StartTime, job.Status.CompletionTime; {
	case start == nil:
		return ""
	case end == nil:
		return duration.HumanDuration(now.Sub(start.Time))
	default:
		return duration.HumanDuration(end.Sub(start.Time))
	}
}

// cronJobRow is upstream's printCronJob (KUBECTL-06).
func cronJobRow(cj *batchv1.CronJob, now time.Time) metav1.TableRow {
	last := none
	if cj.Status.LastScheduleTime != nil {
		last = since(cj.Status.LastScheduleTime.Time, now)
	}
	tz := none
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	tmpl := cj.Spec.JobTemplate.Spec
	names, images := containerCells(tmpl.Template.Spec.Containers)
	return metav1.TableRow{Cells: []any{
		cj.Name, cj.Spec.Schedule, tz, boolCell(cj.Spec.Suspend), int64(len(cj.Status.Active)), last, since(cj.CreationTimestamp.Time, now),
		names, images, metav1.FormatLabelSelector(tmpl.Selector),
	}}
}

// containerCells joins the containers' names and images with commas.
func containerCells(cs []corev1.Container) (names, images string) {
	n, i := make([]string, len(cs)), make([]string, len(cs))
	for k, c := range cs {
		n[k], i[k] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}

// boolCell is upstream's printBoolPtr: a string even in a boolean column.
func boolCell(b *bool) string {
	switch {
	case b == nil:
		return unset
	case *b:
		return "True"
	default:
		return "False"
	}
}
