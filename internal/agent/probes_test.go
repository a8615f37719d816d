package agent_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// execProbe is an exec probe every second, failing at the first failure.
func execProbe(cmd ...string) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: cmd}},
		PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1,
	}
}

// withData mounts a host directory at /data in the pod's first container.
func withData(p *corev1.Pod, dir string) *corev1.Pod {
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}}})
	c := &p.Spec.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
	return p
}

func getPod(t *testing.T, cs kubernetes.Interface, name string) *corev1.Pod {
	t.Helper()
	p, err := cs.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitPod waits until the pod satisfies f.
func waitPod(t *testing.T, cs kubernetes.Interface, name, what string, timeout time.Duration, f func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	waitFor(t, timeout, "pod "+name+": "+what, func() bool {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		pod = p
		return f(p)
	})
	return pod
}

// podEvents returns the events about the pod's container c, oldest first.
func podEvents(t *testing.T, cs kubernetes.Interface, pod string) []corev1.Event {
	t.Helper()
	list, err := cs.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "Pod" && e.InvolvedObject.Name == pod {
			out = append(out, e)
		}
	}
	return out
}

// waitEvent waits for an event about the pod's container "c" with the
// reason, type and a message starting with prefix, as kubelet reports it.
func waitEvent(t *testing.T, cs kubernetes.Interface, pod, typ, reason, prefix string) corev1.Event {
	t.Helper()
	var found corev1.Event
	waitFor(t, 20*time.Second, "event "+reason+" "+prefix+" on "+pod, func() bool {
		for _, e := range podEvents(t, cs, pod) {
			if e.Reason == reason && e.Type == typ && strings.HasPrefix(e.Message, prefix) {
				found = e
				return true
			}
		}
		return false
	})
	if found.Source.Component != "kubelet" || found.Source.Host == "" || found.InvolvedObject.FieldPath != "spec.containers{c}" {
		t.Errorf("event %s: source %+v, fieldPath %q; want kubelet on the node, spec.containers{c}", reason, found.Source, found.InvolvedObject.FieldPath)
	}
	return found
}

func hasEvent(t *testing.T, cs kubernetes.Interface, pod, reason, prefix string) bool {
	for _, e := range podEvents(t, cs, pod) {
		if e.Reason == reason && strings.HasPrefix(e.Message, prefix) {
			return true
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool { return condition(p, corev1.PodReady) == corev1.ConditionTrue }

// TestJOB_AGENT_04_ReadinessProbe: an exec readiness probe drives the
// container's ready, the pod's Ready and ContainersReady conditions and
// the Job's status.ready, both ways, and each failure is an Unhealthy
// event with the probe's output.
// JOB-AGENT-04 Ready condition from readiness probes.
func TestJOB_AGENT_04_ReadinessProbe(t *testing.T) {
	_, cs := start(t)
	ctx := context.Background()
	dir := t.TempDir()
	tmpl := withData(shPod("x", corev1.RestartPolicyNever, "while [ ! -f /data/stop ]; do sleep 0.1; done"), dir)
	tmpl.Spec.Containers[0].ReadinessProbe = execProbe("cat", "/data/ready")
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "ready", Namespace: "default"},
		Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: tmpl.Spec}},
	}
	if _, err := cs.BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var name string
	waitFor(t, 30*time.Second, "the Job's pod running", func() bool {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "job-name=ready"})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning {
			return false
		}
		name = pods.Items[0].Name
		return true
	})
	jobReady := func(want int32) {
		t.Helper()
		waitFor(t, 15*time.Second, "job status.ready", func() bool {
			j, err := cs.BatchV1().Jobs("default").Get(ctx, "ready", metav1.GetOptions{})
			return err == nil && j.Status.Active == 1 && j.Status.Ready != nil && *j.Status.Ready == want
		})
	}

	e := waitEvent(t, cs, name, corev1.EventTypeWarning, "Unhealthy", "Readiness probe failed: ")
	if !strings.Contains(e.Message, "/data/ready") {
		t.Errorf("event message %q lacks the probe's output", e.Message)
	}
	p := getPod(t, cs, name)
	if s := p.Status.ContainerStatuses[0]; s.Ready || s.Started == nil || !*s.Started || s.State.Running == nil ||
		podReady(p) || condition(p, corev1.ContainersReady) != corev1.ConditionFalse {
		t.Errorf("before the probe passes: container %+v, conditions %+v; want running, started, not ready", s, p.Status.Conditions)
	}
	jobReady(0)

	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	p = waitPod(t, cs, name, "Ready", 10*time.Second, podReady)
	if !p.Status.ContainerStatuses[0].Ready || condition(p, corev1.ContainersReady) != corev1.ConditionTrue {
		t.Errorf("ready pod: container %+v, conditions %+v", p.Status.ContainerStatuses[0], p.Status.Conditions)
	}
	jobReady(1)

	if err := os.Remove(filepath.Join(dir, "ready")); err != nil {
		t.Fatal(err)
	}
	waitPod(t, cs, name, "not Ready again", 10*time.Second, func(p *corev1.Pod) bool { return !podReady(p) && !p.Status.ContainerStatuses[0].Ready })
	jobReady(0)

	if err := os.WriteFile(filepath.Join(dir, "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "job complete", func() bool {
		j, err := cs.BatchV1().Jobs("default").Get(ctx, "ready", metav1.GetOptions{})
		return err == nil && j.Status.Succeeded == 1
	})
}

