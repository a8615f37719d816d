package batch

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// Label keys the server puts on a Job's pod template (JOB-SEL-01). The
// unprefixed ones are kept for older tools.
const (
	labelControllerUID       = batchv1.ControllerUidLabel // batch.kubernetes.io/controller-uid
	labelJobName             = batchv1.JobNameLabel       // batch.kubernetes.io/job-name
	labelLegacyControllerUID = "controller-uid"
	labelLegacyJobName       = "job-name"
)

// Messages of the selector rules (JOB-SEL-03..05, CRON-VAL-09).
const (
	msgSelectorNotGenerated    = "`selector` not auto-generated"
	msgSelectorNotMatching     = "`selector` does not match template `labels`"
	msgSelectorWillBeGenerated = "`selector` will be auto-generated"
)

// generateSelector labels the pod template of a Job whose selector is not
// manual with the Job's name and uid, and selects on the uid (JOB-SEL-01,
// JOB-SEL-02). Keys the user already set are left as they are: a conflict
// is then reported by validateGeneratedSelector. It runs on create only,
// once the registry has given the Job its uid.
func generateSelector(job *batchv1.Job) {
	if ptr.Deref(job.Spec.ManualSelector, false) {
		return
	}
	t := &job.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for _, key := range []string{labelLegacyJobName, labelJobName} {
		if _, ok := t.Labels[key]; !ok {
			t.Labels[key] = job.Name
		}
	}
	for _, key := range []string{labelLegacyControllerUID, labelControllerUID} {
		if _, ok := t.Labels[key]; !ok {
			t.Labels[key] = string(job.UID)
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := job.Spec.Selector.MatchLabels[labelControllerUID]; !ok {
		job.Spec.Selector.MatchLabels[labelControllerUID] = string(job.UID)
	}
}

// validateGeneratedSelector checks that a Job whose selector was generated
// still carries the generated labels and selects them (JOB-SEL-03,
// JOB-SEL-04). requirePrefixed adds the batch.kubernetes.io/ keys to the
// required ones: always on create, and on update when the stored Job had
// them.
func validateGeneratedSelector(job *batchv1.Job, requirePrefixed bool) field.ErrorList {
	var errs field.ErrorList
	if ptr.Deref(job.Spec.ManualSelector, false) || job.Spec.Selector == nil {
		return errs // a missing selector is reported by validateJobSpec
	}
	if job.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	meta := field.NewPath("spec", "template", "metadata")
	uid, name := string(job.UID), job.Name
	errs = append(errs, validateHasLabel(job.Spec.Template.Labels, meta, labelLegacyControllerUID, uid)...)
	errs = append(errs, validateHasLabel(job.Spec.Template.Labels, meta, labelLegacyJobName, name)...)
	expected := labels.Set{}
	if requirePrefixed {
		errs = append(errs, validateHasLabel(job.Spec.Template.Labels, meta, labelControllerUID, uid)...)
		errs = append(errs, validateHasLabel(job.Spec.Template.Labels, meta, labelJobName, name)...)
		expected[labelControllerUID] = uid
		expected[labelJobName] = name
	}
	expected[labelLegacyControllerUID] = uid
	expected[labelLegacyJobName] = name
	if selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !selector.Matches(expected) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), job.Spec.Selector, msgSelectorNotGenerated))
	}
	return errs
}

// validateHasLabel is upstream's ValidateHasLabel: labels[key] must exist
// and equal want.
func validateHasLabel(l map[string]string, meta *field.Path, key, want string) field.ErrorList {
	p := meta.Child("labels").Key(key)
	got, ok := l[key]
	switch {
	case !ok:
		return field.ErrorList{field.Required(p, fmt.Sprintf("must be '%s'", want))}
	case got != want:
		return field.ErrorList{field.Invalid(p, l, fmt.Sprintf("must be '%s'", want))}
	}
	return nil
}
