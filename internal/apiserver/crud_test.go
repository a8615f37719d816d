package apiserver_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
)

func configMap(name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Data:       map[string]string{"k": "v"},
	}
}

// otherController manages the Jobs these tests create, so the built-in Job
// controller leaves their status (and pods) alone: the tests are about the
// API, and the status writes they make must not race the controller's.
const otherController = "example.com/api-tests"

func simpleJob(name string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{ManagedBy: ptr.To(otherController), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
		}}},
	}
}

// statusOf returns the metav1.Status behind an API error.
func statusOf(t *testing.T, err error) metav1.Status {
	t.Helper()
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		t.Fatalf("error %v (%T) is not an API status", err, err)
	}
	return st.Status()
}

func TestCreateSetsServerFields(t *testing.T) {
	c := clustertest.Start(t)
	cms := c.Client().CoreV1().ConfigMaps("default")
	before := time.Now().Add(-time.Second)

	got, err := cms.Create(t.Context(), configMap("a", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.UID == "" || got.ResourceVersion == "" || got.CreationTimestamp.Time.Before(before) {
		t.Errorf("created object has uid %q, resourceVersion %q, creationTimestamp %v; want all set", got.UID, got.ResourceVersion, got.CreationTimestamp)
	}
	if got.Generation != 0 {
		t.Errorf("configmap generation = %d, want 0 (kinds without spec have none)", got.Generation)
	}
	read, err := cms.Get(t.Context(), "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, read); diff != "" {
		t.Errorf("get differs from create response (-create +get):\n%s", diff)
	}

	_, err = cms.Create(t.Context(), configMap("a", nil), metav1.CreateOptions{})
	if st := statusOf(t, err); st.Code != http.StatusConflict || st.Reason != metav1.StatusReasonAlreadyExists {
		t.Errorf("second create: code %d reason %q, want 409 AlreadyExists", st.Code, st.Reason)
	}
	if got, want := err.Error(), `configmaps "a" already exists`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}

	gen, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gen.Name) != len("gen-")+5 || gen.Name[:4] != "gen-" {
		t.Errorf("generated name %q, want gen- and 5 random characters", gen.Name)
	}
}

func TestInvalidNameIs422WithFieldPath(t *testing.T) {
	c := clustertest.Start(t)
	_, err := c.Client().CoreV1().ConfigMaps("default").Create(t.Context(), configMap("Bad_Name", nil), metav1.CreateOptions{})
	st := statusOf(t, err)
	if st.Code != http.StatusUnprocessableEntity || st.Reason != metav1.StatusReasonInvalid {
		t.Fatalf("code %d reason %q, want 422 Invalid", st.Code, st.Reason)
	}
	if st.Details == nil || st.Details.Kind != "ConfigMap" || st.Details.Name != "Bad_Name" || len(st.Details.Causes) == 0 {
		t.Fatalf("details = %+v, want kind ConfigMap, name Bad_Name and causes", st.Details)
	}
	if cause := st.Details.Causes[0]; cause.Field != "metadata.name" || cause.Type != metav1.CauseTypeFieldValueInvalid {
		t.Errorf("cause = %+v, want field metadata.name type FieldValueInvalid", cause)
	}
}

func TestMissingNamespaceIsRefused(t *testing.T) {
	c := clustertest.Start(t)
	_, err := c.Client().CoreV1().ConfigMaps("nope").Create(t.Context(), configMap("a", nil), metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) || err.Error() != `namespaces "nope" not found` {
		t.Errorf("create in a missing namespace: %v, want NotFound namespaces \"nope\" not found", err)
	}
}

func TestSystemNamespacesExist(t *testing.T) {
	c := clustertest.Start(t)
	for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		ns, err := c.Client().CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("namespace %s: %v", name, err)
			continue
		}
		if ns.Status.Phase != corev1.NamespaceActive || ns.Labels[corev1.LabelMetadataName] != name {
			t.Errorf("namespace %s: phase %q labels %v, want Active and %s=%s", name, ns.Status.Phase, ns.Labels, corev1.LabelMetadataName, name)
		}
	}
}

