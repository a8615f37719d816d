package batch_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchclient "k8s.io/client-go/kubernetes/typed/batch/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
)

// The tests here go through the real API server on real etcd: the
// registry's rules as clients see them, status codes and messages
// included. The rules themselves are tested row by row in package batch.

// kubectlJob is the body `kubectl create job NAME --image=busybox -- true`
// sends: no selector, no labels, no counts.
func kubectlJob(name string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: name, Image: "busybox", Command: []string{"true"}}},
		}}},
	}
}

// invalid checks that err is a 422 Invalid with message and, as the first
// cause, the field path wantField.
func invalid(t *testing.T, err error, message, wantField string) {
	t.Helper()
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		t.Fatalf("error %v (%T) is not an API status", err, err)
	}
	s := st.Status()
	if s.Code != http.StatusUnprocessableEntity || s.Reason != metav1.StatusReasonInvalid {
		t.Errorf("code %d reason %q, want 422 Invalid", s.Code, s.Reason)
	}
	if !strings.HasPrefix(s.Message, message) {
		t.Errorf("message = %q, want it to start with %q", s.Message, message)
	}
	if s.Details == nil || len(s.Details.Causes) == 0 || s.Details.Causes[0].Field != wantField {
		t.Errorf("details = %+v, want a first cause at %s", s.Details, wantField)
	}
}

// update applies change to the latest version of the named Job, again
// if a controller wrote it in between.
func update(t *testing.T, jobs batchclient.JobInterface, name string, change func(*batchv1.Job)) (*batchv1.Job, error) {
	t.Helper()
	var out *batchv1.Job
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		job, err := jobs.Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(job)
		out, err = jobs.Update(t.Context(), job, metav1.UpdateOptions{})
		return err
	})
	return out, err
}

