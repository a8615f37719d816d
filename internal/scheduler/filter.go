package scheduler

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Why a node cannot take a pod, worded as upstream's filter plugins word
// it; the Unschedulable condition and FailedScheduling event count them
// per node (see fitMessage).
const (
	reasonUnschedulable        = "node(s) were unschedulable"                               // NodeUnschedulable
	reasonTaint                = "node(s) had untolerated taint(s)"                         // TaintToleration (since 1.34; no keys or values, which may be sensitive)
	reasonNodeAffinity         = "node(s) didn't match Pod's node affinity/selector"        // NodeAffinity
	reasonTooManyPods          = "Too many pods"                                            // NodeResourcesFit
	reasonInsufficientFormat   = "Insufficient %s"                                          // NodeResourcesFit
	reasonAffinity             = "node(s) didn't match pod affinity rules"                  // InterPodAffinity
	reasonAntiAffinity         = "node(s) didn't match pod anti-affinity rules"             // InterPodAffinity
	reasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules" // InterPodAffinity
)

// cause is a set of kinds of rejection. A pod rejected only for some kinds
// is retried only on cluster changes that can lift them (upstream's
// queueing hints, coarsely).
type cause uint8

const (
	// causeNode: the node's spec, labels, taints or readiness; only a node
	// change helps.
	causeNode cause = 1 << iota
	// causeResources: not enough free capacity; a pod leaving helps.
	causeResources
	// causeAffinity: no pod the candidate wants to join; a pod arriving or
	// changing its labels helps.
	causeAffinity
	// causeAntiAffinity: a pod the candidate must avoid, or that must
	// avoid it; a pod leaving or changing its labels helps.
	causeAntiAffinity

	causeKinds = iota // how many kinds there are
	// causeAny is every kind: what a node appearing or changing may help.
	causeAny = causeNode | causeResources | causeAffinity | causeAntiAffinity
)

// candidate is a pending pod, parsed once for one scheduling attempt.
type candidate struct {
	pod *corev1.Pod
	// info is how the pod is accounted once assumed on a node.
	info *podInfo
	// nsLabels are the labels of the pod's namespace, which existing pods'
	// anti-affinity namespaceSelectors match against.
	nsLabels     labels.Set
	nodeSelector labels.Selector // nil: none
	// required is the pod's required node affinity; nil: none.
	required  []nodeSelectorTerm
	preferred []preferredTerm
	// affinity and antiAffinity are the pod's required inter-pod terms,
	// with namespaceSelectors folded into their namespace sets.
	affinity     []affinityTerm
	antiAffinity []affinityTerm
	preemptNever bool
}

// newCandidate parses pod. nsLabels are its namespace's labels; namespaces
// lists the namespaces a selector matches (nil: none known).
func newCandidate(pod *corev1.Pod, nsLabels labels.Set, namespaces func(labels.Selector) []string) *candidate {
	c := &candidate{
		pod:          pod,
		info:         newPodInfo(pod, ""),
		nsLabels:     nsLabels,
		preemptNever: pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever,
	}
	if len(pod.Spec.NodeSelector) > 0 {
		c.nodeSelector = labels.SelectorFromSet(pod.Spec.NodeSelector)
	}
	a := pod.Spec.Affinity
	if a == nil {
		return c
	}
	if na := a.NodeAffinity; na != nil {
		if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			c.required = make([]nodeSelectorTerm, 0, len(r.NodeSelectorTerms))
			for i := range r.NodeSelectorTerms {
				c.required = append(c.required, parseNodeSelectorTerm(&r.NodeSelectorTerms[i]))
			}
		}
		for _, p := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			if p.Weight == 0 || (len(p.Preference.MatchExpressions) == 0 && len(p.Preference.MatchFields) == 0) {
				continue
			}
			c.preferred = append(c.preferred, preferredTerm{weight: int64(p.Weight), term: parseNodeSelectorTerm(&p.Preference)})
		}
	}
	if pa := a.PodAffinity; pa != nil {
		c.affinity = resolveNamespaces(parseAffinityTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution), namespaces)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		// info keeps its own copy with the selectors, for when the pod is
		// an existing pod that later pods must keep away from.
		c.antiAffinity = resolveNamespaces(parseAffinityTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution), namespaces)
	}
	return c
}

// nodeSelectorTerm is a parsed NodeSelectorTerm: its expressions and its
// fields must all match. A term that does not parse, or is empty, matches
// no node, as upstream.
type nodeSelectorTerm struct {
	valid       bool
	expressions labels.Selector
	names       []string // matchFields on metadata.name: In (names) ...
	notNames    []string // ... and NotIn (notNames)
}

type preferredTerm struct {
	weight int64
	term   nodeSelectorTerm
}

var nodeSelectorOps = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn:           selection.In,
	corev1.NodeSelectorOpNotIn:        selection.NotIn,
	corev1.NodeSelectorOpExists:       selection.Exists,
	corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt:           selection.GreaterThan,
	corev1.NodeSelectorOpLt:           selection.LessThan,
}

