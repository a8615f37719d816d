package openapi

import (
	"encoding/json"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/util/proto/validation"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/utils/ptr"
)

var allVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// servedResources is what batchd's API server serves.
func servedResources() []Resource {
	core := corev1.SchemeGroupVersion
	return []Resource{
		{GroupVersion: core, Resource: "namespaces", Kind: "Namespace", Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}, Subresources: []string{"status", "finalize"}},
		{GroupVersion: core, Resource: "nodes", Kind: "Node", Verbs: allVerbs, Subresources: []string{"status"}},
		{GroupVersion: core, Resource: "pods", Kind: "Pod", Namespaced: true, Verbs: allVerbs, Subresources: []string{"status", "log", "exec", "attach", "binding", "eviction"}, ReturnDeletedObject: true},
		{GroupVersion: core, Resource: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: allVerbs},
		{GroupVersion: core, Resource: "secrets", Kind: "Secret", Namespaced: true, Verbs: allVerbs},
		{GroupVersion: core, Resource: "serviceaccounts", Kind: "ServiceAccount", Namespaced: true, Verbs: allVerbs, Subresources: []string{"token"}},
		{GroupVersion: core, Resource: "events", Kind: "Event", Namespaced: true, Verbs: allVerbs},
		{GroupVersion: batchv1.SchemeGroupVersion, Resource: "jobs", Kind: "Job", Namespaced: true, Verbs: allVerbs, Subresources: []string{"status"}},
		{GroupVersion: batchv1.SchemeGroupVersion, Resource: "cronjobs", Kind: "CronJob", Namespaced: true, Verbs: allVerbs, Subresources: []string{"status"}},
		{GroupVersion: coordinationv1.SchemeGroupVersion, Resource: "leases", Kind: "Lease", Namespaced: true, Verbs: allVerbs},
		{GroupVersion: eventsv1.SchemeGroupVersion, Resource: "events", Kind: "Event", Namespaced: true, Verbs: allVerbs},
		{GroupVersion: authorizationv1.SchemeGroupVersion, Resource: "selfsubjectaccessreviews", Kind: "SelfSubjectAccessReview", Verbs: []string{"create"}},
		{GroupVersion: authorizationv1.SchemeGroupVersion, Resource: "selfsubjectrulesreviews", Kind: "SelfSubjectRulesReview", Verbs: []string{"create"}},
		{GroupVersion: authenticationv1.SchemeGroupVersion, Resource: "selfsubjectreviews", Kind: "SelfSubjectReview", Verbs: []string{"create"}},
	}
}

// testDocuments builds the documents of servedResources once for all tests.
var testDocuments = sync.OnceValues(func() (*Documents, error) { return New(servedResources()) })

// serializedDocs returns d's documents, built on first use.
func serializedDocs(t *testing.T, d *Documents) *serialized {
	t.Helper()
	s, err := d.serialized()
	if err != nil {
		t.Fatalf("building the documents: %v", err)
	}
	return s
}

func documents(t *testing.T) *Documents {
	t.Helper()
	d, err := testDocuments()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// v3Doc decodes one OpenAPI v3 document with kube-openapi's types, as
// kubectl does.
func v3Doc(t *testing.T, d *Documents, key string) *spec3.OpenAPI {
	t.Helper()
	doc, ok := serializedDocs(t, d).v3[key]
	if !ok {
		t.Fatalf("no OpenAPI v3 document %q", key)
	}
	var out spec3.OpenAPI
	if err := json.Unmarshal(doc.body, &out); err != nil {
		t.Fatalf("decoding OpenAPI v3 document %q: %v", key, err)
	}
	return &out
}

func v2Doc(t *testing.T, d *Documents) *spec.Swagger {
	t.Helper()
	var out spec.Swagger
	if err := json.Unmarshal(serializedDocs(t, d).v2JSON.body, &out); err != nil {
		t.Fatalf("decoding OpenAPI v2: %v", err)
	}
	return &out
}

func gvPath(gv schema.GroupVersion) string {
	return strings.TrimPrefix(rootPath(gv), "/")
}

func TestIndexListsEveryGroupVersion(t *testing.T) {
	d := documents(t)
	var index indexDocument
	if err := json.Unmarshal(serializedDocs(t, d).v3Index.body, &index); err != nil {
		t.Fatalf("decoding the v3 index: %v", err)
	}
	got := slices.Sorted(maps.Keys(index.Paths))
	want := []string{
		"api", "api/v1", "apis",
		"apis/authentication.k8s.io", "apis/authentication.k8s.io/v1",
		"apis/authorization.k8s.io", "apis/authorization.k8s.io/v1",
		"apis/batch", "apis/batch/v1",
		"apis/coordination.k8s.io", "apis/coordination.k8s.io/v1",
		"apis/events.k8s.io", "apis/events.k8s.io/v1",
		"version",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("index paths mismatch (-want +got):\n%s", diff)
	}
	for key, entry := range index.Paths {
		if want := "/openapi/v3/" + key + "?hash=" + serializedDocs(t, d).v3[key].etag; entry.ServerRelativeURL != want {
			t.Errorf("index[%q].serverRelativeURL = %q, want %q", key, entry.ServerRelativeURL, want)
		}
	}
}

// gvkList reads an x-kubernetes-group-version-kind extension.
func gvkList(t *testing.T, ext spec.Extensions) []schema.GroupVersionKind {
	t.Helper()
	raw, err := json.Marshal(ext[extensionGVK])
	if err != nil {
		t.Fatalf("encoding extension: %v", err)
	}
	var list []schema.GroupVersionKind
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("extension %s = %s: not a list of group, version and kind: %v", extensionGVK, raw, err)
	}
	return list
}

