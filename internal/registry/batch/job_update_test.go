package batch

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func suspended(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) }

// startedThenSuspended is a Job the controller started, then suspended:
// its pods are gone and it carries Suspended=True.
func startedThenSuspended(j *batchv1.Job) {
	j.Spec.Suspend = ptr.To(true)
	j.Status.StartTime = &testNow
	j.Status.Conditions = []batchv1.JobCondition{condition(batchv1.JobSuspended, corev1.ConditionTrue)}
}

func nodeAffinity() *corev1.NodeAffinity {
	return &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}},
		}}},
	}}
}

func schedulingChanges(j *batchv1.Job) {
	t := &j.Spec.Template
	t.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	t.Spec.Tolerations = []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists}}
	t.Spec.Affinity = &corev1.Affinity{NodeAffinity: nodeAffinity()}
	t.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/quota"}}
	t.Labels["queue"] = "a"
	t.Annotations = map[string]string{"note": "moved"}
}

func cpu(q string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}}
}

func TestValidateJobUpdate(t *testing.T) {
	const (
		templateImmutable = "spec.template: Invalid value: field is immutable"
		podSpecImmutable  = "spec.template.spec: Invalid value: field is immutable"
	)
	tests := []struct {
		name    string
		old     *batchv1.Job
		changes []func(*batchv1.Job)
		want    []string
	}{
		{
			name:    "JOB-UPD-01 create validation runs again, once per upstream pass",
			old:     stored(),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](-1) }},
			want: []string{
				"spec.parallelism: Invalid value: must be greater than or equal to 0",
				"spec.parallelism: Invalid value: must be greater than or equal to 0",
			},
		},
		{
			name:    "JOB-UPD-02 selector is immutable",
			old:     stored(),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.Selector.MatchLabels["job-name"] = "pi" }},
			want:    []string{"spec.selector: Invalid value: field is immutable"},
		},
		{
			name: "JOB-UPD-02 completionMode is immutable",
			old:  stored(),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) {
				j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			}},
			want: []string{"spec.completionMode: Invalid value: field is immutable"},
		},
		{
			name: "JOB-UPD-02 podFailurePolicy is immutable",
			old:  stored(func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed) }),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) {
				j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{disruptionRule(corev1.ConditionTrue)}}
			}},
			want: []string{"spec.podFailurePolicy: Invalid value: field is immutable"},
		},
		{
			name:    "JOB-UPD-02 backoffLimitPerIndex is immutable",
			old:     stored(indexed(3), func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) }),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](2) }},
			want:    []string{"spec.backoffLimitPerIndex: Invalid value: field is immutable"},
		},
		{
			name:    "JOB-UPD-02 managedBy is immutable",
			old:     stored(),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("example.com/queue") }},
			want:    []string{"spec.managedBy: Invalid value: field is immutable"},
		},
		{
			name: "JOB-UPD-02 successPolicy is immutable",
			old:  stored(indexed(3)),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) {
				j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}}
			}},
			want: []string{"spec.successPolicy: Invalid value: field is immutable"},
		},
		{
			name:    "JOB-UPD-03 completions of a NonIndexed Job are immutable",
			old:     stored(),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](2) }},
			want:    []string{"spec.completions: Invalid value: field is immutable"},
		},
		{
			name:    "JOB-UPD-04 completions of an Indexed Job change only with parallelism",
			old:     stored(indexed(3)),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](4) }},
			want:    []string{"spec.completions: Invalid value: can only be modified in tandem with spec.parallelism"},
		},
		{
			name:    "JOB-UPD-04 an Indexed Job scales completions and parallelism together",
			old:     stored(indexed(3)),
			changes: []func(*batchv1.Job){indexed(5)},
		},
		{
			name: "JOB-UPD-05 the mutable fields change freely on a running Job",
			old: stored(indexed(3), func(j *batchv1.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Status.StartTime, j.Status.Active = &testNow, 3
			}),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) {
				j.Spec.Parallelism = ptr.To[int32](1)
				j.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
				j.Spec.BackoffLimit = ptr.To[int32](2)
				j.Spec.TTLSecondsAfterFinished = ptr.To[int32](100)
				j.Spec.Suspend = ptr.To(true)
				j.Spec.MaxFailedIndexes = ptr.To[int32](1)
				j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
				j.Labels["team"] = "a"
				j.Annotations = map[string]string{"note": "x"}
			}},
		},
		{
			name:    "JOB-UPD-06 the template of a running Job is immutable",
			old:     stored(func(j *batchv1.Job) { j.Status.StartTime, j.Status.Active = &testNow, 1 }),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "alpine" }},
			want:    []string{templateImmutable},
		},
		{
			name:    "JOB-UPD-06 scheduling directives of an unsuspended Job are immutable",
			old:     stored(),
			changes: []func(*batchv1.Job){schedulingChanges},
			want:    []string{templateImmutable},
		},
		{
			name:    "JOB-UPD-06 suspending in the same update does not unlock the template",
			old:     stored(),
			changes: []func(*batchv1.Job){suspended, schedulingChanges},
			want:    []string{templateImmutable},
		},
		{
			name:    "JOB-UPD-07 a suspended Job that never started may change its scheduling directives",
			old:     stored(suspended),
			changes: []func(*batchv1.Job){schedulingChanges},
		},
		{
			name:    "JOB-UPD-07 a started Job suspended by the controller may change them",
			old:     stored(startedThenSuspended),
			changes: []func(*batchv1.Job){schedulingChanges},
		},
		{
			name:    "JOB-UPD-07 a started suspended Job without the Suspended condition may not",
			old:     stored(suspended, func(j *batchv1.Job) { j.Status.StartTime = &testNow }),
			changes: []func(*batchv1.Job){schedulingChanges},
			want:    []string{templateImmutable},
		},
		{
			name:    "JOB-UPD-07 a suspended Job with active pods may not",
			old:     stored(startedThenSuspended, func(j *batchv1.Job) { j.Status.Active = 1 }),
			changes: []func(*batchv1.Job){schedulingChanges},
			want:    []string{templateImmutable},
		},
		{
			name: "JOB-UPD-07 affinity holding only node affinity may be cleared",
			old:  stored(suspended, func(j *batchv1.Job) { j.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: nodeAffinity()} }),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) {
				j.Spec.Template.Spec.Affinity = nil
			}},
		},
		{
			name: "JOB-UPD-07 affinity holding pod affinity may not be cleared",
			old: stored(suspended, func(j *batchv1.Job) {
				j.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: nodeAffinity(), PodAffinity: &corev1.PodAffinity{}}
			}),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.Template.Spec.Affinity = nil }},
			want:    []string{podSpecImmutable},
		},
		{
			name: "JOB-UPD-08 a suspended Job may change container and init container resources",
			old: stored(suspended, func(j *batchv1.Job) {
				j.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", ImagePullPolicy: corev1.PullAlways,
					TerminationMessagePath: corev1.TerminationMessagePathDefault, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}
			}),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) {
				j.Spec.Template.Spec.Containers[0].Resources = cpu("2")
				j.Spec.Template.Spec.InitContainers[0].Resources = cpu("1")
			}},
		},
		{
			name:    "JOB-UPD-08 any other pod spec change of a suspended Job is reported at the pod spec",
			old:     stored(suspended),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "alpine" }},
			want:    []string{podSpecImmutable},
		},
		{
			name: "JOB-UPD-08 containers may not be added while resources change",
			old:  stored(suspended),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) {
				j.Spec.Template.Spec.Containers[0].Resources = cpu("2")
				j.Spec.Template.Spec.Containers = append(j.Spec.Template.Spec.Containers, corev1.Container{Name: "side", Image: "busybox"})
			}},
			want: []string{podSpecImmutable},
		},
		{
			name:    "JOB-UPD-08 resources of a running Job are immutable",
			old:     stored(func(j *batchv1.Job) { j.Status.StartTime, j.Status.Active = &testNow, 1 }),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Resources = cpu("2") }},
			want:    []string{templateImmutable},
		},
		{
			name: "JOB-SEL-03 the prefixed labels are not required of a stored Job that lacks them",
			old: stored(func(j *batchv1.Job) {
				delete(j.Spec.Template.Labels, labelJobName)
				delete(j.Spec.Template.Labels, labelControllerUID)
				j.Spec.Selector.MatchLabels = map[string]string{labelLegacyControllerUID: string(testUID)}
				j.Labels = j.Spec.Template.Labels
			}),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](2) }},
		},
		{
			name:    "JOB-SEL-03 the prefixed labels stay required of a stored Job that has them",
			old:     stored(suspended),
			changes: []func(*batchv1.Job){func(j *batchv1.Job) { delete(j.Spec.Template.Labels, labelJobName) }},
			want:    []string{"spec.template.metadata.labels[batch.kubernetes.io/job-name]: Required value: must be 'pi'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := updated(tt.old, tt.changes...)
			got := errSummaries(validateJobUpdate(job, tt.old))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("validateJobUpdate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
