package jobtest

import (
	"maps"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Option changes a Job under construction.
type Option func(*batchv1.Job)

// Container is the name of the single container of a New Job's pods.
const Container = "main"

// New returns a Job as a user would write it: one container named "main",
// restartPolicy Never, in namespace "default", nothing defaulted.
func New(name string, opts ...Option) *batchv1.Job {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceDefault},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: Container, Image: "busybox", Command: []string{"true"}}},
				},
			},
		},
	}
	for _, o := range opts {
		o(job)
	}
	return job
}

// Namespace puts the Job in ns.
func Namespace(ns string) Option { return func(j *batchv1.Job) { j.Namespace = ns } }

// UID sets metadata.uid, for tests that bypass the API server.
func UID(uid string) Option {
	return func(j *batchv1.Job) { j.UID = types.UID(uid) }
}

func Completions(n int32) Option { return func(j *batchv1.Job) { j.Spec.Completions = ptr.To(n) } }
func Parallelism(n int32) Option { return func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To(n) } }
func BackoffLimit(n int32) Option {
	return func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To(n) }
}

// Indexed sets completionMode Indexed.
func Indexed() Option {
	return func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) }
}

// CompletionMode sets any completion mode, valid or not.
func CompletionMode(m batchv1.CompletionMode) Option {
	return func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(m) }
}

func BackoffLimitPerIndex(n int32) Option {
	return func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To(n) }
}

func MaxFailedIndexes(n int32) Option {
	return func(j *batchv1.Job) { j.Spec.MaxFailedIndexes = ptr.To(n) }
}

// Suspend sets spec.suspend.
func Suspend(s bool) Option { return func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(s) } }

// ActiveDeadline sets spec.activeDeadlineSeconds.
func ActiveDeadline(seconds int64) Option {
	return func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To(seconds) }
}

func RestartPolicy(p corev1.RestartPolicy) Option {
	return func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = p }
}

func PodReplacementPolicy(p batchv1.PodReplacementPolicy) Option {
	return func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = ptr.To(p) }
}

func ManagedBy(m string) Option { return func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To(m) } }

func TTL(seconds int32) Option {
	return func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr.To(seconds) }
}

// ManualSelector selects pods by the given labels, which the template
// carries too, instead of a generated selector.
func ManualSelector(labels map[string]string) Option {
	return func(j *batchv1.Job) {
		j.Spec.ManualSelector = ptr.To(true)
		j.Spec.Selector = &metav1.LabelSelector{MatchLabels: maps.Clone(labels)}
		if j.Spec.Template.Labels == nil {
			j.Spec.Template.Labels = map[string]string{}
		}
		maps.Copy(j.Spec.Template.Labels, labels)
	}
}

// Containers replaces the template's containers with ones of these names.
func Containers(names ...string) Option {
	return func(j *batchv1.Job) {
		j.Spec.Template.Spec.Containers = nil
		for _, n := range names {
			j.Spec.Template.Spec.Containers = append(j.Spec.Template.Spec.Containers,
				corev1.Container{Name: n, Image: "busybox", Command: []string{"true"}})
		}
	}
}

// InitContainer adds an init container.
func InitContainer(name string) Option {
	return func(j *batchv1.Job) {
		j.Spec.Template.Spec.InitContainers = append(j.Spec.Template.Spec.InitContainers,
			corev1.Container{Name: name, Image: "busybox", Command: []string{"true"}})
	}
}

// Subdomain sets the template's subdomain.
func Subdomain(s string) Option { return func(j *batchv1.Job) { j.Spec.Template.Spec.Subdomain = s } }

// TemplateLabels adds labels and TemplateAnnotations annotations to the
// pod template.
func TemplateLabels(l map[string]string) Option {
	return func(j *batchv1.Job) {
		if j.Spec.Template.Labels == nil {
			j.Spec.Template.Labels = map[string]string{}
		}
		maps.Copy(j.Spec.Template.Labels, l)
	}
}

