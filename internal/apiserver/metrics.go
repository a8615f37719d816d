package apiserver

import (
	"net/http"
	"slices"
	"strings"

	"github.com/batchd/batchd/internal/authn"
	"github.com/batchd/batchd/internal/metrics"
)

// ClassifyRequest describes r for the apiserver_request_* metrics, with
// upstream's verbs (LIST and WATCH for collection reads, APPLY for
// server-side apply) and scopes.
func ClassifyRequest(r *http.Request) metrics.RequestInfo {
	info, _ := parsePath(strings.TrimSuffix(r.URL.Path, "/"))
	if info == nil {
		return metrics.RequestInfo{Verb: r.Method}
	}
	out := metrics.RequestInfo{
		Group: info.gv.Group, Version: info.gv.Version, Resource: info.resource, Subresource: info.subresource,
	}
	switch {
	case info.name != "":
		out.Scope = "resource"
	case info.namespace != "":
		out.Scope = "namespace"
	default:
		out.Scope = "cluster"
	}
	watch := r.URL.Query().Get("watch")
	switch {
	case r.Method == http.MethodGet && info.collection && (watch == "true" || watch == "1"):
		out.Verb = "WATCH"
	case r.Method == http.MethodGet && info.collection:
		out.Verb = "LIST"
	case r.Method == http.MethodDelete && info.collection:
		out.Verb = "DELETECOLLECTION"
	case r.Method == http.MethodPatch && strings.HasPrefix(r.Header.Get("Content-Type"), applyPatchType):
		out.Verb = "APPLY"
	default:
		out.Verb = r.Method
	}
	return out
}

// serveMetrics serves /metrics to administrators only, as upstream keeps
// it to privileged users.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, user authn.User) {
	if !slices.Contains(user.Groups, authn.GroupMasters) {
		s.writeError(w, r, statusError(http.StatusForbidden, "Forbidden", `forbidden: User "`+user.Name+`" cannot get path "/metrics"`))
		return
	}
	s.metrics.ServeHTTP(w, r)
}
