// Package scheduler binds pending pods to nodes, as upstream's
// kube-scheduler does with its default plugins, through the pods/binding
// subresource. A pod is pending when it has no spec.nodeName, is not being
// deleted or finished, and names no scheduler or "default-scheduler".
//
// Filtering follows upstream's plugins, in their order, and a node is
// rejected for the first that fails:
//
//   - NodeUnschedulable: spec.unschedulable, unless the pod tolerates the
//     node.kubernetes.io/unschedulable:NoSchedule taint.
//   - TaintToleration: NoSchedule and NoExecute taints. A node whose Ready
//     condition is not True counts as tainted node.kubernetes.io/not-ready
//     (False) or node.kubernetes.io/unreachable (Unknown, missing) with
//     NoSchedule, as upstream's node lifecycle controller would taint it;
//     so "Ready nodes only" holds unless a pod tolerates those taints.
//   - NodeAffinity: spec.nodeSelector and required node affinity
//     (matchExpressions with In, NotIn, Exists, DoesNotExist, Gt, Lt;
//     matchFields on metadata.name).
//   - NodeResourcesFit: requests (upstream's rule for init containers and
//     sidecars, pod-level requests, overhead) of cpu, memory,
//     ephemeral-storage, extended resources such as nvidia.com/gpu and
//     hugepages against allocatable minus the requests of the node's
//     unfinished pods, and the pod count against allocatable pods.
//   - InterPodAffinity: required pod affinity and anti-affinity by topology
//     key, including existing pods' anti-affinity against the new pod, with
//     namespaces, namespaceSelector, matchLabelKeys and mismatchLabelKeys.
//
// Scoring picks among the nodes that fit by the weighted sum of upstream's
// default scores for the same plugins: NodeResourcesFit (weight 1, cpu and
// memory, with 100m and 200Mi counted for containers that request none),
// preferred node affinity (2) and PreferNoSchedule taints (3). The resource
// score spreads by default (LeastAllocated, upstream's default: each pod
// goes to the machine with the most unrequested cpu and memory, so a Job's
// parallel pods run side by side on a few machines); MostAllocated packs
// instead. Ties go to the first node by name.
//
// A pod no node fits gets upstream's condition and event: PodScheduled
// False with reason Unschedulable, and a Warning FailedScheduling event,
// with the message "0/3 nodes are available: 1 Insufficient cpu, 2
// node(s) didn't match Pod's node affinity/selector. preemption: 0/3
// nodes are available: 1 No preemption victims found for incoming pod, 2
// Preemption is not helpful for scheduling." batchd never preempts; the
// preemption part is what upstream says when it finds no victims, which
// is always its outcome among pods of equal priority (upstream 1.34+ also
// writes "no new claims to deallocate, " before it, from dynamic resource
// allocation, which batchd does not have). The pod then waits, without
// polling, until a change that may help: a node added or changed in labels,
// taints, cordoning, allocatable or readiness; a bound pod finishing or
// going (resources, anti-affinity); a pod arriving or changing labels
// (affinity); the pod's own spec or labels changing. Retries keep
// upstream's backoff (1s doubling to 10s since the last attempt), and a
// pod waiting 5 minutes is retried anyway. Pods with scheduling gates are
// not scheduled and get PodScheduled False, reason SchedulingGated.
//
// Decisions are made one at a time against the scheduler's own view of the
// cluster (state), in which the chosen node is charged at once ("assumed")
// before the binding is sent; bindings then run concurrently on Workers
// goroutines. So concurrent bindings never overcommit a node, and the
// assumption is dropped if the API server refuses the binding. A binding
// that conflicts (the pod was bound, deleted or replaced meanwhile) is not
// retried; other failures are, with backoff and a FailedScheduling event.
// A bound pod gets a Normal Scheduled event, "Successfully assigned ns/pod
// to node".
//
// Deciding is pure: decide takes a parsed pod (candidate) and the nodes
// with their pods, and returns the node or the message; Scheduler.sync
// reads the informer caches; bind.go and events.go do every write.
//
// The pod informer must show bound pods as well as pending ones (see
// Config.Pods): one informer sees a pod go from pending to bound as an
// update, so the accounting never loses it in between. Log keys beyond
// the house vocabulary: "reason" (why no node fits), "workers",
// "strategy".
//
// Not here: preemption, pod topology spread constraints, preferred
// inter-pod affinity, balanced-allocation and image-locality scores,
// volume and host port filters, and scheduler profiles. The scheduler
// talks to the API server only through client-go; running pods is the
// agent's work, and the node lifecycle (taints, evictions) is not this
// package's either.
package scheduler
