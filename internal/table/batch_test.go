package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func jobCond(t batchv1.JobConditionType, s corev1.ConditionStatus) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: s}
}

// fakeTemplate is upstream's two-container Job template from TestPrintJob.
var fakeTemplate = corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
	{Name: "fake-job-container1", Image: "fake-job-image1"},
	{Name: "fake-job-container2", Image: "fake-job-image2"},
}}}

// TestJobRow ports upstream's TestPrintJob and TestPrintJobList (with
// time.Now() replaced by the fixed now) and covers KUBECTL-01..04. Cells:
// Name, Status, Completions, Duration, Age, Containers, Images, Selector.
func TestJobRow(t *testing.T) {
	created := ago(0)
	tests := []struct {
		name string
		job  *batchv1.Job
		want []any
	}{
		{
			name: "KUBECTL-01 upstream job1 wide cells from the template and selector",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "job1", CreationTimestamp: created},
				Spec: batchv1.JobSpec{Completions: ptr.To[int32](2), Template: fakeTemplate,
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"job-label": "job-label-value"}}},
				Status: batchv1.JobStatus{Succeeded: 1},
			},
			want: []any{"job1", "Running", "1/2", "", "0s", "fake-job-container1,fake-job-container2", "fake-job-image1,fake-job-image2", "job-label=job-label-value"},
		},
		{
			name: "KUBECTL-01 controller-uid selector of a defaulted Job",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "pi", CreationTimestamp: created},
				Spec: batchv1.JobSpec{Completions: ptr.To[int32](1), Parallelism: ptr.To[int32](1),
					Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "pi", Image: "perl:5.34"}}}},
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "0b5c4b7e-1b1e-4c5e-9b43-3a4f8a3f0c11"}}},
			},
			want: []any{"pi", "Running", "0/1", "", "0s", "pi", "perl:5.34", "batch.kubernetes.io/controller-uid=0b5c4b7e-1b1e-4c5e-9b43-3a4f8a3f0c11"},
		},
		{
			name: "KUBECTL-03 upstream job2 no completions and ten-year age",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "job2", CreationTimestamp: metav1.NewTime(now.AddDate(-10, 0, 0))},
			},
			want: []any{"job2", "Running", "0/1", "", "10y", "", "", "<none>"},
		},
		{
			name: "KUBECTL-04 upstream job3 duration from start to completion",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "job3", CreationTimestamp: ago(10 * 365 * 24 * time.Hour)},
				Status: batchv1.JobStatus{
					StartTime:      &metav1.Time{Time: now.Add(time.Minute)},
					CompletionTime: &metav1.Time{Time: now.Add(31 * time.Minute)},
				},
			},
			want: []any{"job3", "Running", "0/1", "30m", "10y", "", "", "<none>"},
		},
		{
			name: "KUBECTL-04 upstream job4 running duration since start",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "job4", CreationTimestamp: ago(10 * 365 * 24 * time.Hour)},
				Status:     batchv1.JobStatus{StartTime: agoPtr(20 * time.Minute)},
			},
			want: []any{"job4", "Running", "0/1", "20m", "10y", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 upstream job5 Complete",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "job5", CreationTimestamp: created},
				Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCond(batchv1.JobComplete, corev1.ConditionTrue)}},
			},
			want: []any{"job5", "Complete", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 upstream job6 Failed",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "job6", CreationTimestamp: created},
				Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCond(batchv1.JobFailed, corev1.ConditionTrue)}},
			},
			want: []any{"job6", "Failed", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 upstream job7 Suspended",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "job7", CreationTimestamp: created},
				Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCond(batchv1.JobSuspended, corev1.ConditionTrue)}},
			},
			want: []any{"job7", "Suspended", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 upstream job8 FailureTarget",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "job8", CreationTimestamp: created},
				Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCond(batchv1.JobFailureTarget, corev1.ConditionTrue)}},
			},
			want: []any{"job8", "FailureTarget", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 upstream job9 Terminating",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "job9", CreationTimestamp: created, DeletionTimestamp: &created},
			},
			want: []any{"job9", "Terminating", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 SuccessCriteriaMet before Complete (JOB-EX-01)",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created},
				Spec:       batchv1.JobSpec{Completions: ptr.To[int32](1)},
				Status: batchv1.JobStatus{StartTime: agoPtr(5 * time.Second),
					Conditions: []batchv1.JobCondition{jobCond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue)}},
			},
			want: []any{"j", "SuccessCriteriaMet", "0/1", "5s", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 Complete wins over SuccessCriteriaMet",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created},
				Spec:       batchv1.JobSpec{Completions: ptr.To[int32](1)},
				Status: batchv1.JobStatus{Succeeded: 1, StartTime: agoPtr(65 * time.Second), CompletionTime: agoPtr(5 * time.Second),
					Conditions: []batchv1.JobCondition{jobCond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue), jobCond(batchv1.JobComplete, corev1.ConditionTrue)}},
			},
			want: []any{"j", "Complete", "1/1", "60s", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 Failed wins over FailureTarget",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created},
				Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
					jobCond(batchv1.JobFailureTarget, corev1.ConditionTrue), jobCond(batchv1.JobFailed, corev1.ConditionTrue)}},
			},
			want: []any{"j", "Failed", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 Complete wins over Terminating",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created, DeletionTimestamp: &created},
				Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCond(batchv1.JobComplete, corev1.ConditionTrue)}},
			},
			want: []any{"j", "Complete", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 Terminating wins over Suspended",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created, DeletionTimestamp: &created},
				Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCond(batchv1.JobSuspended, corev1.ConditionTrue)}},
			},
			want: []any{"j", "Terminating", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 Suspended wins over FailureTarget",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created},
				Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
					jobCond(batchv1.JobFailureTarget, corev1.ConditionTrue), jobCond(batchv1.JobSuspended, corev1.ConditionTrue)}},
			},
			want: []any{"j", "Suspended", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 FailureTarget wins over SuccessCriteriaMet",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created},
				Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
					jobCond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue), jobCond(batchv1.JobFailureTarget, corev1.ConditionTrue)}},
			},
			want: []any{"j", "FailureTarget", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 resumed Job with Suspended False is Running",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created},
				Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCond(batchv1.JobSuspended, corev1.ConditionFalse)}},
			},
			want: []any{"j", "Running", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-02 only the first condition of a type is inspected",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created},
				Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
					jobCond(batchv1.JobComplete, corev1.ConditionFalse), jobCond(batchv1.JobComplete, corev1.ConditionTrue)}},
			},
			want: []any{"j", "Running", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-03 completions set",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created},
				Spec:       batchv1.JobSpec{Completions: ptr.To[int32](5), Parallelism: ptr.To[int32](2)},
				Status:     batchv1.JobStatus{Succeeded: 3},
			},
			want: []any{"j", "Running", "3/5", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-03 work queue with parallelism above one",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created},
				Spec:       batchv1.JobSpec{Parallelism: ptr.To[int32](3)},
				Status:     batchv1.JobStatus{Succeeded: 1},
			},
			want: []any{"j", "Running", "1/1 of 3", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-03 work queue with parallelism one",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: created},
				Spec:       batchv1.JobSpec{Parallelism: ptr.To[int32](1)},
			},
			want: []any{"j", "Running", "0/1", "", "0s", "", "", "<none>"},
		},
		{
			name: "KUBECTL-04 failed Job's duration keeps growing",
			job: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: ago(4 * time.Hour)},
				Spec:       batchv1.JobSpec{Completions: ptr.To[int32](1)},
				Status: batchv1.JobStatus{Failed: 7, StartTime: agoPtr(3*time.Hour + 30*time.Minute),
					Conditions: []batchv1.JobCondition{jobCond(batchv1.JobFailed, corev1.ConditionTrue)}},
			},
			want: []any{"j", "Failed", "0/1", "3h30m", "4h", "", "", "<none>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, cellsOf(t, tt.job)); diff != "" {
				t.Errorf("cells mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJobList(t *testing.T) {
	list := &batchv1.JobList{Items: []batchv1.Job{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "job1", CreationTimestamp: ago(0)},
			Spec:       batchv1.JobSpec{Completions: ptr.To[int32](2), Template: fakeTemplate},
			Status:     batchv1.JobStatus{Succeeded: 1},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: "job2", CreationTimestamp: ago(0)},
			Spec:       batchv1.JobSpec{Completions: ptr.To[int32](2), Template: fakeTemplate},
			Status:     batchv1.JobStatus{Succeeded: 2, StartTime: agoPtr(20 * time.Minute)},
		},
	}}
	tbl, err := Convert(list, Options{Now: now, NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]any
	for _, r := range tbl.Rows {
		got = append(got, r.Cells[:5])
	}
	want := [][]any{{"job1", "Running", "1/2", "", "0s"}, {"job2", "Running", "2/2", "20m", "0s"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("KUBECTL-01 upstream TestPrintJobList mismatch (-want +got):\n%s", diff)
	}
}

// TestHumanAges covers KUBECTL-05 through the Age cell of a Job.
func TestHumanAges(t *testing.T) {
	const day, year = 24 * time.Hour, 365 * 24 * time.Hour
	tests := []struct {
		name string
		age  time.Duration
		want string
	}{
		{"KUBECTL-05 now", 0, "0s"},
		{"KUBECTL-05 clock skew under two seconds is now", -1900 * time.Millisecond, "0s"},
		{"KUBECTL-05 future beyond skew is invalid", -2100 * time.Millisecond, "<invalid>"},
		{"KUBECTL-05 seconds below two minutes", 119 * time.Second, "119s"},
		{"KUBECTL-05 whole minutes below ten", 2 * time.Minute, "2m"},
		{"KUBECTL-05 minutes and seconds below ten minutes", 9*time.Minute + 59*time.Second, "9m59s"},
		{"KUBECTL-05 minutes below three hours", 179 * time.Minute, "179m"},
		{"KUBECTL-05 whole hours below eight", 3 * time.Hour, "3h"},
		{"KUBECTL-05 hours and minutes below eight hours", 7*time.Hour + 59*time.Minute, "7h59m"},
		{"KUBECTL-05 hours below two days", 47*time.Hour + 59*time.Minute, "47h"},
		{"KUBECTL-05 whole days below eight", 2 * day, "2d"},
		{"KUBECTL-05 days and hours below eight days", 7*day + 23*time.Hour, "7d23h"},
		{"KUBECTL-05 days below two years", 90 * day, "90d"},
		{"KUBECTL-05 whole years below eight", 2 * year, "2y"},
		{"KUBECTL-05 years and days below eight years", 7*year + 364*day, "7y364d"},
		{"KUBECTL-05 years", 10 * year, "10y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: ago(tt.age)}}
			if got := cellsOf(t, job)[4]; got != tt.want {
				t.Errorf("age of %v = %v, want %q", tt.age, got, tt.want)
			}
		})
	}
	t.Run("KUBECTL-05 zero timestamp is unknown", func(t *testing.T) {
		if got := cellsOf(t, &batchv1.Job{})[4]; got != "<unknown>" {
			t.Errorf("age = %v, want <unknown>", got)
		}
	})
}

