package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/version"
)

// Probes, as kubelet's prober workers run them. Each run of a container
// with probes gets one goroutine, owned by the container's loop
// (runContainerNotify), which stops it when the run ends:
//
//   - the startup probe runs first; until it has succeeded the container
//     is not started, hence not ready, and the other probes do not run;
//     failureThreshold failures in a row kill the run;
//   - then the liveness and readiness probes run side by side, each
//     every periodSeconds once initialDelaySeconds have passed since the
//     container started; failureThreshold liveness failures in a row kill
//     the run, and the readiness result (successThreshold successes, or
//     failureThreshold failures, in a row) is the container's ready, which
//     makes the pod's Ready and ContainersReady conditions, and so a Job's
//     status.ready.
//
// Every failure is a Warning event Unhealthy "<Kind> probe failed:
// <output>". A probe kill is a Normal event Killing "Container <name>
// failed <kind> probe[, will be restarted]", a stop with the probe's
// terminationGracePeriodSeconds (else the pod's, at least 2 s), and a
// restart whatever the exit code unless restartPolicy is Never (where the
// container fails, and the pod with it).
//
// exec probes run through the runtime's ExecSync with the probe's
// timeout; httpGet and tcpSocket probes connect from the agent to the
// probe's host, by default the pod IP: pods share the host's network, so
// that is the node's IP, and a container listening on any address, or on
// that one, is reached. gRPC probes are not run: they count as
// succeeding (and say so in the agent's log).
const (
	defaultProbePeriod    = 10 * time.Second
	defaultProbeTimeout   = time.Second
	defaultProbeFailures  = 3
	probeOutputLimit      = 10 << 10 // kubelet keeps 10 KiB of a probe's output
	minProbeKillGrace     = 2 * time.Second
	maxProbeRetries       = 3 // a probe that errors (rather than fails) is retried at once
	probeUserAgentProduct = "kube-probe/"
)

type probeKind string

// Probe kinds, as kubelet names them in events.
const (
	startupProbe   probeKind = "Startup"
	livenessProbe  probeKind = "Liveness"
	readinessProbe probeKind = "Readiness"
)

