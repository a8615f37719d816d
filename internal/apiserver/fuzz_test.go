package apiserver

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"

	"github.com/batchd/batchd/internal/registry"
	"github.com/batchd/batchd/internal/registry/batch"
)

// decodingServer is a Server with codecs only: enough to decode bodies.
func decodingServer(tb testing.TB) *Server {
	scheme, err := registry.NewScheme()
	if err != nil {
		tb.Fatal(err)
	}
	return &Server{codecs: serializer.NewCodecFactory(scheme, serializer.EnableStrict), scheme: scheme, log: slog.New(slog.DiscardHandler)}
}

func jobResource(tb testing.TB) *registry.Resource {
	for _, r := range batch.Resources() {
		if r.Name == "jobs" {
			return r
		}
	}
	tb.Fatal("no jobs resource")
	return nil
}

// FuzzDecodeBody: request bodies are untrusted. Decoding never panics, and
// a body that decodes yields a Job.
func FuzzDecodeBody(f *testing.F) {
	job, _ := json.Marshal(&batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: "j"}, Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}}})
	f.Add(job, "Strict", "application/json")
	f.Add([]byte(`{"apiVersion":"batch/v1","kind":"Job","spec":{"bogus":1,"bogus":2}}`), "Warn", "application/json")
	f.Add([]byte("apiVersion: batch/v1\nkind: Job\nmetadata: {name: y}\n"), "Strict", "application/yaml")
	f.Add([]byte("k8s\x00\x0a\x0d\x0a\x08batch/v1\x12\x03Job"), "", "application/vnd.kubernetes.protobuf")
	s := decodingServer(f)
	res := jobResource(f)
	f.Fuzz(func(t *testing.T, body []byte, validation, contentType string) {
		r := httptest.NewRequest(http.MethodPost, "/apis/batch/v1/namespaces/default/jobs", nil)
		r.Header.Set("Content-Type", contentType)
		req := &request{w: httptest.NewRecorder(), r: r, res: res, query: url.Values{"fieldValidation": {validation}}}
		info, err := s.negotiateInput(r)
		if err != nil {
			return
		}
		obj, err := s.decode(req, body, info, res.NewFunc())
		if err != nil {
			return
		}
		if _, ok := obj.(*batchv1.Job); !ok {
			t.Errorf("decoded %T, want *batchv1.Job", obj)
		}
	})
}

// FuzzApplyPatch: patches are untrusted. Applying never panics, and a
// successful patch yields JSON.
func FuzzApplyPatch(f *testing.F) {
	original := []byte(`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","labels":{"a":"b"}},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}}}`)
	f.Add(original, []byte(`{"metadata":{"labels":{"a":null,"c":"d"}}}`), 0)
	f.Add(original, []byte(`[{"op":"add","path":"/spec/parallelism","value":2}]`), 1)
	f.Add(original, []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"j"},{"$patch":"delete","name":"x"}]}}}}`), 2)
	f.Add(original, []byte(`{"$setElementOrder/containers":[{"name":"c"}],"$retainKeys":["x"]}`), 2)
	types := []types.PatchType{types.MergePatchType, types.JSONPatchType, types.StrategicMergePatchType}
	f.Fuzz(func(t *testing.T, original, patch []byte, kind int) {
		if kind < 0 {
			kind = -kind
		}
		out, err := applyPatch(types[kind%len(types)], original, patch, &batchv1.Job{})
		if err != nil {
			return
		}
		var v any
		if json.Unmarshal(out, &v) != nil && json.Valid(original) {
			t.Errorf("patch of valid JSON produced invalid JSON: %q", out)
		}
	})
}
