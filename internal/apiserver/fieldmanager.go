package apiserver

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/api/meta"
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
			// The unsafe convertor: converting to the version an object
			// already has then sets its kind instead of deep-copying it
			// (twice per write). The field manager only reads what it
			// converts, and gets shallow copies (comparedCopies).
			fm, err := managedfields.NewDefaultFieldManager(tc, runtime.UnsafeObjectConvertor(scheme), strategyDefaulter{strategy}, scheme,
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
	field := ignoredField(res, sub)
	if field == "" {
		return nil
	}
	version := fieldpath.APIVersion(res.GroupVersion.String())
	return map[fieldpath.APIVersion]fieldpath.Filter{version: fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie(field)))}
}

// ignoredField is the top-level field that resetFields leaves out of
// managedFields for a write through the main resource or sub: "status",
// "spec", or "" for none.
func ignoredField(res *registry.Resource, sub string) string {
	switch {
	case sub == "" && res.Subresources["status"] != nil:
		return "status"
	case sub == "status":
		return "spec"
	}
	return ""
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
	return updateManagedFields(fm, ignoredField(req.res, req.info.subresource), live, obj, managerName(req))
}

// updateManagedFields is fm.UpdateNoErrors(live, obj, manager), except that
// the field manager compares shallow copies of live and obj without the
// top-level fields whose comparison cannot change what it records: ignored,
// which it filters out of what it records anyway (resetFields), and spec
// or status when deeply equal in both (a field unchanged is neither
// added, removed nor modified). The result is the same, but a status write
// no longer walks the whole spec twice, nor a finalizer patch the whole
// spec and status. Comparing the two objects was most of the field
// manager's CPU, a third of the cost of a pod's status write.
func updateManagedFields(fm *managedfields.FieldManager, ignored string, live, obj runtime.Object, manager string) runtime.Object {
	liveCopy, objCopy, ok := comparedCopies(live, obj, ignored)
	if !ok {
		return fm.UpdateNoErrors(live, obj, manager)
	}
	out := fm.UpdateNoErrors(liveCopy, objCopy, manager)
	src, err1 := meta.Accessor(out)
	dst, err2 := meta.Accessor(obj)
	if err1 != nil || err2 != nil {
		return fm.UpdateNoErrors(live, obj, manager)
	}
	dst.SetManagedFields(src.GetManagedFields())
	return obj
}

// comparedCopies returns shallow copies of live and obj, pointers to
// structs of one type, with the top-level field ignored (by JSON name,
// from ignoredField; "" for none) zeroed in both, and spec and status
// zeroed in both where they are deeply equal; false if they are not such
// pointers, or there is nothing to leave out. The copies share
// everything else with live and obj: the field manager only reads them,
// and sets managedFields on the copy's own ObjectMeta.
func comparedCopies(live, obj runtime.Object, ignored string) (runtime.Object, runtime.Object, bool) {
	lv, ov := reflect.ValueOf(live), reflect.ValueOf(obj)
	if lv.Kind() != reflect.Pointer || lv.IsNil() || ov.Kind() != reflect.Pointer || ov.IsNil() ||
		lv.Type() != ov.Type() || lv.Elem().Kind() != reflect.Struct {
		return nil, nil, false
	}
	var ignoredName string
	switch ignored {
	case "":
	case "spec":
		ignoredName = "Spec"
	case "status":
		ignoredName = "Status"
	default:
		return nil, nil, false
	}
	typ := lv.Elem().Type()
	var prune []int // indexes of the fields to zero in both copies
	for _, name := range []string{"Spec", "Status"} {
		f, ok := typ.FieldByName(name)
		if !ok || !f.IsExported() || len(f.Index) != 1 {
			if name == ignoredName {
				return nil, nil, false
			}
			continue
		}
		i := f.Index[0]
		if name == ignoredName || reflect.DeepEqual(lv.Elem().Field(i).Interface(), ov.Elem().Field(i).Interface()) {
			prune = append(prune, i)
		}
	}
	if len(prune) == 0 {
		return nil, nil, false // nothing to leave out: compare the objects
	}
	lc, oc := reflect.New(typ), reflect.New(typ)
	lc.Elem().Set(lv.Elem())
	oc.Elem().Set(ov.Elem())
	for _, i := range prune {
		lc.Elem().Field(i).SetZero()
		oc.Elem().Field(i).SetZero()
	}
	lo, ok1 := lc.Interface().(runtime.Object)
	oo, ok2 := oc.Interface().(runtime.Object)
	return lo, oo, ok1 && ok2
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
