// Package crilog reads and writes the CRI container log format, the on-disk
// format kubelet, containerd and CRI-O share and that `kubectl logs` is
// served from. One record per line:
//
//	<RFC3339Nano timestamp> <stdout|stderr> <tags> <content>\n
//	2026-11-22T10:30:47.407474199Z stdout F hello
//
// The first tag is P (partial) or F (full). A line longer than the writer's
// maximum line size is split into P records ending with one F record, and
// a final chunk that never got a newline is written as P. Content excludes
// the newline: a reader reassembles a line by concatenating contents up to
// and including the next F record.
//
// The package owns encoding ([Entry.Append]), decoding ([Parse], [Reader]),
// a writer that turns two output streams into records ([Writer]), and
// following a growing, possibly rotated, file ([Follow]). It does not own
// where log files live, rotation policy, or the pods/log API options
// (tailLines, sinceTime, limitBytes): those belong to the runtime and the
// agent that use it.
package crilog
