package agent_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/controlplane"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
)

var helper string

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("agent tests need root (the hostproc runtime); skipping")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "batchd-agent-test")
	if err != nil {
		panic(err)
	}
	if helper, err = clustertest.BuildHelper(dir); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// start runs a cluster with an agent whose runtime state is in a test
// directory; pods still running at the end are removed after the cluster
// stops, so no process outlives the test.
func start(t *testing.T) (*clustertest.Cluster, kubernetes.Interface) {
	t.Helper()
	c, cs, _ := startIn(t)
	return c, cs
}

func startIn(t *testing.T) (*clustertest.Cluster, kubernetes.Interface, string) {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		rt, err := hostproc.New(hostproc.Config{StateDir: dir, HelperPath: helper})
		if err != nil {
			t.Errorf("cleaning up pods: %v", err)
			return
		}
		pods, _ := rt.List(context.Background())
		for _, p := range pods {
			if err := rt.RemovePod(context.Background(), p.ID); err != nil {
				t.Errorf("removing pod %s: %v", p.Spec.Name, err)
			}
		}
	})
	c := clustertest.Start(t, agentOpts(dir)...)
	waitNodeReady(t, c.Client())
	return c, c.Client(), dir
}

func agentOpts(runtimeDir string) []clustertest.Option {
	return []clustertest.Option{clustertest.WithAgent(helper), func(cfg *controlplane.Config) { cfg.Agent.RuntimeStateDir = runtimeDir }}
}

func waitNodeReady(t *testing.T, cs kubernetes.Interface) *corev1.Node {
	t.Helper()
	var node *corev1.Node
	waitFor(t, 30*time.Second, "a Ready node", func() bool {
		nodes, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil || len(nodes.Items) == 0 {
			return false
		}
		node = &nodes.Items[0]
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
	return node
}

func waitFor(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func shPod(name string, policy corev1.RestartPolicy, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 policy,
			TerminationGracePeriodSeconds: ptr.To[int64](5),
			Containers:                    []corev1.Container{{Name: "c", Image: "busybox", Command: []string{"sh", "-c", script}}},
		},
	}
}

func create(t *testing.T, cs kubernetes.Interface, p *corev1.Pod) {
	t.Helper()
	if _, err := cs.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitPhase(t *testing.T, cs kubernetes.Interface, name string, phase corev1.PodPhase, timeout time.Duration) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	waitFor(t, timeout, "pod "+name+" "+string(phase), func() bool {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		pod = p
		return p.Status.Phase == phase
	})
	return pod
}

func condition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// TestNodeRegistration: the agent registers its Node with labels,
// capacity, addresses, Ready and the kubelet port, and renews a Lease.
func TestNodeRegistration(t *testing.T) {
	_, cs := start(t)
	node := waitNodeReady(t, cs)
	for _, l := range []string{"kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch"} {
		if node.Labels[l] == "" {
			t.Errorf("label %s missing: %v", l, node.Labels)
		}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		if q, ok := node.Status.Allocatable[r]; !ok || q.IsZero() {
			t.Errorf("allocatable %s = %v", r, q)
		}
	}
	if len(node.Status.Addresses) == 0 || node.Status.Addresses[0].Type != corev1.NodeInternalIP {
		t.Errorf("addresses = %v", node.Status.Addresses)
	}
	waitFor(t, 10*time.Second, "the node lease", func() bool {
		l, err := cs.CoordinationV1().Leases("kube-node-lease").Get(context.Background(), node.Name, metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime != nil && *l.Spec.HolderIdentity == node.Name
	})
}

// TestJOB_AGENT_01_Never: containers are not restarted; the pod is
// Succeeded iff every container exited 0, else Failed, with the exit code,
// reason, times and conditions kubelet reports (JOB-AGENT-04).
// JOB-AGENT-01 restartPolicy Never: phase from exit codes, no restarts.
func TestJOB_AGENT_01_Never(t *testing.T) {
	_, cs := start(t)
	create(t, cs, shPod("ok", corev1.RestartPolicyNever, "echo hi"))
	bad := shPod("bad", corev1.RestartPolicyNever, "echo boom; exit 3")
	bad.Spec.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	create(t, cs, bad)
	ok := waitPhase(t, cs, "ok", corev1.PodSucceeded, 30*time.Second)
	bad = waitPhase(t, cs, "bad", corev1.PodFailed, 30*time.Second)

	term := ok.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 0 || term.Reason != "Completed" || term.FinishedAt.IsZero() || term.StartedAt.IsZero() {
		t.Errorf("ok: terminated = %+v", term)
	}
	if ok.Status.PodIP == "" || ok.Status.PodIP != ok.Status.HostIP || ok.Status.StartTime == nil {
		t.Errorf("ok: podIP %q hostIP %q startTime %v", ok.Status.PodIP, ok.Status.HostIP, ok.Status.StartTime)
	}
	if condition(ok, corev1.PodReady) != corev1.ConditionFalse || condition(ok, corev1.PodInitialized) != corev1.ConditionTrue ||
		condition(ok, corev1.PodScheduled) != corev1.ConditionTrue || condition(ok, corev1.ContainersReady) != corev1.ConditionFalse {
		t.Errorf("ok: conditions = %+v", ok.Status.Conditions)
	}
	bt := bad.Status.ContainerStatuses[0]
	if bt.State.Terminated == nil || bt.State.Terminated.ExitCode != 3 || bt.State.Terminated.Reason != "Error" || bt.RestartCount != 0 ||
		bt.State.Terminated.Message != "boom\n" {
		t.Errorf("bad: status = %+v", bt)
	}
}

// TestJOB_AGENT_02_OnFailure: a failing container is restarted in place
// after kubelet's 10 s backoff, with restartCount and lastState, and the
// pod succeeds once it exits 0.
// JOB-AGENT-02 restartPolicy OnFailure: in-place restart after the backoff.
func TestJOB_AGENT_02_OnFailure(t *testing.T) {
	_, cs := start(t)
	dir := t.TempDir()
	p := shPod("retry", corev1.RestartPolicyOnFailure, "if [ -f /data/x ]; then exit 0; fi; touch /data/x; exit 7")
	p.Spec.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "d", MountPath: "/data"}}
	create(t, cs, p)
	running := waitPhase(t, cs, "retry", corev1.PodRunning, 30*time.Second)
	_ = running
	waitFor(t, 10*time.Second, "CrashLoopBackOff", func() bool {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), "retry", metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		s := p.Status.ContainerStatuses[0]
		return s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff" && s.LastTerminationState.Terminated != nil &&
			s.LastTerminationState.Terminated.ExitCode == 7 && p.Status.Phase == corev1.PodRunning
	})
	begin := time.Now()
	done := waitPhase(t, cs, "retry", corev1.PodSucceeded, 30*time.Second)
	if el := time.Since(begin); el < 8*time.Second {
		t.Errorf("restarted after %v, want the 10 s backoff", el)
	}
	s := done.Status.ContainerStatuses[0]
	if s.RestartCount != 1 || s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 || s.LastTerminationState.Terminated == nil {
		t.Errorf("status = %+v", s)
	}
}

