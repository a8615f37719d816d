package batch

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/registry/core"
)

// Limits of Job specs, from upstream's batch validation (JOB-VAL-08,
// JOB-VAL-11, JOB-VAL-12, JOB-VAL-15).
const (
	maxParallelismForIndexedJob             = 100_000
	maxFailedIndexesForIndexedJob           = 100_000
	completionsSoftLimit                    = 100_000
	parallelismLimitForHighCompletions      = 10_000
	maxFailedIndexesLimitForHighCompletions = 10_000
	maxManagedByLength                      = 63
)

// jobOptions are the rules that differ between a create and an update.
type jobOptions struct {
	// requirePrefixedLabels requires the batch.kubernetes.io/ selector
	// labels on the template (JOB-SEL-03).
	requirePrefixedLabels bool
	// allowInvalidLabelValueInSelector keeps accepting a stored selector
	// that older servers let through.
	allowInvalidLabelValueInSelector bool
	// mutableTemplate allows the scheduling directives and container
	// resources of a suspended Job's template to change (JOB-UPD-07/08).
	mutableTemplate bool
}

// validateJob checks a whole Job, as upstream's ValidateJob does, except
// for its metadata, which the registry's Store validates for every kind
// (JOB-VAL-01 is the Store's DNS subdomain name rule).
func validateJob(job *batchv1.Job, opts jobOptions) field.ErrorList {
	errs := validateGeneratedSelector(job, opts.requirePrefixedLabels)
	errs = append(errs, validateJobSpecWithSelector(&job.Spec, field.NewPath("spec"), opts)...)
	errs = append(errs, validateIndexedHostnames(job)...)
	return errs
}

// validateIndexedHostnames rejects an Indexed Job whose last pod hostname,
// <name>-<completions-1>, is not a DNS label (JOB-VAL-09).
func validateIndexedHostnames(job *batchv1.Job) field.ErrorList {
	if ptr.Deref(job.Spec.CompletionMode, "") != batchv1.IndexedCompletion || ptr.Deref(job.Spec.Completions, 0) <= 0 {
		return nil
	}
	hostname := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
	if len(validation.IsDNS1123Label(hostname)) == 0 {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), job.Name,
		fmt.Sprintf("will not able to create pod with invalid DNS label: %s", hostname))}
}

// validateJobSpecWithSelector is upstream's ValidateJobSpec: the spec rules
// plus a valid selector that matches the template labels (JOB-SEL-05).
func validateJobSpecWithSelector(spec *batchv1.JobSpec, p *field.Path, opts jobOptions) field.ErrorList {
	errs := validateJobSpec(spec, p)
	if spec.Selector == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector,
			metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValueInSelector},
			p.Child("selector"))...)
	}
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), spec.Template.Labels, msgSelectorNotMatching))
	}
	return errs
}

