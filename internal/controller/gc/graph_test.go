package gc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var configMapKind = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

// cm is the metadata of ConfigMap "cm-<uid>" in namespace "ns".
func cm(uid string, owners ...metav1.OwnerReference) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Namespace: "ns", Name: "cm-" + uid, UID: types.UID(uid), OwnerReferences: owners}
}

func deleting(m *metav1.ObjectMeta, finalizers ...string) *metav1.ObjectMeta {
	out := m.DeepCopy()
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	out.DeletionTimestamp = &now
	out.Finalizers = finalizers
	return out
}

func inNamespace(ns string, m *metav1.ObjectMeta) *metav1.ObjectMeta {
	out := m.DeepCopy()
	out.Namespace = ns
	return out
}

func added(m *metav1.ObjectMeta) *event { return &event{typ: addEvent, gvk: configMapKind, obj: m} }
func updated(old, m *metav1.ObjectMeta) *event {
	return &event{typ: updateEvent, gvk: configMapKind, obj: m, old: old}
}
func deleted(m *metav1.ObjectMeta) *event {
	return &event{typ: deleteEvent, gvk: configMapKind, obj: m}
}

// absent is the virtual delete event a worker sends for id.
func absent(id identity) *event {
	gv, _ := schema.ParseGroupVersion(id.apiVersion)
	return &event{typ: deleteEvent, virtual: true, gvk: gv.WithKind(id.kind),
		obj: &metav1.ObjectMeta{Namespace: id.namespace, Name: id.name, UID: id.uid}}
}

func cmID(uid string) identity {
	return identity{apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "cm-" + uid, uid: types.UID(uid)}
}

func uids(s ...string) []types.UID {
	var out []types.UID
	for _, u := range s {
		out = append(out, types.UID(u))
	}
	return out
}

