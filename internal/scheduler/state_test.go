package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStateAccounting(t *testing.T) {
	s := cluster([]*corev1.Node{makeNode("a", allocatable("2", "4Gi", "10"))})
	c := newCandidate(makePod("p", requests("2", "")), nil, nil)
	if d := s.schedule(c, LeastAllocated); d.node != "a" {
		t.Fatalf("first pod: %+v, want node a", d)
	}
	if !s.known("p") {
		t.Errorf("assumed pod not known")
	}
	q := newCandidate(makePod("q", requests("1", "")), nil, nil)
	if d := s.schedule(q, LeastAllocated); d.node != "" {
		t.Fatalf("second pod went to %s while the first is assumed on the full node", d.node)
	}

	s.forget("p") // binding refused
	if d := s.schedule(q, LeastAllocated); d.node != "a" {
		t.Fatalf("after forgetting the first pod, second: %+v, want node a", d)
	}

	// The informer shows q bound: the assumption becomes a binding, which
	// forget no longer undoes.
	s.setPod(makePod("q", requests("1", ""), onNode("a")))
	s.forget("q")
	if got := s.nodes["a"].requested.milliCPU; got != 1000 {
		t.Errorf("requested cpu after the binding was seen = %d, want 1000", got)
	}

	// A deleted node keeps its pods' accounting until they go.
	s.removeNode("a")
	if len(s.nodeInfos()) != 0 {
		t.Errorf("deleted node is still a candidate")
	}
	s.setNode(makeNode("a", allocatable("2", "4Gi", "10")))
	if got := s.nodes["a"].requested.milliCPU; got != 1000 {
		t.Errorf("requested cpu after the node came back = %d, want 1000", got)
	}
	s.removePod("q")
	if got := s.nodes["a"].requested; !got.zero() || len(s.nodes["a"].pods) != 0 {
		t.Errorf("after the pod went: requested %+v, %d pods", got, len(s.nodes["a"].pods))
	}
}

// TestStateNeverOvercommits schedules random pods onto random nodes, with
// refused bindings, confirmations and deletions mixed in, and checks after
// every step that no node is given more than it has and that each node's
// sums match its pods.
func TestStateNeverOvercommits(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 1))
			var nodes []*corev1.Node
			for i := range 1 + r.IntN(5) {
				nodes = append(nodes, makeNode(fmt.Sprint("n", i),
					allocatable(fmt.Sprint(1+r.IntN(8)), fmt.Sprint(1+r.IntN(8), "Gi"), fmt.Sprint(1+r.IntN(10))),
					extended("nvidia.com/gpu", fmt.Sprint(r.IntN(3)))))
			}
			s := cluster(nodes)
			var placed []*corev1.Pod
			for i := range 200 {
				switch op := r.IntN(10); {
				case op < 6 || len(placed) == 0:
					p := makePod(fmt.Sprint("p", i), requests(fmt.Sprint(r.IntN(2000), "m"), fmt.Sprint(r.IntN(2048), "Mi")))
					if r.IntN(4) == 0 {
						requestsExtended("nvidia.com/gpu", fmt.Sprint(1+r.IntN(2)))(p)
					}
					if d := s.schedule(newCandidate(p, nil, nil), []Strategy{LeastAllocated, MostAllocated}[r.IntN(2)]); d.node != "" {
						p.Spec.NodeName = d.node
						placed = append(placed, p)
					}
				case op < 7:
					k := r.IntN(len(placed))
					s.forget(placed[k].UID)
					placed = append(placed[:k], placed[k+1:]...)
				case op < 9:
					s.setPod(placed[r.IntN(len(placed))])
				default:
					k := r.IntN(len(placed))
					s.removePod(placed[k].UID)
					placed = append(placed[:k], placed[k+1:]...)
				}
				checkAccounting(t, s)
			}
		})
	}
}

func checkAccounting(t *testing.T, s *state) {
	t.Helper()
	for _, n := range s.nodes {
		var sum resources
		for _, p := range n.pods {
			sum.plus(p.requests)
		}
		if diff := cmp.Diff(sum, n.requested, cmp.AllowUnexported(resources{}), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("node %s: requested is not the sum of its pods (-sum +requested):\n%s", n.name, diff)
		}
		if n.node == nil {
			continue
		}
		a := n.allocatable
		if sum.milliCPU > a.milliCPU || sum.memory > a.memory || int64(len(n.pods)) > n.allowedPods ||
			sum.scalar["nvidia.com/gpu"] > a.scalar["nvidia.com/gpu"] {
			t.Fatalf("node %s overcommitted: %d pods requesting %+v, allocatable %+v and %d pods", n.name, len(n.pods), sum, a, n.allowedPods)
		}
	}
	for uid, p := range s.pods {
		if _, ok := s.nodes[p.node].pods[uid]; !ok {
			t.Fatalf("pod %s is not on its node %s", uid, p.node)
		}
	}
}

func TestSchedulingChanged(t *testing.T) {
	base := makeNode("n")
	tests := []struct {
		name   string
		change func(*corev1.Node)
		want   bool
	}{
		{name: "heartbeat only", change: func(n *corev1.Node) {
			n.Status.Conditions[0].LastHeartbeatTime = metav1.Now()
			n.ResourceVersion = "2"
		}},
		{name: "label", change: nodeLabel("disk", "ssd"), want: true},
		{name: "taint", change: taint("a", "b", corev1.TaintEffectNoSchedule), want: true},
		{name: "cordoned", change: cordoned, want: true},
		{name: "allocatable", change: allocatable("8", "8Gi", "110"), want: true},
		{name: "readiness", change: ready(corev1.ConditionFalse), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := base.DeepCopy()
			tt.change(n)
			if got := schedulingChanged(base, n); got != tt.want {
				t.Errorf("schedulingChanged() = %v, want %v", got, tt.want)
			}
		})
	}
}
