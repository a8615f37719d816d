package openapi

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

// Accept headers kubectl sends (spec/kubectl.md §2.4).
const (
	acceptV2Protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	acceptV3Index    = "application/json, */*"
)

func get(t *testing.T, d *Documents, method, target string, header http.Header) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	d.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServeHTTP(t *testing.T) {
	d := documents(t)
	batch := serializedDocs(t, d).v3["apis/batch/v1"]
	v2Proto, err := serializedDocs(t, d).v2Proto()
	if err != nil {
		t.Fatalf("building the v2 protobuf: %v", err)
	}
	tests := []struct {
		name        string
		method      string
		target      string
		accept      string
		wantStatus  int
		wantType    string
		wantBody    []byte
		wantHeaders map[string]string
	}{
		{name: "v2 JSON", target: "/openapi/v2", accept: "application/json",
			wantStatus: 200, wantType: "application/json", wantBody: serializedDocs(t, d).v2JSON.body,
			wantHeaders: map[string]string{"ETag": strconv.Quote(serializedDocs(t, d).v2JSON.etag)}},
		{name: "v2 with no Accept is JSON", target: "/openapi/v2",
			wantStatus: 200, wantType: "application/json", wantBody: serializedDocs(t, d).v2JSON.body},
		{name: "v2 protobuf as kubectl 1.27 asks", target: "/openapi/v2", accept: acceptV2Protobuf,
			wantStatus: 200, wantType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", wantBody: v2Proto.body,
			wantHeaders: map[string]string{"ETag": strconv.Quote(v2Proto.etag)}},
		{name: "v2 protobuf dotted form", target: "/openapi/v2", accept: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
			wantStatus: 200, wantType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", wantBody: v2Proto.body},
		{name: "v2 protobuf preferred by q", target: "/openapi/v2", accept: "application/json;q=0.5, " + acceptV2Protobuf,
			wantStatus: 200, wantType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", wantBody: v2Proto.body},
		{name: "v2 unacceptable", target: "/openapi/v2", accept: "text/html", wantStatus: 406},
		{name: "v3 index", target: "/openapi/v3", accept: acceptV3Index,
			wantStatus: 200, wantType: "application/json", wantBody: serializedDocs(t, d).v3Index.body,
			wantHeaders: map[string]string{"ETag": strconv.Quote(serializedDocs(t, d).v3Index.etag), "Cache-Control": ""}},
		{name: "v3 group version", target: "/openapi/v3/apis/batch/v1", accept: "application/json",
			wantStatus: 200, wantType: "application/json", wantBody: batch.body,
			wantHeaders: map[string]string{"ETag": strconv.Quote(batch.etag), "Cache-Control": ""}},
		{name: "v3 group version at its current hash is immutable", target: hashedURL("apis/batch/v1", batch.etag), accept: "application/json",
			wantStatus: 200, wantType: "application/json", wantBody: batch.body,
			wantHeaders: map[string]string{"ETag": strconv.Quote(batch.etag), "Cache-Control": "public, immutable"}},
		{name: "v3 group version at an old hash redirects", target: "/openapi/v3/apis/batch/v1?hash=0123", accept: "application/json",
			wantStatus: 301, wantHeaders: map[string]string{"Location": hashedURL("apis/batch/v1", batch.etag)}},
		{name: "v3 core", target: "/openapi/v3/api/v1", accept: "application/json",
			wantStatus: 200, wantType: "application/json", wantBody: serializedDocs(t, d).v3["api/v1"].body},
		{name: "v3 protobuf is not served", target: "/openapi/v3/apis/batch/v1", accept: "application/com.github.proto-openapi.spec.v3.v1.0+protobuf", wantStatus: 406},
		{name: "HEAD", method: http.MethodHead, target: "/openapi/v3/apis/batch/v1",
			wantStatus: 200, wantType: "application/json", wantBody: []byte{}},
		{name: "unknown group version", target: "/openapi/v3/apis/apps/v1", wantStatus: 404},
		{name: "unknown path", target: "/openapi/v4", wantStatus: 404},
		{name: "POST", method: http.MethodPost, target: "/openapi/v2", wantStatus: 405,
			wantHeaders: map[string]string{"Allow": "GET, HEAD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			header := http.Header{}
			if tt.accept != "" {
				header.Set("Accept", tt.accept)
			}
			resp := get(t, d, method, tt.target, header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantType != "" {
				if got := resp.Header.Get("Content-Type"); got != tt.wantType {
					t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
				}
			}
			for k, want := range tt.wantHeaders {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tt.wantBody != nil {
				if got := body(t, resp); !bytes.Equal(got, tt.wantBody) {
					t.Errorf("body: got %d bytes, want the %d bytes of the document", len(got), len(tt.wantBody))
				}
			}
		})
	}
}

func TestNotModified(t *testing.T) {
	d := documents(t)
	tests := []struct {
		name   string
		target string
		accept string
	}{
		{"v2 JSON", "/openapi/v2", "application/json"},
		{"v2 protobuf", "/openapi/v2", acceptV2Protobuf},
		{"v3 index", "/openapi/v3", acceptV3Index},
		{"v3 group version", "/openapi/v3/apis/batch/v1", "application/json"},
		{"v3 group version at its hash", hashedURL("api/v1", serializedDocs(t, d).v3["api/v1"].etag), "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := get(t, d, http.MethodGet, tt.target, http.Header{"Accept": {tt.accept}})
			etag := first.Header.Get("ETag")
			if first.StatusCode != http.StatusOK || etag == "" {
				t.Fatalf("first GET: status %d, ETag %q", first.StatusCode, etag)
			}
			again := get(t, d, http.MethodGet, tt.target, http.Header{"Accept": {tt.accept}, "If-None-Match": {etag}})
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("GET with If-None-Match %s: status %d, want 304", etag, again.StatusCode)
			}
			if b := body(t, again); len(b) != 0 {
				t.Errorf("304 carries a %d-byte body", len(b))
			}
			stale := get(t, d, http.MethodGet, tt.target, http.Header{"Accept": {tt.accept}, "If-None-Match": {`"0123"`}})
			if stale.StatusCode != http.StatusOK {
				t.Errorf("GET with a stale If-None-Match: status %d, want 200", stale.StatusCode)
			}
		})
	}
}

// TestV2ProtobufRoundTrip checks that the protobuf kubectl 1.27 and 1.28
// unmarshal is the JSON document, converted.
func TestV2ProtobufRoundTrip(t *testing.T) {
	d := documents(t)
	pb := body(t, get(t, d, http.MethodGet, "/openapi/v2", http.Header{"Accept": {acceptV2Protobuf}}))
	var got openapiv2.Document
	if err := proto.Unmarshal(pb, &got); err != nil {
		t.Fatalf("unmarshalling the v2 protobuf: %v", err)
	}
	want, err := openapiv2.ParseDocument(body(t, get(t, d, http.MethodGet, "/openapi/v2", http.Header{"Accept": {"application/json"}})))
	if err != nil {
		t.Fatalf("parsing the v2 JSON: %v", err)
	}
	if diff := cmp.Diff(want, &got, protocmp.Transform()); diff != "" {
		t.Errorf("protobuf differs from the JSON document (-json +protobuf):\n%s", diff)
	}
	if got.GetSwagger() != "2.0" || got.GetInfo().GetTitle() != "Kubernetes" {
		t.Errorf("swagger %q, title %q; want 2.0, Kubernetes", got.GetSwagger(), got.GetInfo().GetTitle())
	}
}

func TestGzip(t *testing.T) {
	d := documents(t)
	resp := get(t, d, http.MethodGet, "/openapi/v3/apis/batch/v1", http.Header{"Accept": {"application/json"}, "Accept-Encoding": {"gzip"}})
	if got := resp.Header.Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", got)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, serializedDocs(t, d).v3["apis/batch/v1"].body) {
		t.Errorf("gunzipped body: %d bytes, want the %d bytes of the document", len(got), len(serializedDocs(t, d).v3["apis/batch/v1"].body))
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"deflate, gzip;q=1.0, *;q=0.5", true},
		{"br, *", true},
		{"gzip;q=0", false},
		{"identity", false},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.header); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}
