package apiserver_test

import (
	"context"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
)

// tokenClient is a clientset that authenticates with token alone.
func tokenClient(t *testing.T, c *clustertest.Cluster, token string) kubernetes.Interface {
	t.Helper()
	cfg := c.Config()
	cfg.BearerToken, cfg.BearerTokenFile = token, ""
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestTokenRequest: POST serviceaccounts/<name>/token answers as upstream's
// TokenRequest does (issue #5), in JSON and protobuf (kubectl 1.32+ and
// kubelet send protobuf), with upstream's errors.
func TestTokenRequest(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithoutScheduler())
	ctx := t.Context()
	if _, err := c.Client().CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := c.Client().CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{ServiceAccountName: "sa", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.Client().CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "other"},
		Spec:       corev1.PodSpec{ServiceAccountName: "someone-else", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	request := func(cs kubernetes.Interface, name string, spec authenticationv1.TokenRequestSpec) (*authenticationv1.TokenRequest, error) {
		return cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
	}

	for name, cs := range map[string]kubernetes.Interface{"json": c.Client(), "protobuf": protobufClient(t, c)} {
		t.Run("bound to a pod in "+name, func(t *testing.T) {
			tr, err := request(cs, "sa", authenticationv1.TokenRequestSpec{
				Audiences:         []string{"https://kubernetes.default.svc.cluster.local", "vault"},
				ExpirationSeconds: ptr.To[int64](3607),
				BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: pod.UID},
			})
			if err != nil {
				t.Fatal(err)
			}
			if tr.Name != "sa" || tr.Namespace != "default" || tr.CreationTimestamp.IsZero() {
				t.Errorf("metadata = %+v, want the service account's name and namespace and a creation time", tr.ObjectMeta)
			}
			if got, want := tr.Status.ExpirationTimestamp.Time, tr.CreationTimestamp.Add(3607*time.Second); !got.Equal(want) {
				t.Errorf("expirationTimestamp %v, want %v (creation + 3607 s)", got, want)
			}
			if tr.Spec.BoundObjectRef == nil || tr.Spec.BoundObjectRef.Name != "p" || len(tr.Spec.Audiences) != 2 {
				t.Errorf("spec = %+v, want the request's", tr.Spec)
			}
			who, err := tokenClient(t, c, tr.Status.Token).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
			if err != nil || who.Status.UserInfo.Username != "system:serviceaccount:default:sa" {
				t.Errorf("whoami with the token: %+v, %v", who, err)
			}
		})
	}

	errorTests := []struct {
		name    string
		sa      string
		spec    authenticationv1.TokenRequestSpec
		is      func(error) bool
		message string
	}{
		{
			name: "missing service account is 404", sa: "nope",
			is: apierrors.IsNotFound, message: `serviceaccounts "nope" not found`,
		},
		{
			name: "expirationSeconds 10 is 422", sa: "sa", spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](10)},
			is:      apierrors.IsInvalid,
			message: `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 10: may not specify a duration less than 10 minutes`,
		},
		{
			name: "expirationSeconds beyond 2^32 is 422", sa: "sa", spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](1<<32 + 1)},
			is:      apierrors.IsInvalid,
			message: `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 4294967297: may not specify a duration larger than 2^32 seconds`,
		},
		{
			name: "missing bound pod is 404", sa: "sa",
			spec: authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "gone"}},
			is:   apierrors.IsNotFound, message: `pods "gone" not found`,
		},
		{
			name: "bound pod with another UID is 409", sa: "sa",
			spec: authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: "0000"}},
			is:   apierrors.IsConflict,
			message: `Operation cannot be fulfilled on Pod "p": the UID in the bound object reference (0000) does not match the UID in record. ` +
				`The object might have been deleted and then recreated`,
		},
		{
			name: "pod of another service account is 400", sa: "sa",
			spec: authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "other", UID: other.UID}},
			is:   apierrors.IsBadRequest, message: `cannot bind token for serviceaccount "sa" to pod running with different serviceaccount name.`,
		},
		{
			name: "binding to a ConfigMap is 400", sa: "sa",
			spec: authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "ConfigMap", APIVersion: "v1", Name: "x"}},
			is:   apierrors.IsBadRequest, message: `cannot bind token to object of type /v1, Kind=ConfigMap`,
		},
	}
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := request(c.Client(), tt.sa, tt.spec)
			if !tt.is(err) || err.Error() != tt.message {
				t.Errorf("error = %v, want %q", err, tt.message)
			}
		})
	}

	t.Run("GET is 405", func(t *testing.T) {
		resp, _ := rawRequest(t, c, http.MethodGet, "/api/v1/namespaces/default/serviceaccounts/sa/token", "", "", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET token: %s, want 405", resp.Status)
		}
	})

	t.Run("discovery", func(t *testing.T) {
		resources, err := c.Client().Discovery().ServerResourcesForGroupVersion("v1")
		if err != nil {
			t.Fatal(err)
		}
		var token *metav1.APIResource
		for i, r := range resources.APIResources {
			if r.Name == "serviceaccounts/token" {
				token = &resources.APIResources[i]
			}
		}
		if token == nil || token.Group != "authentication.k8s.io" || token.Version != "v1" || token.Kind != "TokenRequest" ||
			!token.Namespaced || !slices.Equal(token.Verbs, []string{"create"}) {
			t.Errorf("serviceaccounts/token in discovery = %+v, want authentication.k8s.io/v1 TokenRequest, namespaced, verbs [create]", token)
		}
	})
}

// TestKubectlCreateToken: stock `kubectl create token default -n default`
// prints a token that authenticates as the service account (issue #5).
func TestKubectlCreateToken(t *testing.T) {
	kubectl := clustertest.KubectlPath("1.33")
	if kubectl == "" {
		t.Skip("kubectl.1.33 not found next to kubectl")
	}
	c := clustertest.Start(t)
	eventually(t, 10*time.Second, "the default service account", func() bool {
		_, err := c.Client().CoreV1().ServiceAccounts("default").Get(t.Context(), "default", metav1.GetOptions{})
		return err == nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", c.Kubeconfig(), "create", "token", "default", "-n", "default", "--duration", "20m").Output()
	if err != nil {
		t.Fatalf("kubectl create token: %v\n%s", err, out)
	}
	token := strings.TrimSpace(string(out))
	who, err := tokenClient(t, c, token).AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || who.Status.UserInfo.Username != "system:serviceaccount:default:default" {
		t.Errorf("whoami with kubectl's token: %+v, %v", who, err)
	}
	out, err = exec.CommandContext(ctx, kubectl, "--kubeconfig", c.Kubeconfig(), "create", "token", "nope", "-n", "default").CombinedOutput()
	if want := `error: failed to create token: serviceaccounts "nope" not found`; err == nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("kubectl create token nope: %q, %v; want %q", out, err, want)
	}
}
