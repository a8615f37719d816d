package apiserver_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/batchd/batchd/internal/clustertest"
)

// warnings records the API's warnings per request, for comparing them.
type warnings struct {
	mu   sync.Mutex
	last []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = append(w.last, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.last
	w.last = nil
	return out
}

// TestMetadataPatchesMatchTheGeneralPath: a merge or strategic merge patch
// of metadata alone is applied to the metadata alone (patchMetadata); it
// must give what patching the whole object gives, errors and warnings
// included. (The finalizers are not the Job controller's own, which it
// removes from pods no Job owns.) Each case patches two identical pods: one with the patch as
// it is, one with a no-op "spec":{} added, which takes the general path.
func TestMetadataPatchesMatchTheGeneralPath(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	w := &warnings{}
	cfg := c.Config()
	cfg.WarningHandler = w
	cfg.QPS, cfg.Burst = 1000, 1000
	cs := kubernetes.NewForConfigOrDie(rest.CopyConfig(cfg))
	pods := cs.CoreV1().Pods("default")
	// Owners that exist: the garbage collector deletes pods whose owners
	// do not.
	uids := map[string]string{}
	for _, name := range []string{"owner", "other"} {
		cm, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids[name] = string(cm.UID)
	}
	withUIDs := strings.NewReplacer("u-1", uids["owner"], "u-2", uids["other"])

	const (
		smp   = types.StrategicMergePatchType
		merge = types.MergePatchType
	)
	for _, tc := range []struct {
		name  string
		pt    types.PatchType
		patch string // the "metadata" value
	}{
		{"remove a tracking finalizer", smp, `{"$deleteFromPrimitiveList/finalizers":["example.com/tracking"]}`},
		{"remove a finalizer it does not have", smp, `{"$deleteFromPrimitiveList/finalizers":["example.com/none"]}`},
		{"add a label", smp, `{"labels":{"new":"v"}}`},
		{"delete a label", smp, `{"labels":{"app":null}}`},
		{"finalizers with their order", smp, `{"$setElementOrder/finalizers":["example.com/keep","example.com/tracking"],"finalizers":["example.com/keep"]}`},
		{"add an owner reference", smp, `{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"other","uid":"u-2"}]}`},
		{"delete an owner reference", smp, `{"ownerReferences":[{"$patch":"delete","uid":"u-1"}]}`},
		{"replace the labels", smp, `{"labels":{"$patch":"replace","only":"this"}}`},
		{"replace metadata", smp, `{"$patch":"replace","name":"x"}`},
		{"annotations", merge, `{"annotations":{"a":"1","gone":null}}`},
		{"finalizers replaced", merge, `{"finalizers":["example.com/other"]}`},
		{"labels removed", merge, `{"labels":null}`},
		{"an unknown field", smp, `{"bogus":1}`},
		{"a field of the wrong type", smp, `{"labels":"x"}`},
		{"a new uid", smp, `{"uid":"wrong"}`},
		{"a new name", merge, `{"name":"renamed"}`},
		{"not an object", merge, `"x"`},
		{"managed fields dropped", merge, `{"managedFields":[{}]}`},
		{"managed fields replaced", smp, `{"managedFields":[{"manager":"someone","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:app":{}}}}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := strings.ToLower(strings.NewReplacer(" ", "-", "'", "").Replace(tc.name))
			results := map[string]string{}
			for _, variant := range []string{"meta", "whole"} {
				name := variant + "-" + base
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{
						Name:            name,
						Labels:          map[string]string{"app": "x", "keep": "y"},
						Annotations:     map[string]string{"gone": "soon"},
						Finalizers:      []string{"example.com/tracking", "example.com/keep"},
						OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: types.UID(uids["owner"])}},
					},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x", Command: []string{"/bin/true"}}}},
				}
				if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				w.take()
				patch := withUIDs.Replace(tc.patch)
				body := `{"metadata":` + patch + `}`
				if variant == "whole" {
					body = `{"metadata":` + patch + `,"spec":{}}`
				}
				got, err := pods.Patch(ctx, name, tc.pt, []byte(body), metav1.PatchOptions{})
				var res string
				if err != nil {
					res = "error: " + err.Error()
				} else {
					res = normalizedPod(t, got)
				}
				res += "\nwarnings: " + strings.Join(w.take(), "; ")
				results[variant] = strings.ReplaceAll(res, name, "NAME")
			}
			if results["meta"] != results["whole"] {
				t.Errorf("metadata-only patch:\n%s\nwant, as patching the whole pod:\n%s", results["meta"], results["whole"])
			}
		})
	}
}

// normalizedPod is the pod's JSON without what differs between two
// creations: uid, resourceVersion, times, and the status the scheduler
// writes when it gets to each pod (no patch here touches status).
func normalizedPod(t *testing.T, p *corev1.Pod) string {
	t.Helper()
	p = p.DeepCopy()
	p.UID, p.ResourceVersion, p.CreationTimestamp = "", "", metav1.Time{}
	p.Status = corev1.PodStatus{}
	var managers []metav1.ManagedFieldsEntry
	for _, m := range p.ManagedFields {
		if m.Subresource != "status" {
			m.Time = nil
			managers = append(managers, m)
		}
	}
	p.ManagedFields = managers
	b, err := json.MarshalIndent(p, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// BenchmarkFinalizerPatch times the Job controller's finalizer removal and
// adoption patches on a pod as the Job controller's pods look (a
// controller reference, labels, managed fields of three managers), on
// the metadata path and, with a no-op "spec":{} added, the general one.
// Each operation is one request: removal and addition alternate.
func BenchmarkFinalizerPatch(b *testing.B) {
	c := clustertest.Start(b)
	ctx := b.Context()
	cfg := c.Config()
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cs := kubernetes.NewForConfigOrDie(cfg)
	pods := cs.CoreV1().Pods("default")
	for _, variant := range []string{"meta", "whole"} {
		b.Run(variant, func(b *testing.B) {
			name := "bench-" + variant
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{
					Name:       name,
					Labels:     map[string]string{"batch.kubernetes.io/job-name": "j", "batch.kubernetes.io/controller-uid": "u", "job-name": "j", "controller-uid": "u"},
					Finalizers: []string{"example.com/tracking"},
				},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "c", Image: "x", Command: []string{"/bin/true"}}},
				},
			}
			if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
			suffix := ""
			if variant == "whole" {
				suffix = `,"spec":{}`
			}
			remove := []byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/tracking"]}` + suffix + `}`)
			add := []byte(`{"metadata":{"finalizers":["example.com/tracking"]}` + suffix + `}`)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				patch := remove
				if i%2 == 1 {
					patch = add
				}
				if _, err := pods.Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
