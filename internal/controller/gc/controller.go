package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/lru"

	shared "github.com/batchd/batchd/internal/controller"
)

// Defaults and limits.
const (
	defaultWorkers = 20 // upstream's --concurrent-gc-syncs
	// initialSyncTimeout bounds how long workers wait for the informers
	// before they start anyway, as upstream does: one resource that cannot
	// be listed must not stop collection for all others.
	initialSyncTimeout = 30 * time.Second
	// syncPoll is how often Run checks whether the informers have synced;
	// client-go's WaitForCacheSync takes 100ms.
	syncPoll = 10 * time.Millisecond
	// absentOwners is the size of the cache of owners found absent, as
	// upstream's.
	absentOwners = 500
	// informerResync 0: the collector reacts to events only, as upstream.
	informerResync = 0
)

// Config configures a Controller. Metadata and Discovery are required.
type Config struct {
	// Metadata lists and watches every resource's object metadata, and
	// reads, patches and deletes objects.
	Metadata metadata.Interface
	// Discovery lists the resources to watch and maps ownerReferences'
	// kinds to resources.
	Discovery discovery.DiscoveryInterface
	// Log receives the controller's logs. nil: discard.
	Log *slog.Logger
	// Workers is how many objects are checked at once, and how many owners
	// orphaned at once. 0: 20, as upstream.
	Workers int
	// Shared are informers the process already runs, by resource: the
	// collector registers on them instead of watching those resources'
	// metadata a second time (upstream's collector shares the controller
	// manager's informers too). It only reads their objects.
	Shared map[schema.GroupVersionResource]cache.SharedIndexInformer
}

// Controller is the garbage collector.
type Controller struct {
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterfaceWithContext
	log       *slog.Logger
	workers   int
	shared    map[schema.GroupVersionResource]cache.SharedIndexInformer

	graph *graph
	// changes carries informer and virtual events to the one goroutine that
	// applies them to the graph, in order.
	changes workqueue.TypedInterface[*event]
	// deletes holds nodes to check: garbage to delete, dangling references
	// to remove, owners whose foreground deletion may finish.
	deletes workqueue.TypedRateLimitingInterface[types.UID]
	// orphans holds owners whose dependents must lose their reference.
	orphans workqueue.TypedRateLimitingInterface[types.UID]
	// absent remembers owners a live GET found absent (their UIDs cannot
	// come back), so that many dependents of one owner cost one GET.
	absent *lru.Cache

	// resources is set by Run before any worker starts, then only read.
	resources resources
}

// New validates cfg and creates the controller's queues. It starts
// nothing: call Run, which discovers the resources to watch. The queues it
// creates are shut down by Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Metadata == nil || cfg.Discovery == nil {
		return nil, errors.New("gc controller: Metadata and Discovery are required")
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("gc controller: Workers is %d, want 0 or more", cfg.Workers)
	}
	c := &Controller{
		metadata:  cfg.Metadata,
		discovery: discovery.ToDiscoveryInterfaceWithContext(cfg.Discovery),
		log:       cfg.Log,
		workers:   cfg.Workers,
		shared:    cfg.Shared,
		graph:     newGraph(),
		absent:    lru.New(absentOwners),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("controller", "gc")
	if c.workers == 0 {
		c.workers = defaultWorkers
	}
	c.changes = workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[*event]{Name: "garbage_collector_graph_changes"})
	c.deletes = workqueue.NewTypedRateLimitingQueueWithConfig(rateLimiter(),
		workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_delete"})
	c.orphans = workqueue.NewTypedRateLimitingQueueWithConfig(rateLimiter(),
		workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_orphan"})
	return c, nil
}

// rateLimiter retries like upstream's controllers (5ms doubling to 1000s),
// without their overall 10/s cap: batchd's controllers have no client-side
// limits.
func rateLimiter() workqueue.TypedRateLimiter[types.UID] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[types.UID](5*time.Millisecond, 1000*time.Second)
}

