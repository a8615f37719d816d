package core

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/registry"
)

// Values upstream's admission plugins set on every new pod.
const (
	defaultServiceAccountName = "default"
	defaultTolerationSeconds  = int64(300)
	taintNodeNotReady         = corev1.TaintNodeNotReady
	taintNodeUnreachable      = corev1.TaintNodeUnreachable
)

func podResource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: groupVersion,
		Name:         "pods",
		Kind:         "Pod",
		SingularName: "pod",
		ShortNames:   []string{"po"},
		Categories:   []string{"all"},
		Namespaced:   true,
		NewFunc:      func() runtime.Object { return &corev1.Pod{} },
		NewListFunc:  func() runtime.Object { return &corev1.PodList{} },
		Strategy: &podStrategy{MainStrategy: registry.MainStrategy{
			HasStatus: true,
			Defaults:  func(obj runtime.Object) { DefaultPodSpec(&obj.(*corev1.Pod).Spec) },
			OnCreate:  preparePodForCreate,
			Check: func(obj runtime.Object) field.ErrorList {
				return ValidatePodSpec(&obj.(*corev1.Pod).Spec, field.NewPath("spec"))
			},
			CheckUpdate: validatePodUpdate,
		}},
		Subresources: map[string]registry.Strategy{
			"status":  &registry.StatusStrategy{},
			"binding": podBindingStrategy{},
		},
		Fields:              podFields,
		FieldLabels:         []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
		ReturnDeletedObject: true,
	}
}

func podFields(obj runtime.Object) fields.Set {
	pod := obj.(*corev1.Pod)
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             pod.Status.PodIP,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}

type podStrategy struct {
	registry.MainStrategy
}

// GracePeriod implements registry.GracefulDeleter with upstream's rules: a
// pod not yet bound to a node, or already finished, goes at once; otherwise
// the agent gets the requested or the pod's grace period to stop it.
func (podStrategy) GracePeriod(obj runtime.Object, requested *int64) int64 {
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	grace := defaultTerminationGracePeriodSeconds
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if requested != nil {
		grace = *requested
	}
	if grace < 0 {
		grace = 1
	}
	return grace
}

// podBindingStrategy serves pods/binding: the only spec change allowed is
// setting spec.nodeName, which the API layer does on a pod that has none.
type podBindingStrategy struct{}

func (podBindingStrategy) PrepareForCreate(runtime.Object)         {}
func (podBindingStrategy) Validate(runtime.Object) field.ErrorList { return nil }
func (podBindingStrategy) PrepareForUpdate(obj, old runtime.Object) {
	pod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	nodeName, conditions := pod.Spec.NodeName, pod.Status.Conditions
	*pod = *oldPod.DeepCopy()
	pod.Spec.NodeName, pod.Status.Conditions = nodeName, conditions
}
func (podBindingStrategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	pod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	if oldPod.Spec.NodeName != "" && pod.Spec.NodeName != oldPod.Spec.NodeName {
		return field.ErrorList{field.Forbidden(field.NewPath("spec", "nodeName"), "a pod's node cannot change")}
	}
	return nil
}

// preparePodForCreate sets what upstream's pod strategy and default
// admission plugins (ServiceAccount, Priority, DefaultTolerationSeconds)
// set on a new pod.
func preparePodForCreate(obj runtime.Object) {
	pod := obj.(*corev1.Pod)
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(&pod.Spec)}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = defaultServiceAccountName
	}
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	if pod.Spec.PriorityClassName == "" && pod.Spec.Priority == nil {
		pod.Spec.Priority = ptr.To[int32](0)
	}
	if pod.Spec.PreemptionPolicy == nil {
		pp := corev1.PreemptLowerPriority
		pod.Spec.PreemptionPolicy = &pp
	}
	for _, key := range []string{taintNodeNotReady, taintNodeUnreachable} {
		if !toleratesNoExecute(pod.Spec.Tolerations, key) {
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
				Key:               key,
				Operator:          corev1.TolerationOpExists,
				Effect:            corev1.TaintEffectNoExecute,
				TolerationSeconds: ptr.To(defaultTolerationSeconds),
			})
		}
	}
}

func toleratesNoExecute(tolerations []corev1.Toleration, key string) bool {
	for _, t := range tolerations {
		if (t.Key == key || (t.Key == "" && t.Operator == corev1.TolerationOpExists)) &&
			(t.Effect == "" || t.Effect == corev1.TaintEffectNoExecute) {
			return true
		}
	}
	return false
}

