package events

import (
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/batchd/batchd/internal/registry"
	"github.com/batchd/batchd/internal/registry/core"
)

// Limits upstream's events.k8s.io validation applies.
const (
	maxNoteBytes   = 1024
	maxReasonChars = 128
	maxActionChars = 128
)

// Resource returns the events.k8s.io/v1 events resource. Its objects are
// stored as core/v1 Events: wrap the core storage codec with StorageCodec.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: eventsv1.SchemeGroupVersion,
		Name:         "events",
		Kind:         "Event",
		SingularName: "event",
		ShortNames:   []string{"ev"},
		Namespaced:   true,
		NewFunc:      func() runtime.Object { return &eventsv1.Event{} },
		NewListFunc:  func() runtime.Object { return &eventsv1.EventList{} },
		Strategy: &registry.MainStrategy{
			Check: func(obj runtime.Object) field.ErrorList { return validate(obj.(*eventsv1.Event)) },
		},
		// Selectors use the core field names, as upstream's shared storage does.
		Fields: func(obj runtime.Object) fields.Set {
			return core.EventFields(ToCore(obj.(*eventsv1.Event)))
		},
		FieldLabels: core.EventFieldLabels(),
	}
}

func validate(e *eventsv1.Event) field.ErrorList {
	var errs field.ErrorList
	if e.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if e.ReportingController == "" {
		errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
	}
	if e.ReportingInstance == "" {
		errs = append(errs, field.Required(field.NewPath("reportingInstance"), ""))
	}
	if e.Action == "" {
		errs = append(errs, field.Required(field.NewPath("action"), ""))
	} else if len(e.Action) > maxActionChars {
		errs = append(errs, field.TooLong(field.NewPath("action"), "", maxActionChars))
	}
	if e.Reason == "" {
		errs = append(errs, field.Required(field.NewPath("reason"), ""))
	} else if len(e.Reason) > maxReasonChars {
		errs = append(errs, field.TooLong(field.NewPath("reason"), "", maxReasonChars))
	}
	if len(e.Note) > maxNoteBytes {
		errs = append(errs, field.TooLong(field.NewPath("note"), "", maxNoteBytes))
	}
	if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		errs = append(errs, field.NotSupported(field.NewPath("type"), e.Type, []string{corev1.EventTypeNormal, corev1.EventTypeWarning}))
	}
	if e.Regarding.Namespace != "" && e.Regarding.Namespace != e.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("regarding", "namespace"), e.Regarding.Namespace, "does not match event.namespace"))
	}
	return errs
}

// ToCore converts an events.k8s.io/v1 Event to the core/v1 shape.
func ToCore(e *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{
		ObjectMeta:          *e.ObjectMeta.DeepCopy(),
		InvolvedObject:      e.Regarding,
		Reason:              e.Reason,
		Message:             e.Note,
		Source:              e.DeprecatedSource,
		FirstTimestamp:      e.DeprecatedFirstTimestamp,
		LastTimestamp:       e.DeprecatedLastTimestamp,
		Count:               e.DeprecatedCount,
		Type:                e.Type,
		EventTime:           e.EventTime,
		Action:              e.Action,
		Related:             e.Related,
		ReportingController: e.ReportingController,
		ReportingInstance:   e.ReportingInstance,
	}
	if e.Series != nil {
		out.Series = &corev1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	return out
}

// FromCore converts a core/v1 Event to the events.k8s.io/v1 shape.
func FromCore(e *corev1.Event) *eventsv1.Event {
	out := &eventsv1.Event{
		ObjectMeta:               *e.ObjectMeta.DeepCopy(),
		EventTime:                e.EventTime,
		ReportingController:      e.ReportingController,
		ReportingInstance:        e.ReportingInstance,
		Action:                   e.Action,
		Reason:                   e.Reason,
		Regarding:                e.InvolvedObject,
		Related:                  e.Related,
		Note:                     e.Message,
		Type:                     e.Type,
		DeprecatedSource:         e.Source,
		DeprecatedFirstTimestamp: e.FirstTimestamp,
		DeprecatedLastTimestamp:  e.LastTimestamp,
		DeprecatedCount:          e.Count,
	}
	if e.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	return out
}

// storageCodec stores events.k8s.io/v1 Events in core/v1 form.
type storageCodec struct {
	core runtime.Codec
}

// StorageCodec wraps the core/v1 Event storage codec so events.k8s.io/v1
// Events share core events' keys and encoding.
func StorageCodec(coreCodec runtime.Codec) runtime.Codec { return storageCodec{core: coreCodec} }

func (c storageCodec) Encode(obj runtime.Object, w io.Writer) error {
	e, ok := obj.(*eventsv1.Event)
	if !ok {
		return fmt.Errorf("events storage: cannot encode %T", obj)
	}
	return c.core.Encode(ToCore(e), w)
}

func (c storageCodec) Decode(data []byte, defaults *schema.GroupVersionKind, _ runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	obj, gvk, err := c.core.Decode(data, defaults, &corev1.Event{})
	if err != nil {
		return nil, gvk, err
	}
	e, ok := obj.(*corev1.Event)
	if !ok {
		return nil, gvk, fmt.Errorf("events storage: decoded %T, want a core/v1 Event", obj)
	}
	out := FromCore(e)
	gv := eventsv1.SchemeGroupVersion.WithKind("Event")
	return out, &gv, nil
}

func (c storageCodec) Identifier() runtime.Identifier {
	return runtime.Identifier("events.k8s.io/v1-as-core:" + string(c.core.Identifier()))
}
