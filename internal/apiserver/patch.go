package apiserver

import (
	"bytes"
	"errors"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

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
