package loopback

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// deadline bounds every wait in these tests; nothing waits for it to pass.
const deadline = 5 * time.Second

// newTransport returns a Transport for h that is closed, and its handlers
// waited for, when the test ends.
func newTransport(t testing.TB, h http.Handler) *Transport {
	t.Helper()
	tr := NewTransport(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		if err := tr.Close(ctx); err != nil {
			t.Errorf("Close() at cleanup: %v", err)
		}
	})
	return tr
}

// recv waits for a value from ch, failing the test after deadline.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(deadline):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// newRequest builds a client request or fails the test.
func newRequest(t *testing.T, ctx context.Context, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatalf("NewRequest(%s %s): %v", method, url, err)
	}
	return req
}

// trackedBody is a request body that counts its Close calls.
type trackedBody struct {
	io.Reader
	closes atomic.Int32
	closed chan struct{} // closed by the first Close
}

func newTrackedBody(s string) *trackedBody {
	return &trackedBody{Reader: strings.NewReader(s), closed: make(chan struct{})}
}

func (b *trackedBody) Close() error {
	if b.closes.Add(1) == 1 {
		close(b.closed)
	}
	return nil
}

func TestRoundTripEcho(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Write(b)
	})
	tests := []struct {
		name       string
		method     string
		body       io.Reader
		wantBody   string
		wantLength string // the ContentLength the handler saw
	}{
		{name: "GET without body", method: http.MethodGet, wantLength: "0"},
		{name: "POST with known length", method: http.MethodPost, body: strings.NewReader("hello"), wantBody: "hello", wantLength: "5"},
		{name: "PUT with unknown length", method: http.MethodPut, body: io.MultiReader(strings.NewReader("ab"), strings.NewReader("c")), wantBody: "abc", wantLength: "-1"},
	}
	tr := newTransport(t, echo)
	client := &http.Client{Transport: tr}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Do(newRequest(t, t.Context(), tt.method, "https://loopback.invalid/echo", tt.body))
			if err != nil {
				t.Fatalf("Do() error: %v", err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("reading body: %v", err)
			}
			if resp.StatusCode != http.StatusOK || resp.Status != "200 OK" {
				t.Errorf("status = %d %q, want 200 \"200 OK\"", resp.StatusCode, resp.Status)
			}
			if string(got) != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			if m := resp.Header.Get("X-Method"); m != tt.method {
				t.Errorf("handler saw method %q, want %q", m, tt.method)
			}
			if l := resp.Header.Get("X-Content-Length"); l != tt.wantLength {
				t.Errorf("handler saw ContentLength %s, want %s", l, tt.wantLength)
			}
			if resp.Proto != "HTTP/1.1" || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
				t.Errorf("response proto = %s %d.%d, want HTTP/1.1 1.1", resp.Proto, resp.ProtoMajor, resp.ProtoMinor)
			}
			if resp.ContentLength != -1 {
				t.Errorf("ContentLength = %d, want -1 (no Content-Length header)", resp.ContentLength)
			}
		})
	}
}

// serverView is what a handler saw of its request.
type serverView struct {
	Method, URL, RequestURI, Host, Proto string
	ProtoMajor, ProtoMinor               int
	RemoteAddrOK, TLS, NoBody            bool
	ContentLength                        int64
	Body, Auth, CtxValue                 string
}

type ctxKey struct{}

