package apiserver

import (
	"encoding/json"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/openapi"
	"github.com/batchd/batchd/internal/registry"
)

// typeConverterModels are the OpenAPI models of pods and jobs, as served.
func typeConverterModels(t testing.TB) *openapi.Documents {
	t.Helper()
	verbs := []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	docs, err := openapi.New([]openapi.Resource{
		{GroupVersion: corev1.SchemeGroupVersion, Resource: "pods", Kind: "Pod", Namespaced: true, Verbs: verbs, Subresources: []string{"status"}},
		{GroupVersion: batchv1.SchemeGroupVersion, Resource: "jobs", Kind: "Job", Namespaced: true, Verbs: verbs, Subresources: []string{"status"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestTypeConverterRecordsWhatUpstreamRecords runs the same writes through
// field managers built on upstream's converter and on ours, which skips
// validating Go objects, and wants the same managedFields after each.
func TestTypeConverterRecordsWhatUpstreamRecords(t *testing.T) {
	models := typeConverterModels(t).Schemas()
	upstreamTC, err := managedfields.NewTypeConverter(models, false)
	if err != nil {
		t.Fatal(err)
	}
	ourTC, err := newTypeConverter(models)
	if err != nil {
		t.Fatal(err)
	}
	podGVK := corev1.SchemeGroupVersion.WithKind("Pod")
	jobGVK := batchv1.SchemeGroupVersion.WithKind("Job")

	pod := func(mutate func(*corev1.Pod)) runtime.Object {
		p := &corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"a": "b"}, Finalizers: []string{"batch.kubernetes.io/job-tracking"}},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{
					Name: "c", Image: "busybox", Command: []string{"true"},
					// Duplicate keys in a map-typed list: upstream allows them on update.
					Env:       []corev1.EnvVar{{Name: "X", Value: "1"}, {Name: "X", Value: "2"}},
					Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
				}},
			},
		}
		if mutate != nil {
			mutate(p)
		}
		return p
	}
	job := func(mutate func(*batchv1.Job)) runtime.Object {
		j := &batchv1.Job{
			TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default"},
			Spec: batchv1.JobSpec{
				Parallelism: ptr.To[int32](2), Completions: ptr.To[int32](4),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "x"}}}},
			},
		}
		if mutate != nil {
			mutate(j)
		}
		return j
	}
	type write struct {
		manager, subresource string
		obj                  runtime.Object
	}
	cases := []struct {
		name   string
		gvk    schema.GroupVersionKind
		empty  runtime.Object // what a create starts from, as fieldManagers.update
		writes []write
	}{
		{"pod created, bound, run, finalizer removed", podGVK, &corev1.Pod{}, []write{
			{"batchd", "", pod(nil)},
			{"batchd", "", pod(func(p *corev1.Pod) { p.Spec.NodeName = "n" })},
			{"agent", "status", pod(func(p *corev1.Pod) {
				p.Spec.NodeName = "n"
				p.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
					ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
			})},
			{"agent", "status", pod(func(p *corev1.Pod) {
				p.Spec.NodeName = "n"
				p.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted"}},
					ContainerStatuses: []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}}}
			})},
			{"job-controller", "", pod(func(p *corev1.Pod) { p.Spec.NodeName = "n"; p.Finalizers = nil; p.Labels["c"] = "d" })},
		}},
		{"job created, edited, status written", jobGVK, &batchv1.Job{}, []write{
			{"kubectl", "", job(nil)},
			{"kubectl-edit", "", job(func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](3) })},
			{"job-controller", "status", job(func(j *batchv1.Job) {
				j.Spec.Parallelism = ptr.To[int32](3)
				j.Status = batchv1.JobStatus{Active: 3, Ready: ptr.To[int32](1), Conditions: []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionFalse}}}
			})},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fms := map[string]map[string]*managedfields.FieldManager{}
			for name, conv := range map[string]managedfields.TypeConverter{"upstream": upstreamTC, "ours": ourTC} {
				fms[name] = map[string]*managedfields.FieldManager{}
				for _, sub := range []string{"", "status"} {
					fm, err := managedfields.NewDefaultFieldManager(conv, scheme.Scheme, scheme.Scheme, scheme.Scheme, tc.gvk, tc.gvk.GroupVersion(), sub, nil)
					if err != nil {
						t.Fatal(err)
					}
					fms[name][sub] = fm
				}
			}
			live := map[string]runtime.Object{}
			for i, w := range tc.writes {
				got := map[string]string{}
				for name := range fms {
					before := live[name]
					if before == nil {
						before = tc.empty.DeepCopyObject()
					}
					next := w.obj.DeepCopyObject()
					next.(metav1.Object).SetManagedFields(before.(metav1.Object).GetManagedFields())
					out, err := fms[name][w.subresource].Update(before, next, w.manager)
					if err != nil {
						t.Fatalf("write %d through %s: %v", i, name, err)
					}
					live[name] = out
					mf := out.(metav1.Object).GetManagedFields()
					for j := range mf {
						mf[j].Time = nil
					}
					b, _ := json.Marshal(mf)
					got[name] = string(b)
				}
				if got["ours"] != got["upstream"] {
					t.Fatalf("write %d (%s %q): managedFields differ\nupstream: %s\nours:     %s", i, w.manager, w.subresource, got["upstream"], got["ours"])
				}
				if got["ours"] == "null" {
					t.Fatalf("write %d recorded no managedFields", i)
				}
			}
		})
	}
}

