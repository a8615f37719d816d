package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/munnerz/goautoneg"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apidiscoveryv2beta1 "k8s.io/api/apidiscovery/v2beta1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/batchd/batchd/internal/registry"
)

// Verbs advertised in discovery.
var (
	resourceVerbs           = metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	noCollectionDeleteVerbs = metav1.Verbs{"create", "delete", "get", "list", "patch", "update", "watch"}
	subresourceVerbs        = metav1.Verbs{"get", "patch", "update"}
	finalizeVerbs           = metav1.Verbs{"update"}
)

// served describes one resource for discovery.
type served struct {
	gv           schema.GroupVersion
	name         string
	singular     string
	kind         string
	namespaced   bool
	verbs        metav1.Verbs
	shortNames   []string
	categories   []string
	subresources []servedSubresource
}

type servedSubresource struct {
	name  string
	kind  schema.GroupVersionKind // the kind the subresource takes and returns
	verbs metav1.Verbs
}

// apiGroup is one served group with its (single) version's resources.
type apiGroup struct {
	gv        schema.GroupVersion
	resources []served
}

// servedResources lists what discovery advertises: every store's resource
// with its subresources, the pods/eviction subresource, serviceaccounts/token
// (if tokens are issued) and the review resources.
func servedResources(stores []*registry.Store, tokens bool) []served {
	var out []served
	for _, st := range stores {
		res := st.Resource()
		verbs := resourceVerbs
		if res.NoDeleteCollection {
			verbs = noCollectionDeleteVerbs
		}
		sv := served{gv: res.GroupVersion, name: res.Name, singular: res.SingularName, kind: res.Kind, namespaced: res.Namespaced,
			verbs: verbs, shortNames: res.ShortNames, categories: res.Categories}
		for name := range res.Subresources {
			kind := res.GroupVersionKind()
			if name == bindingSubresource {
				kind = kind.GroupVersion().WithKind("Binding")
			}
			sv.subresources = append(sv.subresources, servedSubresource{name: name, kind: kind, verbs: subresourceVerbsFor(name)})
		}
		if res.GroupResource() == podsResource {
			sv.subresources = append(sv.subresources, servedSubresource{name: "eviction",
				kind: policyv1.SchemeGroupVersion.WithKind("Eviction"), verbs: metav1.Verbs{"create"}})
			sv.subresources = append(sv.subresources, servedSubresource{name: logSubresource, kind: res.GroupVersion.WithKind("Pod"), verbs: metav1.Verbs{"get"}})
		}
		if tokens && res.GroupVersionResource() == serviceAccountsResource {
			sv.subresources = append(sv.subresources, servedSubresource{name: tokenSubresource, kind: tokenRequestKind, verbs: metav1.Verbs{"create"}})
		}
		sort.Slice(sv.subresources, func(i, j int) bool { return sv.subresources[i].name < sv.subresources[j].name })
		out = append(out, sv)
	}
	for gvr, rv := range reviews {
		out = append(out, served{gv: gvr.GroupVersion(), name: gvr.Resource, kind: rv.kind, verbs: metav1.Verbs{"create"}})
	}
	return out
}

// groupsOf groups resources by group version: core first, then the named
// groups alphabetically, resources by name.
func groupsOf(resources []served) []apiGroup {
	byGV := map[schema.GroupVersion]*apiGroup{}
	var order []schema.GroupVersion
	for _, res := range resources {
		g, ok := byGV[res.gv]
		if !ok {
			g = &apiGroup{gv: res.gv}
			byGV[res.gv] = g
			order = append(order, res.gv)
		}
		g.resources = append(g.resources, res)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].Group != order[j].Group {
			return order[i].Group < order[j].Group
		}
		// Within a group, the preferred (most stable) version first.
		return version.CompareKubeAwareVersionStrings(order[i].Version, order[j].Version) > 0
	})
	out := make([]apiGroup, 0, len(order))
	for _, gv := range order {
		g := byGV[gv]
		sort.Slice(g.resources, func(i, j int) bool { return g.resources[i].name < g.resources[j].name })
		out = append(out, *g)
	}
	return out
}

