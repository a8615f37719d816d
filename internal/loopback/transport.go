package loopback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
)

// RemoteAddr is the RemoteAddr of every request a handler receives through a
// Transport. It is a valid "host:port" (net.SplitHostPort accepts it) for the
// IPv4 loopback address; port 0 marks it as not a real socket.
const RemoteAddr = "127.0.0.1:0"

// maxBuffered bounds the response bytes a handler can write ahead of the
// client's reads; a Write beyond it blocks until the client drains the
// buffer, closes the body, or the request is cancelled.
const maxBuffered = 1 << 20

// ErrClosed is the error of a RoundTrip on a closed Transport, and the cause
// of the cancellation Close delivers to requests in flight.
var ErrClosed = errors.New("loopback: transport closed")

var (
	// errHandlerDone is the cancellation cause of a request whose handler has
	// returned; it is the only cause that does not abort the response body.
	errHandlerDone = errors.New("loopback: handler returned")
	// errBodyClosed is the cancellation cause of a request whose client
	// closed the response body.
	errBodyClosed = errors.New("loopback: client closed the response body")
	// errReadClosedBody is what Read returns after Close. It wraps
	// net.ErrClosed, as a read on a closed connection would, so clients that
	// treat that as the end of a stream (client-go's watch) stay quiet.
	errReadClosedBody = fmt.Errorf("loopback: read on closed response body: %w", net.ErrClosed)
	// errReadAfterReturn is what a handler's goroutine gets from the request
	// body after ServeHTTP returned.
	errReadAfterReturn = errors.New("loopback: read of request body after handler returned")
	// errWriteAfterReturn is what a handler's goroutine gets from Write after
	// ServeHTTP returned.
	errWriteAfterReturn = errors.New("loopback: write after handler returned")
)

// PanicError is the error a client sees when the handler panicked: from
// RoundTrip if the handler had not yet committed its header, otherwise from
// the response body's Read once the bytes written before the panic are read.
// A panic with http.ErrAbortHandler is reported the same way (errors.Is
// finds it) but without a stack.
type PanicError struct {
	// Value is what the handler passed to panic.
	Value any
	// Stack is the handler goroutine's stack at the panic; nil for
	// http.ErrAbortHandler.
	Stack []byte
}

// Error reports the panic value; the stack is left out.
func (e *PanicError) Error() string {
	return fmt.Sprintf("handler panicked: %v", e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Transport serves requests by calling Handler in-process. It is an
// http.RoundTripper for in-process clients of the handler; the zero value is
// not usable, call NewTransport. A Transport owns the goroutine that runs the
// handler for each request and Close waits for them.
type Transport struct {
	handler http.Handler

	mu       sync.Mutex
	closed   bool
	inflight map[*exchange]struct{}
	idle     chan struct{} // closed once closed and inflight is empty
	idleDone bool          // idle is closed
}

// NewTransport returns a Transport that serves every request with h.
func NewTransport(h http.Handler) *Transport {
	return &Transport{
		handler:  h,
		inflight: make(map[*exchange]struct{}),
		idle:     make(chan struct{}),
	}
}

// RoundTrip serves req with the Transport's handler in a new goroutine and
// returns once the handler commits its response header, with a Body that
// streams the rest of the response. It returns an error if req's context is
// done or the Transport closed before that, or if the handler panicked
// without committing a header. req.Body is always closed, possibly after
// RoundTrip returns (when the handler returns).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeRequestBody(req)
		return nil, errors.New("loopback: request has no URL")
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	x := &exchange{ctx: ctx, cancel: cancel, readable: make(chan struct{}, 1)}

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		cancel(ErrClosed)
		closeRequestBody(req)
		return nil, fmt.Errorf("loopback: %s %s: %w", methodOf(req), req.URL.Redacted(), ErrClosed)
	}
	t.inflight[x] = struct{}{}
	t.mu.Unlock()

	sr := x.serverRequest(req)
	go t.serve(x, sr)

	x.mu.Lock()
	for {
		// A cancellation that came before the handler returned wins, even if
		// the handler committed a header meanwhile, as Body.Read would fail.
		if err := x.aborted(); err != nil {
			x.mu.Unlock()
			return nil, fmt.Errorf("loopback: %s %s: %w", methodOf(req), req.URL.Redacted(), err)
		}
		if x.committed || x.done {
			break
		}
		x.wait(x.readable)
	}
	if !x.committed {
		err := x.err
		x.mu.Unlock()
		return nil, fmt.Errorf("loopback: %s %s: %w", methodOf(req), req.URL.Redacted(), err)
	}
	resp := &http.Response{
		Status:        statusLine(x.status),
		StatusCode:    x.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        x.snapshot,
		Body:          (*responseBody)(x),
		ContentLength: x.respLength,
		Request:       req,
	}
	x.mu.Unlock()
	return resp, nil
}

