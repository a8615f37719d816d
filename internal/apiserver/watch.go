package apiserver

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/batchd/batchd/internal/registry"
)

// streamContentType is the Content-Type of a protobuf watch stream.
const streamContentType = mediaProtobuf + ";stream=watch"

func (s *Server) serveWatch(req *request) {
	lo, err := listOptions(req)
	if err != nil {
		s.fail(req, err)
		return
	}
	q := req.query
	opts := registry.WatchOptions{ListOptions: lo, AllowWatchBookmarks: q.Get("allowWatchBookmarks") == "true"}
	if v := q.Get("sendInitialEvents"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.fail(req, apierrors.NewBadRequest(fmt.Sprintf("invalid sendInitialEvents: %q", v)))
			return
		}
		opts.SendInitialEvents = &b
	}
	timeout := s.minWatch + time.Duration(rand.Int64N(int64(s.minWatch)))
	if t := q.Get("timeoutSeconds"); t != "" {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n < 0 {
			s.fail(req, apierrors.NewBadRequest(fmt.Sprintf("invalid timeoutSeconds: %q", t)))
			return
		}
		if n > 0 {
			timeout = time.Duration(n) * time.Second
		}
	}
	ctx, cancel := context.WithTimeout(req.r.Context(), timeout)
	defer cancel()

	info := req.out.info
	if info.StreamSerializer == nil {
		info = s.serializer(mediaJSON) // YAML has no stream form; upstream answers JSON too
	}
	watcher, err := req.store.Watch(ctx, req.info.namespace, opts)
	if err != nil {
		s.fail(req, err)
		return
	}
	defer watcher.Stop()

	contentType := info.MediaType
	if info.MediaType == mediaProtobuf {
		contentType = streamContentType
	}
	req.w.Header().Set("Content-Type", contentType)
	req.w.Header().Set("Transfer-Encoding", "chunked")
	req.w.WriteHeader(http.StatusOK)
	flusher, _ := req.w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	frames := info.StreamSerializer.Framer.NewFrameWriter(req.w)
	eventEncoder := info.StreamSerializer.Serializer
	objectGV := req.res.GroupVersion
	if req.out.kind != outputObject {
		objectGV = req.out.gv
	}
	first := true
	objectEncoder := s.codecs.EncoderForVersion(info.Serializer, objectGV)
	var buf bytes.Buffer
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closeWatches:
			return
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				return
			}
			obj := ev.Object
			if ev.Type != watch.Error && req.out.kind != outputObject {
				kind := req.out.kind
				if kind == outputPartialMetadataList {
					kind = outputPartialMetadata
				}
				// The watch cache's objects are shared: a table is built
				// from a copy, metadata (only read) from the object itself.
				if ro, ok := obj.(readOnlyObject); ok && kind == outputPartialMetadata {
					obj = ro.ReadOnlyObject()
				} else if co, ok := obj.(runtime.CacheableObject); ok {
					obj = co.GetObject()
				}
				// Table watch events carry column definitions in the first
				// event only, as upstream's do.
				if ev.Type == watch.Bookmark && kind == outputTable {
					obj = bookmarkTable(obj)
				} else if obj, err = s.convertOutput(obj, kind, tableOptions(req.out, req.query, !first)); err != nil {
					s.log.Error("Converting watch event", "err", err)
					return
				}
				first = false
			}
			buf.Reset()
			enc := objectEncoder
			if ev.Type == watch.Error {
				enc = s.codecs.EncoderForVersion(info.Serializer, metav1.SchemeGroupVersion)
			}
			if err := enc.Encode(obj, &buf); err != nil {
				s.log.Error("Encoding watch event", "err", err)
				return
			}
			out := &metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: buf.Bytes()}}
			if err := eventEncoder.Encode(out, frames); err != nil {
				return // the client went away
			}
			if flusher != nil && len(watcher.ResultChan()) == 0 {
				flusher.Flush()
			}
			if ev.Type == watch.Error {
				return
			}
		}
	}
}

// readOnlyObject is a watch cache's shared object that can be read
// without a copy (storage's cachingObject).
type readOnlyObject interface {
	ReadOnlyObject() runtime.Object
}

// bookmarkTable is the Table form of a bookmark: no rows, just the
// resourceVersion (and the initial-events-end annotation, if any).
func bookmarkTable(obj runtime.Object) runtime.Object {
	t := &metav1.Table{}
	if accessor, err := meta.Accessor(obj); err == nil {
		t.ResourceVersion = accessor.GetResourceVersion()
		if len(accessor.GetAnnotations()) > 0 {
			t.Rows = []metav1.TableRow{{Object: runtime.RawExtension{Object: &metav1.PartialObjectMetadata{
				ObjectMeta: metav1.ObjectMeta{ResourceVersion: t.ResourceVersion, Annotations: accessor.GetAnnotations()}}}}}
		}
	}
	return t
}
