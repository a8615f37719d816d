package core

import (
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ephemeralInTemplateMsg is upstream's message for ephemeral containers in
// a pod template: they can only be added to a running pod.
const ephemeralInTemplateMsg = "ephemeral containers not allowed in pod template"

// ValidatePodTemplateSpec checks a pod template the way upstream's
// ValidatePodTemplateSpec does for the parts batchd validates: the
// template's labels and annotations (reported at <p>.labels and
// <p>.annotations, not under metadata, as upstream does), the pod spec
// (ValidatePodSpec, at <p>.spec) and the ban on ephemeral containers.
// Callers add their own rules for restartPolicy (Jobs allow only OnFailure
// and Never).
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, p *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabels(t.Labels, p.Child("labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, p.Child("annotations"))...)
	errs = append(errs, ValidatePodSpec(&t.Spec, p.Child("spec"))...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(p.Child("spec", "ephemeralContainers"), ephemeralInTemplateMsg))
	}
	return errs
}