// Close makes new RoundTrips fail with ErrClosed, cancels the context of
// every request in flight (with cause ErrClosed), and waits until their
// handler goroutines have returned or ctx is done, whichever comes first.
// Response bodies of cancelled requests return ErrClosed from Read.
func (t *Transport) Close(ctx context.Context) error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		for x := range t.inflight {
			x.cancel(ErrClosed)
		}
		t.markIdleLocked()
	}
	t.mu.Unlock()

	select {
	case <-t.idle:
		return nil
	case <-ctx.Done():
		t.mu.Lock()
		n := len(t.inflight)
		t.mu.Unlock()
		return fmt.Errorf("loopback: closing transport with %d handlers still running: %w", n, ctx.Err())
	}
}

// markIdleLocked closes t.idle once the Transport is closed and no handler
// runs. t.mu must be held.
func (t *Transport) markIdleLocked() {
	if t.closed && len(t.inflight) == 0 && !t.idleDone {
		t.idleDone = true
		close(t.idle)
	}
}

// serve runs the handler for x on the calling goroutine and, whatever the
// handler does, ends the response, cancels the request's context, closes the
// request body and forgets x.
func (t *Transport) serve(x *exchange, sr *http.Request) {
	defer func() {
		var err error
		if v := recover(); v != nil {
			pe := &PanicError{Value: v}
			if v != http.ErrAbortHandler {
				pe.Stack = debug.Stack()
			}
			err = pe
		}
		x.end(err)
		x.cancel(errHandlerDone)
		(*requestBody)(x).close()

		t.mu.Lock()
		delete(t.inflight, x)
		t.markIdleLocked()
		t.mu.Unlock()
	}()
	t.handler.ServeHTTP((*responseWriter)(x), sr)
}

// exchange is one request in flight: the handler's side (responseWriter,
// requestBody) and the client's side (responseBody) of a bounded in-memory
// pipe. Each direction has its own wake channel with exactly one receiver:
// the client waits on readable (for the header, then for data), the handler
// on writable (for space). A sender leaves at most one token and every
// waiter re-checks the state under mu, so no wake-up is lost and spurious
// ones are harmless. Cancellation wakes both through ctx.Done.
type exchange struct {
	// ctx is the handler request's context. Storing it is deliberate: it is
	// request-scoped, as in http.Request.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// readable (capacity 1) gets a token when the header is committed, when
	// data arrives in an empty buffer, and when the handler returns.
	readable chan struct{}

	// Owned by the handler goroutine.
	header  http.Header // what Header returns; snapshotted at commit
	url     url.URL     // the handler request's URL
	reqBody io.ReadCloser
	reqDone atomic.Bool // the request body was closed
	head    bool        // the request is a HEAD: the body is dropped

	mu         sync.Mutex
	committed  bool        // the header is sent
	status     int         // valid once committed
	snapshot   http.Header // the header at commit
	respLength int64       // Response.ContentLength
	limit      int64       // Content-Length the handler declared, or -1
	written    int64       // body bytes the handler wrote
	noBody     bool        // writes fail (204, 304)
	discard    bool        // writes succeed but are dropped (HEAD)
	buf        []byte      // buf[off:] is written but not yet read
	off        int
	done       bool  // the handler returned (or panicked)
	err        error // why the body ends early, after done
	bodyClosed bool  // the client closed the response body
	// writable (capacity 1, made by the handler the first time it waits)
	// gets a token when the client reads from a full buffer.
	writable chan struct{}
}

// wait blocks until a token arrives on ch or the context ends. x.mu must be
// held; it is released while waiting.
func (x *exchange) wait(ch chan struct{}) {
	x.mu.Unlock()
	select {
	case <-ch:
	case <-x.ctx.Done():
	}
	x.mu.Lock()
}

