package table

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metav1beta1 "k8s.io/apimachinery/pkg/apis/meta/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
)

// now is the clock every test prints against.
var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// ago is a timestamp d before now.
func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

// agoPtr is ago as a pointer, for optional timestamps.
func agoPtr(d time.Duration) *metav1.Time {
	t := ago(d)
	return &t
}

// rowOf prints obj and returns its single row, without its object.
func rowOf(t *testing.T, obj runtime.Object) metav1.TableRow {
	t.Helper()
	tbl, err := Convert(obj, Options{Now: now, NoHeaders: true, IncludeObject: metav1.IncludeNone})
	if err != nil {
		t.Fatalf("Convert() error = %v", err)
	}
	if len(tbl.Rows) != 1 {
		t.Fatalf("Convert() returned %d rows, want 1", len(tbl.Rows))
	}
	row := tbl.Rows[0]
	row.Object = runtime.RawExtension{}
	return row
}

// cellsOf prints obj and returns its single row's cells.
func cellsOf(t *testing.T, obj runtime.Object) []any {
	t.Helper()
	return rowOf(t, obj).Cells
}

type column struct {
	name, typ, format string
	priority          int32
}

// TestColumns pins every kind's columns to upstream's printers.go
// (kubectl.md §2.9; KUBECTL-01 for Jobs, KUBECTL-06 for CronJobs).
func TestColumns(t *testing.T) {
	name := column{"Name", "string", "name", 0}
	age := column{"Age", "string", "", 0}
	wideTemplate := []column{{"Containers", "string", "", 1}, {"Images", "string", "", 1}, {"Selector", "string", "", 1}}
	tests := []struct {
		name string
		obj  runtime.Object
		want []column
	}{
		{"KUBECTL-01 job", &batchv1.Job{}, append([]column{name, {"Status", "string", "", 0}, {"Completions", "string", "", 0}, {"Duration", "string", "", 0}, age}, wideTemplate...)},
		{"KUBECTL-06 cronjob", &batchv1.CronJobList{}, append([]column{name, {"Schedule", "string", "", 0}, {"Timezone", "string", "", 0}, {"Suspend", "boolean", "", 0}, {"Active", "integer", "", 0}, {"Last Schedule", "string", "", 0}, age}, wideTemplate...)},
		{"pod", &corev1.Pod{}, []column{name, {"Ready", "string", "", 0}, {"Status", "string", "", 0}, {"Restarts", "string", "", 0}, age,
			{"IP", "string", "", 1}, {"Node", "string", "", 1}, {"Nominated Node", "string", "", 1}, {"Readiness Gates", "string", "", 1}}},
		{"event", &corev1.EventList{}, eventColumnsWant()},
		{"events.k8s.io event", &eventsv1.Event{}, eventColumnsWant()},
		{"namespace", &corev1.Namespace{}, []column{name, {"Status", "string", "", 0}, age}},
		{"node", &corev1.NodeList{}, []column{name, {"Status", "string", "", 0}, {"Roles", "string", "", 0}, age, {"Version", "string", "", 0},
			{"Internal-IP", "string", "", 1}, {"External-IP", "string", "", 1}, {"OS-Image", "string", "", 1}, {"Kernel-Version", "string", "", 1}, {"Container-Runtime", "string", "", 1}}},
		{"configmap", &corev1.ConfigMap{}, []column{name, {"Data", "string", "", 0}, age}},
		{"secret", &corev1.Secret{}, []column{name, {"Type", "string", "", 0}, {"Data", "string", "", 0}, age}},
		{"serviceaccount", &corev1.ServiceAccount{}, []column{name, {"Secrets", "string", "", 0}, age}},
		{"lease", &coordinationv1.LeaseList{}, []column{name, {"Holder", "string", "", 0}, age}},
		{"default", &policyv1.PodDisruptionBudget{}, []column{name, {"Created At", "date", "", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl, err := Convert(tt.obj, Options{Now: now})
			if err != nil {
				t.Fatalf("Convert() error = %v", err)
			}
			var got []column
			for _, c := range tbl.ColumnDefinitions {
				got = append(got, column{c.Name, c.Type, c.Format, c.Priority})
				if c.Description == "" {
					t.Errorf("column %q has no description", c.Name)
				}
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(column{})); diff != "" {
				t.Errorf("columns mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func eventColumnsWant() []column {
	return []column{{"Last Seen", "string", "", 0}, {"Type", "string", "", 0}, {"Reason", "string", "", 0}, {"Object", "string", "", 0},
		{"Subobject", "string", "", 1}, {"Source", "string", "", 1}, {"Message", "string", "", 0}, {"First Seen", "string", "", 1},
		{"Count", "string", "", 1}, {"Name", "string", "name", 1}}
}

// TestColumnDescriptions spot-checks that descriptions are upstream's, both
// the written-out ones and those taken from the API docs.
func TestColumnDescriptions(t *testing.T) {
	tests := []struct {
		name   string
		obj    runtime.Object
		column int
		want   string
	}{
		{"KUBECTL-01 job status", &batchv1.Job{}, 1, "Status of the job."},
		{"KUBECTL-01 job duration", &batchv1.Job{}, 3, "Time required to complete the job."},
		{"KUBECTL-01 job completions", &batchv1.Job{}, 2, batchv1.JobStatus{}.SwaggerDoc()["succeeded"]},
		{"KUBECTL-01 job containers", &batchv1.Job{}, 5, "Names of each container in the template."},
		{"pod restarts", &corev1.Pod{}, 3, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
		{"pod name", &corev1.Pod{}, 0, metav1.ObjectMeta{}.SwaggerDoc()["name"]},
		{"node roles", &corev1.Node{}, 2, "The roles of the node"},
		{"namespace status", &corev1.Namespace{}, 1, "The status of the namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl, err := Convert(tt.obj, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if got := tbl.ColumnDefinitions[tt.column].Description; got != tt.want {
				t.Errorf("description = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEveryRowMatchesItsColumns: the server prints wide, so every row has a
// cell for every column, for every kind.
func TestEveryRowMatchesItsColumns(t *testing.T) {
	for _, obj := range []runtime.Object{
		&batchv1.Job{}, &batchv1.CronJob{}, &corev1.Pod{}, &corev1.Event{}, &eventsv1.Event{}, &corev1.Namespace{},
		&corev1.Node{}, &corev1.ConfigMap{}, &corev1.Secret{}, &corev1.ServiceAccount{}, &coordinationv1.Lease{},
		&policyv1.PodDisruptionBudget{},
	} {
		tbl, err := Convert(obj, Options{Now: now})
		if err != nil {
			t.Fatalf("Convert(%T) error = %v", obj, err)
		}
		if got, want := len(tbl.Rows[0].Cells), len(tbl.ColumnDefinitions); got != want {
			t.Errorf("%T: %d cells, want %d (one per column)", obj, got, want)
		}
	}
}

func TestListMetadata(t *testing.T) {
	remaining := int64(7)
	tests := []struct {
		name string
		obj  runtime.Object
		want metav1.ListMeta
		rows []string
	}{
		{
			name: "typed list keeps resourceVersion continue and remainingItemCount",
			obj: &batchv1.JobList{
				ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "tok", RemainingItemCount: &remaining},
				Items:    []batchv1.Job{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}},
			},
			want: metav1.ListMeta{ResourceVersion: "42", Continue: "tok", RemainingItemCount: &remaining},
			rows: []string{"a", "b"},
		},
		{
			name: "single object carries its own resourceVersion",
			obj:  &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", ResourceVersion: "9"}},
			want: metav1.ListMeta{ResourceVersion: "9"},
			rows: []string{"p"},
		},
		{
			name: "empty list has no rows but keeps its resourceVersion",
			obj:  &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "5"}},
			want: metav1.ListMeta{ResourceVersion: "5"},
			rows: []string{},
		},
		{
			name: "default printer list",
			obj: &policyv1.PodDisruptionBudgetList{
				ListMeta: metav1.ListMeta{ResourceVersion: "3", Continue: "c"},
				Items:    []policyv1.PodDisruptionBudget{{ObjectMeta: metav1.ObjectMeta{Name: "x"}}},
			},
			want: metav1.ListMeta{ResourceVersion: "3", Continue: "c"},
			rows: []string{"x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl, err := Convert(tt.obj, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tbl.ListMeta); diff != "" {
				t.Errorf("ListMeta mismatch (-want +got):\n%s", diff)
			}
			got := []string{}
			for _, r := range tbl.Rows {
				got = append(got, r.Object.Object.(*metav1.PartialObjectMetadata).Name)
			}
			if diff := cmp.Diff(tt.rows, got); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoHeaders(t *testing.T) {
	tbl, err := Convert(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, Options{Now: now, NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	if tbl.ColumnDefinitions != nil {
		t.Errorf("ColumnDefinitions = %v, want none", tbl.ColumnDefinitions)
	}
	if len(tbl.Rows) != 1 || len(tbl.Rows[0].Cells) != 9 {
		t.Errorf("rows = %v, want one full row", tbl.Rows)
	}
}

func TestIncludeObject(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Name: "j", Namespace: "ns", UID: "u1", ResourceVersion: "7", Labels: map[string]string{"a": "b"},
		CreationTimestamp: ago(time.Minute),
	}}
	tests := []struct {
		name   string
		policy metav1.IncludeObjectPolicy
		want   runtime.Object
	}{
		{
			name:   "default is PartialObjectMetadata",
			policy: "",
			want: &metav1.PartialObjectMetadata{
				TypeMeta:   metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"},
				ObjectMeta: job.ObjectMeta,
			},
		},
		{
			name:   "Metadata is PartialObjectMetadata",
			policy: metav1.IncludeMetadata,
			want: &metav1.PartialObjectMetadata{
				TypeMeta:   metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"},
				ObjectMeta: job.ObjectMeta,
			},
		},
		{
			name:   "Object is the full object with its kind",
			policy: metav1.IncludeObject,
			want: &batchv1.Job{
				TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
				ObjectMeta: job.ObjectMeta,
			},
		},
		{
			name:   "None is no object",
			policy: metav1.IncludeNone,
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl, err := Convert(job, Options{Now: now, IncludeObject: tt.policy})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tbl.Rows[0].Object.Object); diff != "" {
				t.Errorf("row object mismatch (-want +got):\n%s", diff)
			}
			if !job.GroupVersionKind().Empty() {
				t.Errorf("Convert set the input's kind to %v; it must not modify its input", job.GroupVersionKind())
			}
		})
	}
}

func TestIncludeObjectKeepsKnownKind(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
		"metadata": map[string]any{"name": "u", "creationTimestamp": "2026-01-01T00:00:00Z"},
	}}
	tbl, err := Convert(u, Options{Now: now, IncludeObject: metav1.IncludeObject})
	if err != nil {
		t.Fatal(err)
	}
	if got := tbl.Rows[0].Object.Object; got != u {
		t.Errorf("row object = %v, want the unstructured input itself", got)
	}
	if diff := cmp.Diff([]any{"u", "2026-01-01T00:00:00Z"}, tbl.Rows[0].Cells); diff != "" {
		t.Errorf("cells mismatch (-want +got):\n%s", diff)
	}
}

func TestMetaV1beta1(t *testing.T) {
	tbl, err := Convert(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}}, Options{Now: now, GroupVersion: metav1beta1.SchemeGroupVersion})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tbl.APIVersion, "meta.k8s.io/v1beta1"; got != want {
		t.Errorf("Table apiVersion = %q, want %q", got, want)
	}
	if got, want := tbl.Rows[0].Object.Object.GetObjectKind().GroupVersionKind().GroupVersion().String(), "meta.k8s.io/v1beta1"; got != want {
		t.Errorf("row apiVersion = %q, want %q", got, want)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		opts Options
		code int32
		msg  string
	}{
		{
			name: "unknown includeObject is a bad request",
			obj:  &corev1.Pod{},
			opts: Options{IncludeObject: "Everything"},
			code: http.StatusBadRequest,
			msg:  `unrecognized includeObject value: "Everything"`,
		},
		{
			name: "object without metadata is not acceptable",
			obj:  &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}},
			code: http.StatusNotAcceptable,
			msg:  "the resource Status does not support being converted to a Table",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Convert(tt.obj, tt.opts)
			var se *apierrors.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("Convert() error = %v, want a StatusError", err)
			}
			if se.ErrStatus.Code != tt.code || se.ErrStatus.Message != tt.msg {
				t.Errorf("status = %d %q, want %d %q", se.ErrStatus.Code, se.ErrStatus.Message, tt.code, tt.msg)
			}
		})
	}
	if _, err := Convert((*corev1.Pod)(nil), Options{}); err == nil {
		t.Error("Convert(nil pod) succeeded, want an error")
	}
}

// TestJSONShape checks the wire form kubectl reads (kubectl.md §2.9).
func TestJSONShape(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", CreationTimestamp: ago(time.Hour)}}
	tbl, err := Convert(&corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "11"}, Items: []corev1.Pod{*pod}}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tbl)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"kind":"Table","apiVersion":"meta.k8s.io/v1"`,
		`"metadata":{"resourceVersion":"11"}`,
		`{"name":"Name","type":"string","format":"name","description":`,
		`"cells":["p","0/0","","0","60m","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"]`,
		`"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"p","namespace":"ns"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
}

// TestNowDefaultsToTheRealClock: a zero Now measures against time.Now().
func TestNowDefaultsToTheRealClock(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n", CreationTimestamp: metav1.NewTime(time.Now().Add(-3 * time.Hour))}}
	tbl, err := Convert(ns, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := tbl.Rows[0].Cells[2]; got != "3h" {
		t.Errorf("age = %v, want 3h", got)
	}
}
