package registry

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource describes one served resource: its names, its Go types and the
// Strategy that holds its kind-specific rules.
type Resource struct {
	GroupVersion schema.GroupVersion
	// Name is the plural lowercase resource name, as in URLs ("jobs").
	Name         string
	Kind         string
	SingularName string
	ShortNames   []string
	Categories   []string
	Namespaced   bool

	NewFunc     func() runtime.Object
	NewListFunc func() runtime.Object

	// Strategy holds the rules for the main resource.
	Strategy Strategy
	// Subresources maps a subresource name ("status", "finalize") to the
	// strategy of updates made through it. Only PUT, PATCH and GET are
	// served on them.
	Subresources map[string]Strategy
	// Fields returns the selectable fields beyond metadata.name and
	// metadata.namespace. Nil means there are none.
	Fields func(obj runtime.Object) fields.Set
	// FieldLabels lists the keys Fields returns, so selectors on other keys
	// are refused with upstream's "field label not supported" error.
	FieldLabels []string
	// NameValidation checks metadata.name; nil means a DNS subdomain.
	NameValidation func(name string, prefix bool) []string
	// ReturnDeletedObject makes DELETE answer with the deleted object
	// instead of a Status, as upstream does for pods.
	ReturnDeletedObject bool
	// NoDeleteCollection refuses DELETE on the collection, as upstream
	// does for namespaces.
	NoDeleteCollection bool
	// DefaultPropagation is the propagation policy of a delete that names
	// none ("": dependents are collected in the background, or as the
	// object's existing finalizers say). batch/v1 Jobs orphan by default.
	DefaultPropagation metav1.DeletionPropagation
	// DefaultPropagationWarning is sent when DefaultPropagation applies.
	DefaultPropagationWarning string
}

// GroupVersionResource returns the resource's group, version and name.
func (r *Resource) GroupVersionResource() schema.GroupVersionResource {
	return r.GroupVersion.WithResource(r.Name)
}

// GroupVersionKind returns the kind of the resource's objects.
func (r *Resource) GroupVersionKind() schema.GroupVersionKind {
	return r.GroupVersion.WithKind(r.Kind)
}

// GroupResource is what API errors name ("jobs.batch").
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.GroupVersion.Group, Resource: r.Name}
}

// Strategy is what differs between kinds on create and update. Metadata
// rules common to all kinds are applied by the Store around these calls.
type Strategy interface {
	// PrepareForCreate clears what a client may not set on create (status,
	// for kinds that have a status subresource) and fills defaults.
	PrepareForCreate(obj runtime.Object)
	// Validate checks a new object's kind-specific fields.
	Validate(obj runtime.Object) field.ErrorList
	// PrepareForUpdate carries over from old whatever this update may not
	// change (status on the main resource, spec on the status subresource)
	// and fills defaults.
	PrepareForUpdate(obj, old runtime.Object)
	// ValidateUpdate checks an update's kind-specific fields.
	ValidateUpdate(obj, old runtime.Object) field.ErrorList
}

// GracefulDeleter is implemented by strategies of kinds deleted gracefully
// (pods): it returns the grace period a delete should wait, or 0 to delete
// at once. requested is the client's gracePeriodSeconds, if any.
type GracefulDeleter interface {
	GracePeriod(obj runtime.Object, requested *int64) int64
}

// DeletionMarker is implemented by strategies of kinds whose delete first
// marks the object and lets a controller finish the job (namespaces with
// spec.finalizers). MarkForDeletion reports whether obj must linger and
// may change obj (for example to set its phase).
type DeletionMarker interface {
	MarkForDeletion(obj runtime.Object) bool
}

// DeleteChecker is implemented by strategies of kinds some of whose objects
// may not be deleted (the system namespaces): CheckDelete returns the API
// error refusing the delete, or nil.
type DeleteChecker interface {
	CheckDelete(obj runtime.Object) error
}

// Warner is implemented by strategies with warnings for clients (deprecated
// or risky values), sent as Warning headers, as upstream's
// WarningsOnCreate and WarningsOnUpdate.
type Warner interface {
	WarningsOnCreate(obj runtime.Object) []string
	WarningsOnUpdate(obj, old runtime.Object) []string
}

// CreateOnUpdater is implemented by strategies whose PUT may create a
// missing object (upstream's AllowCreateOnUpdate).
type CreateOnUpdater interface {
	AllowCreateOnUpdate() bool
}
