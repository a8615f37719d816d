package crilog

import (
	"bufio"
	"errors"
	"io"
)

// Reader decodes records from a CRI log. It can keep reading a file that
// is still being written: at the end of the data Next returns io.EOF and
// keeps a record torn by the end of the data, so a later Next, after more
// data arrived, completes it.
type Reader struct {
	br   *bufio.Reader
	torn []byte
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next record. Its Content is valid until the next call.
// At the end of the data it returns io.EOF. A line that is not a record
// gives an error wrapping ErrMalformed; the line is consumed, so the
// caller may skip it and call Next again. Other errors come from the
// underlying reader.
func (r *Reader) Next() (Entry, error) {
	line, err := r.br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		r.torn = append(r.torn, line...)
		line, err = r.br.ReadSlice('\n')
	}
	if err != nil {
		r.torn = append(r.torn, line...)
		return Entry{}, err
	}
	if len(r.torn) > 0 {
		line = append(r.torn, line...)
		r.torn = r.torn[:0]
	}
	return Parse(line)
}
