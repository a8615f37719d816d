package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
	"github.com/batchd/batchd/internal/metrics"
)

// TestCollectorOverInformers runs the Collector the way the control plane
// will: over a SharedInformerFactory's listers of a real batchd, with no
// controllers changing the objects, so the test sets each status itself.
func TestCollectorOverInformers(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithoutJobController(), clustertest.WithoutCronJobController(), clustertest.WithoutScheduler())
	client := c.Client()
	ctx := t.Context()

	ok := jobtest.Create(t, client, jobtest.New("ok", jobtest.Completions(1), jobtest.Parallelism(1)))
	bad := jobtest.Create(t, client, jobtest.New("bad", jobtest.Completions(1), jobtest.Parallelism(1)))
	finished := time.Unix(1767225600, 0)
	if _, err := jobtest.Finish(ctx, client, ok, true, finished); err != nil {
		t.Fatalf("finishing job ok: %v", err)
	}
	if _, err := jobtest.Finish(ctx, client, bad, false, finished); err != nil {
		t.Fatalf("failing job bad: %v", err)
	}
	cj, err := client.BatchV1().CronJobs(metav1.NamespaceDefault).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "yearly"},
		Spec: batchv1.CronJobSpec{
			Schedule: "0 0 1 1 *", TimeZone: ptr.To("UTC"), ConcurrencyPolicy: batchv1.ForbidConcurrent, Suspend: ptr.To(false),
			JobTemplate: batchv1.JobTemplateSpec{Spec: jobtest.New("unused").Spec},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating cronjob: %v", err)
	}
	pod, err := client.CoreV1().Pods(metav1.NamespaceDefault).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "ok-pod",
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: ok.Name, UID: ok.UID, Controller: ptr.To(true),
			}},
		},
		Spec: jobtest.New("unused").Spec.Template.Spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating pod: %v", err)
	}

	factory := informers.NewSharedInformerFactory(client, 0)
	collector, err := metrics.New(metrics.Config{
		Jobs:     factory.Batch().V1().Jobs().Lister(),
		CronJobs: factory.Batch().V1().CronJobs().Lister(),
		Pods:     factory.Core().V1().Pods().Lister(),
	})
	if err != nil {
		t.Fatalf("metrics.New: %v", err)
	}
	informerCtx, stopInformers := context.WithCancel(ctx)
	factory.Start(informerCtx.Done())
	defer factory.Shutdown() // after stopInformers: Shutdown waits for the informers to stop
	defer stopInformers()
	for typ, synced := range factory.WaitForCacheSync(informerCtx.Done()) {
		if !synced {
			t.Fatalf("informer for %v did not sync", typ)
		}
	}
	reg := registryWith(t, collector)

	next := time.Date(cj.CreationTimestamp.UTC().Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	want := fmt.Sprintf(`
# HELP kube_job_info Information about job.
# TYPE kube_job_info gauge
kube_job_info{job_name="bad",namespace="default"} 1
kube_job_info{job_name="ok",namespace="default"} 1
# HELP kube_job_spec_completions The desired number of successfully finished pods the job should be run with.
# TYPE kube_job_spec_completions gauge
kube_job_spec_completions{job_name="bad",namespace="default"} 1
kube_job_spec_completions{job_name="ok",namespace="default"} 1
# HELP kube_job_status_succeeded The number of pods which reached Phase Succeeded.
# TYPE kube_job_status_succeeded gauge
kube_job_status_succeeded{job_name="bad",namespace="default"} 0
kube_job_status_succeeded{job_name="ok",namespace="default"} 1
# HELP kube_job_status_failed The number of pods which reached Phase Failed and the reason for failure.
# TYPE kube_job_status_failed gauge
kube_job_status_failed{job_name="bad",namespace="default",reason=""} 1
kube_job_status_failed{job_name="bad",namespace="default",reason="BackoffLimitExceeded"} 0
kube_job_status_failed{job_name="bad",namespace="default",reason="DeadlineExceeded"} 0
kube_job_status_failed{job_name="bad",namespace="default",reason="Evicted"} 0
kube_job_status_failed{job_name="ok",namespace="default",reason=""} 0
# HELP kube_job_complete The job has completed its execution.
# TYPE kube_job_complete gauge
kube_job_complete{condition="false",job_name="ok",namespace="default"} 0
kube_job_complete{condition="true",job_name="ok",namespace="default"} 1
kube_job_complete{condition="unknown",job_name="ok",namespace="default"} 0
# HELP kube_job_failed The job has failed its execution.
# TYPE kube_job_failed gauge
kube_job_failed{condition="false",job_name="bad",namespace="default"} 0
kube_job_failed{condition="true",job_name="bad",namespace="default"} 1
kube_job_failed{condition="unknown",job_name="bad",namespace="default"} 0
# HELP kube_job_status_completion_time CompletionTime represents time when the job was completed.
# TYPE kube_job_status_completion_time gauge
kube_job_status_completion_time{job_name="ok",namespace="default"} %d
# HELP kube_cronjob_info Info about cronjob.
# TYPE kube_cronjob_info gauge
kube_cronjob_info{concurrency_policy="Forbid",cronjob="yearly",namespace="default",schedule="0 0 1 1 *",timezone="UTC"} 1
# HELP kube_cronjob_next_schedule_time Next time the cronjob should be scheduled. The time after lastScheduleTime, or after the cron job's creation time if it's never been scheduled. Use this to determine if the job is delayed.
# TYPE kube_cronjob_next_schedule_time gauge
kube_cronjob_next_schedule_time{cronjob="yearly",namespace="default"} %d
# HELP kube_pod_owner Information about the Pod's owner.
# TYPE kube_pod_owner gauge
kube_pod_owner{namespace="default",owner_is_controller="true",owner_kind="Job",owner_name="ok",pod="ok-pod",uid="%s"} 1
`, finished.Unix(), next.Unix(), pod.UID)
	names := []string{
		"kube_job_info", "kube_job_spec_completions", "kube_job_status_succeeded", "kube_job_status_failed",
		"kube_job_complete", "kube_job_failed", "kube_job_status_completion_time",
		"kube_cronjob_info", "kube_cronjob_next_schedule_time", "kube_pod_owner",
	}
	jobtest.Await(t, "the collector to report the stored objects", func(context.Context) (bool, string, error) {
		diff := diffFamilies(t, reg, want, names...)
		return diff == "", diff, nil
	})
}
