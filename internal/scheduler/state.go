package scheduler

import (
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// nodeInfo is one node as the scheduler sees it: what it offers and what
// the pods bound or assumed to it take.
type nodeInfo struct {
	name string
	// node is nil while only pods name the node (the node informer has
	// not seen it yet, or it was deleted under them); such a node is
	// never a candidate.
	node   *corev1.Node
	labels map[string]string
	// taints are the node's NoSchedule/NoExecute/PreferNoSchedule taints,
	// plus the not-ready or unreachable taint upstream's node lifecycle
	// controller would add for the node's Ready condition.
	taints        []corev1.Taint
	unschedulable bool
	allocatable   resources
	allowedPods   int64
	// requested sums the requests of the node's pods; nonZero the same
	// with upstream's defaults for pods that request no cpu or memory.
	requested resources
	nonZero   resources
	pods      map[types.UID]*podInfo
	// withAntiAffinity counts the pods with required anti-affinity terms,
	// so that most decisions skip looking at every pod.
	withAntiAffinity int
}

// podInfo is a pod bound, or assumed to be bound, to a node.
type podInfo struct {
	uid       types.UID
	namespace string
	name      string
	labels    map[string]string
	node      string
	requests  resources
	nonZero   resources
	// antiAffinity are the pod's required anti-affinity terms, which keep
	// matching pods out of its topology domains.
	antiAffinity []affinityTerm
	// assumed: the scheduler chose the node and the informer has not yet
	// shown the binding.
	assumed bool
}

func newPodInfo(pod *corev1.Pod, node string) *podInfo {
	p := &podInfo{
		uid:       pod.UID,
		namespace: pod.Namespace,
		name:      pod.Name,
		labels:    pod.Labels,
		node:      node,
		requests:  podRequests(pod, false),
		nonZero:   podRequests(pod, true),
	}
	if a := pod.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		p.antiAffinity = parseAffinityTerms(pod, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
	}
	return p
}

// newNodeInfo builds the view of node with no pods on it.
func newNodeInfo(node *corev1.Node) *nodeInfo {
	n := &nodeInfo{name: node.Name, pods: map[types.UID]*podInfo{}}
	n.setNode(node)
	return n
}

func (n *nodeInfo) setNode(node *corev1.Node) {
	n.node = node
	n.labels = node.Labels
	n.unschedulable = node.Spec.Unschedulable
	n.allocatable = resourcesOf(node.Status.Allocatable)
	n.allowedPods = node.Status.Allocatable.Pods().Value()
	n.taints = effectiveTaints(node)
}

func (n *nodeInfo) addPod(p *podInfo) {
	n.pods[p.uid] = p
	n.requested.plus(p.requests)
	n.nonZero.plus(p.nonZero)
	if len(p.antiAffinity) > 0 {
		n.withAntiAffinity++
	}
}

func (n *nodeInfo) removePod(p *podInfo) {
	if _, ok := n.pods[p.uid]; !ok {
		return
	}
	delete(n.pods, p.uid)
	n.requested.minus(p.requests)
	n.nonZero.minus(p.nonZero)
	if len(p.antiAffinity) > 0 {
		n.withAntiAffinity--
	}
}

// effectiveTaints returns the node's taints and, unless the node already
// carries it, the NoSchedule taint upstream's node lifecycle controller
// puts on a node whose Ready condition is False (not-ready) or Unknown or
// missing (unreachable). Checking readiness as a taint means a pod that
// tolerates it may still land on the node, as upstream.
func effectiveTaints(node *corev1.Node) []corev1.Taint {
	key := ""
	switch readyStatus(node) {
	case corev1.ConditionTrue:
	case corev1.ConditionFalse:
		key = corev1.TaintNodeNotReady
	default:
		key = corev1.TaintNodeUnreachable
	}
	if key == "" || slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool {
		return t.Key == key && t.Effect == corev1.TaintEffectNoSchedule
	}) {
		return node.Spec.Taints
	}
	taints := slices.Clone(node.Spec.Taints)
	return append(taints, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
}

func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// state is the cluster as the scheduler sees it: the nodes, and the pods
// bound or assumed to each. Informer handlers keep it current; workers
// decide against it and record their choices in it (assume) before the
// binding reaches the API server, so that concurrent decisions never give
// the same free capacity twice.
type state struct {
	mu    sync.Mutex
	nodes map[string]*nodeInfo
	// sorted are the nodes with a Node object, by name; nil when it must
	// be rebuilt.
	sorted []*nodeInfo
	pods   map[types.UID]*podInfo
}

func newState() *state {
	return &state{nodes: map[string]*nodeInfo{}, pods: map[types.UID]*podInfo{}}
}

// setNode adds or replaces a node.
func (s *state) setNode(node *corev1.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[node.Name]
	if !ok {
		s.nodes[node.Name] = newNodeInfo(node)
		s.sorted = nil
		return
	}
	if n.node == nil {
		s.sorted = nil
	}
	n.setNode(node)
}

// removeNode forgets a node; pods still bound to it keep their accounting
// until they go, in case the node comes back.
func (s *state) removeNode(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[name]
	if !ok {
		return
	}
	s.sorted = nil
	if len(n.pods) == 0 {
		delete(s.nodes, name)
		return
	}
	n.node, n.labels, n.taints = nil, nil, nil
}

// setPod records a pod the informer shows bound to a node, replacing what
// was known or assumed of it.
func (s *state) setPod(pod *corev1.Pod) {
	p := newPodInfo(pod, pod.Spec.NodeName)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(pod.UID)
	s.addLocked(p)
}

// removePod forgets a pod that is gone or finished.
func (s *state) removePod(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(uid)
}

// forget undoes assume after a failed binding; a pod the informer has
// meanwhile shown bound stays.
func (s *state) forget(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pods[uid]; ok && p.assumed {
		s.removeLocked(uid)
	}
}

// known reports whether the pod is bound or assumed: a worker that sees
// such a pod still unassigned in its lister is looking at a stale cache.
func (s *state) known(uid types.UID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.pods[uid]
	return ok
}

// schedule decides where c goes and, if somewhere, assumes it there, in
// one step under the lock.
func (s *state) schedule(c *candidate, strategy Strategy) decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := decide(c, s.candidatesLocked(), strategy)
	if d.node != "" {
		p := *c.info
		p.node, p.assumed = d.node, true
		s.addLocked(&p)
	}
	return d
}

func (s *state) candidatesLocked() []*nodeInfo {
	if s.sorted == nil {
		s.sorted = make([]*nodeInfo, 0, len(s.nodes))
		for _, n := range s.nodes {
			if n.node != nil {
				s.sorted = append(s.sorted, n)
			}
		}
		slices.SortFunc(s.sorted, func(a, b *nodeInfo) int { return strings.Compare(a.name, b.name) })
	}
	return s.sorted
}

func (s *state) addLocked(p *podInfo) {
	n, ok := s.nodes[p.node]
	if !ok {
		n = &nodeInfo{name: p.node, pods: map[types.UID]*podInfo{}}
		s.nodes[p.node] = n
	}
	n.addPod(p)
	s.pods[p.uid] = p
}

func (s *state) removeLocked(uid types.UID) {
	p, ok := s.pods[uid]
	if !ok {
		return
	}
	delete(s.pods, uid)
	n := s.nodes[p.node]
	n.removePod(p)
	if n.node == nil && len(n.pods) == 0 {
		delete(s.nodes, n.name)
	}
}
