package batch

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestGenerateSelector(t *testing.T) {
	uid := string(testUID)
	tests := []struct {
		name         string
		job          *batchv1.Job
		wantLabels   map[string]string
		wantSelector *metav1.LabelSelector
	}{
		{
			name: "JOB-SEL-01 the template gets the job-name and controller-uid labels, prefixed and legacy",
			job:  clientJob(),
			wantLabels: map[string]string{
				"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
				"controller-uid": uid, "job-name": "pi",
			},
			wantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": uid}},
		},
		{
			name: "JOB-SEL-01 keys the user set are left alone",
			job: clientJob(func(j *batchv1.Job) {
				j.Spec.Template.Labels = map[string]string{"job-name": "mine", "app": "x"}
			}),
			wantLabels: map[string]string{
				"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
				"controller-uid": uid, "job-name": "mine", "app": "x",
			},
			wantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": uid}},
		},
		{
			name: "JOB-SEL-02 a user selector gets the controller-uid key and nothing else",
			job: clientJob(func(j *batchv1.Job) {
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
			}),
			wantLabels: map[string]string{
				"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
				"controller-uid": uid, "job-name": "pi",
			},
			wantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x", "batch.kubernetes.io/controller-uid": uid}},
		},
		{
			name: "JOB-SEL-06 a manual selector generates nothing",
			job: clientJob(func(j *batchv1.Job) {
				j.Spec.ManualSelector = ptr.To(true)
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
				j.Spec.Template.Labels = map[string]string{"app": "x"}
			}),
			wantLabels:   map[string]string{"app": "x"},
			wantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := created(tt.job)
			if diff := cmp.Diff(tt.wantLabels, job.Spec.Template.Labels); diff != "" {
				t.Errorf("template labels mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSelector, job.Spec.Selector); diff != "" {
				t.Errorf("selector mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateJobSelector(t *testing.T) {
	uid := string(testUID)
	longName := strings.Repeat("a", 64)
	tests := []struct {
		name string
		job  *batchv1.Job
		want []string
	}{
		{
			name: "JOB-SEL-03 a generated selector Job is valid",
			job:  stored(),
		},
		{
			name: "JOB-SEL-03 a missing legacy label is required",
			job:  stored(func(j *batchv1.Job) { delete(j.Spec.Template.Labels, "job-name") }),
			want: []string{"spec.template.metadata.labels[job-name]: Required value: must be 'pi'"},
		},
		{
			name: "JOB-SEL-03 a wrong controller-uid label is invalid",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.Template.Labels = map[string]string{"controller-uid": "other"} })),
			want: []string{
				`spec.template.metadata.labels[controller-uid]: Invalid value: {"batch.kubernetes.io/controller-uid":"` + uid +
					`","batch.kubernetes.io/job-name":"pi","controller-uid":"other","job-name":"pi"}: must be '` + uid + `'`,
			},
		},
		{
			name: "JOB-SEL-03 the prefixed labels are required on create",
			job:  stored(func(j *batchv1.Job) { delete(j.Spec.Template.Labels, "batch.kubernetes.io/job-name") }),
			want: []string{"spec.template.metadata.labels[batch.kubernetes.io/job-name]: Required value: must be 'pi'"},
		},
		{
			name: "JOB-SEL-03 a Job without a uid is refused",
			job:  stored(func(j *batchv1.Job) { j.UID = "" }),
			want: []string{
				"metadata.uid: Required value",
				`spec.template.metadata.labels[controller-uid]: Invalid value: {"batch.kubernetes.io/controller-uid":"` + uid +
					`","batch.kubernetes.io/job-name":"pi","controller-uid":"` + uid + `","job-name":"pi"}: must be ''`,
				`spec.template.metadata.labels[batch.kubernetes.io/controller-uid]: Invalid value: {"batch.kubernetes.io/controller-uid":"` + uid +
					`","batch.kubernetes.io/job-name":"pi","controller-uid":"` + uid + `","job-name":"pi"}: must be ''`,
				`spec.selector: Invalid value: {"matchLabels":{"batch.kubernetes.io/controller-uid":"` + uid + `"}}: ` + "`selector` not auto-generated",
			},
		},
		{
			name: "JOB-SEL-04 a user selector that does not select the generated labels is refused",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
				j.Spec.Template.Labels = map[string]string{"app": "x"}
			})),
			want: []string{
				`spec.selector: Invalid value: {"matchLabels":{"app":"x","batch.kubernetes.io/controller-uid":"` + uid + `"}}: ` + "`selector` not auto-generated",
			},
		},
		{
			name: "JOB-SEL-05 a manual Job without a selector is refused",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.ManualSelector = ptr.To(true) })),
			// As upstream: a missing selector selects nothing, so it does
			// not match the template either.
			want: []string{
				"spec.selector: Required value",
				"spec.template.metadata.labels: Invalid value: null: `selector` does not match template `labels`",
			},
		},
		{
			name: "JOB-SEL-05 an invalid selector is refused",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.ManualSelector = ptr.To(true)
				j.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
			})),
			want: []string{`spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator`},
		},
		{
			name: "JOB-SEL-05 a selector that does not match the template labels is refused",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.ManualSelector = ptr.To(true)
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
				j.Spec.Template.Labels = map[string]string{"app": "y"}
			})),
			want: []string{`spec.template.metadata.labels: Invalid value: {"app":"y"}: ` + "`selector` does not match template `labels`"},
		},
		{
			name: "JOB-SEL-06 a manual selector matching the template is valid",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.ManualSelector = ptr.To(true)
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
				j.Spec.Template.Labels = map[string]string{"app": "x"}
			})),
		},
		{
			// apimachinery v0.37 says "bytes" where older releases said
			// "characters"; the legacy and prefixed job-name labels both fail.
			name: "JOB-SEL-07 a name longer than 63 characters makes the job-name label invalid",
			job:  created(clientJob(func(j *batchv1.Job) { j.Name = longName })),
			want: []string{
				`spec.template.labels: Invalid value: "` + longName + `": must be no more than 63 bytes`,
				`spec.template.labels: Invalid value: "` + longName + `": must be no more than 63 bytes`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errStrings(validateJob(tt.job, jobOptions{requirePrefixedLabels: true}))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("validateJob() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
