package namespace

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestDeletable(t *testing.T) {
	all := metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	tests := []struct {
		name    string
		lists   []*metav1.APIResourceList
		want    []resource
		wantErr bool
	}{
		{
			name: "namespaced deletable resources ordered by group version resource",
			lists: []*metav1.APIResourceList{
				{GroupVersion: "v1", APIResources: []metav1.APIResource{
					{Name: "pods", Namespaced: true, Verbs: all},
					{Name: "configmaps", Namespaced: true, Verbs: all},
				}},
				{GroupVersion: "batch/v1", APIResources: []metav1.APIResource{
					{Name: "jobs", Namespaced: true, Verbs: all},
				}},
			},
			want: []resource{
				{gvr: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, verbs: all},
				{gvr: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, verbs: all},
				{gvr: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, verbs: all},
			},
		},
		{
			name: "subresources, cluster scoped and undeletable resources are skipped",
			lists: []*metav1.APIResourceList{
				{GroupVersion: "v1", APIResources: []metav1.APIResource{
					{Name: "pods/status", Namespaced: true, Verbs: metav1.Verbs{"get", "patch", "update"}},
					{Name: "pods/log", Namespaced: true, Verbs: metav1.Verbs{"get"}},
					{Name: "bindings", Namespaced: true, Verbs: metav1.Verbs{"create"}},
					{Name: "nodes", Namespaced: false, Verbs: all},
					{Name: "events", Namespaced: true, Verbs: metav1.Verbs{"delete", "list"}},
				}},
			},
			want: []resource{
				{gvr: schema.GroupVersionResource{Version: "v1", Resource: "events"}, verbs: []string{"delete", "list"}},
			},
		},
		{
			name: "an unparsable group version is reported and the rest used",
			lists: []*metav1.APIResourceList{
				nil,
				{GroupVersion: "a/b/c", APIResources: []metav1.APIResource{{Name: "things", Namespaced: true, Verbs: all}}},
				{GroupVersion: "coordination.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "leases", Namespaced: true, Verbs: all}}},
			},
			want: []resource{
				{gvr: schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}, verbs: all},
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := deletable(tt.lists)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(resource{})); diff != "" {
				t.Errorf("deletable() mismatch (-want +got):\n%s", diff)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("deletable() error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func item(finalizers ...string) unstructured.Unstructured {
	var u unstructured.Unstructured
	u.SetName("x")
	u.SetFinalizers(finalizers)
	return u
}

func TestAssess(t *testing.T) {
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	tests := []struct {
		name     string
		items    []unstructured.Unstructured
		estimate int64
		want     leftover
		wantErr  bool
	}{
		{name: "nothing left", estimate: 30, want: leftover{}},
		{
			name:     "objects within their grace period keep the estimate",
			items:    []unstructured.Unstructured{item(), item("a")},
			estimate: 30,
			want:     leftover{count: 2, finalizers: map[string]int{"a": 1}, estimate: 30},
		},
		{
			name:  "objects held by finalizers wait upstream's finalizer estimate",
			items: []unstructured.Unstructured{item("a", "b"), item("a")},
			want:  leftover{count: 2, finalizers: map[string]int{"a": 2, "b": 1}, estimate: 15},
		},
		{
			name:    "objects with no reason to stay are an error",
			items:   []unstructured.Unstructured{item()},
			want:    leftover{count: 1},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := assess(pods, "ns", tt.items, tt.estimate)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(leftover{})); diff != "" {
				t.Errorf("assess() mismatch (-want +got):\n%s", diff)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("assess() error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func pod(phase corev1.PodPhase, grace *int64) corev1.Pod {
	return corev1.Pod{Spec: corev1.PodSpec{TerminationGracePeriodSeconds: grace}, Status: corev1.PodStatus{Phase: phase}}
}

func TestPodEstimate(t *testing.T) {
	deletedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		pods []corev1.Pod
		now  time.Time
		want int64
	}{
		{name: "no pods", now: deletedAt, want: 0},
		{
			name: "longest grace period of unfinished pods",
			pods: []corev1.Pod{pod(corev1.PodRunning, ptr.To[int64](30)), pod(corev1.PodPending, ptr.To[int64](45)), pod(corev1.PodRunning, nil)},
			now:  deletedAt.Add(10 * time.Second),
			want: 45,
		},
		{
			name: "finished pods do not count",
			pods: []corev1.Pod{pod(corev1.PodSucceeded, ptr.To[int64](300)), pod(corev1.PodFailed, ptr.To[int64](300)), pod(corev1.PodRunning, ptr.To[int64](5))},
			now:  deletedAt,
			want: 5,
		},
		{
			name: "grace period over since the namespace was deleted",
			pods: []corev1.Pod{pod(corev1.PodRunning, ptr.To[int64](30))},
			now:  deletedAt.Add(30 * time.Second),
			want: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podEstimate(tt.pods, deletedAt, tt.now); got != tt.want {
				t.Errorf("podEstimate() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRequeueAfter(t *testing.T) {
	tests := []struct {
		name     string
		estimate int64
		want     time.Duration
	}{
		{name: "finalizer estimate looks again halfway", estimate: 15, want: 8 * time.Second},
		{name: "default pod grace period", estimate: 30, want: 16 * time.Second},
		{name: "one second", estimate: 1, want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requeueAfter(tt.estimate); got != tt.want {
				t.Errorf("requeueAfter(%d) = %v, want %v", tt.estimate, got, tt.want)
			}
		})
	}
}
