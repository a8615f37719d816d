package jobrun

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// jobResult is one Job's outcome: its last progress and, for a Job that
// did not complete, the end of its last failed pod's log.
type jobResult struct {
	progress
	tail    *podTail
	stopped string // why a Job that has not finished was left: "interrupted", "timed out"
}

// podTail is the end of one failed container's log.
type podTail struct {
	pod, container string
	exitCode       int32
	reason         string   // the container's termination reason, or the pod's
	lines          []string // the last lines, oldest first
	unavailable    string   // why there are no lines, if the log could not be read
}

// summaryLines renders a Job's result at the end of a run:
//
//	job/pi: Complete in 1.23s (5 pods succeeded, 0 failed, 0 retries)
//	job/fail: Failed in 10.4s (0 pods succeeded, 2 failed, 1 retry): BackoffLimitExceeded: Job has reached the specified backoff limit
//	  last 2 lines of [fail-x7k2p/main] (exit code 1):
//	    attempt failed
//	    ...
func summaryLines(r jobResult, now time.Time) []string {
	pods := fmt.Sprintf("(%s succeeded, %d failed, %s)", plural(int(r.succeeded), "pod", "pods"), r.failed, plural(r.retries, "retry", "retries"))
	var line string
	switch r.state {
	case stateComplete:
		line = fmt.Sprintf("%s: Complete in %s %s", r.display, formatDuration(r.elapsed(now)), pods)
	case stateFailed:
		line = fmt.Sprintf("%s: Failed in %s %s: %s", r.display, formatDuration(r.elapsed(now)), pods, reasonMessage(r.reason, r.message))
	default:
		why := r.stopped
		if why == "" {
			why = "not finished"
		}
		line = fmt.Sprintf("%s: %s, %s after %s %s", r.display, r.state, why, formatDuration(r.elapsed(now)), pods)
	}
	out := []string{line}
	if t := r.tail; t != nil {
		out = append(out, t.render()...)
	}
	return out
}

func reasonMessage(reason, message string) string {
	switch {
	case reason == "":
		return message
	case message == "":
		return reason
	}
	return reason + ": " + message
}

func (t *podTail) render() []string {
	how := fmt.Sprintf("exit code %d", t.exitCode)
	if t.reason != "" && t.reason != "Error" {
		how += ", " + t.reason
	}
	name := "[" + t.pod + "/" + t.container + "]"
	switch {
	case t.unavailable != "":
		return []string{fmt.Sprintf("  %s (%s): log unavailable: %s", name, how, t.unavailable)}
	case len(t.lines) == 0:
		return []string{fmt.Sprintf("  %s (%s) logged nothing", name, how)}
	}
	out := []string{fmt.Sprintf("  last %s of %s (%s):", plural(len(t.lines), "line", "lines"), name, how)}
	for _, l := range t.lines {
		out = append(out, "    "+l)
	}
	return out
}

// writeSummary prints every Job's result.
func writeSummary(w io.Writer, results []jobResult, now time.Time) error {
	var b strings.Builder
	for _, r := range results {
		for _, l := range summaryLines(r, now) {
			b.WriteString(l + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
