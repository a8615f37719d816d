// Command speccoverage maps each requirement ID of the behaviour spec
// (../shared/spec/jobs.md: JOB-*, CRON-*, KUBECTL-*) to the test files that
// name it, and writes docs/spec-coverage.md. Its test fails when that file
// is stale, or when an ID of a finished area (see enforced) has no test
// and no recorded reason.
//
//	go run ./hack/speccoverage            # rewrite docs/spec-coverage.md
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Paths, relative to the repository root.
const (
	specPath     = "../shared/spec/jobs.md"
	outputPath   = "docs/spec-coverage.md"
	notesPath    = "docs/spec-exceptions.md"
	idDefinition = `\*\*([A-Z]+(?:-[A-Z]+)*-[0-9]+[a-z]?)\*\*`
	idMention    = `\b([A-Z]+(?:-[A-Z]+)*-[0-9]+[a-z]?)\b`
)

// enforced lists the IDs, or ID prefixes ending in "-", whose requirements
// must be covered: those of closed issues. Add to it when an issue closes.
var enforced = []string{
	// Server-side printing (issue #3).
	"KUBECTL-01", "KUBECTL-02", "KUBECTL-03", "KUBECTL-04", "KUBECTL-05", "KUBECTL-06",
	// kubectl describe, wait, errors and create job with the Job
	// controller (issue #4).
	"KUBECTL-07", "KUBECTL-08", "KUBECTL-09", "KUBECTL-10", "KUBECTL-11",
	// CronJobs and TTL-after-finished (issue #6). JOB- as a whole waits for
	// the node agent's JOB-AGENT requirements.
	"CRON-", "JOB-TTL-",
	// Jobs (issue #4): sections 1 to 23 and the worked scenarios. The node
	// agent's JOB-AGENT requirements belong to issue #5.
	"JOB-DEF-", "JOB-SEL-", "JOB-VAL-", "JOB-UPD-", "JOB-SVAL-", "JOB-SYNC-", "JOB-POD-", "JOB-IDX-",
	"JOB-TRK-", "JOB-PRP-", "JOB-BO-", "JOB-BL-", "JOB-BLI-", "JOB-PFP-", "JOB-SP-", "JOB-DL-",
	"JOB-SUS-", "JOB-COND-", "JOB-STAT-", "JOB-EVT-", "JOB-MB-", "JOB-ADOPT-", "JOB-GC-", "JOB-EX-",
}

func main() {
	if err := run("."); err != nil {
		fmt.Fprintln(os.Stderr, "speccoverage:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	report, err := build(root)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, outputPath), report.markdown(), 0o644)
}

// coverage is what build found.
type coverage struct {
	ids        []string            // in spec order
	tests      map[string][]string // id -> test files naming it
	exceptions map[string]string   // id -> why it has no test
}

func build(root string) (*coverage, error) {
	spec, err := os.ReadFile(filepath.Join(root, specPath))
	if err != nil {
		return nil, fmt.Errorf("reading the spec (CI lays shared/ beside the clone): %w", err)
	}
	c := &coverage{tests: map[string][]string{}, exceptions: map[string]string{}}
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(idDefinition).FindAllSubmatch(spec, -1) {
		if id := string(m[1]); !seen[id] {
			seen[id] = true
			c.ids = append(c.ids, id)
		}
	}
	mention := regexp.MustCompile(idMention)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") || strings.HasPrefix(path, filepath.Join(root, "hack")) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, m := range mention.FindAllSubmatch(src, -1) {
			id := string(m[1])
			if seen[id] && !slices.Contains(c.tests[id], rel) {
				c.tests[id] = append(c.tests[id], rel)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := c.readExceptions(filepath.Join(root, notesPath)); err != nil {
		return nil, err
	}
	for _, files := range c.tests {
		sort.Strings(files)
	}
	return c, nil
}

// readExceptions reads "- ID: reason" lines: requirements that cannot apply
// to batchd, with the reason.
func (c *coverage) readExceptions(path string) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		id, reason, ok := strings.Cut(strings.TrimPrefix(line, "- "), ":")
		if ok && strings.HasPrefix(line, "- ") && strings.TrimSpace(reason) != "" {
			c.exceptions[strings.TrimSpace(id)] = strings.TrimSpace(reason)
		}
	}
	return sc.Err()
}

func isEnforced(id string) bool {
	for _, p := range enforced {
		if id == p || (strings.HasSuffix(p, "-") && strings.HasPrefix(id, p)) {
			return true
		}
	}
	return false
}

// missing returns enforced IDs with neither a test nor an exception.
func (c *coverage) missing() []string {
	var out []string
	for _, id := range c.ids {
		if isEnforced(id) && len(c.tests[id]) == 0 && c.exceptions[id] == "" {
			out = append(out, id)
		}
	}
	return out
}

func (c *coverage) markdown() []byte {
	var b bytes.Buffer
	covered := 0
	for _, id := range c.ids {
		if len(c.tests[id]) > 0 {
			covered++
		}
	}
	fmt.Fprintf(&b, "# Spec coverage\n\nGenerated by `go run ./hack/speccoverage` from `%s` and the tests that name each requirement; "+
		"`go test ./hack/speccoverage` fails when this file is stale or an enforced requirement has no test.\n\n", specPath)
	fmt.Fprintf(&b, "%d of %d requirements are named by a test. Enforced (their issues are closed): %s.\n\n", covered, len(c.ids), strings.Join(enforced, ", "))
	b.WriteString("| requirement | tests |\n|---|---|\n")
	for _, id := range c.ids {
		cell := "not yet covered"
		switch {
		case len(c.tests[id]) > 0:
			cell = "`" + strings.Join(c.tests[id], "`, `") + "`"
		case c.exceptions[id] != "":
			cell = "not applicable: " + c.exceptions[id]
		}
		fmt.Fprintf(&b, "| %s | %s |\n", id, cell)
	}
	return b.Bytes()
}