func TestServerRequest(t *testing.T) {
	seen := make(chan serverView, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, err := net.SplitHostPort(r.RemoteAddr)
		b, _ := io.ReadAll(r.Body)
		v, _ := r.Context().Value(ctxKey{}).(string)
		seen <- serverView{
			Method: r.Method, URL: r.URL.String(), RequestURI: r.RequestURI, Host: r.Host, Proto: r.Proto,
			ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor,
			RemoteAddrOK: err == nil, TLS: r.TLS != nil, NoBody: r.Body == http.NoBody,
			ContentLength: r.ContentLength, Body: string(b), Auth: r.Header.Get("Authorization"), CtxValue: v,
		}
		r.Header.Del("Authorization") // as an authenticator does; the client's header must not change
	})
	tests := []struct {
		name   string
		method string
		url    string
		host   string // req.Host override
		body   io.Reader
		want   serverView
	}{
		{
			name:   "GET with query",
			method: http.MethodGet,
			url:    "https://loopback.invalid/api/v1/pods?watch=true&x=%2F",
			want: serverView{
				Method: "GET", URL: "/api/v1/pods?watch=true&x=%2F", RequestURI: "/api/v1/pods?watch=true&x=%2F",
				Host: "loopback.invalid", NoBody: true,
			},
		},
		{
			name:   "POST with escaped path and Host override",
			method: http.MethodPost,
			url:    "https://loopback.invalid:6443/api/v1/namespaces/a%2Fb",
			host:   "api.example",
			body:   strings.NewReader(`{"a":1}`),
			want: serverView{
				Method: "POST", URL: "/api/v1/namespaces/a%2Fb", RequestURI: "/api/v1/namespaces/a%2Fb",
				Host: "api.example", ContentLength: 7, Body: `{"a":1}`,
			},
		},
		{
			name:   "PATCH with unknown length",
			method: http.MethodPatch,
			url:    "https://loopback.invalid/x",
			body:   io.MultiReader(strings.NewReader("{}")),
			want: serverView{
				Method: "PATCH", URL: "/x", RequestURI: "/x", Host: "loopback.invalid", ContentLength: -1, Body: "{}",
			},
		},
	}
	tr := newTransport(t, h)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.WithValue(t.Context(), ctxKey{}, "from client")
			req := newRequest(t, ctx, tt.method, tt.url, tt.body)
			req.Host = tt.host
			req.Header.Set("Authorization", "Bearer t")
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip() error: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()

			got := recv(t, seen, "the handler's view")
			want := tt.want
			want.Proto, want.ProtoMajor, want.ProtoMinor = "HTTP/1.1", 1, 1
			want.RemoteAddrOK = true
			want.Auth = "Bearer t"
			want.CtxValue = "from client"
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("handler's request mismatch (-want +got):\n%s", diff)
			}
			if a := req.Header.Get("Authorization"); a != "Bearer t" {
				t.Errorf("client's Authorization header = %q after the handler deleted its copy, want unchanged", a)
			}
			if resp.Request != req {
				t.Errorf("Response.Request is not the client's request")
			}
		})
	}
}

func TestRequestBodyAlwaysClosed(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		closed  bool // the Transport is closed before the request
		wantErr bool
	}{
		{name: "handler reads body", handler: func(w http.ResponseWriter, r *http.Request) { io.ReadAll(r.Body) }},
		{name: "handler ignores body", handler: func(w http.ResponseWriter, r *http.Request) {}},
		{name: "handler closes body itself", handler: func(w http.ResponseWriter, r *http.Request) { r.Body.Close() }},
		{name: "handler panics", handler: func(w http.ResponseWriter, r *http.Request) { panic("boom") }, wantErr: true},
		{name: "transport closed", handler: func(w http.ResponseWriter, r *http.Request) {}, closed: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(t, tt.handler)
			if tt.closed {
				if err := tr.Close(t.Context()); err != nil {
					t.Fatalf("Close() error: %v", err)
				}
			}
			body := newTrackedBody("payload")
			req := newRequest(t, t.Context(), http.MethodPost, "https://loopback.invalid/", body)
			resp, err := tr.RoundTrip(req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("RoundTrip() error = %v, want error: %v", err, tt.wantErr)
			}
			if resp != nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			recv(t, body.closed, "the request body to be closed")
			// Once closed, the body is not closed again: the handler's goroutine has finished with it.
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			if err := tr.Close(ctx); err != nil {
				t.Fatalf("Close() error: %v", err)
			}
			if n := body.closes.Load(); n != 1 {
				t.Errorf("request body closed %d times, want 1", n)
			}
		})
	}
}

