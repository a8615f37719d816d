package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"reflect"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	sigsjson "sigs.k8s.io/json"

	"github.com/batchd/batchd/internal/registry"
)

// patchTypes are the PATCH content types batchd applies.
var patchTypes = []string{
	string(types.JSONPatchType),
	string(types.MergePatchType),
	string(types.ApplyYAMLPatchType),
	string(types.StrategicMergePatchType),
}

func (s *Server) servePatch(req *request) {
	dry, err := dryRun(req.query["dryRun"], "PatchOptions")
	if err != nil {
		s.fail(req, err)
		return
	}
	media, _, err := mime.ParseMediaType(req.r.Header.Get("Content-Type"))
	if err != nil || !isPatchType(media) {
		s.fail(req, unsupportedMediaType(req.r.Header.Get("Content-Type"), patchTypes))
		return
	}
	patch, err := readBody(req.r)
	if err != nil {
		s.fail(req, err)
		return
	}
	if types.PatchType(media) == types.ApplyYAMLPatchType {
		s.serveApply(req, patch, dry)
		return
	}
	jsonInfo := s.serializer(mediaJSON)
	current := s.codecs.EncoderForVersion(jsonInfo.Serializer, req.res.GroupVersion)
	obj, _, err := req.store.Update(req.r.Context(), req.info.namespace, req.info.name, func(cur runtime.Object) (runtime.Object, error) {
		if obj, ok := s.patchMetadata(types.PatchType(media), cur, patch, req.res.NewFunc()); ok {
			return s.fieldManagers.update(req, cur, obj), nil
		}
		var buf bytes.Buffer
		if err := current.Encode(cur, &buf); err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		patched, err := applyPatch(types.PatchType(media), buf.Bytes(), patch, req.res.NewFunc())
		if err != nil {
			return nil, err
		}
		obj, err := s.decode(req, patched, jsonInfo, req.res.NewFunc())
		if err != nil {
			return nil, err
		}
		return s.fieldManagers.update(req, cur, obj), nil
	}, registry.UpdateOptions{Subresource: req.info.subresource, DryRun: dry, Warn: req.warn})
	if err != nil {
		s.fail(req, err)
		return
	}
	s.respond(req, http.StatusOK, obj)
}

// patchMetadata applies a merge or strategic merge patch of nothing but
// metadata (the Job controller's finalizer removal on every pod it
// tracks, labels, annotations, owner references) to the object's metadata
// alone, as the general path would to the whole object: a patch's
// metadata part depends on nothing outside metadata, and decoding the
// result again would return the rest unchanged (the stored object is
// already defaulted; defaults are applied again all the same). That spares
// encoding the whole object to JSON, patching it and decoding it back,
// most of the finalizer patch's cost. ok is false, and the caller takes
// the general path, for any other patch, object or outcome: a version to
// convert, a directive on metadata as a whole ($patch), a patch that does
// not apply, or a result the general path would warn about or refuse
// (unknown or duplicate fields, which it names by their path in the whole
// object), so errors and warnings are always the general path's.
func (s *Server) patchMetadata(pt types.PatchType, cur runtime.Object, patch []byte, into runtime.Object) (runtime.Object, bool) {
	if pt != types.StrategicMergePatchType && pt != types.MergePatchType {
		return nil, false
	}
	if reflect.TypeOf(cur) != reflect.TypeOf(into) {
		return nil, false
	}
	accessor, ok := cur.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, false
	}
	meta, ok := accessor.GetObjectMeta().(*metav1.ObjectMeta)
	if !ok {
		return nil, false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(patch, &top) != nil || len(top) != 1 {
		return nil, false
	}
	metaPatch, ok := top["metadata"]
	if !ok || !bytes.HasPrefix(bytes.TrimSpace(metaPatch), []byte("{")) {
		return nil, false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(metaPatch, &fields) != nil {
		return nil, false
	}
	if _, ok := fields["$patch"]; ok {
		return nil, false
	}
	// Managed fields are most of a pod's metadata, and a patch that does
	// not name them leaves them as they are: they stay out of the round
	// trip.
	m := *meta
	_, patchesManagers := fields["managedFields"]
	if !patchesManagers {
		m.ManagedFields = nil
	}
	original, err := json.Marshal(&m)
	if err != nil {
		return nil, false
	}
	var patched []byte
	if pt == types.StrategicMergePatchType {
		patched, err = strategicpatch.StrategicMergePatch(original, metaPatch, &metav1.ObjectMeta{})
	} else {
		patched, err = jsonpatch.MergePatch(original, metaPatch)
	}
	if err != nil {
		return nil, false
	}
	var out metav1.ObjectMeta
	strict, err := sigsjson.UnmarshalStrict(patched, &out, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil || len(strict) > 0 {
		return nil, false
	}
	obj := cur.DeepCopyObject()
	objMeta := obj.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)
	if !patchesManagers {
		out.ManagedFields = objMeta.ManagedFields
	}
	*objMeta = out
	s.scheme.Default(obj)
	return obj, true
}

func isPatchType(media string) bool {
	for _, t := range patchTypes {
		if media == t {
			return true
		}
	}
	return false
}

// applyPatch applies a patch to an object's JSON, with upstream's error
// codes: malformed patches are 400s, patches that cannot apply are 422s.
func applyPatch(pt types.PatchType, original, patch []byte, schema runtime.Object) ([]byte, error) {
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out, err := p.Apply(original)
		if err != nil {
			return nil, unprocessable(err.Error())
		}
		return out, nil
	case types.MergePatchType:
		out, err := jsonpatch.MergePatch(original, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	case types.StrategicMergePatchType:
		out, err := strategicpatch.StrategicMergePatch(original, patch, schema)
		if err != nil {
			return nil, strategicPatchError(err)
		}
		return out, nil
	}
	return nil, unsupportedMediaType(string(pt), patchTypes)
}

func strategicPatchError(err error) error {
	if errors.Is(err, mergepatch.ErrNoListOfLists) || errors.Is(err, mergepatch.ErrPatchContentNotMatchRetainKeys) {
		return unprocessable(err.Error())
	}
	return apierrors.NewBadRequest(err.Error())
}

func unprocessable(msg string) error {
	return statusError(http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, msg)
}
