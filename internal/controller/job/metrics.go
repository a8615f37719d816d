package job

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Label values of the job_controller_* metrics, as upstream's
// pkg/controller/job/metrics.
const (
	actionReconciling = "reconciling"
	actionTracking    = "tracking"
	actionPodsCreated = "pods_created"
	actionPodsDeleted = "pods_deleted"

	resultSuccess   = "success"
	resultError     = "error"
	resultSucceeded = "succeeded"
	resultFailed    = "failed"

	trackingFinalizerAdd    = "add"
	trackingFinalizerDelete = "delete"

	podCreateNew                   = "new"
	podRecreateTerminatingOrFailed = "recreate_terminating_or_failed"
	podRecreateFailed              = "recreate_failed"

	backoffLimitPerIndex = "perIndex"
	backoffLimitGlobal   = "global"
)

// jobDurationBuckets bound the batchd_job_* duration SLIs: from 100 ms (a
// one-pod Job on batchd) to a day.
var jobDurationBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400}

// Metrics are the Job controller's Prometheus metrics: upstream's
// job_controller_* families with the same names, labels and help, plus
// batchd's SLIs. A nil *Metrics records nothing.
type Metrics struct {
	syncDuration      *prometheus.HistogramVec
	syncs             *prometheus.CounterVec
	jobsFinished      *prometheus.CounterVec
	podsFinished      *prometheus.CounterVec
	policyActions     *prometheus.CounterVec
	trackingFinalizer *prometheus.CounterVec
	finishedIndexes   *prometheus.CounterVec
	podsCreated       *prometheus.CounterVec
	external          *prometheus.CounterVec

	jobDuration      *prometheus.HistogramVec
	retries          *prometheus.HistogramVec
	failureDetection prometheus.Histogram
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	const sub = "job_controller"
	modeResultAction := []string{"completion_mode", "result", "action"}
	m := &Metrics{
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: sub, Name: "job_sync_duration_seconds",
			Help:    "The time it took to sync a job",
			Buckets: prometheus.ExponentialBuckets(0.004, 2, 15),
		}, modeResultAction),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: sub, Name: "job_syncs_total", Help: "The number of job syncs",
		}, modeResultAction),
		jobsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: sub, Name: "jobs_finished_total", Help: "The number of finished jobs",
		}, []string{"completion_mode", "result", "reason"}),
		podsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: sub, Name: "job_pods_finished_total", Help: "The number of finished Pods that are fully tracked",
		}, []string{"completion_mode", "result"}),
		policyActions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: sub, Name: "pod_failures_handled_by_failure_policy_total",
			Help: `The number of failed Pods handled by failure policy with respect to the failure policy action applied based on the matched rule. Possible values of the action label correspond to the possible values for the failure policy rule action, which are: "FailJob", "Ignore" and "Count".`,
		}, []string{"action"}),
		trackingFinalizer: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: sub, Name: "terminated_pods_tracking_finalizer_total",
			Help: `The number of terminated pods (phase=Failed|Succeeded) that have the finalizer batch.kubernetes.io/job-tracking. The event label can be "add" or "delete".`,
		}, []string{"event"}),
		finishedIndexes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: sub, Name: "job_finished_indexes_total",
			Help: `The number of finished indexes. Possible values for the status label are: "succeeded", "failed". Possible values for the backoffLimit label are: "perIndex" and "global"`,
		}, []string{"status", "backoffLimit"}),
		podsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: sub, Name: "job_pods_creation_total",
			Help: `The number of Pods created by the Job controller labelled with a reason for the Pod creation. This metric also distinguishes between Pods created using different PodReplacementPolicy settings. Possible values of the "reason" label are: "new", "recreate_terminating_or_failed", "recreate_failed". Possible values of the "status" label are: "succeeded", "failed".`,
		}, []string{"reason", "status"}),
		external: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: sub, Name: "jobs_by_external_controller_total",
			Help: "The number of Jobs managed by an external controller",
		}, []string{"controller_name"}),

		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "batchd_job_duration_seconds",
			Help:    "Time from a Job's status.startTime to the moment the Job controller marked it Complete or Failed, observed once per finished Job.",
			Buckets: jobDurationBuckets,
		}, []string{"completion_mode", "result"}),
		retries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "batchd_job_retries",
			Help:    "Failed pods (status.failed) of each Job when it finished: the retries it took, observed once per finished Job.",
			Buckets: []float64{0, 1, 2, 3, 5, 10, 20, 50, 100},
		}, []string{"completion_mode", "result"}),
		failureDetection: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "batchd_job_pod_failure_detection_seconds",
			Help:    "Time from a Job pod's last container finishing with a failure to the Job controller recording the failure in the Job's status.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.syncDuration, m.syncs, m.jobsFinished, m.podsFinished, m.policyActions,
		m.trackingFinalizer, m.finishedIndexes, m.podsCreated, m.external, m.jobDuration, m.retries, m.failureDetection} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering job controller metrics: %w", err)
	}
	return m, nil
}

// completionModeLabel is the completion_mode label of a Job.
func completionModeLabel(job *batchv1.Job) string {
	if isIndexed(job) {
		return string(batchv1.IndexedCompletion)
	}
	return string(batchv1.NonIndexedCompletion)
}

// synced records one sync that reached decide.
func (m *Metrics) synced(job *batchv1.Job, action string, took time.Duration, err error) {
	if m == nil {
		return
	}
	result := resultSuccess
	if err != nil {
		result = resultError
	}
	mode := completionModeLabel(job)
	m.syncDuration.WithLabelValues(mode, result, action).Observe(took.Seconds())
	m.syncs.WithLabelValues(mode, result, action).Inc()
}