func TestResponseHeader(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantCode   int
		wantStatus string
		wantA      string // X-A in the response
		wantLength int64
		wantBody   string
	}{
		{
			name: "snapshot at WriteHeader, later WriteHeader ignored",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-A", "1")
				w.WriteHeader(http.StatusCreated)
				w.Header().Set("X-A", "2")
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte("made"))
			},
			wantCode: 201, wantStatus: "201 Created", wantA: "1", wantLength: -1, wantBody: "made",
		},
		{
			name: "first Write commits 200",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-A", "w")
				w.Write([]byte("x"))
				w.Header().Set("X-A", "late")
				w.WriteHeader(http.StatusTeapot)
			},
			wantCode: 200, wantStatus: "200 OK", wantA: "w", wantLength: -1, wantBody: "x",
		},
		{
			name: "Flush commits 200",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-A", "f")
				w.(http.Flusher).Flush()
				w.Header().Set("X-A", "late")
			},
			wantCode: 200, wantStatus: "200 OK", wantA: "f", wantLength: -1,
		},
		{
			name: "return without writing",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-A", "r")
			},
			wantCode: 200, wantStatus: "200 OK", wantA: "r", wantLength: 0,
		},
		{
			name: "Content-Length header sets ContentLength",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "5")
				w.Write([]byte("hello"))
			},
			wantCode: 200, wantStatus: "200 OK", wantLength: 5, wantBody: "hello",
		},
		{
			name: "status without text",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(599)
			},
			wantCode: 599, wantStatus: "599 status code 599", wantLength: -1,
		},
		{
			name: "1xx is ignored",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusEarlyHints)
				w.WriteHeader(http.StatusAccepted)
			},
			wantCode: 202, wantStatus: "202 Accepted", wantLength: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(t, tt.handler)
			resp, err := tr.RoundTrip(newRequest(t, t.Context(), http.MethodGet, "https://loopback.invalid/", nil))
			if err != nil {
				t.Fatalf("RoundTrip() error: %v", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading body: %v", err)
			}
			if resp.StatusCode != tt.wantCode || resp.Status != tt.wantStatus {
				t.Errorf("status = %d %q, want %d %q", resp.StatusCode, resp.Status, tt.wantCode, tt.wantStatus)
			}
			if a := resp.Header.Get("X-A"); a != tt.wantA {
				t.Errorf("X-A = %q, want %q", a, tt.wantA)
			}
			if resp.ContentLength != tt.wantLength {
				t.Errorf("ContentLength = %d, want %d", resp.ContentLength, tt.wantLength)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestBodyRules(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		handler     func(w http.ResponseWriter) (int, error)
		wantN       int
		wantErr     error // from the handler's last Write
		wantReadErr error
	}{
		{
			name:   "204 has no body",
			method: http.MethodGet,
			handler: func(w http.ResponseWriter) (int, error) {
				w.WriteHeader(http.StatusNoContent)
				return w.Write([]byte("x"))
			},
			wantErr: http.ErrBodyNotAllowed,
		},
		{
			name:   "HEAD drops the body",
			method: http.MethodHead,
			handler: func(w http.ResponseWriter) (int, error) {
				return w.Write([]byte("abc"))
			},
			wantN: 3,
		},
		{
			name:   "write beyond Content-Length",
			method: http.MethodGet,
			handler: func(w http.ResponseWriter) (int, error) {
				w.Header().Set("Content-Length", "2")
				return w.Write([]byte("abc"))
			},
			wantErr:     http.ErrContentLength,
			wantReadErr: io.ErrUnexpectedEOF,
		},
		{
			name:   "short of Content-Length",
			method: http.MethodGet,
			handler: func(w http.ResponseWriter) (int, error) {
				w.Header().Set("Content-Length", "10")
				return w.Write([]byte("abc"))
			},
			wantN:       3,
			wantReadErr: io.ErrUnexpectedEOF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				n   int
				err error
			}
			results := make(chan result, 1)
			tr := newTransport(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, err := tt.handler(w)
				results <- result{n, err}
			}))
			resp, err := tr.RoundTrip(newRequest(t, t.Context(), tt.method, "https://loopback.invalid/", nil))
			if err != nil {
				t.Fatalf("RoundTrip() error: %v", err)
			}
			defer resp.Body.Close()
			got := recv(t, results, "the handler's Write")
			if got.n != tt.wantN || !errors.Is(got.err, tt.wantErr) || (tt.wantErr == nil) != (got.err == nil) {
				t.Errorf("Write() = %d, %v, want %d, %v", got.n, got.err, tt.wantN, tt.wantErr)
			}
			body, err := io.ReadAll(resp.Body)
			if len(body) > 0 && tt.wantReadErr == nil {
				t.Errorf("body = %q, want empty", body)
			}
			if !errors.Is(err, tt.wantReadErr) || (tt.wantReadErr == nil) != (err == nil) {
				t.Errorf("reading body: error = %v, want %v", err, tt.wantReadErr)
			}
		})
	}
}

