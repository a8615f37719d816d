package apiserver

import (
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/batchd/batchd/internal/registry"
)

// serveApply implements server-side apply (application/apply-patch+yaml):
// the applied configuration is merged into the live object by the field
// manager, which records ownership and refuses conflicting changes to
// fields other managers own unless force is set. A missing object is
// created.
func (s *Server) serveApply(req *request, patch []byte, dry bool) {
	manager := req.query.Get("fieldManager")
	if manager == "" {
		s.fail(req, invalidOptions("PatchOptions", field.Required(field.NewPath("fieldManager"), "is required for apply patch")))
		return
	}
	force := false
	if f := req.query.Get("force"); f != "" {
		var err error
		if force, err = strconv.ParseBool(f); err != nil {
			s.fail(req, apierrors.NewBadRequest(fmt.Sprintf("invalid force: %q", f)))
			return
		}
	}
	applied := &unstructured.Unstructured{Object: map[string]any{}}
	if err := yaml.Unmarshal(patch, &applied.Object); err != nil {
		s.fail(req, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err)))
		return
	}
	if err := s.checkApplied(req, applied); err != nil {
		s.fail(req, err)
		return
	}
	fm := s.fieldManagers.forRequest(req)
	if fm == nil {
		s.fail(req, unsupportedMediaType(string(applyPatchType), patchTypes))
		return
	}
	obj, created, err := req.store.Update(req.r.Context(), req.info.namespace, req.info.name, func(cur runtime.Object) (runtime.Object, error) {
		live := cur
		if live == nil {
			live = req.res.NewFunc()
			accessor, _ := meta.Accessor(live)
			accessor.SetName(req.info.name)
			accessor.SetNamespace(req.info.namespace)
		}
		return fm.Apply(live, applied.DeepCopy(), manager, force)
	}, registry.UpdateOptions{Subresource: req.info.subresource, DryRun: dry, AllowCreate: true, Warn: req.warn})
	if err != nil {
		s.fail(req, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	s.respond(req, code, obj)
}

const applyPatchType = "application/apply-patch+yaml"

// checkApplied refuses an applied configuration for another kind or object.
func (s *Server) checkApplied(req *request, applied *unstructured.Unstructured) error {
	gvk := applied.GroupVersionKind()
	want := req.res.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return apierrors.NewBadRequest("apiVersion and kind are required in an applied configuration")
	}
	if gvk.GroupVersion() != want.GroupVersion() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", gvk.GroupVersion(), want.GroupVersion()))
	}
	if gvk.Kind != want.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: the kind in the data does not match the resource", gvk.Kind, gvk.Version, want.Kind))
	}
	if name := applied.GetName(); name != "" && name != req.info.name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", name, req.info.name))
	}
	if ns := applied.GetNamespace(); ns != "" && ns != req.info.namespace {
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}
