package openapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/common"
)

// Resource is one served resource, as discovery lists it.
type Resource struct {
	GroupVersion schema.GroupVersion
	// Resource is the plural lowercase name used in URLs ("jobs").
	Resource string
	// Kind is the kind of the resource's objects ("Job"); the list kind is
	// Kind+"List".
	Kind       string
	Namespaced bool
	// Subresources served under the object's URL: "status", "finalize",
	// "ephemeralcontainers", "resize", "log", "exec", "attach",
	// "portforward", "binding", "eviction" or "token". Each gets upstream's
	// operations for it, whatever Verbs says.
	Subresources []string
	// Verbs are the discovery verbs of the resource itself: create, delete,
	// deletecollection, get, list, patch, update, watch. Each verb adds its
	// operation (watch only changes how list is described).
	Verbs []string
	// ReturnDeletedObject: DELETE answers with the deleted object rather
	// than a Status (upstream does this for pods).
	ReturnDeletedObject bool
}

// Extension names upstream puts on operations.
const (
	extensionGVK    = "x-kubernetes-group-version-kind"
	extensionAction = "x-kubernetes-action"
)

// Media types declared on operations: what batchd's API server speaks.
var (
	mediaTypes  = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	streamTypes = []string{"application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"}
	patchTypes  = []string{
		"application/json-patch+json",
		"application/merge-patch+json",
		"application/strategic-merge-patch+json",
		"application/apply-patch+yaml",
	}
	anyType = []string{"*/*"}
)

// subresource is how upstream serves one subresource.
type subresource struct {
	// kind is the kind of the subresource's objects; empty means the
	// parent's.
	kind schema.GroupVersionKind
	// verbs: get, update, patch, create, or connect.
	verbs []string
	// options are GET's (log) or CONNECT's query options.
	options any
	// connectMethods are the HTTP methods of a connect subresource.
	connectMethods []string
	// text: GET answers plain text (log).
	text bool
}