func TestResponseWriterInterfaces(t *testing.T) {
	type view struct {
		Flusher, Hijacker, HijackNotSupported, FullDuplexOK bool
	}
	seen := make(chan view, 1)
	tr := newTransport(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, flusher := w.(http.Flusher)
		_, hijacker := w.(http.Hijacker)
		rc := http.NewResponseController(w)
		_, _, err := rc.Hijack()
		seen <- view{
			Flusher:            flusher,
			Hijacker:           hijacker,
			HijackNotSupported: errors.Is(err, http.ErrNotSupported),
			FullDuplexOK:       rc.EnableFullDuplex() == nil,
		}
	}))
	resp, err := tr.RoundTrip(newRequest(t, t.Context(), http.MethodGet, "https://loopback.invalid/", nil))
	if err != nil {
		t.Fatalf("RoundTrip() error: %v", err)
	}
	resp.Body.Close()
	want := view{Flusher: true, HijackNotSupported: true, FullDuplexOK: true}
	if diff := cmp.Diff(want, recv(t, seen, "the handler's view")); diff != "" {
		t.Errorf("ResponseWriter interfaces mismatch (-want +got):\n%s", diff)
	}
}

func TestWatchStreaming(t *testing.T) {
	handlerDone := make(chan error, 1)
	tr := newTransport(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"type":"ADDED"}` + "\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a watch: streams until the client goes away
		handlerDone <- r.Context().Err()
	}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resp, err := tr.RoundTrip(newRequest(t, ctx, http.MethodGet, "https://loopback.invalid/api/v1/pods?watch=true", nil))
	if err != nil {
		t.Fatalf("RoundTrip() error: %v", err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	if err != nil || string(buf[:n]) != `{"type":"ADDED"}`+"\n" {
		t.Fatalf("first Read() = %q, %v, want the first event while the handler runs", buf[:n], err)
	}

	cancel()
	if err := recv(t, handlerDone, "the handler to see the cancellation"); !errors.Is(err, context.Canceled) {
		t.Errorf("handler's ctx.Err() = %v, want context.Canceled", err)
	}
	if _, err := resp.Body.Read(buf); !errors.Is(err, context.Canceled) {
		t.Errorf("Read() after cancel error = %v, want context.Canceled", err)
	}
}

func TestClientCancelBeforeHeader(t *testing.T) {
	started := make(chan struct{})
	handlerDone := make(chan error, 1)
	tr := newTransport(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		handlerDone <- r.Context().Err()
	}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		<-started
		cancel()
	}()
	resp, err := tr.RoundTrip(newRequest(t, ctx, http.MethodGet, "https://loopback.invalid/", nil))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RoundTrip() = %v, %v, want context.Canceled", resp, err)
	}
	if err := recv(t, handlerDone, "the handler to see the cancellation"); !errors.Is(err, context.Canceled) {
		t.Errorf("handler's ctx.Err() = %v, want context.Canceled", err)
	}
}

func TestBodyCloseUnblocksWriter(t *testing.T) {
	type result struct {
		writeErr, ctxErr error
		written          int
	}
	results := make(chan result, 1)
	tr := newTransport(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		written := 0
		for {
			n, err := w.Write(chunk) // blocks once maxBuffered bytes are unread
			written += n
			if err != nil {
				results <- result{writeErr: err, ctxErr: r.Context().Err(), written: written}
				return
			}
		}
	}))
	resp, err := tr.RoundTrip(newRequest(t, t.Context(), http.MethodGet, "https://loopback.invalid/", nil))
	if err != nil {
		t.Fatalf("RoundTrip() error: %v", err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatalf("reading the start of the body: %v", err)
	}
	resp.Body.Close()

	got := recv(t, results, "the blocked Write to fail")
	if got.writeErr == nil || got.ctxErr == nil {
		t.Errorf("after Body.Close: Write error = %v, handler ctx.Err() = %v; want both non-nil", got.writeErr, got.ctxErr)
	}
	if got.written > 1000+maxBuffered {
		t.Errorf("handler wrote %d bytes with 1000 read, want at most %d buffered", got.written, maxBuffered)
	}
	if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
		t.Errorf("Read() after Close succeeded, want an error")
	}
}

func TestBackpressure(t *testing.T) {
	const total = 4 * maxBuffered
	payload := bytes.Repeat([]byte("0123456789abcdef"), total/16)
	type result struct {
		n   int
		err error
	}
	results := make(chan result, 1)
	tr := newTransport(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := w.Write(payload) // one Write larger than the buffer
		results <- result{n, err}
	}))
	resp, err := tr.RoundTrip(newRequest(t, t.Context(), http.MethodGet, "https://loopback.invalid/", nil))
	if err != nil {
		t.Fatalf("RoundTrip() error: %v", err)
	}
	defer resp.Body.Close()
	x := (*exchange)(resp.Body.(*responseBody))
	var got bytes.Buffer
	buf := make([]byte, 100<<10)
	for {
		x.mu.Lock()
		pending := len(x.buf) - x.off
		x.mu.Unlock()
		if pending > maxBuffered {
			t.Fatalf("%d bytes buffered after reading %d, want at most %d", pending, got.Len(), maxBuffered)
		}
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Read() error after %d bytes: %v", got.Len(), err)
		}
		if got.Len() < total-maxBuffered {
			select {
			case r := <-results:
				t.Fatalf("Write() = %d, %v returned with only %d of %d bytes read", r.n, r.err, got.Len(), total)
			default:
			}
		}
	}
	if !bytes.Equal(got.Bytes(), payload) {
		t.Errorf("body differs from what the handler wrote (%d bytes, want %d)", got.Len(), total)
	}
	if r := recv(t, results, "Write to return"); r.n != total || r.err != nil {
		t.Errorf("Write() = %d, %v, want %d, nil", r.n, r.err, total)
	}
}

func TestPanic(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantRTErr bool // RoundTrip fails; otherwise Body.Read does
		wantBody  string
		wantAbort bool // errors.Is(err, http.ErrAbortHandler)
		wantStack bool
	}{
		{
			name:      "before header",
			handler:   func(w http.ResponseWriter, r *http.Request) { panic("boom") },
			wantRTErr: true, wantStack: true,
		},
		{
			name:      "ErrAbortHandler before header",
			handler:   func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) },
			wantRTErr: true, wantAbort: true,
		},
		{
			name:      "invalid status code",
			handler:   func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(42) },
			wantRTErr: true, wantStack: true,
		},
		{
			name: "after header and some bytes",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				w.Write([]byte("partial"))
				panic("boom")
			},
			wantBody: "partial", wantStack: true,
		},
		{
			name: "ErrAbortHandler after header",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("partial"))
				panic(http.ErrAbortHandler)
			},
			wantBody: "partial", wantAbort: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(t, tt.handler)
			resp, err := tr.RoundTrip(newRequest(t, t.Context(), http.MethodGet, "https://loopback.invalid/", nil))
			if tt.wantRTErr != (err != nil) {
				t.Fatalf("RoundTrip() error = %v, want error: %v", err, tt.wantRTErr)
			}
			if err == nil {
				var body []byte
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != tt.wantBody {
					t.Errorf("body = %q, want %q", body, tt.wantBody)
				}
			}
			var pe *PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want a *PanicError", err)
			}
			if got := errors.Is(err, http.ErrAbortHandler); got != tt.wantAbort {
				t.Errorf("errors.Is(%v, http.ErrAbortHandler) = %v, want %v", err, got, tt.wantAbort)
			}
			if got := len(pe.Stack) > 0; got != tt.wantStack {
				t.Errorf("PanicError has a stack: %v, want %v", got, tt.wantStack)
			}
		})
	}
}

func TestClose(t *testing.T) {
	const streams = 5
	var exited atomic.Int32
	started := make(chan struct{}, 1)
	tr := NewTransport(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer exited.Add(1)
		if r.URL.Path == "/stream" {
			w.(http.Flusher).Flush()
		} else {
			started <- struct{}{}
		}
		<-r.Context().Done()
		if cause := context.Cause(r.Context()); !errors.Is(cause, ErrClosed) {
			t.Errorf("handler's context cause = %v, want ErrClosed", cause)
		}
	}))

	var bodies []io.ReadCloser
	for range streams {
		resp, err := tr.RoundTrip(newRequest(t, t.Context(), http.MethodGet, "https://loopback.invalid/stream", nil))
		if err != nil {
			t.Fatalf("RoundTrip() error: %v", err)
		}
		defer resp.Body.Close()
		bodies = append(bodies, resp.Body)
	}
	waiting := make(chan error, 1) // a RoundTrip still waiting for its header
	pending := newRequest(t, t.Context(), http.MethodGet, "https://loopback.invalid/pending", nil)
	go func() {
		_, err := tr.RoundTrip(pending)
		waiting <- err
	}()
	recv(t, started, "the pending handler to start")

	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	if n := exited.Load(); n != streams+1 {
		t.Errorf("%d handlers returned when Close returned, want %d", n, streams+1)
	}
	if err := recv(t, waiting, "the pending RoundTrip"); !errors.Is(err, ErrClosed) {
		t.Errorf("pending RoundTrip() error = %v, want ErrClosed", err)
	}
	for i, b := range bodies {
		if _, err := b.Read(make([]byte, 1)); !errors.Is(err, ErrClosed) {
			t.Errorf("stream %d: Read() error = %v, want ErrClosed", i, err)
		}
	}

	body := newTrackedBody("x")
	if _, err := tr.RoundTrip(newRequest(t, t.Context(), http.MethodPost, "https://loopback.invalid/", body)); !errors.Is(err, ErrClosed) {
		t.Errorf("RoundTrip() after Close error = %v, want ErrClosed", err)
	}
	recv(t, body.closed, "the rejected request's body to be closed")
	if err := tr.Close(ctx); err != nil {
		t.Errorf("second Close() error: %v", err)
	}
}

func TestCloseBoundedByContext(t *testing.T) {
	release := make(chan struct{})
	tr := newTransport(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		<-release // ignores its context
	}))
	resp, err := tr.RoundTrip(newRequest(t, t.Context(), http.MethodGet, "https://loopback.invalid/", nil))
	if err != nil {
		t.Fatalf("RoundTrip() error: %v", err)
	}
	defer resp.Body.Close()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := tr.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close() with a handler stuck and ctx done: error = %v, want context.Canceled", err)
	}
	close(release)
	// The cleanup's Close waits for the released handler.
}

func TestWriteAfterReturn(t *testing.T) {
	writers := make(chan http.ResponseWriter, 1)
	tr := newTransport(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writers <- w
	}))
	resp, err := tr.RoundTrip(newRequest(t, t.Context(), http.MethodGet, "https://loopback.invalid/", nil))
	if err != nil {
		t.Fatalf("RoundTrip() error: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("reading body: %v", err)
	}
	resp.Body.Close()
	w := recv(t, writers, "the handler's ResponseWriter")
	if _, err := w.Write([]byte("late")); err == nil {
		t.Errorf("Write() after the handler returned succeeded, want an error")
	}
}

func TestConcurrentRoundTrips(t *testing.T) {
	const clients, requests = 16, 25
	tr := newTransport(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
	client := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range requests {
				want := strconv.Itoa(c) + "/" + strconv.Itoa(i)
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://loopback.invalid/", strings.NewReader(want))
				if err != nil {
					t.Errorf("NewRequest: %v", err)
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("Do() error: %v", err)
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(got) != want {
					t.Errorf("body = %q, %v, want %q", got, err, want)
				}
			}
		})
	}
	wg.Wait()
}

// benchmarkBody is a small API object, about the size of a Pod GET.
const benchmarkBody = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x","namespace":"default","resourceVersion":"5"}}`

func BenchmarkGet(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(benchmarkBody))
	})
	get := func(b *testing.B, client *http.Client, url string, wantMajor int) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.ProtoMajor != wantMajor {
				b.Fatalf("response protocol %s, want major version %d", resp.Proto, wantMajor)
			}
		}
	}
	b.Run("loopback", func(b *testing.B) {
		b.ReportAllocs()
		get(b, &http.Client{Transport: newTransport(b, h)}, "https://loopback.invalid/api/v1/namespaces/default/pods/x", 1)
	})
	b.Run("http2-tls", func(b *testing.B) {
		srv := httptest.NewUnstartedServer(h)
		srv.EnableHTTP2 = true
		srv.StartTLS()
		defer srv.Close()
		b.ReportAllocs()
		get(b, srv.Client(), srv.URL+"/api/v1/namespaces/default/pods/x", 2)
	})
}