// TestJOB_AGENT_03_GracefulDeletion: a deleted running pod is stopped with
// SIGTERM and its deletion confirmed; a finished pod is just confirmed.
// JOB-AGENT-03 graceful deletion: SIGTERM, terminal phase, confirmation.
func TestJOB_AGENT_03_GracefulDeletion(t *testing.T) {
	_, cs := start(t)
	ctx := context.Background()
	create(t, cs, shPod("sleeper", corev1.RestartPolicyNever, "sleep 300"))
	create(t, cs, shPod("done", corev1.RestartPolicyNever, "true"))
	waitPhase(t, cs, "sleeper", corev1.PodRunning, 30*time.Second)
	waitPhase(t, cs, "done", corev1.PodSucceeded, 30*time.Second)
	begin := time.Now()
	for _, n := range []string{"sleeper", "done"} {
		if err := cs.CoreV1().Pods("default").Delete(ctx, n, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"sleeper", "done"} {
		waitFor(t, 20*time.Second, n+" removed", func() bool {
			_, err := cs.CoreV1().Pods("default").Get(ctx, n, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	}
	if el := time.Since(begin); el > 4*time.Second {
		t.Errorf("deletion took %v; SIGTERM should end sleep at once", el)
	}
}

// TestJOB_AGENT_05_Env: downward-API fieldRefs (labels, annotations incl.
// the completion index), $(VAR) expansion and the pod hostname.
// JOB-AGENT-05 downward API labels and annotations, spec.hostname.
func TestJOB_AGENT_05_Env(t *testing.T) {
	_, cs := start(t)
	dir := t.TempDir()
	p := shPod("env", corev1.RestartPolicyNever, `echo "$IDX $APP $NAME $(hostname) $WHO" > /out/r`)
	p.Annotations = map[string]string{"batch.kubernetes.io/job-completion-index": "4"}
	p.Spec.Hostname = "myhost"
	p.Spec.Volumes = []corev1.Volume{{Name: "o", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}}}}
	c := &p.Spec.Containers[0]
	c.VolumeMounts = []corev1.VolumeMount{{Name: "o", MountPath: "/out"}}
	c.Env = []corev1.EnvVar{
		{Name: "IDX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
		{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
		{Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "WHO", Value: "$(NAME)-$(IDX)"},
	}
	create(t, cs, p)
	waitPhase(t, cs, "env", corev1.PodSucceeded, 30*time.Second)
	b, err := os.ReadFile(dir + "/r")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(b)), "4 env env myhost env-4"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestJOB_AGENT_04_Reattach: a pod that finishes while the agent is down
// is reported as it ended once the agent is back.
func TestJOB_AGENT_04_Reattach(t *testing.T) {
	c, cs, dir := startIn(t)
	create(t, cs, shPod("across", corev1.RestartPolicyNever, "sleep 2; exit 5"))
	waitPhase(t, cs, "across", corev1.PodRunning, 30*time.Second)
	c.Restart(t, agentOpts(dir)...)
	cs = c.Client()
	p := waitPhase(t, cs, "across", corev1.PodFailed, 30*time.Second)
	if s := p.Status.ContainerStatuses[0]; s.State.Terminated == nil || s.State.Terminated.ExitCode != 5 {
		t.Errorf("status = %+v", s)
	}
}

// TestJobCompletes runs Jobs through the whole system and reports timings.
func TestJobCompletes(t *testing.T) {
	_, cs := start(t)
	ctx := context.Background()
	job := func(name string, completions, parallelism int32) *batchv1.Job {
		return &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: batchv1.JobSpec{
				Completions: ptr.To(completions), Parallelism: ptr.To(parallelism),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "c", Image: "busybox", Command: []string{"true"}}},
				}},
			},
		}
	}
	waitJob := func(name string) time.Duration {
		begin := time.Now()
		waitFor(t, 5*time.Minute, "job "+name+" complete", func() bool {
			j, err := cs.BatchV1().Jobs("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			for _, c := range j.Status.Conditions {
				if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
					return true
				}
			}
			return false
		})
		return time.Since(begin)
	}
	begin := time.Now()
	if _, err := cs.BatchV1().Jobs("default").Create(ctx, job("one", 1, 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitJob("one")
	t.Logf("1-pod Job create → Complete: %v", time.Since(begin))

	n := int32(200)
	if testing.Short() {
		n = 40
	}
	begin = time.Now()
	if _, err := cs.BatchV1().Jobs("default").Create(ctx, job("many", n, 20), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitJob("many")
	el := time.Since(begin)
	t.Logf("%d-pod Job at parallelism 20: %v, %.1f pods/s", n, el, float64(n)/el.Seconds())

	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "job-name=many"})
	if err != nil {
		t.Fatal(err)
	}
	var lat []time.Duration
	for _, p := range pods.Items {
		if len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Terminated != nil {
			lat = append(lat, p.Status.ContainerStatuses[0].State.Terminated.StartedAt.Sub(p.CreationTimestamp.Time))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		t.Logf("pod create → container started: p50 %v p99 %v (second granularity of creationTimestamp)", lat[len(lat)/2], lat[len(lat)*99/100])
	}
}

// TestCreateToRunning measures pod create → phase Running, one pod at a
// time, as the watch sees it.
func TestCreateToRunning(t *testing.T) {
	_, cs := start(t)
	ctx := context.Background()
	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var lat []time.Duration
	for i := range 20 {
		name := fmt.Sprintf("r%d", i)
		begin := time.Now()
		create(t, cs, shPod(name, corev1.RestartPolicyNever, "sleep 30"))
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && p.Name == name && p.Status.Phase == corev1.PodRunning {
				break
			}
		}
		lat = append(lat, time.Since(begin))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("pod create → Running: p50 %v, max %v", lat[len(lat)/2], lat[len(lat)-1])
}
