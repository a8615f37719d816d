package batch

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/batchd/batchd/internal/registry"
	"github.com/batchd/batchd/internal/registry/core"
)

// Resources returns the batch/v1 resources batchd serves.
func Resources() []*registry.Resource {
	return []*registry.Resource{jobResource(), cronJobResource()}
}

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
		Strategy: &registry.MainStrategy{
			HasStatus: true,
			Defaults:  func(obj runtime.Object) { core.DefaultPodSpec(&obj.(*batchv1.Job).Spec.Template.Spec) },
		},
		Subresources: map[string]registry.Strategy{"status": &registry.StatusStrategy{}},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
		},
		FieldLabels: []string{"status.successful"},
	}
}

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
		Strategy: &registry.MainStrategy{
			HasStatus: true,
			Defaults: func(obj runtime.Object) {
				core.DefaultPodSpec(&obj.(*batchv1.CronJob).Spec.JobTemplate.Spec.Template.Spec)
			},
		},
		Subresources: map[string]registry.Strategy{"status": &registry.StatusStrategy{}},
	}
}
