package openapi

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/munnerz/goautoneg"
)

// Media types of the documents. kubectl 1.27 and 1.28 ask for the v2
// protobuf with the "@" form and need the dotted form back: Go's mime
// package rejects the "@" in a response Content-Type.
const (
	contentTypeJSON            = "application/json"
	contentTypeProtobuf        = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	subTypeProtobuf            = "com.github.proto-openapi.spec.v2.v1.0+protobuf"
	subTypeProtobufDeprecated  = "com.github.proto-openapi.spec.v2@v1.0+protobuf"
	immutableCacheControl      = "public, immutable"
	immutableExpiresAfterYears = 1
	// minGzipSize: smaller documents are sent as they are.
	minGzipSize = 1024
)

// ServeHTTP serves GET and HEAD of /openapi/v2, /openapi/v3 and
// /openapi/v3/<path> for each path the v3 index lists. Responses carry an
// ETag (a hash of the body) and answer If-None-Match with 304. A v3
// document asked for with ?hash= is served as immutable when the hash is
// current, and redirected to the current hash otherwise, as upstream does.
func (d *Documents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	docs, err := d.serialized()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	path := r.URL.Path
	switch {
	case path == "/openapi/v2":
		d.serveV2(w, r, docs)
	case path == "/openapi/v3" || path == "/openapi/v3/":
		d.serveJSON(w, r, docs.v3Index)
	case strings.HasPrefix(path, "/openapi/v3/"):
		key := strings.TrimPrefix(path, "/openapi/v3/")
		doc, ok := docs.v3[key]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if hash := r.URL.Query().Get("hash"); hash != "" {
			if hash != doc.etag {
				http.Redirect(w, r, hashedURL(key, doc.etag), http.StatusMovedPermanently)
				return
			}
			w.Header().Set("Cache-Control", immutableCacheControl)
			w.Header().Set("Expires", time.Now().UTC().AddDate(immutableExpiresAfterYears, 0, 0).Format(http.TimeFormat))
		}
		d.serveJSON(w, r, doc)
	default:
		http.NotFound(w, r)
	}
}

// serveV2 negotiates JSON or gnostic protobuf from the Accept header.
func (d *Documents) serveV2(w http.ResponseWriter, r *http.Request, docs *serialized) {
	w.Header().Add("Vary", "Accept")
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	for _, c := range goautoneg.ParseAccept(accept) {
		switch {
		case c.Type == "application" && (c.SubType == subTypeProtobuf || c.SubType == subTypeProtobufDeprecated):
			doc, err := docs.v2Proto()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			d.serve(w, r, doc, contentTypeProtobuf)
			return
		case (c.Type == "application" || c.Type == "*") && (c.SubType == "json" || c.SubType == "*"):
			d.serve(w, r, docs.v2JSON, contentTypeJSON)
			return
		}
	}
	http.Error(w, "only application/json and "+contentTypeProtobuf+" are served", http.StatusNotAcceptable)
}

// serveJSON serves a v3 document or the index, which exist only as JSON.
func (d *Documents) serveJSON(w http.ResponseWriter, r *http.Request, doc *document) {
	w.Header().Add("Vary", "Accept")
	if accept := r.Header.Get("Accept"); accept != "" {
		ok := false
		for _, c := range goautoneg.ParseAccept(accept) {
			if (c.Type == "application" || c.Type == "*") && (c.SubType == "json" || c.SubType == "*") {
				ok = true
				break
			}
		}
		if !ok {
			http.Error(w, "only application/json is served", http.StatusNotAcceptable)
			return
		}
	}
	d.serve(w, r, doc, contentTypeJSON)
}

// serve writes doc, or 304 when If-None-Match names its ETag. Clients that
// accept gzip get it gzipped, under the same ETag, as upstream's handler
// does.
func (d *Documents) serve(w http.ResponseWriter, r *http.Request, doc *document, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", strconv.Quote(doc.etag))
	h.Add("Vary", "Accept-Encoding")
	body := doc.body
	if len(body) >= minGzipSize && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = doc.gzipped()
	}
	http.ServeContent(w, r, "", d.modified, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if coding = strings.TrimSpace(coding); coding != "gzip" && coding != "*" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				return false
			}
		}
		return true
	}
	return false
}