func TestJobAPI(t *testing.T) {
	c := clustertest.Start(t)
	jobs := c.Client().BatchV1().Jobs("default")

	t.Run("JOB-SEL-01 a kubectl create job body comes back with a selector labels and defaults", func(t *testing.T) {
		created, err := jobs.Create(t.Context(), kubectlJob("pi"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := jobs.Get(t.Context(), "pi", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The Job controller may have written the status since.
		if diff := cmp.Diff(created.Spec, got.Spec); diff != "" {
			t.Errorf("stored spec differs from the create response (-create +get):\n%s", diff)
		}
		uid := string(got.UID)
		wantLabels := map[string]string{
			"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
			"controller-uid": uid, "job-name": "pi",
		}
		if diff := cmp.Diff(wantLabels, got.Spec.Template.Labels); diff != "" {
			t.Errorf("JOB-SEL-01 template labels (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(&metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": uid}}, got.Spec.Selector); diff != "" {
			t.Errorf("JOB-SEL-02 selector (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantLabels, got.Labels); diff != "" {
			t.Errorf("JOB-DEF-09 job labels (-want +got):\n%s", diff)
		}
		s := got.Spec
		for _, f := range []struct {
			name      string
			got, want any
		}{
			{"completions", s.Completions, ptr.To[int32](1)},
			{"parallelism", s.Parallelism, ptr.To[int32](1)},
			{"backoffLimit", s.BackoffLimit, ptr.To[int32](6)},
			{"completionMode", s.CompletionMode, ptr.To(batchv1.NonIndexedCompletion)},
			{"suspend", s.Suspend, ptr.To(false)},
			{"manualSelector", s.ManualSelector, ptr.To(false)},
			{"podReplacementPolicy", s.PodReplacementPolicy, ptr.To(batchv1.TerminatingOrFailed)},
			{"template.spec.terminationGracePeriodSeconds", s.Template.Spec.TerminationGracePeriodSeconds, ptr.To[int64](30)},
		} {
			if diff := cmp.Diff(f.want, f.got); diff != "" {
				t.Errorf("spec.%s (-want +got):\n%s", f.name, diff)
			}
		}
		if created.Generation != 1 || created.Status.StartTime != nil {
			t.Errorf("JOB-DEF-10 generation = %d startTime = %v, want 1 and none", created.Generation, created.Status.StartTime)
		}
	})

	t.Run("JOB-VAL-01 a name that is not a DNS subdomain is refused", func(t *testing.T) {
		job := kubectlJob("Pi_1")
		job.Spec.Template.Spec.Containers[0].Name = "pi"
		_, err := jobs.Create(t.Context(), job, metav1.CreateOptions{})
		invalid(t, err, `Job.batch "Pi_1" is invalid: metadata.name: Invalid value: "Pi_1": a lowercase RFC 1123 subdomain`, "metadata.name")
	})

	t.Run("JOB-VAL-04 restartPolicy Always is refused with upstream's message", func(t *testing.T) {
		job := kubectlJob("always")
		job.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		_, err := jobs.Create(t.Context(), job, metav1.CreateOptions{})
		invalid(t, err, `Job.batch "always" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`,
			"spec.template.spec.restartPolicy")
	})

	t.Run("JOB-UPD-03 changing completions returns 422 with the field path", func(t *testing.T) {
		if _, err := jobs.Create(t.Context(), kubectlJob("fixed"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := update(t, jobs, "fixed", func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](2) })
		invalid(t, err, `Job.batch "fixed" is invalid: spec.completions: Invalid value: 2: field is immutable`, "spec.completions")
	})

	t.Run("JOB-UPD-07 a suspended Job may change its scheduling directives and resources", func(t *testing.T) {
		job := kubectlJob("queued")
		job.Spec.Suspend = ptr.To(true)
		if _, err := jobs.Create(t.Context(), job, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		job, err := update(t, jobs, "queued", func(j *batchv1.Job) {
			j.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
			j.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
			}
		})
		if err != nil {
			t.Fatalf("JOB-UPD-07 updating a suspended Job's template: %v", err)
		}
		if job.Generation != 2 {
			t.Errorf("JOB-DEF-11 generation after a spec change = %d, want 2", job.Generation)
		}

		if _, err := update(t, jobs, "queued", func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(false) }); err != nil {
			t.Fatalf("resuming: %v", err)
		}
		_, err = update(t, jobs, "queued", func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "hdd"} })
		invalid(t, err, `Job.batch "queued" is invalid: spec.template: Invalid value: `, "spec.template")
		if err != nil && !strings.HasSuffix(err.Error(), ": field is immutable") {
			t.Errorf("JOB-UPD-06 error = %q, want it to end with %q", err, ": field is immutable")
		}
	})

	t.Run("JOB-SVAL-03 the status subresource refuses a decreasing failed counter", func(t *testing.T) {
		job := kubectlJob("external")
		job.Spec.ManagedBy = ptr.To("example.com/queue") // no built-in controller writes its status
		job, err := jobs.Create(t.Context(), job, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		job.Status.StartTime, job.Status.Active, job.Status.Failed = ptr.To(metav1.Now()), 1, 2
		if job, err = jobs.UpdateStatus(t.Context(), job, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("first status write: %v", err)
		}
		job.Status.Failed = 1
		_, err = jobs.UpdateStatus(t.Context(), job, metav1.UpdateOptions{})
		invalid(t, err, `Job.batch "external" is invalid: status.failed: Invalid value: 1: cannot decrease the failed counter`, "status.failed")
	})
}

func TestCronJobAPI(t *testing.T) {
	c := clustertest.Start(t)
	cronJobs := c.Client().BatchV1().CronJobs("default")
	cronJob := func(name, schedule string) *batchv1.CronJob {
		return &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.CronJobSpec{Schedule: schedule, JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template: kubectlJob(name).Spec.Template,
			}}},
		}
	}

	t.Run("CRON-DEF-01 a CronJob comes back with its defaults and an undefaulted Job template", func(t *testing.T) {
		got, err := cronJobs.Create(t.Context(), cronJob("hello", "*/5 * * * *"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s := got.Spec
		if s.ConcurrencyPolicy != batchv1.AllowConcurrent || !cmp.Equal(s.Suspend, ptr.To(false)) ||
			!cmp.Equal(s.SuccessfulJobsHistoryLimit, ptr.To[int32](3)) || !cmp.Equal(s.FailedJobsHistoryLimit, ptr.To[int32](1)) {
			t.Errorf("CRON-DEF-01 defaults: concurrencyPolicy %q suspend %v limits %v %v", s.ConcurrencyPolicy, s.Suspend,
				s.SuccessfulJobsHistoryLimit, s.FailedJobsHistoryLimit)
		}
		if tmpl := s.JobTemplate.Spec; tmpl.Parallelism != nil || tmpl.Completions != nil || tmpl.BackoffLimit != nil || tmpl.Selector != nil {
			t.Errorf("CRON-DEF-03 job template was Job-defaulted: %+v", tmpl)
		}
	})

	t.Run("CRON-VAL-03 a schedule that does not parse is refused with the parser's error", func(t *testing.T) {
		_, err := cronJobs.Create(t.Context(), cronJob("bad", "* * *"), metav1.CreateOptions{})
		invalid(t, err, `CronJob.batch "bad" is invalid: spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]`, "spec.schedule")
	})

	t.Run("CRON-VAL-01 names longer than 52 characters are refused", func(t *testing.T) {
		name := strings.Repeat("c", 53)
		_, err := cronJobs.Create(t.Context(), cronJob(name, "@daily"), metav1.CreateOptions{})
		invalid(t, err, `CronJob.batch "`+name+`" is invalid: metadata.name: Invalid value: "`+name+`": must be no more than 52 characters`, "metadata.name")
	})

	t.Run("CRON-VAL-05 an unknown time zone is refused", func(t *testing.T) {
		cj := cronJob("mars", "@daily")
		cj.Spec.TimeZone = ptr.To("Mars/Base")
		_, err := cronJobs.Create(t.Context(), cj, metav1.CreateOptions{})
		invalid(t, err, `CronJob.batch "mars" is invalid: spec.timeZone: Invalid value: "Mars/Base": unknown time zone Mars/Base`, "spec.timeZone")
	})
}