// podUpdateForbiddenMsg is upstream's message for changes to immutable pod
// spec fields.
const podUpdateForbiddenMsg = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

func validatePodUpdate(obj, old runtime.Object) field.ErrorList {
	pod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	errs := ValidatePodSpec(&pod.Spec, field.NewPath("spec"))
	// Mask the mutable fields, then require the rest to be unchanged.
	masked := pod.Spec.DeepCopy()
	for i := range masked.Containers {
		if i < len(oldPod.Spec.Containers) {
			masked.Containers[i].Image = oldPod.Spec.Containers[i].Image
		}
	}
	for i := range masked.InitContainers {
		if i < len(oldPod.Spec.InitContainers) {
			masked.InitContainers[i].Image = oldPod.Spec.InitContainers[i].Image
		}
	}
	masked.ActiveDeadlineSeconds = oldPod.Spec.ActiveDeadlineSeconds
	if len(masked.Tolerations) >= len(oldPod.Spec.Tolerations) &&
		apiequality.Semantic.DeepEqual(masked.Tolerations[:len(oldPod.Spec.Tolerations)], oldPod.Spec.Tolerations) {
		masked.Tolerations = oldPod.Spec.Tolerations
	}
	if !apiequality.Semantic.DeepEqual(*masked, oldPod.Spec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), podUpdateForbiddenMsg))
	}
	return errs
}

// ValidatePodSpec checks the parts of a pod spec batchd relies on: container
// and volume names, images, restartPolicy and volume mounts. Messages and
// field paths follow upstream's core validation.
func ValidatePodSpec(spec *corev1.PodSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	volumes := sets.New[string]()
	for i, v := range spec.Volumes {
		vp := p.Child("volumes").Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(vp.Child("name"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Label(v.Name) {
				errs = append(errs, field.Invalid(vp.Child("name"), v.Name, msg))
			}
			if volumes.Has(v.Name) {
				errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
			}
			volumes.Insert(v.Name)
		}
	}
	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("containers"), ""))
	}
	names := sets.New[string]()
	errs = append(errs, validateContainers(spec.InitContainers, p.Child("initContainers"), names, volumes)...)
	errs = append(errs, validateContainers(spec.Containers, p.Child("containers"), names, volumes)...)
	switch spec.RestartPolicy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	case "":
		errs = append(errs, field.Required(p.Child("restartPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("restartPolicy"), spec.RestartPolicy,
			[]corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	}
	if spec.ActiveDeadlineSeconds != nil && *spec.ActiveDeadlineSeconds <= 0 {
		errs = append(errs, field.Invalid(p.Child("activeDeadlineSeconds"), *spec.ActiveDeadlineSeconds, "must be between 1 and 2147483647, inclusive"))
	}
	return errs
}

func validateContainers(containers []corev1.Container, p *field.Path, names, volumes sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	for i, c := range containers {
		cp := p.Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				errs = append(errs, field.Invalid(cp.Child("name"), c.Name, msg))
			}
			if names.Has(c.Name) {
				errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
			}
			names.Insert(c.Name)
		}
		if c.Image == "" {
			errs = append(errs, field.Required(cp.Child("image"), ""))
		}
		for j, m := range c.VolumeMounts {
			mp := cp.Child("volumeMounts").Index(j)
			if m.Name == "" {
				errs = append(errs, field.Required(mp.Child("name"), ""))
			} else if !volumes.Has(m.Name) {
				errs = append(errs, field.NotFound(mp.Child("name"), m.Name))
			}
			if m.MountPath == "" {
				errs = append(errs, field.Required(mp.Child("mountPath"), ""))
			}
		}
		for j, e := range c.Env {
			if e.Name == "" {
				errs = append(errs, field.Required(cp.Child("env").Index(j).Child("name"), ""))
			}
		}
		for name, q := range c.Resources.Limits {
			if req, ok := c.Resources.Requests[name]; ok && req.Cmp(q) > 0 {
				errs = append(errs, field.Invalid(cp.Child("resources", "requests").Key(string(name)), req.String(),
					fmt.Sprintf("must be less than or equal to %s limit of %s", name, q.String())))
			}
		}
	}
	return errs
}
