package metrics_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/metrics"
)

// t0 is 2026-01-01T00:00:00Z, 1767225600 in Unix seconds.
var t0 = time.Unix(1767225600, 0).UTC()

func at(d time.Duration) *metav1.Time { return ptr.To(metav1.NewTime(t0.Add(d))) }

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name + "-uid"), CreationTimestamp: metav1.NewTime(t0)}
}

func controllerRef(kind, name string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: ptr.To(true)}}
}

// newCollector serves objs through real listers over an indexer, the same
// caches a SharedInformerFactory fills.
func newCollector(t *testing.T, objs ...runtime.Object) *metrics.Collector {
	t.Helper()
	newIndexer := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	jobs, cronJobs, pods := newIndexer(), newIndexer(), newIndexer()
	for _, o := range objs {
		var idx cache.Indexer
		switch o.(type) {
		case *batchv1.Job:
			idx = jobs
		case *batchv1.CronJob:
			idx = cronJobs
		case *corev1.Pod:
			idx = pods
		default:
			t.Fatalf("unexpected object %T", o)
		}
		if err := idx.Add(o); err != nil {
			t.Fatalf("adding %T: %v", o, err)
		}
	}
	c, err := metrics.New(metrics.Config{
		Jobs:     batchlisters.NewJobLister(jobs),
		CronJobs: batchlisters.NewCronJobLister(cronJobs),
		Pods:     corelisters.NewPodLister(pods),
	})
	if err != nil {
		t.Fatalf("metrics.New: %v", err)
	}
	return c
}

func TestNewRequiresALister(t *testing.T) {
	if _, err := metrics.New(metrics.Config{}); err == nil {
		t.Errorf("metrics.New(Config{}) error = nil, want an error")
	}
}

