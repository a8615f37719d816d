package scheduler

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestDecide(t *testing.T) {
	many := func(n int, prefix string, opts ...nodeOption) []*corev1.Node {
		var nodes []*corev1.Node
		for i := range n {
			nodes = append(nodes, makeNode(fmt.Sprintf("%s-%02d", prefix, i), opts...))
		}
		return nodes
	}
	tests := []struct {
		name  string
		nodes []*corev1.Node
		pods  []*corev1.Pod
		pod   *corev1.Pod
		want  decision
	}{
		{
			name: "no nodes at all",
			pod:  makePod("p"),
			want: decision{message: "no nodes available to schedule pods", cause: causeNode},
		},
		{
			name:  "the pod goes to the node that fits",
			nodes: []*corev1.Node{makeNode("a", nodeLabel("disk", "hdd")), makeNode("b", nodeLabel("disk", "ssd"))},
			pod:   makePod("p", nodeSelector("disk", "ssd")),
			want:  decision{node: "b"},
		},
		{
			name: "reasons are counted per node, sorted, with the preemption part",
			nodes: []*corev1.Node{
				makeNode("a", allocatable("1", "1Gi", "10"), nodeLabel("pool", "batch")),
				makeNode("b", nodeLabel("pool", "web")),
				makeNode("c", nodeLabel("pool", "web")),
			},
			pod: makePod("p", requests("2", ""), nodeSelector("pool", "batch")),
			want: decision{
				message: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. " +
					"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
				cause: causeNode | causeResources,
			},
		},
		{
			name:  "every missing resource of a node is a reason",
			nodes: []*corev1.Node{makeNode("a", allocatable("1", "1Gi", "10"))},
			pod:   makePod("p", requests("2", "2Gi")),
			want: decision{
				message: "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. " +
					"preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
				cause: causeResources,
			},
		},
		{
			name:  "preemptionPolicy Never",
			nodes: []*corev1.Node{makeNode("a", allocatable("1", "1Gi", "10"))},
			pod:   makePod("p", requests("2", ""), preemptNever),
			want: decision{
				message: "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
				cause:   causeResources,
			},
		},
		{
			name: "counts sort as strings, as upstream's",
			nodes: append(many(10, "t", taint("dedicated", "x", corev1.TaintEffectNoSchedule)),
				many(2, "u", cordoned)...),
			pod: makePod("p"),
			want: decision{
				message: "0/12 nodes are available: 10 node(s) had untolerated taint(s), 2 node(s) were unschedulable. " +
					"preemption: 0/12 nodes are available: 12 Preemption is not helpful for scheduling.",
				cause: causeNode,
			},
		},
		{
			name: "not ready and unreachable nodes, named by their taint",
			nodes: []*corev1.Node{
				makeNode("a", ready(corev1.ConditionFalse)),
				makeNode("b", ready(corev1.ConditionUnknown)),
				makeNode("c", func(n *corev1.Node) { n.Status.Conditions = nil }),
			},
			pod: makePod("p"),
			want: decision{
				message: "0/3 nodes are available: 3 node(s) had untolerated taint(s). " +
					"preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
				cause: causeNode,
			},
		},
		{
			name:  "required anti-affinity by hostname: one pod per node",
			nodes: []*corev1.Node{makeNode("a"), makeNode("b")},
			pods: []*corev1.Pod{
				makePod("w1", podLabel("app", "web"), onNode("a"), antiAffinity(podTerm("app", "web", corev1.LabelHostname))),
				makePod("w2", podLabel("app", "web"), onNode("b"), antiAffinity(podTerm("app", "web", corev1.LabelHostname))),
			},
			pod: makePod("w3", podLabel("app", "web"), antiAffinity(podTerm("app", "web", corev1.LabelHostname))),
			want: decision{
				message: "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. " +
					"preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
				cause: causeAntiAffinity,
			},
		},
		{
			name:  "pod affinity follows the pod it wants to join",
			nodes: []*corev1.Node{makeNode("a"), makeNode("b"), makeNode("c")},
			pods:  []*corev1.Pod{makePod("db", podLabel("app", "db"), onNode("b"))},
			pod:   makePod("p", podAffinity(podTerm("app", "db", corev1.LabelHostname))),
			want:  decision{node: "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCandidate(tt.pod, nil, nil)
			got := decide(c, cluster(tt.nodes, tt.pods...).nodeInfos(), LeastAllocated)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(decision{})); diff != "" {
				t.Errorf("decide() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	long := make([]byte, 2000)
	for i := range long {
		long[i] = 'x'
	}
	got := truncate(string(long))
	if len(got) != maxEventMessage || got[len(got)-4:] != " ..." {
		t.Errorf("truncate(2000 bytes) = %d bytes ending %q, want %d ending \" ...\"", len(got), got[len(got)-4:], maxEventMessage)
	}
	if got := truncate("short"); got != "short" {
		t.Errorf("truncate(%q) = %q", "short", got)
	}
}
