package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/google/go-cmp/cmp"
)

// goldenOwner is the kubectl version whose output is testdata/<name>.golden.
// Another version whose output differs has its own
// testdata/<name>.kubectl-<version>.golden. TestKubectl runs the owner
// first, so that -update rewrites the shared file before the other versions
// compare against it.
const goldenOwner = "1.33"

// golden compares a kubectl table, normalised by normaliseTable, with its
// golden file.
func (k *kubectl) golden(t *testing.T, name, got string) {
	t.Helper()
	k.compareGolden(t, name, normaliseTable(got))
}

// goldenText compares text that is not one table (describe, explain, a
// message), normalised by normaliseText, with its golden file.
func (k *kubectl) goldenText(t *testing.T, name, got string) {
	t.Helper()
	k.compareGolden(t, name, normaliseText(got))
}

// compareGolden compares normalised output with testdata/<name>.golden, or
// this version's own file if there is one. With -update it rewrites the
// file instead: the owner's output goes to the shared file, another
// version's to its own file only if it differs from the shared one.
func (k *kubectl) compareGolden(t *testing.T, name, got string) {
	t.Helper()
	shared := filepath.Join("testdata", name+".golden")
	own := filepath.Join("testdata", fmt.Sprintf("%s.kubectl-%s.golden", name, k.version))

	if *update {
		if k.version == goldenOwner {
			writeGolden(t, shared, got)
			removeGolden(t, own)
			return
		}
		want, err := os.ReadFile(shared)
		if err == nil && string(want) == got {
			removeGolden(t, own)
			return
		}
		writeGolden(t, own, got)
		return
	}

	path := own
	want, err := os.ReadFile(own)
	if errors.Is(err, fs.ErrNotExist) {
		path = shared
		want, err = os.ReadFile(shared)
	}
	if err != nil {
		t.Errorf("reading golden file: %v (create it with go test ./test/e2e -run TestKubectl -update)", err)
		return
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("output differs from %s (-want +got); if the change is intended, rerun with -update:\n%s", path, diff)
	}
}

func writeGolden(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatalf("updating golden file: %v", err)
	}
	t.Logf("wrote %s", path)
}

func removeGolden(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("removing stale golden file: %v", err)
	}
}

var (
	// cellSeparator splits a kubectl table line into cells: kubectl pads
	// columns with at least two spaces (describe) or three (get), and
	// headers such as "LAST SEEN" hold single ones.
	cellSeparator = regexp.MustCompile(` {2,}`)
	// cellText matches one cell: words separated by single spaces.
	cellText = regexp.MustCompile(`[^ ]+(?: [^ ]+)*`)
	// ageCell matches a duration as kubectl prints ages ("0s", "5m10s",
	// "3d", "<invalid>" for a timestamp in the future).
	ageCell = regexp.MustCompile(`^(?:[0-9]+[smhdy])+$|^<invalid>$`)
)

// normaliseTable makes kubectl table output stable across runs: every cell
// that is an age becomes <age>, uids and generated names are normalised as
// in normaliseNames, and columns are re-aligned, since an age's width
// changes the padding. Empty cells (a job's DURATION before it
// starts, a -L column the object lacks) keep their column: a row with fewer
// cells than its table's header puts each cell under the column it starts
// at. A blank line starts a new table (kubectl get all prints several).
func normaliseTable(s string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 3, ' ', 0)
	var columns []int // where the current table's columns start
	for line := range strings.Lines(s) {
		cells := splitCells(strings.TrimRight(line, " \r\n"))
		switch {
		case len(cells) == 0:
			columns = nil
		case columns == nil || len(cells) == len(columns):
			// A header, or a full row: kubectl -w widens columns as it goes.
			columns = columns[:0]
			for _, c := range cells {
				columns = append(columns, c.start)
			}
		}
		texts := placeCells(cells, columns)
		for i, c := range texts {
			if ageCell.MatchString(c) {
				texts[i] = "<age>"
			} else {
				texts[i] = normaliseNames(c)
			}
		}
		fmt.Fprintln(tw, strings.Join(texts, "\t"))
	}
	tw.Flush()
	return trailingSpace.ReplaceAllString(b.String(), "")
}

// cell is one cell of a table line and the offset it starts at.
type cell struct {
	text  string
	start int
}

// splitCells splits a table line into cells: kubectl pads columns with at
// least three spaces, and cells such as "LAST SEEN" hold single ones.
func splitCells(line string) []cell {
	var cells []cell
	for _, loc := range cellText.FindAllStringIndex(line, -1) {
		cells = append(cells, cell{line[loc[0]:loc[1]], loc[0]})
	}
	return cells
}

