package crilog

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// DefaultMaxLineSize is the content size at which a line is split into
// partial records, containerd's default max_container_log_line_size.
const DefaultMaxLineSize = 16 << 10

// WriterOptions tunes a Writer. The zero value is ready to use.
type WriterOptions struct {
	MaxLineSize int              // 0: DefaultMaxLineSize
	Now         func() time.Time // nil: time.Now
}

// Writer encodes the output of a container's streams into one CRI log. Each
// stream gets its own line splitter ([Writer.Stream]); records are written
// to the destination under a mutex, one Write call per stream Write, so a
// file opened with O_APPEND never interleaves two records. Records of one
// stream keep their order; the order between stdout and stderr is the
// order in which their writes arrive, as with any runtime that reads two
// pipes.
type Writer struct {
	mu  sync.Mutex
	dst io.Writer
	max int
	now func() time.Time
}

// NewWriter returns a Writer that writes records to dst.
func NewWriter(dst io.Writer, opts WriterOptions) *Writer {
	if opts.MaxLineSize <= 0 {
		opts.MaxLineSize = DefaultMaxLineSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Writer{dst: dst, max: opts.MaxLineSize, now: opts.Now}
}

// Stream returns the writer for one stream. Use one per stream and close
// it when the stream ends: Close writes a final line that has no newline
// as a partial record. A StreamWriter is not safe for concurrent use; two
// StreamWriters of one Writer are.
func (w *Writer) Stream(s Stream) *StreamWriter {
	return &StreamWriter{w: w, stream: s}
}

func (w *Writer) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.dst.Write(b)
	return err
}

// StreamWriter splits one stream into records. It buffers a line until its
// newline arrives or it reaches the maximum line size.
type StreamWriter struct {
	w       *Writer
	stream  Stream
	pending []byte // start of a line without its newline yet
	out     []byte // scratch for encoded records
}

// Write records every complete line in p (and in what earlier writes left
// pending) with one timestamp. It returns len(p) unless the destination
// fails.
func (sw *StreamWriter) Write(p []byte) (int, error) {
	n := len(p)
	now := sw.w.now()
	out := sw.out[:0]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			sw.pending = append(sw.pending, p...)
			p = nil
		} else {
			line := p[:i]
			p = p[i+1:]
			if len(sw.pending) > 0 {
				sw.pending = append(sw.pending, line...)
				line = sw.pending
			}
			for len(line) > sw.w.max {
				out = Entry{Time: now, Stream: sw.stream, Partial: true, Content: line[:sw.w.max]}.Append(out)
				line = line[sw.w.max:]
			}
			out = Entry{Time: now, Stream: sw.stream, Content: line}.Append(out)
			sw.pending = sw.pending[:0]
		}
		// A long line without a newline is cut into partial records as it
		// grows, so the buffer stays bounded.
		for len(sw.pending) > sw.w.max {
			out = Entry{Time: now, Stream: sw.stream, Partial: true, Content: sw.pending[:sw.w.max]}.Append(out)
			sw.pending = append(sw.pending[:0], sw.pending[sw.w.max:]...)
		}
	}
	sw.out = out
	if len(out) == 0 {
		return n, nil
	}
	if err := sw.w.write(out); err != nil {
		return 0, err
	}
	return n, nil
}

// Close records a pending line that never got its newline as a partial
// record (as containerd does) and releases the buffers. It is safe to call
// twice.
func (sw *StreamWriter) Close() error {
	if len(sw.pending) == 0 {
		sw.pending, sw.out = nil, nil
		return nil
	}
	out := Entry{Time: sw.w.now(), Stream: sw.stream, Partial: true, Content: sw.pending}.Append(sw.out[:0])
	sw.pending, sw.out = nil, nil
	return sw.w.write(out)
}
