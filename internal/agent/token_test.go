package agent_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
)

const tokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// tokenClaims decodes a JWT's claims without checking them.
func tokenClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// whoamiWith is `kubectl auth whoami` with a bearer token.
func whoamiWith(t *testing.T, c *clustertest.Cluster, token string) (authenticationv1.UserInfo, error) {
	t.Helper()
	cfg := c.Config()
	cfg.BearerToken = token
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

// TestServiceAccountToken (issue #5: the service account token projected
// at the standard path): a container reads
// /var/run/secrets/kubernetes.io/serviceaccount/token, and the token
// authenticates as the pod's service account, bound to the pod, for
// kubelet's 3607 s; deleting the pod revokes it. A pod whose service
// account does not exist does not start, with kubelet's FailedMount event.
func TestServiceAccountToken(t *testing.T) {
	c, cs := start(t)
	ctx := t.Context()
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := shPod("token", corev1.RestartPolicyNever, "cat "+tokenPath+"; echo; sleep 300")
	p.Spec.ServiceAccountName = "reader"
	create(t, cs, p)
	var token string
	waitFor(t, 30*time.Second, "the pod to print its token", func() bool {
		got, err := cs.CoreV1().Pods("default").GetLogs("token", &corev1.PodLogOptions{}).DoRaw(ctx)
		token = strings.TrimSpace(string(got))
		return err == nil && strings.Count(token, ".") == 2
	})
	user, err := whoamiWith(t, c, token)
	if err != nil || user.Username != "system:serviceaccount:default:reader" {
		t.Fatalf("whoami with the pod's token: %+v, %v; want system:serviceaccount:default:reader", user, err)
	}
	pod, err := cs.CoreV1().Pods("default").Get(ctx, "token", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	claims := tokenClaims(t, token)
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	boundPod, _ := k8s["pod"].(map[string]any)
	if boundPod["name"] != "token" || boundPod["uid"] != string(pod.UID) {
		t.Errorf("kubernetes.io.pod claim = %v, want the pod (uid %s)", k8s["pod"], pod.UID)
	}
	if iat, exp := claims["iat"].(float64), claims["exp"].(float64); exp-iat != 3607 {
		t.Errorf("token lifetime %v s, want kubelet's 3607", exp-iat)
	}
	if err := cs.CoreV1().Pods("default").Delete(ctx, "token", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the deleted pod's token to be rejected", func() bool {
		_, err := whoamiWith(t, c, token)
		return apierrors.IsUnauthorized(err)
	})

	orphan := shPod("no-account", corev1.RestartPolicyNever, "true")
	orphan.Spec.ServiceAccountName = "missing"
	create(t, cs, orphan)
	waitFor(t, 30*time.Second, "a FailedMount event", func() bool {
		return hasEvent(t, cs, "no-account", "FailedMount", `MountVolume.SetUp failed for volume "kube-api-access" : failed to fetch token: serviceaccounts "missing" not found`)
	})
	got, err := cs.CoreV1().Pods("default").Get(ctx, "no-account", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := got.Status.ContainerStatuses; len(st) != 1 || st[0].State.Waiting == nil || st[0].State.Waiting.Reason != "CreateContainerConfigError" {
		t.Errorf("container statuses %+v, want c waiting with CreateContainerConfigError", st)
	}
}

// runClockedAgent runs an agent of its own against the cluster with the
// given clock and API address (empty: the cluster's), until the test ends.
func runClockedAgent(t *testing.T, c *clustertest.Cluster, host string, clk clock.WithTicker) (stateDir string) {
	t.Helper()
	stateDir = t.TempDir()
	rt, err := hostproc.New(hostproc.Config{StateDir: runtimeDir(t), HelperPath: helper})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.Config()
	if host != "" {
		cfg.Host, cfg.TLSClientConfig = host, rest.TLSClientConfig{}
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{
		Client: client, NodeName: "node-a", Runtime: rt, StateDir: stateDir, ListenAddress: "127.0.0.1:0",
		CACert: c.Config().TLSClientConfig.CAData, Clock: clk,
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return stateDir
}

// TestServiceAccountTokenRefresh: the agent replaces the token file once
// 80% of its lifetime has passed, as kubelet's token manager does, the
// container sees the new token at the same path, and the next refresh
// waits for 80% of the new token's lifetime (here the agent's fake clock
// runs 48 minutes ahead of the server's).
func TestServiceAccountTokenRefresh(t *testing.T) {
	c := clustertest.Start(t)
	cs := c.Client()
	clk := clocktesting.NewFakeClock(time.Now())
	stateDir := runClockedAgent(t, c, "", clk)
	waitNodeReady(t, cs)
	out := t.TempDir()
	p := withData(shPod("refresh", corev1.RestartPolicyNever,
		"first=$(cat "+tokenPath+"); while [ \"$(cat "+tokenPath+")\" = \"$first\" ]; do sleep 0.05; done; cat "+tokenPath+" > /data/second.tmp; mv /data/second.tmp /data/second; sleep 300"), out)
	create(t, cs, p)
	pod := waitPhase(t, cs, "refresh", corev1.PodRunning, 30*time.Second)
	file := filepath.Join(stateDir, "serviceaccount", string(pod.UID), "token")
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing happens before 80% of the 3607 s.
	clk.Step(2880 * time.Second)
	time.Sleep(200 * time.Millisecond)
	if now, _ := os.ReadFile(file); !bytes.Equal(now, first) {
		t.Fatal("token replaced before 80% of its lifetime")
	}
	clk.Step(10 * time.Second)
	var second []byte
	waitFor(t, 30*time.Second, "the container to see a new token", func() bool {
		second, err = os.ReadFile(filepath.Join(out, "second"))
		return err == nil
	})
	if bytes.Equal(first, second) {
		t.Fatal("the container saw no new token")
	}
	// The next refresh is 80% of the new token's lifetime away, whatever
	// the agent's clock says against the server's.
	time.Sleep(300 * time.Millisecond)
	if now, _ := os.ReadFile(file); !bytes.Equal(now, second) {
		t.Error("token replaced again without the clock moving")
	}
	if user, err := whoamiWith(t, c, string(second)); err != nil || user.Username != "system:serviceaccount:default:default" {
		t.Errorf("whoami with the refreshed token: %+v, %v", user, err)
	}
}

// TestServiceAccountTokenFallback: against an API server without
// serviceaccounts/token (404 for the path), pods still start, with ca.crt
// and namespace but no token, as before batchd issued tokens.
func TestServiceAccountTokenFallback(t *testing.T) {
	c := clustertest.Start(t)
	cs := c.Client()
	target, err := url.Parse(c.Config().Host)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = transport
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	runClockedAgent(t, c, srv.URL, clock.RealClock{})
	waitNodeReady(t, cs)
	out := t.TempDir()
	create(t, cs, withData(shPod("old-server", corev1.RestartPolicyNever, "ls -A /var/run/secrets/kubernetes.io/serviceaccount > /data/ls"), out))
	waitPhase(t, cs, "old-server", corev1.PodSucceeded, 30*time.Second)
	if got, _ := os.ReadFile(filepath.Join(out, "ls")); string(got) != "ca.crt\nnamespace\n" {
		t.Errorf("service account directory holds %q, want ca.crt and namespace only", got)
	}
}
