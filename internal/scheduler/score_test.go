package scheduler

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestPick(t *testing.T) {
	tests := []struct {
		name     string
		nodes    []*corev1.Node
		pods     []*corev1.Pod
		pod      *corev1.Pod
		strategy Strategy
		want     string
	}{
		{
			name:     "LeastAllocated prefers the emptier node",
			nodes:    []*corev1.Node{makeNode("a"), makeNode("b")},
			pods:     []*corev1.Pod{makePod("x", requests("3", "1Gi"), onNode("a"))},
			pod:      makePod("p", requests("500m", "")),
			strategy: LeastAllocated,
			want:     "b",
		},
		{
			name:     "MostAllocated prefers the fuller node",
			nodes:    []*corev1.Node{makeNode("a"), makeNode("b")},
			pods:     []*corev1.Pod{makePod("x", requests("3", "1Gi"), onNode("a"))},
			pod:      makePod("p", requests("500m", "")),
			strategy: MostAllocated,
			want:     "a",
		},
		{
			name:     "best-effort pods count with the default requests",
			nodes:    []*corev1.Node{makeNode("a"), makeNode("b")},
			pods:     []*corev1.Pod{makePod("x", onNode("a")), makePod("y", onNode("a"))},
			pod:      makePod("p"),
			strategy: LeastAllocated,
			want:     "b",
		},
		{
			name:     "ties go to the first node by name",
			nodes:    []*corev1.Node{makeNode("c"), makeNode("b"), makeNode("a")},
			pod:      makePod("p"),
			strategy: LeastAllocated,
			want:     "a",
		},
		{
			name:     "preferred node affinity outweighs spreading",
			nodes:    []*corev1.Node{makeNode("a"), makeNode("b", nodeLabel("disk", "ssd"))},
			pods:     []*corev1.Pod{makePod("x", requests("2", "4Gi"), onNode("b"))},
			pod:      makePod("p", preferredNodeAffinity(1, expr("disk", corev1.NodeSelectorOpIn, "ssd"))),
			strategy: LeastAllocated,
			want:     "b",
		},
		{
			name:  "the heavier preferred term wins",
			nodes: []*corev1.Node{makeNode("a", nodeLabel("zone", "z1")), makeNode("b", nodeLabel("disk", "ssd"))},
			pod: makePod("p",
				preferredNodeAffinity(10, expr("zone", corev1.NodeSelectorOpIn, "z1")),
				preferredNodeAffinity(50, expr("disk", corev1.NodeSelectorOpExists))),
			strategy: LeastAllocated,
			want:     "b",
		},
		{
			name:     "an untolerated PreferNoSchedule taint is avoided",
			nodes:    []*corev1.Node{makeNode("a", taint("spot", "", corev1.TaintEffectPreferNoSchedule)), makeNode("b")},
			pods:     []*corev1.Pod{makePod("x", requests("3", "6Gi"), onNode("b"))},
			pod:      makePod("p"),
			strategy: LeastAllocated,
			want:     "b",
		},
		{
			name:     "a tolerated PreferNoSchedule taint is not",
			nodes:    []*corev1.Node{makeNode("a", taint("spot", "", corev1.TaintEffectPreferNoSchedule)), makeNode("b")},
			pods:     []*corev1.Pod{makePod("x", requests("3", "6Gi"), onNode("b"))},
			pod:      makePod("p", tolerate("spot", "", corev1.TaintEffectPreferNoSchedule)),
			strategy: LeastAllocated,
			want:     "a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCandidate(tt.pod, nil, nil)
			got := pick(c, cluster(tt.nodes, tt.pods...).nodeInfos(), tt.strategy)
			if got.name != tt.want {
				t.Errorf("pick() = %s, want %s", got.name, tt.want)
			}
		})
	}
}

// TestScheduleSequence places identical pods one after another, each
// assumed where it went, as concurrent workers do.
func TestScheduleSequence(t *testing.T) {
	tests := []struct {
		name     string
		strategy Strategy
		pods     int
		want     map[string]int
	}{
		{name: "LeastAllocated spreads evenly", strategy: LeastAllocated, pods: 6, want: map[string]int{"a": 2, "b": 2, "c": 2}},
		{name: "MostAllocated fills one node first", strategy: MostAllocated, pods: 6, want: map[string]int{"a": 4, "b": 2}},
		{name: "no node takes more than it has", strategy: MostAllocated, pods: 13, want: map[string]int{"a": 4, "b": 4, "c": 4, "": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cluster([]*corev1.Node{
				makeNode("a", allocatable("4", "8Gi", "10")),
				makeNode("b", allocatable("4", "8Gi", "10")),
				makeNode("c", allocatable("4", "8Gi", "10")),
			})
			got := map[string]int{}
			for i := range tt.pods {
				d := s.schedule(newCandidate(makePod(fmt.Sprint("p", i), requests("1", "1Gi")), nil, nil), tt.strategy)
				got[d.node]++
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pods per node mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