func TestStaleUpdateConflicts(t *testing.T) {
	c := clustertest.Start(t)
	cms := c.Client().CoreV1().ConfigMaps("default")
	first, err := cms.Create(t.Context(), configMap("a", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second := first.DeepCopy()
	first.Data["k"] = "one"
	updated, err := cms.Update(t.Context(), first, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if updated.ResourceVersion == first.ResourceVersion {
		t.Errorf("update kept resourceVersion %s", updated.ResourceVersion)
	}
	second.Data["k"] = "two"
	_, err = cms.Update(t.Context(), second, metav1.UpdateOptions{})
	st := statusOf(t, err)
	if st.Code != http.StatusConflict || st.Reason != metav1.StatusReasonConflict {
		t.Fatalf("stale update: code %d reason %q, want 409 Conflict", st.Code, st.Reason)
	}
	want := `Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again`
	if st.Message != want {
		t.Errorf("message = %q, want %q", st.Message, want)
	}
	got, _ := cms.Get(t.Context(), "a", metav1.GetOptions{})
	if got.Data["k"] != "one" {
		t.Errorf("after the refused update data = %v, want k=one", got.Data)
	}

	// An update without a resourceVersion is unconditional.
	second.ResourceVersion = ""
	if _, err := cms.Update(t.Context(), second, metav1.UpdateOptions{}); err != nil {
		t.Errorf("unconditional update: %v", err)
	}
	// An update that changes nothing keeps the resourceVersion.
	cur, _ := cms.Get(t.Context(), "a", metav1.GetOptions{})
	same, err := cms.Update(t.Context(), cur, metav1.UpdateOptions{})
	if err != nil || same.ResourceVersion != cur.ResourceVersion {
		t.Errorf("no-op update: rv %s -> %s, err %v; want unchanged", cur.ResourceVersion, same.ResourceVersion, err)
	}
}

func TestGenerationAndStatusSubresource(t *testing.T) {
	c := clustertest.Start(t)
	jobs := c.Client().BatchV1().Jobs("default")
	job := simpleJob("j")
	job.Status.Active = 7 // ignored on create
	job, err := jobs.Create(t.Context(), job, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Generation != 1 || job.Status.Active != 0 {
		t.Fatalf("created job generation %d status.active %d, want 1 and 0", job.Generation, job.Status.Active)
	}

	job.Labels = map[string]string{"x": "y"}
	job.Status.Active = 3 // the main resource ignores status
	job, err = jobs.Update(t.Context(), job, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Generation != 1 || job.Status.Active != 0 {
		t.Errorf("after a metadata update: generation %d status.active %d, want 1 and 0", job.Generation, job.Status.Active)
	}

	job.Spec.Parallelism = ptr.To[int32](3)
	job, err = jobs.Update(t.Context(), job, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Generation != 2 {
		t.Errorf("after a spec update generation = %d, want 2", job.Generation)
	}

	job.Status.Active = 2
	job.Spec.Parallelism = ptr.To[int32](9) // the status subresource ignores spec
	job, err = jobs.UpdateStatus(t.Context(), job, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Status.Active != 2 || *job.Spec.Parallelism != 3 || job.Generation != 2 {
		t.Errorf("after a status update: active %d parallelism %d generation %d, want 2, 3, 2", job.Status.Active, *job.Spec.Parallelism, job.Generation)
	}
}

func TestFinalizersDelayDeletion(t *testing.T) {
	c := clustertest.Start(t)
	cms := c.Client().CoreV1().ConfigMaps("default")
	cm := configMap("held", nil)
	cm.Finalizers = []string{"example.com/hold"}
	if _, err := cms.Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(t.Context(), "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	marked, err := cms.Get(t.Context(), "held", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("object with a finalizer is gone after delete: %v", err)
	}
	if marked.DeletionTimestamp == nil || marked.DeletionGracePeriodSeconds == nil || *marked.DeletionGracePeriodSeconds != 0 {
		t.Fatalf("deletionTimestamp %v grace %v, want set and 0", marked.DeletionTimestamp, marked.DeletionGracePeriodSeconds)
	}

	added := marked.DeepCopy()
	added.Finalizers = append(added.Finalizers, "example.com/another")
	if _, err := cms.Update(t.Context(), added, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("adding a finalizer while deleting: %v, want 422 Invalid", err)
	}

	marked.Finalizers = nil
	if _, err := cms.Update(t.Context(), marked, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(t.Context(), "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after the last finalizer went: %v, want NotFound", err)
	}
}

func TestDeletePreconditionsAndStatus(t *testing.T) {
	c := clustertest.Start(t)
	cms := c.Client().CoreV1().ConfigMaps("default")
	cm, err := cms.Create(t.Context(), configMap("a", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wrong := types.UID("not-the-uid")
	err = cms.Delete(t.Context(), "a", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &wrong}})
	if !apierrors.IsConflict(err) {
		t.Errorf("delete with a wrong uid precondition: %v, want 409 Conflict", err)
	}
	stale := "1"
	err = cms.Delete(t.Context(), "a", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &stale}})
	if !apierrors.IsConflict(err) {
		t.Errorf("delete with a stale resourceVersion precondition: %v, want 409 Conflict", err)
	}
	raw, err := c.Client().CoreV1().RESTClient().Delete().Namespace("default").Resource("configmaps").Name("a").
		Body(&metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cm.UID}}).DoRaw(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"status":"Success"`, `"kind":"configmaps"`, `"uid":"` + string(cm.UID) + `"`} {
		if !contains(string(raw), want) {
			t.Errorf("delete response %s lacks %s", raw, want)
		}
	}
	if err := cms.Delete(t.Context(), "a", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deleting again: %v, want NotFound", err)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	c := clustertest.Start(t)
	cms := c.Client().CoreV1().ConfigMaps("default")
	dry := []string{metav1.DryRunAll}
	got, err := cms.Create(t.Context(), configMap("dry", nil), metav1.CreateOptions{DryRun: dry})
	if err != nil || got.UID == "" {
		t.Fatalf("dry-run create: %v (uid %q), want success with the would-be object", err, got.UID)
	}
	if _, err := cms.Get(t.Context(), "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry-run create persisted the object: %v", err)
	}

	real, err := cms.Create(t.Context(), configMap("real", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed := real.DeepCopy()
	changed.Data["k"] = "changed"
	if _, err := cms.Update(t.Context(), changed, metav1.UpdateOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(t.Context(), "real", metav1.DeleteOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	after, err := cms.Get(t.Context(), "real", metav1.GetOptions{})
	if err != nil || after.Data["k"] != "v" || after.ResourceVersion != real.ResourceVersion {
		t.Errorf("after dry-run update and delete: %v %v, want the original object", after, err)
	}
	_, err = cms.Create(t.Context(), configMap("x", nil), metav1.CreateOptions{DryRun: []string{"Some"}})
	if !apierrors.IsInvalid(err) {
		t.Errorf("dryRun=Some: %v, want 422", err)
	}
}

func TestUnauthenticatedRequestsGet401(t *testing.T) {
	c := clustertest.Start(t)
	cfg := c.Config()
	cfg.BearerToken = ""
	client := kubernetes.NewForConfigOrDie(cfg)
	_, err := client.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
	if st := statusOf(t, err); st.Code != http.StatusUnauthorized || st.Reason != metav1.StatusReasonUnauthorized {
		t.Errorf("no token: code %d reason %q, want 401 Unauthorized", st.Code, st.Reason)
	}
	cfg.BearerToken = "wrong"
	_, err = kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("wrong token: %v, want 401", err)
	}
	// /version is public, as upstream serves it to anyone.
	if _, err := client.Discovery().ServerVersion(); err != nil {
		t.Errorf("/version without a token: %v", err)
	}
}

func TestRestartKeepsObjectsAndResourceVersions(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	var want []corev1.ConfigMap
	for i := range 5 {
		cm, err := c.Client().CoreV1().ConfigMaps("default").Create(ctx, configMap("cm-"+strconv.Itoa(i), nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, *cm)
	}
	job, err := c.Client().BatchV1().Jobs("default").Create(ctx, simpleJob("j"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	c.Restart(t)

	got, err := c.Client().CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.Items); diff != "" {
		t.Errorf("configmaps after restart (-before +after):\n%s", diff)
	}
	gotJob, err := c.Client().BatchV1().Jobs("default").Get(ctx, "j", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(job, gotJob); diff != "" {
		t.Errorf("job after restart (-before +after):\n%s", diff)
	}
}

func TestSecondServerOnSameDataDirFails(t *testing.T) {
	c := clustertest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := runServer(ctx, c.DataDir())
	if err == nil || !contains(err.Error(), "in use by another batchd server") {
		t.Errorf("second server on the same data dir: %v, want a clear in-use error", err)
	}
}

func TestSystemNamespacesCannotBeDeleted(t *testing.T) {
	c := clustertest.Start(t)
	nss := c.Client().CoreV1().Namespaces()
	for _, name := range []string{"default", "kube-system", "kube-public"} {
		err := nss.Delete(t.Context(), name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		if !apierrors.IsForbidden(err) || err.Error() != `namespaces "`+name+`" is forbidden: this namespace may not be deleted` {
			t.Errorf("deleting %s: %v, want Forbidden: this namespace may not be deleted", name, err)
		}
	}
	resp, body := rawRequest(t, c, http.MethodDelete, "/api/v1/namespaces", "", "", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || !contains(body, `"reason":"MethodNotAllowed"`) {
		t.Errorf("deleting the namespace collection: %d %s, want 405 MethodNotAllowed", resp.StatusCode, body)
	}
	if _, err := nss.Get(t.Context(), "kube-node-lease", metav1.GetOptions{}); err != nil {
		t.Errorf("kube-node-lease after the refused delete-collection: %v", err)
	}
}

func TestPodGracefulDeletion(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	pods := c.Client().CoreV1().Pods("default")
	newPod := func(name, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: node,
			TerminationGracePeriodSeconds: ptr.To[int64](20), Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	}
	created, err := pods.Create(ctx, newPod("bound", "node-1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status.Phase != corev1.PodPending || created.Spec.ServiceAccountName != "default" {
		t.Errorf("new pod phase %q serviceAccountName %q, want Pending and default", created.Status.Phase, created.Spec.ServiceAccountName)
	}
	if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	marked, err := pods.Get(ctx, "bound", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("a pod on a node is gone at once: %v", err)
	}
	if g := marked.DeletionGracePeriodSeconds; g == nil || *g != 20 || marked.DeletionTimestamp == nil ||
		marked.DeletionTimestamp.Time.Before(time.Now().Add(15*time.Second)) {
		t.Errorf("deletionTimestamp %v grace %v, want about now+20s and 20", marked.DeletionTimestamp, marked.DeletionGracePeriodSeconds)
	}
	// The node agent confirms with a zero grace period.
	if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after the zero-grace delete: %v, want NotFound", err)
	}

	if _, err := pods.Create(ctx, newPod("unbound", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "unbound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "unbound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an unscheduled pod lingers after delete: %v", err)
	}
}

func TestDeletePropagationFinalizers(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	tests := []struct {
		policy metav1.DeletionPropagation
		want   []string
	}{
		{metav1.DeletePropagationOrphan, []string{"example.com/hold", metav1.FinalizerOrphanDependents}},
		{metav1.DeletePropagationForeground, []string{"example.com/hold", metav1.FinalizerDeleteDependents}},
		{metav1.DeletePropagationBackground, []string{"example.com/hold"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			name := strings.ToLower(string(tt.policy))
			cm := configMap(name, nil)
			cm.Finalizers = []string{"example.com/hold"} // keeps the object for inspection
			created, err := cms.Create(ctx, cm, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// The delete's own write, seen by a watch: the garbage collector
			// soon removes the orphan finalizer it handles.
			w, err := cms.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name, ResourceVersion: created.ResourceVersion})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			if err := cms.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &tt.policy}); err != nil {
				t.Fatal(err)
			}
			ev := nextEvent(t, w)
			got, ok := ev.Object.(*corev1.ConfigMap)
			if ev.Type != watch.Modified || !ok {
				t.Fatalf("after the delete: %s %T, want MODIFIED", ev.Type, ev.Object)
			}
			if diff := cmp.Diff(tt.want, got.Finalizers); diff != "" || got.DeletionTimestamp == nil {
				t.Errorf("finalizers after delete (-want +got):\n%s (deletionTimestamp %v)", diff, got.DeletionTimestamp)
			}
		})
	}
	orphan := true
	policy := metav1.DeletePropagationOrphan
	err := cms.Delete(ctx, "orphan", metav1.DeleteOptions{PropagationPolicy: &policy, OrphanDependents: &orphan}) //nolint:staticcheck // testing the deprecated field's check
	if !apierrors.IsInvalid(err) {
		t.Errorf("both orphanDependents and propagationPolicy: %v, want 422", err)
	}
}

func TestUIDCannotChange(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, configMap("u", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cms.Patch(ctx, "u", types.StrategicMergePatchType, []byte(`{"metadata":{"uid":"wrong"}}`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) || !contains(err.Error(), "metadata.uid") {
		t.Errorf("patching the uid: %v, want 422 on metadata.uid", err)
	}
	other := cm.DeepCopy()
	other.UID = "wrong"
	if _, err := cms.Update(ctx, other, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("PUT with another uid: %v, want 409 Conflict", err)
	}
	cm.UID = "" // no uid: the stored one is kept
	if got, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil || got.UID == "" {
		t.Errorf("PUT without a uid: %v (uid %q)", err, got.UID)
	}
}
