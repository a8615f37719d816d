package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// testApplyValidation applies manifests with misspelt fields. kubectl finds
// fieldValidation in the server's OpenAPI and leaves the checking to the
// server (spec/kubectl.md §0.2), which must refuse them by name; with
// --validate=warn it warns, and with --validate=false it drops them.
func testApplyValidation(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-apply-validation")
	tests := []struct {
		name     string
		kind     string // as the server words it
		resource string
		object   string
		manifest string
		unknown  []string // paths the server names
		created  string   // what kubectl prints once the fields are dropped
	}{
		{
			name:     "top-level field of a configmap",
			kind:     "ConfigMap",
			resource: "configmap",
			object:   "typo",
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndata:\n  key: value\nbogusField: x\n",
			unknown:  []string{"bogusField"},
			created:  "configmap/typo created\n",
		},
		{
			name:     "nested fields of a job",
			kind:     "Job",
			resource: "job",
			object:   "typo",
			manifest: strings.NewReplacer(
				"  completions:", "  bogusField: 1\n  completions:",
				"        image: busybox:1.36", "        image: busybox:1.36\n        imagePullPolicyy: Always",
			).Replace(jobManifest("typo", 1)),
			unknown: []string{"spec.bogusField", "spec.template.spec.containers[0].imagePullPolicyy"},
			created: "job.batch/typo created\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.object+".yaml")
			writeFile(t, path, tt.manifest)

			var quoted []string
			for _, f := range tt.unknown {
				quoted = append(quoted, `unknown field "`+f+`"`)
			}
			stderr := k.mustFail(t, "-n", ns, "apply", "-f", path)
			want := `Error from server (BadRequest): error when creating "` + path + `": ` + tt.kind + ` in version "v1" cannot be handled as a ` +
				tt.kind + `: strict decoding error: ` + strings.Join(quoted, ", ")
			if strings.TrimSpace(stderr) != want {
				t.Errorf("kubectl apply of a manifest with unknown fields: stderr\n%s\nwant\n%s", stderr, want)
			}
			if !notFound(t, k, ns, tt.resource, tt.object) {
				t.Errorf("the refused apply created %s %s", tt.resource, tt.object)
			}

			// fieldValidation=Warn: the server accepts the object and says
			// what it dropped in Warning headers.
			r := k.run(t, "-n", ns, "apply", "-f", path, "--validate=warn", "--dry-run=server")
			if r.err != nil {
				t.Fatalf("kubectl apply --validate=warn: %v\nstderr:\n%s", r.err, r.stderr)
			}
			for _, q := range quoted {
				if !strings.Contains(r.stderr, "Warning: "+q) {
					t.Errorf("kubectl apply --validate=warn: stderr %q, want a warning %q", r.stderr, q)
				}
			}

			// fieldValidation=Ignore: accepted, and the fields are gone.
			if got, want := k.mustRun(t, "-n", ns, "apply", "-f", path, "--validate=false"), tt.created; got != want {
				t.Errorf("kubectl apply --validate=false printed %q, want %q", got, want)
			}
			var obj map[string]any
			out := k.mustRun(t, "-n", ns, "get", tt.resource, tt.object, "-o", "yaml")
			if err := yaml.Unmarshal([]byte(out), &obj); err != nil {
				t.Fatalf("parsing kubectl get -o yaml: %v\n%s", err, out)
			}
			for _, f := range tt.unknown {
				if v, ok := lookupField(obj, f); ok {
					t.Errorf("%s %s has the unknown field %s = %v after apply --validate=false, want it dropped", tt.resource, tt.object, f, v)
				}
			}
		})
	}
}

// lookupField finds a field by a path such as
// spec.template.spec.containers[0].name in decoded YAML.
func lookupField(obj map[string]any, path string) (any, bool) {
	var cur any = obj
	for part := range strings.SplitSeq(path, ".") {
		name, index, isIndexed := strings.Cut(part, "[")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[name]; !ok {
			return nil, false
		}
		if isIndexed {
			list, ok := cur.([]any)
			i := 0
			for _, c := range strings.TrimSuffix(index, "]") {
				i = i*10 + int(c-'0')
			}
			if !ok || i >= len(list) {
				return nil, false
			}
			cur = list[i]
		}
	}
	return cur, true
}

