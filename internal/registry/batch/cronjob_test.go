package batch

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// clientCronJob returns a CronJob as `kubectl create cronjob hello
// --image=busybox --schedule='*/1 * * * *'` sends it, changed by the
// given functions.
func clientCronJob(changes ...func(*batchv1.CronJob)) *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: batchv1.CronJobSpec{
			Schedule: "*/1 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyOnFailure,
				Containers:    []corev1.Container{{Name: "hello", Image: "busybox"}},
			}}}},
		},
	}
	for _, change := range changes {
		change(cj)
	}
	return cj
}

// createdCronJob runs cj through the strategy's create preparation.
func createdCronJob(changes ...func(*batchv1.CronJob)) *batchv1.CronJob {
	cj := clientCronJob(changes...)
	cj.UID = testUID
	newCronJobStrategy().PrepareForCreate(cj)
	return cj
}

// updatedCronJob returns a copy of old with changes and the strategy's
// update preparation applied.
func updatedCronJob(old *batchv1.CronJob, changes ...func(*batchv1.CronJob)) *batchv1.CronJob {
	cj := old.DeepCopy()
	for _, change := range changes {
		change(cj)
	}
	newCronJobStrategy().PrepareForUpdate(cj, old)
	return cj
}

func schedule(s string) func(*batchv1.CronJob) {
	return func(cj *batchv1.CronJob) { cj.Spec.Schedule = s }
}

func timeZone(tz string) func(*batchv1.CronJob) {
	return func(cj *batchv1.CronJob) { cj.Spec.TimeZone = &tz }
}

