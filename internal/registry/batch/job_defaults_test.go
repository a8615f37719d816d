package batch

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// defaultedSpec is the spec defaultJob gives a Job that sets nothing,
// template aside, changed by the given functions.
func defaultedSpec(changes ...func(*batchv1.JobSpec)) batchv1.JobSpec {
	spec := batchv1.JobSpec{
		Completions:          ptr.To[int32](1),
		Parallelism:          ptr.To[int32](1),
		BackoffLimit:         ptr.To[int32](6),
		CompletionMode:       ptr.To(batchv1.NonIndexedCompletion),
		Suspend:              ptr.To(false),
		PodReplacementPolicy: ptr.To(batchv1.TerminatingOrFailed),
		ManualSelector:       ptr.To(false),
	}
	for _, change := range changes {
		change(&spec)
	}
	return spec
}

func disruptionRule(status corev1.ConditionStatus) batchv1.PodFailurePolicyRule {
	return batchv1.PodFailurePolicyRule{
		Action:          batchv1.PodFailurePolicyActionIgnore,
		OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: status}},
	}
}

func TestDefaultJob(t *testing.T) {
	tests := []struct {
		name string
		spec batchv1.JobSpec
		want batchv1.JobSpec
	}{
		{
			name: "JOB-DEF-01 completions and parallelism both absent become 1",
			want: defaultedSpec(),
		},
		{
			name: "JOB-DEF-02 parallelism absent with completions becomes 1",
			spec: batchv1.JobSpec{Completions: ptr.To[int32](5)},
			want: defaultedSpec(func(s *batchv1.JobSpec) { s.Completions = ptr.To[int32](5) }),
		},
		{
			name: "JOB-DEF-02 completions stay null with parallelism (work queue)",
			spec: batchv1.JobSpec{Parallelism: ptr.To[int32](3)},
			want: defaultedSpec(func(s *batchv1.JobSpec) { s.Completions, s.Parallelism = nil, ptr.To[int32](3) }),
		},
		{
			name: "JOB-DEF-02 explicit zeros are kept",
			spec: batchv1.JobSpec{Completions: ptr.To[int32](0), Parallelism: ptr.To[int32](0)},
			want: defaultedSpec(func(s *batchv1.JobSpec) { s.Completions, s.Parallelism = ptr.To[int32](0), ptr.To[int32](0) }),
		},
		{
			name: "JOB-DEF-03 backoffLimit set is kept",
			spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0)},
			want: defaultedSpec(func(s *batchv1.JobSpec) { s.BackoffLimit = ptr.To[int32](0) }),
		},
		{
			name: "JOB-DEF-03 backoffLimit is the int32 maximum with backoffLimitPerIndex",
			spec: batchv1.JobSpec{BackoffLimitPerIndex: ptr.To[int32](1)},
			want: defaultedSpec(func(s *batchv1.JobSpec) {
				s.BackoffLimitPerIndex, s.BackoffLimit = ptr.To[int32](1), ptr.To[int32](math.MaxInt32)
			}),
		},
		{
			name: "JOB-DEF-04 completionMode suspend and manualSelector set are kept",
			spec: batchv1.JobSpec{CompletionMode: ptr.To(batchv1.IndexedCompletion), Suspend: ptr.To(true), ManualSelector: ptr.To(true)},
			want: defaultedSpec(func(s *batchv1.JobSpec) {
				s.CompletionMode, s.Suspend, s.ManualSelector = ptr.To(batchv1.IndexedCompletion), ptr.To(true), ptr.To(true)
			}),
		},
		{
			name: "JOB-DEF-05 podReplacementPolicy is Failed with a podFailurePolicy",
			spec: batchv1.JobSpec{PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{disruptionRule(corev1.ConditionTrue)}}},
			want: defaultedSpec(func(s *batchv1.JobSpec) {
				s.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{disruptionRule(corev1.ConditionTrue)}}
				s.PodReplacementPolicy = ptr.To(batchv1.Failed)
			}),
		},
		{
			name: "JOB-DEF-05 podReplacementPolicy set is kept",
			spec: batchv1.JobSpec{PodReplacementPolicy: ptr.To(batchv1.Failed)},
			want: defaultedSpec(func(s *batchv1.JobSpec) { s.PodReplacementPolicy = ptr.To(batchv1.Failed) }),
		},
		{
			name: "JOB-DEF-06 onPodConditions status defaults to True and keeps False",
			spec: batchv1.JobSpec{PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				disruptionRule(""), disruptionRule(corev1.ConditionFalse),
			}}},
			want: defaultedSpec(func(s *batchv1.JobSpec) {
				s.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
					disruptionRule(corev1.ConditionTrue), disruptionRule(corev1.ConditionFalse),
				}}
				s.PodReplacementPolicy = ptr.To(batchv1.Failed)
			}),
		},
		{
			name: "JOB-DEF-07 deadline ttl per-index limits success policy and managedBy get no default",
			spec: batchv1.JobSpec{CompletionMode: ptr.To(batchv1.IndexedCompletion), Completions: ptr.To[int32](2)},
			want: defaultedSpec(func(s *batchv1.JobSpec) {
				s.CompletionMode, s.Completions = ptr.To(batchv1.IndexedCompletion), ptr.To[int32](2)
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &batchv1.Job{Spec: tt.spec}
			defaultJob(job)
			if diff := cmp.Diff(tt.want, job.Spec, cmpopts.IgnoreFields(batchv1.JobSpec{}, "Template")); diff != "" {
				t.Errorf("defaultJob() spec mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultJobTemplate(t *testing.T) {
	tests := []struct {
		name string
		pod  corev1.PodSpec
		want corev1.RestartPolicy
	}{
		{name: "JOB-DEF-08 omitted restartPolicy becomes Always", want: corev1.RestartPolicyAlways},
		{name: "JOB-DEF-08 restartPolicy set is kept", pod: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyOnFailure}, want: corev1.RestartPolicyOnFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.pod.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
			job := &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: tt.pod}}}
			defaultJob(job)
			got := job.Spec.Template.Spec
			if got.RestartPolicy != tt.want {
				t.Errorf("restartPolicy = %q, want %q", got.RestartPolicy, tt.want)
			}
			// The ordinary pod spec defaults apply too.
			if got.DNSPolicy != corev1.DNSClusterFirst || ptr.Deref(got.TerminationGracePeriodSeconds, 0) != 30 ||
				got.Containers[0].ImagePullPolicy != corev1.PullAlways {
				t.Errorf("pod spec defaults missing: dnsPolicy %q grace %v pull %q",
					got.DNSPolicy, got.TerminationGracePeriodSeconds, got.Containers[0].ImagePullPolicy)
			}
		})
	}
}

