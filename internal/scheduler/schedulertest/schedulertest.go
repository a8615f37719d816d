package schedulertest

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Builders for the nodes and pods of the tests. A node is Ready with 4
// cpus, 8Gi of memory and room for 110 pods unless told otherwise; a pod
// has one container requesting nothing.

type NodeOption func(*corev1.Node)

func MakeNode(name string, opts ...NodeOption) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{
			Capacity:    List("4", "8Gi", "110"),
			Allocatable: List("4", "8Gi", "110"),
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}},
		},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func List(cpu, memory, pods string) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(memory),
		corev1.ResourcePods:   resource.MustParse(pods),
	}
}

func Allocatable(cpu, memory, pods string) NodeOption {
	return func(n *corev1.Node) {
		n.Status.Allocatable, n.Status.Capacity = List(cpu, memory, pods), List(cpu, memory, pods)
	}
}

func Extended(name corev1.ResourceName, q string) NodeOption {
	return func(n *corev1.Node) {
		n.Status.Allocatable[name] = resource.MustParse(q)
		n.Status.Capacity[name] = resource.MustParse(q)
	}
}

func NodeLabel(k, v string) NodeOption {
	return func(n *corev1.Node) { n.Labels[k] = v }
}

func Taint(key, value string, effect corev1.TaintEffect) NodeOption {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func Cordoned(n *corev1.Node) { n.Spec.Unschedulable = true }

func Ready(status corev1.ConditionStatus) NodeOption {
	return func(n *corev1.Node) { n.Status.Conditions[0].Status = status }
}

type PodOption func(*corev1.Pod)

func MakePod(name string, opts ...PodOption) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name), Labels: map[string]string{}},
		Spec: corev1.PodSpec{
			Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
			RestartPolicy: corev1.RestartPolicyNever,
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func Requests(cpu, memory string) PodOption {
	return func(p *corev1.Pod) {
		r := corev1.ResourceList{}
		if cpu != "" {
			r[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if memory != "" {
			r[corev1.ResourceMemory] = resource.MustParse(memory)
		}
		p.Spec.Containers[0].Resources.Requests = r
	}
}

func RequestsExtended(name corev1.ResourceName, q string) PodOption {
	return func(p *corev1.Pod) {
		if p.Spec.Containers[0].Resources.Requests == nil {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{}
		}
		p.Spec.Containers[0].Resources.Requests[name] = resource.MustParse(q)
	}
}

func PodLabel(k, v string) PodOption {
	return func(p *corev1.Pod) { p.Labels[k] = v }
}

func InNamespace(ns string) PodOption {
	return func(p *corev1.Pod) { p.Namespace = ns }
}

func OnNode(name string) PodOption {
	return func(p *corev1.Pod) { p.Spec.NodeName = name }
}

func NodeSelector(k, v string) PodOption {
	return func(p *corev1.Pod) {
		if p.Spec.NodeSelector == nil {
			p.Spec.NodeSelector = map[string]string{}
		}
		p.Spec.NodeSelector[k] = v
	}
}

func Tolerate(key, value string, effect corev1.TaintEffect) PodOption {
	return func(p *corev1.Pod) {
		op := corev1.TolerationOpEqual
		if value == "" {
			op = corev1.TolerationOpExists
		}
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: op, Value: value, Effect: effect})
	}
}

func Affinity(p *corev1.Pod) *corev1.Affinity {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &corev1.Affinity{}
	}
	return p.Spec.Affinity
}

func RequiredNodeAffinity(terms ...corev1.NodeSelectorTerm) PodOption {
	return func(p *corev1.Pod) {
		a := Affinity(p)
		if a.NodeAffinity == nil {
			a.NodeAffinity = &corev1.NodeAffinity{}
		}
		a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: terms}
	}
}

func PreferredNodeAffinity(weight int32, term corev1.NodeSelectorTerm) PodOption {
	return func(p *corev1.Pod) {
		a := Affinity(p)
		if a.NodeAffinity == nil {
			a.NodeAffinity = &corev1.NodeAffinity{}
		}
		a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
			corev1.PreferredSchedulingTerm{Weight: weight, Preference: term})
	}
}

func Expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

// PodTerm selects pods labelled k=v, in the pod's own namespace, by
// topology key.
func PodTerm(k, v, topologyKey string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{k: v}},
		TopologyKey:   topologyKey,
	}
}

func AntiAffinity(terms ...corev1.PodAffinityTerm) PodOption {
	return func(p *corev1.Pod) {
		Affinity(p).PodAntiAffinity = &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}
	}
}

func PodAffinity(terms ...corev1.PodAffinityTerm) PodOption {
	return func(p *corev1.Pod) {
		Affinity(p).PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}
	}
}

func PreemptNever(p *corev1.Pod) { p.Spec.PreemptionPolicy = ptr.To(corev1.PreemptNever) }