// TestJOB_AGENT_02_LivenessProbe: a failing liveness probe kills the
// container (Unhealthy, then Killing events). With OnFailure it is
// restarted, even though it exited 0 on SIGTERM, and the restart counts;
// with Never the container, and the pod, fail.
// JOB-AGENT-02 liveness failures restart the container per restartPolicy.
func TestJOB_AGENT_02_LivenessProbe(t *testing.T) {
	_, cs := start(t)
	dir := t.TempDir()

	never := shPod("live-never", corev1.RestartPolicyNever, "sleep 300")
	never.Spec.Containers[0].LivenessProbe = execProbe("sh", "-c", "echo sick; exit 1")
	never.Spec.Containers[0].LivenessProbe.FailureThreshold = 2
	create(t, cs, never)

	// The first run handles SIGTERM by exiting 0; the second run exits 0
	// before the probe's initial delay.
	restart := withData(shPod("live-restart", corev1.RestartPolicyOnFailure,
		"if [ -f /data/ran ]; then exit 0; fi; touch /data/ran; trap 'exit 0' TERM; sleep 300 & wait"), dir)
	restart.Spec.Containers[0].LivenessProbe = execProbe("false")
	restart.Spec.Containers[0].LivenessProbe.InitialDelaySeconds = 1
	create(t, cs, restart)

	failed := waitPhase(t, cs, "live-never", corev1.PodFailed, 30*time.Second)
	if s := failed.Status.ContainerStatuses[0]; s.RestartCount != 0 || s.State.Terminated == nil || s.State.Terminated.ExitCode != 143 {
		t.Errorf("Never: container %+v; want terminated by SIGTERM (143), not restarted", s)
	}
	waitEvent(t, cs, "live-never", corev1.EventTypeWarning, "Unhealthy", "Liveness probe failed: sick\n")
	if e := waitEvent(t, cs, "live-never", corev1.EventTypeNormal, "Killing", "Container c failed liveness probe"); e.Message != "Container c failed liveness probe" {
		t.Errorf("Never: Killing %q, want no restart announced", e.Message)
	}

	waitEvent(t, cs, "live-restart", corev1.EventTypeNormal, "Killing", "Container c failed liveness probe, will be restarted")
	done := waitPhase(t, cs, "live-restart", corev1.PodSucceeded, 40*time.Second)
	s := done.Status.ContainerStatuses[0]
	if s.RestartCount != 1 || s.LastTerminationState.Terminated == nil || s.LastTerminationState.Terminated.ExitCode != 0 ||
		s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 {
		t.Errorf("OnFailure: container %+v; want one restart after the killed run exited 0", s)
	}
}

