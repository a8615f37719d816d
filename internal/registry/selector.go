package registry

import (
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/batchd/batchd/internal/storage"
)

// Selector is a parsed label and field selector; nil members match all.
type Selector struct {
	Labels labels.Selector
	Fields fields.Selector
}

// ParseSelector parses the labelSelector and fieldSelector query values and
// checks the field keys against what the resource supports.
func (s *Store) ParseSelector(labelSelector, fieldSelector string) (Selector, error) {
	var sel Selector
	if labelSelector != "" {
		l, err := labels.Parse(labelSelector)
		if err != nil {
			return sel, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		sel.Labels = l
	}
	if fieldSelector != "" {
		f, err := fields.ParseSelector(fieldSelector)
		if err != nil {
			return sel, apierrors.NewBadRequest(err.Error())
		}
		for _, r := range f.Requirements() {
			if !s.fieldSupported(r.Field) {
				return sel, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
			}
		}
		sel.Fields = f
	}
	return sel, nil
}

func (s *Store) fieldSupported(key string) bool {
	switch key {
	case "metadata.name":
		return true
	case "metadata.namespace":
		return true
	}
	return slices.Contains(s.res.FieldLabels, key)
}

// FieldSet returns every selectable field of obj.
func (s *Store) FieldSet(obj runtime.Object) fields.Set {
	set := fields.Set{}
	if s.res.Fields != nil {
		set = s.res.Fields(obj)
		if set == nil {
			set = fields.Set{}
		}
	}
	if accessor, err := meta.Accessor(obj); err == nil {
		set["metadata.name"] = accessor.GetName()
		set["metadata.namespace"] = accessor.GetNamespace()
	}
	return set
}

func (s *Store) predicate(sel Selector) storage.Predicate {
	matchLabels := sel.Labels != nil && !sel.Labels.Empty()
	matchFields := sel.Fields != nil && !sel.Fields.Empty()
	if !matchLabels && !matchFields {
		return nil
	}
	return func(obj runtime.Object) bool {
		if matchLabels {
			accessor, err := meta.Accessor(obj)
			if err != nil || !sel.Labels.Matches(labels.Set(accessor.GetLabels())) {
				return false
			}
		}
		return !matchFields || sel.Fields.Matches(s.FieldSet(obj))
	}
}
