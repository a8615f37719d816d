package openapi

import (
	"reflect"
	"slices"
	"strings"

	"k8s.io/kube-openapi/pkg/common"
)

// route is one operation, in the shape kube-openapi's builders read
// (common.Route). It carries what upstream's API installer declares on its
// go-restful routes, so the builders produce the same operations.
type route struct {
	method    string
	path      string
	operation string // e.g. "patchNamespacedJob"; operationID adds group and version
	doc       string
	params    []common.Parameter
	consumes  []string
	produces  []string
	metadata  map[string]any
	reads     any // request body sample; nil when there is no body
	writes    any // response sample
	responses []common.StatusCodeResponse
}

var _ common.Route = (*route)(nil)

func (r *route) Method() string                                   { return r.method }
func (r *route) Path() string                                     { return r.path }
func (r *route) OperationName() string                            { return r.operation }
func (r *route) Parameters() []common.Parameter                   { return r.params }
func (r *route) Description() string                              { return r.doc }
func (r *route) Consumes() []string                               { return r.consumes }
func (r *route) Produces() []string                               { return r.produces }
func (r *route) Metadata() map[string]any                         { return r.metadata }
func (r *route) RequestPayloadSample() any                        { return r.reads }
func (r *route) ResponsePayloadSample() any                       { return r.writes }
func (r *route) StatusCodeResponses() []common.StatusCodeResponse { return r.responses }

// param is a route parameter (common.Parameter).
type param struct {
	name        string
	description string
	kind        common.ParameterKind
	dataType    string
	required    bool
}

var _ common.Parameter = param{}

func (p param) Name() string               { return p.name }
func (p param) Description() string        { return p.description }
func (p param) Required() bool             { return p.required }
func (p param) Kind() common.ParameterKind { return p.kind }
func (p param) DataType() string           { return p.dataType }
func (p param) AllowMultiple() bool        { return false }

// response is one declared status code of a route.
type response struct {
	code    int
	message string
	model   any
}

var _ common.StatusCodeResponse = response{}

func (r response) Code() int       { return r.code }
func (r response) Message() string { return r.message }
func (r response) Model() any      { return r.model }

// routes groups the routes of one group version under its root path
// (common.RouteContainer).
type routes struct {
	root string
	list []common.Route
}

var _ common.RouteContainer = (*routes)(nil)

func (rs *routes) RootPath() string                   { return rs.root }
func (rs *routes) PathParameters() []common.Parameter { return nil }
func (rs *routes) Routes() []common.Route             { return rs.list }

func pathParam(name, description string) param {
	return param{name: name, description: description, kind: common.PathParameterKind, dataType: "string", required: true}
}

func queryParam(name, description, dataType string) param {
	return param{name: name, description: description, kind: common.QueryParameterKind, dataType: dataType}
}

// bodyParam is the request body; its schema comes from the route's reads
// sample.
func bodyParam(required bool) param {
	return param{name: "body", kind: common.BodyParameterKind, required: required}
}

// prettyParam is declared on every resource operation upstream.
var prettyParam = queryParam("pretty",
	"If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
	"string")

// documented is implemented by the API option types (their field docs).
type documented interface {
	SwaggerDoc() map[string]string
}

// optionParams turns the fields of an options struct (metav1.ListOptions,
// corev1.PodLogOptions...) into query parameters, as upstream's
// AddObjectParams does: scalar fields by JSON name, described by the type's
// SwaggerDoc, skipping embedded structs and the names in exclude.
func optionParams(obj any, exclude ...string) []common.Parameter {
	t := reflect.TypeOf(obj)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var docs map[string]string
	if d, ok := obj.(documented); ok {
		docs = d.SwaggerDoc()
	}
	var out []common.Parameter
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		switch ft.Kind() {
		case reflect.Interface, reflect.Struct:
			continue
		case reflect.Pointer:
			if k := ft.Elem().Kind(); (k == reflect.Interface || k == reflect.Struct) && ft.String() != "*v1.Time" {
				continue
			}
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || slices.Contains(exclude, name) {
			continue
		}
		out = append(out, queryParam(name, docs[name], jsonType(ft)))
	}
	return out
}

// jsonType is the OpenAPI type of a query parameter's Go type (upstream's
// typeToJSON): lists of strings are strings, named string types are strings.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	default: // strings, metav1.Time
		return "string"
	}
}
