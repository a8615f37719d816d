package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// defaultWorkers is upstream's: kube-controller-manager runs one worker.
const defaultWorkers = 1

// Config configures a Controller. All fields but Log and Workers are required.
type Config struct {
	// Client creates ServiceAccounts.
	Client kubernetes.Interface
	// Namespaces is the shared informer whose adds and updates trigger syncs.
	Namespaces coreinformers.NamespaceInformer
	// ServiceAccounts is the shared informer that tells whether the default
	// account exists, and whose deletions trigger syncs.
	ServiceAccounts coreinformers.ServiceAccountInformer
	// Log receives the controller's logs. nil: discard.
	Log *slog.Logger
	// Workers is how many namespaces are synced at once. 0: 1, as upstream.
	Workers int
}

// Controller keeps a default ServiceAccount in every active namespace.
type Controller struct {
	client   kubernetes.Interface
	nsLister corelisters.NamespaceLister
	saLister corelisters.ServiceAccountLister
	synced   []cache.InformerSynced
	// queue holds namespace names (cache.ObjectName with an empty Namespace).
	queue   workqueue.TypedRateLimitingInterface[cache.ObjectName]
	log     *slog.Logger
	workers int
}

// New validates cfg and registers the controller's informer handlers. It
// starts nothing: call Run. The work queue it creates is shut down by Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Namespaces == nil || cfg.ServiceAccounts == nil {
		return nil, errors.New("serviceaccount controller: Client, Namespaces and ServiceAccounts are required")
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("serviceaccount controller: Workers is %d, want 0 or more", cfg.Workers)
	}
	c := &Controller{
		client:   cfg.Client,
		nsLister: cfg.Namespaces.Lister(),
		saLister: cfg.ServiceAccounts.Lister(),
		log:      cfg.Log,
		workers:  cfg.Workers,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("controller", "serviceaccount")
	if c.workers == 0 {
		c.workers = defaultWorkers
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "serviceaccount"})

	nsReg, err := cfg.Namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addNamespace,
		UpdateFunc: c.updateNamespace,
	})
	if err != nil {
		c.queue.ShutDown()
		return nil, fmt.Errorf("serviceaccount controller: registering namespace handler: %w", err)
	}
	saReg, err := cfg.ServiceAccounts.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: c.deleteServiceAccount,
	})
	if err != nil {
		c.queue.ShutDown()
		return nil, fmt.Errorf("serviceaccount controller: registering service account handler: %w", err)
	}
	c.synced = []cache.InformerSynced{nsReg.HasSynced, saReg.HasSynced}
	return c, nil
}

// Run keeps default ServiceAccounts in place until ctx is done. It returns
// once every worker has exited.
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
		c.queue.Add(cache.MetaObjectToName(ns))
	}
}

func (c *Controller) updateNamespace(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Namespace)
	ns, ok2 := newObj.(*corev1.Namespace)
	if !ok1 || !ok2 || old.ResourceVersion == ns.ResourceVersion {
		return
	}
	c.queue.Add(cache.MetaObjectToName(ns))
}

// deleteServiceAccount looks at a namespace again when its default account
// goes away, so that it is recreated.
func (c *Controller) deleteServiceAccount(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok || sa.Name != defaultName {
		return
	}
	c.queue.Add(cache.ObjectName{Name: sa.Namespace})
}

// work processes keys until the queue shuts down.
func (c *Controller) work(ctx context.Context) {
	for c.next(ctx) {
	}
}

// next syncs one key, retrying it with backoff on error. It reports false
// once the queue has shut down.
func (c *Controller) next(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx, key); err != nil {
		c.queue.AddRateLimited(key)
		if ctx.Err() == nil {
			c.log.Error("Syncing namespace failed, will retry", "namespace", key.Name, "err", err)
		}
		return true
	}
	c.queue.Forget(key)
	return true
}

// sync creates the default ServiceAccount in the namespace named by key if
// the namespace is active and the cache has no such account.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	ns, err := c.nsLister.Get(key.Name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading namespace %s from cache: %w", key.Name, err)
	}
	_, err = c.saLister.ServiceAccounts(ns.Name).Get(defaultName)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading service account %s/%s from cache: %w", ns.Name, defaultName, err)
	}
	if !needsAccount(ns, err == nil) {
		return nil
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: defaultName, Namespace: ns.Name}}
	_, err = c.client.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{})
	switch {
	case err == nil:
		c.log.Debug("Created default service account", "namespace", ns.Name)
		return nil
	case apierrors.IsAlreadyExists(err):
		return nil // the cache is behind
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil // the namespace started terminating after the cache saw it
	default:
		return fmt.Errorf("creating service account %s/%s: %w", ns.Name, defaultName, err)
	}
}
