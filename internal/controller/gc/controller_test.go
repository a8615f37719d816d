package gc_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
)

const (
	ns      = "default"
	poll    = 50 * time.Millisecond
	timeout = 30 * time.Second
	// holdFinalizer keeps an object around until the test removes it.
	holdFinalizer = "batchd.test/hold"
)

// await polls cond until it reports done or the deadline passes, then fails
// the test with the last state cond described.
func await(t *testing.T, what string, cond func(ctx context.Context) (done bool, state string, err error)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), poll, timeout, true, func(ctx context.Context) (bool, error) {
		done, state, err := cond(ctx)
		last = state
		return done, err
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; last seen: %s", what, err, last)
	}
}

// start runs a cluster and returns a client without client-side rate
// limits: polling must not wait for tokens.
func start(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg := clustertest.Start(t).Config()
	cfg.QPS = -1
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building client: %v", err)
	}
	return c
}

// object is what the tests need of a ConfigMap, Secret or Job.
type object interface {
	metav1.Object
}

// getter reads one kind of object in the test namespace.
type getter[T object] func(ctx context.Context, name string, opts metav1.GetOptions) (T, error)

func configMaps(c kubernetes.Interface) getter[*corev1.ConfigMap] {
	return c.CoreV1().ConfigMaps(ns).Get
}
func secrets(c kubernetes.Interface) getter[*corev1.Secret] { return c.CoreV1().Secrets(ns).Get }
func jobs(c kubernetes.Interface) getter[*batchv1.Job]      { return c.BatchV1().Jobs(ns).Get }

// awaitGone waits until the named object no longer exists.
func awaitGone[T object](t *testing.T, get getter[T], name string) {
	t.Helper()
	await(t, name+" to be gone", func(ctx context.Context) (bool, string, error) {
		obj, err := get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, describe(obj), nil
	})
}

// awaitObject waits until the named object exists and satisfies ok, and
// returns it.
func awaitObject[T object](t *testing.T, get getter[T], name, what string, ok func(T) bool) T {
	t.Helper()
	var got T
	await(t, name+" "+what, func(ctx context.Context) (bool, string, error) {
		obj, err := get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, "not found", nil
		}
		if err != nil {
			return false, "", err
		}
		got = obj
		return ok(obj), describe(obj), nil
	})
	return got
}

func describe(obj metav1.Object) string {
	return fmt.Sprintf("%s: deletionTimestamp %v, finalizers %v, ownerReferences %v",
		obj.GetName(), obj.GetDeletionTimestamp(), obj.GetFinalizers(), obj.GetOwnerReferences())
}

func beingDeleted[T object](obj T) bool { return obj.GetDeletionTimestamp() != nil }

func refTo(obj metav1.Object, apiVersion, kind string, blockOwnerDeletion bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: obj.GetName(), UID: obj.GetUID(),
		BlockOwnerDeletion: ptr.To(blockOwnerDeletion)}
}

func cmRef(cm *corev1.ConfigMap, block bool) metav1.OwnerReference {
	return refTo(cm, "v1", "ConfigMap", block)
}

func createConfigMap(t *testing.T, c kubernetes.Interface, name string, finalizers []string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers, OwnerReferences: owners}}
	got, err := c.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating configmap %s: %v", name, err)
	}
	return got
}

func createSecret(t *testing.T, c kubernetes.Interface, name string, finalizers []string, owners ...metav1.OwnerReference) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers, OwnerReferences: owners}}
	got, err := c.CoreV1().Secrets(ns).Create(t.Context(), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating secret %s: %v", name, err)
	}
	return got
}

// createJob creates a suspended Job, so that no pod is ever needed.
func createJob(t *testing.T, c kubernetes.Interface, name string) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Suspend: ptr.To(true),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"true"}}},
			}},
		},
	}
	got, err := c.BatchV1().Jobs(ns).Create(t.Context(), job, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating job %s: %v", name, err)
	}
	return got
}

func deleteConfigMap(t *testing.T, c kubernetes.Interface, name string, policy *metav1.DeletionPropagation) {
	t.Helper()
	if err := c.CoreV1().ConfigMaps(ns).Delete(t.Context(), name, metav1.DeleteOptions{PropagationPolicy: policy}); err != nil {
		t.Fatalf("deleting configmap %s: %v", name, err)
	}
}

