package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// editor writes a KUBE_EDITOR script that keeps a copy of each file kubectl
// opens (round-0.yaml, round-1.yaml… in its directory) and applies one sed
// expression. The expression only matches the original text, so a file
// kubectl re-opens with errors is saved unchanged, and kubectl then cancels
// the edit.
func editor(t *testing.T, sedExpr string) (script, dir string) {
	t.Helper()
	if strings.Contains(sedExpr, "'") {
		t.Fatalf("sed expression %q holds a single quote", sedExpr)
	}
	dir = t.TempDir()
	script = filepath.Join(dir, "editor.sh")
	writeFile(t, script, `#!/bin/sh
dir=$(dirname "$0")
n=$(ls "$dir" | grep -c '^round-')
cp "$1" "$dir/round-$n.yaml"
exec sed -i -e '`+sedExpr+`' "$1"
`)
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	return script, dir
}

// rounds returns the files the editor script was given, in order.
func rounds(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	for i := 0; ; i++ {
		data, err := os.ReadFile(filepath.Join(dir, "round-"+strconv.Itoa(i)+".yaml"))
		if err != nil {
			return files
		}
		files = append(files, string(data))
	}
}

// testEdit edits objects with a sed script as the editor: a saved edit is a
// strategic merge patch of the change; an edit the server refuses is
// re-opened with the server's causes on top, and cancelled when saved again
// unchanged.
func testEdit(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-edit")
	k.mustRun(t, "-n", ns, "create", "configmap", "settings", "--from-literal=key=v1")
	createManifest(t, k, ns, jobManifest("report", 3), "job.batch/report created\n")

	tests := []struct {
		name     string
		object   string // TYPE/NAME
		sed      string
		jsonpath string // read after the edit
		want     string // what jsonpath prints after the edit

		wantOut    string // stdout, for an edit that is saved
		wantErrs   []string
		wantRounds int
		reopened   []string // in the re-opened file
		serverBug  string   // skip with this when the server takes the invalid value
	}{
		{
			name:       "configmap value",
			object:     "configmap/settings",
			sed:        `s/^  key: v1$/  key: v2/`,
			jsonpath:   "{.data.key}",
			want:       "v2",
			wantOut:    "configmap/settings edited\n",
			wantRounds: 1,
		},
		{
			name:       "job backoffLimit",
			object:     "job/report",
			sed:        `s/^  backoffLimit: 4$/  backoffLimit: 6/`,
			jsonpath:   "{.spec.backoffLimit}",
			want:       "6",
			wantOut:    "job.batch/report edited\n",
			wantRounds: 1,
		},
		{
			name:       "no change",
			object:     "configmap/settings",
			sed:        `s/^  key: nothing-matches$//`,
			jsonpath:   "{.data.key}",
			want:       "v2",
			wantOut:    "",
			wantErrs:   []string{"Edit cancelled, no changes made."},
			wantRounds: 1,
		},
		{
			// A key kubectl's schema allows and the server refuses: kubectl
			// re-opens the file with the server's causes on top.
			name:     "invalid configmap key",
			object:   "configmap/settings",
			sed:      `s/^  key: v2$/  bad\/key: v2/`,
			jsonpath: "{.data}",
			want:     `{"key":"v2"}`,
			wantErrs: []string{
				`error: configmaps "settings" is invalid`,
				`A copy of your changes has been stored to "` + k.tempDir(),
				"error: Edit cancelled, no valid changes were saved.",
			},
			wantRounds: 2,
			reopened: []string{
				`# configmaps "settings" was not valid:`,
				`# * data[bad/key]: Invalid value: "bad/key": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
			},
		},
		{
			name:     "invalid job backoffLimit",
			object:   "job/report",
			sed:      `s/^  backoffLimit: 6$/  backoffLimit: -1/`,
			jsonpath: "{.spec.backoffLimit}",
			want:     "6",
			wantErrs: []string{
				`error: jobs.batch "report" is invalid`,
				"error: Edit cancelled, no valid changes were saved.",
			},
			wantRounds: 2,
			reopened: []string{
				`# jobs.batch "report" was not valid:`,
				`# * spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0`,
			},
			serverBug: "batchd does not validate Job specs: kubectl edit job/report with spec.backoffLimit: -1 " +
				"is saved (PATCH …/jobs/report 200), where upstream answers 422 \"spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script, dir := editor(t, tt.sed)
			r := k.withEnv("KUBE_EDITOR="+script).run(t, "-n", ns, "edit", tt.object, "-v=8")
			saved := len(tt.reopened) == 0
			if tt.serverBug != "" && r.err == nil {
				t.Skip("server bug: " + tt.serverBug)
			}
			if saved && r.err != nil {
				t.Fatalf("kubectl edit %s: %v\nstderr:\n%s", tt.object, r.err, lastLines(r.stderr, 20))
			}
			if !saved && r.err == nil {
				t.Fatalf("kubectl edit %s with an invalid value succeeded, want it to fail\nstdout:\n%s", tt.object, r.stdout)
			}
			if r.stdout != tt.wantOut {
				t.Errorf("kubectl edit %s printed %q, want %q", tt.object, r.stdout, tt.wantOut)
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("kubectl edit %s: stderr\n%s\nwant it to contain %q", tt.object, lastLines(r.stderr, 10), want)
				}
			}
			if tt.wantOut != "" {
				// The saved edit is a strategic merge patch of the change.
				for _, want := range []string{"fieldManager=kubectl-edit", "Content-Type: application/strategic-merge-patch+json"} {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("kubectl edit -v=8 shows no PATCH with %s", want)
					}
				}
			}
			files := rounds(t, dir)
			if len(files) != tt.wantRounds {
				t.Errorf("the editor ran %d times, want %d", len(files), tt.wantRounds)
			}
			if len(files) > 1 {
				for _, want := range tt.reopened {
					if !strings.Contains(files[1], want) {
						t.Errorf("the re-opened file does not contain\n%s\nit starts:\n%s", want, firstLines(files[1], 8))
					}
				}
			}
			resource, name, _ := strings.Cut(tt.object, "/")
			if got := k.mustRun(t, "-n", ns, "get", resource, name, "-o", "jsonpath="+tt.jsonpath); got != tt.want {
				t.Errorf("after kubectl edit: %s = %q, want %q", tt.jsonpath, got, tt.want)
			}
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	return strings.Join(lines[:min(n, len(lines))], "")
}

func lastLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "")
}

// testPatch patches with each patch type kubectl offers, including the
// cases where they differ: a strategic merge patch merges containers by
// name, a merge patch replaces the list.
func testPatch(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-patch")
	k.mustRun(t, "-n", ns, "create", "configmap", "p", "--from-literal=a=1", "--from-literal=b=2")
	createManifest(t, k, ns, podManifest("bare"), "pod/bare created\n")

	const podImage = `{.spec.containers[*].name} {.spec.containers[*].image} {.spec.containers[*].command}`
	tests := []struct {
		name        string
		object      string
		args        []string
		contentType string
		jsonpath    string
		want        string
		wantOut     string // stdout; empty when the patch must fail
		wantErr     string // in stderr
	}{
		{
			name:        "merge sets and removes keys",
			object:      "configmap/p",
			args:        []string{"--type=merge", "-p", `{"data":{"a":null,"c":"3"}}`},
			contentType: "application/merge-patch+json",
			jsonpath:    "{.data}",
			want:        `{"b":"2","c":"3"}`,
			wantOut:     "configmap/p patched\n",
		},
		{
			name:        "json replaces and removes",
			object:      "configmap/p",
			args:        []string{"--type=json", "-p", `[{"op":"replace","path":"/data/b","value":"20"},{"op":"remove","path":"/data/c"}]`},
			contentType: "application/json-patch+json",
			jsonpath:    "{.data}",
			want:        `{"b":"20"}`,
			wantOut:     "configmap/p patched\n",
		},
		{
			name:        "json test that holds",
			object:      "configmap/p",
			args:        []string{"--type=json", "-p", `[{"op":"test","path":"/data/b","value":"20"},{"op":"add","path":"/data/d","value":"4"}]`},
			contentType: "application/json-patch+json",
			jsonpath:    "{.data}",
			want:        `{"b":"20","d":"4"}`,
			wantOut:     "configmap/p patched\n",
		},
		{
			// The whole patch fails: the add after the test is not applied.
			name:        "json test that fails",
			object:      "configmap/p",
			args:        []string{"--type=json", "-p", `[{"op":"test","path":"/data/b","value":"2"},{"op":"add","path":"/data/e","value":"5"}]`},
			contentType: "application/json-patch+json",
			jsonpath:    "{.data}",
			want:        `{"b":"20","d":"4"}`,
			wantErr:     "The request is invalid",
		},
		{
			name:        "strategic is the default",
			object:      "configmap/p",
			args:        []string{"-p", `{"metadata":{"labels":{"patched":"yes"}}}`},
			contentType: "application/strategic-merge-patch+json",
			jsonpath:    "{.metadata.labels}",
			want:        `{"patched":"yes"}`,
			wantOut:     "configmap/p patched\n",
		},
		{
			name:        "strategic without a change",
			object:      "configmap/p",
			args:        []string{"--type=strategic", "-p", `{"metadata":{"labels":{"patched":"yes"}}}`},
			contentType: "application/strategic-merge-patch+json",
			jsonpath:    "{.metadata.labels}",
			want:        `{"patched":"yes"}`,
			wantOut:     "configmap/p patched (no change)\n",
		},
		{
			// Without fieldValidation in the request the server warns.
			name:        "unknown field warns",
			object:      "configmap/p",
			args:        []string{"-p", `{"bogus":1}`},
			contentType: "application/strategic-merge-patch+json",
			jsonpath:    "{.data}",
			want:        `{"b":"20","d":"4"}`,
			wantOut:     "configmap/p patched (no change)\n",
			wantErr:     `Warning: unknown field "bogus"`,
		},
		{
			name:        "strategic merges containers by name",
			object:      "pod/bare",
			args:        []string{"-p", `{"spec":{"containers":[{"name":"main","image":"busybox:1.37"}]}}`},
			contentType: "application/strategic-merge-patch+json",
			jsonpath:    podImage,
			want:        `main busybox:1.37 ["sleep","3600"]`,
			wantOut:     "pod/bare patched\n",
		},
		{
			// The list is replaced, dropping the command: a pod's spec
			// allows only image changes.
			name:        "merge replaces the container list",
			object:      "pod/bare",
			args:        []string{"--type=merge", "-p", `{"spec":{"containers":[{"name":"main","image":"busybox:1.38"}]}}`},
			contentType: "application/merge-patch+json",
			jsonpath:    podImage,
			want:        `main busybox:1.37 ["sleep","3600"]`,
			wantErr:     `The Pod "bare" is invalid: spec: Forbidden: pod updates may not change fields other than ` + "`spec.containers[*].image`",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-n", ns, "patch", tt.object, "-v=8"}, tt.args...)
			r := k.run(t, args...)
			if tt.wantOut != "" && r.err != nil {
				t.Fatalf("kubectl patch %s: %v\nstderr:\n%s", tt.object, r.err, lastLines(r.stderr, 10))
			}
			if tt.wantOut == "" && r.err == nil {
				t.Fatalf("kubectl patch %s %s succeeded, want an error", tt.object, strings.Join(tt.args, " "))
			}
			if r.stdout != tt.wantOut {
				t.Errorf("kubectl patch %s printed %q, want %q", tt.object, r.stdout, tt.wantOut)
			}
			if tt.wantErr != "" && !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("kubectl patch %s: stderr\n%s\nwant it to contain %q", tt.object, lastLines(r.stderr, 5), tt.wantErr)
			}
			for _, want := range []string{"Content-Type: " + tt.contentType, "fieldManager=kubectl-patch"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("kubectl patch -v=8 shows no PATCH with %s", want)
				}
			}
			resource, name, _ := strings.Cut(tt.object, "/")
			if got := k.mustRun(t, "-n", ns, "get", resource, name, "-o", "jsonpath="+tt.jsonpath); got != tt.want {
				t.Errorf("after kubectl patch: %s = %q, want %q", tt.jsonpath, got, tt.want)
			}
		})
	}
}