// testApplyServerSide applies a configmap server-side as two field managers:
// the second conflicts over a field the first owns until it forces.
func testApplyServerSide(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-apply-server-side")
	dir := t.TempDir()
	manifest := func(name, value string) string {
		path := filepath.Join(dir, name+".yaml")
		writeFile(t, path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  labels:\n    app: e2e\ndata:\n  key: "+value+"\n")
		return path
	}
	mine := manifest("mine", "v1")
	theirs := filepath.Join(dir, "theirs.yaml")
	writeFile(t, theirs, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  key: v2\n")

	// The object does not exist: the apply patch creates it.
	r := k.run(t, "-n", ns, "apply", "--server-side", "-f", mine, "-v=8")
	if r.err != nil {
		t.Fatalf("kubectl apply --server-side: %v\nstderr:\n%s", r.err, r.stderr)
	}
	if want := "configmap/shared serverside-applied\n"; r.stdout != want {
		t.Errorf("kubectl apply --server-side printed %q, want %q", r.stdout, want)
	}
	if want := "application/apply-patch+yaml"; !strings.Contains(r.stderr, want) {
		t.Errorf("kubectl apply --server-side -v=8 shows no %s request", want)
	}
	checkManagers(t, k, ns, map[string]managed{"kubectl": {"Apply", []string{"f:data", "f:key", "f:labels", "f:app"}, nil}})

	if got, want := k.mustRun(t, "-n", ns, "apply", "--server-side", "-f", mine), "configmap/shared serverside-applied\n"; got != want {
		t.Errorf("second kubectl apply --server-side printed %q, want %q", got, want)
	}

	// Another manager setting the same field to another value conflicts.
	stderr := k.mustFail(t, "-n", ns, "apply", "--server-side", "--field-manager=other", "-f", theirs)
	if want := `error: Apply failed with 1 conflict: conflict with "kubectl": .data.key`; !strings.HasPrefix(stderr, want) {
		t.Errorf("conflicting apply: stderr\n%s\nwant it to start with %q", stderr, want)
	}
	k.goldenText(t, "apply-server-side-conflict", stderr)
	if got := getConfigMap(t, k, ns, "shared").Data["key"]; got != "v1" {
		t.Errorf("after the conflicting apply: data.key = %q, want v1 unchanged", got)
	}

	// --force-conflicts takes the field over: kubectl keeps only the label.
	r = k.run(t, "-n", ns, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", theirs, "-v=6")
	if r.err != nil {
		t.Fatalf("kubectl apply --server-side --force-conflicts: %v\nstderr:\n%s", r.err, r.stderr)
	}
	if want := "configmap/shared serverside-applied\n"; r.stdout != want {
		t.Errorf("kubectl apply --force-conflicts printed %q, want %q", r.stdout, want)
	}
	if want := "force=true"; !strings.Contains(r.stderr, want) {
		t.Errorf("kubectl apply --force-conflicts -v=6 shows no request with %s", want)
	}
	cm := getConfigMap(t, k, ns, "shared")
	if cm.Data["key"] != "v2" || cm.Labels["app"] != "e2e" {
		t.Errorf("after --force-conflicts: data %v labels %v, want key=v2 and app=e2e", cm.Data, cm.Labels)
	}
	checkManagers(t, k, ns, map[string]managed{
		"kubectl": {"Apply", []string{"f:labels", "f:app"}, []string{"f:data"}},
		"other":   {"Apply", []string{"f:data", "f:key"}, []string{"f:labels"}},
	})
}

// sortStrings makes cmp.Diff ignore the order of string slices.
var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// managed is what checkManagers expects of one field manager's entry.
type managed struct {
	operation string
	owns      []string // field names that must appear in its fieldsV1
	ownsNot   []string // field names that must not
}

// checkManagers checks the configmap "shared"'s managedFields.
func checkManagers(t *testing.T, k *kubectl, ns string, want map[string]managed) {
	t.Helper()
	var cm corev1.ConfigMap
	mustUnmarshalJSON(t, k.mustRun(t, "-n", ns, "get", "configmap", "shared", "-o", "json", "--show-managed-fields"), &cm)
	got := make(map[string]string)
	for _, e := range cm.ManagedFields {
		if e.FieldsV1 == nil {
			t.Errorf("managedFields entry of %s has no fieldsV1", e.Manager)
			continue
		}
		got[e.Manager] = string(e.FieldsV1.Raw)
		w, ok := want[e.Manager]
		if !ok {
			continue
		}
		if string(e.Operation) != w.operation {
			t.Errorf("managedFields entry of %s has operation %q, want %q", e.Manager, e.Operation, w.operation)
		}
		for _, f := range w.owns {
			if !strings.Contains(got[e.Manager], `"`+f+`"`) {
				t.Errorf("manager %s's fields %s lack %s", e.Manager, got[e.Manager], f)
			}
		}
		for _, f := range w.ownsNot {
			if strings.Contains(got[e.Manager], `"`+f+`"`) {
				t.Errorf("manager %s's fields %s still hold %s", e.Manager, got[e.Manager], f)
			}
		}
	}
	var gotManagers, wantManagers []string
	for m := range got {
		gotManagers = append(gotManagers, m)
	}
	for m := range want {
		wantManagers = append(wantManagers, m)
	}
	if diff := cmp.Diff(wantManagers, gotManagers, sortStrings); diff != "" {
		raw, _ := json.Marshal(cm.ManagedFields)
		t.Errorf("field managers mismatch (-want +got):\n%s\nmanagedFields: %s", diff, raw)
	}
}