// release removes the hold finalizer from a secret.
func release(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := c.CoreV1().Secrets(ns).Patch(t.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("releasing secret %s: %v", name, err)
	}
}

// settle returns once the collector's graph holds every ConfigMap and
// Secret created so far. It creates one of each naming an owner that never
// existed, and waits for the collector to delete them: each informer
// delivers events in order, so the collector saw what came before. Without
// it, an owner deleted right after its dependents were created can be
// handled before the collector sees them, as upstream's can: orphaned
// before them (they are then collected as garbage once it is gone), or a
// child deleted in the background because its own dependent was not seen
// yet.
func settle(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	ghost := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "ghost", UID: "00000000-0000-0000-0000-00000000ffff"}
	createConfigMap(t, c, "settle", nil, ghost)
	createSecret(t, c, "settle", nil, ghost)
	awaitGone(t, configMaps(c), "settle")
	awaitGone(t, secrets(c), "settle")
}

func TestBackgroundDeletionRemovesDependents(t *testing.T) {
	c := start(t)
	job := createJob(t, c, "owner")
	jobRef := refTo(job, "batch/v1", "Job", false)
	child := createConfigMap(t, c, "child", nil, jobRef)
	createSecret(t, c, "child", nil, jobRef)
	createConfigMap(t, c, "grandchild", nil, cmRef(child, false))
	unrelated := createConfigMap(t, c, "unrelated", nil)

	err := c.BatchV1().Jobs(ns).Delete(t.Context(), job.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
	if err != nil {
		t.Fatalf("deleting job: %v", err)
	}

	awaitGone(t, jobs(c), "owner")
	awaitGone(t, configMaps(c), "child")
	awaitGone(t, secrets(c), "child")
	awaitGone(t, configMaps(c), "grandchild")
	got, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), unrelated.Name, metav1.GetOptions{})
	if err != nil || got.UID != unrelated.UID {
		t.Errorf("configmap without owners: got %v, %v; want it untouched", got, err)
	}
}

func TestDependentWithRemainingOwnerLosesOnlyTheDanglingReference(t *testing.T) {
	c := start(t)
	gone := createConfigMap(t, c, "gone", nil)
	kept := createConfigMap(t, c, "kept", nil)
	dep := createSecret(t, c, "dependent", nil, cmRef(gone, true), cmRef(kept, false))

	deleteConfigMap(t, c, gone.Name, nil)

	want := []metav1.OwnerReference{cmRef(kept, false)}
	got := awaitObject(t, secrets(c), dep.Name, "to lose its reference to the deleted owner", func(s *corev1.Secret) bool {
		return len(s.OwnerReferences) == 1
	})
	if diff := cmp.Diff(want, got.OwnerReferences); diff != "" {
		t.Errorf("ownerReferences mismatch (-want +got):\n%s", diff)
	}
	if got.UID != dep.UID || beingDeleted(got) {
		t.Errorf("dependent = %s (uid %s), want the original %s, not being deleted", describe(got), got.UID, dep.UID)
	}
}

func TestDanglingReferencesAreCollected(t *testing.T) {
	c := start(t)
	existing := createConfigMap(t, c, "existing", nil)
	// Never existed: the collector learns of the owner only from this
	// reference, and must ask the API server.
	ghost := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "ghost", UID: "00000000-0000-0000-0000-000000000001"}
	createSecret(t, c, "orphan-of-ghost", nil, ghost)
	// Names an existing object, but with another UID: that owner is gone.
	stale := cmRef(existing, false)
	stale.UID = "00000000-0000-0000-0000-000000000002"
	createSecret(t, c, "orphan-of-stale", nil, stale)

	awaitGone(t, secrets(c), "orphan-of-ghost")
	awaitGone(t, secrets(c), "orphan-of-stale")
	got, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), existing.Name, metav1.GetOptions{})
	if err != nil || got.UID != existing.UID || beingDeleted(got) {
		t.Errorf("configmap named by a stale reference: got %v, %v; want it untouched", got, err)
	}
}

