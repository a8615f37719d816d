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
// golden file. With -update it rewrites the file instead: the owner's output
// goes to the shared file, another version's to its own file only if it
// differs from the shared one.
func (k *kubectl) golden(t *testing.T, name, got string) {
	t.Helper()
	got = normaliseTable(got)
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
	// columns with at least three spaces, and headers such as "LAST SEEN"
	// hold single ones.
	cellSeparator = regexp.MustCompile(` {2,}`)
	// ageCell matches a duration as kubectl prints ages ("0s", "5m10s",
	// "3d", "<invalid>" for a timestamp in the future).
	ageCell = regexp.MustCompile(`^(?:[0-9]+[smhdy])+$|^<invalid>$`)
)

// normaliseTable makes kubectl table output stable across runs: every cell
// that is an age becomes <age>, and columns are re-aligned, since an age's
// width changes the padding. Tables with empty cells (api-resources) do not
// survive it; compare those column by column with parseTable.
func normaliseTable(s string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 3, ' ', 0)
	for line := range strings.Lines(s) {
		cells := cellSeparator.Split(strings.TrimRight(line, " \r\n"), -1)
		for i, c := range cells {
			if ageCell.MatchString(c) {
				cells[i] = "<age>"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
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
