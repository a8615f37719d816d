package scheduler

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/batchd/batchd/internal/scheduler/schedulertest"
)

// Short names for the builders of package schedulertest.
var (
	makeNode              = schedulertest.MakeNode
	list                  = schedulertest.List
	allocatable           = schedulertest.Allocatable
	extended              = schedulertest.Extended
	nodeLabel             = schedulertest.NodeLabel
	taint                 = schedulertest.Taint
	cordoned              = schedulertest.Cordoned
	ready                 = schedulertest.Ready
	makePod               = schedulertest.MakePod
	requests              = schedulertest.Requests
	requestsExtended      = schedulertest.RequestsExtended
	podLabel              = schedulertest.PodLabel
	inNamespace           = schedulertest.InNamespace
	onNode                = schedulertest.OnNode
	nodeSelector          = schedulertest.NodeSelector
	tolerate              = schedulertest.Tolerate
	requiredNodeAffinity  = schedulertest.RequiredNodeAffinity
	preferredNodeAffinity = schedulertest.PreferredNodeAffinity
	expr                  = schedulertest.Expr
	podTerm               = schedulertest.PodTerm
	antiAffinity          = schedulertest.AntiAffinity
	podAffinity           = schedulertest.PodAffinity
	preemptNever          = schedulertest.PreemptNever
)

type (
	nodeOption = schedulertest.NodeOption
	podOption  = schedulertest.PodOption
)

// cluster is the scheduler's view of nodes with the pods bound to them.
func cluster(nodes []*corev1.Node, pods ...*corev1.Pod) *state {
	s := newState()
	for _, n := range nodes {
		s.setNode(n)
	}
	for _, p := range pods {
		s.setPod(p)
	}
	return s
}

// nodeInfos is what decide gets from the view.
func (s *state) nodeInfos() []*nodeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.candidatesLocked()
}