func TestKindSchemasCarryGroupVersionKind(t *testing.T) {
	d := documents(t)
	v2 := v2Doc(t, d)
	tests := []struct {
		definition string
		gvk        schema.GroupVersionKind
	}{
		{"io.k8s.api.batch.v1.Job", batchv1.SchemeGroupVersion.WithKind("Job")},
		{"io.k8s.api.batch.v1.CronJob", batchv1.SchemeGroupVersion.WithKind("CronJob")},
		{"io.k8s.api.batch.v1.JobList", batchv1.SchemeGroupVersion.WithKind("JobList")},
		{"io.k8s.api.core.v1.Pod", corev1.SchemeGroupVersion.WithKind("Pod")},
		{"io.k8s.api.core.v1.Namespace", corev1.SchemeGroupVersion.WithKind("Namespace")},
		{"io.k8s.api.core.v1.Event", corev1.SchemeGroupVersion.WithKind("Event")},
		{"io.k8s.api.events.v1.Event", eventsv1.SchemeGroupVersion.WithKind("Event")},
		{"io.k8s.api.coordination.v1.Lease", coordinationv1.SchemeGroupVersion.WithKind("Lease")},
		{"io.k8s.api.authorization.v1.SelfSubjectAccessReview", authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectAccessReview")},
	}
	for _, tt := range tests {
		t.Run(tt.definition, func(t *testing.T) {
			v3 := v3Doc(t, d, gvPath(tt.gvk.GroupVersion()))
			s, ok := v3.Components.Schemas[tt.definition]
			if !ok {
				t.Fatalf("v3 %s: no components.schemas[%q]", gvPath(tt.gvk.GroupVersion()), tt.definition)
			}
			if got := gvkList(t, s.Extensions); !slices.Contains(got, tt.gvk) {
				t.Errorf("v3 %s extension = %v, want it to list %v", extensionGVK, got, tt.gvk)
			}
			def, ok := v2.Definitions[tt.definition]
			if !ok {
				t.Fatalf("v2: no definitions[%q]", tt.definition)
			}
			if got := gvkList(t, def.Extensions); !slices.Contains(got, tt.gvk) {
				t.Errorf("v2 %s extension = %v, want it to list %v", extensionGVK, got, tt.gvk)
			}
			if got := gvkList(t, d.Schemas()[tt.definition].Extensions); !slices.Contains(got, tt.gvk) {
				t.Errorf("Schemas() %s extension = %v, want it to list %v", extensionGVK, got, tt.gvk)
			}
		})
	}
}

func TestFieldsCarryUpstreamDocsAndExtensions(t *testing.T) {
	d := documents(t)
	v2 := v2Doc(t, d)
	tests := []struct {
		name       string
		gv         schema.GroupVersion
		definition string
		field      string
		wantDoc    string
		wantExt    map[string]any
	}{
		{
			name: "JobSpec.podFailurePolicy", gv: batchv1.SchemeGroupVersion,
			definition: "io.k8s.api.batch.v1.JobSpec", field: "podFailurePolicy",
			wantDoc: batchv1.JobSpec{}.SwaggerDoc()["podFailurePolicy"],
		},
		{
			name: "CronJobSpec.schedule", gv: batchv1.SchemeGroupVersion,
			definition: "io.k8s.api.batch.v1.CronJobSpec", field: "schedule",
			wantDoc: batchv1.CronJobSpec{}.SwaggerDoc()["schedule"],
		},
		{
			name: "PodSpec.containers", gv: batchv1.SchemeGroupVersion,
			definition: "io.k8s.api.core.v1.PodSpec", field: "containers",
			wantDoc: corev1.PodSpec{}.SwaggerDoc()["containers"],
			wantExt: map[string]any{
				"x-kubernetes-patch-merge-key": "name",
				"x-kubernetes-patch-strategy":  "merge",
				"x-kubernetes-list-type":       "map",
				"x-kubernetes-list-map-keys":   []any{"name"},
			},
		},
		{
			name: "ObjectMeta.finalizers", gv: corev1.SchemeGroupVersion,
			definition: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", field: "finalizers",
			wantDoc: metav1.ObjectMeta{}.SwaggerDoc()["finalizers"],
			wantExt: map[string]any{"x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-type": "set"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantDoc == "" {
				t.Fatalf("test bug: no upstream doc for %s", tt.field)
			}
			v3 := v3Doc(t, d, gvPath(tt.gv))
			for doc, s := range map[string]*spec.Schema{
				"v3":        v3.Components.Schemas[tt.definition],
				"v2":        ptr.To(v2.Definitions[tt.definition]),
				"Schemas()": d.Schemas()[tt.definition],
			} {
				if s == nil {
					t.Errorf("%s: no schema %q", doc, tt.definition)
					continue
				}
				prop, ok := s.Properties[tt.field]
				if !ok {
					t.Errorf("%s: %s has no property %q", doc, tt.definition, tt.field)
					continue
				}
				if prop.Description != tt.wantDoc {
					t.Errorf("%s: %s.%s description = %q, want %q", doc, tt.definition, tt.field, prop.Description, tt.wantDoc)
				}
				got := map[string]any{}
				for k := range tt.wantExt {
					if v, ok := prop.Extensions[k]; ok {
						got[k] = v
					}
				}
				if diff := cmp.Diff(tt.wantExt, got, cmp.Comparer(func(a, b []any) bool { return cmp.Equal(a, b) })); len(tt.wantExt) > 0 && diff != "" {
					t.Errorf("%s: %s.%s extensions mismatch (-want +got):\n%s", doc, tt.definition, tt.field, diff)
				}
			}
		})
	}
}

// supportsQueryParamV3 is cli-runtime's check (query_param_verifier_v3.go)
// that decides whether kubectl leaves field validation to the server: the
// first PATCH operation for gvk must declare the query parameter.
func supportsQueryParamV3(doc *spec3.OpenAPI, gvk schema.GroupVersionKind, name string) bool {
	for _, path := range doc.Paths.Paths {
		op := path.Patch
		if op == nil {
			continue
		}
		ext, ok := op.Extensions[extensionGVK].(map[string]any)
		if !ok || ext["group"] != gvk.Group || ext["version"] != gvk.Version || ext["kind"] != gvk.Kind {
			continue
		}
		for _, p := range op.Parameters {
			if p.Name == name && p.In == "query" {
				return true
			}
		}
		return false
	}
	return false
}

// supportsQueryParamV2 is the same check on the v2 protobuf document
// (cli-runtime's query_param_verifier.go), which kubectl 1.27 and 1.28 use.
func supportsQueryParamV2(doc *openapiv2.Document, gvk schema.GroupVersionKind, name string) bool {
	global := map[string]*openapiv2.NamedParameter{}
	for _, p := range doc.GetParameters().GetAdditionalProperties() {
		global["#/parameters/"+p.GetName()] = p
	}
	for _, path := range doc.GetPaths().GetPath() {
		op := path.GetValue().GetPatch()
		if op == nil {
			continue
		}
		// The extension's YAML decodes to map[any]any.
		ext, ok := proto.VendorExtensionToMap(op.GetVendorExtension())[extensionGVK].(map[any]any)
		if !ok || ext["group"] != gvk.Group || ext["version"] != gvk.Version || ext["kind"] != gvk.Kind {
			continue
		}
		for _, p := range op.GetParameters() {
			if p.GetParameter().GetNonBodyParameter().GetQueryParameterSubSchema().GetName() == name {
				return true
			}
			if g, ok := global[p.GetJsonReference().GetXRef()]; ok && g.GetValue().GetNonBodyParameter().GetQueryParameterSubSchema().GetName() == name {
				return true
			}
		}
		return false
	}
	return false
}

func TestPatchOperations(t *testing.T) {
	d := documents(t)
	gnostic, err := openapiv2.ParseDocument(serializedDocs(t, d).v2JSON.body)
	if err != nil {
		t.Fatalf("parsing v2 with gnostic: %v", err)
	}
	for _, res := range servedResources() {
		if !slices.Contains(res.Verbs, "patch") {
			continue
		}
		gvk := res.GroupVersion.WithKind(res.Kind)
		t.Run(gvPath(res.GroupVersion)+" "+res.Resource, func(t *testing.T) {
			doc := v3Doc(t, d, gvPath(res.GroupVersion))
			item := rootPath(res.GroupVersion) + "/" + res.Resource + "/{name}"
			if res.Namespaced {
				item = rootPath(res.GroupVersion) + "/namespaces/{namespace}/" + res.Resource + "/{name}"
			}
			path, ok := doc.Paths.Paths[item]
			if !ok || path.Patch == nil {
				t.Fatalf("no PATCH on %s", item)
			}
			op := path.Patch
			wantExt := map[string]any{
				extensionGVK:    map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind},
				extensionAction: "patch",
			}
			if diff := cmp.Diff(wantExt, map[string]any(op.Extensions)); diff != "" {
				t.Errorf("PATCH %s extensions mismatch (-want +got):\n%s", item, diff)
			}
			var query []string
			for _, p := range op.Parameters {
				if p.In == "query" {
					query = append(query, p.Name)
				}
			}
			if diff := cmp.Diff([]string{"dryRun", "fieldManager", "fieldValidation", "force"}, query); diff != "" {
				t.Errorf("PATCH %s query parameters mismatch (-want +got):\n%s", item, diff)
			}
			if op.RequestBody == nil {
				t.Fatalf("PATCH %s has no requestBody", item)
			}
			if diff := cmp.Diff(slices.Sorted(slices.Values(patchTypes)), slices.Sorted(maps.Keys(op.RequestBody.Content))); diff != "" {
				t.Errorf("PATCH %s requestBody content types mismatch (-want +got):\n%s", item, diff)
			}
			if !supportsQueryParamV3(doc, gvk, "fieldValidation") {
				t.Errorf("kubectl's v3 check finds no fieldValidation for %v", gvk)
			}
			if !supportsQueryParamV2(gnostic, gvk, "fieldValidation") {
				t.Errorf("kubectl's v2 check finds no fieldValidation for %v", gvk)
			}
		})
	}
}