func TestDefaultCronJob(t *testing.T) {
	defaulted := func(changes ...func(*batchv1.CronJobSpec)) batchv1.CronJobSpec {
		spec := batchv1.CronJobSpec{
			Schedule:                   "*/1 * * * *",
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			Suspend:                    ptr.To(false),
			SuccessfulJobsHistoryLimit: ptr.To[int32](3),
			FailedJobsHistoryLimit:     ptr.To[int32](1),
		}
		for _, change := range changes {
			change(&spec)
		}
		return spec
	}
	ignoreTemplate := cmpopts.IgnoreFields(batchv1.CronJobSpec{}, "JobTemplate")
	tests := []struct {
		name string
		cj   *batchv1.CronJob
		want batchv1.CronJobSpec
	}{
		{
			name: "CRON-DEF-01 concurrencyPolicy suspend and history limits get upstream's defaults",
			cj:   createdCronJob(),
			want: defaulted(),
		},
		{
			name: "CRON-DEF-01 values set are kept, zero limits included",
			cj: createdCronJob(func(cj *batchv1.CronJob) {
				cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
				cj.Spec.Suspend = ptr.To(true)
				cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](0)
				cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](0)
			}),
			want: defaulted(func(s *batchv1.CronJobSpec) {
				s.ConcurrencyPolicy = batchv1.ForbidConcurrent
				s.Suspend = ptr.To(true)
				s.SuccessfulJobsHistoryLimit = ptr.To[int32](0)
				s.FailedJobsHistoryLimit = ptr.To[int32](0)
			}),
		},
		{
			name: "CRON-DEF-02 startingDeadlineSeconds and timeZone stay unset",
			cj:   createdCronJob(),
			want: defaulted(func(s *batchv1.CronJobSpec) { s.StartingDeadlineSeconds, s.TimeZone = nil, nil }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.cj.Spec, ignoreTemplate); diff != "" {
				t.Errorf("defaulted spec mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultCronJobTemplate(t *testing.T) {
	t.Run("CRON-DEF-03 the Job template is not Job-defaulted", func(t *testing.T) {
		cj := createdCronJob(func(cj *batchv1.CronJob) {
			cj.Spec.JobTemplate.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{disruptionRule("")}}
		})
		got := cj.Spec.JobTemplate.Spec
		want := batchv1.JobSpec{PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{disruptionRule(corev1.ConditionTrue)}}}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(batchv1.JobSpec{}, "Template")); diff != "" {
			t.Errorf("job template spec mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("CRON-DEF-03 the template's pod spec gets the pod defaults", func(t *testing.T) {
		cj := createdCronJob(func(cj *batchv1.CronJob) { cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = "" })
		pod := cj.Spec.JobTemplate.Spec.Template.Spec
		if pod.RestartPolicy != corev1.RestartPolicyAlways || pod.DNSPolicy != corev1.DNSClusterFirst || pod.SchedulerName != corev1.DefaultSchedulerName {
			t.Errorf("pod spec defaults: restartPolicy %q dnsPolicy %q schedulerName %q", pod.RestartPolicy, pod.DNSPolicy, pod.SchedulerName)
		}
		if cj.Spec.JobTemplate.Spec.Template.Labels != nil {
			t.Errorf("template labels = %v, want none: selectors are generated per Job", cj.Spec.JobTemplate.Spec.Template.Labels)
		}
	})
}

func TestCronJobStrategyKeepsStatusAndSpec(t *testing.T) {
	status := batchv1.CronJobStatus{LastScheduleTime: &testNow, Active: []corev1.ObjectReference{{Name: "hello-1"}}}
	tests := []struct {
		name       string
		got        *batchv1.CronJob
		wantStatus batchv1.CronJobStatus
		wantSpec   batchv1.CronJobSpec
	}{
		{
			name:       "CRON-DEF-04 create discards the client's status",
			got:        createdCronJob(func(cj *batchv1.CronJob) { cj.Status = status }),
			wantStatus: batchv1.CronJobStatus{},
			wantSpec:   createdCronJob().Spec,
		},
		{
			name: "CRON-DEF-04 an update keeps the stored status",
			got: func() *batchv1.CronJob {
				old := createdCronJob()
				old.Status = status // as the controller wrote it
				return updatedCronJob(old, func(cj *batchv1.CronJob) { cj.Status = batchv1.CronJobStatus{} })
			}(),
			wantStatus: status,
			wantSpec:   createdCronJob().Spec,
		},
		{
			name: "CRON-DEF-04 a status update keeps the stored spec and is not validated",
			got: func() *batchv1.CronJob {
				old := createdCronJob()
				cj := old.DeepCopy()
				cj.Status = status
				cj.Spec.Schedule = "bogus"
				sub := cronJobResource().Subresources["status"]
				sub.PrepareForUpdate(cj, old)
				if errs := sub.ValidateUpdate(cj, old); len(errs) != 0 {
					t.Errorf("status update validation = %v, want none", errs)
				}
				return cj
			}(),
			wantStatus: status,
			wantSpec:   createdCronJob().Spec,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.wantStatus, tt.got.Status); diff != "" {
				t.Errorf("status mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSpec, tt.got.Spec); diff != "" {
				t.Errorf("spec mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateCronJob(t *testing.T) {
	name52, name53 := strings.Repeat("c", 52), strings.Repeat("c", 53)
	tests := []struct {
		name string
		cj   *batchv1.CronJob
		want []string
	}{
		{
			name: "CRON-VAL-01 a name of 52 characters is accepted",
			cj:   createdCronJob(func(cj *batchv1.CronJob) { cj.Name = name52 }),
		},
		{
			name: "CRON-VAL-01 a name longer than 52 characters is refused on create",
			cj:   createdCronJob(func(cj *batchv1.CronJob) { cj.Name = name53 }),
			want: []string{`metadata.name: Invalid value: "` + name53 + `": must be no more than 52 characters`},
		},
		{
			name: "CRON-VAL-03 schedule is required",
			cj:   createdCronJob(schedule("")),
			want: []string{"spec.schedule: Required value"},
		},
		{
			name: "CRON-VAL-03 a schedule that does not parse is refused with the parser's error",
			cj:   createdCronJob(schedule("* * *")),
			want: []string{`spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]`},
		},
		{
			name: "CRON-VAL-03 a schedule that never fires is accepted",
			cj:   createdCronJob(schedule("0 0 31 2 *")),
		},
		{
			name: "CRON-VAL-04 a TZ prefix is refused on create",
			cj:   createdCronJob(schedule("TZ=UTC 0 * * * *")),
			want: []string{`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`},
		},
		{
			name: "CRON-VAL-04 a CRON_TZ prefix is refused on create, after the parser's own error",
			cj:   createdCronJob(schedule("CRON_TZ=Mars/Base 0 * * * *")),
			want: []string{
				`spec.schedule: Invalid value: "CRON_TZ=Mars/Base 0 * * * *": provided bad location Mars/Base: unknown time zone Mars/Base`,
				`spec.schedule: Invalid value: "CRON_TZ=Mars/Base 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`,
			},
		},
		{
			name: "CRON-VAL-05 an explicit zone of the tz database is accepted",
			cj:   createdCronJob(timeZone("America/Argentina/Buenos_Aires")),
		},
		{
			name: "CRON-VAL-05 an empty timeZone is refused",
			cj:   createdCronJob(timeZone("")),
			want: []string{`spec.timeZone: Invalid value: "": timeZone must be nil or non-empty string`},
		},
		{
			name: "CRON-VAL-05 path tricks are unknown zones",
			cj:   createdCronJob(timeZone("../etc/passwd")),
			want: []string{`spec.timeZone: Invalid value: "../etc/passwd": unknown time zone ../etc/passwd`},
		},
		{
			name: "CRON-VAL-05 parts starting with a dash or too long are unknown zones",
			cj:   createdCronJob(timeZone("America/-Fifteen_Characters")),
			want: []string{`spec.timeZone: Invalid value: "America/-Fifteen_Characters": unknown time zone America/-Fifteen_Characters`},
		},
		{
			name: "CRON-VAL-05 Local is not an explicit zone",
			cj:   createdCronJob(timeZone("Local")),
			want: []string{`spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones`},
		},
		{
			name: "CRON-VAL-05 local in another case is not one either, nor a known zone",
			cj:   createdCronJob(timeZone("local")),
			want: []string{
				`spec.timeZone: Invalid value: "local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones`,
				`spec.timeZone: Invalid value: "local": unknown time zone local`,
			},
		},
		{
			name: "CRON-VAL-05 a zone the tz database does not know is refused with the loader's error",
			cj:   createdCronJob(timeZone("Mars/Base")),
			want: []string{`spec.timeZone: Invalid value: "Mars/Base": unknown time zone Mars/Base`},
		},
		{
			name: "CRON-VAL-06 deadline and history limits must be non-negative",
			cj: createdCronJob(func(cj *batchv1.CronJob) {
				cj.Spec.StartingDeadlineSeconds = ptr.To[int64](-1)
				cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](-1)
				cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](-1)
			}),
			want: []string{
				"spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0",
				"spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
				"spec.failedJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
			},
		},
		{
			name: "CRON-VAL-06 zero is accepted",
			cj:   createdCronJob(func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptr.To[int64](0) }),
		},
		{
			name: "CRON-VAL-07 concurrencyPolicy must be Allow Forbid or Replace",
			cj:   createdCronJob(func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = "Queue" }),
			want: []string{`spec.concurrencyPolicy: Unsupported value: "Queue": supported values: "Allow", "Forbid", "Replace"`},
		},
		{
			name: "CRON-VAL-08 the Job template is validated as a Job spec",
			cj: createdCronJob(func(cj *batchv1.CronJob) {
				cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = ""
				cj.Spec.JobTemplate.Spec.Parallelism = ptr.To[int32](-1)
			}),
			want: []string{
				"spec.jobTemplate.spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
				`spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`,
			},
		},
		{
			name: "CRON-VAL-08 the Indexed hostname rule is not applied to the template",
			cj: createdCronJob(func(cj *batchv1.CronJob) {
				cj.Name = name52
				cj.Spec.JobTemplate.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
				cj.Spec.JobTemplate.Spec.Completions = ptr.To[int32](1000)
			}),
		},
		{
			name: "CRON-VAL-09 the template may not set a selector",
			cj: createdCronJob(func(cj *batchv1.CronJob) {
				cj.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
			}),
			want: []string{`spec.jobTemplate.spec.selector: Invalid value: {"matchLabels":{"app":"x"}}: ` + "`selector` will be auto-generated"},
		},
		{
			name: "CRON-VAL-09 the template may not ask for a manual selector",
			cj:   createdCronJob(func(cj *batchv1.CronJob) { cj.Spec.JobTemplate.Spec.ManualSelector = ptr.To(true) }),
			want: []string{`spec.jobTemplate.spec.manualSelector: Unsupported value: true: supported values: "nil", "false"`},
		},
		{
			name: "CRON-VAL-09 manualSelector false is accepted",
			cj:   createdCronJob(func(cj *batchv1.CronJob) { cj.Spec.JobTemplate.Spec.ManualSelector = ptr.To(false) }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errStrings(newCronJobStrategy().Validate(tt.cj))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("CRON-VAL-07 an empty concurrencyPolicy is required", func(t *testing.T) {
		// Defaulting makes it impossible through the API.
		got := errStrings(validateConcurrencyPolicy("", field.NewPath("spec", "concurrencyPolicy")))
		if diff := cmp.Diff([]string{"spec.concurrencyPolicy: Required value"}, got); diff != "" {
			t.Errorf("validateConcurrencyPolicy() mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestValidateCronJobUpdate(t *testing.T) {
	name53 := strings.Repeat("c", 53)
	legacy := func(cj *batchv1.CronJob) { cj.Spec.Schedule = "TZ=UTC 0 * * * *" }
	tests := []struct {
		name    string
		old     *batchv1.CronJob
		changes []func(*batchv1.CronJob)
		want    []string
	}{
		{
			name:    "CRON-VAL-01 a longer legacy name may still be updated",
			old:     createdCronJob(func(cj *batchv1.CronJob) { cj.Name = name53 }),
			changes: []func(*batchv1.CronJob){schedule("0 * * * *")},
		},
		{
			name:    "CRON-VAL-04 a TZ prefix cannot be added on update",
			old:     createdCronJob(),
			changes: []func(*batchv1.CronJob){schedule("TZ=UTC 0 * * * *")},
			want:    []string{`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`},
		},
		{
			name:    "CRON-VAL-04 a stored TZ prefix may stay, or change",
			old:     createdCronJob(legacy),
			changes: []func(*batchv1.CronJob){schedule("CRON_TZ=Europe/Berlin 30 1 * * *")},
		},
		{
			name:    "CRON-VAL-04 a stored TZ prefix excludes timeZone",
			old:     createdCronJob(legacy),
			changes: []func(*batchv1.CronJob){timeZone("UTC")},
			want:    []string{`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use both timeZone field and TZ or CRON_TZ in schedule`},
		},
		{
			name:    "CRON-VAL-05 a timeZone is checked when it changes",
			old:     createdCronJob(),
			changes: []func(*batchv1.CronJob){timeZone("Mars/Base")},
			want:    []string{`spec.timeZone: Invalid value: "Mars/Base": unknown time zone Mars/Base`},
		},
		{
			name: "CRON-VAL-05 a stored timeZone is not checked again",
			old:  createdCronJob(func(cj *batchv1.CronJob) { tz := "Mars/Base"; cj.Spec.TimeZone = &tz }),
			changes: []func(*batchv1.CronJob){func(cj *batchv1.CronJob) {
				cj.Spec.Suspend = ptr.To(true)
			}},
		},
		{
			name: "CRON-VAL-10 every spec field may change",
			old:  createdCronJob(),
			changes: []func(*batchv1.CronJob){func(cj *batchv1.CronJob) {
				cj.Spec.Schedule = "@hourly"
				cj.Spec.TimeZone = ptr.To("Asia/Tokyo")
				cj.Spec.StartingDeadlineSeconds = ptr.To[int64](30)
				cj.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent
				cj.Spec.Suspend = ptr.To(true)
				cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](10)
				cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](10)
				cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image = "alpine"
				cj.Spec.JobTemplate.Spec.Completions = ptr.To[int32](3)
				cj.Spec.JobTemplate.Labels = map[string]string{"team": "a"}
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := updatedCronJob(tt.old, tt.changes...)
			got := errStrings(newCronJobStrategy().ValidateUpdate(cj, tt.old))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidateUpdate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCronJobWarnings(t *testing.T) {
	const tzWarning = "cannot use TZ or CRON_TZ in spec.spec.schedule, use timeZone instead, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"
	legacy := createdCronJob(schedule("TZ=UTC 0 * * * *"))
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{
			name: "CRON-VAL-02 a name that is not a DNS label gets the Job warning",
			got:  newCronJobStrategy().WarningsOnCreate(createdCronJob(func(cj *batchv1.CronJob) { cj.Name = "hello.v2" })),
			want: []string{"metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]"},
		},
		{
			name: "CRON-VAL-08 the Job template's warnings carry its path",
			got: newCronJobStrategy().WarningsOnCreate(createdCronJob(func(cj *batchv1.CronJob) {
				cj.Spec.JobTemplate.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
				cj.Spec.JobTemplate.Spec.Completions = ptr.To[int32](100_001)
				cj.Spec.JobTemplate.Spec.Parallelism = ptr.To[int32](10_001)
			})),
			want: []string{"spec.jobTemplate.spec: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail"},
		},
		{
			name: "CRON-VAL-04 updates of a legacy TZ schedule get a warning, with upstream's path",
			got:  newCronJobStrategy().WarningsOnUpdate(updatedCronJob(legacy, func(cj *batchv1.CronJob) { cj.Labels = map[string]string{"a": "b"} }), legacy),
			want: []string{tzWarning},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("warnings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