func TestCollector(t *testing.T) {
	tests := []struct {
		name     string
		objs     []runtime.Object
		families []string
		want     string
	}{
		{
			name: "complete job with a CronJob owner",
			objs: []runtime.Object{&batchv1.Job{
				ObjectMeta: func() metav1.ObjectMeta {
					m := meta("done")
					m.OwnerReferences = controllerRef("CronJob", "nightly")
					return m
				}(),
				Spec: batchv1.JobSpec{Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](2), ActiveDeadlineSeconds: ptr.To[int64](600)},
				Status: batchv1.JobStatus{
					Succeeded: 3, StartTime: at(time.Minute), CompletionTime: at(3 * time.Minute),
					Conditions: []batchv1.JobCondition{
						{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue},
						{Type: batchv1.JobComplete, Status: corev1.ConditionTrue},
					},
				},
			}},
			families: []string{
				"kube_job_info", "kube_job_owner", "kube_job_created", "kube_job_spec_completions",
				"kube_job_spec_parallelism", "kube_job_spec_active_deadline_seconds",
				"kube_job_status_succeeded", "kube_job_status_failed", "kube_job_status_active",
				"kube_job_complete", "kube_job_failed", "kube_job_status_start_time", "kube_job_status_completion_time",
			},
			want: `
# HELP kube_job_info Information about job.
# TYPE kube_job_info gauge
kube_job_info{job_name="done",namespace="ns"} 1
# HELP kube_job_owner Information about the Job's owner.
# TYPE kube_job_owner gauge
kube_job_owner{job_name="done",namespace="ns",owner_is_controller="true",owner_kind="CronJob",owner_name="nightly"} 1
# HELP kube_job_created Unix creation timestamp
# TYPE kube_job_created gauge
kube_job_created{job_name="done",namespace="ns"} 1.7672256e+09
# HELP kube_job_spec_completions The desired number of successfully finished pods the job should be run with.
# TYPE kube_job_spec_completions gauge
kube_job_spec_completions{job_name="done",namespace="ns"} 3
# HELP kube_job_spec_parallelism The maximum desired number of pods the job should run at any given time.
# TYPE kube_job_spec_parallelism gauge
kube_job_spec_parallelism{job_name="done",namespace="ns"} 2
# HELP kube_job_spec_active_deadline_seconds The duration in seconds relative to the startTime that the job may be active before the system tries to terminate it.
# TYPE kube_job_spec_active_deadline_seconds gauge
kube_job_spec_active_deadline_seconds{job_name="done",namespace="ns"} 600
# HELP kube_job_status_succeeded The number of pods which reached Phase Succeeded.
# TYPE kube_job_status_succeeded gauge
kube_job_status_succeeded{job_name="done",namespace="ns"} 3
# HELP kube_job_status_failed The number of pods which reached Phase Failed and the reason for failure.
# TYPE kube_job_status_failed gauge
kube_job_status_failed{job_name="done",namespace="ns",reason=""} 0
# HELP kube_job_status_active The number of actively running pods.
# TYPE kube_job_status_active gauge
kube_job_status_active{job_name="done",namespace="ns"} 0
# HELP kube_job_complete The job has completed its execution.
# TYPE kube_job_complete gauge
kube_job_complete{condition="false",job_name="done",namespace="ns"} 0
kube_job_complete{condition="true",job_name="done",namespace="ns"} 1
kube_job_complete{condition="unknown",job_name="done",namespace="ns"} 0
# HELP kube_job_status_start_time StartTime represents time when the job was acknowledged by the Job Manager.
# TYPE kube_job_status_start_time gauge
kube_job_status_start_time{job_name="done",namespace="ns"} 1.76722566e+09
# HELP kube_job_status_completion_time CompletionTime represents time when the job was completed.
# TYPE kube_job_status_completion_time gauge
kube_job_status_completion_time{job_name="done",namespace="ns"} 1.76722578e+09
`,
		},
		{
			name: "running job without owner or optional spec fields",
			objs: []runtime.Object{&batchv1.Job{
				ObjectMeta: meta("run"),
				Status:     batchv1.JobStatus{Active: 2, StartTime: at(0)},
			}},
			families: []string{
				"kube_job_owner", "kube_job_spec_completions", "kube_job_spec_parallelism",
				"kube_job_spec_active_deadline_seconds", "kube_job_status_active", "kube_job_complete",
				"kube_job_failed", "kube_job_status_completion_time",
			},
			want: `
# HELP kube_job_owner Information about the Job's owner.
# TYPE kube_job_owner gauge
kube_job_owner{job_name="run",namespace="ns",owner_is_controller="",owner_kind="",owner_name=""} 1
# HELP kube_job_status_active The number of actively running pods.
# TYPE kube_job_status_active gauge
kube_job_status_active{job_name="run",namespace="ns"} 2
`,
		},
		{
			name: "job failed by backoff limit",
			objs: []runtime.Object{&batchv1.Job{
				ObjectMeta: meta("bad"),
				Status: batchv1.JobStatus{
					Failed: 4,
					Conditions: []batchv1.JobCondition{
						{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded},
						{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded},
					},
				},
			}},
			families: []string{"kube_job_status_failed", "kube_job_failed", "kube_job_complete"},
			want: `
# HELP kube_job_status_failed The number of pods which reached Phase Failed and the reason for failure.
# TYPE kube_job_status_failed gauge
kube_job_status_failed{job_name="bad",namespace="ns",reason="BackoffLimitExceeded"} 1
kube_job_status_failed{job_name="bad",namespace="ns",reason="DeadlineExceeded"} 0
kube_job_status_failed{job_name="bad",namespace="ns",reason="Evicted"} 0
# HELP kube_job_failed The job has failed its execution.
# TYPE kube_job_failed gauge
kube_job_failed{condition="false",job_name="bad",namespace="ns"} 0
kube_job_failed{condition="true",job_name="bad",namespace="ns"} 1
kube_job_failed{condition="unknown",job_name="bad",namespace="ns"} 0
`,
		},
		{
			name: "job failed by pod failure policy reports the count without a reason",
			objs: []runtime.Object{&batchv1.Job{
				ObjectMeta: meta("pfp"),
				Status: batchv1.JobStatus{
					Failed:     2,
					Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonPodFailurePolicy}},
				},
			}},
			families: []string{"kube_job_status_failed"},
			want: `
# HELP kube_job_status_failed The number of pods which reached Phase Failed and the reason for failure.
# TYPE kube_job_status_failed gauge
kube_job_status_failed{job_name="pfp",namespace="ns",reason=""} 2
kube_job_status_failed{job_name="pfp",namespace="ns",reason="BackoffLimitExceeded"} 0
kube_job_status_failed{job_name="pfp",namespace="ns",reason="DeadlineExceeded"} 0
kube_job_status_failed{job_name="pfp",namespace="ns",reason="Evicted"} 0
`,
		},
		{
			name:     "job with failed pods but no Failed condition yet",
			objs:     []runtime.Object{&batchv1.Job{ObjectMeta: meta("retry"), Status: batchv1.JobStatus{Failed: 1, Active: 1}}},
			families: []string{"kube_job_status_failed"},
			want: `
# HELP kube_job_status_failed The number of pods which reached Phase Failed and the reason for failure.
# TYPE kube_job_status_failed gauge
kube_job_status_failed{job_name="retry",namespace="ns",reason=""} 1
`,
		},
		{
			name: "success duration histogram counts Complete jobs per namespace",
			objs: []runtime.Object{
				&batchv1.Job{ObjectMeta: meta("fast"), Status: batchv1.JobStatus{StartTime: at(0), CompletionTime: at(2 * time.Second),
					Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}},
				&batchv1.Job{ObjectMeta: meta("slow"), Status: batchv1.JobStatus{StartTime: at(0), CompletionTime: at(90 * time.Second),
					Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}},
				&batchv1.Job{ObjectMeta: meta("failed"), Status: batchv1.JobStatus{StartTime: at(0), CompletionTime: at(time.Second),
					Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}}},
			},
			families: []string{"batchd_job_success_duration_seconds"},
			want: `
# HELP batchd_job_success_duration_seconds Time from status.startTime to status.completionTime of the Complete Jobs currently stored (not a running total: Jobs removed by TTL or cleanup drop out).
# TYPE batchd_job_success_duration_seconds histogram
batchd_job_success_duration_seconds_bucket{namespace="ns",le="1"} 0
batchd_job_success_duration_seconds_bucket{namespace="ns",le="2.5"} 1
batchd_job_success_duration_seconds_bucket{namespace="ns",le="5"} 1
batchd_job_success_duration_seconds_bucket{namespace="ns",le="10"} 1
batchd_job_success_duration_seconds_bucket{namespace="ns",le="30"} 1
batchd_job_success_duration_seconds_bucket{namespace="ns",le="60"} 1
batchd_job_success_duration_seconds_bucket{namespace="ns",le="120"} 2
batchd_job_success_duration_seconds_bucket{namespace="ns",le="300"} 2
batchd_job_success_duration_seconds_bucket{namespace="ns",le="600"} 2
batchd_job_success_duration_seconds_bucket{namespace="ns",le="1200"} 2
batchd_job_success_duration_seconds_bucket{namespace="ns",le="1800"} 2
batchd_job_success_duration_seconds_bucket{namespace="ns",le="3600"} 2
batchd_job_success_duration_seconds_bucket{namespace="ns",le="7200"} 2
batchd_job_success_duration_seconds_bucket{namespace="ns",le="14400"} 2
batchd_job_success_duration_seconds_bucket{namespace="ns",le="28800"} 2
batchd_job_success_duration_seconds_bucket{namespace="ns",le="86400"} 2
batchd_job_success_duration_seconds_bucket{namespace="ns",le="+Inf"} 2
batchd_job_success_duration_seconds_sum{namespace="ns"} 92
batchd_job_success_duration_seconds_count{namespace="ns"} 2
`,
		},
		{
			name: "cronjobs: next schedule after last run, after creation, in a time zone, and none when suspended",
			objs: []runtime.Object{
				&batchv1.CronJob{
					ObjectMeta: meta("every5"),
					Spec:       batchv1.CronJobSpec{Schedule: "*/5 * * * *", ConcurrencyPolicy: batchv1.ForbidConcurrent, Suspend: ptr.To(false), StartingDeadlineSeconds: ptr.To[int64](30)},
					Status: batchv1.CronJobStatus{
						LastScheduleTime: at(2 * time.Minute), LastSuccessfulTime: at(3 * time.Minute),
						Active: []corev1.ObjectReference{{Kind: "Job", Namespace: "ns", Name: "every5-1"}},
					},
				},
				&batchv1.CronJob{
					ObjectMeta: meta("tokyo"),
					Spec:       batchv1.CronJobSpec{Schedule: "0 10 * * *", TimeZone: ptr.To("Asia/Tokyo"), ConcurrencyPolicy: batchv1.AllowConcurrent, Suspend: ptr.To(false)},
				},
				&batchv1.CronJob{
					ObjectMeta: meta("paused"),
					Spec:       batchv1.CronJobSpec{Schedule: "@hourly", ConcurrencyPolicy: batchv1.ReplaceConcurrent, Suspend: ptr.To(true)},
				},
			},
			families: []string{
				"kube_cronjob_info", "kube_cronjob_next_schedule_time", "kube_cronjob_status_last_schedule_time",
				"kube_cronjob_status_last_successful_time", "kube_cronjob_status_active", "kube_cronjob_spec_suspend",
				"kube_cronjob_spec_starting_deadline_seconds",
			},
			want: `
# HELP kube_cronjob_info Info about cronjob.
# TYPE kube_cronjob_info gauge
kube_cronjob_info{concurrency_policy="Allow",cronjob="tokyo",namespace="ns",schedule="0 10 * * *",timezone="Asia/Tokyo"} 1
kube_cronjob_info{concurrency_policy="Forbid",cronjob="every5",namespace="ns",schedule="*/5 * * * *",timezone="local"} 1
kube_cronjob_info{concurrency_policy="Replace",cronjob="paused",namespace="ns",schedule="@hourly",timezone="local"} 1
# HELP kube_cronjob_next_schedule_time Next time the cronjob should be scheduled. The time after lastScheduleTime, or after the cron job's creation time if it's never been scheduled. Use this to determine if the job is delayed.
# TYPE kube_cronjob_next_schedule_time gauge
kube_cronjob_next_schedule_time{cronjob="every5",namespace="ns"} 1.7672259e+09
kube_cronjob_next_schedule_time{cronjob="tokyo",namespace="ns"} 1.7672292e+09
# HELP kube_cronjob_status_last_schedule_time LastScheduleTime keeps information of when was the last time the job was successfully scheduled.
# TYPE kube_cronjob_status_last_schedule_time gauge
kube_cronjob_status_last_schedule_time{cronjob="every5",namespace="ns"} 1.76722572e+09
# HELP kube_cronjob_status_last_successful_time LastSuccessfulTime keeps information of when was the last time the job was completed successfully.
# TYPE kube_cronjob_status_last_successful_time gauge
kube_cronjob_status_last_successful_time{cronjob="every5",namespace="ns"} 1.76722578e+09
# HELP kube_cronjob_status_active Active holds pointers to currently running jobs.
# TYPE kube_cronjob_status_active gauge
kube_cronjob_status_active{cronjob="every5",namespace="ns"} 1
kube_cronjob_status_active{cronjob="paused",namespace="ns"} 0
kube_cronjob_status_active{cronjob="tokyo",namespace="ns"} 0
# HELP kube_cronjob_spec_suspend Suspend flag tells the controller to suspend subsequent executions.
# TYPE kube_cronjob_spec_suspend gauge
kube_cronjob_spec_suspend{cronjob="every5",namespace="ns"} 0
kube_cronjob_spec_suspend{cronjob="paused",namespace="ns"} 1
kube_cronjob_spec_suspend{cronjob="tokyo",namespace="ns"} 0
# HELP kube_cronjob_spec_starting_deadline_seconds Deadline in seconds for starting the job if it misses scheduled time for any reason.
# TYPE kube_cronjob_spec_starting_deadline_seconds gauge
kube_cronjob_spec_starting_deadline_seconds{cronjob="every5",namespace="ns"} 30
`,
		},
		{
			name:     "cronjob with an unparsable schedule has no next schedule time",
			objs:     []runtime.Object{&batchv1.CronJob{ObjectMeta: meta("broken"), Spec: batchv1.CronJobSpec{Schedule: "not a schedule", Suspend: ptr.To(false)}}},
			families: []string{"kube_cronjob_next_schedule_time"},
			want:     ``,
		},
		{
			name: "running job pod",
			objs: []runtime.Object{&corev1.Pod{
				ObjectMeta: func() metav1.ObjectMeta {
					m := meta("run-abc")
					m.OwnerReferences = controllerRef("Job", "run")
					return m
				}(),
				Spec: corev1.PodSpec{NodeName: "node-1"},
				Status: corev1.PodStatus{
					Phase: corev1.PodRunning, HostIP: "10.0.0.1", PodIP: "10.0.0.1", StartTime: at(time.Second),
					Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
					ContainerStatuses: []corev1.ContainerStatus{
						{Name: "main", RestartCount: 2, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0)}}},
						{Name: "side", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}},
					},
				},
			}},
			families: []string{
				"kube_pod_info", "kube_pod_owner", "kube_pod_status_phase", "kube_pod_status_ready",
				"kube_pod_container_status_restarts_total", "kube_pod_container_status_running",
				"kube_pod_container_status_waiting_reason", "kube_pod_container_status_terminated_reason",
				"kube_pod_start_time", "kube_pod_completion_time",
			},
			want: `
# HELP kube_pod_info Information about pod.
# TYPE kube_pod_info gauge
kube_pod_info{created_by_kind="Job",created_by_name="run",host_ip="10.0.0.1",host_network="false",namespace="ns",node="node-1",pod="run-abc",pod_ip="10.0.0.1",priority_class="",uid="run-abc-uid"} 1
# HELP kube_pod_owner Information about the Pod's owner.
# TYPE kube_pod_owner gauge
kube_pod_owner{namespace="ns",owner_is_controller="true",owner_kind="Job",owner_name="run",pod="run-abc",uid="run-abc-uid"} 1
# HELP kube_pod_status_phase The pods current phase.
# TYPE kube_pod_status_phase gauge
kube_pod_status_phase{namespace="ns",phase="Failed",pod="run-abc",uid="run-abc-uid"} 0
kube_pod_status_phase{namespace="ns",phase="Pending",pod="run-abc",uid="run-abc-uid"} 0
kube_pod_status_phase{namespace="ns",phase="Running",pod="run-abc",uid="run-abc-uid"} 1
kube_pod_status_phase{namespace="ns",phase="Succeeded",pod="run-abc",uid="run-abc-uid"} 0
kube_pod_status_phase{namespace="ns",phase="Unknown",pod="run-abc",uid="run-abc-uid"} 0
# HELP kube_pod_status_ready Describes whether the pod is ready to serve requests.
# TYPE kube_pod_status_ready gauge
kube_pod_status_ready{condition="false",namespace="ns",pod="run-abc",uid="run-abc-uid"} 0
kube_pod_status_ready{condition="true",namespace="ns",pod="run-abc",uid="run-abc-uid"} 1
kube_pod_status_ready{condition="unknown",namespace="ns",pod="run-abc",uid="run-abc-uid"} 0
# HELP kube_pod_container_status_restarts_total The number of container restarts per container.
# TYPE kube_pod_container_status_restarts_total counter
kube_pod_container_status_restarts_total{container="main",namespace="ns",pod="run-abc",uid="run-abc-uid"} 2
kube_pod_container_status_restarts_total{container="side",namespace="ns",pod="run-abc",uid="run-abc-uid"} 0
# HELP kube_pod_container_status_running Describes whether the container is currently in running state.
# TYPE kube_pod_container_status_running gauge
kube_pod_container_status_running{container="main",namespace="ns",pod="run-abc",uid="run-abc-uid"} 1
kube_pod_container_status_running{container="side",namespace="ns",pod="run-abc",uid="run-abc-uid"} 0
# HELP kube_pod_container_status_waiting_reason Describes the reason the container is currently in waiting state.
# TYPE kube_pod_container_status_waiting_reason gauge
kube_pod_container_status_waiting_reason{container="side",namespace="ns",pod="run-abc",reason="CrashLoopBackOff",uid="run-abc-uid"} 1
# HELP kube_pod_start_time Start time in unix timestamp for a pod.
# TYPE kube_pod_start_time gauge
kube_pod_start_time{namespace="ns",pod="run-abc",uid="run-abc-uid"} 1.767225601e+09
`,
		},
		{
			name: "failed pod without owner and without phase series before it has a phase",
			objs: []runtime.Object{
				&corev1.Pod{
					ObjectMeta: meta("oom"),
					Status: corev1.PodStatus{
						Phase: corev1.PodFailed,
						ContainerStatuses: []corev1.ContainerStatus{
							{Name: "a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.NewTime(t0.Add(time.Minute))}}},
							{Name: "b", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", FinishedAt: metav1.NewTime(t0.Add(2 * time.Minute))}}},
						},
					},
				},
				&corev1.Pod{ObjectMeta: meta("new")},
			},
			families: []string{"kube_pod_owner", "kube_pod_status_phase", "kube_pod_container_status_terminated_reason", "kube_pod_completion_time"},
			want: `
# HELP kube_pod_owner Information about the Pod's owner.
# TYPE kube_pod_owner gauge
kube_pod_owner{namespace="ns",owner_is_controller="",owner_kind="",owner_name="",pod="new",uid="new-uid"} 1
kube_pod_owner{namespace="ns",owner_is_controller="",owner_kind="",owner_name="",pod="oom",uid="oom-uid"} 1
# HELP kube_pod_status_phase The pods current phase.
# TYPE kube_pod_status_phase gauge
kube_pod_status_phase{namespace="ns",phase="Failed",pod="oom",uid="oom-uid"} 1
kube_pod_status_phase{namespace="ns",phase="Pending",pod="oom",uid="oom-uid"} 0
kube_pod_status_phase{namespace="ns",phase="Running",pod="oom",uid="oom-uid"} 0
kube_pod_status_phase{namespace="ns",phase="Succeeded",pod="oom",uid="oom-uid"} 0
kube_pod_status_phase{namespace="ns",phase="Unknown",pod="oom",uid="oom-uid"} 0
# HELP kube_pod_container_status_terminated_reason Describes the reason the container is currently in terminated state.
# TYPE kube_pod_container_status_terminated_reason gauge
kube_pod_container_status_terminated_reason{container="a",namespace="ns",pod="oom",reason="OOMKilled",uid="oom-uid"} 1
kube_pod_container_status_terminated_reason{container="b",namespace="ns",pod="oom",reason="Completed",uid="oom-uid"} 1
# HELP kube_pod_completion_time Completion time in unix timestamp for a pod.
# TYPE kube_pod_completion_time gauge
kube_pod_completion_time{namespace="ns",pod="oom",uid="oom-uid"} 1.76722572e+09
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compareFamilies(t, registryWith(t, newCollector(t, tt.objs...)), tt.want, tt.families...)
		})
	}
}

// An agent has only Pods: the Collector then describes and emits no Job or
// CronJob family.
func TestCollectorWithOnlyPods(t *testing.T) {
	pods := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if err := pods.Add(&corev1.Pod{ObjectMeta: meta("p")}); err != nil {
		t.Fatalf("adding pod: %v", err)
	}
	c, err := metrics.New(metrics.Config{Pods: corelisters.NewPodLister(pods)})
	if err != nil {
		t.Fatalf("metrics.New: %v", err)
	}
	mfs, err := registryWith(t, c).Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	var got []string
	for _, mf := range mfs {
		got = append(got, mf.GetName())
	}
	want := []string{"kube_pod_created", "kube_pod_info", "kube_pod_owner"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("families mismatch (-want +got):\n%s", diff)
	}
}