func TestDefaultJobLabels(t *testing.T) {
	generated := map[string]string{
		"batch.kubernetes.io/controller-uid": string(testUID),
		"batch.kubernetes.io/job-name":       "pi",
		"controller-uid":                     string(testUID),
		"job-name":                           "pi",
	}
	withApp := map[string]string{"app": "pi"}
	for k, v := range generated {
		withApp[k] = v
	}
	tests := []struct {
		name string
		job  *batchv1.Job
		want map[string]string
	}{
		{
			name: "JOB-DEF-09 a Job created without labels gets the template labels with the generated ones",
			job:  created(clientJob()),
			want: generated,
		},
		{
			name: "JOB-DEF-09 the template's own labels are copied too",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.Template.Labels = map[string]string{"app": "pi"} })),
			want: withApp,
		},
		{
			name: "JOB-DEF-09 a Job's own labels are kept",
			job:  created(clientJob(func(j *batchv1.Job) { j.Labels = map[string]string{"team": "a"} })),
			want: map[string]string{"team": "a"},
		},
		{
			name: "JOB-DEF-09 an update that drops the labels gets the template labels again",
			job:  updated(stored(), func(j *batchv1.Job) { j.Labels = nil }),
			want: generated,
		},
		{
			name: "JOB-DEF-09 a manual selector Job without template labels stays without labels",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.ManualSelector = ptr.To(true) })),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.job.Labels); diff != "" {
				t.Errorf("job labels mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJobStrategyKeepsStatusAndSpec(t *testing.T) {
	status := batchv1.JobStatus{Active: 2, StartTime: &testNow}
	tests := []struct {
		name       string
		got        *batchv1.Job
		wantStatus batchv1.JobStatus
		wantSpec   batchv1.JobSpec
	}{
		{
			name:       "JOB-DEF-10 create discards the client's status",
			got:        created(clientJob(func(j *batchv1.Job) { j.Status = status })),
			wantStatus: batchv1.JobStatus{},
			wantSpec:   stored().Spec,
		},
		{
			name:       "JOB-DEF-11 an update of the main resource keeps the stored status",
			got:        updated(stored(func(j *batchv1.Job) { j.Status = status }), func(j *batchv1.Job) { j.Status.Active = 7 }),
			wantStatus: status,
			wantSpec:   stored().Spec,
		},
		{
			name: "JOB-DEF-11 an update of status keeps the stored spec",
			got: func() *batchv1.Job {
				old := stored()
				job := old.DeepCopy()
				job.Status = status
				job.Spec.Parallelism = ptr.To[int32](9)
				jobResource().Subresources["status"].PrepareForUpdate(job, old)
				return job
			}(),
			wantStatus: status,
			wantSpec:   stored().Spec,
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
