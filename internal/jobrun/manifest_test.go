package jobrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadManifests(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	multi := write("multi.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: b}\nspec: {completions: 3}\n")
	list := write("list.json", `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}]}`)
	write("d/2.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n")
	write("d/1.json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"one-"}}`)
	write("d/notes.txt", "not a manifest")
	noKind := write("nokind.yaml", "apiVersion: v1\nmetadata: {name: x}\n")
	noName := write("noname.yaml", "apiVersion: v1\nkind: ConfigMap\n")
	bad := write("bad.yaml", "apiVersion: v1\nkind: [\n")

	tests := []struct {
		name    string
		paths   []string
		stdin   string
		want    []string // source kind/name
		wantErr string
	}{
		{name: "documents in order, empty ones skipped", paths: []string{multi},
			want: []string{multi + "#1 ConfigMap/a", multi + "#2 Job/b"}},
		{name: "list items", paths: []string{list}, want: []string{list + "#1[0] Secret/s"}},
		{name: "a directory's manifests by name", paths: []string{filepath.Join(dir, "d")},
			want: []string{filepath.Join(dir, "d", "1.json") + "#1 ConfigMap/one-", filepath.Join(dir, "d", "2.yml") + "#1 ConfigMap/two"}},
		{name: "stdin", paths: []string{"-"}, stdin: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: in}\n", want: []string{"stdin#1 ConfigMap/in"}},
		{name: "nothing given", wantErr: "no manifests"},
		{name: "stdin twice", paths: []string{"-", "-"}, wantErr: "more than once"},
		{name: "missing file", paths: []string{filepath.Join(dir, "missing.yaml")}, wantErr: "no such file"},
		{name: "no kind", paths: []string{noKind}, wantErr: "nokind.yaml#1"},
		{name: "no name", paths: []string{noName}, wantErr: "neither metadata.name nor metadata.generateName"},
		{name: "bad yaml", paths: []string{bad}, wantErr: "decoding " + bad + "#1"},
		{name: "empty stdin", paths: []string{"-"}, stdin: "---\n", wantErr: "no objects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := ReadManifests(tt.paths, strings.NewReader(tt.stdin))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadManifests() error = %v, want one containing %q", err, tt.wantErr)
				}
				if code := CodeOf(err); code != ExitUsage {
					t.Errorf("exit code = %d, want %d", code, ExitUsage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				name := m.Object.GetName()
				if name == "" {
					name = m.Object.GetGenerateName()
				}
				got = append(got, m.Source+" "+m.Object.GetKind()+"/"+name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadManifests() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadManifestsKeepsIntegers(t *testing.T) {
	ms, err := ReadManifests([]string{"-"}, strings.NewReader("apiVersion: batch/v1\nkind: Job\nmetadata: {name: b}\nspec: {completions: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ms[0].Object.Object["spec"].(map[string]any)["completions"].(int64); !ok || got != 3 {
		t.Errorf("spec.completions = %#v, want int64 3", ms[0].Object.Object["spec"])
	}
}
