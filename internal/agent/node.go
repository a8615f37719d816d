package agent

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/version"
)

// nodeStatusInterval is how often the Node's status (heartbeat) is
// written; liveness between writes is the Lease's job, as upstream.
const nodeStatusInterval = time.Minute

// msgNotWatchingPods is the Ready=False message until the agent's pod cache
// has synced.
const msgNotWatchingPods = "batchd agent is starting: its pods are not watched yet"

// DefaultMaxPods is kubelet's default --max-pods: how many pods the Node
// offers the scheduler (Config.MaxPods).
const DefaultMaxPods = 110

// registerNode creates the Node or takes over an existing one of the same
// name, and writes its status. An API server that does not answer yet, or
// fails, is retried until ctx ends, as kubelet's registerWithAPIServer
// does: agents on other machines may start before their server.
func (a *Agent) registerNode(ctx context.Context) error {
	delay := registerRetryMin
	for {
		err := a.tryRegisterNode(ctx)
		if err == nil || ctx.Err() != nil || !retryRegistration(err) {
			return err
		}
		a.log.Warn("Unable to register node with API server, retrying", "err", err, "delay", delay)
		t := a.clock.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C():
		}
		delay = min(2*delay, registerRetryMax)
	}
}

// Registration retries back off from registerRetryMin to kubelet's 7 s.
const (
	registerRetryMin = 100 * time.Millisecond
	registerRetryMax = 7 * time.Second
)

// retryRegistration tells a failed registration worth retrying: the API
// server is not there yet, is overloaded or failed, or another writer
// got in first. As kubelet, the agent waits for its server; unlike
// kubelet, it gives up on what retrying cannot change (a token or node
// name the server refuses), so that a misconfigured agent says so at once.
func retryRegistration(err error) bool {
	return !apierrors.IsUnauthorized(err) && !apierrors.IsForbidden(err) &&
		!apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err)
}

func (a *Agent) tryRegisterNode(ctx context.Context) error {
	a.nodeMu.Lock()
	defer a.nodeMu.Unlock()
	if err := a.createOrUpdateNode(ctx); err != nil {
		return err
	}
	a.registered = true
	return nil
}

func (a *Agent) createOrUpdateNode(ctx context.Context) error {
	nodes := a.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, a.node, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		node, err = nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: a.node, Labels: a.nodeLabels(nil)}}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("agent: registering node %s: %w", a.node, err)
		}
	case err != nil:
		return fmt.Errorf("agent: reading node %s: %w", a.node, err)
	default:
		node.Labels = a.nodeLabels(node.Labels)
		if node, err = nodes.Update(ctx, node, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("agent: updating node %s: %w", a.node, err)
		}
	}
	return a.writeNodeStatus(ctx, node)
}

func (a *Agent) nodeLabels(l map[string]string) map[string]string {
	if l == nil {
		l = map[string]string{}
	}
	l[corev1.LabelHostname] = a.node
	l[corev1.LabelOSStable] = runtime.GOOS
	l[corev1.LabelArchStable] = runtime.GOARCH
	return l
}

func (a *Agent) runNodeStatus(ctx context.Context) error {
	t := a.clock.NewTicker(nodeStatusInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
		if err := a.updateNodeStatus(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("Updating node status", "err", err)
		}
	}
}

// updateNodeStatus writes the Node's status, once registered.
func (a *Agent) updateNodeStatus(ctx context.Context) error {
	a.nodeMu.Lock()
	defer a.nodeMu.Unlock()
	if !a.registered {
		return nil // registerNode writes it
	}
	node, err := a.client.CoreV1().Nodes().Get(ctx, a.node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	return a.writeNodeStatus(ctx, node)
}

// podsSynced is called once the pod cache has synced: the Node turns
// Ready.
func (a *Agent) podsSynced(ctx context.Context) {
	a.podsWatched.Store(true)
	if err := a.updateNodeStatus(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("Updating node status", "err", err)
	}
}

func (a *Agent) writeNodeStatus(ctx context.Context, node *corev1.Node) error {
	now := metav1.NewTime(a.clock.Now())
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(memTotal(), resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(int64(a.cfg.MaxPods), resource.DecimalSI),
	}
	st := &node.Status
	st.Capacity = capacity
	st.Allocatable = capacity.DeepCopy()
	st.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: a.hostIP}, {Type: corev1.NodeHostName, Address: a.node}}
	st.DaemonEndpoints.KubeletEndpoint.Port = int32(a.port())
	st.NodeInfo = corev1.NodeSystemInfo{
		OperatingSystem:         runtime.GOOS,
		Architecture:            runtime.GOARCH,
		KubeletVersion:          version.Version(),
		KubeProxyVersion:        "",
		ContainerRuntimeVersion: "hostproc://" + version.Version(),
		KernelVersion:           kernelVersion(),
		OSImage:                 osImage(),
		MachineID:               strings.TrimSpace(readFile("/etc/machine-id")),
		BootID:                  strings.TrimSpace(readFile("/proc/sys/kernel/random/boot_id")),
	}
	msg := "batchd agent is posting ready status"
	if cr, ok := a.rt.(podruntime.CapabilityReporter); ok {
		if w := cr.Capabilities().Warnings; len(w) > 0 {
			msg += ". Not enforced: " + strings.Join(w, " ")
		}
	}
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	if !a.podsWatched.Load() {
		// Kubelet's reason while it is not ready yet.
		ready.Status, ready.Reason, ready.Message = corev1.ConditionFalse, "KubeletNotReady", msgNotWatchingPods
	}
	conds := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		ready,
	}
	for i := range conds {
		c := &conds[i]
		c.LastHeartbeatTime = now
		c.LastTransitionTime = now
		for _, old := range st.Conditions {
			if old.Type == c.Type && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	st.Conditions = conds
	_, err := a.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("agent: writing node status: %w", err)
	}
	return nil
}

func (a *Agent) port() int {
	if a.listenPort != 0 {
		return a.listenPort
	}
	_, p, err := net.SplitHostPort(a.cfg.ListenAddress)
	if err != nil {
		return 10250
	}
	n, _ := strconv.Atoi(p)
	return n
}

// hostIP is the node's InternalIP: the source address of the default
// route, else the first global unicast address, else 127.0.0.1. Pods use
// the host network, so it is also every pod's IP.
func hostIP() string {
	if c, err := net.Dial("udp", "192.0.2.1:9"); err == nil { // no packet is sent
		defer c.Close()
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok && !a.IP.IsLoopback() {
			return a.IP.String()
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, ad := range addrs {
			if n, ok := ad.(*net.IPNet); ok && n.IP.IsGlobalUnicast() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
			fs := strings.Fields(rest)
			if len(fs) > 0 {
				kb, _ := strconv.ParseInt(fs[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func kernelVersion() string { return strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")) }

func osImage() string {
	for _, line := range strings.Split(readFile("/etc/os-release"), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}
