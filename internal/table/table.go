package table

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Options says how to print. The zero value prints headers and rows whose
// object is PartialObjectMetadata, measuring ages against the real clock.
type Options struct {
	// NoHeaders leaves out the column definitions (TableOptions.noHeaders;
	// upstream's watch sets it for every event after the first).
	NoHeaders bool
	// IncludeObject is what each row's object holds (TableOptions.includeObject):
	// metav1.IncludeMetadata or "" for PartialObjectMetadata (the default),
	// metav1.IncludeObject for the full object (kubectl --sort-by),
	// metav1.IncludeNone for no object.
	IncludeObject metav1.IncludeObjectPolicy
	// Now is the instant ages and durations are measured to. Zero means
	// time.Now().
	Now time.Time
	// GroupVersion is the meta.k8s.io version the client asked for: it is
	// the apiVersion of the Table and of its PartialObjectMetadata rows.
	// Zero means meta.k8s.io/v1; meta.k8s.io/v1beta1 is the only other one
	// upstream serves.
	GroupVersion schema.GroupVersion
}

// Convert turns obj, an object or a typed list (e.g. *batchv1.JobList),
// into a Table as kube-apiserver prints it for `as=Table`: every column,
// wide ones marked by priority 1, and a list's resourceVersion, continue and
// remainingItemCount in the Table's metadata (a single object's
// resourceVersion otherwise). obj is not modified; rows share maps and
// slices with it, so do not change obj while the Table is in use.
//
// Errors are *apierrors.StatusError: 400 for an unknown IncludeObject and
// 406 NotAcceptable for an object without metadata (upstream answers the
// same). A *metav1.Status is not an object: upstream's watch passes ERROR
// events through untransformed, and so should the caller.
func Convert(obj runtime.Object, opts Options) (*metav1.Table, error) {
	if obj == nil || (reflect.ValueOf(obj).Kind() == reflect.Pointer && reflect.ValueOf(obj).IsNil()) {
		return nil, errors.New("table: nil object")
	}
	switch opts.IncludeObject {
	case "", metav1.IncludeMetadata, metav1.IncludeObject, metav1.IncludeNone:
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unrecognized includeObject value: %q", opts.IncludeObject))
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	gv := opts.GroupVersion
	if gv.Empty() {
		gv = metav1.SchemeGroupVersion
	}

	p, items, ok := lookup(obj)
	if !ok {
		var err error
		if p, items, err = fallback(obj); err != nil {
			return nil, err
		}
	}

	t := &metav1.Table{
		TypeMeta: metav1.TypeMeta{APIVersion: gv.String(), Kind: "Table"},
		Rows:     make([]metav1.TableRow, 0, len(items)),
	}
	if !opts.NoHeaders {
		t.ColumnDefinitions = p.columns()
	}
	for _, item := range items {
		row, err := p.row(item, opts.Now)
		if err != nil {
			return nil, err
		}
		if row.Object.Object, err = rowObject(item, p.gvk, opts.IncludeObject, gv); err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, row)
	}
	// Same precedence as upstream's GenerateTable: list metadata first, then
	// the object's own resourceVersion.
	if m, err := meta.ListAccessor(obj); err == nil {
		t.ResourceVersion = m.GetResourceVersion()
		t.Continue = m.GetContinue()
		t.RemainingItemCount = m.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		t.ResourceVersion = m.GetResourceVersion()
	}
	return t, nil
}

// printer prints one kind: its columns and, per object, a row's cells and
// conditions. gvk is the kind's external version, stamped on full objects
// (zero for the default printer, which leaves objects as they are).
type printer struct {
	gvk     schema.GroupVersionKind
	columns func() []metav1.TableColumnDefinition
	row     func(obj runtime.Object, now time.Time) (metav1.TableRow, error)
}

// printerOf adapts a typed row function to printer.row.
func printerOf[T runtime.Object](gvk schema.GroupVersionKind, columns func() []metav1.TableColumnDefinition, row func(T, time.Time) metav1.TableRow) printer {
	return printer{
		gvk:     gvk,
		columns: columns,
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			return row(obj.(T), now), nil
		},
	}
}

