package apiserver

import (
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/batchd/batchd/internal/registry"
)

// podsResource names the pods resource in errors and routing.
var podsResource = corev1.Resource("pods")

// Condition upstream's eviction API sets on the evicted pod before deleting
// it, which the Job controller's podFailurePolicy can match.
const (
	reasonEvictionByEvictionAPI = "EvictionByEvictionAPI"
	messageEvictionByAPI        = "Eviction API: evicting"
)

// serveEviction implements pods/eviction (policy/v1): batchd has no
// PodDisruptionBudgets, so every eviction is allowed. The pod gets the
// DisruptionTarget condition, then is deleted with the eviction's options.
func (s *Server) serveEviction(req *request) {
	evictionRes := &registry.Resource{GroupVersion: policyv1.SchemeGroupVersion, Name: "pods", Kind: "Eviction",
		NewFunc: func() runtime.Object { return &policyv1.Eviction{} }}
	evictReq := *req
	evictReq.res = evictionRes
	obj, err := s.decodeBody(&evictReq, &policyv1.Eviction{})
	if err != nil {
		s.fail(req, err)
		return
	}
	eviction := obj.(*policyv1.Eviction)
	if eviction.Name != "" && eviction.Name != req.info.name {
		s.fail(req, apierrors.NewBadRequest(fmt.Sprintf("name in URL does not match name in Eviction object: %s vs %s", req.info.name, eviction.Name)))
		return
	}
	ctx := req.r.Context()
	opts := eviction.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	current, err := req.store.Get(ctx, req.info.namespace, req.info.name)
	if err != nil {
		s.fail(req, err)
		return
	}
	pod := current.(*corev1.Pod)
	// A finished or already terminating pod is deleted without the condition,
	// as upstream does.
	if pod.DeletionTimestamp == nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		_, _, err := req.store.Update(ctx, req.info.namespace, req.info.name, func(cur runtime.Object) (runtime.Object, error) {
			p := cur.(*corev1.Pod)
			if opts.Preconditions != nil && opts.Preconditions.UID != nil && *opts.Preconditions.UID != p.UID {
				return nil, apierrors.NewConflict(podsResource, p.Name, fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *opts.Preconditions.UID, p.UID))
			}
			setDisruptionTarget(p, metav1.Now())
			return p, nil
		}, registry.UpdateOptions{Subresource: "status", DryRun: len(opts.DryRun) > 0})
		if err != nil {
			s.fail(req, err)
			return
		}
	}
	if _, err := req.store.Delete(ctx, req.info.namespace, req.info.name, opts, req.warn); err != nil {
		s.fail(req, err)
		return
	}
	s.writeObject(req.w, http.StatusCreated, req.out, metav1.SchemeGroupVersion, &metav1.Status{Status: metav1.StatusSuccess})
}

func setDisruptionTarget(p *corev1.Pod, now metav1.Time) {
	cond := corev1.PodCondition{
		Type:               corev1.DisruptionTarget,
		Status:             corev1.ConditionTrue,
		Reason:             reasonEvictionByEvictionAPI,
		Message:            messageEvictionByAPI,
		LastTransitionTime: now,
	}
	for i, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			if c.Status != corev1.ConditionTrue {
				p.Status.Conditions[i] = cond
			}
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, cond)
}