// signal leaves a token on ch unless one is already there.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// aborted reports why the response can no longer be delivered: the client
// cancelled, closed the body, or the Transport closed. A request whose
// handler returned first is not aborted.
func (x *exchange) aborted() error {
	if x.ctx.Err() == nil {
		return nil
	}
	if cause := context.Cause(x.ctx); cause != errHandlerDone {
		return cause
	}
	return nil
}

// serverRequest builds the request the handler sees from the client's req.
func (x *exchange) serverRequest(req *http.Request) *http.Request {
	if req.URL.Opaque != "" {
		if u, err := url.ParseRequestURI(req.URL.RequestURI()); err == nil {
			x.url = *u
		}
	} else {
		x.url = url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery, ForceQuery: req.URL.ForceQuery}
	}
	header := req.Header.Clone()
	if header == nil {
		header = make(http.Header)
	}
	delete(header, "Host")
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	length := req.ContentLength
	var body io.ReadCloser = http.NoBody
	if req.Body != nil && req.Body != http.NoBody {
		x.reqBody = req.Body
		body = (*requestBody)(x)
		if length == 0 {
			length = -1 // a client's 0 with a body means unknown, as on the wire
		}
	} else {
		length = 0
	}
	method := methodOf(req)
	x.head = method == http.MethodHead
	sr := &http.Request{
		Method:        method,
		URL:           &x.url,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          body,
		ContentLength: length,
		Close:         req.Close,
		Host:          host,
		RemoteAddr:    RemoteAddr,
		RequestURI:    req.URL.RequestURI(),
	}
	return sr.WithContext(x.ctx)
}

// commitLocked sends the header with code. x.mu must be held.
func (x *exchange) commitLocked(code int) {
	x.committed = true
	x.status = code
	x.snapshot = x.header.Clone()
	if x.snapshot == nil {
		x.snapshot = make(http.Header)
	}
	delete(x.snapshot, "Transfer-Encoding") // framing is the transport's business
	x.limit = -1
	if v := x.snapshot.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			x.limit = n
		}
	}
	x.respLength = x.limit
	switch {
	case code == http.StatusNoContent || code == http.StatusNotModified:
		x.noBody = true
		x.respLength = 0
	case x.head:
		x.discard = true
	}
}

// end records that the handler returned, normally (err nil) or by panicking.
func (x *exchange) end(err error) {
	x.mu.Lock()
	if err == nil && !x.committed {
		x.commitLocked(http.StatusOK)
		if x.limit < 0 && !x.discard {
			x.respLength = 0 // net/http would send Content-Length: 0
		}
	}
	if err == nil && x.limit >= 0 && x.written < x.limit && !x.noBody && !x.discard {
		err = fmt.Errorf("handler wrote %d of %d bytes promised by Content-Length: %w", x.written, x.limit, io.ErrUnexpectedEOF)
	}
	if err != nil && x.committed {
		err = fmt.Errorf("loopback: reading response body: %w", err)
	}
	x.done = true
	x.err = err
	x.mu.Unlock()
	signal(x.readable)
}

// responseWriter is the handler's http.ResponseWriter. It implements
// http.Flusher but not http.Hijacker.
type responseWriter exchange

// Header returns the response header map; changes after the header is
// committed are not sent, as with net/http.
func (w *responseWriter) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

// WriteHeader commits the header with code. Only the first call (or the
// first Write or Flush) counts; 1xx codes are ignored. Like net/http it
// panics on codes outside 100-999.
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 {
		return
	}
	x := (*exchange)(w)
	x.mu.Lock()
	if x.committed || x.done {
		x.mu.Unlock()
		return
	}
	x.commitLocked(code)
	x.mu.Unlock()
	signal(x.readable)
}

