package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/scheduler"
	st "github.com/batchd/batchd/internal/scheduler/schedulertest"
)

const (
	poll    = 50 * time.Millisecond
	timeout = 30 * time.Second
)

// forceDelete removes a bound pod at once: with no agent to stop it, a
// graceful deletion would keep it (and its requests) for its grace period.
var forceDelete = metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}

// fastClient is a client of c without client-side rate limits, speaking
// protobuf, like the control plane's loopback clients.
func fastClient(t *testing.T, c *clustertest.Cluster) kubernetes.Interface {
	t.Helper()
	cfg := c.Config()
	cfg.QPS = -1
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building client: %v", err)
	}
	return client
}

// startScheduler runs a scheduler against c until the test ends, wired as
// the control plane would wire it: one informer factory, unfiltered pods.
// It returns when the scheduler's caches are filled.
func startScheduler(t *testing.T, c *clustertest.Cluster, cfg scheduler.Config) {
	t.Helper()
	client := fastClient(t, c)
	factory := informers.NewSharedInformerFactory(client, 0)
	cfg.Client = client
	cfg.Pods = factory.Core().V1().Pods()
	cfg.Nodes = factory.Core().V1().Nodes()
	cfg.Namespaces = factory.Core().V1().Namespaces()
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := scheduler.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	factory.Start(ctx.Done())
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		factory.Shutdown()
	})
	for typ, ok := range factory.WaitForCacheSync(t.Context().Done()) {
		if !ok {
			t.Fatalf("%v informer did not sync", typ)
		}
	}
}

// await polls cond until it reports done or the deadline passes, then fails
// the test with the last state cond described.
func await(t *testing.T, what string, cond func(ctx context.Context) (done bool, state string, err error)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), poll, timeout, true, func(ctx context.Context) (bool, error) {
		done, state, err := cond(ctx)
		if err == nil {
			last = state
		}
		return done, err
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; last seen: %s", what, err, last)
	}
}

func createNodes(t *testing.T, client kubernetes.Interface, nodes ...*corev1.Node) {
	t.Helper()
	for _, n := range nodes {
		if _, err := client.CoreV1().Nodes().Create(t.Context(), n, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating node %s: %v", n.Name, err)
		}
	}
}

// createPods creates pods as a user would: without UIDs.
func createPods(t *testing.T, client kubernetes.Interface, pods ...*corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		p = p.DeepCopy()
		p.UID = ""
		if _, err := client.CoreV1().Pods(p.Namespace).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s: %v", p.Name, err)
		}
	}
}

// placement maps each pod in the namespace to its node ("" while pending).
func placement(ctx context.Context, client kubernetes.Interface, ns string) (map[string]string, error) {
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range list.Items {
		out[p.Name] = p.Spec.NodeName
	}
	return out, nil
}

func pendingPods(placed map[string]string) []string {
	var out []string
	for pod, node := range placed {
		if node == "" {
			out = append(out, pod)
		}
	}
	slices.Sort(out)
	return out
}

func podsPerNode(placed map[string]string) map[string]int {
	out := map[string]int{}
	for _, node := range placed {
		if node != "" {
			out[node]++
		}
	}
	return out
}

// awaitPlacement waits until want(placed) holds.
func awaitPlacement(t *testing.T, client kubernetes.Interface, what string, want func(map[string]string) bool) map[string]string {
	t.Helper()
	var placed map[string]string
	await(t, what, func(ctx context.Context) (bool, string, error) {
		var err error
		placed, err = placement(ctx, client, "default")
		return err == nil && want(placed), fmt.Sprint(placed), err
	})
	return placed
}

// awaitUnschedulable waits for the pod's PodScheduled=False condition with
// reason and message, and for the matching FailedScheduling event.
func awaitUnschedulable(t *testing.T, client kubernetes.Interface, pod, reason, message string) {
	t.Helper()
	await(t, "pod "+pod+" to be "+reason, func(ctx context.Context) (bool, string, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled {
				return c.Status == corev1.ConditionFalse && c.Reason == reason && c.Message == message,
					fmt.Sprintf("%s %s %q", c.Status, c.Reason, c.Message), nil
			}
		}
		return false, fmt.Sprintf("conditions %+v", p.Status.Conditions), nil
	})
	if reason != corev1.PodReasonUnschedulable {
		return
	}
	await(t, "a FailedScheduling event for "+pod, func(ctx context.Context) (bool, string, error) {
		events, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.name=" + pod + ",reason=FailedScheduling"})
		if err != nil {
			return false, "", err
		}
		var seen []string
		for _, e := range events.Items {
			if e.Type == corev1.EventTypeWarning && e.Message == message && e.Source.Component == "default-scheduler" {
				return true, "", nil
			}
			seen = append(seen, fmt.Sprintf("%s %q from %s", e.Type, e.Message, e.Source.Component))
		}
		return false, strings.Join(seen, "; "), nil
	})
}