// TestTypeConverterValidatesUnstructured: applied configurations (from
// users, unstructured) are still checked against the schema.
func TestTypeConverterValidatesUnstructured(t *testing.T) {
	tc, err := newTypeConverter(typeConverterModels(t).Schemas())
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "j"},
		"spec":     map[string]any{"parallelism": int64(1), "notAField": true},
	}}
	_, err = tc.ObjectToTyped(u)
	if err == nil || !strings.Contains(err.Error(), "notAField") {
		t.Fatalf("unstructured Job with an unknown field: err = %v, want one naming the field", err)
	}
	delete(u.Object["spec"].(map[string]any), "notAField")
	if _, err := tc.ObjectToTyped(u); err != nil {
		t.Fatalf("valid unstructured Job: %v", err)
	}
	if _, err := tc.ObjectToTyped(&corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v9", Kind: "Pod"}}); err == nil {
		t.Fatal("a kind without a model converted without error")
	}
}

// BenchmarkFieldManagerPodStatus is one pod status write's managedFields
// update through upstream's converter and ours.
func BenchmarkFieldManagerPodStatus(b *testing.B) {
	docs, err := openapi.New([]openapi.Resource{{GroupVersion: corev1.SchemeGroupVersion, Resource: "pods", Kind: "Pod", Namespaced: true,
		Verbs: []string{"create", "get", "update"}, Subresources: []string{"status"}}})
	if err != nil {
		b.Fatal(err)
	}
	upstreamTC, err := managedfields.NewTypeConverter(docs.Schemas(), false)
	if err != nil {
		b.Fatal(err)
	}
	ourTC, err := newTypeConverter(docs.Schemas())
	if err != nil {
		b.Fatal(err)
	}
	gvk := corev1.SchemeGroupVersion.WithKind("Pod")
	live := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"job-name": "j"}},
		Spec: corev1.PodSpec{NodeName: "n", RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: "x", Command: []string{"/bin/true"}}}},
	}
	next := live.DeepCopy()
	next.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
	res := &registry.Resource{GroupVersion: corev1.SchemeGroupVersion, Subresources: map[string]registry.Strategy{"status": &registry.StatusStrategy{}}}
	for _, conv := range []struct {
		name    string
		tc      managedfields.TypeConverter
		ignored string // compare without it (updateManagedFields)
	}{{"upstream", upstreamTC, ""}, {"ours", ourTC, ""}, {"ours-without-spec", ourTC, "spec"}} {
		b.Run(conv.name, func(b *testing.B) {
			fm, err := managedfields.NewDefaultFieldManager(conv.tc, scheme.Scheme, scheme.Scheme, scheme.Scheme, gvk, gvk.GroupVersion(), "status", resetFields(res, "status"))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if out := updateManagedFields(fm, conv.ignored, live.DeepCopy(), next.DeepCopy(), "agent"); len(out.(*corev1.Pod).ManagedFields) == 0 {
					b.Fatal("no managedFields recorded")
				}
			}
		})
	}
}

