package registry

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MainStrategy is the Strategy of a resource's main endpoint, assembled from
// optional functions. When the kind has a status subresource, create clears
// the status and updates keep the stored one.
type MainStrategy struct {
	HasStatus bool
	// Defaults fills defaults on create and update (upstream defaults on
	// every decode).
	Defaults func(obj runtime.Object)
	// OnCreate runs after Defaults on create only.
	OnCreate func(obj runtime.Object)
	// OnUpdate runs after Defaults on update only.
	OnUpdate func(obj, old runtime.Object)
	// Check validates a new object; CheckUpdate an update (nil: Check).
	Check       func(obj runtime.Object) field.ErrorList
	CheckUpdate func(obj, old runtime.Object) field.ErrorList
}

var _ Strategy = (*MainStrategy)(nil)

// PrepareForCreate implements Strategy.
func (m *MainStrategy) PrepareForCreate(obj runtime.Object) {
	if m.HasStatus {
		ClearField(obj, "Status")
	}
	if m.Defaults != nil {
		m.Defaults(obj)
	}
	if m.OnCreate != nil {
		m.OnCreate(obj)
	}
}

// Validate implements Strategy.
func (m *MainStrategy) Validate(obj runtime.Object) field.ErrorList {
	if m.Check == nil {
		return nil
	}
	return m.Check(obj)
}

// PrepareForUpdate implements Strategy.
func (m *MainStrategy) PrepareForUpdate(obj, old runtime.Object) {
	if m.HasStatus {
		KeepField(obj, old, "Status")
	}
	if m.Defaults != nil {
		m.Defaults(obj)
	}
	if m.OnUpdate != nil {
		m.OnUpdate(obj, old)
	}
}

// Default applies the kind's defaults (runtime.ObjectDefaulter), for
// server-side apply.
func (m *MainStrategy) Default(obj runtime.Object) {
	if m.Defaults != nil {
		m.Defaults(obj)
	}
}

// ValidateUpdate implements Strategy.
func (m *MainStrategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	if m.CheckUpdate == nil {
		return m.Validate(obj)
	}
	return m.CheckUpdate(obj, old)
}

// StatusStrategy is the Strategy of a status subresource: updates keep the
// stored spec, so only status (and metadata) change.
type StatusStrategy struct {
	Defaults    func(obj runtime.Object)
	CheckUpdate func(obj, old runtime.Object) field.ErrorList
}

var _ Strategy = (*StatusStrategy)(nil)

// PrepareForCreate implements Strategy; status subresources never create.
func (s *StatusStrategy) PrepareForCreate(runtime.Object) {}

// Validate implements Strategy.
func (s *StatusStrategy) Validate(runtime.Object) field.ErrorList { return nil }

// PrepareForUpdate implements Strategy.
func (s *StatusStrategy) PrepareForUpdate(obj, old runtime.Object) {
	KeepField(obj, old, "Spec")
	if s.Defaults != nil {
		s.Defaults(obj)
	}
}

// ValidateUpdate implements Strategy.
func (s *StatusStrategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	if s.CheckUpdate == nil {
		return nil
	}
	return s.CheckUpdate(obj, old)
}
