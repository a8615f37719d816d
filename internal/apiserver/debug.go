package apiserver

import (
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"

	"github.com/batchd/batchd/internal/authn"
)

// debugPrefix is where kube-apiserver serves Go's runtime profiles when
// --profiling is on (its default).
const debugPrefix = "/debug/pprof"

// serveDebug serves Go's runtime profiles (net/http/pprof) to
// administrators: CPU, heap, goroutines, execution traces, named by the
// path after /debug/pprof/, as `go tool pprof https://.../debug/pprof/heap`
// expects.
func (s *Server) serveDebug(w http.ResponseWriter, r *http.Request, path string, user authn.User) {
	if !s.profiling {
		s.writeError(w, r, errPathNotFound())
		return
	}
	if !slices.Contains(user.Groups, authn.GroupMasters) {
		s.writeError(w, r, statusError(http.StatusForbidden, "Forbidden", `forbidden: User "`+user.Name+`" cannot get path "`+r.URL.Path+`"`))
		return
	}
	switch strings.TrimPrefix(path, debugPrefix) {
	case "/cmdline":
		pprof.Cmdline(w, r)
	case "/profile":
		pprof.Profile(w, r)
	case "/symbol":
		pprof.Symbol(w, r)
	case "/trace":
		pprof.Trace(w, r)
	default: // the index, and profiles by name (heap, goroutine, allocs, ...)
		if !strings.HasSuffix(r.URL.Path, "/") && path == debugPrefix {
			http.Redirect(w, r, debugPrefix+"/", http.StatusMovedPermanently)
			return
		}
		pprof.Index(w, r)
	}
}