// placeCells lays a row's cells out under columns. A row with fewer cells
// than columns has empty ones: each cell goes to the last column that starts
// at or before it. kubectl -w widens columns for a longer cell and keeps the
// wider layout for later rows, so the columns' starts are shifted by how far
// the row's earlier cells have pushed them: a cell that starts later than
// its column, or ends less than three spaces before the next one starts.
// Cells that cannot be placed stay in order.
func placeCells(cells []cell, columns []int) []string {
	texts := make([]string, len(cells))
	for i, c := range cells {
		texts[i] = c.text
	}
	if len(cells) >= len(columns) {
		return texts
	}
	out := make([]string, len(columns))
	shift, next := 0, 0
	for _, c := range cells {
		k := -1
		for m := next; m < len(columns) && columns[m]+shift <= c.start; m++ {
			k = m
		}
		if k < 0 {
			return texts
		}
		out[k] = c.text
		shift = c.start - columns[k]
		if k+1 < len(columns) {
			shift = max(shift, c.start+len(c.text)+tablePadding-columns[k+1])
		}
		next = k + 1
	}
	return out
}

// tablePadding is the least space kubectl puts between two table columns.
const tablePadding = 3

var (
	uidPattern = regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	// generatedName matches a name made from metadata.generateName: the
	// prefix and five characters of the alphabet the API server draws them
	// from (no vowels), as a job controller's pods have.
	generatedName = regexp.MustCompile(`\b([a-z0-9][-.a-z0-9]*)-[bcdfghjklmnpqrstvwxz2456789]{5}\b`)
	// eventNameSuffix matches the hexadecimal time client-go's event
	// recorder appends to an event's name ("pod.17f3a…").
	eventNameSuffix = regexp.MustCompile(`\.[0-9a-f]{14,}\b`)
	// resourceVersionPattern matches resourceVersions in YAML and JSON.
	resourceVersionPattern = regexp.MustCompile(`(resourceVersion"?:\s*"?)[0-9]+`)
	// rfc3339Pattern matches timestamps as -o yaml|json print them.
	rfc3339Pattern = regexp.MustCompile(`\b[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})`)
	// describeTimePattern matches timestamps as describe prints them
	// ("Mon, 30 Nov 2026 07:32:51 +0000").
	describeTimePattern = regexp.MustCompile(`\b[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}`)
	trailingSpace       = regexp.MustCompile(`(?m)[ \t]+$`)
)

// normaliseText makes kubectl output that is not one table stable across
// runs: uids become <uid>, resourceVersions <rv>, timestamps <time>, and the
// ages in describe's Events table <age> (that table is re-aligned, as in
// normaliseTable). Trailing blanks go, so that editors keep the files intact.
func normaliseText(s string) string {
	s = trailingSpace.ReplaceAllString(s, "")
	s = normaliseNames(s)
	s = resourceVersionPattern.ReplaceAllString(s, "${1}<rv>")
	s = rfc3339Pattern.ReplaceAllString(s, "<time>")
	s = describeTimePattern.ReplaceAllString(s, "<time>")
	return normaliseDescribeEvents(s)
}

// normaliseNames replaces what the server makes up: uids become <uid>, the
// random suffix of a generated name <suffix> ("report-x7k2p" becomes
// "report-<suffix>"), the time in a recorded event's name <id>.
func normaliseNames(s string) string {
	s = uidPattern.ReplaceAllString(s, "<uid>")
	s = generatedName.ReplaceAllString(s, "${1}-<suffix>")
	return eventNameSuffix.ReplaceAllString(s, ".<id>")
}

// describeEventsIndent is how far describe indents its Events table.
const describeEventsIndent = "  "

// normaliseDescribeEvents re-aligns the table that follows an "Events:" line,
// as describe prints it (indented by two spaces, columns padded by two),
// with every age cell replaced by <age>.
func normaliseDescribeEvents(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for i := 0; i < len(lines); i++ {
		b.WriteString(lines[i])
		if strings.TrimRight(lines[i], " \n") != "Events:" {
			continue
		}
		tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], describeEventsIndent) {
			i++
			cells := cellSeparator.Split(strings.TrimSpace(lines[i]), -1)
			for j, c := range cells {
				if ageCell.MatchString(c) {
					cells[j] = "<age>"
				}
			}
			fmt.Fprintln(tw, describeEventsIndent+strings.Join(cells, "\t"))
		}
		tw.Flush()
	}
	return b.String()
}