// Run discovers the resources, watches them, and collects garbage until
// ctx is done. It returns once every goroutine it started has exited. Call
// it once.
func (c *Controller) Run(ctx context.Context) error {
	defer c.shutDownQueues()
	rs, err := c.discover(ctx)
	if err != nil && ctx.Err() != nil { // a shutdown, not a failure
		c.log.Info("Stopped while discovering resources")
		return nil
	}
	if err != nil {
		return fmt.Errorf("gc controller: %w", err)
	}
	c.resources = rs

	factory := metadatainformer.NewSharedInformerFactoryWithOptions(c.metadata, informerResync, metadatainformer.WithTransform(shared.DropManagedFields))
	var synced []cache.InformerSynced
	for _, r := range rs.watched {
		inf := c.shared[r.gvr]
		if inf == nil {
			inf = factory.ForResource(r.gvr).Informer()
		}
		reg, err := inf.AddEventHandler(c.handler(r.gvk()))
		if err != nil && ctx.Err() != nil {
			// A shared informer stops with the process: ctx ended while
			// the collector was still starting, a shutdown.
			c.log.Info("Stopped before the caches synced")
			return nil
		}
		if err != nil {
			return fmt.Errorf("gc controller: registering %s handler: %w", r.gvr, err)
		}
		synced = append(synced, reg.HasSynced)
	}

	var wg sync.WaitGroup
	factory.Start(ctx.Done())
	wg.Go(c.buildGraph)
	syncCtx, cancel := context.WithTimeout(ctx, initialSyncTimeout)
	err = wait.PollUntilContextCancel(syncCtx, syncPoll, true, func(context.Context) (bool, error) {
		return !slices.ContainsFunc(synced, func(s cache.InformerSynced) bool { return !s() }), nil
	})
	cancel()
	if err != nil && ctx.Err() == nil {
		c.log.Warn("Not all resources synced, collecting garbage anyway", "elapsed", initialSyncTimeout)
	}
	// Workers must not act on a graph that has not seen what the informers
	// listed: orphaning an owner before its dependents are in the graph
	// would leave them to be deleted once the owner is gone.
	select {
	case <-c.barrier():
	case <-ctx.Done():
	}
	if ctx.Err() == nil {
		c.log.Info("Starting controller", "workers", c.workers, "count", len(rs.watched))
		for range c.workers {
			wg.Go(func() { c.work(ctx, c.deletes, c.attemptToDelete) })
			wg.Go(func() { c.work(ctx, c.orphans, c.attemptToOrphan) })
		}
	}
	<-ctx.Done()
	factory.Shutdown() // waits for the informers, which stop on ctx
	c.shutDownQueues()
	wg.Wait()
	c.log.Info("Stopped controller")
	return nil
}

func (c *Controller) shutDownQueues() {
	c.changes.ShutDown()
	c.deletes.ShutDown()
	c.orphans.ShutDown()
}

// discover asks discovery for the resources until it answers. A partial
// answer (some groups failing) is used as it is, as upstream does.
func (c *Controller) discover(ctx context.Context) (resources, error) {
	var rs resources
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		groups, lists, err := c.discovery.ServerGroupsAndResourcesWithContext(ctx)
		if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
			c.log.Warn("Discovering resources failed, will retry", "err", err)
			return false, nil
		}
		if err != nil {
			c.log.Warn("Discovering some groups failed, collecting garbage in the others", "err", err)
		}
		rs = collectable(groups, lists)
		return len(rs.watched) > 0, nil
	})
	if err != nil {
		return resources{}, fmt.Errorf("discovering resources: %w", err)
	}
	return rs, nil
}

// handler turns one resource's informer notifications into graph events.
func (c *Controller) handler(gvk schema.GroupVersionKind) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m, err := meta.Accessor(obj); err == nil {
				c.changes.Add(&event{typ: addEvent, gvk: gvk, obj: m})
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, err1 := meta.Accessor(oldObj)
			m, err2 := meta.Accessor(newObj)
			if err1 != nil || err2 != nil || old.GetResourceVersion() == m.GetResourceVersion() {
				return
			}
			c.changes.Add(&event{typ: updateEvent, gvk: gvk, obj: m, old: old})
		},
		DeleteFunc: func(obj any) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			if m, err := meta.Accessor(obj); err == nil {
				c.changes.Add(&event{typ: deleteEvent, gvk: gvk, obj: m})
			}
		},
	}
}

// virtualDelete tells the graph that the object id was found gone.
func (c *Controller) virtualDelete(id identity) {
	gv, _ := schema.ParseGroupVersion(id.apiVersion)
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: id.namespace, Name: id.name, UID: id.uid}}
	c.changes.Add(&event{typ: deleteEvent, virtual: true, gvk: gv.WithKind(id.kind), obj: obj})
}

// barrier returns a channel closed once the graph has applied every event
// queued before the call.
func (c *Controller) barrier() <-chan struct{} {
	done := make(chan struct{})
	c.changes.Add(&event{barrier: done})
	return done
}

// buildGraph applies graph changes, one at a time, until the queue shuts
// down, and hands the resulting work to the workers.
func (c *Controller) buildGraph() {
	for {
		e, quit := c.changes.Get()
		if quit {
			return
		}
		if e.barrier != nil {
			close(e.barrier)
			c.changes.Done(e)
			continue
		}
		fx := c.graph.apply(e)
		c.changes.Done(e)
		for _, uid := range fx.attemptToDelete {
			c.deletes.Add(uid)
		}
		for _, uid := range fx.retry {
			c.deletes.AddRateLimited(uid)
		}
		for _, uid := range fx.attemptToOrphan {
			c.orphans.Add(uid)
		}
	}
}

// work processes one queue's keys with sync until the queue shuts down.
// sync's contract: an error, or retry, means "look again after a backoff".
func (c *Controller) work(ctx context.Context, q workqueue.TypedRateLimitingInterface[types.UID],
	sync func(context.Context, types.UID) (retry bool, err error)) {
	for {
		uid, quit := q.Get()
		if quit {
			return
		}
		retry, err := sync(ctx, uid)
		switch {
		case err != nil:
			q.AddRateLimited(uid)
			if ctx.Err() == nil {
				c.log.Error("Collecting garbage failed, will retry", "key", uid, "err", err)
			}
		case retry:
			q.AddRateLimited(uid)
		default:
			q.Forget(uid)
		}
		q.Done(uid)
	}
}