// discoveryDocs are the discovery documents, built once at start.
type discoveryDocs struct {
	legacyResources map[schema.GroupVersion]*metav1.APIResourceList
	groupList       *metav1.APIGroupList
	groups          map[string]*metav1.APIGroup
	// aggregated[api or apis][v2 or v2beta1] is the JSON document.
	aggregated map[string]map[string][]byte
}

func subresourceVerbsFor(name string) metav1.Verbs {
	switch name {
	case "finalize":
		return finalizeVerbs
	case bindingSubresource:
		return metav1.Verbs{"create"}
	}
	return subresourceVerbs
}

func buildDiscovery(groups []apiGroup) (discoveryDocs, error) {
	d := discoveryDocs{
		legacyResources: map[schema.GroupVersion]*metav1.APIResourceList{},
		groupList:       &metav1.APIGroupList{},
		groups:          map[string]*metav1.APIGroup{},
		aggregated:      map[string]map[string][]byte{},
	}
	aggregated := map[string]*apidiscoveryv2.APIGroupDiscoveryList{"api": {}, "apis": {}}
	for _, g := range groups {
		list := &metav1.APIResourceList{GroupVersion: g.gv.String()}
		version := apidiscoveryv2.APIVersionDiscovery{Version: g.gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, res := range g.resources {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: res.name, SingularName: res.singular, Namespaced: res.namespaced, Kind: res.kind,
				Verbs: res.verbs, ShortNames: res.shortNames, Categories: res.categories,
			})
			scope := apidiscoveryv2.ScopeCluster
			if res.namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			rd := apidiscoveryv2.APIResourceDiscovery{
				Resource:         res.name,
				ResponseKind:     &metav1.GroupVersionKind{Group: res.gv.Group, Version: res.gv.Version, Kind: res.kind},
				Scope:            scope,
				SingularResource: res.singular,
				Verbs:            res.verbs,
				ShortNames:       res.shortNames,
				Categories:       res.categories,
			}
			for _, sub := range res.subresources {
				apiRes := metav1.APIResource{Name: res.name + "/" + sub.name, Namespaced: res.namespaced, Kind: sub.kind.Kind, Verbs: sub.verbs}
				if sub.kind.GroupVersion() != res.gv {
					apiRes.Group, apiRes.Version = sub.kind.Group, sub.kind.Version
				}
				list.APIResources = append(list.APIResources, apiRes)
				rd.Subresources = append(rd.Subresources, apidiscoveryv2.APISubresourceDiscovery{
					Subresource:  sub.name,
					ResponseKind: &metav1.GroupVersionKind{Group: sub.kind.Group, Version: sub.kind.Version, Kind: sub.kind.Kind},
					Verbs:        sub.verbs,
				})
			}
			version.Resources = append(version.Resources, rd)
		}
		d.legacyResources[g.gv] = list
		doc := apidiscoveryv2.APIGroupDiscovery{
			ObjectMeta: metav1.ObjectMeta{Name: g.gv.Group},
			Versions:   []apidiscoveryv2.APIVersionDiscovery{version},
		}
		if g.gv.Group == "" {
			aggregated["api"].Items = append(aggregated["api"].Items, doc)
			continue
		}
		gvd := metav1.GroupVersionForDiscovery{GroupVersion: g.gv.String(), Version: g.gv.Version}
		// groupsOf lists a group's preferred version first; later versions
		// join its entries.
		if items := aggregated["apis"].Items; len(items) > 0 && items[len(items)-1].Name == g.gv.Group {
			items[len(items)-1].Versions = append(items[len(items)-1].Versions, version)
			last := &d.groupList.Groups[len(d.groupList.Groups)-1]
			last.Versions = append(last.Versions, gvd)
			d.groups[g.gv.Group] = last
			continue
		}
		aggregated["apis"].Items = append(aggregated["apis"].Items, doc)
		d.groupList.Groups = append(d.groupList.Groups, metav1.APIGroup{Name: g.gv.Group, Versions: []metav1.GroupVersionForDiscovery{gvd}, PreferredVersion: gvd})
	}
	for i := range d.groupList.Groups {
		d.groups[d.groupList.Groups[i].Name] = &d.groupList.Groups[i]
	}
	for root, list := range aggregated {
		list.TypeMeta = metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: apidiscoveryv2.SchemeGroupVersion.String()}
		v2, err := json.Marshal(list)
		if err != nil {
			return d, fmt.Errorf("encoding discovery: %w", err)
		}
		// v2beta1 has the same shape under another version.
		var beta apidiscoveryv2beta1.APIGroupDiscoveryList
		if err := json.Unmarshal(v2, &beta); err != nil {
			return d, fmt.Errorf("encoding discovery: %w", err)
		}
		beta.TypeMeta.APIVersion = apidiscoveryv2beta1.SchemeGroupVersion.String()
		v2beta1, err := json.Marshal(&beta)
		if err != nil {
			return d, fmt.Errorf("encoding discovery: %w", err)
		}
		d.aggregated[root] = map[string][]byte{"v2": v2, "v2beta1": v2beta1}
	}
	return d, nil
}

