package gc

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestCollectable(t *testing.T) {
	all := metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	groups := []*metav1.APIGroup{
		{Name: "", PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "v1"}},
		{Name: "batch", PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "batch/v1"}},
		{Name: "events.k8s.io", PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "events.k8s.io/v1"}},
		nil,
	}
	lists := []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Kind: "Pod", Namespaced: true, Verbs: all},
			{Name: "pods/status", Kind: "Pod", Namespaced: true, Verbs: metav1.Verbs{"get", "patch", "update"}},
			{Name: "namespaces", Kind: "Namespace", Verbs: all},
			{Name: "events", Kind: "Event", Namespaced: true, Verbs: all},
			{Name: "bindings", Kind: "Binding", Namespaced: true, Verbs: metav1.Verbs{"create"}},
			{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: metav1.Verbs{"delete", "list"}},
		}},
		{GroupVersion: "batch/v1", APIResources: []metav1.APIResource{
			{Name: "jobs", Kind: "Job", Namespaced: true, Verbs: all},
		}},
		{GroupVersion: "batch/v1beta1", APIResources: []metav1.APIResource{
			{Name: "cronjobs", Kind: "CronJob", Namespaced: true, Verbs: all},
		}},
		{GroupVersion: "events.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "events", Kind: "Event", Namespaced: true, Verbs: all},
		}},
		{GroupVersion: "a/b/c", APIResources: []metav1.APIResource{{Name: "things", Kind: "Thing", Verbs: all}}},
		nil,
	}
	pods := resource{gvr: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, kind: "Pod", namespaced: true}
	namespaces := resource{gvr: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, kind: "Namespace"}
	jobs := resource{gvr: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, kind: "Job", namespaced: true}
	cronjobs := resource{gvr: schema.GroupVersionResource{Group: "batch", Version: "v1beta1", Resource: "cronjobs"}, kind: "CronJob", namespaced: true}
	configmaps := resource{gvr: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, kind: "ConfigMap", namespaced: true}
	events := resource{gvr: schema.GroupVersionResource{Version: "v1", Resource: "events"}, kind: "Event", namespaced: true}
	bindings := resource{gvr: schema.GroupVersionResource{Version: "v1", Resource: "bindings"}, kind: "Binding", namespaced: true}
	newEvents := resource{gvr: schema.GroupVersionResource{Group: "events.k8s.io", Version: "v1", Resource: "events"}, kind: "Event", namespaced: true}

	got := collectable(groups, lists)

	// Not watched: subresources, events, resources missing a verb, versions
	// that are not preferred, group versions that do not parse.
	if diff := cmp.Diff([]resource{namespaces, pods, jobs}, got.watched, cmp.AllowUnexported(resource{})); diff != "" {
		t.Errorf("watched mismatch (-want +got):\n%s", diff)
	}
	wantKinds := map[schema.GroupVersionKind]resource{}
	for _, r := range []resource{pods, namespaces, jobs, cronjobs, configmaps, events, bindings, newEvents} {
		wantKinds[r.gvk()] = r
	}
	if diff := cmp.Diff(wantKinds, got.kinds, cmp.AllowUnexported(resource{})); diff != "" {
		t.Errorf("kinds mismatch (-want +got):\n%s", diff)
	}
}

func TestLookup(t *testing.T) {
	jobs := resource{gvr: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, kind: "Job", namespaced: true}
	rs := resources{kinds: map[schema.GroupVersionKind]resource{jobs.gvk(): jobs}}
	tests := []struct {
		name        string
		apiVersion  string
		kind        string
		want        resource
		wantUnknown bool
		wantErr     bool
	}{
		{name: "served kind", apiVersion: "batch/v1", kind: "Job", want: jobs},
		{name: "other version", apiVersion: "batch/v2", kind: "Job", wantUnknown: true, wantErr: true},
		{name: "kind not served", apiVersion: "apps/v1", kind: "ReplicaSet", wantUnknown: true, wantErr: true},
		{name: "apiVersion that does not parse", apiVersion: "a/b/c", kind: "Job", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rs.lookup(tt.apiVersion, tt.kind)
			if (err != nil) != tt.wantErr || errors.Is(err, errUnknownKind) != tt.wantUnknown {
				t.Fatalf("lookup() error = %v, want error %v, unknown kind %v", err, tt.wantErr, tt.wantUnknown)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(resource{})); diff != "" {
				t.Errorf("lookup() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
