package batch

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// updateOptions derives the update rules from the stored Job.
func updateOptions(old *batchv1.Job) jobOptions {
	_, hadName := old.Spec.Template.Labels[labelJobName]
	_, hadUID := old.Spec.Template.Labels[labelControllerUID]
	return jobOptions{
		requirePrefixedLabels:            hadName && hadUID,
		allowInvalidLabelValueInSelector: metav1validation.LabelSelectorHasInvalidLabelValue(old.Spec.Selector),
		mutableTemplate:                  templateMutable(old),
	}
}

// templateMutable reports whether a stored Job's pod template may change
// its scheduling directives and container resources (JOB-UPD-07/08): the
// Job is suspended, none of its pods is active, and either it never
// started or the controller has marked it Suspended (so every pod started
// from the old template is gone or going).
func templateMutable(old *batchv1.Job) bool {
	return ptr.Deref(old.Spec.Suspend, false) &&
		(old.Status.StartTime == nil || conditionTrue(old.Status.Conditions, batchv1.JobSuspended)) &&
		old.Status.Active == 0
}

// validateJobUpdate checks an update of a Job's main resource: the whole
// Job again (JOB-UPD-01) and what may not change (JOB-UPD-02..08). As
// upstream does, the spec rules run twice (ValidateJob, then
// ValidateJobSpecUpdate), so a bad spec field appears twice in the causes;
// the message lists it once because the error list is deduplicated there.
func validateJobUpdate(job, old *batchv1.Job) field.ErrorList {
	opts := updateOptions(old)
	errs := validateJob(job, opts)
	spec, oldSpec, p := &job.Spec, &old.Spec, field.NewPath("spec")
	errs = append(errs, validateJobSpecWithSelector(spec, p, opts)...)
	errs = append(errs, validateCompletionsUpdate(spec, oldSpec, p.Child("completions"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.Selector, oldSpec.Selector, p.Child("selector"))...)
	errs = append(errs, validateTemplateUpdate(spec, oldSpec, p, opts.mutableTemplate)...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.CompletionMode, oldSpec.CompletionMode, p.Child("completionMode"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.PodFailurePolicy, oldSpec.PodFailurePolicy, p.Child("podFailurePolicy"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.BackoffLimitPerIndex, oldSpec.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.ManagedBy, oldSpec.ManagedBy, p.Child("managedBy"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.SuccessPolicy, oldSpec.SuccessPolicy, p.Child("successPolicy"))...)
	return errs
}

// validateCompletionsUpdate keeps completions fixed, except that an Indexed
// Job may change it together with parallelism (JOB-UPD-03, JOB-UPD-04).
func validateCompletionsUpdate(spec, old *batchv1.JobSpec, p *field.Path) field.ErrorList {
	if ptr.Deref(spec.CompletionMode, "") != batchv1.IndexedCompletion {
		return apivalidation.ValidateImmutableField(spec.Completions, old.Completions, p)
	}
	if apiequality.Semantic.DeepEqual(spec.Completions, old.Completions) || spec.Completions == nil {
		return nil // an Indexed Job without completions is reported by validateJobSpec
	}
	if !ptr.Equal(spec.Completions, spec.Parallelism) {
		return field.ErrorList{field.Invalid(p, spec.Completions,
			fmt.Sprintf("can only be modified in tandem with %s", p.Root().Child("parallelism")))}
	}
	return nil
}

// validateTemplateUpdate keeps the pod template fixed, except for what a
// suspended Job may change when mutable is set (JOB-UPD-06..08): node
// affinity, node selector, tolerations, scheduling gates, template labels
// and annotations, and container and init container resources. As
// upstream does, any other change is then reported at the pod spec
// (spec.template.spec) rather than at spec.template.
func validateTemplateUpdate(spec, old *batchv1.JobSpec, p *field.Path, mutable bool) field.ErrorList {
	if !mutable {
		return apivalidation.ValidateImmutableField(spec.Template, old.Template, p.Child("template"))
	}
	t, oldT := &spec.Template, old.Template.DeepCopy()
	switch {
	case t.Spec.Affinity == nil && oldT.Spec.Affinity != nil:
		// Affinity may be cleared if it held nothing but node affinity.
		oldT.Spec.Affinity.NodeAffinity = nil
		if *oldT.Spec.Affinity == (corev1.Affinity{}) {
			oldT.Spec.Affinity = nil
		}
	case t.Spec.Affinity != nil && oldT.Spec.Affinity == nil:
		oldT.Spec.Affinity = &corev1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
	case t.Spec.Affinity != nil && oldT.Spec.Affinity != nil:
		oldT.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
	}
	oldT.Spec.NodeSelector = t.Spec.NodeSelector
	oldT.Spec.Tolerations = t.Spec.Tolerations
	oldT.Spec.SchedulingGates = t.Spec.SchedulingGates
	oldT.Labels = t.Labels
	oldT.Annotations = t.Annotations
	return validateResourceUpdatesOnly(&t.Spec, &oldT.Spec, p.Child("template", "spec"))
}

// validateResourceUpdatesOnly lets containers' resources change when the
// container lists keep their length and names, and nothing else.
func validateResourceUpdatesOnly(spec, old *corev1.PodSpec, p *field.Path) field.ErrorList {
	masked := old.DeepCopy()
	takeResources := func(dst, src []corev1.Container) {
		if len(dst) != len(src) {
			return
		}
		for i := range dst {
			if dst[i].Name == src[i].Name {
				dst[i].Resources = src[i].Resources
			}
		}
	}
	takeResources(masked.Containers, spec.Containers)
	takeResources(masked.InitContainers, spec.InitContainers)
	return apivalidation.ValidateImmutableField(spec, masked, p)
}

// conditionTrue reports whether conditions hold t with status True.
func conditionTrue(conditions []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	return conditionIs(conditions, t, corev1.ConditionTrue)
}

func conditionIs(conditions []batchv1.JobCondition, t batchv1.JobConditionType, s corev1.ConditionStatus) bool {
	for _, c := range conditions {
		if c.Type == t && c.Status == s {
			return true
		}
	}
	return false
}
