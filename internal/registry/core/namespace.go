package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"

	"github.com/batchd/batchd/internal/registry"
)

// Namespace lifecycle names, as upstream spells them.
const (
	// LabelMetadataName is set on every namespace to its name.
	LabelMetadataName = corev1.LabelMetadataName
	// reasonNamespaceTerminating is the cause reason on refused content.
	reasonNamespaceTerminating = "NamespaceTerminating"
)

func namespaceResource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:       groupVersion,
		Name:               "namespaces",
		Kind:               "Namespace",
		SingularName:       "namespace",
		ShortNames:         []string{"ns"},
		NewFunc:            func() runtime.Object { return &corev1.Namespace{} },
		NewListFunc:        func() runtime.Object { return &corev1.NamespaceList{} },
		NameValidation:     apivalidation.NameIsDNSLabel,
		NoDeleteCollection: true,
		Strategy:           namespaceStrategy{},
		Subresources: map[string]registry.Strategy{
			"status":   &registry.StatusStrategy{Defaults: defaultNamespace},
			"finalize": namespaceFinalizeStrategy{},
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
		},
		FieldLabels: []string{"status.phase"},
	}
}

func defaultNamespace(obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[LabelMetadataName] = ns.Name
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}

type namespaceStrategy struct{}

func (namespaceStrategy) PrepareForCreate(obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
	defaultNamespace(obj)
}

func (namespaceStrategy) Validate(obj runtime.Object) field.ErrorList {
	return validateNamespaceFinalizers(obj.(*corev1.Namespace))
}

func (namespaceStrategy) PrepareForUpdate(obj, old runtime.Object) {
	ns, oldNS := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	ns.Spec.Finalizers = oldNS.Spec.Finalizers
	ns.Status = oldNS.Status
	defaultNamespace(obj)
}

func (namespaceStrategy) ValidateUpdate(obj, _ runtime.Object) field.ErrorList {
	return validateNamespaceFinalizers(obj.(*corev1.Namespace))
}

// MarkForDeletion keeps a namespace with spec.finalizers until the
// namespace controller has emptied it, and moves it to Terminating.
func (namespaceStrategy) MarkForDeletion(obj runtime.Object) bool {
	ns := obj.(*corev1.Namespace)
	if ns.DeletionTimestamp == nil && len(ns.Spec.Finalizers) == 0 {
		return false
	}
	ns.Status.Phase = corev1.NamespaceTerminating
	return len(ns.Spec.Finalizers) > 0
}

// immortalNamespaces may not be deleted, as upstream's NamespaceLifecycle
// admission plugin rules.
var immortalNamespaces = map[string]bool{
	metav1.NamespaceDefault: true,
	metav1.NamespaceSystem:  true,
	metav1.NamespacePublic:  true,
}

// CheckDelete implements registry.DeleteChecker.
func (namespaceStrategy) CheckDelete(obj runtime.Object) error {
	ns := obj.(*corev1.Namespace)
	if immortalNamespaces[ns.Name] {
		return apierrors.NewForbidden(corev1.Resource("namespaces"), ns.Name, errors.New("this namespace may not be deleted"))
	}
	return nil
}

func validateNamespaceFinalizers(ns *corev1.Namespace) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "finalizers")
	for i, f := range ns.Spec.Finalizers {
		for _, msg := range validation.IsQualifiedName(string(f)) {
			errs = append(errs, field.Invalid(p.Index(i), f, msg))
		}
	}
	return errs
}

// namespaceFinalizeStrategy serves namespaces/finalize: only
// spec.finalizers may change.
type namespaceFinalizeStrategy struct{}

func (namespaceFinalizeStrategy) PrepareForCreate(runtime.Object)         {}
func (namespaceFinalizeStrategy) Validate(runtime.Object) field.ErrorList { return nil }
func (namespaceFinalizeStrategy) PrepareForUpdate(obj, old runtime.Object) {
	ns, oldNS := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	finalizers := ns.Spec.Finalizers
	*ns = *oldNS.DeepCopy()
	ns.Spec.Finalizers = finalizers
}
func (namespaceFinalizeStrategy) ValidateUpdate(obj, _ runtime.Object) field.ErrorList {
	return validateNamespaceFinalizers(obj.(*corev1.Namespace))
}

// Getter reads one object; *registry.Store satisfies it.
type Getter interface {
	Get(ctx context.Context, namespace, name string) (runtime.Object, error)
}

// NamespaceLifecycle refuses content in missing or terminating namespaces,
// as upstream's NamespaceLifecycle admission plugin does. A namespace seen
// active is trusted for activeNamespaceTTL, so a burst of creates reads it
// once: upstream's informer-backed check is stale for about as long, and
// the namespace controller waits longer than that before emptying a
// namespace, so content that slips in is still removed.
type NamespaceLifecycle struct {
	Namespaces Getter
	Clock      clock.PassiveClock // nil: the real clock

	mu     sync.Mutex
	active map[string]time.Time // namespace -> when it was last read active
}

// activeNamespaceTTL is how long a namespace read as active is trusted.
const activeNamespaceTTL = time.Second

// CheckNamespace implements registry.NamespaceChecker.
func (l *NamespaceLifecycle) CheckNamespace(ctx context.Context, gr schema.GroupResource, name, namespace string) error {
	now := l.now()
	l.mu.Lock()
	seen, ok := l.active[namespace]
	l.mu.Unlock()
	if ok && now.Sub(seen) < activeNamespaceTTL {
		return nil
	}
	obj, err := l.Namespaces.Get(ctx, "", namespace)
	if err != nil {
		l.forget(namespace)
		return err
	}
	ns := obj.(*corev1.Namespace)
	if ns.DeletionTimestamp == nil && ns.Status.Phase != corev1.NamespaceTerminating {
		l.remember(namespace, now)
		return nil
	}
	l.forget(namespace)
	msg := fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", namespace)
	forbidden := apierrors.NewForbidden(gr, name, errors.New(msg))
	forbidden.ErrStatus.Details.Causes = append(forbidden.ErrStatus.Details.Causes, metav1.StatusCause{
		Type:    reasonNamespaceTerminating,
		Message: msg,
		Field:   "metadata.namespace",
	})
	return forbidden
}

func (l *NamespaceLifecycle) now() time.Time {
	if l.Clock == nil {
		return time.Now()
	}
	return l.Clock.Now()
}

func (l *NamespaceLifecycle) remember(namespace string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == nil {
		l.active = map[string]time.Time{}
	}
	for ns, seen := range l.active { // keep the map to live namespaces
		if at.Sub(seen) >= activeNamespaceTTL {
			delete(l.active, ns)
		}
	}
	l.active[namespace] = at
}

func (l *NamespaceLifecycle) forget(namespace string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.active, namespace)
}
