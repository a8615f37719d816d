package gc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestPatches(t *testing.T) {
	tests := []struct {
		name  string
		build func() ([]byte, error)
		want  string
	}{
		{
			name:  "strategic patch deleting references carries the UID",
			build: func() ([]byte, error) { return deleteRefsStrategicPatch("dep", uids("a", "b")) },
			want:  `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":"a"},{"$patch":"delete","uid":"b"}],"uid":"dep"}}`,
		},
		{
			name: "strategic patch unblocking touches only blocking references",
			build: func() ([]byte, error) {
				return unblockStrategicPatch("dep", []metav1.OwnerReference{ref("a", blocking), ref("b"), ref("c", nonBlocking)})
			},
			want: `{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"cm-a","uid":"a","blockOwnerDeletion":false}],"uid":"dep"}}`,
		},
		{
			name: "merge patch of references carries the resourceVersion",
			build: func() ([]byte, error) {
				return refsMergePatch("42", withoutOwners([]metav1.OwnerReference{ref("a"), ref("b", controller)}, uids("a")))
			},
			want: `{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"cm-b","uid":"b","controller":true}],"resourceVersion":"42"}}`,
		},
		{
			name: "merge patch removing the last reference nulls the field",
			build: func() ([]byte, error) {
				return refsMergePatch("42", withoutOwners([]metav1.OwnerReference{ref("a")}, uids("a")))
			},
			want: `{"metadata":{"ownerReferences":null,"resourceVersion":"42"}}`,
		},
		{
			name: "merge patch unblocking every reference",
			build: func() ([]byte, error) {
				return refsMergePatch("42", unblocking([]metav1.OwnerReference{ref("a", blocking), ref("b")}))
			},
			want: `{"metadata":{"ownerReferences":[` +
				`{"apiVersion":"v1","kind":"ConfigMap","name":"cm-a","uid":"a","blockOwnerDeletion":false},` +
				`{"apiVersion":"v1","kind":"ConfigMap","name":"cm-b","uid":"b","blockOwnerDeletion":false}],"resourceVersion":"42"}}`,
		},
		{
			name: "finalizers merge patch keeps the others",
			build: func() ([]byte, error) {
				return finalizersMergePatch("7", without([]string{"x", "orphan", "y"}, "orphan"))
			},
			want: `{"metadata":{"finalizers":["x","y"],"resourceVersion":"7"}}`,
		},
		{
			name:  "finalizers merge patch removing the last one nulls the field",
			build: func() ([]byte, error) { return finalizersMergePatch("7", without([]string{"orphan"}, "orphan")) },
			want:  `{"metadata":{"finalizers":null,"resourceVersion":"7"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.build()
			if err != nil {
				t.Fatalf("building patch: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("patch mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithoutOwners(t *testing.T) {
	got := withoutOwners([]metav1.OwnerReference{ref("a"), ref("b"), ref("c")}, []types.UID{"c", "a"})
	if diff := cmp.Diff([]metav1.OwnerReference{ref("b")}, got); diff != "" {
		t.Errorf("withoutOwners() mismatch (-want +got):\n%s", diff)
	}
}
