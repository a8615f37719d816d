package coordination

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/batchd/batchd/internal/registry"
)

// Resources returns the coordination.k8s.io/v1 resources batchd serves.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		GroupVersion: coordinationv1.SchemeGroupVersion,
		Name:         "leases",
		Kind:         "Lease",
		SingularName: "lease",
		Namespaced:   true,
		NewFunc:      func() runtime.Object { return &coordinationv1.Lease{} },
		NewListFunc:  func() runtime.Object { return &coordinationv1.LeaseList{} },
		Strategy: &registry.MainStrategy{
			Check: func(obj runtime.Object) field.ErrorList { return validateLease(obj.(*coordinationv1.Lease)) },
		},
	}}
}

func validateLease(l *coordinationv1.Lease) field.ErrorList {
	var errs field.ErrorList
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := l.Spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "leaseTransitions"), *t, "must be greater than or equal to 0"))
	}
	return errs
}
