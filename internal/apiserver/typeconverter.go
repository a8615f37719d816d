package apiserver

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/schemaconv"
	"k8s.io/kube-openapi/pkg/validation/spec"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// typeConverter is managedfields.NewTypeConverter's converter, except that
// it does not validate Go objects against their schema.
//
// Every write records managedFields, and the field manager converts both
// the stored and the new object to typed values to compare them. Upstream's
// converter validates each one, a full reflective walk, and the compare
// then walks them again: validation was 40% of the field manager's CPU,
// 5% of the server's, with a Job's pods. A Go object here has already been
// decoded into its kind's struct and validated by the kind's strategy, and
// the schemas are generated from those same structs, so validating it
// finds nothing. Unstructured objects (server-side apply's patches, which
// come from users) are still validated: that is where apply's "field not
// declared in schema" errors come from.
type typeConverter struct {
	// types is each kind's type, as upstream indexes them: by the models'
	// x-kubernetes-group-version-kind extension.
	types map[schema.GroupVersionKind]*typed.ParseableType
}

var _ managedfields.TypeConverter = (*typeConverter)(nil)

func newTypeConverter(models map[string]*spec.Schema) (*typeConverter, error) {
	s, err := schemaconv.ToSchemaFromOpenAPI(models, false)
	if err != nil {
		return nil, fmt.Errorf("converting the OpenAPI models to a merge schema: %w", err)
	}
	parser := typed.Parser{Schema: smdschema.Schema{Types: s.Types}}
	types := map[schema.GroupVersionKind]*typed.ParseableType{}
	for name, model := range models {
		gvks, err := modelKinds(model)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
		for _, gvk := range gvks {
			t := parser.Type(name)
			types[gvk] = &t
		}
	}
	return &typeConverter{types: types}, nil
}

// modelKinds reads a model's x-kubernetes-group-version-kind extension.
func modelKinds(model *spec.Schema) ([]schema.GroupVersionKind, error) {
	ext, ok := model.Extensions["x-kubernetes-group-version-kind"]
	if !ok {
		return nil, nil
	}
	list, ok := ext.([]any)
	if !ok {
		return nil, fmt.Errorf("x-kubernetes-group-version-kind is a %T, not a list", ext)
	}
	var out []schema.GroupVersionKind
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("x-kubernetes-group-version-kind holds a %T, not an object", item)
		}
		group, _ := m["group"].(string)
		version, _ := m["version"].(string)
		kind, _ := m["kind"].(string)
		if kind != "" {
			out = append(out, schema.GroupVersionKind{Group: group, Version: version, Kind: kind})
		}
	}
	return out, nil
}

// ObjectToTyped implements managedfields.TypeConverter.
func (c *typeConverter) ObjectToTyped(obj runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	t := c.types[gvk]
	if t == nil {
		return nil, fmt.Errorf("no type found matching: %v", gvk)
	}
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return t.FromUnstructured(u.UnstructuredContent(), opts...)
	}
	v, err := value.NewValueReflect(obj)
	if err != nil {
		return nil, fmt.Errorf("reflecting a %v: %w", gvk, err)
	}
	//nolint:staticcheck // deliberately unvalidated: see typeConverter.
	return typed.AsTypedUnvalidated(v, t.Schema, t.TypeRef), nil
}

// TypedToObject implements managedfields.TypeConverter, as upstream: the
// value as an Unstructured object.
func (c *typeConverter) TypedToObject(v *typed.TypedValue) (runtime.Object, error) {
	u, ok := v.AsValue().Unstructured().(map[string]any)
	if !ok {
		return nil, fmt.Errorf("converting a typed value to an object: %T is not an object", v.AsValue().Unstructured())
	}
	return &unstructured.Unstructured{Object: u}, nil
}