func TestSchedulerRespectsRequests(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithoutScheduler())
	client := fastClient(t, c)
	createNodes(t, client,
		st.MakeNode("a", st.Allocatable("2", "4Gi", "10")),
		st.MakeNode("b", st.Allocatable("2", "4Gi", "10")),
		st.MakeNode("gpu", st.Allocatable("500m", "4Gi", "10"), st.Extended("nvidia.com/gpu", "2")))
	startScheduler(t, c, scheduler.Config{})

	var pods []*corev1.Pod
	for i := range 5 {
		pods = append(pods, st.MakePod(fmt.Sprint("cpu-", i), st.Requests("1", "1Gi")))
	}
	for i := range 3 {
		pods = append(pods, st.MakePod(fmt.Sprint("gpu-", i), st.RequestsExtended("nvidia.com/gpu", "1")))
	}
	createPods(t, client, pods...)

	// a and b take two 1-cpu pods each, gpu (half a cpu) two GPU pods; one
	// pod of each kind stays pending.
	placed := awaitPlacement(t, client, "6 pods bound", func(p map[string]string) bool { return len(pendingPods(p)) == 2 && len(p) == 8 })
	if got, want := podsPerNode(placed), map[string]int{"a": 2, "b": 2, "gpu": 2}; !maps.Equal(got, want) {
		t.Errorf("pods per node = %v, want %v", got, want)
	}
	pending := pendingPods(placed)
	if !strings.HasPrefix(pending[0], "cpu-") || !strings.HasPrefix(pending[1], "gpu-") {
		t.Fatalf("pending pods = %v, want one cpu- and one gpu- pod", pending)
	}
	for _, p := range pods {
		if node := placed[p.Name]; strings.HasPrefix(p.Name, "gpu-") && node != "" && node != "gpu" {
			t.Errorf("GPU pod %s bound to %s", p.Name, node)
		}
	}
	awaitUnschedulable(t, client, pending[0], corev1.PodReasonUnschedulable,
		"0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")
	awaitUnschedulable(t, client, pending[1], corev1.PodReasonUnschedulable,
		"0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")

	// A bound pod has the Scheduled event.
	bound := "cpu-0"
	if placed[bound] == "" {
		bound = "cpu-1"
	}
	await(t, "a Scheduled event for "+bound, func(ctx context.Context) (bool, string, error) {
		events, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + bound + ",reason=Scheduled"})
		if err != nil || len(events.Items) == 0 {
			return false, "no event", err
		}
		e := events.Items[0]
		want := fmt.Sprintf("Successfully assigned default/%s to %s", bound, placed[bound])
		return e.Type == corev1.EventTypeNormal && e.Message == want, e.Message, nil
	})

	// Freeing a cpu on a node lets the pending cpu pod in, without polling
	// by anyone but this test.
	if err := client.CoreV1().Pods("default").Delete(t.Context(), bound, forceDelete); err != nil {
		t.Fatal(err)
	}
	awaitPlacement(t, client, pending[0]+" to be bound to "+placed[bound], func(p map[string]string) bool { return p[pending[0]] == placed[bound] })

	// A pod that finishes frees its GPU.
	var gpuPod *corev1.Pod
	for _, p := range pods {
		if strings.HasPrefix(p.Name, "gpu-") && p.Name != pending[1] {
			gpuPod, _ = client.CoreV1().Pods("default").Get(t.Context(), p.Name, metav1.GetOptions{})
			break
		}
	}
	gpuPod.Status.Phase = corev1.PodSucceeded
	if _, err := client.CoreV1().Pods("default").UpdateStatus(t.Context(), gpuPod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitPlacement(t, client, pending[1]+" to be bound to gpu", func(p map[string]string) bool { return p[pending[1]] == "gpu" })
}