// Write appends p to the response body, committing a 200 header first if
// needed. It blocks while the client has maxBuffered bytes unread, and fails
// once the client closed the body or the request's context is done.
func (w *responseWriter) Write(p []byte) (int, error) {
	x := (*exchange)(w)
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done {
		return 0, errWriteAfterReturn
	}
	if !x.committed {
		x.commitLocked(http.StatusOK)
		signal(x.readable)
	}
	if x.noBody {
		return 0, http.ErrBodyNotAllowed
	}
	if x.discard {
		return len(p), nil
	}
	if x.limit >= 0 && x.written+int64(len(p)) > x.limit {
		return 0, http.ErrContentLength
	}
	n := 0
	for n < len(p) {
		if x.bodyClosed {
			return n, errBodyClosed
		}
		if err := x.aborted(); err != nil {
			return n, fmt.Errorf("loopback: writing response: %w", err)
		}
		pending := len(x.buf) - x.off
		space := maxBuffered - pending
		if space <= 0 {
			if x.writable == nil {
				x.writable = make(chan struct{}, 1)
			}
			x.wait(x.writable)
			continue
		}
		chunk := p[n:]
		if len(chunk) > space {
			chunk = chunk[:space]
		}
		if x.off > 0 && cap(x.buf)-len(x.buf) < len(chunk) {
			x.buf = x.buf[:copy(x.buf, x.buf[x.off:])]
			x.off = 0
		}
		x.buf = append(x.buf, chunk...)
		n += len(chunk)
		x.written += int64(len(chunk))
		if pending == 0 {
			signal(x.readable) // the client may be waiting for data
		}
	}
	return n, nil
}

// Flush commits the header if needed. Written bytes are readable by the
// client as soon as Write returns, so there is nothing else to flush.
func (w *responseWriter) Flush() {
	x := (*exchange)(w)
	x.mu.Lock()
	if x.committed || x.done {
		x.mu.Unlock()
		return
	}
	x.commitLocked(http.StatusOK)
	x.mu.Unlock()
	signal(x.readable)
}

// EnableFullDuplex reports success for http.ResponseController: the handler
// may read the request body while writing the response.
func (w *responseWriter) EnableFullDuplex() error { return nil }

// responseBody is the client's Response.Body.
type responseBody exchange

// Read returns bytes the handler wrote, blocking until there are some. It
// returns io.EOF once the handler returned and everything was read, the
// handler's failure (*PanicError, a short Content-Length) instead of io.EOF,
// and the cancellation cause (context.Canceled, ErrClosed, ...) as soon as
// the request is cancelled before the handler returned.
func (b *responseBody) Read(p []byte) (int, error) {
	x := (*exchange)(b)
	x.mu.Lock()
	defer x.mu.Unlock()
	for {
		err := x.aborted()
		if x.bodyClosed || err == errBodyClosed { // Close cancels before it sets bodyClosed
			return 0, errReadClosedBody
		}
		if err != nil {
			return 0, fmt.Errorf("loopback: reading response body: %w", err)
		}
		pending := len(x.buf) - x.off
		if pending > 0 {
			n := copy(p, x.buf[x.off:])
			x.off += n
			if x.off == len(x.buf) {
				x.buf, x.off = x.buf[:0], 0
			}
			if pending >= maxBuffered && x.writable != nil {
				signal(x.writable) // the handler may be waiting for space
			}
			return n, nil
		}
		if x.done {
			if x.err != nil {
				return 0, x.err
			}
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		x.wait(x.readable)
	}
}

// Close discards unread bytes, cancels the request's context (unless the
// handler already returned) and makes the handler's further Writes fail.
// Later Reads fail with an error wrapping net.ErrClosed.
func (b *responseBody) Close() error {
	x := (*exchange)(b)
	x.cancel(errBodyClosed) // first, so a Write that fails sees a done context
	x.mu.Lock()
	x.bodyClosed = true
	x.buf, x.off = nil, 0
	x.mu.Unlock()
	return nil
}

// requestBody is the handler request's Body: the client's body, closed at
// most once, and unreadable after the handler returned.
type requestBody exchange

// Read reads the client's request body.
func (b *requestBody) Read(p []byte) (int, error) {
	if b.reqDone.Load() {
		return 0, errReadAfterReturn
	}
	return b.reqBody.Read(p)
}

// Close closes the client's request body; later Reads fail.
func (b *requestBody) Close() error {
	return b.close()
}

func (b *requestBody) close() error {
	if b.reqBody == nil || b.reqDone.Swap(true) {
		return nil
	}
	return b.reqBody.Close()
}

// closeRequestBody closes req.Body, as RoundTrip must when it fails before
// handing the body to a handler.
func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// methodOf returns req's method, with "" meaning GET as for clients.
func methodOf(req *http.Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

// statusLine is the Response.Status net/http's client would report for code.
func statusLine(code int) string {
	switch code { // the common ones without allocating
	case http.StatusOK:
		return "200 OK"
	case http.StatusCreated:
		return "201 Created"
	}
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	return strconv.Itoa(code) + " " + text
}
