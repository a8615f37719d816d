package core

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/batchd/batchd/internal/registry"
)

// maxConfigDataBytes is upstream's cap on a ConfigMap's or Secret's data.
const maxConfigDataBytes = 1 * 1024 * 1024

// immutableDataMsg is upstream's message when data of an immutable
// ConfigMap or Secret changes.
const immutableDataMsg = "field is immutable when `immutable` is set"

func configMapResource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: groupVersion,
		Name:         "configmaps",
		Kind:         "ConfigMap",
		SingularName: "configmap",
		ShortNames:   []string{"cm"},
		Namespaced:   true,
		NewFunc:      func() runtime.Object { return &corev1.ConfigMap{} },
		NewListFunc:  func() runtime.Object { return &corev1.ConfigMapList{} },
		Strategy: &registry.MainStrategy{
			Check: func(obj runtime.Object) field.ErrorList { return validateConfigMap(obj.(*corev1.ConfigMap)) },
			CheckUpdate: func(obj, old runtime.Object) field.ErrorList {
				cm, oldCM := obj.(*corev1.ConfigMap), old.(*corev1.ConfigMap)
				errs := validateConfigMap(cm)
				if oldCM.Immutable != nil && *oldCM.Immutable {
					if cm.Immutable == nil || !*cm.Immutable {
						errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
					}
					if !apiequality.Semantic.DeepEqual(cm.Data, oldCM.Data) {
						errs = append(errs, field.Forbidden(field.NewPath("data"), immutableDataMsg))
					}
					if !apiequality.Semantic.DeepEqual(cm.BinaryData, oldCM.BinaryData) {
						errs = append(errs, field.Forbidden(field.NewPath("binaryData"), immutableDataMsg))
					}
				}
				return errs
			},
		},
	}
}

func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	size := 0
	for key, v := range cm.Data {
		size += len(v)
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(key), key, msg))
		}
	}
	for key, v := range cm.BinaryData {
		size += len(v)
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(key), key, msg))
		}
		if _, dup := cm.Data[key]; dup {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(key), key, "duplicate of key present in binaryData"))
		}
	}
	if size > maxConfigDataBytes {
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxConfigDataBytes))
	}
	return errs
}

func secretResource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: groupVersion,
		Name:         "secrets",
		Kind:         "Secret",
		SingularName: "secret",
		Namespaced:   true,
		NewFunc:      func() runtime.Object { return &corev1.Secret{} },
		NewListFunc:  func() runtime.Object { return &corev1.SecretList{} },
		Strategy: &registry.MainStrategy{
			Defaults: defaultSecret,
			Check:    func(obj runtime.Object) field.ErrorList { return validateSecret(obj.(*corev1.Secret)) },
			CheckUpdate: func(obj, old runtime.Object) field.ErrorList {
				s, oldS := obj.(*corev1.Secret), old.(*corev1.Secret)
				errs := validateSecret(s)
				if s.Type != oldS.Type {
					errs = append(errs, field.Invalid(field.NewPath("type"), s.Type, "field is immutable"))
				}
				if oldS.Immutable != nil && *oldS.Immutable && !apiequality.Semantic.DeepEqual(s.Data, oldS.Data) {
					errs = append(errs, field.Forbidden(field.NewPath("data"), immutableDataMsg))
				}
				return errs
			},
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
		},
		FieldLabels: []string{"type"},
	}
}

// defaultSecret sets the type and folds stringData into data, as upstream's
// conversion to the internal type does.
func defaultSecret(obj runtime.Object) {
	s := obj.(*corev1.Secret)
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

func validateSecret(s *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	size := 0
	for key, v := range s.Data {
		size += len(v)
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(key), key, msg))
		}
	}
	if size > maxConfigDataBytes {
		errs = append(errs, field.TooLong(field.NewPath("data"), "", maxConfigDataBytes))
	}
	return errs
}

func serviceAccountResource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: groupVersion,
		Name:         "serviceaccounts",
		Kind:         "ServiceAccount",
		SingularName: "serviceaccount",
		ShortNames:   []string{"sa"},
		Namespaced:   true,
		NewFunc:      func() runtime.Object { return &corev1.ServiceAccount{} },
		NewListFunc:  func() runtime.Object { return &corev1.ServiceAccountList{} },
		Strategy:     &registry.MainStrategy{},
	}
}

func eventResource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: groupVersion,
		Name:         "events",
		Kind:         "Event",
		SingularName: "event",
		ShortNames:   []string{"ev"},
		Namespaced:   true,
		NewFunc:      func() runtime.Object { return &corev1.Event{} },
		NewListFunc:  func() runtime.Object { return &corev1.EventList{} },
		Strategy: &registry.MainStrategy{
			Check: func(obj runtime.Object) field.ErrorList { return validateEvent(obj.(*corev1.Event)) },
		},
		Fields:      EventFields,
		FieldLabels: EventFieldLabels(),
	}
}

var eventFieldLabels = []string{
	"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
	"involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
	"reason", "reportingComponent", "source", "type",
}

// EventFieldLabels lists the selectable fields of Events.
func EventFieldLabels() []string { return slices.Clone(eventFieldLabels) }

// EventFields returns the selectable fields of a core/v1 Event.
func EventFields(obj runtime.Object) fields.Set {
	e := obj.(*corev1.Event)
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

func validateEvent(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if e.InvolvedObject.Namespace != "" && e.InvolvedObject.Namespace != e.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("involvedObject", "namespace"), e.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	return errs
}

func nodeResource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: groupVersion,
		Name:         "nodes",
		Kind:         "Node",
		SingularName: "node",
		ShortNames:   []string{"no"},
		NewFunc:      func() runtime.Object { return &corev1.Node{} },
		NewListFunc:  func() runtime.Object { return &corev1.NodeList{} },
		// A node's agent creates it with its status, so create keeps status;
		// updates through the main resource keep the stored one.
		Strategy: &registry.MainStrategy{
			OnUpdate: func(obj, old runtime.Object) { registry.KeepField(obj, old, "Status") },
		},
		Subresources: map[string]registry.Strategy{"status": &registry.StatusStrategy{}},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.unschedulable": fmt.Sprint(obj.(*corev1.Node).Spec.Unschedulable)}
		},
		FieldLabels: []string{"spec.unschedulable"},
	}
}