func TestOperations(t *testing.T) {
	d := documents(t)
	doc := v3Doc(t, d, "apis/batch/v1")
	type op struct{ Method, ID, Action string }
	ops := func(p *spec3.Path) []op {
		var out []op
		for method, o := range map[string]*spec3.Operation{"GET": p.Get, "POST": p.Post, "PUT": p.Put, "PATCH": p.Patch, "DELETE": p.Delete} {
			if o == nil {
				continue
			}
			action, _ := o.Extensions[extensionAction].(string)
			out = append(out, op{method, o.OperationId, action})
		}
		slices.SortFunc(out, func(a, b op) int { return strings.Compare(a.Method, b.Method) })
		return out
	}
	tests := []struct {
		path string
		want []op
	}{
		{"/apis/batch/v1/namespaces/{namespace}/jobs", []op{
			{"DELETE", "deleteBatchV1CollectionNamespacedJob", "deletecollection"},
			{"GET", "listBatchV1NamespacedJob", "list"},
			{"POST", "createBatchV1NamespacedJob", "post"},
		}},
		{"/apis/batch/v1/namespaces/{namespace}/jobs/{name}", []op{
			{"DELETE", "deleteBatchV1NamespacedJob", "delete"},
			{"GET", "readBatchV1NamespacedJob", "get"},
			{"PATCH", "patchBatchV1NamespacedJob", "patch"},
			{"PUT", "replaceBatchV1NamespacedJob", "put"},
		}},
		{"/apis/batch/v1/namespaces/{namespace}/jobs/{name}/status", []op{
			{"GET", "readBatchV1NamespacedJobStatus", "get"},
			{"PATCH", "patchBatchV1NamespacedJobStatus", "patch"},
			{"PUT", "replaceBatchV1NamespacedJobStatus", "put"},
		}},
		{"/apis/batch/v1/jobs", []op{{"GET", "listBatchV1JobForAllNamespaces", "list"}}},
		{"/apis/batch/v1/", []op{{"GET", "getBatchV1APIResources", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, ok := doc.Paths.Paths[tt.path]
			if !ok {
				t.Fatalf("no path %s in apis/batch/v1", tt.path)
			}
			if diff := cmp.Diff(tt.want, ops(p)); diff != "" {
				t.Errorf("operations mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if got, want := len(doc.Paths.Paths), 9; got != want {
		t.Errorf("apis/batch/v1 has %d paths, want %d: %v", got, want, slices.Sorted(maps.Keys(doc.Paths.Paths)))
	}
}

// TestDocumentsAreSelfContained checks that every $ref of every document
// resolves within it.
func TestDocumentsAreSelfContained(t *testing.T) {
	d := documents(t)
	check := func(t *testing.T, body []byte, prefix string, defined map[string]bool) {
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if ref, ok := v["$ref"].(string); ok && strings.HasPrefix(ref, prefix) && !defined[strings.TrimPrefix(ref, prefix)] {
					t.Errorf("unresolved $ref %s", ref)
				}
				for _, e := range v {
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		var doc any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		walk(doc)
	}
	t.Run("v2", func(t *testing.T) {
		check(t, serializedDocs(t, d).v2JSON.body, "#/definitions/", setOf(maps.Keys(v2Doc(t, d).Definitions)))
	})
	for key := range serializedDocs(t, d).v3 {
		t.Run("v3 "+key, func(t *testing.T) {
			check(t, serializedDocs(t, d).v3[key].body, "#/components/schemas/", setOf(maps.Keys(v3Doc(t, d, key).Components.Schemas)))
		})
	}
}

func setOf(keys func(func(string) bool)) map[string]bool {
	out := map[string]bool{}
	for k := range keys {
		out[k] = true
	}
	return out
}

// TestKubectlClients fetches the documents the way kubectl does, through
// client-go: OpenAPI v2 as protobuf (kubectl 1.27, 1.28) and OpenAPI v3 by
// group version (1.29+), then uses them as kubectl's explain and client-side
// validation do.
func TestKubectlClients(t *testing.T) {
	srv := httptest.NewServer(documents(t))
	t.Cleanup(srv.Close)
	client, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("v2 protobuf", func(t *testing.T) {
		doc, err := client.OpenAPISchemaWithContext(t.Context())
		if err != nil {
			t.Fatalf("OpenAPISchema: %v", err)
		}
		models, err := proto.NewOpenAPIData(doc)
		if err != nil {
			t.Fatalf("NewOpenAPIData: %v", err)
		}
		// kubectl's explain and apply find a kind's model by this
		// extension (kubectl/pkg/util/openapi LookupResource).
		var job proto.Schema
		for _, name := range models.ListModels() {
			m := models.LookupModel(name)
			list, _ := m.GetExtensions()[extensionGVK].([]any)
			for _, e := range list {
				if gvk, _ := e.(map[any]any); gvk["group"] == "batch" && gvk["version"] == "v1" && gvk["kind"] == "Job" {
					job = m
				}
			}
		}
		if job == nil {
			t.Fatal("no model with x-kubernetes-group-version-kind batch/v1 Job")
		}
		manifest := map[string]any{
			"apiVersion": "batch/v1", "kind": "Job",
			"metadata": map[string]any{"name": "pi"},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
				"restartPolicy": "Never",
				"containers":    []any{map[string]any{"name": "pi", "image": "perl"}},
			}}},
		}
		if errs := validation.ValidateModel(manifest, job, "Job"); len(errs) != 0 {
			t.Errorf("validating a valid Job: %v", errs)
		}
		manifest["spec"].(map[string]any)["bogusField"] = 1
		if errs := validation.ValidateModel(manifest, job, "Job"); len(errs) == 0 {
			t.Error("validating a Job with spec.bogusField: no error")
		}
	})

	t.Run("v3", func(t *testing.T) {
		root := openapi3.NewRoot(client.OpenAPIV3())
		gvs, err := root.GroupVersions()
		if err != nil {
			t.Fatalf("GroupVersions: %v", err)
		}
		if !slices.Contains(gvs, batchv1.SchemeGroupVersion) {
			t.Errorf("GroupVersions() = %v, want batch/v1 among them", gvs)
		}
		doc, err := root.GVSpec(batchv1.SchemeGroupVersion)
		if err != nil {
			t.Fatalf("GVSpec(batch/v1): %v", err)
		}
		if !supportsQueryParamV3(doc, batchv1.SchemeGroupVersion.WithKind("Job"), "fieldValidation") {
			t.Error("kubectl's v3 check finds no fieldValidation for batch/v1 Job")
		}
		if _, ok := doc.Components.Schemas["io.k8s.api.batch.v1.JobSpec"]; !ok {
			t.Error("no io.k8s.api.batch.v1.JobSpec in components.schemas")
		}
	})
}

// TestTypeConverter checks that server-side apply can type the served
// kinds from Schemas().
func TestTypeConverter(t *testing.T) {
	tc, err := managedfields.NewTypeConverter(documents(t).Schemas(), false)
	if err != nil {
		t.Fatalf("NewTypeConverter: %v", err)
	}
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default"},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](4),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "pi", Image: "perl", Command: []string{"perl", "-e", "print 1"}}},
			}},
		},
	}
	typed, err := tc.ObjectToTyped(job)
	if err != nil {
		t.Fatalf("ObjectToTyped(Job): %v", err)
	}
	set, err := typed.ToFieldSet()
	if err != nil {
		t.Fatalf("ToFieldSet: %v", err)
	}
	if !strings.Contains(set.String(), `.spec.template.spec.containers[name="pi"].image`) {
		t.Errorf("field set does not key containers by name: %s", set)
	}

	others := []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"}}},
		{Object: map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": map[string]any{"name": "c"}, "spec": map[string]any{"schedule": "* * * * *"}}},
		{Object: map[string]any{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": map[string]any{"name": "l"}}},
		{Object: map[string]any{"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": map[string]any{"name": "e"}}},
	}
	for _, obj := range others {
		if _, err := tc.ObjectToTyped(obj); err != nil {
			t.Errorf("ObjectToTyped(%s): %v", obj.GroupVersionKind(), err)
		}
	}
	bogus := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "batch/v1", "kind": "Job", "spec": map[string]any{"bogusField": 1}}}
	if _, err := tc.ObjectToTyped(bogus); err == nil {
		t.Error("ObjectToTyped(Job with spec.bogusField): no error")
	}
}

