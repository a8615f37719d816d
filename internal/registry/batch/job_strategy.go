package batch

import (
	"fmt"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/registry"
)

// Warnings users see on writes (JOB-VAL-02, JOB-VAL-13, CRON-VAL-02).
const (
	warnNameNotDNSLabel = "metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: %v"
	warnHighCompletions = "%s: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail"
)

// parallelismSoftLimitForUnlimitedCompletions is the parallelism above which
// an Indexed Job with more than completionsSoftLimit completions is warned
// about (JOB-VAL-13).
const parallelismSoftLimitForUnlimitedCompletions = 10_000

func jobResource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: batchv1.SchemeGroupVersion,
		Name:         "jobs",
		Kind:         "Job",
		SingularName: "job",
		Categories:   []string{"all"},
		Namespaced:   true,
		NewFunc:      func() runtime.Object { return &batchv1.Job{} },
		NewListFunc:  func() runtime.Object { return &batchv1.JobList{} },
		Strategy:     newJobStrategy(),
		Subresources: map[string]registry.Strategy{"status": &registry.StatusStrategy{
			Defaults: func(obj runtime.Object) { defaultJobLabels(obj.(*batchv1.Job)) },
			CheckUpdate: func(obj, old runtime.Object) field.ErrorList {
				return validateJobStatusUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
			},
		}},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
		},
		FieldLabels: []string{"status.successful"},
		// JOB-GC-01: batch/v1 Jobs orphan their pods unless told otherwise,
		// for backward compatibility, with upstream's warning.
		DefaultPropagation:        metav1.DeletePropagationOrphan,
		DefaultPropagationWarning: orphanByDefaultWarning,
	}
}

// orphanByDefaultWarning is upstream's warning on a Job delete that names
// no propagation policy.
const orphanByDefaultWarning = "child pods are preserved by default when jobs are deleted; " +
	"set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"

// jobStrategy holds the rules of the jobs resource, as upstream's
// pkg/registry/batch/job strategy does. Being a MainStrategy with a
// status, it clears the status on create and keeps the stored one on
// update; the Store sets generation 1 on create and bumps it when the
// spec changes (JOB-DEF-10, JOB-DEF-11). The warning methods follow
// upstream's rest.RESTCreateStrategy; the API server does not send them
// yet.
type jobStrategy struct {
	registry.MainStrategy
}

func newJobStrategy() *jobStrategy {
	return &jobStrategy{registry.MainStrategy{
		HasStatus: true,
		Defaults:  func(obj runtime.Object) { defaultJob(obj.(*batchv1.Job)) },
		// The Store gives the Job its uid before PrepareForCreate, so the
		// selector can use it.
		OnCreate: func(obj runtime.Object) {
			job := obj.(*batchv1.Job)
			generateSelector(job)
			defaultJobLabels(job)
		},
		OnUpdate: func(obj, _ runtime.Object) { defaultJobLabels(obj.(*batchv1.Job)) },
		Check: func(obj runtime.Object) field.ErrorList {
			return validateJob(obj.(*batchv1.Job), jobOptions{requirePrefixedLabels: true})
		},
		CheckUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateJobUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
		},
	}}
}

// WarningsOnCreate returns the warnings upstream sends with a Job's
// creation (JOB-VAL-02, JOB-VAL-13).
func (*jobStrategy) WarningsOnCreate(obj runtime.Object) []string {
	job := obj.(*batchv1.Job)
	warnings := nameWarnings(job.Name)
	return append(warnings, jobSpecWarnings(field.NewPath("spec"), &job.Spec)...)
}

// WarningsOnUpdate returns the warnings of an update: the spec warnings,
// only when the spec changes (JOB-UPD-09).
func (*jobStrategy) WarningsOnUpdate(obj, old runtime.Object) []string {
	job, oldJob := obj.(*batchv1.Job), old.(*batchv1.Job)
	if apiequality.Semantic.DeepEqual(job.Spec, oldJob.Spec) {
		return nil
	}
	return jobSpecWarnings(field.NewPath("spec"), &job.Spec)
}

// nameWarnings warns about names that are not DNS labels: pods and their
// hostnames are named after Jobs (JOB-VAL-02, CRON-VAL-02).
func nameWarnings(name string) []string {
	if msgs := validation.IsDNS1123Label(name); len(msgs) != 0 {
		return []string{fmt.Sprintf(warnNameNotDNSLabel, msgs)}
	}
	return nil
}

// jobSpecWarnings is upstream's WarningsForJobSpec without the pod
// template warnings, which batchd does not produce.
func jobSpecWarnings(p *field.Path, spec *batchv1.JobSpec) []string {
	if ptr.Deref(spec.CompletionMode, "") != batchv1.IndexedCompletion {
		return nil
	}
	if ptr.Deref(spec.Completions, 0) > completionsSoftLimit && ptr.Deref(spec.Parallelism, 0) > parallelismSoftLimitForUnlimitedCompletions {
		return []string{fmt.Sprintf(warnHighCompletions, p)}
	}
	return nil
}
