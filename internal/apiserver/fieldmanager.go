package apiserver

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/batchd/batchd/internal/registry"
)

// fieldManagers hold, per resource and subresource ("" for the main
// resource), the field manager that records metadata.managedFields on
// every write and merges server-side applies, using the OpenAPI schemas.
type fieldManagers map[schema.GroupVersionResource]map[string]*managedfields.FieldManager

// maxFieldManagerLength is upstream's limit on a manager's name.
const maxFieldManagerLength = 128

func newFieldManagers(scheme *runtime.Scheme, stores []*registry.Store, schemas map[string]*spec.Schema) (fieldManagers, error) {
	tc, err := newTypeConverter(schemas)
	if err != nil {
		return nil, fmt.Errorf("building the server-side apply type converter: %w", err)
	}
	out := fieldManagers{}
	for _, st := range stores {
		res := st.Resource()
		byName := map[string]*managedfields.FieldManager{}
		subresources := []string{""}
		for name := range res.Subresources {
			subresources = append(subresources, name)
		}
		for _, sub := range subresources {
			strategy := res.Strategy
			if sub != "" {
				strategy = res.Subresources[sub]
			}
			fm, err := managedfields.NewDefaultFieldManager(tc, scheme, strategyDefaulter{strategy}, scheme,
				res.GroupVersionKind(), res.GroupVersion, sub, resetFields(res, sub))
			if err != nil {
				return nil, fmt.Errorf("field manager for %s %s: %w", res.GroupResource(), sub, err)
			}
			byName[sub] = fm
		}
		out[res.GroupVersionResource()] = byName
	}
	return out, nil
}

// resetFields are the fields a write through the main resource or a
// subresource leaves alone, so nobody is recorded as owning them there:
// status on the main resource, spec on the status subresource.
func resetFields(res *registry.Resource, sub string) map[fieldpath.APIVersion]fieldpath.Filter {
	version := fieldpath.APIVersion(res.GroupVersion.String())
	switch {
	case sub == "" && res.Subresources["status"] != nil:
		return map[fieldpath.APIVersion]fieldpath.Filter{version: fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie("status")))}
	case sub == "status":
		return map[fieldpath.APIVersion]fieldpath.Filter{version: fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie("spec")))}
	}
	return nil
}

// strategyDefaulter lets the field manager default applied objects with the
// kind's own defaulting.
type strategyDefaulter struct{ strategy registry.Strategy }

func (d strategyDefaulter) Default(obj runtime.Object) {
	if def, ok := d.strategy.(interface{ Default(runtime.Object) }); ok {
		def.Default(obj)
	}
}

// forRequest returns the field manager of req's resource and subresource.
func (f fieldManagers) forRequest(req *request) *managedfields.FieldManager {
	return f[req.res.GroupVersionResource()][req.info.subresource]
}

// update records manager's changes from live to obj in obj's managedFields.
// live is nil for a create.
func (f fieldManagers) update(req *request, live, obj runtime.Object) runtime.Object {
	fm := f.forRequest(req)
	if fm == nil {
		return obj
	}
	if live == nil {
		live = req.res.NewFunc()
	}
	return fm.UpdateNoErrors(live, obj, managerName(req))
}

// managerName is the fieldManager parameter or, as upstream, the printable
// prefix of the User-Agent before its first "/".
func managerName(req *request) string {
	if m := req.query.Get("fieldManager"); m != "" {
		return m
	}
	ua, _, _ := strings.Cut(req.r.UserAgent(), "/")
	var b bytes.Buffer
	for _, r := range ua {
		if unicode.IsPrint(r) {
			b.WriteRune(r)
		}
	}
	name := b.String()
	if len(name) > maxFieldManagerLength {
		name = name[:maxFieldManagerLength]
	}
	return name
}
