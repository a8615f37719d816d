package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
)

// affinityTerm is a parsed required PodAffinityTerm: the pods it selects
// (by namespace and labels) and the topology key whose node label values
// define its domains.
type affinityTerm struct {
	namespaces  sets.Set[string]
	nsSelector  labels.Selector // labels.Nothing() when the term has none
	selector    labels.Selector
	topologyKey string
}

// parseAffinityTerms parses the terms of pod. A term whose selectors do not
// parse selects nothing (the API server rejects such pods anyway).
// matchLabelKeys and mismatchLabelKeys are merged into the label selector
// with the pod's own label values, as upstream's API server does on create.
func parseAffinityTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm) []affinityTerm {
	out := make([]affinityTerm, 0, len(terms))
	for i := range terms {
		t := &terms[i]
		term := affinityTerm{topologyKey: t.TopologyKey, namespaces: sets.New(t.Namespaces...)}
		if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
			term.namespaces.Insert(pod.Namespace)
		}
		var err error
		if term.selector, err = metav1.LabelSelectorAsSelector(t.LabelSelector); err != nil {
			term.selector = labels.Nothing()
		}
		term.selector = withLabelKeys(term.selector, pod.Labels, t.MatchLabelKeys, selection.In)
		term.selector = withLabelKeys(term.selector, pod.Labels, t.MismatchLabelKeys, selection.NotIn)
		if term.nsSelector, err = metav1.LabelSelectorAsSelector(t.NamespaceSelector); err != nil {
			term.nsSelector = labels.Nothing()
		}
		out = append(out, term)
	}
	return out
}

// withLabelKeys adds "key op (the pod's value)" to sel for each key the pod
// has a label for. (A nil label selector selects nothing and stays so.)
func withLabelKeys(sel labels.Selector, podLabels map[string]string, keys []string, op selection.Operator) labels.Selector {
	for _, k := range keys {
		v, ok := podLabels[k]
		if !ok {
			continue
		}
		r, err := labels.NewRequirement(k, op, []string{v})
		if err != nil {
			continue
		}
		sel = sel.Add(*r)
	}
	return sel
}

// matches reports whether the term selects pod, whose namespace has the
// labels nsLabels.
func (t *affinityTerm) matches(pod *podInfo, nsLabels labels.Set) bool {
	if t.namespaces.Has(pod.namespace) || t.nsSelector.Matches(nsLabels) {
		return t.selector.Matches(labels.Set(pod.labels))
	}
	return false
}

// resolveNamespaces folds each term's namespaceSelector into its namespace
// set, using namespaces (the names of the namespaces whose labels match a
// selector), as upstream does for the pod being scheduled. An empty
// selector keeps selecting every namespace. With namespaces nil (no
// namespace informer), a non-empty selector adds nothing.
func resolveNamespaces(terms []affinityTerm, namespaces func(labels.Selector) []string) []affinityTerm {
	for i := range terms {
		t := &terms[i]
		if reqs, ok := t.nsSelector.Requirements(); !ok || len(reqs) == 0 {
			continue // no selector (Nothing) or {} (Everything): nothing to resolve
		}
		t.namespaces = t.namespaces.Clone()
		if namespaces != nil {
			t.namespaces.Insert(namespaces(t.nsSelector)...)
		}
		t.nsSelector = labels.Nothing()
	}
	return terms
}

// topologyPair is one topology domain: a node label and its value.
type topologyPair struct{ key, value string }

// topologyCounts counts matching pods per domain.
type topologyCounts map[topologyPair]int

func (m topologyCounts) add(n *nodeInfo, key string) {
	if v, ok := n.labels[key]; ok {
		m[topologyPair{key, v}]++
	}
}

// affinityCounts is what the inter-pod affinity filter needs to know about
// the cluster for one candidate, computed once per decision (upstream's
// InterPodAffinity PreFilter).
type affinityCounts struct {
	// existingAnti: domains holding a pod with a required anti-affinity
	// term that selects the candidate.
	existingAnti topologyCounts
	// affinity: domains holding pods that match every one of the
	// candidate's required affinity terms.
	affinity topologyCounts
	// anti: domains holding pods that match one of the candidate's
	// required anti-affinity terms.
	anti topologyCounts
}

func countAffinity(c *candidate, nodes []*nodeInfo) affinityCounts {
	counts := affinityCounts{existingAnti: topologyCounts{}, affinity: topologyCounts{}, anti: topologyCounts{}}
	incoming := len(c.affinity) > 0 || len(c.antiAffinity) > 0
	for _, n := range nodes {
		if !incoming && n.withAntiAffinity == 0 {
			continue
		}
		for _, p := range n.pods {
			for i := range p.antiAffinity {
				if t := &p.antiAffinity[i]; t.matches(c.info, c.nsLabels) {
					counts.existingAnti.add(n, t.topologyKey)
				}
			}
			if len(c.affinity) > 0 && matchesAll(c.affinity, p) {
				for i := range c.affinity {
					counts.affinity.add(n, c.affinity[i].topologyKey)
				}
			}
			for i := range c.antiAffinity {
				if t := &c.antiAffinity[i]; t.matches(p, nil) {
					counts.anti.add(n, t.topologyKey)
				}
			}
		}
	}
	return counts
}

// matchesAll reports whether every one of the (namespace-resolved) terms
// selects p.
func matchesAll(terms []affinityTerm, p *podInfo) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matches(p, nil) {
			return false
		}
	}
	return true
}

// satisfiesAffinity: the node is in a domain, for every required affinity
// term, that holds pods matching all terms. The first pod of a group whose
// terms select itself may go anywhere the topology labels exist, when no
// pod in the cluster matches yet.
func satisfiesAffinity(c *candidate, n *nodeInfo, counts *affinityCounts) bool {
	podsExist := true
	for i := range c.affinity {
		t := &c.affinity[i]
		v, ok := n.labels[t.topologyKey]
		if !ok {
			return false
		}
		if counts.affinity[topologyPair{t.topologyKey, v}] <= 0 {
			podsExist = false
		}
	}
	if podsExist {
		return true
	}
	return len(counts.affinity) == 0 && matchesAll(c.affinity, c.info)
}

// satisfiesAntiAffinity: no domain of the node holds a pod that one of the
// candidate's required anti-affinity terms selects.
func satisfiesAntiAffinity(c *candidate, n *nodeInfo, counts *affinityCounts) bool {
	if len(counts.anti) == 0 {
		return true
	}
	for i := range c.antiAffinity {
		t := &c.antiAffinity[i]
		if v, ok := n.labels[t.topologyKey]; ok && counts.anti[topologyPair{t.topologyKey, v}] > 0 {
			return false
		}
	}
	return true
}

// satisfiesExistingAntiAffinity: no pod whose anti-affinity selects the
// candidate shares a domain with the node.
func satisfiesExistingAntiAffinity(n *nodeInfo, counts *affinityCounts) bool {
	if len(counts.existingAnti) == 0 {
		return true
	}
	for k, v := range n.labels {
		if counts.existingAnti[topologyPair{k, v}] > 0 {
			return false
		}
	}
	return true
}
