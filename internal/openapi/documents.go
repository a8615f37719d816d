package openapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/builder3"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/batchd/batchd/internal/version"
)

// Documents are the OpenAPI documents of a set of served resources, built
// once and immutable afterwards. Its ServeHTTP answers /openapi/v2,
// /openapi/v3 and /openapi/v3/<group version path>.
type Documents struct {
	// serialized builds the documents on first use: two thirds of a
	// server's start (65-75 ms on 2 cores) went to documents only kubectl
	// asks for, and only for some commands (apply, create -f, edit,
	// explain).
	serialized func() (*serialized, error)
	schemas    map[string]*spec.Schema
	modified   time.Time
}

// serialized is every document, serialized.
type serialized struct {
	v2JSON  *document
	v2Proto func() (*document, error) // built on first use
	v3Index *document
	v3      map[string]*document // by index path: "api/v1", "apis/batch/v1", ...
}

// document is one serialized document, its ETag (unquoted) and, once a
// client has asked for it, its gzip encoding.
type document struct {
	body    []byte
	etag    string
	gzipped func() []byte
}

func newDocument(body []byte) *document {
	return &document{
		body: body,
		etag: fmt.Sprintf("%X", sha512.Sum512(body)),
		gzipped: sync.OnceValue(func() []byte {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(body) // writes to a bytes.Buffer do not fail
			zw.Close()
			return b.Bytes()
		}),
	}
}

// routeGroup is the routes of one OpenAPI v3 document: a group version's
// resources and its discovery URL, or a discovery or version URL alone.
type routeGroup struct {
	key   string // the v3 index path: "apis/batch/v1"
	paths *routes
}

// New prepares the OpenAPI documents for resources: the Swagger 2.0
// document (JSON and gnostic protobuf), the OpenAPI 3.0 index and one
// OpenAPI 3.0 document per group version, with ETags, built on their first
// request; and builds the schema map Schemas returns. It fails if a
// resource names a kind or subresource this package has no schema or
// description for.
func New(resources []Resource) (*Documents, error) {
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	n, err := newNamer(scheme)
	if err != nil {
		return nil, err
	}
	groups, err := routeGroups(scheme, resources)
	if err != nil {
		return nil, err
	}
	info := &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: kubeVersion(version.Info())}}
	config := v3Config(n, info)
	d := &Documents{modified: time.Now().UTC().Truncate(time.Second)}
	d.serialized = sync.OnceValues(func() (*serialized, error) { return serialize(groups, n, info, config) })

	// The schemas now: server-side apply's type converter needs them.
	names := slices.Sorted(maps.Keys(config.Definitions))
	if d.schemas, err = builder3.BuildOpenAPIDefinitionsForResources(config, names...); err != nil {
		return nil, fmt.Errorf("building schemas: %w", err)
	}
	return d, nil
}

// v3Config is the OpenAPI 3.0 build configuration, with every definition.
func v3Config(n *namer, info *spec.Info) *common.OpenAPIV3Config {
	config := &common.OpenAPIV3Config{
		Info:                           info,
		DefaultResponse:                &spec3.Response{ResponseProps: spec3.ResponseProps{Description: "Default Response."}},
		CommonResponses:                map[int]*spec3.Response{http.StatusUnauthorized: {ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}}},
		GetDefinitionName:              n.definitionName,
		GetOperationIDAndTagsFromRoute: operationIDs(),
	}
	config.Definitions = GetOpenAPIDefinitions(func(name string) spec.Ref {
		defName, _ := n.definitionName(name)
		return spec.MustCreateRef("#/components/schemas/" + common.EscapeJsonPointer(defName))
	})
	return config
}

// serialize builds and serializes every document of groups; config is
// v3Config's, shared with the schemas.
func serialize(groups []routeGroup, n *namer, info *spec.Info, config *common.OpenAPIV3Config) (*serialized, error) {
	d := &serialized{v3: map[string]*document{}}

	// Swagger 2.0: everything in one document.
	containers := make([]common.RouteContainer, 0, len(groups))
	for _, g := range groups {
		containers = append(containers, g.paths)
	}
	v2, err := builder.BuildOpenAPISpecFromRoutes(containers, &common.Config{
		ProtocolList:                   []string{"https"},
		Info:                           info,
		DefaultResponse:                &spec.Response{ResponseProps: spec.ResponseProps{Description: "Default Response."}},
		CommonResponses:                map[int]spec.Response{http.StatusUnauthorized: {ResponseProps: spec.ResponseProps{Description: "Unauthorized"}}},
		GetDefinitions:                 GetOpenAPIDefinitions,
		GetDefinitionName:              n.definitionName,
		GetOperationIDAndTagsFromRoute: operationIDs(),
		SecurityDefinitions: &spec.SecurityDefinitions{"BearerToken": &spec.SecurityScheme{SecuritySchemeProps: spec.SecuritySchemeProps{
			Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
		}}},
		DefaultSecurity: []map[string][]string{{"BearerToken": {}}},
	})
	if err != nil {
		return nil, fmt.Errorf("building OpenAPI v2: %w", err)
	}
	v2JSON, err := v2.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding OpenAPI v2: %w", err)
	}
	d.v2JSON = newDocument(v2JSON)
	// Only kubectl 1.27 and 1.28 ask for the gnostic protobuf, and its
	// conversion (through YAML) is the costliest step here: build it on
	// its first request.
	d.v2Proto = sync.OnceValues(func() (*document, error) {
		gnostic, err := openapiv2.ParseDocument(v2JSON)
		if err != nil {
			return nil, fmt.Errorf("converting OpenAPI v2 to protobuf: %w", err)
		}
		v2Proto, err := proto.Marshal(gnostic)
		if err != nil {
			return nil, fmt.Errorf("encoding OpenAPI v2 protobuf: %w", err)
		}
		return newDocument(v2Proto), nil
	})

	// OpenAPI 3.0: one document per group version (and per discovery URL),
	// sharing one set of definitions.
	index := indexDocument{Paths: map[string]indexEntry{}}
	for _, g := range groups {
		doc, err := builder3.BuildOpenAPISpecFromRoutes([]common.RouteContainer{g.paths}, config)
		if err != nil {
			return nil, fmt.Errorf("building OpenAPI v3 for %s: %w", g.key, err)
		}
		body, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("encoding OpenAPI v3 for %s: %w", g.key, err)
		}
		d.v3[g.key] = newDocument(body)
		index.Paths[g.key] = indexEntry{ServerRelativeURL: hashedURL(g.key, d.v3[g.key].etag)}
	}
	body, err := json.Marshal(index)
	if err != nil {
		return nil, fmt.Errorf("encoding OpenAPI v3 index: %w", err)
	}
	d.v3Index = newDocument(body)
	return d, nil
}