// parseTable splits a kubectl table into rows of cells keyed by column
// header, using the header's column offsets so that empty cells (such as a
// resource without SHORTNAMES) stay in place.
func parseTable(t *testing.T, out string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		t.Fatalf("no table in output:\n%s", out)
	}
	header := lines[0]
	type column struct {
		name  string
		start int
	}
	var cols []column
	pos := 0
	for _, name := range cellSeparator.Split(strings.TrimSpace(header), -1) {
		i := strings.Index(header[pos:], name)
		if i < 0 {
			t.Fatalf("malformed table header %q", header)
		}
		cols = append(cols, column{name, pos + i})
		pos += i + len(name)
	}
	var rows []map[string]string
	for _, line := range lines[1:] {
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			end := len(line)
			if i+1 < len(cols) {
				end = min(cols[i+1].start, len(line))
			}
			if c.start < end {
				row[c.name] = strings.TrimSpace(line[c.start:end])
			} else {
				row[c.name] = ""
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func TestNormaliseText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "uids, resourceVersions and timestamps in yaml",
			in: "metadata:\n  creationTimestamp: \"2026-11-30T07:32:51Z\"\n  resourceVersion: \"14\"\n" +
				"  uid: ce3681ef-37b0-4ced-8b95-eab9ef3e3149\n",
			want: "metadata:\n  creationTimestamp: \"<time>\"\n  resourceVersion: \"<rv>\"\n  uid: <uid>\n",
		},
		{
			name: "resourceVersions in json",
			in:   `{"resourceVersion":"12","uid":"ce3681ef-37b0-4ced-8b95-eab9ef3e3149"}`,
			want: `{"resourceVersion":"<rv>","uid":"<uid>"}`,
		},
		{
			name: "generated names and recorded events' names",
			in:   "Created pod: report-x7k2p\nreport-x7k2p.17f3a2b4c5d6e7f8\nreport-tests\nkube-system\n",
			want: "Created pod: report-<suffix>\nreport-<suffix>.<id>\nreport-tests\nkube-system\n",
		},
		{
			name: "describe timestamps",
			in:   "Start Time:  Mon, 30 Nov 2026 07:32:51 +0000\n",
			want: "Start Time:  <time>\n",
		},
		{
			name: "describe events are re-aligned with ages normalised",
			in: "Name:  x\nEvents:\n  Type    Reason  Age   From  Message\n  ----    ------  ----  ----  -------\n" +
				"  Normal  Tested  333d  e2e   a message\n  Normal  Tested  5s    e2e   another one\n",
			want: "Name:  x\nEvents:\n  Type    Reason  Age    From  Message\n  ----    ------  ----   ----  -------\n" +
				"  Normal  Tested  <age>  e2e   a message\n  Normal  Tested  <age>  e2e   another one\n",
		},
		{
			name: "no events",
			in:   "Tolerations:  <none>\nEvents:       <none>\n",
			want: "Tolerations:  <none>\nEvents:       <none>\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, normaliseText(tt.in)); diff != "" {
				t.Errorf("normaliseText() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormaliseTable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "ages of different widths align the same",
			in:   "NAME    AGE   LABELS\nalpha   9s    a=1\nb       10m   <none>\n",
			want: "NAME    AGE     LABELS\nalpha   <age>   a=1\nb       <age>   <none>\n",
		},
		{
			name: "compound ages and invalid ages",
			in:   "NAME   AGE\nx      2m30s\ny      <invalid>\nz      3d\n",
			want: "NAME   AGE\nx      <age>\ny      <age>\nz      <age>\n",
		},
		{
			name: "a whole cell that looks like an age is normalised, even a name",
			in:   "NAME    AGE\nweb-5s  1h\n5s      4y\n",
			want: "NAME     AGE\nweb-5s   <age>\n<age>    <age>\n",
		},
		{
			name: "headers with single spaces stay one cell",
			in:   "LAST SEEN   TYPE     REASON\n5s          Normal   Created\n",
			want: "LAST SEEN   TYPE     REASON\n<age>       Normal   Created\n",
		},
		{
			name: "empty cells keep their column",
			in: "NAME     STATUS    COMPLETIONS   DURATION   AGE   TIER   MISSING\n" +
				"alpha    Running   0/3                      5s    web    \n" +
				"longer   Running   1/3           10s        12s          \n",
			want: "NAME     STATUS    COMPLETIONS   DURATION   AGE     TIER   MISSING\n" +
				"alpha    Running   0/3                      <age>   web\n" +
				"longer   Running   1/3           <age>      <age>\n",
		},
		{
			name: "a leading empty cell",
			in:   "Resources   Non-Resource URLs   Verbs\n*.*         []                  [*]\n            [*]                 [*]\n",
			want: "Resources   Non-Resource URLs   Verbs\n*.*         []                  [*]\n            [*]                 [*]\n",
		},
		{
			name: "a blank line starts a new table",
			in:   "NAME       READY   AGE\npod/bare   0/1     5s\n\nNAME               AGE\njob.batch/report   10m\n",
			want: "NAME       READY   AGE\npod/bare   0/1     <age>\n\nNAME               AGE\njob.batch/report   <age>\n",
		},
		{
			name: "rows kubectl -w printed after widening a column",
			in: "EVENT      NAME     STATUS    DURATION   AGE   STAGE\n" +
				"ADDED      before   Running              0s    \n" +
				"ADDED      changing   Running              0s    \n" +
				"MODIFIED   changing   Running              12s   labeled\n" +
				"ADDED      a-much-longer-name   Running              3s\n",
			want: "EVENT      NAME                 STATUS    DURATION   AGE     STAGE\n" +
				"ADDED      before               Running              <age>\n" +
				"ADDED      changing             Running              <age>\n" +
				"MODIFIED   changing             Running              <age>   labeled\n" +
				"ADDED      a-much-longer-name   Running              <age>\n",
		},
		{
			name: "lines kubectl -w printed separately are re-aligned",
			in:   "EVENT   NAME   AGE\nADDED   a   0s\nMODIFIED   a   1s\n",
			want: "EVENT      NAME   AGE\nADDED      a      <age>\nMODIFIED   a      <age>\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, normaliseTable(tt.in)); diff != "" {
				t.Errorf("normaliseTable() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
