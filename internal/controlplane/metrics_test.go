package controlplane_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
	"github.com/batchd/batchd/internal/metrics/metricstest"
)

// scrape reads the server's /metrics as an admin and parses it.
func scrape(ctx context.Context, c kubernetes.Interface) (metricstest.Families, error) {
	raw, err := c.CoreV1().RESTClient().Get().AbsPath("/metrics").SetHeader("Accept", "text/plain").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scraping /metrics: %w", err)
	}
	return metricstest.Parse(raw)
}

// expectation is one sample a scrape must hold; absent means it must not
// be there.
type expectation struct {
	name   string
	labels []string
	want   float64
	absent bool
}

func (e expectation) String() string {
	return fmt.Sprintf("%s{%s}", e.name, strings.Join(e.labels, ","))
}

// check returns what differs from the expectations.
func check(f metricstest.Families, exps []expectation) []string {
	var diffs []string
	for _, e := range exps {
		got, ok := f.Value(e.name, e.labels...)
		switch {
		case e.absent && ok:
			diffs = append(diffs, fmt.Sprintf("%v = %v, want no sample", e, got))
		case !e.absent && !ok:
			diffs = append(diffs, fmt.Sprintf("%v missing, want %v", e, e.want))
		case !e.absent && got != e.want:
			diffs = append(diffs, fmt.Sprintf("%v = %v, want %v", e, got, e.want))
		}
	}
	return diffs
}

// awaitMetrics scrapes until every expectation holds: the job controller's
// counters follow informer events, so they may trail the Job's status by a
// moment.
func awaitMetrics(t *testing.T, c kubernetes.Interface, what string, exps func() []expectation) {
	t.Helper()
	var diffs []string
	defer func() {
		if t.Failed() {
			t.Logf("last differences:\n%s", strings.Join(diffs, "\n"))
		}
	}()
	jobtest.Await(t, what, func(ctx context.Context) (bool, string, error) {
		fams, err := scrape(ctx, c)
		if err != nil {
			return false, "", err
		}
		diffs = check(fams, exps())
		return len(diffs) == 0, strings.Join(diffs, "\n"), nil
	})
}

