package openapi

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/util"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// newScheme registers the API groups whose types zz_generated.openapi.go
// describes, with meta/v1's options and WatchEvent in each group version as
// upstream's scheme has them, so the definition namer can tell every
// top-level kind's group, version and kind.
func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		batchv1.AddToScheme,
		coordinationv1.AddToScheme,
		eventsv1.AddToScheme,
		policyv1.AddToScheme,
		authenticationv1.AddToScheme,
		authorizationv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("building scheme: %w", err)
		}
	}
	for _, gv := range s.PrioritizedVersionsAllGroups() {
		metav1.AddToGroupVersion(s, gv)
	}
	return s, nil
}

// namer names definitions and tags top-level kinds, as upstream's
// k8s.io/apiserver/pkg/endpoints/openapi.DefinitionNamer does.
type namer struct {
	gvks map[string][]schema.GroupVersionKind // by REST-friendly definition name
}

func newNamer(scheme *runtime.Scheme) (*namer, error) {
	n := &namer{gvks: map[string][]schema.GroupVersionKind{}}
	for gvk := range scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		name, err := scheme.ToOpenAPIDefinitionName(gvk)
		if err != nil {
			return nil, fmt.Errorf("naming the definition of %s: %w", gvk, err)
		}
		n.gvks[name] = append(n.gvks[name], gvk)
	}
	for _, list := range n.gvks {
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.Group != b.Group {
				return a.Group < b.Group
			}
			if a.Version != b.Version {
				return a.Version < b.Version
			}
			return a.Kind < b.Kind
		})
	}
	return n, nil
}

// definitionName returns the REST-friendly name of a definition and, for
// top-level kinds, the x-kubernetes-group-version-kind extension. Names the
// generator already gives in REST-friendly form (OpenAPIModelName) are kept;
// Go type paths ("k8s.io/api/batch/v1.Job") are converted.
func (n *namer) definitionName(name string) (string, spec.Extensions) {
	if strings.Contains(name, "/") {
		name = util.ToRESTFriendlyName(name)
	}
	gvks, ok := n.gvks[name]
	if !ok {
		return name, nil
	}
	// The extension is built of plain maps and slices, as it reads after a
	// JSON round trip: managedfields' type converter expects that shape.
	list := make([]any, 0, len(gvks))
	for _, gvk := range gvks {
		list = append(list, map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind})
	}
	return name, spec.Extensions{extensionGVK: list}
}

// operationIDs returns upstream's GetOperationIDAndTagsFromRoute: it puts
// the group and version into the operation name ("patchNamespacedJob" on
// /apis/batch/v1/... becomes "patchBatchV1NamespacedJob", tag "batch_v1").
func operationIDs() func(common.Route) (string, []string, error) {
	// The operation-name prefixes upstream recognises. The trie answers the
	// shortest match, so "deletecollectionNamespacedJob" reads as "delete"
	// + "collectionNamespacedJob", as upstream's IDs have it.
	verbs := util.NewTrie([]string{"get", "log", "read", "replace", "patch", "delete", "deletecollection", "watch", "connect", "proxy", "list", "create"})
	return func(r common.Route) (string, []string, error) {
		op := r.OperationName()
		prefix, ok := verbs.GetPrefix(op)
		if !ok {
			return op, nil, fmt.Errorf("operation %q does not start with a verb", op)
		}
		op = op[len(prefix):]
		parts := strings.Split(strings.Trim(r.Path(), "/"), "/")
		if parts[0] == "api" {
			parts = append([]string{"apis", "core"}, parts[1:]...)
		}
		var tags []string
		if len(parts) >= 2 && parts[0] == "apis" {
			group := strings.TrimSuffix(parts[1], ".k8s.io")
			prefix += validOperationID(group, prefix != "")
			tag := validOperationID(group, false)
			if len(parts) > 2 {
				prefix += validOperationID(parts[2], prefix != "")
				tag += "_" + validOperationID(parts[2], false)
			}
			tags = append(tags, tag)
		} else {
			tags = append(tags, validOperationID(parts[0], false))
		}
		return prefix + validOperationID(op, prefix != ""), tags, nil
	}
}

// validOperationID drops punctuation and camel-cases what follows it.
func validOperationID(s string, capitalizeFirst bool) string {
	var b bytes.Buffer
	capitalize := capitalizeFirst
	for i, r := range s {
		if unicode.IsLetter(r) || r == '_' || (i != 0 && unicode.IsDigit(r)) {
			if capitalize {
				b.WriteRune(unicode.ToUpper(r))
				capitalize = false
			} else {
				b.WriteRune(r)
			}
		} else {
			capitalize = true
		}
	}
	return b.String()
}