// Schemas returns every definition, keyed by REST-friendly name
// ("io.k8s.api.batch.v1.Job"), in OpenAPI v3 form with the
// x-kubernetes-group-version-kind extension on top-level kinds: the input
// managedfields.NewTypeConverter takes for server-side apply. The map is
// the caller's; the schemas are shared and must not be modified.
func (d *Documents) Schemas() map[string]*spec.Schema {
	return maps.Clone(d.schemas)
}

// indexDocument is /openapi/v3.
type indexDocument struct {
	Paths map[string]indexEntry `json:"paths"`
}

type indexEntry struct {
	ServerRelativeURL string `json:"serverRelativeURL"`
}

// hashedURL is a v3 document's URL pinned to its content, as the index
// lists it: /openapi/v3/apis/batch/v1?hash=<etag>.
func hashedURL(key, etag string) string {
	return "/openapi/v3/" + key + "?" + url.Values{"hash": {etag}}.Encode()
}

// kubeVersion is the info.version upstream publishes: the server's
// Kubernetes version without pre-release or build suffixes.
func kubeVersion(info apiversion.Info) string {
	v, _, _ := strings.Cut(info.GitVersion, "+")
	v, _, _ = strings.Cut(v, "-")
	return v
}

// routeGroups declares the routes of each v3 document: one per group
// version with its discovery URL and resources, plus the /api/, /apis/,
// /apis/<group>/ discovery URLs and /version/, as upstream lists them.
func routeGroups(scheme *runtime.Scheme, resources []Resource) ([]routeGroup, error) {
	byGV := map[schema.GroupVersion]*routes{}
	var gvs []schema.GroupVersion
	listed := map[schema.GroupVersionResource]bool{}
	for _, res := range resources {
		gvr := res.GroupVersion.WithResource(res.Resource)
		if listed[gvr] {
			return nil, fmt.Errorf("resource %s listed twice", gvr)
		}
		listed[gvr] = true
		rs, err := resourceRoutes(scheme, res)
		if err != nil {
			return nil, err
		}
		gv := res.GroupVersion
		g, ok := byGV[gv]
		if !ok {
			g = &routes{root: rootPath(gv)}
			g.list = append(g.list, discoveryRoute(g.root+"/", "getAPIResources", "get available resources", mediaTypes, &metav1.APIResourceList{}))
			byGV[gv] = g
			gvs = append(gvs, gv)
		}
		g.list = append(g.list, rs...)
	}
	slices.SortFunc(gvs, func(a, b schema.GroupVersion) int {
		return strings.Compare(a.Group+"/"+a.Version, b.Group+"/"+b.Version)
	})

	var out []routeGroup
	single := func(key string, r *route) {
		out = append(out, routeGroup{key: key, paths: &routes{root: strings.TrimSuffix(r.path, "/"), list: []common.Route{r}}})
	}
	single("api", discoveryRoute("/api/", "getAPIVersions", "get available API versions", mediaTypes, &metav1.APIVersions{}))
	single("apis", discoveryRoute("/apis/", "getAPIVersions", "get available API versions", mediaTypes, &metav1.APIGroupList{}))
	seen := map[string]bool{}
	for _, gv := range gvs {
		if gv.Group != "" && !seen[gv.Group] {
			seen[gv.Group] = true
			single("apis/"+gv.Group, discoveryRoute("/apis/"+gv.Group+"/", "getAPIGroup", "get information of a group", mediaTypes, &metav1.APIGroup{}))
		}
		g := byGV[gv]
		out = append(out, routeGroup{key: strings.TrimPrefix(g.root, "/"), paths: g})
	}
	single("version", discoveryRoute("/version/", "getCodeVersion", "get the version information for this server", []string{"application/json"}, &apiversion.Info{}))
	return out, nil
}

// rootPath is where a group version's URLs start: /api/v1, /apis/batch/v1.
func rootPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

// discoveryRoute is a GET of a discovery or version document.
func discoveryRoute(path, operation, doc string, produces []string, model any) *route {
	return &route{
		method: http.MethodGet, path: path, operation: operation, doc: doc,
		consumes: produces, produces: produces, writes: model,
	}
}
