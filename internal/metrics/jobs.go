package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Label names of the Job families, as upstream kube-state-metrics
// (internal/store/job.go): every family carries namespace and job_name.
const (
	labelNamespace         = "namespace"
	labelJobName           = "job_name"
	labelReason            = "reason"
	labelCondition         = "condition"
	labelOwnerKind         = "owner_kind"
	labelOwnerName         = "owner_name"
	labelOwnerIsController = "owner_is_controller"
)

// jobFailureReasons are the Failed condition reasons kube_job_status_failed
// reports one series each for, in upstream's order.
var jobFailureReasons = [...]string{
	batchv1.JobReasonBackoffLimitExceeded,
	batchv1.JobReasonDeadlineExceeded,
	"Evicted",
}

// successDurationBuckets bound batchd_job_success_duration_seconds: from a
// second to a day, for batch work.
var successDurationBuckets = [...]float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400}

type jobFamilies struct {
	info, owner, created                     family
	completions, parallelism, activeDeadline family
	succeeded, failed, active                family
	complete, failedCondition                family
	startTime, completionTime                family
	successDuration                          *prometheus.Desc // batchd SLI, per namespace
}

func newJobFamilies() jobFamilies {
	g := prometheus.GaugeValue
	ns, job := labelNamespace, labelJobName
	return jobFamilies{
		info:            newFamily("kube_job_info", "Information about job.", g, ns, job),
		owner:           newFamily("kube_job_owner", "Information about the Job's owner.", g, ns, job, labelOwnerKind, labelOwnerName, labelOwnerIsController),
		created:         newFamily("kube_job_created", "Unix creation timestamp", g, ns, job),
		completions:     newFamily("kube_job_spec_completions", "The desired number of successfully finished pods the job should be run with.", g, ns, job),
		parallelism:     newFamily("kube_job_spec_parallelism", "The maximum desired number of pods the job should run at any given time.", g, ns, job),
		activeDeadline:  newFamily("kube_job_spec_active_deadline_seconds", "The duration in seconds relative to the startTime that the job may be active before the system tries to terminate it.", g, ns, job),
		succeeded:       newFamily("kube_job_status_succeeded", "The number of pods which reached Phase Succeeded.", g, ns, job),
		failed:          newFamily("kube_job_status_failed", "The number of pods which reached Phase Failed and the reason for failure.", g, ns, job, labelReason),
		active:          newFamily("kube_job_status_active", "The number of actively running pods.", g, ns, job),
		complete:        newFamily("kube_job_complete", "The job has completed its execution.", g, ns, job, labelCondition),
		failedCondition: newFamily("kube_job_failed", "The job has failed its execution.", g, ns, job, labelCondition),
		startTime:       newFamily("kube_job_status_start_time", "StartTime represents time when the job was acknowledged by the Job Manager.", g, ns, job),
		completionTime:  newFamily("kube_job_status_completion_time", "CompletionTime represents time when the job was completed.", g, ns, job),
		successDuration: prometheus.NewDesc("batchd_job_success_duration_seconds",
			"Time from status.startTime to status.completionTime of the Complete Jobs currently stored (not a running total: Jobs removed by TTL or cleanup drop out).",
			[]string{ns}, nil),
	}
}

func (f jobFamilies) describe(ch chan<- *prometheus.Desc) {
	describeAll(ch, f.info, f.owner, f.created, f.completions, f.parallelism, f.activeDeadline,
		f.succeeded, f.failed, f.active, f.complete, f.failedCondition, f.startTime, f.completionTime)
	ch <- f.successDuration
}

func (f jobFamilies) collect(ch chan<- prometheus.Metric, jobs []*batchv1.Job) {
	durations := map[string][]float64{} // namespace -> seconds
	for _, j := range jobs {
		f.collectJob(ch, j)
		if d, ok := successDuration(j); ok {
			durations[j.Namespace] = append(durations[j.Namespace], d)
		}
	}
	for ns, ds := range durations {
		ch <- constHistogram(f.successDuration, ds, successDurationBuckets[:], ns)
	}
}