func TestSchedulerFiltersNodes(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithoutScheduler())
	client := fastClient(t, c)
	createNodes(t, client,
		st.MakeNode("ssd", st.NodeLabel("disk", "ssd")),
		st.MakeNode("tainted", st.Taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
		st.MakeNode("down", st.Ready(corev1.ConditionFalse)),
		st.MakeNode("cordoned", st.Cordoned))
	startScheduler(t, c, scheduler.Config{})

	createPods(t, client,
		st.MakePod("wants-ssd", st.NodeSelector("disk", "ssd")),
		st.MakePod("tolerates", st.Tolerate("dedicated", "gpu", corev1.TaintEffectNoSchedule),
			st.RequiredNodeAffinity(st.Expr(corev1.LabelHostname, corev1.NodeSelectorOpIn, "tainted"))),
		st.MakePod("nowhere", st.NodeSelector("pool", "late")),
		st.MakePod("on-down", st.NodeSelector(corev1.LabelHostname, "down")),
		st.MakePod("on-tainted", st.NodeSelector(corev1.LabelHostname, "tainted")))

	awaitPlacement(t, client, "wants-ssd and tolerates bound", func(p map[string]string) bool {
		return p["wants-ssd"] == "ssd" && p["tolerates"] == "tainted"
	})
	awaitUnschedulable(t, client, "nowhere", corev1.PodReasonUnschedulable,
		"0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable, 2 node(s) had untolerated taint(s). "+
			"preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
	// Each node rejects on-down for the first filter it fails, as upstream:
	// cordoned for being cordoned, not for its hostname.
	awaitUnschedulable(t, client, "on-down", corev1.PodReasonUnschedulable,
		"0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable, 2 node(s) had untolerated taint(s). "+
			"preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")

	// A toleration added to the pending pod lets on-tainted in.
	awaitUnschedulable(t, client, "on-tainted", corev1.PodReasonUnschedulable,
		"0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable, 2 node(s) had untolerated taint(s). "+
			"preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
	onTainted, err := client.CoreV1().Pods("default").Get(t.Context(), "on-tainted", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onTainted.Spec.Tolerations = append(onTainted.Spec.Tolerations,
		corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule})
	if _, err := client.CoreV1().Pods("default").Update(t.Context(), onTainted, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitPlacement(t, client, "on-tainted bound to tainted", func(p map[string]string) bool { return p["on-tainted"] == "tainted" })

	// The node becoming Ready lets on-down in.
	down, err := client.CoreV1().Nodes().Get(t.Context(), "down", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	down.Status.Conditions[0].Status = corev1.ConditionTrue
	if _, err := client.CoreV1().Nodes().UpdateStatus(t.Context(), down, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitPlacement(t, client, "on-down bound to down", func(p map[string]string) bool { return p["on-down"] == "down" })

	// A new node with the label lets nowhere in.
	createNodes(t, client, st.MakeNode("late", st.NodeLabel("pool", "late")))
	awaitPlacement(t, client, "nowhere bound to late", func(p map[string]string) bool { return p["nowhere"] == "late" })
}

func TestSchedulerPodAffinity(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithoutScheduler())
	client := fastClient(t, c)
	createNodes(t, client, st.MakeNode("a"), st.MakeNode("b"), st.MakeNode("c"))
	startScheduler(t, c, scheduler.Config{})

	web := func(name string) *corev1.Pod {
		return st.MakePod(name, st.PodLabel("app", "web"), st.AntiAffinity(st.PodTerm("app", "web", corev1.LabelHostname)))
	}
	createPods(t, client, web("web-0"), web("web-1"), web("web-2"), web("web-3"))
	placed := awaitPlacement(t, client, "three web pods bound", func(p map[string]string) bool { return len(p) == 4 && len(pendingPods(p)) == 1 })
	if got, want := podsPerNode(placed), map[string]int{"a": 1, "b": 1, "c": 1}; !maps.Equal(got, want) {
		t.Errorf("web pods per node = %v, want %v", got, want)
	}
	pending := pendingPods(placed)[0]
	awaitUnschedulable(t, client, pending, corev1.PodReasonUnschedulable,
		"0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")

	// A pod with affinity to web-0 joins it.
	web0 := "web-0"
	if placed[web0] == "" {
		web0 = "web-1"
	}
	createPods(t, client, st.MakePod("cache", st.PodLabel("role", "cache"), st.PodAffinity(corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		TopologyKey:   corev1.LabelHostname,
	})))
	awaitPlacement(t, client, "cache bound next to a web pod", func(p map[string]string) bool { return p["cache"] != "" })

	// Deleting a web pod lets the pending one take its node.
	if err := client.CoreV1().Pods("default").Delete(t.Context(), web0, forceDelete); err != nil {
		t.Fatal(err)
	}
	awaitPlacement(t, client, pending+" bound to "+placed[web0], func(p map[string]string) bool { return p[pending] == placed[web0] })
}

func TestSchedulerLeavesOtherPodsAlone(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithoutScheduler())
	client := fastClient(t, c)
	createNodes(t, client, st.MakeNode("a", st.Allocatable("2", "4Gi", "10")))
	// A pod placed by its author counts against the node.
	createPods(t, client, st.MakePod("placed", st.Requests("2", ""), st.OnNode("a")))
	startScheduler(t, c, scheduler.Config{})

	createPods(t, client,
		st.MakePod("other-scheduler", func(p *corev1.Pod) { p.Spec.SchedulerName = "other" }),
		st.MakePod("gated", func(p *corev1.Pod) {
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
		}),
		st.MakePod("needs-cpu", st.Requests("1", "")))

	awaitUnschedulable(t, client, "needs-cpu", corev1.PodReasonUnschedulable,
		"0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
	awaitUnschedulable(t, client, "gated", corev1.PodReasonSchedulingGated, "Scheduling is blocked due to non-empty scheduling gates")
	p, err := client.CoreV1().Pods("default").Get(t.Context(), "other-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" || len(p.Status.Conditions) != 0 {
		t.Errorf("another scheduler's pod: node %q, conditions %+v; want untouched", p.Spec.NodeName, p.Status.Conditions)
	}
}

// TestSchedulerThroughput binds 1,000 pods onto 10 nodes that have room
// for exactly 100 each, and logs bindings per second. The rate is
// measured, not asserted; that no node takes more than it has is.
func TestSchedulerThroughput(t *testing.T) {
	const nodes, perNode = 10, 100
	c := clustertest.Start(t, clustertest.WithoutScheduler())
	client := fastClient(t, c)
	for i := range nodes {
		createNodes(t, client, st.MakeNode(fmt.Sprintf("node-%02d", i), st.Allocatable("32", "64Gi", fmt.Sprint(perNode))))
	}
	var pods []*corev1.Pod
	for i := range nodes * perNode {
		pods = append(pods, st.MakePod(fmt.Sprintf("p-%04d", i), st.Requests("100m", "64Mi")))
	}
	createConcurrently(t, client, pods)

	// Count bindings as a watch sees them.
	factory := informers.NewSharedInformerFactory(client, 0)
	var mu sync.Mutex
	bound := map[string]string{}
	var last time.Time
	allBound := make(chan struct{})
	_, err := factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			p := obj.(*corev1.Pod)
			mu.Lock()
			defer mu.Unlock()
			if p.Spec.NodeName == "" || bound[p.Name] != "" {
				return
			}
			bound[p.Name], last = p.Spec.NodeName, time.Now()
			if len(bound) == len(pods) {
				close(allBound)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer factory.Shutdown()
	defer cancel()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	start := time.Now()
	startScheduler(t, c, scheduler.Config{})
	select {
	case <-allBound:
	case <-time.After(2 * timeout):
		mu.Lock()
		t.Fatalf("%d of %d pods bound after %v", len(bound), len(pods), 2*timeout)
	}
	mu.Lock()
	elapsed := last.Sub(start)
	perNodeGot := podsPerNode(bound)
	mu.Unlock()
	t.Logf("bound %d pods onto %d nodes in %v: %.0f bindings/s (from starting the scheduler, caches included)",
		len(pods), nodes, elapsed.Round(time.Millisecond), float64(len(pods))/elapsed.Seconds())
	for node, n := range perNodeGot {
		if n != perNode {
			t.Errorf("node %s has %d pods, want %d", node, n, perNode)
		}
	}
}

// createConcurrently creates pods with 32 requests in flight.
func createConcurrently(t *testing.T, client kubernetes.Interface, pods []*corev1.Pod) {
	t.Helper()
	work := make(chan *corev1.Pod)
	errs := make(chan error, len(pods))
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for p := range work {
				p = p.DeepCopy()
				p.UID = ""
				if _, err := client.CoreV1().Pods(p.Namespace).Create(t.Context(), p, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					errs <- fmt.Errorf("creating pod %s: %w", p.Name, err)
				}
			}
		})
	}
	for _, p := range pods {
		work <- p
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
