package scheduler_test

import "github.com/batchd/batchd/internal/scheduler/schedulertest"

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
