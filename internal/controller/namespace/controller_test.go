package namespace_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/batchd/batchd/internal/clustertest"
)

const (
	poll = 100 * time.Millisecond
	// timeout leaves room for upstream's 5s delay after a deletion is seen
	// and its 8s wait for objects held by finalizers, on a busy machine.
	timeout = 60 * time.Second
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

// awaitGone waits until the namespace no longer exists.
func awaitGone(t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	await(t, "namespace "+name+" to be gone", func(ctx context.Context) (bool, string, error) {
		ns, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, fmt.Sprintf("phase %s, spec.finalizers %v, conditions %v", ns.Status.Phase, ns.Spec.Finalizers, ns.Status.Conditions), nil
	})
}

func createNamespace(t *testing.T, client kubernetes.Interface, ns *corev1.Namespace) *corev1.Namespace {
	t.Helper()
	got, err := client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", ns.Name, err)
	}
	return got
}

func deleteNamespace(t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	if err := client.CoreV1().Namespaces().Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting namespace %s: %v", name, err)
	}
}

func TestDeletingNamespaceRemovesContent(t *testing.T) {
	c := clustertest.Start(t)
	client := c.Client()
	ctx := t.Context()
	const name = "doomed"
	createNamespace(t, client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})

	meta := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: n, Namespace: name} }
	for _, n := range []string{"a", "b"} {
		if _, err := client.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta("cm-" + n)}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating configmap: %v", err)
		}
		if _, err := client.CoreV1().Secrets(name).Create(ctx, &corev1.Secret{ObjectMeta: meta("secret-" + n)}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating secret: %v", err)
		}
		if _, err := client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta("sa-" + n)}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating service account: %v", err)
		}
	}

	deleteNamespace(t, client, name)
	ns, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		t.Fatalf("namespace %s vanished at once; want it Terminating while its content is deleted", name)
	case err != nil:
		t.Fatalf("getting namespace %s: %v", name, err)
	}
	if got, want := ns.Status.Phase, corev1.NamespaceTerminating; got != want {
		t.Errorf("phase right after delete = %q, want %q", got, want)
	}
	if ns.DeletionTimestamp == nil {
		t.Errorf("deletionTimestamp right after delete is unset")
	}

	awaitGone(t, client, name)

	cms, err := client.CoreV1().ConfigMaps(name).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing configmaps: %v", err)
	}
	secrets, err := client.CoreV1().Secrets(name).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing secrets: %v", err)
	}
	sas, err := client.CoreV1().ServiceAccounts(name).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing service accounts: %v", err)
	}
	if n := len(cms.Items) + len(secrets.Items) + len(sas.Items); n != 0 {
		t.Errorf("after the namespace is gone %d objects remain: %d configmaps, %d secrets, %d service accounts",
			n, len(cms.Items), len(secrets.Items), len(sas.Items))
	}
}

func TestNamespaceWaitsForFinalizedContent(t *testing.T) {
	c := clustertest.Start(t)
	client := c.Client()
	ctx := t.Context()
	const name = "held"
	createNamespace(t, client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: name, Finalizers: []string{holdFinalizer}}}
	if _, err := client.CoreV1().ConfigMaps(name).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating configmap: %v", err)
	}

	deleteNamespace(t, client, name)

	// Upstream's conditions while the configmap is held.
	want := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{
		corev1.NamespaceDeletionDiscoveryFailure: {Type: corev1.NamespaceDeletionDiscoveryFailure, Status: corev1.ConditionFalse,
			Reason: "ResourcesDiscovered", Message: "All resources successfully discovered"},
		corev1.NamespaceDeletionGVParsingFailure: {Type: corev1.NamespaceDeletionGVParsingFailure, Status: corev1.ConditionFalse,
			Reason: "ParsedGroupVersions", Message: "All legacy kube types successfully parsed"},
		corev1.NamespaceDeletionContentFailure: {Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionFalse,
			Reason: "ContentDeleted", Message: "All content successfully deleted, may be waiting on finalization"},
		corev1.NamespaceContentRemaining: {Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue,
			Reason: "SomeResourcesRemain", Message: "Some resources are remaining: configmaps. has 1 resource instances"},
		corev1.NamespaceFinalizersRemaining: {Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue,
			Reason: "SomeFinalizerRemain", Message: "Some finalizers are remaining: " + holdFinalizer + " in 1 resource instances"},
	}
	var ns *corev1.Namespace
	await(t, "conditions reporting the held configmap", func(ctx context.Context) (bool, string, error) {
		var err error
		if ns, err = client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, "", err
		}
		got := make(map[corev1.NamespaceConditionType]corev1.NamespaceCondition)
		for _, c := range ns.Status.Conditions {
			c.LastTransitionTime = metav1.Time{}
			got[c.Type] = c
		}
		diff := cmp.Diff(want, got)
		return diff == "", "conditions (-want +got):\n" + diff, nil
	})
	if got, want := ns.Status.Phase, corev1.NamespaceTerminating; got != want {
		t.Errorf("phase while content remains = %q, want %q", got, want)
	}
	if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		t.Errorf("spec.finalizers while content remains = %v, want it to keep %q", ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}

	held, err := client.CoreV1().ConfigMaps(name).Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting held configmap: %v", err)
	}
	if held.DeletionTimestamp == nil {
		t.Errorf("held configmap has no deletionTimestamp; want it deleted and waiting on its finalizer")
	}
	held.Finalizers = nil
	if _, err := client.CoreV1().ConfigMaps(name).Update(ctx, held, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("removing the configmap's finalizer: %v", err)
	}

	awaitGone(t, client, name)
}

func TestOtherFinalizersKeepNamespace(t *testing.T) {
	c := clustertest.Start(t)
	client := c.Client()
	ctx := t.Context()
	const (
		name  = "shared"
		other = corev1.FinalizerName("batchd.test/other")
	)
	created := createNamespace(t, client, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{other}},
	})
	if want := []corev1.FinalizerName{other, corev1.FinalizerKubernetes}; !sameFinalizers(created.Spec.Finalizers, want) {
		t.Fatalf("spec.finalizers after create = %v, want %v", created.Spec.Finalizers, want)
	}
	if _, err := client.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating configmap: %v", err)
	}

	deleteNamespace(t, client, name)

	var ns *corev1.Namespace
	await(t, "the controller to remove only its own finalizer", func(ctx context.Context) (bool, string, error) {
		var err error
		if ns, err = client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, "", err
		}
		return sameFinalizers(ns.Spec.Finalizers, []corev1.FinalizerName{other}), fmt.Sprintf("spec.finalizers %v", ns.Spec.Finalizers), nil
	})
	if got, want := ns.Status.Phase, corev1.NamespaceTerminating; got != want {
		t.Errorf("phase while another finalizer remains = %q, want %q", got, want)
	}
	cms, err := client.CoreV1().ConfigMaps(name).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing configmaps: %v", err)
	}
	if len(cms.Items) != 0 {
		t.Errorf("configmaps left after the controller finalized: %d, want 0", len(cms.Items))
	}

	// The other party finishes its work and finalizes; the controller deletes.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ns.Spec.Finalizers = nil
		_, err = client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("removing the other finalizer: %v", err)
	}
	awaitGone(t, client, name)
}

func sameFinalizers(a, b []corev1.FinalizerName) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
