package controlplane

import (
	"context"
	"fmt"
	"log/slog"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/batchd/batchd/internal/controller/gc"
	"github.com/batchd/batchd/internal/controller/namespace"
	"github.com/batchd/batchd/internal/controller/serviceaccount"
)

// controllers are the control plane's client-go controllers and the
// informers they share.
type controllers struct {
	client    kubernetes.Interface
	informers informers.SharedInformerFactory
	runners   []func(context.Context) error
}

// informerResync 0: controllers are level-triggered on events; none relies
// on periodic resyncs.
const informerResync = 0

func newControllers(cfg *rest.Config, cpcfg Config, log *slog.Logger) (*controllers, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building loopback client: %w", err)
	}
	dynamicCfg := rest.CopyConfig(cfg)
	dynamicCfg.ContentType = "application/json" // the dynamic client speaks JSON only
	dyn, err := dynamic.NewForConfig(dynamicCfg)
	if err != nil {
		return nil, fmt.Errorf("building loopback dynamic client: %w", err)
	}
	// The metadata client asks for PartialObjectMetadata in protobuf,
	// whatever cfg says.
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building loopback metadata client: %w", err)
	}
	factory := informers.NewSharedInformerFactory(client, informerResync)
	c := &controllers{client: client, informers: factory}

	nsc, err := namespace.New(namespace.Config{
		Client:     client,
		Dynamic:    dyn,
		Namespaces: factory.Core().V1().Namespaces(),
		Log:        log,
		Delay:      cpcfg.NamespaceDeletionDelay,
	})
	if err != nil {
		return nil, err
	}
	sac, err := serviceaccount.New(serviceaccount.Config{
		Client:          client,
		Namespaces:      factory.Core().V1().Namespaces(),
		ServiceAccounts: factory.Core().V1().ServiceAccounts(),
		Log:             log,
	})
	if err != nil {
		return nil, err
	}
	gcc, err := gc.New(gc.Config{
		Metadata:  md,
		Discovery: client.Discovery(),
		Log:       log,
	})
	if err != nil {
		return nil, err
	}
	c.runners = append(c.runners, nsc.Run, sac.Run, gcc.Run)
	return c, nil
}

// run starts the informers, calls synced once their caches are filled, and
// runs every controller until ctx is done.
func (c *controllers) run(ctx context.Context, synced func()) error {
	ctx, cancel := context.WithCancel(ctx)
	c.informers.Start(ctx.Done())
	defer func() {
		cancel() // informers stop on ctx; Shutdown waits for them
		c.informers.Shutdown()
	}()
	for typ, ok := range c.informers.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("waiting for %v informer to sync: %w", typ, ctx.Err())
		}
	}
	synced()
	g, gctx := errgroup.WithContext(ctx)
	for _, run := range c.runners {
		g.Go(func() error { return run(gctx) })
	}
	return g.Wait()
}