// collectJob sends one Job's samples, with upstream's semantics: optional
// spec fields and timestamps are left out when unset, conditions give three
// series each, and a Job without owners has one kube_job_owner series with
// empty owner labels.
func (f jobFamilies) collectJob(ch chan<- prometheus.Metric, j *batchv1.Job) {
	ns, name := j.Namespace, j.Name
	f.info.emit(ch, 1, ns, name)
	emitOwners(ch, f.owner, j.OwnerReferences, ns, name)
	emitTime(ch, f.created, &j.CreationTimestamp, ns, name)
	emitInt32(ch, f.completions, j.Spec.Completions, ns, name)
	emitInt32(ch, f.parallelism, j.Spec.Parallelism, ns, name)
	if ads := j.Spec.ActiveDeadlineSeconds; ads != nil {
		f.activeDeadline.emit(ch, float64(*ads), ns, name)
	}
	f.succeeded.emit(ch, float64(j.Status.Succeeded), ns, name)
	f.active.emit(ch, float64(j.Status.Active), ns, name)
	f.emitFailed(ch, j)
	for _, c := range j.Status.Conditions {
		switch c.Type {
		case batchv1.JobComplete:
			emitCondition(ch, f.complete, c.Status, ns, name)
		case batchv1.JobFailed:
			emitCondition(ch, f.failedCondition, c.Status, ns, name)
		}
	}
	emitTime(ch, f.startTime, j.Status.StartTime, ns, name)
	emitTime(ch, f.completionTime, j.Status.CompletionTime, ns, name)
}

// emitFailed sends kube_job_status_failed. Upstream: with no failed pods,
// one series without a reason; once the Job has a Failed condition, one
// series per known reason (1 for the condition's reason, else 0); otherwise
// the failed pod count with an empty reason. Prometheus treats an empty
// label as an absent one, so reason="" is upstream's reason-less series.
func (f jobFamilies) emitFailed(ch chan<- prometheus.Metric, j *batchv1.Job) {
	ns, name := j.Namespace, j.Name
	if j.Status.Failed == 0 {
		f.failed.emit(ch, 0, ns, name, "")
		return
	}
	known := false
	for _, c := range j.Status.Conditions {
		if c.Type != batchv1.JobFailed {
			continue
		}
		for _, reason := range jobFailureReasons {
			known = known || c.Reason == reason
			f.failed.emit(ch, boolFloat(c.Reason == reason), ns, name, reason)
		}
		break // one Failed condition at most; a second would duplicate series
	}
	if !known {
		f.failed.emit(ch, float64(j.Status.Failed), ns, name, "")
	}
}

// successDuration is how long a Complete Job ran, from status.startTime to
// status.completionTime.
func successDuration(j *batchv1.Job) (float64, bool) {
	start, end := j.Status.StartTime, j.Status.CompletionTime
	if start == nil || end == nil || !hasCondition(j, batchv1.JobComplete) {
		return 0, false
	}
	d := end.Sub(start.Time).Seconds()
	return max(d, 0), true
}

func hasCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// constHistogram builds a histogram sample of values over buckets.
func constHistogram(desc *prometheus.Desc, values, buckets []float64, labelValues ...string) prometheus.Metric {
	counts := make(map[float64]uint64, len(buckets))
	for _, b := range buckets {
		counts[b] = 0 // a bucket missing from the map is left out of the exposition
	}
	var sum float64
	for _, v := range values {
		sum += v
		for _, b := range buckets {
			if v <= b { // le is inclusive and cumulative
				counts[b]++
			}
		}
	}
	return prometheus.MustNewConstHistogram(desc, uint64(len(values)), sum, counts, labelValues...)
}

// emitOwners sends the *_owner family: one series per owner reference, or
// one with empty owner labels when there is none (current upstream).
func emitOwners(ch chan<- prometheus.Metric, f family, owners []metav1.OwnerReference, objectLabels ...string) {
	if len(owners) == 0 {
		f.emit(ch, 1, append(objectLabels, "", "", "")...)
		return
	}
	for _, o := range owners {
		isController := o.Controller != nil && *o.Controller
		f.emit(ch, 1, append(objectLabels, o.Kind, o.Name, strconv.FormatBool(isController))...)
	}
}

// emitTime sends t as Unix seconds, or nothing when t is unset.
func emitTime(ch chan<- prometheus.Metric, f family, t *metav1.Time, labelValues ...string) {
	if t == nil || t.IsZero() {
		return
	}
	f.emit(ch, float64(t.Unix()), labelValues...)
}

func emitInt32(ch chan<- prometheus.Metric, f family, v *int32, labelValues ...string) {
	if v != nil {
		f.emit(ch, float64(*v), labelValues...)
	}
}
