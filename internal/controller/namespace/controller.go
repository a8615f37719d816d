package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// Defaults for zero Config fields.
const (
	defaultWorkers = 10 // upstream's --concurrent-namespace-syncs
	// defaultDelay is upstream's namespaceDeletionGracePeriod: time for every
	// API server to notice the deletion and refuse new objects in the
	// namespace, so that none is created after the content was deleted.
	defaultDelay = 5 * time.Second
)

// Config configures a Controller. Client, Dynamic and Namespaces are required.
type Config struct {
	// Client reads namespaces and pods, and writes namespace status,
	// finalize and delete.
	Client kubernetes.Interface
	// Dynamic lists and deletes the objects of every namespaced resource.
	Dynamic dynamic.Interface
	// Discovery lists the namespaced resources to empty. nil: Client.Discovery().
	Discovery discovery.DiscoveryInterface
	// Namespaces is the shared informer whose events trigger syncs.
	Namespaces coreinformers.NamespaceInformer
	// Clock dates conditions and measures grace periods. nil: the real clock.
	Clock clock.PassiveClock
	// Log receives the controller's logs. nil: discard.
	Log *slog.Logger
	// Workers is how many namespaces are emptied at once. 0: 10, as upstream.
	Workers int
	// Delay is how long to wait after seeing a namespace's deletion before
	// emptying it. 0: 5s, as upstream; negative: no wait.
	Delay time.Duration
}

// Controller empties and then deletes namespaces that are being deleted.
type Controller struct {
	client     kubernetes.Interface
	dynamic    dynamic.Interface
	discovery  discovery.DiscoveryInterfaceWithContext
	namespaces corelisters.NamespaceLister
	synced     []cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[cache.ObjectName]
	clock      clock.PassiveClock
	log        *slog.Logger
	workers    int
	delay      time.Duration
}

// New validates cfg and registers the controller's informer handlers. It
// starts nothing: call Run. The work queue it creates is shut down by Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Dynamic == nil || cfg.Namespaces == nil {
		return nil, errors.New("namespace controller: Client, Dynamic and Namespaces are required")
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("namespace controller: Workers is %d, want 0 or more", cfg.Workers)
	}
	c := &Controller{
		client:     cfg.Client,
		dynamic:    cfg.Dynamic,
		namespaces: cfg.Namespaces.Lister(),
		clock:      cfg.Clock,
		log:        cfg.Log,
		workers:    cfg.Workers,
		delay:      cfg.Delay,
	}
	d := cfg.Discovery
	if d == nil {
		d = cfg.Client.Discovery()
	}
	c.discovery = discovery.ToDiscoveryInterfaceWithContext(d)
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("controller", "namespace")
	if c.workers == 0 {
		c.workers = defaultWorkers
	}
	switch {
	case c.delay == 0:
		c.delay = defaultDelay
	case c.delay < 0:
		c.delay = 0
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(rateLimiter(),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "namespace"})

	reg, err := cfg.Namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addNamespace,
		UpdateFunc: c.updateNamespace,
	})
	if err != nil {
		c.queue.ShutDown()
		return nil, fmt.Errorf("namespace controller: registering namespace handler: %w", err)
	}
	c.synced = []cache.InformerSynced{reg.HasSynced}
	return c, nil
}

// rateLimiter retries fast (from 5ms) so namespaces go away quickly, and at
// least once a minute, like upstream's. Upstream also caps all retries at
// 10/s; batchd's controllers have no such client-side limits.
func rateLimiter() workqueue.TypedRateLimiter[cache.ObjectName] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](5*time.Millisecond, time.Minute)
}

// Run empties deleted namespaces until ctx is done. It returns once every
// worker has exited.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		// Only ctx ends the wait: a shutdown, not a failure.
		c.log.Info("Stopped before the caches synced")
		return nil
	}
	c.log.Info("Starting controller", "workers", c.workers)
	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() { c.work(ctx) })
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	c.log.Info("Stopped controller")
	return nil
}

func (c *Controller) addNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		c.enqueue(ns)
	}
}

func (c *Controller) updateNamespace(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Namespace)
	ns, ok2 := newObj.(*corev1.Namespace)
	if !ok1 || !ok2 || old.ResourceVersion == ns.ResourceVersion {
		return
	}
	c.enqueue(ns)
}

// enqueue schedules a sync of ns if it is being deleted. Deleted namespaces
// need no handler: once gone there is nothing left to do.
func (c *Controller) enqueue(ns *corev1.Namespace) {
	if ns.DeletionTimestamp == nil {
		return
	}
	key := cache.MetaObjectToName(ns)
	if c.delay > 0 {
		c.queue.AddAfter(key, c.delay)
		return
	}
	c.queue.Add(key)
}

// work processes keys until the queue shuts down.
func (c *Controller) work(ctx context.Context) {
	for c.next(ctx) {
	}
}

// next syncs one key and files it back according to the result. It reports
// false once the queue has shut down.
func (c *Controller) next(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)

	start := c.clock.Now()
	after, err := c.sync(ctx, key)
	log := c.log.With("namespace", key.Name, "elapsed", c.clock.Since(start))
	switch {
	case err != nil:
		c.queue.AddRateLimited(key)
		if ctx.Err() == nil {
			log.Error("Syncing namespace failed, will retry", "err", err)
		}
	case after > 0:
		c.queue.Forget(key)
		c.queue.AddAfter(key, after)
		log.Debug("Content remaining in namespace", "requeueAfter", after)
	default:
		c.queue.Forget(key)
		log.Debug("Synced namespace")
	}
	return true
}