// TestMetricsFollowJob scrapes /metrics while a Job runs and after it
// completes, and checks the kube-state-metrics families against the Job's
// status as read from the API, and the job_controller_* counters against
// what happened to its pods.
func TestMetricsFollowJob(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithJobBatchPeriod(-1))
	client := c.Client()
	ctx := t.Context()
	node := &jobtest.Node{Client: client}

	job := jobtest.Create(t, client, jobtest.New("report",
		jobtest.Completions(3), jobtest.Parallelism(2), jobtest.BackoffLimit(6),
		jobtest.PodFailurePolicy(jobtest.OnExitCodes(batchv1.PodFailurePolicyActionCount, "", batchv1.PodFailurePolicyOnExitCodesOpIn, 3)),
	))
	pods := jobtest.AwaitActive(t, client, job, 2)
	for _, p := range pods {
		if err := node.Run(ctx, p); err != nil {
			t.Fatalf("running %s: %v", p.Name, err)
		}
	}
	job = jobtest.AwaitJob(t, client, job, "2 pods ready", func(j *batchv1.Job) bool {
		return j.Status.Ready != nil && *j.Status.Ready == 2 && j.Status.StartTime != nil
	})
	jl := []string{"namespace=" + job.Namespace, "job_name=" + job.Name}
	with := func(extra ...string) []string { return append(append([]string{}, jl...), extra...) }
	start := float64(job.Status.StartTime.Unix())

	t.Run("during", func(t *testing.T) {
		awaitMetrics(t, client, "metrics of the running job", func() []expectation {
			exps := []expectation{
				{name: "kube_job_info", labels: jl, want: 1},
				{name: "kube_job_spec_completions", labels: jl, want: 3},
				{name: "kube_job_spec_parallelism", labels: jl, want: 2},
				{name: "kube_job_status_active", labels: jl, want: float64(job.Status.Active)},
				{name: "kube_job_status_succeeded", labels: jl, want: 0},
				{name: "kube_job_status_failed", labels: jl, want: 0},
				{name: "kube_job_status_start_time", labels: jl, want: start},
				{name: "kube_job_status_completion_time", labels: jl, absent: true},
				{name: "kube_job_complete", labels: with("condition=true"), absent: true},
				{name: "kube_job_owner", labels: with("owner_kind="), want: 1},
				{name: "job_controller_job_pods_creation_total", labels: []string{"reason=new", "status=succeeded"}, want: 2},
				{name: "job_controller_jobs_finished_total", absent: true},
			}
			for _, p := range pods {
				exps = append(exps, expectation{name: "kube_pod_status_phase", labels: []string{"namespace=" + p.Namespace, "pod=" + p.Name, "phase=Running"}, want: 1})
			}
			return exps
		})
		fams, err := scrape(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := fams.Value("job_controller_job_syncs_total", "completion_mode=NonIndexed", "result=success", "action=pods_created"); !ok || n < 1 {
			t.Errorf("job_controller_job_syncs_total{action=pods_created} = %v, %v; want at least 1", n, ok)
		}
		if n, ok := fams.Value("job_controller_job_sync_duration_seconds", "completion_mode=NonIndexed", "result=success", "action=pods_created"); !ok || n < 1 {
			t.Errorf("job_controller_job_sync_duration_seconds{action=pods_created} has %v samples, %v; want at least 1", n, ok)
		}
	})

	// One pod fails with an exit code the policy counts; its replacement
	// and the other two succeed.
	if err := node.Fail(ctx, pods[0], 3); err != nil {
		t.Fatalf("failing %s: %v", pods[0].Name, err)
	}
	if err := node.Succeed(ctx, pods[1]); err != nil {
		t.Fatalf("succeeding %s: %v", pods[1].Name, err)
	}
	done := map[string]bool{pods[0].Name: true, pods[1].Name: true}
	jobtest.Await(t, "the replacements succeed", func(ctx context.Context) (bool, string, error) {
		all, err := jobtest.PodsOf(ctx, client, job)
		if err != nil {
			return false, "", err
		}
		for _, p := range all {
			if done[p.Name] || p.Status.Phase != corev1.PodPending {
				continue
			}
			done[p.Name] = true
			if err := node.Succeed(ctx, p); err != nil {
				return false, "", err
			}
		}
		return len(done) == 4, jobtest.DescribePods(all), nil
	})
	job = jobtest.AwaitJob(t, client, job, "complete", jobtest.Complete)
	if job.Status.Succeeded != 3 || job.Status.Failed != 1 {
		t.Fatalf("job status: %s; want 3 succeeded, 1 failed", jobtest.DescribeStatus(job))
	}

	t.Run("after", func(t *testing.T) {
		awaitMetrics(t, client, "metrics of the complete job", func() []expectation {
			return []expectation{
				{name: "kube_job_status_active", labels: jl, want: 0},
				{name: "kube_job_status_succeeded", labels: jl, want: float64(job.Status.Succeeded)},
				{name: "kube_job_status_failed", labels: with("reason="), want: float64(job.Status.Failed)},
				{name: "kube_job_complete", labels: with("condition=true"), want: 1},
				{name: "kube_job_complete", labels: with("condition=false"), want: 0},
				{name: "kube_job_failed", labels: with("condition=true"), absent: true},
				{name: "kube_job_status_start_time", labels: jl, want: start},
				{name: "kube_job_status_completion_time", labels: jl, want: float64(job.Status.CompletionTime.Unix())},
				{name: "job_controller_jobs_finished_total", labels: []string{"completion_mode=NonIndexed", "result=succeeded", "reason=CompletionsReached"}, want: 1},
				{name: "job_controller_job_pods_finished_total", labels: []string{"completion_mode=NonIndexed", "result=succeeded"}, want: 3},
				{name: "job_controller_job_pods_finished_total", labels: []string{"completion_mode=NonIndexed", "result=failed"}, want: 1},
				{name: "job_controller_pod_failures_handled_by_failure_policy_total", labels: []string{"action=Count"}, want: 1},
				// Both later pods came after a failure; with a pod failure
				// policy, podReplacementPolicy defaults to Failed (JOB-DEF).
				{name: "job_controller_job_pods_creation_total", labels: []string{"reason=recreate_failed", "status=succeeded"}, want: 2},
				{name: "job_controller_terminated_pods_tracking_finalizer_total", labels: []string{"event=add"}, want: 4},
				{name: "job_controller_terminated_pods_tracking_finalizer_total", labels: []string{"event=delete"}, want: 4},
				{name: "batchd_job_retries", labels: []string{"completion_mode=NonIndexed", "result=succeeded"}, want: 1},
				{name: "batchd_job_duration_seconds", labels: []string{"completion_mode=NonIndexed", "result=succeeded"}, want: 1},
				{name: "batchd_job_pod_failure_detection_seconds", want: 1},
			}
		})
		fams, err := scrape(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		// The retries histogram observed status.failed once: its sum is 1.
		for _, m := range fams["batchd_job_retries"].GetMetric() {
			if got := m.GetHistogram().GetSampleSum(); got != float64(job.Status.Failed) {
				t.Errorf("batchd_job_retries sum = %v, want %d", got, job.Status.Failed)
			}
		}
		// The Job ran from startTime to its completion: the duration
		// observed is within that span (seconds are the API's resolution).
		span := job.Status.CompletionTime.Sub(job.Status.StartTime.Time) + time.Second
		for _, m := range fams["batchd_job_duration_seconds"].GetMetric() {
			if got := m.GetHistogram().GetSampleSum(); got < 0 || got > span.Seconds()+1 {
				t.Errorf("batchd_job_duration_seconds sum = %vs, want within the job's %v", got, span)
			}
		}
	})
}