// syncAction is the action label of a sync with plan p, as upstream names
// them.
func syncAction(p *plan, satisfied bool) string {
	switch {
	case len(p.create) > 0:
		return actionPodsCreated
	case len(p.remove)+len(p.terminate) > 0:
		return actionPodsDeleted
	case !satisfied:
		return actionReconciling
	default:
		return actionTracking
	}
}

// podsCreatedFor records pod creations for job, whose status is the one
// this sync computed: with failed or terminating pods, the new pods
// replace them.
func (m *Metrics) podsCreatedFor(job *batchv1.Job, created, failed int) {
	if m == nil {
		return
	}
	st := &job.Status
	failedPods := st.Failed
	if u := st.UncountedTerminatedPods; u != nil {
		failedPods += int32(len(u.Failed))
	}
	reason := podCreateNew
	policy := job.Spec.PodReplacementPolicy
	switch {
	case policy != nil && *policy == batchv1.Failed && failedPods > 0:
		reason = podRecreateFailed
	case failedPods > 0 || (st.Terminating != nil && *st.Terminating > 0):
		reason = podRecreateTerminatingOrFailed
	}
	if created > 0 {
		m.podsCreated.WithLabelValues(reason, resultSucceeded).Add(float64(created))
	}
	if failed > 0 {
		m.podsCreated.WithLabelValues(reason, resultFailed).Add(float64(failed))
	}
}

// statusWritten records what a successful status write changed, from
// before (the status last stored) to the Job just written.
func (m *Metrics) statusWritten(job *batchv1.Job, before *batchv1.JobStatus, now time.Time) {
	if m == nil {
		return
	}
	st := &job.Status
	mode := completionModeLabel(job)
	succeeded := int(st.Succeeded - before.Succeeded)
	if isIndexed(job) && job.Spec.Completions != nil {
		// Upstream counts indexes, so a scale-down that drops completed
		// indexes does not count backwards.
		completions := int(*job.Spec.Completions)
		succeeded = parseIntervals(st.CompletedIndexes, completions).total() - parseIntervals(before.CompletedIndexes, completions).total()
		limit := backoffLimitGlobal
		if hasBackoffLimitPerIndex(job) {
			limit = backoffLimitPerIndex
		}
		if succeeded > 0 {
			m.finishedIndexes.WithLabelValues(resultSucceeded, limit).Add(float64(succeeded))
		}
		if hasBackoffLimitPerIndex(job) {
			failed := parseIntervals(deref(st.FailedIndexes), completions).total() - parseIntervals(deref(before.FailedIndexes), completions).total()
			if failed > 0 {
				m.finishedIndexes.WithLabelValues(resultFailed, limit).Add(float64(failed))
			}
		}
	}
	if succeeded > 0 {
		m.podsFinished.WithLabelValues(mode, resultSucceeded).Add(float64(succeeded))
	}
	if failed := st.Failed - before.Failed; failed > 0 {
		m.podsFinished.WithLabelValues(mode, resultFailed).Add(float64(failed))
	}

	for _, t := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed} {
		c := conditionTrue(st.Conditions, t)
		if c == nil || conditionTrue(before.Conditions, t) != nil {
			continue
		}
		result, reason := resultFailed, c.Reason
		if t == batchv1.JobComplete {
			result = resultSucceeded
		}
		m.jobsFinished.WithLabelValues(mode, result, reason).Inc()
		m.retries.WithLabelValues(mode, result).Observe(float64(st.Failed))
		if st.StartTime != nil {
			m.jobDuration.WithLabelValues(mode, result).Observe(max(now.Sub(st.StartTime.Time), 0).Seconds())
		}
	}
}

// failuresRecorded records the pod failures a status write made known: the
// failure policy action each matched and how long after the pod failed
// the controller noticed.
func (m *Metrics) failuresRecorded(fs []podFailure, now time.Time) {
	if m == nil {
		return
	}
	for _, f := range fs {
		if f.action != nil {
			m.policyActions.WithLabelValues(string(*f.action)).Inc()
		}
		if !f.finishedAt.IsZero() {
			m.failureDetection.Observe(max(now.Sub(f.finishedAt), 0).Seconds())
		}
	}
}

// trackingFinalizerChanged counts a pod becoming, or no longer being, a
// terminated pod with the tracking finalizer; nil stands for no pod.
func (m *Metrics) trackingFinalizerChanged(old, cur *corev1.Pod) {
	if m == nil {
		return
	}
	was, is := finishedWithTrackingFinalizer(old), finishedWithTrackingFinalizer(cur)
	switch {
	case is && !was:
		m.trackingFinalizer.WithLabelValues(trackingFinalizerAdd).Inc()
	case was && !is:
		m.trackingFinalizer.WithLabelValues(trackingFinalizerDelete).Inc()
	}
}

func finishedWithTrackingFinalizer(pod *corev1.Pod) bool {
	return pod != nil && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed) && hasTrackingFinalizer(pod)
}

// jobAdded counts a new Job managed by another controller.
func (m *Metrics) jobAdded(job *batchv1.Job) {
	if m == nil || job.Spec.ManagedBy == nil || *job.Spec.ManagedBy == batchv1.JobControllerName {
		return
	}
	m.external.WithLabelValues(*job.Spec.ManagedBy).Inc()
}

// podFailure is a failed pod a sync records for the first time.
type podFailure struct {
	action     *batchv1.PodFailurePolicyAction // the failure policy rule it matched, if any
	finishedAt time.Time                       // when its last container finished; zero if unknown
}

// lastFinish is when the pod's last container terminated, or zero.
func lastFinish(pod *corev1.Pod) time.Time {
	var t time.Time
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, s := range list {
			if term := s.State.Terminated; term != nil && term.FinishedAt.After(t) {
				t = term.FinishedAt.Time
			}
		}
	}
	return t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
