package apiserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/batchd/batchd/internal/table"
)

// statusError builds an API error with a fixed message.
func statusError(code int32, reason metav1.StatusReason, msg string) *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    code,
		Reason:  reason,
		Message: msg,
	}}
}

// writeError writes err as a metav1.Status in the client's preferred
// encoding. Errors that are not API errors become 500s.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		s.log.Error("Request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Status == "" {
		st.Status = metav1.StatusFailure
	}
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	out, nerr := s.negotiateOutput(r)
	if nerr != nil {
		out = output{info: s.serializer(mediaJSON)}
	}
	out.kind = outputObject // a Status is never converted
	s.writeObject(w, code, out, metav1.SchemeGroupVersion, &st)
}

// tableOptions reads the includeObject parameter of a Table request.
func tableOptions(out output, q url.Values, noHeaders bool) table.Options {
	return table.Options{
		NoHeaders:     noHeaders,
		IncludeObject: metav1.IncludeObjectPolicy(q.Get("includeObject")),
		GroupVersion:  out.gv,
	}
}

// writeObject encodes obj for gv in the negotiated encoding.
func (s *Server) writeObject(w http.ResponseWriter, code int, out output, gv schema.GroupVersion, obj runtime.Object) {
	s.writeConverted(w, code, out, gv, obj, table.Options{GroupVersion: out.gv})
}

// writeConverted is writeObject with the options of a Table conversion.
func (s *Server) writeConverted(w http.ResponseWriter, code int, out output, gv schema.GroupVersion, obj runtime.Object, topts table.Options) {
	obj, err := s.convertOutput(obj, out.kind, topts)
	if err != nil {
		s.log.Error("Converting response", "err", err)
		code, obj = http.StatusInternalServerError, &apierrors.NewInternalError(err).ErrStatus
	}
	switch obj.(type) {
	case *metav1.PartialObjectMetadata, *metav1.PartialObjectMetadataList, *metav1.Table:
		gv = out.gv
		if gv.Empty() {
			gv = metav1.SchemeGroupVersion
		}
	}
	enc := s.codecs.EncoderForVersion(out.info.Serializer, gv)
	w.Header().Set("Content-Type", out.info.MediaType)
	w.WriteHeader(code)
	if err := enc.Encode(obj, w); err != nil {
		s.log.Debug("Writing response", "err", err)
	}
}

// writeJSON writes a plain JSON document (version info).
func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("Writing response", "err", err)
	}
}

// convertOutput turns obj into the PartialObjectMetadata forms when the
// client asked for them (client-go metadata informers, the garbage
// collector).
func (s *Server) convertOutput(obj runtime.Object, kind outputKind, topts table.Options) (runtime.Object, error) {
	if kind == outputObject {
		return obj, nil
	}
	if _, isStatus := obj.(*metav1.Status); isStatus {
		return obj, nil
	}
	if kind == outputTable {
		return table.Convert(obj, topts)
	}
	if meta.IsListType(obj) {
		items, err := meta.ExtractList(obj)
		if err != nil {
			return nil, err
		}
		list := &metav1.PartialObjectMetadataList{Items: make([]metav1.PartialObjectMetadata, 0, len(items))}
		if lm, err := meta.ListAccessor(obj); err == nil {
			list.ResourceVersion, list.Continue = lm.GetResourceVersion(), lm.GetContinue()
		}
		for _, item := range items {
			p, err := partialMetadata(item)
			if err != nil {
				return nil, err
			}
			p.TypeMeta = metav1.TypeMeta{}
			list.Items = append(list.Items, *p)
		}
		list.TypeMeta = metav1.TypeMeta{APIVersion: metav1.SchemeGroupVersion.String(), Kind: "PartialObjectMetadataList"}
		return list, nil
	}
	return partialMetadata(obj)
}

func partialMetadata(obj runtime.Object) (*metav1.PartialObjectMetadata, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	p := meta.AsPartialObjectMetadata(accessor)
	p.TypeMeta = metav1.TypeMeta{APIVersion: metav1.SchemeGroupVersion.String(), Kind: "PartialObjectMetadata"}
	return p, nil
}