// TestManagedFieldsWithoutIgnoredField: comparing objects without the
// field a write leaves out of managedFields (status on the main resource,
// spec on status), and without spec or status where a write leaves them
// as they were, records exactly what comparing the whole objects does,
// even when the ignored field differs.
func TestManagedFieldsWithoutIgnoredField(t *testing.T) {
	tc, err := newTypeConverter(typeConverterModels(t).Schemas())
	if err != nil {
		t.Fatal(err)
	}
	res := &registry.Resource{GroupVersion: corev1.SchemeGroupVersion, Subresources: map[string]registry.Strategy{"status": &registry.StatusStrategy{}}}
	gvk := corev1.SchemeGroupVersion.WithKind("Pod")
	fms := map[string]*managedfields.FieldManager{}
	for _, sub := range []string{"", "status"} {
		if fms[sub], err = managedfields.NewDefaultFieldManager(tc, scheme.Scheme, scheme.Scheme, scheme.Scheme, gvk, gvk.GroupVersion(), sub, resetFields(res, sub)); err != nil {
			t.Fatal(err)
		}
	}
	base := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Finalizers: []string{"batch.kubernetes.io/job-tracking"}},
		Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "x"}}},
	}
	step := func(mutate func(*corev1.Pod)) func(*corev1.Pod) *corev1.Pod {
		return func(live *corev1.Pod) *corev1.Pod {
			p := live.DeepCopy()
			mutate(p)
			return p
		}
	}
	writes := []struct {
		manager, sub string
		next         func(live *corev1.Pod) *corev1.Pod
	}{
		{"job-controller", "", func(*corev1.Pod) *corev1.Pod { return base.DeepCopy() }},
		{"scheduler", "", step(func(p *corev1.Pod) { p.Spec.NodeName = "n" })},
		{"agent", "status", step(func(p *corev1.Pod) {
			p.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		})},
		// A status write that also changes spec, and a main write that
		// also changes status: the ignored part differs.
		{"agent", "status", step(func(p *corev1.Pod) {
			p.Spec.ActiveDeadlineSeconds = ptr.To[int64](5)
			p.Status.Phase = corev1.PodSucceeded
			p.Status.Conditions[0].Status = corev1.ConditionFalse
		})},
		{"job-controller", "", step(func(p *corev1.Pod) {
			p.Finalizers = nil
			p.Labels = map[string]string{"x": "y"}
			p.Status.Phase = corev1.PodFailed
		})},
		{"kubectl", "", step(func(p *corev1.Pod) { p.Labels = nil; p.Spec.Containers[0].Image = "z" })},
		// Writes that leave spec and status as they are (both left out
		// of the compare): a finalizer removal, a label by a new manager,
		// and a status write that changes only metadata.
		{"job-controller", "", step(func(p *corev1.Pod) { p.Finalizers = []string{"a", "b"} })},
		{"job-controller", "", step(func(p *corev1.Pod) { p.Finalizers = []string{"b"} })},
		{"labeler", "", step(func(p *corev1.Pod) { p.Labels = map[string]string{"l": "1"} })},
		{"agent", "status", step(func(p *corev1.Pod) { p.Annotations = map[string]string{"a": "1"} })},
		// And a main write that changes spec after all that.
		{"kubectl", "", step(func(p *corev1.Pod) { p.Spec.Containers[0].Image = "w"; p.Finalizers = nil })},
	}
	var liveFull, liveStripped *corev1.Pod = &corev1.Pod{}, &corev1.Pod{}
	for i, w := range writes {
		full := w.next(liveFull)
		stripped := w.next(liveStripped)
		full.ManagedFields, stripped.ManagedFields = liveFull.ManagedFields, liveStripped.ManagedFields
		gotFull := fms[w.sub].UpdateNoErrors(liveFull, full, w.manager).(*corev1.Pod)
		gotStripped := updateManagedFields(fms[w.sub], ignoredField(res, w.sub), liveStripped, stripped, w.manager).(*corev1.Pod)
		if gotStripped != stripped {
			t.Fatalf("write %d: updateManagedFields returned another object than the one written", i)
		}
		if gotStripped.Spec.NodeName != gotFull.Spec.NodeName || gotStripped.Status.Phase != gotFull.Status.Phase {
			t.Fatalf("write %d: the written object lost its spec or status", i)
		}
		a, b := managedJSON(gotFull.ManagedFields), managedJSON(gotStripped.ManagedFields)
		if a != b {
			t.Fatalf("write %d (%s %q): managedFields differ\nwhole objects: %s\nwithout %s:  %s", i, w.manager, w.sub, a, ignoredField(res, w.sub), b)
		}
		if len(gotFull.ManagedFields) == 0 {
			t.Fatalf("write %d recorded no managedFields", i)
		}
		liveFull, liveStripped = gotFull, gotStripped
	}
}