func TemplateAnnotations(a map[string]string) Option {
	return func(j *batchv1.Job) {
		if j.Spec.Template.Annotations == nil {
			j.Spec.Template.Annotations = map[string]string{}
		}
		maps.Copy(j.Spec.Template.Annotations, a)
	}
}

// PodFailurePolicy sets the rules of spec.podFailurePolicy; build them with
// OnExitCodes and OnConditions.
func PodFailurePolicy(rules ...batchv1.PodFailurePolicyRule) Option {
	return func(j *batchv1.Job) { j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: rules} }
}

// OnExitCodes is a rule matching exit codes In values of container (""
// for any container).
func OnExitCodes(action batchv1.PodFailurePolicyAction, container string, op batchv1.PodFailurePolicyOnExitCodesOperator, values ...int32) batchv1.PodFailurePolicyRule {
	r := batchv1.PodFailurePolicyRule{Action: action, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: op, Values: values}}
	if container != "" {
		r.OnExitCodes.ContainerName = ptr.To(container)
	}
	return r
}

// OnConditions is a rule matching pod conditions of these types with
// status True.
func OnConditions(action batchv1.PodFailurePolicyAction, types ...corev1.PodConditionType) batchv1.PodFailurePolicyRule {
	r := batchv1.PodFailurePolicyRule{Action: action}
	for _, t := range types {
		r.OnPodConditions = append(r.OnPodConditions, batchv1.PodFailurePolicyOnPodConditionsPattern{Type: t, Status: corev1.ConditionTrue})
	}
	return r
}

// SuccessPolicy sets spec.successPolicy; build rules with SucceededIndexes
// and SucceededCount.
func SuccessPolicy(rules ...batchv1.SuccessPolicyRule) Option {
	return func(j *batchv1.Job) { j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: rules} }
}

// SucceededIndexes is a success rule on listed indexes, with a count when
// count ≥ 0.
func SucceededIndexes(indexes string, count int32) batchv1.SuccessPolicyRule {
	r := batchv1.SuccessPolicyRule{SucceededIndexes: ptr.To(indexes)}
	if count >= 0 {
		r.SucceededCount = ptr.To(count)
	}
	return r
}

// SucceededCount is a success rule on a count of succeeded indexes.
func SucceededCount(count int32) batchv1.SuccessPolicyRule {
	return batchv1.SuccessPolicyRule{SucceededCount: ptr.To(count)}
}

// Default applies the API server's Job defaults (JOB-DEF-01..06) and a
// generated selector, for tests of the controller that bypass the server.
func Default(job *batchv1.Job) *batchv1.Job {
	s := &job.Spec
	switch {
	case s.Completions == nil && s.Parallelism == nil:
		s.Completions, s.Parallelism = ptr.To[int32](1), ptr.To[int32](1)
	case s.Parallelism == nil:
		s.Parallelism = ptr.To[int32](1)
	}
	if s.BackoffLimit == nil {
		if s.BackoffLimitPerIndex != nil {
			s.BackoffLimit = ptr.To[int32](2147483647)
		} else {
			s.BackoffLimit = ptr.To[int32](6)
		}
	}
	if s.CompletionMode == nil {
		s.CompletionMode = ptr.To(batchv1.NonIndexedCompletion)
	}
	if s.Suspend == nil {
		s.Suspend = ptr.To(false)
	}
	if s.PodReplacementPolicy == nil {
		if s.PodFailurePolicy != nil {
			s.PodReplacementPolicy = ptr.To(batchv1.Failed)
		} else {
			s.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
		}
	}
	if !ptr.Deref(s.ManualSelector, false) {
		uid := string(job.UID)
		if uid == "" {
			uid = "uid-" + job.Name
			job.UID = types.UID(uid)
		}
		s.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: uid}}
		if s.Template.Labels == nil {
			s.Template.Labels = map[string]string{}
		}
		s.Template.Labels[batchv1.ControllerUidLabel] = uid
		s.Template.Labels[batchv1.JobNameLabel] = job.Name
		s.Template.Labels["controller-uid"] = uid
		s.Template.Labels["job-name"] = job.Name
	}
	return job
}
