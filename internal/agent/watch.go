package agent

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/batchd/batchd/internal/controller"
)

// watchPods feeds every pod bound to this node to podChanged until ctx
// ends; the pods' workers run under podsCtx. Service accounts are synced
// first, so that a pod's first container already knows whether its
// service account mounts a token volume (serviceaccount.go).
func (a *Agent) watchPods(ctx, podsCtx context.Context) error {
	all := informers.NewSharedInformerFactory(a.client, 0)
	defer all.Shutdown()
	sas := all.Core().V1().ServiceAccounts()
	a.sas = sas.Lister()
	saSynced := sas.Informer().HasSyncedChecker()
	all.Start(ctx.Done())
	// cache.WaitFor, not WaitForCacheSync, which polls every 100 ms: the
	// Node says Ready only after both waits (podsSynced).
	if !cache.WaitFor(ctx, "", saSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("agent: service account cache did not sync")
	}

	f := informers.NewSharedInformerFactoryWithOptions(a.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.node).String()
		}),
		// Status writes are to the status subresource, which keeps the
		// stored managedFields: the agent's copies need none.
		informers.WithTransform(controller.DropManagedFields))
	inf := f.Core().V1().Pods().Informer()
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
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
	})
	if err != nil {
		return err
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
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
