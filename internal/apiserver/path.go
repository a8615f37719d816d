package apiserver

import (
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// requestInfo is what a resource URL names.
type requestInfo struct {
	gv          schema.GroupVersion
	resource    string
	namespace   string
	name        string
	subresource string
	// collection is true for URLs without a name (list, watch, create,
	// deletecollection).
	collection bool
}

// errPathNotFound is upstream's 404 for a URL that names nothing.
func errPathNotFound() error {
	return statusError(http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
}

// parsePath splits /api/v1/... and /apis/G/V/... URLs. It returns nil for
// group and version URLs (/api/v1, /apis/G, /apis/G/V), which discovery
// serves.
func parsePath(path string) (*requestInfo, []string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var gv schema.GroupVersion
	var rest []string
	switch segs[0] {
	case "api":
		if len(segs) < 2 {
			return nil, segs
		}
		gv, rest = schema.GroupVersion{Version: segs[1]}, segs[2:]
	case "apis":
		if len(segs) < 3 {
			return nil, segs
		}
		gv, rest = schema.GroupVersion{Group: segs[1], Version: segs[2]}, segs[3:]
	default:
		return nil, segs
	}
	if len(rest) == 0 {
		return nil, segs
	}
	info := &requestInfo{gv: gv}
	// namespaces/{ns}/{resource}[/{name}[/{sub}]] addresses namespaced
	// content, but namespaces[/{name}[/{sub}]] is the namespace resource.
	if rest[0] == "namespaces" && len(rest) >= 3 && !(gv.Group == "" && isNamespaceSubresource(rest[2]) && len(rest) == 3) {
		info.namespace, rest = rest[1], rest[2:]
	}
	info.resource = rest[0]
	switch len(rest) {
	case 1:
		info.collection = true
	case 2:
		info.name = rest[1]
	case 3:
		info.name, info.subresource = rest[1], rest[2]
	default:
		return nil, segs
	}
	return info, segs
}

func isNamespaceSubresource(s string) bool { return s == "status" || s == "finalize" }
