package registry

import (
	"reflect"
	"time"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var metadataPath = field.NewPath("metadata")

func (s *Store) validateMeta(accessor metav1.Object) field.ErrorList {
	nameFn := s.res.NameValidation
	if nameFn == nil {
		nameFn = apivalidation.NameIsDNSSubdomain
	}
	return apivalidation.ValidateObjectMetaAccessor(accessor, s.res.Namespaced, apivalidation.ValidateNameFunc(nameFn), metadataPath)
}

func validateMetaUpdate(accessor, old metav1.Object) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaAccessorUpdate(accessor, old, metadataPath)
	if old.GetDeletionTimestamp() != nil {
		errs = append(errs, apivalidation.ValidateNoNewFinalizers(accessor.GetFinalizers(), old.GetFinalizers(), metadataPath.Child("finalizers"))...)
	}
	return errs
}

// hasSpec reports whether obj's Go type has a Spec field: such kinds carry
// metadata.generation, bumped on every spec change.
func hasSpec(obj runtime.Object) bool {
	return fieldOf(obj, "Spec").IsValid()
}

func specOf(obj runtime.Object) any {
	v := fieldOf(obj, "Spec")
	if !v.IsValid() {
		return nil
	}
	return v.Interface()
}

func fieldOf(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return reflect.Value{}
	}
	v = v.Elem()
	if v.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.FieldByName(name)
}

// KeepField copies the named top-level field ("Status", "Spec") from old to
// obj. Strategies use it so the main resource ignores status changes and
// the status subresource ignores spec changes, as upstream's do.
func KeepField(obj, old runtime.Object, name string) {
	dst, src := fieldOf(obj, name), fieldOf(old, name)
	if dst.IsValid() && src.IsValid() && dst.CanSet() {
		dst.Set(src)
	}
}

// ClearField resets the named top-level field of obj to its zero value.
func ClearField(obj runtime.Object, name string) {
	if f := fieldOf(obj, name); f.IsValid() && f.CanSet() {
		f.Set(reflect.Zero(f.Type()))
	}
}

func secondsToDuration(s int64) time.Duration { return time.Duration(s) * time.Second }
