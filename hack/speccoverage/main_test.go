package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const repoRoot = "../.."

func TestCoverageFileIsCurrent(t *testing.T) {
	c, err := build(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(filepath.Join(repoRoot, outputPath))
	if err != nil {
		t.Fatalf("%v: run go run ./hack/speccoverage", err)
	}
	if !bytes.Equal(have, c.markdown()) {
		t.Errorf("%s is stale: run go run ./hack/speccoverage", outputPath)
	}
}

func TestEnforcedRequirementsHaveTests(t *testing.T) {
	c, err := build(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ids) < 300 {
		t.Errorf("found %d requirement IDs in the spec, want about 301: did the ID syntax change?", len(c.ids))
	}
	if missing := c.missing(); len(missing) > 0 {
		t.Errorf("requirements of closed areas without a test or a reason in %s: %s", notesPath, strings.Join(missing, ", "))
	}
}
