package scheduler

import (
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Requests the scoring functions assume for a container that requests no cpu
// or memory, so that spreading still sees best-effort pods: upstream's
// DefaultMilliCPURequest and DefaultMemoryRequest. They never count for
// fitting.
const (
	defaultMilliCPURequest = 100               // 0.1 core
	defaultMemoryRequest   = 200 * 1024 * 1024 // 200 MiB
)

// resources is an amount of each resource the scheduler accounts for: cpu
// in millicores, memory and ephemeral storage in bytes, and scalar
// resources (extended resources such as nvidia.com/gpu, hugepages) in
// units. The number of pods is accounted separately.
type resources struct {
	milliCPU         int64
	memory           int64
	ephemeralStorage int64
	scalar           map[corev1.ResourceName]int64
}

// resourcesOf converts a ResourceList, ignoring resources the scheduler
// does not account for (pods, and unqualified names it does not know).
func resourcesOf(list corev1.ResourceList) resources {
	var r resources
	r.add(list)
	return r
}

func (r *resources) add(list corev1.ResourceList) {
	for name, q := range list {
		switch name {
		case corev1.ResourceCPU:
			r.milliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.ephemeralStorage += q.Value()
		default:
			if isScalar(name) {
				r.addScalar(name, q.Value())
			}
		}
	}
}

func (r *resources) addScalar(name corev1.ResourceName, v int64) {
	if r.scalar == nil {
		r.scalar = map[corev1.ResourceName]int64{}
	}
	r.scalar[name] += v
}

// plus adds o to r.
func (r *resources) plus(o resources) {
	r.milliCPU += o.milliCPU
	r.memory += o.memory
	r.ephemeralStorage += o.ephemeralStorage
	for name, v := range o.scalar {
		r.addScalar(name, v)
	}
}

// minus takes o from r; what pods add to a node they take away again.
func (r *resources) minus(o resources) {
	r.milliCPU -= o.milliCPU
	r.memory -= o.memory
	r.ephemeralStorage -= o.ephemeralStorage
	for name, v := range o.scalar {
		r.scalar[name] -= v
		if r.scalar[name] == 0 {
			delete(r.scalar, name)
		}
	}
}

// atLeast raises each of r's amounts to o's where o's is larger.
func (r *resources) atLeast(o resources) {
	r.milliCPU = max(r.milliCPU, o.milliCPU)
	r.memory = max(r.memory, o.memory)
	r.ephemeralStorage = max(r.ephemeralStorage, o.ephemeralStorage)
	for name, v := range o.scalar {
		if v > r.scalar[name] {
			if r.scalar == nil {
				r.scalar = map[corev1.ResourceName]int64{}
			}
			r.scalar[name] = v
		}
	}
}

func (r resources) clone() resources {
	r.scalar = maps.Clone(r.scalar)
	return r
}

// zero reports whether r requests nothing at all.
func (r resources) zero() bool {
	return r.milliCPU == 0 && r.memory == 0 && r.ephemeralStorage == 0 && len(r.scalar) == 0
}

// podRequests is what a pod needs from a node, by upstream's rule
// (resourcehelper.PodRequests): regular containers and sidecars (init
// containers with restartPolicy Always) run together and add up; ordinary
// init containers run one at a time, each next to the sidecars started
// before it, so the pod needs the largest of those sums if it exceeds the
// steady state. Pod-level requests (spec.resources) replace the container
// sum for cpu and memory; spec.overhead is added on top.
//
// With nonZero, a container that requests no cpu or memory counts as
// requesting upstream's defaults (100m, 200Mi): the amounts scoring uses.
func podRequests(pod *corev1.Pod, nonZero bool) resources {
	var podLevel corev1.ResourceList
	if pod.Spec.Resources != nil {
		podLevel = pod.Spec.Resources.Requests
	}
	containerReqs := func(c *corev1.Container) resources {
		r := resourcesOf(c.Resources.Requests)
		if !nonZero {
			return r
		}
		if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok && podLevel.Cpu().IsZero() {
			r.milliCPU = defaultMilliCPURequest
		}
		if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok && podLevel.Memory().IsZero() {
			r.memory = defaultMemoryRequest
		}
		return r
	}

	var reqs resources
	for i := range pod.Spec.Containers {
		reqs.plus(containerReqs(&pod.Spec.Containers[i]))
	}
	var sidecars, initMax resources
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := containerReqs(c)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			reqs.plus(r)
			sidecars.plus(r)
			r = sidecars.clone()
		} else {
			r.plus(sidecars)
		}
		initMax.atLeast(r)
	}
	reqs.atLeast(initMax)

	if q, ok := podLevel[corev1.ResourceCPU]; ok {
		reqs.milliCPU = q.MilliValue()
	}
	if q, ok := podLevel[corev1.ResourceMemory]; ok {
		reqs.memory = q.Value()
	}
	reqs.add(pod.Spec.Overhead)
	return reqs
}

// isScalar reports whether the scheduler accounts for a resource as a plain
// count: extended resources, hugepages and attachable volumes, as
// upstream's IsScalarResourceName.
func isScalar(name corev1.ResourceName) bool {
	s := string(name)
	return isExtended(name) ||
		strings.HasPrefix(s, corev1.ResourceHugePagesPrefix) ||
		strings.HasPrefix(s, corev1.ResourceAttachableVolumesPrefix)
}

// isExtended reports whether name is an extended resource: qualified with a
// domain outside kubernetes.io, such as nvidia.com/gpu.
func isExtended(name corev1.ResourceName) bool {
	s := string(name)
	if !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix) ||
		strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+s)) == 0
}
