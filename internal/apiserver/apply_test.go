package apiserver_test

import (
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1apply "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/batchd/batchd/internal/clustertest"
)

func managers(fields []metav1.ManagedFieldsEntry) map[string]metav1.ManagedFieldsOperationType {
	out := map[string]metav1.ManagedFieldsOperationType{}
	for _, f := range fields {
		out[f.Manager] = f.Operation
	}
	return out
}

func TestServerSideApply(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")

	cfg := corev1apply.ConfigMap("ssa", "default").WithData(map[string]string{"a": "1"})
	created, err := cms.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: "alice"})
	if err != nil {
		t.Fatalf("apply creating the object: %v", err)
	}
	if created.Data["a"] != "1" || managers(created.ManagedFields)["alice"] != metav1.ManagedFieldsOperationApply {
		t.Errorf("created = %v, managers %v; want data a=1 owned by alice (Apply)", created.Data, managers(created.ManagedFields))
	}

	// Another manager changes alice's field with an ordinary update.
	if _, err := cms.Patch(ctx, "ssa", types.MergePatchType, []byte(`{"data":{"a":"2","b":"x"}}`), metav1.PatchOptions{FieldManager: "bob"}); err != nil {
		t.Fatal(err)
	}
	_, err = cms.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: "alice"})
	st := statusOf(t, err)
	if st.Code != http.StatusConflict || st.Details == nil || len(st.Details.Causes) != 1 ||
		st.Details.Causes[0].Type != metav1.CauseTypeFieldManagerConflict || st.Details.Causes[0].Field != ".data.a" {
		t.Fatalf("conflicting apply: %+v, want 409 with a FieldManagerConflict cause on .data.a", st)
	}
	forced, err := cms.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: "alice", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if forced.Data["a"] != "1" || forced.Data["b"] != "x" {
		t.Errorf("forced apply data = %v, want a=1 and bob's b kept", forced.Data)
	}

	// Dropping a field from the applied configuration removes it.
	smaller := corev1apply.ConfigMap("ssa", "default").WithData(map[string]string{})
	after, err := cms.Apply(ctx, smaller, metav1.ApplyOptions{FieldManager: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := after.Data["a"]; ok || after.Data["b"] != "x" {
		t.Errorf("after applying without a: data = %v, want only bob's b", after.Data)
	}

	_, err = cms.Apply(ctx, cfg, metav1.ApplyOptions{})
	if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
		t.Errorf("apply without a field manager: %v, want a refusal", err)
	}
}

func TestManagedFieldsOnEveryWrite(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, configMap("m", nil), metav1.CreateOptions{FieldManager: "creator"})
	if err != nil {
		t.Fatal(err)
	}
	if got := managers(cm.ManagedFields); got["creator"] != metav1.ManagedFieldsOperationUpdate {
		t.Errorf("after create managers = %v, want creator (Update)", got)
	}
	cm.Data["k"] = "changed"
	cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "updater"})
	if err != nil {
		t.Fatal(err)
	}
	if got := managers(cm.ManagedFields); got["updater"] != metav1.ManagedFieldsOperationUpdate {
		t.Errorf("after update managers = %v, want updater", got)
	}

	// Status writes are recorded against the status subresource.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{SchedulerName: testScheduler,
		Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	pod, err = c.Client().CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod, err = c.Client().CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{FieldManager: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	var sub string
	for _, f := range pod.ManagedFields {
		if f.Manager == "agent" {
			sub = f.Subresource
		}
	}
	if sub != "status" {
		t.Errorf("agent's entry subresource = %q, want status (entries %+v)", sub, pod.ManagedFields)
	}
}

func TestOpenAPIServed(t *testing.T) {
	c := clustertest.Start(t)
	resp, body := rawRequest(t, c, http.MethodGet, "/openapi/v3", "", "", nil)
	if resp.StatusCode != http.StatusOK || !contains(body, `"apis/batch/v1"`) {
		t.Fatalf("/openapi/v3: %d %.200s", resp.StatusCode, body)
	}
	resp, body = rawRequest(t, c, http.MethodGet, "/openapi/v3/apis/batch/v1", "", "", nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" || !contains(body, "fieldValidation") {
		t.Fatalf("batch/v1 document: %d etag %q", resp.StatusCode, etag)
	}
	resp, _ = rawRequest(t, c, http.MethodGet, "/openapi/v3/apis/batch/v1", "", "", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %d, want 304", resp.StatusCode)
	}
	resp, _ = rawRequest(t, c, http.MethodGet, "/openapi/v2", "", "",
		http.Header{"Accept": {"application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/com.github.proto-openapi.spec.v2.v1.0+protobuf" {
		t.Errorf("/openapi/v2 protobuf: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, err := c.Client().Discovery().OpenAPISchema(); err != nil {
		t.Errorf("client-go reading the v2 protobuf document: %v", err)
	}
}
