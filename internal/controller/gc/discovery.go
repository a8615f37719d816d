package gc

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Verbs a resource needs for the collector to watch and delete its objects
// (upstream's GetDeletableResources).
var requiredVerbs = []string{"delete", "list", "watch"}

// ignoredResources are never watched, as upstream: events are many, short
// lived, and nobody's owner.
var ignoredResources = []schema.GroupResource{
	{Group: "", Resource: "events"},
	{Group: "events.k8s.io", Resource: "events"},
}

// resource is one served resource and the kind of its objects.
type resource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
}

func (r resource) gvk() schema.GroupVersionKind { return r.gvr.GroupVersion().WithKind(r.kind) }

// resources is what discovery told the collector.
type resources struct {
	// watched are the resources to watch: the preferred version of every
	// resource that supports list, watch and delete, ordered by group,
	// version and resource.
	watched []resource
	// kinds maps every served group, version and kind to its resource, for
	// the kinds ownerReferences name.
	kinds map[schema.GroupVersionKind]resource
}

// lookup returns the resource serving apiVersion and kind.
func (rs resources) lookup(apiVersion, kind string) (resource, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return resource{}, fmt.Errorf("parsing apiVersion %q: %w", apiVersion, err)
	}
	r, ok := rs.kinds[gv.WithKind(kind)]
	if !ok {
		return resource{}, fmt.Errorf("%w: %s, Kind=%s", errUnknownKind, apiVersion, kind)
	}
	return r, nil
}

// collectable picks, from a discovery answer, the resources to watch and the
// kinds the server serves. Subresources are skipped, and so are group
// versions that do not parse.
func collectable(groups []*metav1.APIGroup, lists []*metav1.APIResourceList) resources {
	preferred := make(map[string]string) // group -> preferred group version
	for _, g := range groups {
		if g != nil {
			preferred[g.Name] = g.PreferredVersion.GroupVersion
		}
	}
	rs := resources{kinds: make(map[schema.GroupVersionKind]resource)}
	seen := make(map[schema.GroupVersionResource]bool)
	for _, l := range lists {
		if l == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, ar := range l.APIResources {
			if strings.Contains(ar.Name, "/") || ar.Kind == "" {
				continue
			}
			r := resource{gvr: gv.WithResource(ar.Name), kind: ar.Kind, namespaced: ar.Namespaced}
			if _, ok := rs.kinds[r.gvk()]; !ok {
				rs.kinds[r.gvk()] = r
			}
			if seen[r.gvr] || !watchable(ar, r, preferred) {
				continue
			}
			seen[r.gvr] = true
			rs.watched = append(rs.watched, r)
		}
	}
	slices.SortFunc(rs.watched, func(a, b resource) int {
		return cmp.Or(
			strings.Compare(a.gvr.Group, b.gvr.Group),
			strings.Compare(a.gvr.Version, b.gvr.Version),
			strings.Compare(a.gvr.Resource, b.gvr.Resource))
	})
	return rs
}

// watchable reports whether the collector watches r, discovered as ar.
// A group that discovery listed without a preferred version counts every
// version as preferred.
func watchable(ar metav1.APIResource, r resource, preferred map[string]string) bool {
	if p, ok := preferred[r.gvr.Group]; ok && p != "" && p != r.gvr.GroupVersion().String() {
		return false
	}
	if slices.Contains(ignoredResources, r.gvr.GroupResource()) {
		return false
	}
	for _, v := range requiredVerbs {
		if !slices.Contains(ar.Verbs, v) {
			return false
		}
	}
	return true
}