func parseNodeSelectorTerm(t *corev1.NodeSelectorTerm) nodeSelectorTerm {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return nodeSelectorTerm{}
	}
	term := nodeSelectorTerm{valid: true, expressions: labels.Everything()}
	for _, e := range t.MatchExpressions {
		op, ok := nodeSelectorOps[e.Operator]
		if !ok {
			return nodeSelectorTerm{}
		}
		r, err := labels.NewRequirement(e.Key, op, e.Values)
		if err != nil {
			return nodeSelectorTerm{}
		}
		term.expressions = term.expressions.Add(*r)
	}
	for _, f := range t.MatchFields {
		if f.Key != "metadata.name" || len(f.Values) != 1 {
			return nodeSelectorTerm{}
		}
		switch f.Operator {
		case corev1.NodeSelectorOpIn:
			term.names = append(term.names, f.Values[0])
		case corev1.NodeSelectorOpNotIn:
			term.notNames = append(term.notNames, f.Values[0])
		default:
			return nodeSelectorTerm{}
		}
	}
	return term
}

func (t *nodeSelectorTerm) matches(n *nodeInfo) bool {
	if !t.valid || !t.expressions.Matches(labels.Set(n.labels)) {
		return false
	}
	for _, name := range t.names {
		if n.name != name {
			return false
		}
	}
	return !slices.Contains(t.notNames, n.name)
}

// verdict is one node's answer for a candidate.
type verdict struct {
	// reasons why the node cannot take the pod; none: it can.
	reasons []string
	// resolvable: evicting pods could make room (upstream's
	// Unschedulable, as against UnschedulableAndUnresolvable), which
	// decides the preemption part of the message.
	resolvable bool
	cause      cause
}

func (v verdict) fits() bool { return len(v.reasons) == 0 }

func reject(c cause, resolvable bool, reasons ...string) verdict {
	return verdict{reasons: reasons, resolvable: resolvable, cause: c}
}

// filter checks the candidate against one node, in upstream's filter
// plugin order, stopping at the first that rejects it: NodeUnschedulable,
// TaintToleration, NodeAffinity, NodeResourcesFit, InterPodAffinity.
func filter(c *candidate, n *nodeInfo, counts *affinityCounts) verdict {
	if n.unschedulable && !tolerated(c.pod.Spec.Tolerations, &corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}) {
		return reject(causeNode, false, reasonUnschedulable)
	}
	for i := range n.taints {
		t := &n.taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !tolerated(c.pod.Spec.Tolerations, t) {
			return reject(causeNode, false, reasonTaint)
		}
	}
	if !matchesNodeAffinity(c, n) {
		return reject(causeNode, false, reasonNodeAffinity)
	}
	if reasons := insufficient(c.info.requests, n); len(reasons) > 0 {
		return reject(causeResources, true, reasons...)
	}
	if len(c.affinity) > 0 && !satisfiesAffinity(c, n, counts) {
		return reject(causeAffinity, false, reasonAffinity)
	}
	if !satisfiesAntiAffinity(c, n, counts) {
		return reject(causeAntiAffinity, true, reasonAntiAffinity)
	}
	if !satisfiesExistingAntiAffinity(n, counts) {
		return reject(causeAntiAffinity, true, reasonExistingAntiAffinity)
	}
	return verdict{}
}

// matchesNodeAffinity: the node has the labels of spec.nodeSelector and
// matches one of the required node affinity terms.
func matchesNodeAffinity(c *candidate, n *nodeInfo) bool {
	if c.nodeSelector != nil && !c.nodeSelector.Matches(labels.Set(n.labels)) {
		return false
	}
	if c.required == nil {
		return true
	}
	for i := range c.required {
		if c.required[i].matches(n) {
			return true
		}
	}
	return false
}

// insufficient lists what the node lacks for a pod with requests req,
// given the requests of the pods already on it. Every missing resource is
// a reason of its own, as upstream reports them.
func insufficient(req resources, n *nodeInfo) []string {
	var reasons []string
	if int64(len(n.pods))+1 > n.allowedPods {
		reasons = append(reasons, reasonTooManyPods)
	}
	if req.zero() {
		return reasons
	}
	free, used := n.allocatable, n.requested
	if req.milliCPU > 0 && req.milliCPU > free.milliCPU-used.milliCPU {
		reasons = append(reasons, fmt.Sprintf(reasonInsufficientFormat, corev1.ResourceCPU))
	}
	if req.memory > 0 && req.memory > free.memory-used.memory {
		reasons = append(reasons, fmt.Sprintf(reasonInsufficientFormat, corev1.ResourceMemory))
	}
	if req.ephemeralStorage > 0 && req.ephemeralStorage > free.ephemeralStorage-used.ephemeralStorage {
		reasons = append(reasons, fmt.Sprintf(reasonInsufficientFormat, corev1.ResourceEphemeralStorage))
	}
	for _, name := range slices.Sorted(maps.Keys(req.scalar)) {
		if v := req.scalar[name]; v > 0 && v > free.scalar[name]-used.scalar[name] {
			reasons = append(reasons, fmt.Sprintf(reasonInsufficientFormat, name))
		}
	}
	return reasons
}

// tolerated reports whether one of the tolerations tolerates the taint.
func tolerated(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	return slices.ContainsFunc(tolerations, func(t corev1.Toleration) bool { return tolerates(&t, taint) })
}

// tolerates is upstream's Toleration.ToleratesTaint without the alpha
// numeric operators (Lt, Gt), which tolerate nothing while their feature
// gate is off: an empty effect or key matches any; Exists matches any
// value; Equal (or no operator) needs the same value.
func tolerates(t *corev1.Toleration, taint *corev1.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case "", corev1.TolerationOpEqual:
		return t.Value == taint.Value
	case corev1.TolerationOpExists:
		return true
	default:
		return false
	}
}