// TestCronJobRow covers KUBECTL-06. Cells: Name, Schedule, Timezone,
// Suspend, Active, Last Schedule, Age, Containers, Images, Selector.
func TestCronJobRow(t *testing.T) {
	tmpl := batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: fakeTemplate}}
	tests := []struct {
		name string
		cj   *batchv1.CronJob
		want []any
	}{
		{
			name: "KUBECTL-06 defaulted CronJob never scheduled",
			cj: &batchv1.CronJob{
				ObjectMeta: metav1.ObjectMeta{Name: "hello", CreationTimestamp: ago(30 * time.Second)},
				Spec:       batchv1.CronJobSpec{Schedule: "*/1 * * * *", Suspend: ptr.To(false), JobTemplate: tmpl},
			},
			want: []any{"hello", "*/1 * * * *", "<none>", "False", int64(0), "<none>", "30s",
				"fake-job-container1,fake-job-container2", "fake-job-image1,fake-job-image2", "<none>"},
		},
		{
			name: "KUBECTL-06 last schedule age and active Jobs",
			cj: &batchv1.CronJob{
				ObjectMeta: metav1.ObjectMeta{Name: "hello", CreationTimestamp: ago(5*time.Minute + 10*time.Second)},
				Spec:       batchv1.CronJobSpec{Schedule: "*/1 * * * *", Suspend: ptr.To(false), JobTemplate: tmpl},
				Status: batchv1.CronJobStatus{
					Active:           []corev1.ObjectReference{{Name: "hello-29000001"}, {Name: "hello-29000002"}},
					LastScheduleTime: agoPtr(10 * time.Second),
				},
			},
			want: []any{"hello", "*/1 * * * *", "<none>", "False", int64(2), "10s", "5m10s",
				"fake-job-container1,fake-job-container2", "fake-job-image1,fake-job-image2", "<none>"},
		},
		{
			name: "KUBECTL-06 time zone and suspended",
			cj: &batchv1.CronJob{
				ObjectMeta: metav1.ObjectMeta{Name: "nightly", CreationTimestamp: ago(3 * 24 * time.Hour)},
				Spec:       batchv1.CronJobSpec{Schedule: "0 2 * * *", TimeZone: ptr.To("Europe/Paris"), Suspend: ptr.To(true)},
				Status:     batchv1.CronJobStatus{LastScheduleTime: agoPtr(25 * time.Hour)},
			},
			want: []any{"nightly", "0 2 * * *", "Europe/Paris", "True", int64(0), "25h", "3d", "", "", "<none>"},
		},
		{
			name: "KUBECTL-06 suspend unset and a template selector",
			cj: &batchv1.CronJob{
				ObjectMeta: metav1.ObjectMeta{Name: "c"},
				Spec: batchv1.CronJobSpec{Schedule: "@hourly", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "c"}}}}},
			},
			want: []any{"c", "@hourly", "<none>", "<unset>", int64(0), "<none>", "<unknown>", "", "", "app=c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, cellsOf(t, tt.cj)); diff != "" {
				t.Errorf("cells mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
