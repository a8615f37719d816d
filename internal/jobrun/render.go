package jobrun

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// counts is "2/5 succeeded, 2 active, 0 failed" (no "/5" without
// spec.completions).
func (p progress) counts(sep string) string {
	succeeded := strconv.Itoa(int(p.succeeded))
	if p.completions != nil {
		succeeded += "/" + strconv.Itoa(int(*p.completions))
	}
	return succeeded + " succeeded" + sep + strconv.Itoa(int(p.active)) + " active" + sep + strconv.Itoa(int(p.failed)) + " failed"
}

// plainLine is the line printed for a Job when output is not a terminal,
// each time it changes. It has no times in it, so that it changes only
// when the Job does: "job/pi: 2/5 succeeded, 2 active, 0 failed".
func plainLine(p progress) string {
	var b strings.Builder
	b.WriteString(p.display + ": " + p.counts(", "))
	if p.indexes != "" {
		b.WriteString(", indexes " + p.indexes)
	}
	if p.retries > 0 {
		b.WriteString(", " + plural(p.retries, "retry", "retries"))
	}
	switch p.state {
	case stateBackoff:
		b.WriteString(", backoff " + p.backoff.String())
	case stateSuspended:
		b.WriteString(", suspended")
	case stateCompleting:
		b.WriteString(", completing")
	case stateFailing:
		b.WriteString(", failing: " + p.reason)
	}
	return b.String()
}

// liveLine is a Job's line in the terminal progress view at now:
//
//	job/pi  Running  2/5 succeeded  2 active (2 ready)  0 failed  [++>>.]  1 retry  1.2s
func liveLine(p progress, now time.Time, nameWidth int) string {
	parts := []string{p.counts("  ")}
	if p.active > 0 {
		parts[0] = strings.Replace(parts[0], " active", fmt.Sprintf(" active (%d ready)", p.ready), 1)
	}
	if p.indexes != "" {
		parts = append(parts, "["+p.indexes+"]")
	}
	if p.retries > 0 {
		parts = append(parts, plural(p.retries, "retry", "retries"))
	}
	switch p.state {
	case stateBackoff:
		if left := p.retryAt.Sub(now); left > 0 {
			parts = append(parts, "retry in "+(left+time.Second-1).Truncate(time.Second).String())
		} else {
			parts = append(parts, "retry due")
		}
	case stateFailing, stateFailed:
		parts = append(parts, p.reason)
	}
	parts = append(parts, formatDuration(p.elapsed(now)))
	return fmt.Sprintf("%-*s  %-11s  %s", nameWidth, p.display, p.state, strings.Join(parts, "  "))
}

// elapsed is how long the Job has run, until it finished or now.
func (p progress) elapsed(now time.Time) time.Duration {
	if p.start.IsZero() {
		return 0
	}
	if !p.end.IsZero() {
		return p.end.Sub(p.start)
	}
	return now.Sub(p.start)
}

// formatDuration is a short human duration: 0.42s, 12.3s, 2m5s.
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	default:
		return d.Round(time.Second).String()
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