// validateJobSpec holds the spec rules Jobs and the Job templates of
// CronJobs share (JOB-VAL-03..08, JOB-VAL-10..12, JOB-VAL-14..16, JOB-PFP,
// JOB-SP), in upstream's order.
func validateJobSpec(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	nonNegative := func(v *int32, name string) {
		if v != nil {
			errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*v), p.Child(name))...)
		}
	}
	nonNegative(spec.Parallelism, "parallelism")
	nonNegative(spec.Completions, "completions")
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(*spec.ActiveDeadlineSeconds, p.Child("activeDeadlineSeconds"))...)
	}
	nonNegative(spec.BackoffLimit, "backoffLimit")
	nonNegative(spec.TTLSecondsAfterFinished, "ttlSecondsAfterFinished")
	nonNegative(spec.BackoffLimitPerIndex, "backoffLimitPerIndex")
	nonNegative(spec.MaxFailedIndexes, "maxFailedIndexes")
	if spec.MaxFailedIndexes != nil && spec.BackoffLimitPerIndex == nil {
		errs = append(errs, field.Required(p.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	if spec.ManagedBy != nil {
		errs = append(errs, validation.IsDomainPrefixedPath(p.Child("managedBy"), *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > maxManagedByLength {
			errs = append(errs, field.TooLong(p.Child("managedBy"), "", maxManagedByLength))
		}
	}
	errs = append(errs, validateCompletionMode(spec, p)...)
	if spec.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(spec, p.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		if ptr.Deref(spec.CompletionMode, batchv1.NonIndexedCompletion) != batchv1.IndexedCompletion {
			errs = append(errs, field.Invalid(p.Child("successPolicy"), *spec.SuccessPolicy, "requires indexed completion mode"))
		} else {
			errs = append(errs, validateSuccessPolicy(spec, p.Child("successPolicy"))...)
		}
	}
	errs = append(errs, validatePodReplacementPolicy(spec, p.Child("podReplacementPolicy"))...)
	errs = append(errs, core.ValidatePodTemplateSpec(&spec.Template, p.Child("template"))...)
	errs = append(errs, validateJobRestartPolicy(spec, p.Child("template", "spec", "restartPolicy"))...)
	return errs
}

// validateCompletionMode checks completionMode and the rules that depend on
// it (JOB-VAL-06..08, JOB-VAL-10..12).
func validateCompletionMode(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	mode := ptr.Deref(spec.CompletionMode, batchv1.NonIndexedCompletion)
	if spec.CompletionMode != nil && mode != batchv1.NonIndexedCompletion && mode != batchv1.IndexedCompletion {
		errs = append(errs, field.NotSupported(p.Child("completionMode"), mode,
			[]batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
	}
	if mode == batchv1.IndexedCompletion {
		if spec.Completions == nil {
			errs = append(errs, field.Required(p.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
		}
		if spec.Parallelism != nil && *spec.Parallelism > maxParallelismForIndexedJob {
			errs = append(errs, field.Invalid(p.Child("parallelism"), *spec.Parallelism,
				fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
		}
		if spec.Completions != nil && spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > *spec.Completions {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "must be less than or equal to completions"))
		}
		if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexesForIndexedJob {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes,
				fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesForIndexedJob)))
		}
		if spec.Completions != nil && *spec.Completions > completionsSoftLimit && spec.BackoffLimitPerIndex != nil {
			const high = "when completions are above %d and used with backoff limit per index"
			if spec.MaxFailedIndexes == nil {
				errs = append(errs, field.Required(p.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
			}
			if spec.Parallelism != nil && *spec.Parallelism > parallelismLimitForHighCompletions {
				errs = append(errs, field.Invalid(p.Child("parallelism"), *spec.Parallelism,
					fmt.Sprintf("must be less than or equal to %d "+high, parallelismLimitForHighCompletions, completionsSoftLimit)))
			}
			if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexesLimitForHighCompletions {
				errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes,
					fmt.Sprintf("must be less than or equal to %d "+high, maxFailedIndexesLimitForHighCompletions, completionsSoftLimit)))
			}
		}
	}
	if mode == batchv1.NonIndexedCompletion {
		if spec.BackoffLimitPerIndex != nil {
			errs = append(errs, field.Invalid(p.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if spec.MaxFailedIndexes != nil {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
		}
	}
	return errs
}

// validateJobRestartPolicy allows only OnFailure and Never, and only Never
// with a pod failure policy (JOB-VAL-04, JOB-VAL-05). An omitted policy was
// defaulted to Always, so Always is reported as missing.
func validateJobRestartPolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	switch rp := spec.Template.Spec.RestartPolicy; {
	case rp == corev1.RestartPolicyAlways || rp == "":
		return field.ErrorList{field.Required(p, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever))}
	case rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever:
		return field.ErrorList{field.NotSupported(p, rp, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
	case spec.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever:
		return field.ErrorList{field.Invalid(p, rp, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever))}
	}
	return nil
}

// validatePodReplacementPolicy allows Failed and TerminatingOrFailed, and
// only Failed with a pod failure policy (JOB-VAL-14).
func validatePodReplacementPolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	if spec.PodReplacementPolicy == nil {
		return nil
	}
	prp := *spec.PodReplacementPolicy
	if spec.PodFailurePolicy != nil {
		if prp != batchv1.Failed {
			return field.ErrorList{field.NotSupported(p, prp, []batchv1.PodReplacementPolicy{batchv1.Failed})}
		}
		return nil
	}
	if prp != batchv1.Failed && prp != batchv1.TerminatingOrFailed {
		return field.ErrorList{field.NotSupported(p, prp, []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed})}
	}
	return nil
}