// subresourceOf describes the subresources this package knows.
func subresourceOf(name string) (subresource, bool) {
	switch name {
	case "status", "ephemeralcontainers", "resize":
		return subresource{verbs: []string{"get", "update", "patch"}}, true
	case "finalize":
		return subresource{verbs: []string{"update"}}, true
	case "log":
		return subresource{verbs: []string{"get"}, options: &corev1.PodLogOptions{}, text: true}, true
	case "exec":
		return subresource{verbs: []string{"connect"}, options: &corev1.PodExecOptions{}, connectMethods: []string{"GET", "POST"}}, true
	case "attach":
		return subresource{verbs: []string{"connect"}, options: &corev1.PodAttachOptions{}, connectMethods: []string{"GET", "POST"}}, true
	case "portforward":
		return subresource{verbs: []string{"connect"}, options: &corev1.PodPortForwardOptions{}, connectMethods: []string{"GET", "POST"}}, true
	case "binding":
		return subresource{verbs: []string{"create"}, kind: corev1.SchemeGroupVersion.WithKind("Binding")}, true
	case "eviction":
		return subresource{verbs: []string{"create"}, kind: policyv1.SchemeGroupVersion.WithKind("Eviction")}, true
	case "token":
		return subresource{verbs: []string{"create"}, kind: authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")}, true
	}
	return subresource{}, false
}

// action is one operation to declare, before it becomes a route (the
// "actions" of upstream's installer).
type action struct {
	verb          string // LIST, POST, DELETECOLLECTION, GET, PUT, PATCH, DELETE, CONNECT
	path          string
	params        []common.Parameter // path parameters
	allNamespaces bool
}

// resourceRoutes declares the operations upstream's API installer declares
// for res and its subresources.
func resourceRoutes(scheme *runtime.Scheme, res Resource) ([]common.Route, error) {
	if res.Resource == "" || res.Kind == "" || res.GroupVersion.Version == "" {
		return nil, fmt.Errorf("resource %+v: Resource, Kind and GroupVersion.Version are required", res)
	}
	kind := res.GroupVersion.WithKind(res.Kind)
	var out []common.Route
	rs, err := routesFor(scheme, res, kind, "", subresource{verbs: res.Verbs})
	if err != nil {
		return nil, err
	}
	out = append(out, rs...)
	for _, name := range res.Subresources {
		sub, ok := subresourceOf(name)
		if !ok {
			return nil, fmt.Errorf("resource %s: unknown subresource %q", res.Resource, name)
		}
		subKind := kind
		if !sub.kind.Empty() {
			subKind = sub.kind
		}
		rs, err := routesFor(scheme, res, subKind, name, sub)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// routesFor builds the routes of res itself (subName "") or of one of its
// subresources, whose objects are of kind gvk.
func routesFor(scheme *runtime.Scheme, res Resource, gvk schema.GroupVersionKind, subName string, sub subresource) ([]common.Route, error) {
	object, err := sample(scheme, gvk)
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", res.Resource, err)
	}
	has := func(verb string) bool { return slices.Contains(sub.verbs, verb) }
	var list any
	if subName == "" && has("list") {
		if list, err = sample(scheme, gvk.GroupVersion().WithKind(gvk.Kind+"List")); err != nil {
			return nil, fmt.Errorf("resource %s: %w", res.Resource, err)
		}
	}

	// Paths, as in upstream's installer.
	prefix := rootPath(res.GroupVersion)
	nameParam := pathParam("name", "name of the "+gvk.Kind)
	var scopeParams []common.Parameter
	collection := prefix + "/" + res.Resource
	namespaced := ""
	if res.Namespaced {
		scopeParams = []common.Parameter{pathParam("namespace", "object name and auth scope, such as for teams and projects")}
		collection = prefix + "/namespaces/{namespace}/" + res.Resource
		namespaced = "Namespaced"
	}
	item := collection + "/{name}"
	itemParams := append(slices.Clone(scopeParams), nameParam)
	collectionParams := scopeParams
	if subName != "" {
		item += "/" + subName
		collection, collectionParams = item, itemParams
	}

	var actions []action
	add := func(ok bool, a action) {
		if ok {
			actions = append(actions, a)
		}
	}
	add(has("list"), action{verb: "LIST", path: collection, params: collectionParams})
	add(has("create"), action{verb: "POST", path: collection, params: collectionParams})
	add(has("deletecollection"), action{verb: "DELETECOLLECTION", path: collection, params: collectionParams})
	add(has("get"), action{verb: "GET", path: item, params: itemParams})
	add(has("update"), action{verb: "PUT", path: item, params: itemParams})
	add(has("patch"), action{verb: "PATCH", path: item, params: itemParams})
	add(has("delete"), action{verb: "DELETE", path: item, params: itemParams})
	add(has("connect"), action{verb: "CONNECT", path: item, params: itemParams})
	add(res.Namespaced && subName == "" && has("list"), action{verb: "LIST", path: prefix + "/" + res.Resource, allNamespaces: true})

	// Operation names and docs use the parent's kind, as upstream does.
	kind := res.Kind
	title := titleCase(subName)
	metadata := map[string]any{
		extensionGVK: metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
	}
	var status any = &metav1.Status{}
	var out []common.Route
	for _, a := range actions {
		scope, suffix := namespaced, ""
		if a.allNamespaces {
			scope, suffix = "", "ForAllNamespaces"
		}
		name := scope + kind + title + suffix
		meta := func(verb string) map[string]any {
			m := map[string]any{extensionAction: verb}
			for k, v := range metadata {
				m[k] = v
			}
			return m
		}
		params := func(ps ...[]common.Parameter) []common.Parameter {
			out := []common.Parameter{prettyParam}
			for _, p := range ps {
				out = append(out, p...)
			}
			return append(out, a.params...)
		}
		switch a.verb {
		case "GET":
			doc := "read the specified " + kind
			if subName != "" {
				doc = "read " + subName + " of the specified " + kind
			}
			var produced any = object
			produces := mediaTypes
			var options []common.Parameter
			if sub.options != nil {
				options = optionParams(sub.options)
			}
			if sub.text {
				produced, produces = "", append([]string{"text/plain"}, mediaTypes...)
			}
			out = append(out, &route{
				method: http.MethodGet, path: a.path, operation: "read" + name, doc: doc,
				params:   params(options),
				consumes: anyType, produces: produces, metadata: meta("get"),
				writes:    produced,
				responses: []common.StatusCodeResponse{response{http.StatusOK, "OK", produced}},
			})
		case "LIST":
			doc := "list objects of kind " + kind
			if has("watch") {
				doc = "list or watch objects of kind " + kind
			}
			out = append(out, &route{
				method: http.MethodGet, path: a.path, operation: "list" + name, doc: doc,
				params:   params(optionParams(&metav1.ListOptions{})),
				consumes: anyType, produces: append(slices.Clone(mediaTypes), streamTypes...), metadata: meta("list"),
				writes:    list,
				responses: []common.StatusCodeResponse{response{http.StatusOK, "OK", list}},
			})
		case "PUT":
			doc := "replace the specified " + kind
			if subName != "" {
				doc = "replace " + subName + " of the specified " + kind
			}
			out = append(out, &route{
				method: http.MethodPut, path: a.path, operation: "replace" + name, doc: doc,
				params:   params([]common.Parameter{bodyParam(true)}, optionParams(&metav1.UpdateOptions{})),
				consumes: anyType, produces: mediaTypes, metadata: meta("put"),
				reads: object, writes: object,
				responses: []common.StatusCodeResponse{
					response{http.StatusOK, "OK", object},
					response{http.StatusCreated, "Created", object},
				},
			})
		case "PATCH":
			doc := "partially update the specified " + kind
			if subName != "" {
				doc = "partially update " + subName + " of the specified " + kind
			}
			out = append(out, &route{
				method: http.MethodPatch, path: a.path, operation: "patch" + name, doc: doc,
				params:   params([]common.Parameter{bodyParam(true)}, optionParams(&metav1.PatchOptions{})),
				consumes: patchTypes, produces: mediaTypes, metadata: meta("patch"),
				reads: &metav1.Patch{}, writes: object,
				responses: []common.StatusCodeResponse{
					response{http.StatusOK, "OK", object},
					response{http.StatusCreated, "Created", object},
				},
			})
		case "POST":
			article := articleFor(kind)
			doc := "create" + article + kind
			if subName != "" {
				doc = "create " + subName + " of" + article + kind
			}
			out = append(out, &route{
				method: http.MethodPost, path: a.path, operation: "create" + name, doc: doc,
				params:   params([]common.Parameter{bodyParam(true)}, optionParams(&metav1.CreateOptions{})),
				consumes: anyType, produces: mediaTypes, metadata: meta("post"),
				reads: object, writes: object,
				responses: []common.StatusCodeResponse{
					response{http.StatusOK, "OK", object},
					response{http.StatusCreated, "Created", object},
					response{http.StatusAccepted, "Accepted", object},
				},
			})
		case "DELETE":
			doc := "delete" + articleFor(kind) + kind
			deleted := status
			if res.ReturnDeletedObject {
				deleted = object
			}
			out = append(out, &route{
				method: http.MethodDelete, path: a.path, operation: "delete" + name, doc: doc,
				params:   params([]common.Parameter{bodyParam(false)}, optionParams(&metav1.DeleteOptions{})),
				consumes: anyType, produces: mediaTypes, metadata: meta("delete"),
				reads: &metav1.DeleteOptions{}, writes: deleted,
				responses: []common.StatusCodeResponse{
					response{http.StatusOK, "OK", deleted},
					response{http.StatusAccepted, "Accepted", deleted},
				},
			})
		case "DELETECOLLECTION":
			out = append(out, &route{
				method: http.MethodDelete, path: a.path, operation: "deletecollection" + name, doc: "delete collection of " + kind,
				params: params([]common.Parameter{bodyParam(false)}, optionParams(&metav1.DeleteOptions{}),
					optionParams(&metav1.ListOptions{}, "watch", "allowWatchBookmarks")),
				consumes: anyType, produces: mediaTypes, metadata: meta("deletecollection"),
				reads: &metav1.DeleteOptions{}, writes: status,
				responses: []common.StatusCodeResponse{response{http.StatusOK, "OK", status}},
			})
		case "CONNECT":
			for _, method := range sub.connectMethods {
				doc := "connect " + method + " requests to " + kind
				if subName != "" {
					doc = "connect " + method + " requests to " + subName + " of " + kind
				}
				out = append(out, &route{
					method: method, path: a.path,
					operation: "connect" + titleCase(strings.ToLower(method)) + name, doc: doc,
					params:   append(optionParams(sub.options), a.params...),
					consumes: anyType, produces: anyType, metadata: meta("connect"),
					writes: "",
				})
			}
		}
	}
	return out, nil
}

// sample returns a zero object of kind gvk, from which the builders find
// the kind's schema.
func sample(scheme *runtime.Scheme, gvk schema.GroupVersionKind) (runtime.Object, error) {
	obj, err := scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("no Go type for %s: %w", gvk, err)
	}
	return obj, nil
}

// articleFor is upstream's GetArticleForNoun with single-space padding:
// " a ", " an ", or " " for plurals.
func articleFor(noun string) string {
	if !strings.HasSuffix(noun, "ss") && strings.HasSuffix(noun, "s") {
		return " "
	}
	if strings.ContainsRune("aeiou", unicode.ToLower(rune(noun[0]))) {
		return " an "
	}
	return " a "
}

// titleCase upper-cases the first letter, as strings.Title does for the
// single words upstream passes it.
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