// TestStartupProbe: until the startup probe succeeds the container is
// neither started nor ready and the liveness probe does not run; then it
// does (and here kills). A startup probe that keeps failing kills the
// container.
func TestStartupProbe(t *testing.T) {
	_, cs := start(t)
	dir := t.TempDir()
	gated := withData(shPod("gated", corev1.RestartPolicyNever, "sleep 300"), dir)
	gated.Spec.Containers[0].StartupProbe = execProbe("cat", "/data/started")
	gated.Spec.Containers[0].StartupProbe.FailureThreshold = 60
	gated.Spec.Containers[0].LivenessProbe = execProbe("sh", "-c", "echo dead; exit 1")
	create(t, cs, gated)
	never := shPod("never-starts", corev1.RestartPolicyNever, "sleep 300")
	never.Spec.Containers[0].StartupProbe = execProbe("sh", "-c", "echo not yet; exit 1")
	never.Spec.Containers[0].StartupProbe.FailureThreshold = 2
	create(t, cs, never)

	waitEvent(t, cs, "gated", corev1.EventTypeWarning, "Unhealthy", "Startup probe failed: ")
	time.Sleep(2 * time.Second) // a liveness probe would have killed it by now
	p := getPod(t, cs, "gated")
	if s := p.Status.ContainerStatuses[0]; s.State.Running == nil || s.Started == nil || *s.Started || s.Ready || podReady(p) {
		t.Errorf("before the startup probe passes: %+v; want running, not started, not ready", s)
	}
	if hasEvent(t, cs, "gated", "Unhealthy", "Liveness probe failed") || hasEvent(t, cs, "gated", "Killing", "") {
		t.Errorf("the liveness probe ran before the startup probe passed: %+v", podEvents(t, cs, "gated"))
	}
	if err := os.WriteFile(filepath.Join(dir, "started"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, cs, "gated", corev1.PodFailed, 20*time.Second)
	waitEvent(t, cs, "gated", corev1.EventTypeNormal, "Killing", "Container c failed liveness probe")

	failed := waitPhase(t, cs, "never-starts", corev1.PodFailed, 20*time.Second)
	if s := failed.Status.ContainerStatuses[0]; s.State.Terminated == nil || s.Started == nil || *s.Started {
		t.Errorf("never started: %+v", s)
	}
	waitEvent(t, cs, "never-starts", corev1.EventTypeWarning, "Unhealthy", "Startup probe failed: not yet\n")
	waitEvent(t, cs, "never-starts", corev1.EventTypeNormal, "Killing", "Container c failed startup probe")
}

// TestHTTPAndTCPProbes: httpGet and tcpSocket readiness probes reach a
// server on the node through the pod IP (the host's: pods use the host
// network), by port number and by named port.
func TestHTTPAndTCPProbes(t *testing.T) {
	_, cs := start(t)
	var healthy atomic.Bool
	var mu sync.Mutex
	var agent, custom string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agent, custom = r.UserAgent(), r.Header.Get("X-Probe")
		mu.Unlock()
		if r.URL.Path != "/healthz" || !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	})}
	hln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(hln)
	defer srv.Close()
	tln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer tln.Close()
	go func() {
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	hp := shPod("http", corev1.RestartPolicyNever, "sleep 300")
	hp.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "web", ContainerPort: int32(hln.Addr().(*net.TCPAddr).Port)}}
	hp.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/healthz", Port: intstr.FromString("web"),
			HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Probe", Value: "batchd"}},
		}},
		PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1,
	}
	create(t, cs, hp)
	tp := shPod("tcp", corev1.RestartPolicyNever, "sleep 300")
	tp.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(tln.Addr().(*net.TCPAddr).Port)}},
		PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1,
	}
	create(t, cs, tp)

	waitEvent(t, cs, "http", corev1.EventTypeWarning, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503")
	if podReady(getPod(t, cs, "http")) {
		t.Error("pod ready while its HTTP probe fails")
	}
	healthy.Store(true)
	waitPod(t, cs, "http", "Ready", 10*time.Second, podReady)
	mu.Lock()
	if !strings.HasPrefix(agent, "kube-probe/") || custom != "batchd" {
		t.Errorf("probe request: User-Agent %q, X-Probe %q; want kube-probe/..., batchd", agent, custom)
	}
	mu.Unlock()

	waitPod(t, cs, "tcp", "Ready", 20*time.Second, podReady)
	tln.Close()
	waitPod(t, cs, "tcp", "not Ready once the port is closed", 10*time.Second, func(p *corev1.Pod) bool { return !podReady(p) })
	waitEvent(t, cs, "tcp", corev1.EventTypeWarning, "Unhealthy", "Readiness probe failed: dial tcp ")
}
