package scheduler

import (
	"fmt"
	"sort"
	"strings"
)

// Messages of the PodScheduled=False condition and FailedScheduling event,
// as upstream's scheduler (schedule_one.go, FitError.Error, and the
// DefaultPreemption plugin) writes them.
const (
	// msgNoNodes is upstream's ErrNoNodesAvailable.
	msgNoNodes = "no nodes available to schedule pods"
	// msgNodesAvailableFormat starts every FitError message.
	msgNodesAvailableFormat = "0/%d nodes are available:"
	// msgPreemptionPrefix starts what the preemption plugin adds.
	msgPreemptionPrefix = "preemption: "
	// msgPreemptNever is the preemption part for pods with
	// preemptionPolicy Never.
	msgPreemptNever = "not eligible due to preemptionPolicy=Never."
	// Preemption reasons per node: a node that rejected the pod for
	// something evicting pods cannot fix, and one where it could but
	// batchd found no victims (batchd never preempts).
	reasonPreemptionNotHelpful = "Preemption is not helpful for scheduling"
	reasonNoVictims            = "No preemption victims found for incoming pod"
)

// decision is where a pod goes, or why it goes nowhere.
type decision struct {
	// node is the chosen node; empty when none fits.
	node string
	// message explains why no node fits, in upstream's format.
	message string
	// cause is every kind of rejection seen, to know which cluster
	// changes may help.
	cause cause
}

// decide chooses a node for c among nodes (those with a Node object, in
// name order), or explains why there is none. It reads only its arguments.
func decide(c *candidate, nodes []*nodeInfo, strategy Strategy) decision {
	if len(nodes) == 0 {
		return decision{message: msgNoNodes, cause: causeNode}
	}
	counts := countAffinity(c, nodes)
	var fit []*nodeInfo
	var d decision
	reasons := map[string]int{}
	preemption := map[string]int{}
	for _, n := range nodes {
		v := filter(c, n, &counts)
		if v.fits() {
			fit = append(fit, n)
			continue
		}
		d.cause |= v.cause
		for _, r := range v.reasons {
			reasons[r]++
		}
		if v.resolvable {
			preemption[reasonNoVictims]++
		} else {
			preemption[reasonPreemptionNotHelpful]++
		}
	}
	if len(fit) > 0 {
		return decision{node: pick(c, fit, strategy).name}
	}
	post := msgPreemptionPrefix + msgPreemptNever
	if !c.preemptNever {
		post = msgPreemptionPrefix + fitMessage(len(nodes), preemption)
	}
	d.message = fitMessage(len(nodes), reasons) + " " + post
	return d
}

// fitMessage is upstream's FitError.Error without its post-filter part:
// "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match
// Pod's node affinity/selector." Each reason is counted once per node
// rejecting for it; the "count reason" strings are sorted as strings, as
// upstream sorts them ("10 x" before "2 y").
func fitMessage(numNodes int, reasons map[string]int) string {
	histogram := make([]string, 0, len(reasons))
	for r, n := range reasons {
		histogram = append(histogram, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(histogram)
	msg := fmt.Sprintf(msgNodesAvailableFormat, numNodes)
	if len(histogram) > 0 {
		msg += " " + strings.Join(histogram, ", ") + "."
	}
	return msg
}