// aggregatedVersion returns "v2" or "v2beta1" when the Accept header asks
// for aggregated discovery in JSON before anything else it accepts.
func aggregatedVersion(r *http.Request) string {
	for _, c := range goautoneg.ParseAccept(r.Header.Get("Accept")) {
		if c.Params["as"] == "APIGroupDiscoveryList" && c.Params["g"] == apidiscoveryv2.GroupName &&
			c.Type == "application" && c.SubType == "json" && (c.Params["v"] == "v2" || c.Params["v"] == "v2beta1") {
			return c.Params["v"]
		}
		if c.Params["as"] == "" {
			return ""
		}
	}
	return ""
}

func (s *Server) serveDiscoveryRoot(w http.ResponseWriter, r *http.Request, path string) {
	root := path[1:]
	if v := aggregatedVersion(r); v != "" {
		w.Header().Set("Content-Type", fmt.Sprintf("application/json;g=%s;v=%s;as=APIGroupDiscoveryList", apidiscoveryv2.GroupName, v))
		w.Header().Set("Vary", "Accept")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(s.discovery.aggregated[root][v])
		return
	}
	if root == "api" {
		s.writeUnversioned(w, r, &metav1.APIVersions{
			Versions:                   []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}},
		})
		return
	}
	s.writeUnversioned(w, r, s.discovery.groupList)
}

// serveDiscoveryGroup serves /api/v1, /apis/G and /apis/G/V.
func (s *Server) serveDiscoveryGroup(w http.ResponseWriter, r *http.Request, segs []string) {
	if r.Method != http.MethodGet {
		s.writeError(w, r, errPathNotFound())
		return
	}
	switch {
	case len(segs) == 2 && segs[0] == "api":
		if list, ok := s.discovery.legacyResources[schema.GroupVersion{Version: segs[1]}]; ok {
			s.writeUnversioned(w, r, list)
			return
		}
	case len(segs) == 2 && segs[0] == "apis":
		if g, ok := s.discovery.groups[segs[1]]; ok {
			s.writeUnversioned(w, r, g)
			return
		}
	case len(segs) == 3 && segs[0] == "apis":
		if list, ok := s.discovery.legacyResources[schema.GroupVersion{Group: segs[1], Version: segs[2]}]; ok {
			s.writeUnversioned(w, r, list)
			return
		}
	}
	s.writeError(w, r, errPathNotFound())
}

// writeUnversioned writes a discovery object (kind set, apiVersion v1).
func (s *Server) writeUnversioned(w http.ResponseWriter, r *http.Request, obj runtime.Object) {
	out, err := s.negotiateOutput(r)
	if err != nil || out.kind != outputObject {
		out = output{info: s.serializer(mediaJSON)}
	}
	var buf bytes.Buffer
	enc := s.codecs.EncoderForVersion(out.info.Serializer, schema.GroupVersion{Version: "v1"})
	if err := enc.Encode(obj, &buf); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", out.info.MediaType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
