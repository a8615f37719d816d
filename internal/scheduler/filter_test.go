package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestFilter checks one candidate against one node (and, for inter-pod
// affinity, the pods on it and on a second node "other" in zone b).
func TestFilter(t *testing.T) {
	const zone = "topology.kubernetes.io/zone"
	tests := []struct {
		name  string
		node  *corev1.Node
		pods  []*corev1.Pod // bound to "n" unless they name a node
		pod   *corev1.Pod
		want  verdict
		other bool // add node "other" in zone b
	}{
		{
			name: "an empty ready node takes a pod",
			node: makeNode("n"),
			pod:  makePod("p"),
		},
		{
			name: "cordoned node",
			node: makeNode("n", cordoned),
			pod:  makePod("p"),
			want: reject(causeNode, false, reasonUnschedulable),
		},
		{
			name: "cordoned node, pod tolerates the unschedulable taint",
			node: makeNode("n", cordoned),
			pod:  makePod("p", tolerate(corev1.TaintNodeUnschedulable, "", corev1.TaintEffectNoSchedule)),
		},
		{
			name: "NoSchedule taint not tolerated",
			node: makeNode("n", taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			pod:  makePod("p"),
			want: reject(causeNode, false, reasonTaint),
		},
		{
			name: "NoExecute taint not tolerated",
			node: makeNode("n", taint("dedicated", "gpu", corev1.TaintEffectNoExecute)),
			pod:  makePod("p", tolerate("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			want: reject(causeNode, false, reasonTaint),
		},
		{
			name: "taint tolerated by key and value",
			node: makeNode("n", taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			pod:  makePod("p", tolerate("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
		},
		{
			name: "taint with another value is not tolerated",
			node: makeNode("n", taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			pod:  makePod("p", tolerate("dedicated", "cpu", corev1.TaintEffectNoSchedule)),
			want: reject(causeNode, false, reasonTaint),
		},
		{
			name: "Exists toleration without key or effect tolerates everything",
			node: makeNode("n", taint("a", "1", corev1.TaintEffectNoSchedule), taint("b", "", corev1.TaintEffectNoExecute)),
			pod:  makePod("p", tolerate("", "", "")),
		},
		{
			name: "PreferNoSchedule taints do not filter",
			node: makeNode("n", taint("a", "1", corev1.TaintEffectPreferNoSchedule)),
			pod:  makePod("p"),
		},
		{
			name: "not ready node is tainted not-ready",
			node: makeNode("n", ready(corev1.ConditionFalse)),
			pod:  makePod("p", tolerate(corev1.TaintNodeNotReady, "", corev1.TaintEffectNoExecute)), // the default toleration
			want: reject(causeNode, false, reasonTaint),
		},
		{
			name: "unknown readiness is tainted unreachable",
			node: makeNode("n", ready(corev1.ConditionUnknown)),
			pod:  makePod("p", tolerate(corev1.TaintNodeNotReady, "", corev1.TaintEffectNoSchedule)),
			want: reject(causeNode, false, reasonTaint),
		},
		{
			name: "a pod tolerating not-ready may go to a not ready node",
			node: makeNode("n", ready(corev1.ConditionFalse)),
			pod:  makePod("p", tolerate(corev1.TaintNodeNotReady, "", corev1.TaintEffectNoSchedule)),
		},
		{
			name: "nodeSelector matches",
			node: makeNode("n", nodeLabel("disk", "ssd")),
			pod:  makePod("p", nodeSelector("disk", "ssd")),
		},
		{
			name: "nodeSelector does not match",
			node: makeNode("n", nodeLabel("disk", "hdd")),
			pod:  makePod("p", nodeSelector("disk", "ssd")),
			want: reject(causeNode, false, reasonNodeAffinity),
		},
		{
			name: "required node affinity: one of the terms matches",
			node: makeNode("n", nodeLabel("gen", "5")),
			pod:  makePod("p", requiredNodeAffinity(expr("gen", corev1.NodeSelectorOpIn, "3"), expr("gen", corev1.NodeSelectorOpGt, "4"))),
		},
		{
			name: "required node affinity: no term matches",
			node: makeNode("n", nodeLabel("gen", "5")),
			pod:  makePod("p", requiredNodeAffinity(expr("gen", corev1.NodeSelectorOpLt, "4"), expr("gen", corev1.NodeSelectorOpDoesNotExist))),
			want: reject(causeNode, false, reasonNodeAffinity),
		},
		{
			name: "required node affinity by metadata.name",
			node: makeNode("n"),
			pod: makePod("p", requiredNodeAffinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
				{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"elsewhere"}}}})),
			want: reject(causeNode, false, reasonNodeAffinity),
		},
		{
			name: "an empty node selector term matches no node",
			node: makeNode("n"),
			pod:  makePod("p", requiredNodeAffinity(corev1.NodeSelectorTerm{})),
			want: reject(causeNode, false, reasonNodeAffinity),
		},
		{
			name: "requests fit what is left",
			node: makeNode("n", allocatable("2", "4Gi", "10")),
			pods: []*corev1.Pod{makePod("a", requests("1", "2Gi"))},
			pod:  makePod("p", requests("1", "2Gi")),
		},
		{
			name: "cpu and memory both short: one reason each",
			node: makeNode("n", allocatable("2", "4Gi", "10")),
			pods: []*corev1.Pod{makePod("a", requests("1500m", "3Gi"))},
			pod:  makePod("p", requests("1", "2Gi")),
			want: reject(causeResources, true, "Insufficient cpu", "Insufficient memory"),
		},
		{
			name: "pod count",
			node: makeNode("n", allocatable("2", "4Gi", "1")),
			pods: []*corev1.Pod{makePod("a")},
			pod:  makePod("p"),
			want: reject(causeResources, true, reasonTooManyPods),
		},
		{
			name: "extended resource missing from the node",
			node: makeNode("n"),
			pod:  makePod("p", requestsExtended("nvidia.com/gpu", "1")),
			want: reject(causeResources, true, "Insufficient nvidia.com/gpu"),
		},
		{
			name: "extended resource used up",
			node: makeNode("n", extended("nvidia.com/gpu", "2")),
			pods: []*corev1.Pod{makePod("a", requestsExtended("nvidia.com/gpu", "2"))},
			pod:  makePod("p", requestsExtended("nvidia.com/gpu", "1")),
			want: reject(causeResources, true, "Insufficient nvidia.com/gpu"),
		},
		{
			name: "the first failing filter is the only reason",
			node: makeNode("n", allocatable("1", "1Gi", "10"), nodeLabel("disk", "hdd")),
			pod:  makePod("p", requests("2", ""), nodeSelector("disk", "ssd")),
			want: reject(causeNode, false, reasonNodeAffinity),
		},
		{
			name: "anti-affinity: a matching pod on the node",
			node: makeNode("n"),
			pods: []*corev1.Pod{makePod("a", podLabel("app", "web"))},
			pod:  makePod("p", podLabel("app", "web"), antiAffinity(podTerm("app", "web", corev1.LabelHostname))),
			want: reject(causeAntiAffinity, true, reasonAntiAffinity),
		},
		{
			name: "anti-affinity: matching pods in another namespace do not count",
			node: makeNode("n"),
			pods: []*corev1.Pod{makePod("a", podLabel("app", "web"), inNamespace("other"))},
			pod:  makePod("p", antiAffinity(podTerm("app", "web", corev1.LabelHostname))),
		},
		{
			name: "anti-affinity: namespaceSelector {} reaches every namespace",
			node: makeNode("n"),
			pods: []*corev1.Pod{makePod("a", podLabel("app", "web"), inNamespace("other"))},
			pod: makePod("p", antiAffinity(corev1.PodAffinityTerm{
				LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				NamespaceSelector: &metav1.LabelSelector{},
				TopologyKey:       corev1.LabelHostname,
			})),
			want: reject(causeAntiAffinity, true, reasonAntiAffinity),
		},
		{
			name:  "anti-affinity by zone: a matching pod on another node in the zone",
			node:  makeNode("n", nodeLabel(zone, "a")),
			pods:  []*corev1.Pod{makePod("a", podLabel("app", "web"), onNode("twin"))},
			pod:   makePod("p", antiAffinity(podTerm("app", "web", zone))),
			want:  reject(causeAntiAffinity, true, reasonAntiAffinity),
			other: true,
		},
		{
			name:  "anti-affinity by zone: the matching pod is in another zone",
			node:  makeNode("n", nodeLabel(zone, "a")),
			pods:  []*corev1.Pod{makePod("a", podLabel("app", "web"), onNode("other"))},
			pod:   makePod("p", antiAffinity(podTerm("app", "web", zone))),
			other: true,
		},
		{
			name: "anti-affinity: a node without the topology label is not in any domain",
			node: makeNode("n"),
			pods: []*corev1.Pod{makePod("a", podLabel("app", "web"))},
			pod:  makePod("p", antiAffinity(podTerm("app", "web", zone))),
		},
		{
			name: "anti-affinity with matchLabelKeys: only pods with the same value",
			node: makeNode("n"),
			pods: []*corev1.Pod{makePod("a", podLabel("app", "web"), podLabel("job", "2"))},
			pod: makePod("p", podLabel("job", "1"), antiAffinity(func() corev1.PodAffinityTerm {
				t := podTerm("app", "web", corev1.LabelHostname)
				t.MatchLabelKeys = []string{"job"}
				return t
			}())),
		},
		{
			name: "anti-affinity with mismatchLabelKeys: only pods with another value",
			node: makeNode("n"),
			pods: []*corev1.Pod{makePod("a", podLabel("app", "web"), podLabel("job", "2"))},
			pod: makePod("p", podLabel("job", "1"), antiAffinity(func() corev1.PodAffinityTerm {
				t := podTerm("app", "web", corev1.LabelHostname)
				t.MismatchLabelKeys = []string{"job"}
				return t
			}())),
			want: reject(causeAntiAffinity, true, reasonAntiAffinity),
		},
		{
			name: "existing pod's anti-affinity keeps the candidate away",
			node: makeNode("n"),
			pods: []*corev1.Pod{makePod("a", antiAffinity(podTerm("app", "web", corev1.LabelHostname)))},
			pod:  makePod("p", podLabel("app", "web")),
			want: reject(causeAntiAffinity, true, reasonExistingAntiAffinity),
		},
		{
			name: "affinity: a matching pod on the node",
			node: makeNode("n"),
			pods: []*corev1.Pod{makePod("a", podLabel("app", "db"))},
			pod:  makePod("p", podAffinity(podTerm("app", "db", corev1.LabelHostname))),
		},
		{
			name:  "affinity: matching pods only elsewhere",
			node:  makeNode("n"),
			pods:  []*corev1.Pod{makePod("a", podLabel("app", "db"), onNode("other"))},
			pod:   makePod("p", podAffinity(podTerm("app", "db", corev1.LabelHostname))),
			want:  reject(causeAffinity, false, reasonAffinity),
			other: true,
		},
		{
			name: "affinity: the first pod of a group that selects itself",
			node: makeNode("n"),
			pod:  makePod("p", podLabel("app", "db"), podAffinity(podTerm("app", "db", corev1.LabelHostname))),
		},
		{
			name: "affinity: no matching pod anywhere, and the pod does not match itself",
			node: makeNode("n"),
			pod:  makePod("p", podAffinity(podTerm("app", "db", corev1.LabelHostname))),
			want: reject(causeAffinity, false, reasonAffinity),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := []*corev1.Node{tt.node}
			if tt.other {
				nodes = append(nodes, makeNode("other", nodeLabel(zone, "b")))
				if tt.node.Labels[zone] != "" {
					nodes = append(nodes, makeNode("twin", nodeLabel(zone, tt.node.Labels[zone])))
				}
			}
			var pods []*corev1.Pod
			for _, p := range tt.pods {
				if p.Spec.NodeName == "" {
					p.Spec.NodeName = tt.node.Name
				}
				pods = append(pods, p)
			}
			infos := cluster(nodes, pods...).nodeInfos()
			c := newCandidate(tt.pod, nil, func(labels.Selector) []string { return nil })
			counts := countAffinity(c, infos)
			got := filter(c, infos[0], &counts)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(verdict{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("filter() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFilterNamespaceSelector checks inter-pod terms whose namespaces come
// from a namespaceSelector: the candidate's through the namespace list,
// existing pods' through the labels of the candidate's namespace.
func TestFilterNamespaceSelector(t *testing.T) {
	nsLabels := map[string]labels.Set{"prod-a": {"env": "prod"}, "prod-b": {"env": "prod"}, "dev": {"env": "dev"}}
	namespaces := func(sel labels.Selector) []string {
		var out []string
		for ns, l := range nsLabels {
			if sel.Matches(l) {
				out = append(out, ns)
			}
		}
		return out
	}
	prodTerm := corev1.PodAffinityTerm{
		LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
		TopologyKey:       corev1.LabelHostname,
	}
	tests := []struct {
		name     string
		existing *corev1.Pod
		pod      *corev1.Pod
		want     verdict
	}{
		{
			name:     "candidate's selector reaches a matching namespace",
			existing: makePod("a", podLabel("app", "web"), inNamespace("prod-b")),
			pod:      makePod("p", inNamespace("prod-a"), antiAffinity(prodTerm)),
			want:     reject(causeAntiAffinity, true, reasonAntiAffinity),
		},
		{
			name:     "candidate's selector does not reach other namespaces",
			existing: makePod("a", podLabel("app", "web"), inNamespace("dev")),
			pod:      makePod("p", inNamespace("prod-a"), antiAffinity(prodTerm)),
		},
		{
			name:     "existing pod's selector matches the candidate's namespace",
			existing: makePod("a", inNamespace("prod-b"), antiAffinity(prodTerm)),
			pod:      makePod("p", podLabel("app", "web"), inNamespace("prod-a")),
			want:     reject(causeAntiAffinity, true, reasonExistingAntiAffinity),
		},
		{
			name:     "existing pod's selector does not match the candidate's namespace",
			existing: makePod("a", inNamespace("prod-b"), antiAffinity(prodTerm)),
			pod:      makePod("p", podLabel("app", "web"), inNamespace("dev")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.existing.Spec.NodeName = "n"
			infos := cluster([]*corev1.Node{makeNode("n")}, tt.existing).nodeInfos()
			c := newCandidate(tt.pod, nsLabels[tt.pod.Namespace], namespaces)
			counts := countAffinity(c, infos)
			got := filter(c, infos[0], &counts)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(verdict{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("filter() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