func managedJSON(mf []metav1.ManagedFieldsEntry) string {
	mf = append([]metav1.ManagedFieldsEntry(nil), mf...)
	for i := range mf {
		mf[i].Time = nil
	}
	b, _ := json.Marshal(mf)
	return string(b)
}

// BenchmarkFieldManagerFinalizerRemoval: the Job controller's patch of a
// finished pod, which changes only its finalizers, compared whole and as
// updateManagedFields compares it (without status, ignored, nor spec,
// unchanged).
func BenchmarkFieldManagerFinalizerRemoval(b *testing.B) {
	tc, err := newTypeConverter(typeConverterModels(b).Schemas())
	if err != nil {
		b.Fatal(err)
	}
	gvk := corev1.SchemeGroupVersion.WithKind("Pod")
	res := &registry.Resource{GroupVersion: corev1.SchemeGroupVersion, Subresources: map[string]registry.Strategy{"status": &registry.StatusStrategy{}}}
	fm, err := managedfields.NewDefaultFieldManager(tc, scheme.Scheme, scheme.Scheme, scheme.Scheme, gvk, gvk.GroupVersion(), "", resetFields(res, ""))
	if err != nil {
		b.Fatal(err)
	}
	live := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"job-name": "j"}, Finalizers: []string{"batch.kubernetes.io/job-tracking"}},
		Spec: corev1.PodSpec{NodeName: "n", RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: "x", Command: []string{"/bin/true"}, Env: []corev1.EnvVar{{Name: "A", Value: "1"}},
				VolumeMounts: []corev1.VolumeMount{{Name: "token", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}}}},
			Volumes: []corev1.Volume{{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodSucceeded, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}},
	}
	// Its creator's and the agent's fields, as on a finished Job pod.
	live = fm.UpdateNoErrors(&corev1.Pod{}, live, "job-controller").(*corev1.Pod)
	next := live.DeepCopy()
	next.Finalizers = nil
	for _, bm := range []struct {
		name   string
		update func(live, obj runtime.Object) runtime.Object
	}{
		{"whole", func(live, obj runtime.Object) runtime.Object { return fm.UpdateNoErrors(live, obj, "job-controller") }},
		{"compared-copies", func(live, obj runtime.Object) runtime.Object {
			return updateManagedFields(fm, ignoredField(res, ""), live, obj, "job-controller")
		}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out := bm.update(live.DeepCopy(), next.DeepCopy()); len(out.(*corev1.Pod).ManagedFields) == 0 {
					b.Fatal("no managedFields recorded")
				}
			}
		})
	}
}