// startProbes runs c's probes against its run id until the returned stop
// is called; stop waits for them.
func (w *worker) startProbes(ctx context.Context, c *ctr, id podruntime.ContainerID) (stop func()) {
	sp, lp, rp := c.spec.StartupProbe, c.spec.LivenessProbe, c.spec.ReadinessProbe
	if sp == nil && lp == nil && rp == nil {
		return func() {}
	}
	w.mu.Lock()
	startedAt := c.startAt
	w.mu.Unlock()
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if sp != nil && !w.runProbe(pctx, c, id, startupProbe, sp, startedAt) {
			return
		}
		var each sync.WaitGroup
		if lp != nil {
			each.Go(func() { w.runProbe(pctx, c, id, livenessProbe, lp, startedAt) })
		}
		if rp != nil {
			each.Go(func() { w.runProbe(pctx, c, id, readinessProbe, rp, startedAt) })
		}
		each.Wait()
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// runProbe probes until ctx ends; a startup probe returns true once it
// has succeeded. A liveness or startup probe that reaches its failure
// threshold kills the run and returns false.
func (w *worker) runProbe(ctx context.Context, c *ctr, id podruntime.ContainerID, kind probeKind, p *corev1.Probe, startedAt time.Time) bool {
	period := seconds(p.PeriodSeconds, defaultProbePeriod)
	successes, failures := max(int(p.SuccessThreshold), 1), int(p.FailureThreshold)
	if failures <= 0 {
		failures = defaultProbeFailures
	}
	if p.GRPC != nil {
		w.a.log.Warn("gRPC probes are not supported: taking the probe as succeeding", "pod", w.key(), "container", c.spec.Name, "probe", string(kind))
	}
	if !w.sleep(ctx, startedAt.Add(time.Duration(p.InitialDelaySeconds)*time.Second).Sub(w.a.clock.Now())) {
		return false
	}
	var last, run = false, 0
	for {
		ok, counted := w.probeOnce(ctx, c, id, kind, p)
		if ctx.Err() != nil {
			return false
		}
		if counted {
			if run > 0 && ok == last {
				run++
			} else {
				last, run = ok, 1
			}
			switch {
			case ok && run >= successes:
				switch kind {
				case startupProbe:
					w.setProbeResult(c, &c.started, true)
					return true
				case readinessProbe:
					w.setProbeResult(c, &c.ready, true)
				}
			case !ok && run >= failures:
				if kind == readinessProbe {
					w.setProbeResult(c, &c.ready, false)
				} else {
					w.killForProbe(ctx, c, id, kind, p)
					return false
				}
			}
		}
		if !w.sleep(ctx, period) {
			return false
		}
	}
}

func (w *worker) setProbeResult(c *ctr, field *bool, v bool) {
	w.mu.Lock()
	changed := *field != v
	*field = v
	w.mu.Unlock()
	if changed {
		w.markDirty()
	}
}

// sleep waits d on the agent's clock; false if ctx ended first.
func (w *worker) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := w.a.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// probeOnce runs the probe and reports a failure as an event. counted is
// false when there is no result to count: the run ended meanwhile.
func (w *worker) probeOnce(ctx context.Context, c *ctr, id podruntime.ContainerID, kind probeKind, p *corev1.Probe) (ok, counted bool) {
	var out string
	var err error
	for range maxProbeRetries {
		ok, out, err = w.a.probe(ctx, &c.spec, id, p)
		if err == nil || ctx.Err() != nil || errors.Is(err, podruntime.ErrNotRunning) {
			break
		}
	}
	if ctx.Err() != nil || errors.Is(err, podruntime.ErrNotRunning) {
		return false, false
	}
	if ok && err == nil {
		return true, true
	}
	pod, _ := w.current()
	ref := containerRef(pod, &c.spec, c.init)
	if err != nil {
		w.a.recorder.Eventf(ref, corev1.EventTypeWarning, eventUnhealthy, "%s probe errored and resulted in unknown state: %v", kind, err)
	} else {
		w.a.recorder.Eventf(ref, corev1.EventTypeWarning, eventUnhealthy, "%s probe failed: %s", kind, out)
	}
	return false, true
}

// killForProbe stops the run after a failed liveness or startup probe.
func (w *worker) killForProbe(ctx context.Context, c *ctr, id podruntime.ContainerID, kind probeKind, p *corev1.Probe) {
	pod, _ := w.current()
	msg := fmt.Sprintf("Container %s failed %s probe", c.spec.Name, strings.ToLower(string(kind)))
	if c.sidecar || w.policy != corev1.RestartPolicyNever {
		msg += ", will be restarted"
	}
	w.a.recorder.Event(containerRef(pod, &c.spec, c.init), corev1.EventTypeNormal, eventKilling, msg)
	w.mu.Lock()
	c.probeKill = true
	w.mu.Unlock()
	grace := defaultGrace
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if g := p.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if err := w.a.rt.Stop(ctx, id, max(grace, minProbeKillGrace)); err != nil && ctx.Err() == nil {
		w.a.log.Warn("Stopping container for a failed probe", "pod", w.key(), "container", c.spec.Name, "err", err)
	}
}

// probe runs one probe: ok is its result and out what it said; err means
// it could not be run at all.
func (a *Agent) probe(ctx context.Context, c *corev1.Container, id podruntime.ContainerID, p *corev1.Probe) (ok bool, out string, err error) {
	timeout := seconds(p.TimeoutSeconds, defaultProbeTimeout)
	switch {
	case p.Exec != nil:
		return a.execProbe(ctx, id, p.Exec.Command, timeout)
	case p.HTTPGet != nil:
		return a.httpProbe(ctx, c, p.HTTPGet, timeout)
	case p.TCPSocket != nil:
		return a.tcpProbe(ctx, c, p.TCPSocket, timeout)
	case p.GRPC != nil:
		return true, "", nil
	}
	return false, "", fmt.Errorf("missing probe handler for container %s", c.Name)
}

func (a *Agent) execProbe(ctx context.Context, id podruntime.ContainerID, cmd []string, timeout time.Duration) (bool, string, error) {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := a.rt.ExecSync(tctx, id, cmd)
	switch {
	case err == nil:
		out := res.Output[:min(len(res.Output), probeOutputLimit)]
		return res.Code == 0, string(out), nil
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		// What kubelet says of an ExecSync past its timeout.
		return false, fmt.Sprintf("command %q timed out", strings.Join(cmd, " ")), nil
	default:
		return false, "", err
	}
}

func (a *Agent) httpProbe(ctx context.Context, c *corev1.Container, g *corev1.HTTPGetAction, timeout time.Duration) (bool, string, error) {
	port, err := probePort(g.Port, c)
	if err != nil {
		return false, "", err
	}
	host := g.Host
	if host == "" {
		host = a.hostIP
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	u, err := url.Parse(g.Path)
	if err != nil {
		u = &url.URL{Path: g.Path}
	}
	u.Scheme, u.Host = scheme, net.JoinHostPort(host, strconv.Itoa(port))
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, "", err
	}
	for _, h := range g.HTTPHeaders {
		if http.CanonicalHeaderKey(h.Name) == "Host" {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", probeUserAgentProduct+version.KubeMajor+"."+version.KubeMinor)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "*/*")
	}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // as kubelet: probes check health, not identity
		DisableKeepAlives: true,
		Proxy:             nil,
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		return false, err.Error(), nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, probeOutputLimit))
	if resp.StatusCode >= http.StatusOK && resp.StatusCode < http.StatusBadRequest {
		return true, string(body), nil
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode), nil
}

func (a *Agent) tcpProbe(ctx context.Context, c *corev1.Container, s *corev1.TCPSocketAction, timeout time.Duration) (bool, string, error) {
	port, err := probePort(s.Port, c)
	if err != nil {
		return false, "", err
	}
	host := s.Host
	if host == "" {
		host = a.hostIP
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		return false, err.Error(), nil
	}
	conn.Close()
	return true, "", nil
}

// probePort resolves a probe's port: a number, or the name of one of the
// container's ports (or a number written as a string).
func probePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	port := p.IntValue()
	if p.Type == intstr.String {
		port = -1
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				port = int(cp.ContainerPort)
			}
		}
		if port < 0 {
			n, err := strconv.Atoi(p.StrVal)
			if err != nil {
				return 0, fmt.Errorf("port %s not found", p.StrVal)
			}
			port = n
		}
	}
	if port <= 0 || port >= 65536 {
		return 0, fmt.Errorf("invalid port number: %v", port)
	}
	return port, nil
}

func seconds(n int32, def time.Duration) time.Duration {
	if n <= 0 {
		return def
	}
	return time.Duration(n) * time.Second
}