func TestGraphApply(t *testing.T) {
	a := cm("a")
	renamed := ref("a", func(r *metav1.OwnerReference) { r.Name = "other" })
	tests := []struct {
		name string
		// before are applied first; their effects are not checked.
		before []*event
		event  *event
		want   effects
		// node and wantView, if set, check one node afterwards.
		node     types.UID
		wantView *view
		wantGone bool
	}{
		{
			name:     "a dependent seen first creates a virtual owner to check",
			event:    added(cm("d", ref("a"))),
			want:     effects{attemptToDelete: uids("a")},
			node:     "a",
			wantView: &view{id: cmID("a"), virtual: true, dependents: []dependent{{id: cmID("d")}}},
		},
		{
			name:     "the owner seen after its dependent becomes real",
			before:   []*event{added(cm("d", ref("a", blocking)))},
			event:    added(a),
			node:     "a",
			wantView: &view{id: cmID("a"), dependents: []dependent{{id: cmID("d"), blocking: true}}},
		},
		{
			name:   "the owner seen under other coordinates has its dependents checked",
			before: []*event{added(cm("d", renamed))},
			event:  added(a),
			want:   effects{attemptToDelete: uids("d")},
		},
		{
			name:   "a dependent naming a known owner under other coordinates is checked",
			before: []*event{added(a)},
			event:  added(cm("d", renamed)),
			want:   effects{attemptToDelete: uids("d")},
		},
		{
			name:   "a dependent of a namespaced owner in another namespace is checked",
			before: []*event{added(a)},
			event:  added(inNamespace("other", cm("d", ref("a")))),
			want:   effects{attemptToDelete: uids("d")},
		},
		{
			name:     "a deleted owner has its dependents checked",
			before:   []*event{added(a), added(cm("d1", ref("a"))), added(cm("d2", ref("a"), ref("b")))},
			event:    deleted(a),
			want:     effects{attemptToDelete: uids("d1", "d2")},
			node:     "a",
			wantGone: true,
		},
		{
			name:   "an owner starting a foreground deletion checks its dependents and itself",
			before: []*event{added(a), added(cm("d", ref("a", blocking)))},
			event:  updated(a, deleting(a, metav1.FinalizerDeleteDependents)),
			want:   effects{attemptToDelete: uids("d", "a")},
			node:   "a",
			wantView: &view{id: cmID("a"), beingDeleted: true, deletingDependents: true,
				dependents: []dependent{{id: cmID("d"), blocking: true}}},
		},
		{
			name: "a deleted dependent rechecks its owner waiting for it",
			before: []*event{
				added(a), added(cm("d", ref("a", blocking))),
				updated(a, deleting(a, metav1.FinalizerDeleteDependents)),
			},
			event:    deleted(cm("d", ref("a", blocking))),
			want:     effects{attemptToDelete: uids("a")},
			node:     "a",
			wantView: &view{id: cmID("a"), beingDeleted: true, deletingDependents: true},
		},
		{
			name:   "an owner first seen waiting for its dependents is checked",
			event:  added(deleting(a, metav1.FinalizerDeleteDependents)),
			want:   effects{attemptToDelete: uids("a")},
			before: nil,
		},
		{
			name:   "a dependent appearing while its owner deletes its dependents is checked",
			before: []*event{added(deleting(a, metav1.FinalizerDeleteDependents))},
			event:  added(cm("d", ref("a"))),
			want:   effects{attemptToDelete: uids("d")},
		},
		{
			name:   "an owner starting an orphaning deletion is queued for orphaning",
			before: []*event{added(a), added(cm("d", ref("a")))},
			event:  updated(a, deleting(a, metav1.FinalizerOrphanDependents)),
			want:   effects{attemptToOrphan: uids("a")},
		},
		{
			name:     "a removed blocking reference rechecks the owner",
			before:   []*event{added(a), added(cm("d", ref("a", blocking)))},
			event:    updated(cm("d", ref("a", blocking)), cm("d")),
			want:     effects{attemptToDelete: uids("a")},
			node:     "a",
			wantView: &view{id: cmID("a")},
		},
		{
			name:     "a new reference links the dependent to its owner",
			before:   []*event{added(a), added(cm("d"))},
			event:    updated(cm("d"), cm("d", ref("a"))),
			node:     "a",
			wantView: &view{id: cmID("a"), dependents: []dependent{{id: cmID("d")}}},
		},
		{
			name:     "a virtual owner found absent goes and its dependents are checked",
			before:   []*event{added(cm("d", ref("a")))},
			event:    absent(cmID("a")),
			want:     effects{attemptToDelete: uids("d")},
			node:     "a",
			wantGone: true,
		},
		{
			name:   "a virtual owner found absent tries the other coordinates dependents give",
			before: []*event{added(cm("d1", ref("a"))), added(cm("d2", renamed))},
			event:  absent(cmID("a")),
			want:   effects{attemptToDelete: uids("d1"), retry: uids("a")},
			node:   "a",
			wantView: &view{id: identity{apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "other", uid: "a"}, virtual: true,
				dependents: []dependent{{id: cmID("d1")}, {id: cmID("d2")}}},
		},
		{
			name:     "an observed owner absent under other coordinates stays",
			before:   []*event{added(a), added(cm("d1", ref("a"))), added(cm("d2", renamed))},
			event:    absent(identity{apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "other", uid: "a"}),
			want:     effects{attemptToDelete: uids("d2")},
			node:     "a",
			wantView: &view{id: cmID("a"), dependents: []dependent{{id: cmID("d1")}, {id: cmID("d2")}}},
		},
		{
			name:  "deleting an unknown object does nothing",
			event: deleted(a),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			for _, e := range tt.before {
				g.apply(e)
			}
			got := g.apply(tt.event)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(effects{})); diff != "" {
				t.Errorf("apply() effects mismatch (-want +got):\n%s", diff)
			}
			if tt.node == "" {
				return
			}
			v, ok := g.view(tt.node)
			if tt.wantGone {
				if ok {
					t.Errorf("node %s still in the graph: %+v", tt.node, v)
				}
				return
			}
			if !ok {
				t.Fatalf("node %s not in the graph", tt.node)
			}
			if (v.waitingSince.IsZero()) == v.deletingDependents {
				t.Errorf("view(%s): waitingSince %v with deletingDependents %v; want it set exactly when waiting", tt.node, v.waitingSince, v.deletingDependents)
			}
			v.waitingSince = time.Time{} // when, not whether: checked above
			if diff := cmp.Diff(*tt.wantView, v, cmp.AllowUnexported(view{}, identity{}, dependent{})); diff != "" {
				t.Errorf("view(%s) mismatch (-want +got):\n%s", tt.node, diff)
			}
		})
	}
}
