package layout

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/batchd/batchd"

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestEveryPackageHasOneDocComment: each package says what it owns, once.
func TestEveryPackageHasOneDocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		var withDoc []string
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil && strings.TrimSpace(file.Doc.Text()) != "" {
				withDoc = append(withDoc, f)
			}
		}
		if len(withDoc) != 1 {
			t.Errorf("package %s has %d files with a package comment (%v), want exactly one", p.ImportPath, len(withDoc), withDoc)
		}
	}
}

// rules say which packages (by prefix under the module) must not depend
// on which others, from design.md §2.2.
// direct rules apply to a package's own imports only (cli reaches storage
// through controlplane, which is the point).
var rules = []struct {
	from      []string
	forbidden []string
	direct    bool
}{
	{[]string{"internal/controller/", "internal/scheduler", "internal/agent", "internal/jobrun", "internal/dashboard"},
		[]string{"internal/storage", "internal/etcd", "internal/apiserver", "internal/registry"}, false},
	{[]string{"internal/apiserver"}, []string{"internal/controller/", "internal/agent"}, false},
	{[]string{"internal/registry"}, []string{"internal/apiserver", "internal/controller/"}, false},
	{[]string{"internal/storage"}, []string{"internal/apiserver", "internal/registry"}, false},
	{[]string{"internal/podruntime"}, []string{"k8s.io/client-go", "k8s.io/api/"}, false},
	{[]string{"internal/cli"}, []string{"internal/storage", "internal/registry"}, true},
}

func matches(path string, prefixes []string) (string, bool) {
	for _, p := range prefixes {
		full := p
		if strings.HasPrefix(p, "internal/") {
			full = module + "/" + p
		}
		if path == strings.TrimSuffix(full, "/") || strings.HasPrefix(path, strings.TrimSuffix(full, "/")+"/") {
			return p, true
		}
	}
	return "", false
}

func TestDependencyDirections(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, rule := range rules {
			if _, ok := matches(p.ImportPath, rule.from); !ok {
				continue
			}
			deps := p.Deps
			if rule.direct {
				deps = p.Imports
			}
			for _, dep := range deps {
				if bad, ok := matches(dep, rule.forbidden); ok {
					t.Errorf("%s depends on %s (via %s): forbidden by the layering rules", p.ImportPath, bad, dep)
				}
			}
		}
	}
}
