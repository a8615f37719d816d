// Package loopback owns the in-memory connection between batchd's in-process
// API clients (controllers, scheduler, local agent) and its API server.
// Transport is an http.RoundTripper that serves each request by calling the
// server's http.Handler directly, so a client-go rest.Config with
// Transport: loopback.NewTransport(h) skips TLS, HTTP/2 framing and socket
// syscalls, which otherwise cost about 15% of the server's CPU. The handler is
// the same one the network listener serves, so authentication (the bearer
// token client-go still adds), authorization, admission and request metrics
// behave exactly as for a remote client. The one difference: TLS is nil, so
// in-process clients cannot present client certificates and must use a
// bearer token.
//
// The handler sees a request shaped like the one net/http's server would
// give it: a copy with its own Header, RequestURI, Host, RemoteAddr
// (RemoteAddr, a loopback "host:port"), TLS nil, a non-nil Body, Proto
// "HTTP/1.1" (one exchange without streams or multiplexing, so handlers that
// branch on ProtoMajor take their HTTP/1.1 path), and a context derived from
// the client's that is cancelled when the client cancels, when it closes the
// response body, when the handler returns or when the Transport is closed.
// RoundTrip returns as soon as the handler commits its header (WriteHeader,
// the first Write or Flush, or returning); the response body streams what
// the handler writes through a bounded in-memory buffer, so watches work and
// a slow reader holds the handler back instead of growing memory.
//
// The Transport owns the goroutine that runs the handler for each request:
// Transport.Close cancels every request in flight and waits for those
// goroutines. It does not own the handler, the clients, or their retries.
// It does not support connection hijacking or protocol upgrades (exec,
// attach, port-forward: the ResponseWriter is not an http.Hijacker),
// request or response trailers, informational (1xx) responses,
// Content-Type sniffing, or transparent gzip (no Accept-Encoding is added
// and nothing is decompressed). It never logs: a handler's panic is recovered
// and reported to the client as a *PanicError.
package loopback
