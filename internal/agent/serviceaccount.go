package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/podruntime"
)

// Service account volume. Upstream, the ServiceAccount admission plugin
// adds a projected volume (kube-api-access-*: a bound token, the
// kube-root-ca.crt ConfigMap's ca.crt and the namespace) to every pod
// whose automountServiceAccountToken is not false (the pod's field, else
// the service account's), and kubelet mounts it read-only at
// /var/run/secrets/kubernetes.io/serviceaccount. batchd has neither that
// admission plugin nor the root CA publisher, so the agent provides the
// mount itself, in every container that does not mount a volume there
// already, from
//
//	<RunDir>/serviceaccount/<pod uid>/{ca.crt,namespace,token}
//
// The token is what kubelet puts there: a TokenRequest
// (serviceaccounts/<name>/token) for the pod's service account, bound to
// the pod, for the API's default audience, asking for 3607 s, requested
// with the agent's own credentials. It is written atomically (a new file
// renamed over the old), so a container never reads half a token, and
// refreshed, as kubelet's token manager does, once 80% of its lifetime or
// 24 hours have passed. Failing to get one fails the container's start
// (CreateContainerConfigError) with a FailedMount event, where kubelet
// would keep the pod in ContainerCreating; an API server without the
// subresource (404 for the path itself) gets today's volume without a
// token and a warning.
//
// A refresher goroutine per pod, owned by the pod's worker, keeps the
// token fresh while the worker runs the pod: started when the token is
// first written, or at once for a pod adopted from a previous agent.
const (
	serviceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	serviceAccountDirName   = "serviceaccount"
	tokenFileName           = "token"

	// tokenExpirationSeconds is kubelet's kube-api-access token lifetime
	// (upstream's WarnOnlyBoundTokenExpirationSeconds).
	tokenExpirationSeconds = 60*60 + 7
	// tokenMaxAge is when kubelet refreshes a token whatever its lifetime.
	tokenMaxAge = 24 * time.Hour
	// tokenRequestTimeout bounds one TokenRequest.
	tokenRequestTimeout = 30 * time.Second
	// accountWait is how long a container start waits for its service
	// account to appear (a namespace's default one is created just after
	// the namespace; upstream's admission makes such pods wait too).
	accountWait = 10 * time.Second
	accountPoll = 50 * time.Millisecond
	// Refresh retries back off from tokenRetryInitial to tokenRetryMax.
	tokenRetryInitial = time.Second
	tokenRetryMax     = time.Minute

	// kubelet's event and message for a volume that cannot be set up.
	eventFailedMount      = "FailedMount"
	serviceAccountVolName = "kube-api-access"
)

// errNoTokenAPI means the API server serves no serviceaccounts/token.
var errNoTokenAPI = errors.New("the API server does not serve serviceaccounts/token")

func (a *Agent) serviceAccountDir(pod *corev1.Pod) string {
	return filepath.Join(a.cfg.RunDir, serviceAccountDirName, string(pod.UID))
}