func TestForegroundDeletionWaitsForBlockingDependents(t *testing.T) {
	c := start(t)
	owner := createConfigMap(t, c, "owner", nil)
	createSecret(t, c, "blocking", []string{holdFinalizer}, cmRef(owner, true))
	createSecret(t, c, "nonblocking", []string{holdFinalizer}, cmRef(owner, false))

	deleteConfigMap(t, c, owner.Name, ptr.To(metav1.DeletePropagationForeground))

	awaitObject(t, secrets(c), "blocking", "to be deleted by the collector", beingDeleted)
	awaitObject(t, secrets(c), "nonblocking", "to be deleted by the collector", beingDeleted)
	// The blocking dependent still exists, so the owner must too.
	got, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), owner.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("owner with a blocking dependent left: %v, want it waiting", err)
	}
	if !beingDeleted(got) || !slices.Contains(got.Finalizers, metav1.FinalizerDeleteDependents) {
		t.Errorf("owner = %s, want it being deleted with the %s finalizer", describe(got), metav1.FinalizerDeleteDependents)
	}

	release(t, c, "blocking")

	awaitGone(t, secrets(c), "blocking")
	// The non-blocking dependent still holds on; the owner does not wait for it.
	awaitGone(t, configMaps(c), owner.Name)
	if _, err := c.CoreV1().Secrets(ns).Get(t.Context(), "nonblocking", metav1.GetOptions{}); err != nil {
		t.Errorf("non-blocking dependent held by a finalizer: %v, want it still there", err)
	}
}

func TestForegroundDeletionPropagatesDown(t *testing.T) {
	c := start(t)
	owner := createConfigMap(t, c, "owner", nil)
	child := createConfigMap(t, c, "child", nil, cmRef(owner, true))
	createSecret(t, c, "grandchild", []string{holdFinalizer}, cmRef(child, true))
	settle(t, c) // the child must be known to have a dependent when its owner goes

	deleteConfigMap(t, c, owner.Name, ptr.To(metav1.DeletePropagationForeground))

	// The child has a dependent of its own: it is deleted in the foreground too.
	awaitObject(t, configMaps(c), "child", "to wait for its own dependents", func(cm *corev1.ConfigMap) bool {
		return beingDeleted(cm) && slices.Contains(cm.Finalizers, metav1.FinalizerDeleteDependents)
	})
	awaitObject(t, secrets(c), "grandchild", "to be deleted by the collector", beingDeleted)
	if _, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), owner.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("owner with a blocking grandchild left: %v, want it waiting", err)
	}

	release(t, c, "grandchild")

	awaitGone(t, secrets(c), "grandchild")
	awaitGone(t, configMaps(c), "child")
	awaitGone(t, configMaps(c), owner.Name)
}

func TestOrphanDeletionKeepsDependents(t *testing.T) {
	c := start(t)
	owner := createConfigMap(t, c, "owner", nil)
	other := createConfigMap(t, c, "other", nil)
	only := createSecret(t, c, "only-owner", nil, cmRef(owner, true))
	shared := createConfigMap(t, c, "shared", nil, cmRef(other, false), cmRef(owner, true))
	settle(t, c)

	deleteConfigMap(t, c, owner.Name, ptr.To(metav1.DeletePropagationOrphan))

	awaitGone(t, configMaps(c), owner.Name)
	gotOnly, err := c.CoreV1().Secrets(ns).Get(t.Context(), only.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("orphaned secret: %v, want it kept", err)
	}
	if gotOnly.UID != only.UID || beingDeleted(gotOnly) || len(gotOnly.OwnerReferences) != 0 {
		t.Errorf("orphaned secret = %s, want the original, not being deleted, without ownerReferences", describe(gotOnly))
	}
	gotShared, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), shared.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("orphaned configmap: %v, want it kept", err)
	}
	if diff := cmp.Diff([]metav1.OwnerReference{cmRef(other, false)}, gotShared.OwnerReferences); diff != "" {
		t.Errorf("orphaned configmap's ownerReferences mismatch (-want +got):\n%s", diff)
	}
}

func TestReferenceToUnservedKindKeepsDependent(t *testing.T) {
	c := start(t)
	// batchd serves no ReplicaSets: the collector cannot tell whether this
	// owner exists, so it must not delete the dependent.
	rs := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "00000000-0000-0000-0000-000000000003"}
	dep := createConfigMap(t, c, "dependent", nil, rs)

	settle(t, c)

	got, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), dep.Name, metav1.GetOptions{})
	if err != nil || got.UID != dep.UID || beingDeleted(got) {
		t.Fatalf("dependent of an unserved kind: got %v, %v; want it untouched", got, err)
	}
	if diff := cmp.Diff([]metav1.OwnerReference{rs}, got.OwnerReferences); diff != "" {
		t.Errorf("ownerReferences mismatch (-want +got):\n%s", diff)
	}
}
