package jobrun

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// view owns the output stream: log lines, messages and Job progress all
// go through it, so that lines never interleave mid-way.
//
// On a terminal (live) it keeps a block of one line per Job at the
// bottom, redrawn in place; everything else is printed above it. Otherwise
// (plain) it prints a Job's line each time it changes, without times, so
// that CI logs read as a history.
type view struct {
	mu    sync.Mutex
	w     io.Writer
	live  bool
	width func() int // terminal columns; 0: unknown
	now   func() time.Time
	jobs  []progress
	plain map[string]*plainState // plain: per Job
	drawn int                    // live: lines of the block on screen
	block string                 // live: the block on screen, if drawn
	err   error                  // the first write error; later writes are skipped
}

// plainState is what plain output printed for a Job and holds back.
type plainState struct {
	printed   string    // the last line printed
	at        time.Time // when it was printed
	pending   string    // a newer line, held back until plainEvery has passed
	hasUpdate bool
}

// plainEvery is the least time between two plain lines of one Job: a Job
// with a thousand pods changes a thousand times, and a CI log needs the
// trend, not every step. The latest line is always printed in the end.
const plainEvery = 500 * time.Millisecond

func newView(w io.Writer, live bool, width func() int, now func() time.Time) *view {
	if width == nil {
		width = func() int { return 0 }
	}
	return &view{w: w, live: live, width: width, now: now, plain: map[string]*plainState{}}
}

// ANSI sequences for the live block.
const (
	cursorUp   = "\x1b[%dA" // with the count
	clearBelow = "\x1b[J"
)

// line prints one line (a log line or a message) above the live block.
func (v *view) line(s string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	v.eraseLocked(&b)
	b.WriteString(s)
	b.WriteByte('\n')
	v.drawLocked(&b)
	v.writeLocked(b.String())
}

// update replaces the Jobs' progress.
func (v *view) update(jobs []progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.jobs = jobs
	var b strings.Builder
	if v.live {
		v.eraseLocked(&b)
		v.drawLocked(&b)
	} else {
		for _, p := range jobs {
			if !p.seen {
				continue
			}
			st := v.plain[p.display]
			if st == nil {
				st = &plainState{}
				v.plain[p.display] = st
			}
			if l := plainLine(p); l != st.printed {
				st.pending, st.hasUpdate = l, true
			} else {
				st.hasUpdate = false // changed back: nothing to say
			}
		}
		v.flushLocked(&b, false)
	}
	v.writeLocked(b.String())
}

// flushLocked prints the plain lines held back long enough, or all.
func (v *view) flushLocked(b *strings.Builder, all bool) {
	now := v.now()
	for _, p := range v.jobs { // in the Jobs' order
		st := v.plain[p.display]
		if st == nil || !st.hasUpdate || (!all && now.Sub(st.at) < plainEvery) {
			continue
		}
		b.WriteString(st.pending + "\n")
		st.printed, st.at, st.pending, st.hasUpdate = st.pending, now, "", false
	}
}

// tick redraws the live block, for the times in it, or prints the plain
// lines held back long enough.
func (v *view) tick() {
	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	if v.live {
		if v.drawn > 0 && v.renderLocked() == v.block {
			return // nothing moved: spare the terminal
		}
		v.eraseLocked(&b)
		v.drawLocked(&b)
	} else {
		v.flushLocked(&b, false)
	}
	v.writeLocked(b.String())
}

// close erases the live block or prints the plain lines held back, and
// lets the caller write directly again.
func (v *view) close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	if v.live {
		v.eraseLocked(&b)
	} else {
		v.flushLocked(&b, true)
	}
	v.writeLocked(b.String())
	v.live = false
	v.jobs = nil
	return v.err
}

func (v *view) eraseLocked(b *strings.Builder) {
	if !v.live || v.drawn == 0 {
		return
	}
	b.WriteString("\r")
	fmt.Fprintf(b, cursorUp, v.drawn)
	b.WriteString(clearBelow)
	v.drawn = 0
}

func (v *view) drawLocked(b *strings.Builder) {
	if !v.live || len(v.jobs) == 0 {
		return
	}
	v.block = v.renderLocked()
	b.WriteString(v.block)
	v.drawn = len(v.jobs)
}

// renderLocked is the live block: a line per Job, names aligned.
func (v *view) renderLocked() string {
	width := 0
	for _, p := range v.jobs {
		width = max(width, len(p.display))
	}
	now, cols := v.now(), v.width()
	var b strings.Builder
	for _, p := range v.jobs {
		b.WriteString(truncate(liveLine(p, now, width), cols))
		b.WriteByte('\n')
	}
	return b.String()
}

func (v *view) writeLocked(s string) {
	if s == "" || v.err != nil {
		return
	}
	_, v.err = io.WriteString(v.w, s)
}

// truncate cuts s to fit in cols-1 columns (so the terminal never wraps
// it, which would break the cursor arithmetic); cols 0 means no limit.
func truncate(s string, cols int) string {
	if cols <= 1 || utf8.RuneCountInString(s) < cols {
		return s
	}
	r := []rune(s)
	return string(r[:cols-1])
}
