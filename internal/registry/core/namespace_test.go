package core

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
)

// flakyNamespaces serves one namespace, and fails every read once told to:
// a fault injector that shows which checks reached the store.
type flakyNamespaces struct {
	ns    *corev1.Namespace
	fail  bool
	reads int
}

func (f *flakyNamespaces) Get(_ context.Context, _, name string) (runtime.Object, error) {
	f.reads++
	if f.fail {
		return nil, errors.New("store unavailable")
	}
	if f.ns == nil || f.ns.Name != name {
		return nil, apierrors.NewNotFound(corev1.Resource("namespaces"), name)
	}
	return f.ns.DeepCopy(), nil
}

func TestNamespaceLifecycleTrustsActiveNamespacesBriefly(t *testing.T) {
	clock := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &flakyNamespaces{ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}}
	l := &NamespaceLifecycle{Namespaces: store, Clock: clock}
	ctx := t.Context()
	gr := corev1.Resource("configmaps")

	if err := l.CheckNamespace(ctx, gr, "x", "a"); err != nil {
		t.Fatal(err)
	}
	store.fail = true
	for range 10 {
		if err := l.CheckNamespace(ctx, gr, "x", "a"); err != nil {
			t.Fatalf("within the TTL the check read the store: %v", err)
		}
	}
	if store.reads != 1 {
		t.Errorf("store reads = %d, want 1 for eleven checks within the TTL", store.reads)
	}
	clock.SetTime(clock.Now().Add(activeNamespaceTTL))
	if err := l.CheckNamespace(ctx, gr, "x", "a"); err == nil {
		t.Error("after the TTL the check did not read the store again")
	}

	store.fail = false
	store.ns.Status.Phase = corev1.NamespaceTerminating
	err := l.CheckNamespace(ctx, gr, "x", "a")
	if !apierrors.IsForbidden(err) {
		t.Errorf("terminating namespace: %v, want Forbidden", err)
	}
	if err := l.CheckNamespace(ctx, gr, "x", "missing"); !apierrors.IsNotFound(err) {
		t.Errorf("missing namespace: %v, want NotFound", err)
	}
}
