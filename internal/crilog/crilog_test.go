package crilog_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchd/batchd/internal/crilog"
)

var t0 = time.Date(2026, 11, 22, 10, 30, 47, 407474199, time.UTC)

func TestAppendAndParse(t *testing.T) {
	tests := []struct {
		name string
		e    crilog.Entry
		want string
	}{
		{"full stdout line", crilog.Entry{Time: t0, Stream: crilog.Stdout, Content: []byte("hello")}, "2026-11-22T10:30:47.407474199Z stdout F hello\n"},
		{"partial stderr line", crilog.Entry{Time: t0, Stream: crilog.Stderr, Partial: true, Content: []byte("no-newline")}, "2026-11-22T10:30:47.407474199Z stderr P no-newline\n"},
		{"empty line", crilog.Entry{Time: t0, Stream: crilog.Stdout}, "2026-11-22T10:30:47.407474199Z stdout F \n"},
		{"content with spaces", crilog.Entry{Time: t0, Stream: crilog.Stdout, Content: []byte("a b  c")}, "2026-11-22T10:30:47.407474199Z stdout F a b  c\n"},
		{"local time is written in UTC", crilog.Entry{Time: t0.In(time.FixedZone("x", 3600)), Stream: crilog.Stdout, Content: []byte("x")}, "2026-11-22T10:30:47.407474199Z stdout F x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.e.Append(nil))
			if got != tt.want {
				t.Fatalf("Append() = %q, want %q", got, tt.want)
			}
			back, err := crilog.Parse([]byte(got))
			if err != nil {
				t.Fatalf("Parse(%q): %v", got, err)
			}
			want := tt.e
			want.Time = want.Time.UTC()
			if diff := cmp.Diff(normal(want), normal(back)); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func normal(e crilog.Entry) crilog.Entry {
	if len(e.Content) == 0 {
		e.Content = nil
	}
	return e
}

func TestParseRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"garbage",
		"2026-11-22T10:30:47Z stdout",
		"2026-11-22T10:30:47Z stdin F x",
		"2026-11-22T10:30:47Z stdout X x",
		"yesterday stdout F x",
	} {
		if _, err := crilog.Parse([]byte(line)); !errors.Is(err, crilog.ErrMalformed) {
			t.Errorf("Parse(%q) error = %v, want ErrMalformed", line, err)
		}
	}
}

func TestParseExtraTags(t *testing.T) {
	got, err := crilog.Parse([]byte("2026-11-22T10:30:47Z stdout P:x:y content"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Partial || string(got.Content) != "content" {
		t.Errorf("Parse = %+v, want a partial record with content %q", got, "content")
	}
}

type record struct {
	Stream  crilog.Stream
	Partial bool
	Content string
}

func records(t *testing.T, b []byte) []record {
	t.Helper()
	var out []record
	r := crilog.NewReader(bytes.NewReader(b))
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !e.Time.Equal(t0) {
			t.Errorf("record time = %v, want %v", e.Time, t0)
		}
		out = append(out, record{e.Stream, e.Partial, string(e.Content)})
	}
}

func TestWriter(t *testing.T) {
	now := func() time.Time { return t0 }
	tests := []struct {
		name   string
		max    int
		writes []string
		want   []record
	}{
		{"lines in one write", 0, []string{"a\nb\n"}, []record{{crilog.Stdout, false, "a"}, {crilog.Stdout, false, "b"}}},
		{"line split across writes", 0, []string{"he", "llo\nwor", "ld\n"}, []record{{crilog.Stdout, false, "hello"}, {crilog.Stdout, false, "world"}}},
		{"empty lines kept", 0, []string{"\n\n"}, []record{{crilog.Stdout, false, ""}, {crilog.Stdout, false, ""}}},
		{"trailing text without newline is partial at close", 0, []string{"full\nno-newline"}, []record{{crilog.Stdout, false, "full"}, {crilog.Stdout, true, "no-newline"}}},
		{"long line split at max size", 4, []string{"0123456789\n"}, []record{{crilog.Stdout, true, "0123"}, {crilog.Stdout, true, "4567"}, {crilog.Stdout, false, "89"}}},
		{"long line across writes without newline", 4, []string{"012", "345", "67", "8\n"}, []record{{crilog.Stdout, true, "0123"}, {crilog.Stdout, true, "4567"}, {crilog.Stdout, false, "8"}}},
		{"line of exactly max size is full", 4, []string{"0123\n"}, []record{{crilog.Stdout, false, "0123"}}},
		{"long unterminated line is cut as it grows", 4, []string{"0123456789"}, []record{{crilog.Stdout, true, "0123"}, {crilog.Stdout, true, "4567"}, {crilog.Stdout, true, "89"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := crilog.NewWriter(&buf, crilog.WriterOptions{MaxLineSize: tt.max, Now: now})
			sw := w.Stream(crilog.Stdout)
			for _, s := range tt.writes {
				if n, err := sw.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			if err := sw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := sw.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if diff := cmp.Diff(tt.want, records(t, buf.Bytes())); diff != "" {
				t.Errorf("records mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriterStreams(t *testing.T) {
	var buf bytes.Buffer
	w := crilog.NewWriter(&buf, crilog.WriterOptions{Now: func() time.Time { return t0 }})
	out, errs := w.Stream(crilog.Stdout), w.Stream(crilog.Stderr)
	out.Write([]byte("one\ntw"))
	errs.Write([]byte("oops\n"))
	out.Write([]byte("o\n"))
	want := []record{{crilog.Stdout, false, "one"}, {crilog.Stderr, false, "oops"}, {crilog.Stdout, false, "two"}}
	if diff := cmp.Diff(want, records(t, buf.Bytes())); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
}

func TestReaderTornRecord(t *testing.T) {
	full := string(crilog.Entry{Time: t0, Stream: crilog.Stdout, Content: []byte("hello")}.Append(nil))
	r := crilog.NewReader(&chunks{parts: []string{full[:10], full[10:]}})
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("first Next = %v, want io.EOF for a torn record", err)
	}
	e, err := r.Next()
	if err != nil {
		t.Fatalf("second Next: %v", err)
	}
	if string(e.Content) != "hello" {
		t.Errorf("Content = %q, want hello", e.Content)
	}
}

// chunks returns one part per Read and io.EOF between parts, like a file
// that grows between reads.
type chunks struct {
	parts []string
	eof   bool
}

func (c *chunks) Read(p []byte) (int, error) {
	if c.eof || len(c.parts) == 0 {
		c.eof = false
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	if c.parts[0] == "" {
		c.parts = c.parts[1:]
		c.eof = true
	}
	return n, nil
}

func TestFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := crilog.NewWriter(f, crilog.WriterOptions{Now: func() time.Time { return t0 }})
	out := w.Stream(crilog.Stdout)
	out.Write([]byte("before\n"))

	done := make(chan struct{})
	got := make(chan string, 10)
	errc := make(chan error, 1)
	go func() {
		errc <- crilog.Follow(t.Context(), path, crilog.FollowOptions{Done: done, Poll: 5 * time.Millisecond}, func(e crilog.Entry) error {
			got <- string(e.Content)
			return nil
		})
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("followed %q, want %q", s, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %q", want)
		}
	}
	expect("before")
	out.Write([]byte("after\n"))
	expect("after")

	// Rotate: rename, then a new file at the same path.
	out.Write([]byte("last in old\n"))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	f2, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	out2 := crilog.NewWriter(f2, crilog.WriterOptions{Now: func() time.Time { return t0 }}).Stream(crilog.Stdout)
	out2.Write([]byte("first in new\n"))
	expect("last in old")
	expect("first in new")

	out2.Write([]byte("written before done\n"))
	close(done)
	if err := <-errc; err != nil {
		t.Fatalf("Follow: %v", err)
	}
	expect("written before done")
	if n := len(got); n != 0 {
		t.Errorf("%d extra records", n)
	}
}

func TestFollowStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := crilog.Follow(ctx, filepath.Join(t.TempDir(), "missing.log"), crilog.FollowOptions{}, func(crilog.Entry) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Follow = %v, want context.Canceled", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("2026-11-22T10:30:47.407474199Z stdout F hello\n"))
	f.Add([]byte("2026-11-22T10:30:47Z stderr P:x partial"))
	f.Add([]byte("x y z"))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := crilog.Parse(line)
		if err != nil {
			return
		}
		// A parsed record re-encodes to something that parses to the same record.
		again, err := crilog.Parse(e.Append(nil))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", e.Append(nil), err)
		}
		if !again.Time.Equal(e.Time) || again.Stream != e.Stream || again.Partial != e.Partial || !bytes.Equal(again.Content, e.Content) {
			t.Fatalf("round trip: %+v != %+v", again, e)
		}
	})
}
