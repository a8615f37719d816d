package batch

import (
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/batchd/batchd/internal/registry"
)

func cronJobResource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: batchv1.SchemeGroupVersion,
		Name:         "cronjobs",
		Kind:         "CronJob",
		SingularName: "cronjob",
		ShortNames:   []string{"cj"},
		Categories:   []string{"all"},
		Namespaced:   true,
		NewFunc:      func() runtime.Object { return &batchv1.CronJob{} },
		NewListFunc:  func() runtime.Object { return &batchv1.CronJobList{} },
		Strategy:     newCronJobStrategy(),
		// Status writes keep the spec and are not validated further
		// (CRON-DEF-04), as upstream's.
		Subresources: map[string]registry.Strategy{"status": &registry.StatusStrategy{}},
	}
}

// cronJobStrategy holds the rules of the cronjobs resource, as upstream's
// pkg/registry/batch/cronjob strategy does. As for Jobs, the status is
// cleared on create and kept on update, and the Store manages the
// generation (CRON-DEF-04).
type cronJobStrategy struct {
	registry.MainStrategy
}

func newCronJobStrategy() *cronJobStrategy {
	return &cronJobStrategy{registry.MainStrategy{
		HasStatus: true,
		Defaults:  func(obj runtime.Object) { defaultCronJob(obj.(*batchv1.CronJob)) },
		Check:     func(obj runtime.Object) field.ErrorList { return validateCronJob(obj.(*batchv1.CronJob)) },
		CheckUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateCronJobUpdate(obj.(*batchv1.CronJob), old.(*batchv1.CronJob))
		},
	}}
}

// WarningsOnCreate returns the warnings upstream sends with a CronJob's
// creation (CRON-VAL-02, and JOB-VAL-13 for the Job template).
func (*cronJobStrategy) WarningsOnCreate(obj runtime.Object) []string {
	cj := obj.(*batchv1.CronJob)
	warnings := nameWarnings(cj.Name)
	return append(warnings, jobSpecWarnings(field.NewPath("spec", "jobTemplate", "spec"), &cj.Spec.JobTemplate.Spec)...)
}

// WarningsOnUpdate returns the warnings of an update: the Job template's,
// when the spec changes, and the legacy TZ schedule's, whenever the
// schedule still has one (CRON-VAL-04). The path in the latter is
// upstream's, spec.spec.schedule, mistake included.
func (*cronJobStrategy) WarningsOnUpdate(obj, old runtime.Object) []string {
	cj, oldCJ := obj.(*batchv1.CronJob), old.(*batchv1.CronJob)
	var warnings []string
	if !apiequality.Semantic.DeepEqual(cj.Spec, oldCJ.Spec) {
		warnings = jobSpecWarnings(field.NewPath("spec", "jobTemplate", "spec"), &cj.Spec.JobTemplate.Spec)
	}
	if strings.Contains(cj.Spec.Schedule, scheduleTZMarker) {
		warnings = append(warnings, fmt.Sprintf(warnTZInScheduleFmt, field.NewPath("spec", "spec", "schedule")))
	}
	return warnings
}
