package apiserver

import (
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/batchd/batchd/internal/registry"
)

// serveBinding implements pods/binding, through which a scheduler assigns a
// pod to a node: spec.nodeName is set once and the PodScheduled condition
// becomes True, as upstream's BindingREST does.
func (s *Server) serveBinding(req *request) {
	bindingRes := &registry.Resource{GroupVersion: corev1.SchemeGroupVersion, Name: "pods", Kind: "Binding",
		NewFunc: func() runtime.Object { return &corev1.Binding{} }}
	bindReq := *req
	bindReq.res = bindingRes
	obj, err := s.decodeBody(&bindReq, &corev1.Binding{})
	if err != nil {
		s.fail(req, err)
		return
	}
	binding := obj.(*corev1.Binding)
	if binding.Name != "" && binding.Name != req.info.name {
		s.fail(req, apierrors.NewBadRequest(fmt.Sprintf("name in URL does not match name in Binding object: %s vs %s", req.info.name, binding.Name)))
		return
	}
	if binding.Target.Kind != "" && binding.Target.Kind != "Node" {
		s.fail(req, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), binding.Name, nil))
		return
	}
	if binding.Target.Name == "" {
		s.fail(req, apierrors.NewBadRequest("a binding needs target.name, the node"))
		return
	}
	dry, err := dryRun(req.query["dryRun"], "CreateOptions")
	if err != nil {
		s.fail(req, err)
		return
	}
	node := binding.Target.Name
	_, _, err = req.store.Update(req.r.Context(), req.info.namespace, req.info.name, func(cur runtime.Object) (runtime.Object, error) {
		pod := cur.(*corev1.Pod)
		if binding.UID != "" && binding.UID != pod.UID {
			return nil, apierrors.NewConflict(podsResource, pod.Name,
				fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", binding.UID, pod.UID))
		}
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(podsResource, pod.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(podsResource, pod.Name, fmt.Errorf("pod %s is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = node
		setCondition(&pod.Status.Conditions, corev1.PodCondition{
			Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now(),
		})
		return pod, nil
	}, registry.UpdateOptions{Subresource: bindingSubresource, DryRun: dry})
	if err != nil {
		s.fail(req, err)
		return
	}
	s.writeObject(req.w, http.StatusCreated, req.out, metav1.SchemeGroupVersion, &metav1.Status{Status: metav1.StatusSuccess})
}

// bindingSubresource is the pods subresource whose strategy lets a binding
// set spec.nodeName (and the PodScheduled condition) on a pod.
const bindingSubresource = "binding"

// setCondition replaces the condition of the same type, keeping its
// transition time when the status does not change, or appends it.
func setCondition(conds *[]corev1.PodCondition, c corev1.PodCondition) {
	for i, old := range *conds {
		if old.Type == c.Type {
			if old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
			(*conds)[i] = c
			return
		}
	}
	*conds = append(*conds, c)
}