func TestNewIsDeterministic(t *testing.T) {
	a := documents(t)
	b, err := New(servedResources())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	etags := func(d *Documents) map[string]string {
		proto, err := serializedDocs(t, d).v2Proto()
		if err != nil {
			t.Fatalf("building the v2 protobuf: %v", err)
		}
		out := map[string]string{"v2 json": serializedDocs(t, d).v2JSON.etag, "v2 protobuf": proto.etag, "v3 index": serializedDocs(t, d).v3Index.etag}
		for k, v := range serializedDocs(t, d).v3 {
			out["v3 "+k] = v.etag
		}
		return out
	}
	if diff := cmp.Diff(etags(a), etags(b)); diff != "" {
		t.Errorf("ETags differ between two builds (-first +second):\n%s", diff)
	}
}

func TestNewRejectsUnknownResources(t *testing.T) {
	tests := []struct {
		name string
		res  Resource
	}{
		{"unknown kind", Resource{GroupVersion: batchv1.SchemeGroupVersion, Resource: "widgets", Kind: "Widget", Verbs: allVerbs}},
		{"unknown subresource", Resource{GroupVersion: batchv1.SchemeGroupVersion, Resource: "jobs", Kind: "Job", Verbs: allVerbs, Subresources: []string{"scale"}}},
		{"no kind", Resource{GroupVersion: batchv1.SchemeGroupVersion, Resource: "jobs", Verbs: allVerbs}},
		{"same resource twice", Resource{GroupVersion: batchv1.SchemeGroupVersion, Resource: "jobs", Kind: "Job", Namespaced: true, Verbs: allVerbs}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(append(servedResources(), tt.res)); err == nil {
				t.Error("New: no error")
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	res := servedResources()
	for b.Loop() {
		d, err := New(res)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.serialized(); err != nil {
			b.Fatal(err)
		}
	}
}
