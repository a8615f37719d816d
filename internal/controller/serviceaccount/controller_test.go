package serviceaccount_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/batchd/batchd/internal/clustertest"
)

const (
	poll    = 100 * time.Millisecond
	timeout = 30 * time.Second
)

// awaitDefault waits until namespace ns has a ServiceAccount named default
// whose UID is not notUID, and returns it.
func awaitDefault(t *testing.T, client kubernetes.Interface, ns string, notUID types.UID) *corev1.ServiceAccount {
	t.Helper()
	var sa *corev1.ServiceAccount
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), poll, timeout, true, func(ctx context.Context) (bool, error) {
		got, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			last = err
			return false, nil
		}
		if err != nil {
			return false, err
		}
		sa = got
		return got.UID != notUID, nil
	})
	if err != nil {
		t.Fatalf("waiting for service account %s/default (not UID %q): %v; last seen: %v, %v", ns, notUID, err, sa, last)
	}
	return sa
}

func TestNewNamespaceGetsDefaultServiceAccount(t *testing.T) {
	c := clustertest.Start(t)
	client := c.Client()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}}
	if _, err := client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}

	sa := awaitDefault(t, client, "fresh", "")

	if sa.Namespace != "fresh" {
		t.Errorf("service account namespace = %q, want %q", sa.Namespace, "fresh")
	}
}

func TestDeletedDefaultServiceAccountIsRecreated(t *testing.T) {
	c := clustertest.Start(t)
	client := c.Client()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "again"}}
	if _, err := client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	first := awaitDefault(t, client, "again", "")

	if err := client.CoreV1().ServiceAccounts("again").Delete(t.Context(), "default", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting service account: %v", err)
	}

	awaitDefault(t, client, "again", first.UID)
}
