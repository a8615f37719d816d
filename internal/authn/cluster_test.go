package authn_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/authn"
	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/controlplane"
)

// invalidation bounds how long a revoked token may still authenticate
// (authn.DefaultTokenCacheTTL, with room for a slow machine).
const invalidation = 10 * time.Second

// requestToken asks for a token of the service account ns/name.
func requestToken(t *testing.T, c *clustertest.Cluster, ns, name string, spec authenticationv1.TokenRequestSpec) *authenticationv1.TokenRequest {
	t.Helper()
	tr, err := c.Client().CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), name, &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for %s/%s: %v", ns, name, err)
	}
	if tr.Status.Token == "" {
		t.Fatalf("TokenRequest for %s/%s returned no token", ns, name)
	}
	return tr
}

// clientFor is a clientset that authenticates with token alone.
func clientFor(t *testing.T, c *clustertest.Cluster, token string) kubernetes.Interface {
	t.Helper()
	cfg := c.Config()
	cfg.BearerToken, cfg.BearerTokenFile = token, ""
	cfg.Impersonate = rest.ImpersonationConfig{}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// whoami is `kubectl auth whoami` with the token: the user it
// authenticates as, or the error.
func whoami(t *testing.T, c *clustertest.Cluster, token string) (authenticationv1.UserInfo, error) {
	t.Helper()
	r, err := clientFor(t, c, token).AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

// awaitUnauthorized waits until token no longer authenticates and checks
// that the answer is 401.
func awaitUnauthorized(t *testing.T, c *clustertest.Cluster, token, why string) {
	t.Helper()
	deadline := time.Now().Add(invalidation)
	for {
		_, err := whoami(t, c, token)
		if apierrors.IsUnauthorized(err) {
			return
		}
		if err != nil {
			t.Fatalf("%s: whoami: %v, want 401 Unauthorized", why, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: token still authenticates after %v", why, invalidation)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func createServiceAccount(t *testing.T, c *clustertest.Cluster, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := c.Client().CoreV1().ServiceAccounts(ns).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

// TestServiceAccountTokenAuthenticates (issue #5): a TokenRequest's token
// authenticates as its service account, with upstream's user name and
// groups, and has full access (batchd has no authorizer); deleting the
// service account revokes it, and a new account of the same name does not
// bring it back.
func TestServiceAccountTokenAuthenticates(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	createServiceAccount(t, c, "default", "robot")
	before := time.Now().Truncate(time.Second)
	tr := requestToken(t, c, "default", "robot", authenticationv1.TokenRequestSpec{})
	if exp := tr.Status.ExpirationTimestamp.Time; exp.Before(before.Add(time.Hour)) || exp.After(time.Now().Add(time.Hour)) {
		t.Errorf("expirationTimestamp %v, want an hour from now (the default expirationSeconds)", exp)
	}
	if got := ptr.Deref(tr.Spec.ExpirationSeconds, 0); got != 3600 {
		t.Errorf("spec.expirationSeconds = %d, want the default 3600", got)
	}
	if diff := cmp.Diff([]string{authn.DefaultIssuer}, tr.Spec.Audiences); diff != "" {
		t.Errorf("spec.audiences defaults to the API audience (-want +got):\n%s", diff)
	}

	user, err := whoami(t, c, tr.Status.Token)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := c.Client().CoreV1().ServiceAccounts("default").Get(ctx, "robot", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := authenticationv1.UserInfo{
		Username: "system:serviceaccount:default:robot",
		UID:      string(sa.UID),
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"},
	}
	if diff := cmp.Diff(want, user); diff != "" {
		t.Errorf("whoami mismatch (-want +got):\n%s", diff)
	}
	if _, err := clientFor(t, c, tr.Status.Token).CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("service account listing pods: %v, want full access", err)
	}
	// A token for another audience is not for the API.
	vault := requestToken(t, c, "default", "robot", authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}})
	if _, err := whoami(t, c, vault.Status.Token); !apierrors.IsUnauthorized(err) {
		t.Errorf("token for audience vault: %v, want 401", err)
	}

	if err := c.Client().CoreV1().ServiceAccounts("default").Delete(ctx, "robot", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	createServiceAccount(t, c, "default", "robot")
	awaitUnauthorized(t, c, tr.Status.Token, "token of a deleted and recreated service account")
	fresh := requestToken(t, c, "default", "robot", authenticationv1.TokenRequestSpec{})
	if _, err := whoami(t, c, fresh.Status.Token); err != nil {
		t.Errorf("token of the recreated service account: %v", err)
	}
}

// TestBoundTokenRevokedWithPod (issue #5): a token bound to a pod stops
// authenticating once the pod is deleted, as upstream's do.
func TestBoundTokenRevokedWithPod(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithoutScheduler())
	ctx := t.Context()
	createServiceAccount(t, c, "default", "worker")
	pod, err := c.Client().CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{ServiceAccountName: "worker", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr := requestToken(t, c, "default", "worker", authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: pod.UID},
	})
	if user, err := whoami(t, c, tr.Status.Token); err != nil || user.Username != "system:serviceaccount:default:worker" {
		t.Fatalf("pod-bound token: %+v, %v; want system:serviceaccount:default:worker", user, err)
	}
	if err := c.Client().CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	awaitUnauthorized(t, c, tr.Status.Token, "token bound to a deleted pod")
}

// TestExpiredTokenRejected (issue #5): past its exp (and upstream's minute
// of leeway) a token gets 401.
func TestExpiredTokenRejected(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Now())
	c := clustertest.Start(t, func(cfg *controlplane.Config) { cfg.TokenClock = clk })
	createServiceAccount(t, c, "default", "robot")
	tr := requestToken(t, c, "default", "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)})
	if _, err := whoami(t, c, tr.Status.Token); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	clk.SetTime(clk.Now().Add(9 * time.Minute))
	if _, err := whoami(t, c, tr.Status.Token); err != nil {
		t.Errorf("token a minute before its expiry: %v", err)
	}
	clk.SetTime(clk.Now().Add(3 * time.Minute))
	awaitUnauthorized(t, c, tr.Status.Token, "expired token")
}

// TestTokenSurvivesRestart (issue #5): the signing key lives in the data
// directory, so tokens stay valid when the server restarts.
func TestTokenSurvivesRestart(t *testing.T) {
	c := clustertest.Start(t)
	createServiceAccount(t, c, "default", "robot")
	tr := requestToken(t, c, "default", "robot", authenticationv1.TokenRequestSpec{})
	c.Restart(t)
	if user, err := whoami(t, c, tr.Status.Token); err != nil || user.Username != "system:serviceaccount:default:robot" {
		t.Errorf("token issued before a restart: %+v, %v; want system:serviceaccount:default:robot", user, err)
	}
}