// lookup finds the printer for one of the kinds with their own columns, and
// the objects to print: obj itself, or the items of a typed list.
func lookup(obj runtime.Object) (printer, []runtime.Object, bool) {
	switch o := obj.(type) {
	case *batchv1.Job:
		return jobPrinter(), one(o), true
	case *batchv1.JobList:
		return jobPrinter(), items(o.Items), true
	case *batchv1.CronJob:
		return cronJobPrinter(), one(o), true
	case *batchv1.CronJobList:
		return cronJobPrinter(), items(o.Items), true
	case *corev1.Pod:
		return podPrinter(), one(o), true
	case *corev1.PodList:
		return podPrinter(), items(o.Items), true
	case *corev1.Event:
		return eventPrinter(), one(o), true
	case *corev1.EventList:
		return eventPrinter(), items(o.Items), true
	case *eventsv1.Event:
		return eventsV1Printer(), one(o), true
	case *eventsv1.EventList:
		return eventsV1Printer(), items(o.Items), true
	case *corev1.Namespace:
		return namespacePrinter(), one(o), true
	case *corev1.NamespaceList:
		return namespacePrinter(), items(o.Items), true
	case *corev1.Node:
		return nodePrinter(), one(o), true
	case *corev1.NodeList:
		return nodePrinter(), items(o.Items), true
	case *corev1.ConfigMap:
		return configMapPrinter(), one(o), true
	case *corev1.ConfigMapList:
		return configMapPrinter(), items(o.Items), true
	case *corev1.Secret:
		return secretPrinter(), one(o), true
	case *corev1.SecretList:
		return secretPrinter(), items(o.Items), true
	case *corev1.ServiceAccount:
		return serviceAccountPrinter(), one(o), true
	case *corev1.ServiceAccountList:
		return serviceAccountPrinter(), items(o.Items), true
	case *coordinationv1.Lease:
		return leasePrinter(), one(o), true
	case *coordinationv1.LeaseList:
		return leasePrinter(), items(o.Items), true
	}
	return printer{}, nil, false
}

func one(obj runtime.Object) []runtime.Object { return []runtime.Object{obj} }

// items returns pointers to a typed list's elements (no copies), as
// upstream's print*List functions pass &list.Items[i].
func items[T any, P interface {
	*T
	runtime.Object
}](list []T) []runtime.Object {
	out := make([]runtime.Object, len(list))
	for i := range list {
		out[i] = P(&list[i])
	}
	return out
}

// fallback is upstream's default table convertor
// (k8s.io/apiserver/pkg/registry/rest/table.go), used for kinds without a
// printer of their own: Name and Created At (RFC 3339, UTC).
func fallback(obj runtime.Object) (printer, []runtime.Object, error) {
	objs := one(obj)
	if meta.IsListType(obj) {
		var err error
		if objs, err = meta.ExtractList(obj); err != nil {
			return printer{}, nil, notAcceptable(obj)
		}
	}
	p := printer{
		columns: defaultColumns,
		row: func(o runtime.Object, _ time.Time) (metav1.TableRow, error) {
			m, err := meta.Accessor(o)
			if err != nil {
				return metav1.TableRow{}, notAcceptable(obj)
			}
			return metav1.TableRow{Cells: []any{m.GetName(), m.GetCreationTimestamp().Time.UTC().Format(time.RFC3339)}}, nil
		},
	}
	return p, objs, nil
}

// notAcceptable is upstream's errNotAcceptable: the 406 kube-apiserver
// answers when a resource cannot be printed as a Table.
func notAcceptable(obj runtime.Object) error {
	what := obj.GetObjectKind().GroupVersionKind().GroupKind().String()
	if what == "" {
		what = fmt.Sprintf("%T", obj)
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotAcceptable,
		Reason:  metav1.StatusReasonNotAcceptable,
		Message: fmt.Sprintf("the resource %s does not support being converted to a Table", what),
	}}
}

// rowObject is what a row carries, as upstream's apiserver fills it in
// (handlers/response.go asTable): PartialObjectMetadata of the requested
// meta.k8s.io version, the full object with its apiVersion and kind, or
// nothing.
func rowObject(obj runtime.Object, gvk schema.GroupVersionKind, policy metav1.IncludeObjectPolicy, gv schema.GroupVersion) (runtime.Object, error) {
	switch policy {
	case metav1.IncludeNone:
		return nil, nil
	case metav1.IncludeObject:
		if gvk.Empty() || !obj.GetObjectKind().GroupVersionKind().Empty() {
			return obj, nil
		}
		full := obj.DeepCopyObject()
		full.GetObjectKind().SetGroupVersionKind(gvk)
		return full, nil
	default:
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, notAcceptable(obj)
		}
		partial := meta.AsPartialObjectMetadata(m)
		partial.GetObjectKind().SetGroupVersionKind(gv.WithKind("PartialObjectMetadata"))
		return partial, nil
	}
}

// since is upstream's translateTimestampSince with the clock as an input:
// the human age of t at now (KUBECTL-05), "<unknown>" for a zero time.
func since(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// Cell values upstream prints for absent data.
const (
	none    = "<none>"
	unset   = "<unset>"
	unknown = "<unknown>"
)
