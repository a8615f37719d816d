package agent

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/batchd/batchd/internal/controller"
)

// watchPods feeds every pod bound to this node to podChanged until ctx
// ends; the pods' workers run under podsCtx. Service accounts are synced
// first, so that a pod's first container already knows whether its
// service account mounts a token volume (serviceaccount.go).
//
// The informers are the agent's own (a watch of its node's pods, one of
// every service account), or Config.Shared's: an in-process agent then
// sees each pod change through the control plane's informer, decoded
// once for both, and its pods by a filter on spec.nodeName, which is set
// once and never changes.
func (a *Agent) watchPods(ctx, podsCtx context.Context) error {
	pods, sas := a.cfg.Shared.informers()
	if pods == nil {
		all := informers.NewSharedInformerFactory(a.client, 0)
		defer all.Shutdown()
		sas = all.Core().V1().ServiceAccounts().Informer()
		all.Start(ctx.Done())
		f := informers.NewSharedInformerFactoryWithOptions(a.client, 0,
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.node).String()
			}),
			// Status writes are to the status subresource, which keeps the
			// stored managedFields: the agent's copies need none.
			informers.WithTransform(controller.DropManagedFields))
		defer f.Shutdown()
		pods = f.Core().V1().Pods().Informer()
		// Started once its handler is added (watchWith).
		return a.watchWith(ctx, podsCtx, pods, sas, func() { f.Start(ctx.Done()) })
	}
	return a.watchWith(ctx, podsCtx, pods, sas, func() {})
}

// informers returns the shared informers, nil without them.
func (sh *SharedInformers) informers() (pods, sas cache.SharedIndexInformer) {
	if sh == nil {
		return nil, nil
	}
	return sh.Pods, sh.ServiceAccounts
}

// watchWith runs watchPods on the given informers; startPods starts the
// pod informer if the agent owns it.
func (a *Agent) watchWith(ctx, podsCtx context.Context, pods, sas cache.SharedIndexInformer, startPods func()) error {
	a.sas = corelisters.NewServiceAccountLister(sas.GetIndexer())
	// cache.WaitFor, not WaitForCacheSync, which polls every 100 ms: the
	// Node says Ready only after both waits (podsSynced).
	if !cache.WaitFor(ctx, "", sas.HasSyncedChecker()) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("agent: service account cache did not sync")
	}

	reg, err := pods.AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			pod, ok := obj.(*corev1.Pod)
			return ok && pod.Spec.NodeName == a.node
		},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { a.podChanged(podsCtx, obj.(*corev1.Pod), false) },
			UpdateFunc: func(_, obj any) { a.podChanged(podsCtx, obj.(*corev1.Pod), false) },
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if pod, ok := obj.(*corev1.Pod); ok {
					a.podChanged(podsCtx, pod, true)
				}
			},
		},
	})
	if err != nil {
		return err
	}
	// A shared informer outlives the agent: no event may reach a stopped
	// agent, nor a call in progress outlive watchPods (podChanged would
	// start a worker after Run's wait for them). RemoveEventHandler alone
	// does not wait for the handler's current call.
	defer func() { _ = cache.ShutDownEventHandler(pods, reg) }()
	startPods()
	if !cache.WaitFor(ctx, "", reg.HasSyncedChecker()) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("agent: pod cache did not sync")
	}
	a.podsSynced(ctx)
	a.removeOrphans(ctx)
	<-ctx.Done()
	return nil
}
