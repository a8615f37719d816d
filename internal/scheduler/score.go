package scheduler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Strategy is how the scheduler ranks the nodes a pod fits on by their
// cpu and memory; the names are upstream's NodeResourcesFit scoring
// strategies.
type Strategy string

const (
	// LeastAllocated spreads: it prefers the node with the largest share
	// of its allocatable cpu and memory still unrequested. It is the
	// default, as upstream, and suits batchd's usual cluster of a few
	// machines: every pod gets the most idle machine, so parallel pods of
	// a Job run side by side instead of queueing on one host.
	LeastAllocated Strategy = "LeastAllocated"
	// MostAllocated packs: it prefers the node whose cpu and memory are
	// already the most requested, keeping other machines idle (to power
	// down, or to keep whole for pods with large requests such as GPUs).
	MostAllocated Strategy = "MostAllocated"
)

// Weights of the scores, upstream's defaults for the same plugins
// (NodeResourcesFit 1, NodeAffinity 2, TaintToleration 3). Each score is
// from 0 to maxScore before weighting.
const (
	maxScore              = 100.0
	weightResources       = 1
	weightNodeAffinity    = 2
	weightTaintToleration = 3
)

func (s Strategy) validate() error {
	switch s {
	case LeastAllocated, MostAllocated:
		return nil
	default:
		return fmt.Errorf("unknown strategy %q (want %s or %s)", s, LeastAllocated, MostAllocated)
	}
}

// pick returns the best of the nodes the candidate fits on (at least one):
// the highest weighted sum of the resource score for the strategy, the
// preferred node affinity score and the PreferNoSchedule taint score.
// Scores are not rounded to integers as upstream's are, so that small pods
// on large nodes still spread; ties go to the first node by name, which
// keeps decisions reproducible (upstream picks at random).
func pick(c *candidate, nodes []*nodeInfo, strategy Strategy) *nodeInfo {
	affinity := make([]float64, len(nodes))
	taints := make([]float64, len(nodes))
	var maxAffinity, maxTaints float64
	for i, n := range nodes {
		affinity[i] = preferredAffinity(c, n)
		taints[i] = intolerablePreferNoSchedule(c, n)
		maxAffinity, maxTaints = max(maxAffinity, affinity[i]), max(maxTaints, taints[i])
	}
	var best *nodeInfo
	bestScore := -1.0
	for i, n := range nodes {
		score := weightResources * resourceScore(c.info.nonZero, n, strategy)
		if maxAffinity > 0 {
			score += weightNodeAffinity * maxScore * affinity[i] / maxAffinity
		}
		if maxTaints > 0 {
			score += weightTaintToleration * maxScore * (1 - taints[i]/maxTaints)
		} else {
			score += weightTaintToleration * maxScore
		}
		if score > bestScore {
			best, bestScore = n, score
		}
	}
	return best
}

// resourceScore rates the node's cpu and memory, equally weighted, after
// adding req (requests with upstream's non-zero defaults) to what its
// pods request.
func resourceScore(req resources, n *nodeInfo, strategy Strategy) float64 {
	cpu := share(n.nonZero.milliCPU+req.milliCPU, n.allocatable.milliCPU, strategy)
	mem := share(n.nonZero.memory+req.memory, n.allocatable.memory, strategy)
	return (cpu + mem) / 2
}

// share is LeastAllocated's (allocatable-requested)/allocatable or
// MostAllocated's requested/allocatable, from 0 to maxScore.
func share(requested, allocatable int64, strategy Strategy) float64 {
	if allocatable <= 0 {
		return 0
	}
	used := min(float64(requested)/float64(allocatable), 1)
	if strategy == MostAllocated {
		return maxScore * used
	}
	return maxScore * (1 - used)
}

// preferredAffinity sums the weights of the candidate's preferred node
// affinity terms the node matches.
func preferredAffinity(c *candidate, n *nodeInfo) float64 {
	var sum int64
	for i := range c.preferred {
		if c.preferred[i].term.matches(n) {
			sum += c.preferred[i].weight
		}
	}
	return float64(sum)
}

// intolerablePreferNoSchedule counts the node's PreferNoSchedule taints
// the candidate does not tolerate.
func intolerablePreferNoSchedule(c *candidate, n *nodeInfo) float64 {
	count := 0
	for i := range n.taints {
		if t := &n.taints[i]; t.Effect == corev1.TaintEffectPreferNoSchedule && !tolerated(c.pod.Spec.Tolerations, t) {
			count++
		}
	}
	return float64(count)
}
