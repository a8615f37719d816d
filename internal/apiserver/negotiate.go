package apiserver

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/munnerz/goautoneg"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Media types batchd speaks.
const (
	mediaJSON     = runtime.ContentTypeJSON
	mediaYAML     = runtime.ContentTypeYAML
	mediaProtobuf = runtime.ContentTypeProtobuf
)

// outputKind is what a client asked the object to be turned into.
type outputKind int

const (
	outputObject outputKind = iota
	outputPartialMetadata
	outputPartialMetadataList
	outputTable
)

// output is the negotiated response encoding.
type output struct {
	info runtime.SerializerInfo
	kind outputKind
	// gv is the meta.k8s.io version asked for by as= conversions.
	gv schema.GroupVersion
}

// negotiateOutput picks the response serializer from the Accept header.
// Clauses asking for a conversion batchd does not serve (as=Table) are
// skipped, so clients fall back to their next choice, as kubectl's Accept
// header lists plain JSON last.
func (s *Server) negotiateOutput(r *http.Request) (output, error) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return output{info: s.serializer(mediaJSON)}, nil
	}
	for _, clause := range goautoneg.ParseAccept(accept) {
		media := clause.Type + "/" + clause.SubType
		if clause.Type == "*" || (clause.SubType == "*" && clause.Type == "application") {
			media = mediaJSON
		}
		info := s.serializer(media)
		if info.Serializer == nil {
			continue
		}
		kind := outputObject
		as := clause.Params["as"]
		metaGV := schema.GroupVersion{Group: metav1.GroupName, Version: clause.Params["v"]}
		if as != "" && (clause.Params["g"] != metav1.GroupName || (metaGV.Version != "v1" && metaGV.Version != "v1beta1")) {
			continue
		}
		switch as {
		case "":
		case "PartialObjectMetadata", "PartialObjectMetadataList":
			kind = outputPartialMetadata
			if as == "PartialObjectMetadataList" {
				kind = outputPartialMetadataList
			}
		case "Table":
			if media == mediaProtobuf {
				continue // rows would need raw bytes; kubectl asks for JSON
			}
			kind = outputTable
		default:
			continue
		}
		return output{info: info, kind: kind, gv: metaGV}, nil
	}
	return output{}, statusError(http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable,
		fmt.Sprintf("only the following media types are accepted: %s", strings.Join(s.mediaTypes(), ", ")))
}

// negotiateInput picks the request body's deserializer from Content-Type.
func (s *Server) negotiateInput(r *http.Request) (runtime.SerializerInfo, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = mediaJSON
	}
	media, _, err := mime.ParseMediaType(ct)
	if err == nil {
		if info := s.serializer(media); info.Serializer != nil {
			return info, nil
		}
	}
	return runtime.SerializerInfo{}, unsupportedMediaType(ct, s.mediaTypes())
}

func unsupportedMediaType(ct string, accepted []string) error {
	return statusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s", strings.Join(accepted, ", ")))
}

func (s *Server) serializer(media string) runtime.SerializerInfo {
	for _, info := range s.codecs.SupportedMediaTypes() {
		if info.MediaType == media {
			return info
		}
	}
	return runtime.SerializerInfo{}
}

func (s *Server) mediaTypes() []string {
	var out []string
	for _, info := range s.codecs.SupportedMediaTypes() {
		out = append(out, info.MediaType)
	}
	return out
}