// automountServiceAccount is the ServiceAccount admission plugin's rule:
// the pod's automountServiceAccountToken, else its service account's,
// else true. Like the plugin, it looks the account up in its cache and,
// if the cache does not hold it, in the API: an account created just
// before the pod may not have reached the cache yet, and its
// automountServiceAccountToken: false must still hold.
func (a *Agent) automountServiceAccount(ctx context.Context, pod *corev1.Pod) bool {
	if v := pod.Spec.AutomountServiceAccountToken; v != nil {
		return *v
	}
	name := pod.Spec.ServiceAccountName
	if a.sas == nil || name == "" {
		return true
	}
	sa, err := a.sas.ServiceAccounts(pod.Namespace).Get(name)
	if apierrors.IsNotFound(err) {
		sa, err = a.client.CoreV1().ServiceAccounts(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if err == nil && sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// serviceAccountMount writes the pod's service account files and returns
// their mount; ok is false when the container gets none.
func (a *Agent) serviceAccountMount(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (m podruntime.Mount, ok bool, err error) {
	if !a.automountServiceAccount(ctx, pod) {
		return podruntime.Mount{}, false, nil
	}
	for _, vm := range c.VolumeMounts {
		if filepath.Clean(vm.MountPath) == serviceAccountMountPath {
			return podruntime.Mount{}, false, nil
		}
	}
	files := map[string]volFile{"namespace": {data: []byte(pod.Namespace), mode: 0o644}}
	if len(a.cfg.CACert) > 0 {
		files["ca.crt"] = volFile{data: a.cfg.CACert, mode: 0o644}
	}
	dir := a.serviceAccountDir(pod)
	if err := writeFiles(dir, files); err != nil {
		return podruntime.Mount{}, false, err
	}
	if err := a.ensureToken(ctx, pod, dir); err != nil {
		a.failedMount(pod, err)
		return podruntime.Mount{}, false, fmt.Errorf("fetching service account token: %w", err)
	}
	return podruntime.Mount{HostPath: dir, ContainerPath: serviceAccountMountPath, ReadOnly: true}, true, nil
}

// ensureToken makes sure dir holds a token that needs no refresh yet, and
// that the pod's worker keeps it so.
func (a *Agent) ensureToken(ctx context.Context, pod *corev1.Pod, dir string) error {
	path := filepath.Join(dir, tokenFileName)
	due, fresh := a.tokenFresh(path)
	if !fresh {
		ctx, cancel := context.WithTimeout(ctx, accountWait+tokenRequestTimeout)
		defer cancel()
		tok, err := a.requestToken(ctx, pod, true)
		if errors.Is(err, errNoTokenAPI) {
			a.log.Warn("The API server issues no service account tokens: the pod gets none", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			_ = os.Remove(path)
			return nil
		}
		if err != nil {
			return err
		}
		if err := writeToken(path, tok.value); err != nil {
			return err
		}
		due = refreshAt(tok.iat, tok.exp)
	}
	if w := a.workerOf(pod.UID); w != nil {
		w.keepTokenFresh(pod, path, due)
	}
	return nil
}

// tokenFresh reports when the token at path is due for a refresh, and
// whether it exists and is not due yet.
func (a *Agent) tokenFresh(path string) (due time.Time, fresh bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, false
	}
	iat, exp, ok := tokenTimes(string(b))
	if !ok {
		return time.Time{}, false
	}
	due = refreshAt(iat, exp)
	return due, a.clock.Now().Before(due)
}

// workerOf returns the worker running the pod, if any.
func (a *Agent) workerOf(uid types.UID) *worker {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.workers[uid]
}

// issuedToken is a token with when it was issued and when it expires.
type issuedToken struct {
	value    string
	iat, exp time.Time
}

// requestToken asks the API server for the pod's token. With wait, a
// service account the agent has not seen yet is waited for (up to
// accountWait), unless the pod is deleted in the meantime.
func (a *Agent) requestToken(ctx context.Context, pod *corev1.Pod, wait bool) (issuedToken, error) {
	name := pod.Spec.ServiceAccountName
	if name == "" {
		name = "default"
	}
	if wait && a.sas != nil {
		waitCtx, cancel := context.WithTimeout(ctx, accountWait)
		err := a.awaitServiceAccount(waitCtx, pod, name)
		cancel()
		if err != nil && ctx.Err() != nil {
			return issuedToken{}, err
		}
		// On timeout, ask anyway: the server's answer is the error.
	}
	rctx, cancel := context.WithTimeout(ctx, tokenRequestTimeout)
	defer cancel()
	tr, err := a.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(rctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: ptr.To[int64](tokenExpirationSeconds),
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		if noTokenAPI(err) {
			return issuedToken{}, fmt.Errorf("%w: %w", errNoTokenAPI, err)
		}
		return issuedToken{}, err
	}
	if tr.Status.Token == "" {
		return issuedToken{}, errors.New("the TokenRequest's answer holds no token")
	}
	tok := issuedToken{value: tr.Status.Token}
	if secs := tr.Spec.ExpirationSeconds; secs != nil && !tr.Status.ExpirationTimestamp.IsZero() {
		// As kubelet's token manager times it: from the answer, without
		// decoding the token (its JSON claims cost more CPU than the rest
		// of a pod's token handling together).
		tok.exp = tr.Status.ExpirationTimestamp.Time
		tok.iat = tok.exp.Add(-time.Duration(*secs) * time.Second)
	} else if iat, exp, ok := tokenTimes(tok.value); ok {
		tok.iat, tok.exp = iat, exp
	} else {
		tok.iat = a.clock.Now()
		tok.exp = tok.iat.Add(tokenExpirationSeconds * time.Second)
	}
	return tok, nil
}

// awaitServiceAccount waits until the agent's service account cache holds
// ns/name, the pod is deleted, or ctx ends.
func (a *Agent) awaitServiceAccount(ctx context.Context, pod *corev1.Pod, name string) error {
	t := time.NewTicker(accountPoll)
	defer t.Stop()
	for {
		if _, err := a.sas.ServiceAccounts(pod.Namespace).Get(name); err == nil {
			return nil
		}
		if w := a.workerOf(pod.UID); w != nil {
			if cur, gone := w.current(); gone || cur.DeletionTimestamp != nil {
				return fmt.Errorf("pod %s/%s is being deleted", pod.Namespace, pod.Name)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// noTokenAPI tells a 404 for the path (an API server without TokenRequest)
// from a 404 for a missing service account, which names it.
func noTokenAPI(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d == nil || (d.Name == "" && d.Kind == "")
}

func (a *Agent) failedMount(pod *corev1.Pod, err error) {
	if a.recorder == nil {
		return
	}
	a.recorder.Eventf(pod, corev1.EventTypeWarning, eventFailedMount,
		"MountVolume.SetUp failed for volume %q : failed to fetch token: %v", serviceAccountVolName, err)
}

// keepTokenFresh starts the pod's token refresher once, under the
// worker's pod context (see runPod); it ends when the worker stops running
// the pod. due is when the token at path needs replacing; zero: read it
// from the token.
func (w *worker) keepTokenFresh(pod *corev1.Pod, path string, due time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.refreshing || w.podCtx == nil || w.podCtx.Err() != nil {
		return
	}
	w.refreshing = true
	ctx := w.podCtx
	w.podWG.Go(func() { w.a.refreshToken(ctx, pod, path, due) })
}

// refreshToken replaces the token at path when it is due (at due, or if
// zero when its own times say: refreshAt), until ctx ends; failures are retried with backoff and reported as events.
// After the first refresh, the next is timed from when the agent got the
// token (80% of its lifetime later), so that a clock ahead of the API
// server's does not make it ask again and again.
func (a *Agent) refreshToken(ctx context.Context, pod *corev1.Pod, path string, due time.Time) {
	log := a.log.With("pod", pod.Namespace+"/"+pod.Name)
	if due.IsZero() {
		due, _ = a.tokenFresh(path)
	}
	var retry time.Duration
	delay := max(due.Sub(a.clock.Now()), 0)
	for {
		t := a.clock.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		tok, err := a.requestToken(ctx, pod, false)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = writeToken(path, tok.value)
		}
		if err == nil {
			retry = 0
			delay = refreshAt(tok.iat, tok.exp).Sub(tok.iat)
			continue
		}
		if errors.Is(err, errNoTokenAPI) {
			log.Warn("The API server no longer issues service account tokens: the pod's token is not refreshed", "err", err)
			return
		}
		log.Warn("Refreshing the service account token", "err", err)
		a.failedMount(pod, err)
		retry = min(max(2*retry, tokenRetryInitial), tokenRetryMax)
		delay = retry
	}
}

// refreshAt is when kubelet's token manager replaces a token issued at iat
// that expires at exp: 80% into its lifetime, or 24 hours after issue.
func refreshAt(iat, exp time.Time) time.Time {
	at := iat.Add(exp.Sub(iat) * 8 / 10)
	if limit := iat.Add(tokenMaxAge); limit.Before(at) {
		return limit
	}
	return at
}

// tokenTimes reads when a token was issued and expires (its iat and exp
// claims, unverified: the API server sent it, or the agent wrote it).
func tokenTimes(token string) (iat, exp time.Time, ok bool) {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil || c.IssuedAt == nil || c.ExpiresAt == nil {
		return time.Time{}, time.Time{}, false
	}
	return c.IssuedAt.Time, c.ExpiresAt.Time, true
}

// writeToken replaces the token file atomically. Unlike writeFiles, it
// does not create the directory: a refresh racing the pod's removal must
// not bring it back.
func writeToken(path, token string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+tokenFileName+".tmp*")
	if err != nil {
		return fmt.Errorf("writing service account token: %w", err)
	}
	_, werr := f.WriteString(token)
	if err := errors.Join(werr, f.Chmod(0o644), f.Close()); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing service account token: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing service account token: %w", err)
	}
	return nil
}

// ensureMountPoints creates, on the host, the two mount points kubelet
// puts in every container: /dev/termination-log (an empty file) and the
// service account directory (empty). A runtime that runs containers on
// the host's root filesystem (hostproc) can then bind mount over them
// directly; without them, each container would need a private copy of
// the missing path's ancestors (hostproc's "mimic" root: milliseconds and
// about a hundred mounts per container for /dev). They are created once,
// hold nothing (every container that uses them covers them with its own
// files), and live on tmpfs on usual hosts (/dev is devtmpfs, /var/run
// is /run). One difference remains: a container without the service
// account mount sees the host's empty directory (as it sees the rest of
// the host's filesystem) where upstream it would see none. Failing is not
// an error: containers then pay for the private root.
func (a *Agent) ensureMountPoints() {
	if err := os.MkdirAll(serviceAccountMountPath, 0o755); err != nil {
		a.log.Debug("Creating service account mount point", "err", err)
	}
	p := corev1.TerminationMessagePathDefault
	if _, err := os.Lstat(p); err == nil {
		return
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		a.log.Debug("Creating termination message mount point", "err", err)
		return
	}
	f.Close()
}
