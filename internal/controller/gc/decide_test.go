package gc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// ref is an ownerReference to a ConfigMap named and identified by uid.
func ref(uid string, opts ...func(*metav1.OwnerReference)) metav1.OwnerReference {
	r := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "cm-" + uid, UID: types.UID(uid)}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func blocking(r *metav1.OwnerReference)    { r.BlockOwnerDeletion = ptr.To(true) }
func nonBlocking(r *metav1.OwnerReference) { r.BlockOwnerDeletion = ptr.To(false) }
func controller(r *metav1.OwnerReference)  { r.Controller = ptr.To(true) }

func TestDecideDependent(t *testing.T) {
	dep := func(uid string, deleting bool) dependent {
		return dependent{id: identity{apiVersion: "v1", kind: "Secret", name: uid, uid: types.UID(uid)}, deletingDependents: deleting}
	}
	tests := []struct {
		name       string
		finalizers []string
		refs       references
		dependents []dependent
		want       plan
	}{
		{
			name: "a solid owner keeps the object",
			refs: references{solid: []metav1.OwnerReference{ref("a")}},
			want: plan{},
		},
		{
			name: "a solid owner keeps the object, the dangling reference goes",
			refs: references{solid: []metav1.OwnerReference{ref("a")}, dangling: []metav1.OwnerReference{ref("b")}},
			want: plan{removeOwners: []types.UID{"b"}},
		},
		{
			name: "a solid owner keeps the object, the reference to a waiting owner goes",
			refs: references{
				solid:    []metav1.OwnerReference{ref("a")},
				dangling: []metav1.OwnerReference{ref("b")},
				waiting:  []metav1.OwnerReference{ref("c")},
			},
			want: plan{removeOwners: []types.UID{"b", "c"}},
		},
		{
			name: "all owners gone deletes in the background",
			refs: references{dangling: []metav1.OwnerReference{ref("a"), ref("b")}},
			want: plan{delete: true, policy: metav1.DeletePropagationBackground},
		},
		{
			name:       "all owners gone keeps the object's orphan finalizer",
			finalizers: []string{"example.com/x", metav1.FinalizerOrphanDependents},
			refs:       references{dangling: []metav1.OwnerReference{ref("a")}},
			want:       plan{delete: true, policy: metav1.DeletePropagationOrphan},
		},
		{
			name:       "all owners gone keeps the object's foregroundDeletion finalizer",
			finalizers: []string{metav1.FinalizerDeleteDependents},
			refs:       references{dangling: []metav1.OwnerReference{ref("a")}},
			want:       plan{delete: true, policy: metav1.DeletePropagationForeground},
		},
		{
			name: "a waiting owner and no dependents deletes in the background",
			refs: references{waiting: []metav1.OwnerReference{ref("a")}},
			want: plan{delete: true, policy: metav1.DeletePropagationBackground},
		},
		{
			name:       "a waiting owner and dependents deletes in the foreground",
			refs:       references{waiting: []metav1.OwnerReference{ref("a")}, dangling: []metav1.OwnerReference{ref("b")}},
			dependents: []dependent{dep("x", false)},
			want:       plan{delete: true, policy: metav1.DeletePropagationForeground},
		},
		{
			name:       "a waiting owner and a dependent that waits too unblocks first",
			refs:       references{waiting: []metav1.OwnerReference{ref("a")}},
			dependents: []dependent{dep("x", false), dep("y", true)},
			want:       plan{unblock: true, delete: true, policy: metav1.DeletePropagationForeground},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decideDependent(tt.finalizers, tt.refs, tt.dependents)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(plan{})); diff != "" {
				t.Errorf("decideDependent() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideOwner(t *testing.T) {
	id := func(uid string) identity {
		return identity{apiVersion: "v1", kind: "Secret", name: uid, uid: types.UID(uid)}
	}
	tests := []struct {
		name         string
		dependents   []dependent
		wantFinalize bool
		wantCheck    []identity
	}{
		{name: "no dependents finalizes", wantFinalize: true},
		{
			name:         "only non-blocking dependents finalizes",
			dependents:   []dependent{{id: id("a")}, {id: id("b"), deletingDependents: true}},
			wantFinalize: true,
		},
		{
			name: "blocking dependents are checked, except those deleting their own",
			dependents: []dependent{
				{id: id("a"), blocking: true},
				{id: id("b")},
				{id: id("c"), blocking: true, deletingDependents: true},
			},
			wantCheck: []identity{id("a")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			finalize, check := decideOwner(tt.dependents)
			if finalize != tt.wantFinalize {
				t.Errorf("decideOwner() finalize = %v, want %v", finalize, tt.wantFinalize)
			}
			if diff := cmp.Diff(tt.wantCheck, check, cmp.AllowUnexported(identity{})); diff != "" {
				t.Errorf("decideOwner() check mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReferencesDiff(t *testing.T) {
	tests := []struct {
		name          string
		old, new      []metav1.OwnerReference
		wantAdded     []metav1.OwnerReference
		wantRemoved   []metav1.OwnerReference
		wantChanged   []refChange
		wantUnblocked []types.UID
	}{
		{name: "same references", old: []metav1.OwnerReference{ref("a")}, new: []metav1.OwnerReference{ref("a")}},
		{
			name:          "added, removed and changed",
			old:           []metav1.OwnerReference{ref("a", blocking), ref("b"), ref("c", blocking)},
			new:           []metav1.OwnerReference{ref("c", nonBlocking), ref("d"), ref("b", controller)},
			wantAdded:     []metav1.OwnerReference{ref("d")},
			wantRemoved:   []metav1.OwnerReference{ref("a", blocking)},
			wantChanged:   []refChange{{old: ref("c", blocking), new: ref("c", nonBlocking)}, {old: ref("b"), new: ref("b", controller)}},
			wantUnblocked: []types.UID{"a", "c"},
		},
		{
			name:        "a non-blocking reference removed unblocks nothing",
			old:         []metav1.OwnerReference{ref("a", nonBlocking), ref("b")},
			wantRemoved: []metav1.OwnerReference{ref("a", nonBlocking), ref("b")},
		},
		{
			name:        "becoming blocking unblocks nothing",
			old:         []metav1.OwnerReference{ref("a")},
			new:         []metav1.OwnerReference{ref("a", blocking)},
			wantChanged: []refChange{{old: ref("a"), new: ref("a", blocking)}},
		},
		{
			name:          "blockOwnerDeletion unset counts as false",
			old:           []metav1.OwnerReference{ref("a", blocking)},
			new:           []metav1.OwnerReference{ref("a")},
			wantChanged:   []refChange{{old: ref("a", blocking), new: ref("a")}},
			wantUnblocked: []types.UID{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			added, removed, changed := referencesDiff(tt.old, tt.new)
			if diff := cmp.Diff(tt.wantAdded, added); diff != "" {
				t.Errorf("added mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRemoved, removed); diff != "" {
				t.Errorf("removed mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantChanged, changed, cmp.AllowUnexported(refChange{})); diff != "" {
				t.Errorf("changed mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantUnblocked, unblocked(removed, changed)); diff != "" {
				t.Errorf("unblocked mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStartsWaitingFor(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	obj := func(deleted bool, finalizers ...string) metav1.Object {
		m := &metav1.ObjectMeta{Finalizers: finalizers}
		if deleted {
			m.DeletionTimestamp = &now
		}
		return m
	}
	tests := []struct {
		name     string
		old, obj metav1.Object
		want     bool
	}{
		{name: "first seen waiting", obj: obj(true, "orphan"), want: true},
		{name: "deletion starts", old: obj(false, "orphan"), obj: obj(true, "orphan"), want: true},
		{name: "finalizer added while deleted", old: obj(true, "x"), obj: obj(true, "x", "orphan"), want: true},
		{name: "already waiting", old: obj(true, "orphan"), obj: obj(true, "orphan")},
		{name: "finalizer without deletion", obj: obj(false, "orphan")},
		{name: "deletion without the finalizer", old: obj(false), obj: obj(true, "foregroundDeletion")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := startsWaitingFor(tt.old, tt.obj, metav1.FinalizerOrphanDependents); got != tt.want {
				t.Errorf("startsWaitingFor() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeletePolicy(t *testing.T) {
	tests := []struct {
		name       string
		finalizers []string
		want       metav1.DeletionPropagation
	}{
		{name: "no finalizers", want: metav1.DeletePropagationBackground},
		{name: "other finalizers", finalizers: []string{"example.com/x"}, want: metav1.DeletePropagationBackground},
		{name: "orphan wins over foreground", finalizers: []string{"foregroundDeletion", "orphan"}, want: metav1.DeletePropagationOrphan},
		{name: "foreground", finalizers: []string{"foregroundDeletion"}, want: metav1.DeletePropagationForeground},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := deletePolicy(tt.finalizers); got != tt.want {
				t.Errorf("deletePolicy() = %q, want %q", got, tt.want)
			}
		})
	}
}
