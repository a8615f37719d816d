package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream names the output stream a record came from.
type Stream string

// The two streams of a container.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// Tags, as in cri-api's runtime/v1 constants (LogTagPartial, LogTagFull,
// LogTagDelimiter).
const (
	tagPartial   = "P"
	tagFull      = "F"
	tagDelimiter = ":"
)

// TimeFormat is the timestamp layout of a record, as containerd writes it
// (time.RFC3339Nano, in UTC, trailing zeros of the fraction dropped).
const TimeFormat = time.RFC3339Nano

// ErrMalformed is wrapped by the error Parse returns for a line that is not
// a CRI log record.
var ErrMalformed = errors.New("malformed CRI log record")

// Entry is one record of a CRI log file.
type Entry struct {
	Time    time.Time
	Stream  Stream
	Partial bool   // P: the line continues in the next record of the stream
	Content []byte // without the trailing newline
}

// Append appends the encoded record, including its newline, to b and
// returns the extended slice. The time is written in UTC.
func (e Entry) Append(b []byte) []byte {
	b = e.Time.UTC().AppendFormat(b, TimeFormat)
	b = append(b, ' ')
	b = append(b, e.Stream...)
	if e.Partial {
		b = append(b, " "+tagPartial+" "...)
	} else {
		b = append(b, " "+tagFull+" "...)
	}
	b = append(b, e.Content...)
	return append(b, '\n')
}

// Parse decodes one record. line may end in "\n", which is dropped. The
// returned Content aliases line. Unknown tags after the first are ignored,
// as kubelet does.
func Parse(line []byte) (Entry, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return Entry{}, fmt.Errorf("%w: no timestamp delimiter", ErrMalformed)
	}
	t, err := time.Parse(TimeFormat, string(ts))
	if err != nil {
		return Entry{}, fmt.Errorf("%w: timestamp: %v", ErrMalformed, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return Entry{}, fmt.Errorf("%w: no stream delimiter", ErrMalformed)
	}
	s := Stream(stream)
	if s != Stdout && s != Stderr {
		return Entry{}, fmt.Errorf("%w: unknown stream %q", ErrMalformed, stream)
	}
	tags, content, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return Entry{}, fmt.Errorf("%w: no tag delimiter", ErrMalformed)
	}
	first, _, _ := bytes.Cut(tags, []byte(tagDelimiter))
	var partial bool
	switch string(first) {
	case tagPartial:
		partial = true
	case tagFull:
	default:
		return Entry{}, fmt.Errorf("%w: unknown tag %q", ErrMalformed, first)
	}
	return Entry{Time: t, Stream: s, Partial: partial, Content: content}, nil
}
