package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/controller"
	"github.com/batchd/batchd/internal/controller/cronjob"
	"github.com/batchd/batchd/internal/controller/gc"
	"github.com/batchd/batchd/internal/controller/job"
	"github.com/batchd/batchd/internal/controller/namespace"
	"github.com/batchd/batchd/internal/controller/serviceaccount"
	"github.com/batchd/batchd/internal/controller/ttl"
	"github.com/batchd/batchd/internal/metrics"
	"github.com/batchd/batchd/internal/scheduler"
)

// controllers are the control plane's client-go controllers and the
// informers they share.
type controllers struct {
	client    kubernetes.Interface
	informers informers.SharedInformerFactory
	events    record.EventBroadcaster
	runners   []func(context.Context) error
	log       *slog.Logger
}

// JobControllerConfig tunes the Job controller, for tests. The zero value
// is batchd's default: upstream's behaviour, with adaptive batching.
type JobControllerConfig struct {
	// Clock dates Job status and times deadlines and pod failure backoff
	// (nil: the real clock).
	Clock clock.WithDelayedExecution
	// BatchPeriod is the longest pod events wait to coalesce into one sync
	// (0: upstream's 1 s; negative: no wait).
	BatchPeriod time.Duration
	// MinBatchPeriod is the shortest they wait: between the two, the wait
	// follows what the Job's syncs cost (see job.Config). 0:
	// DefaultJobMinBatchPeriod; negative: always BatchPeriod, as upstream.
	MinBatchPeriod time.Duration
	// Disabled leaves Jobs to a controller the test runs itself.
	Disabled bool
}

// DefaultJobMinBatchPeriod is the shortest wait of the Job controller's
// adaptive batching. Upstream waits 1 s after every pod event, which makes
// a one-pod Job take over 2 s; batchd waits in proportion to what a Job's
// sync costs, from a few milliseconds for small Jobs up to upstream's 1 s.
const DefaultJobMinBatchPeriod = 5 * time.Millisecond

// TimedControllersConfig tunes the controllers that act at times they
// compute, the CronJob and the TTL-after-finished controllers, for tests.
// The zero value is upstream's behaviour.
type TimedControllersConfig struct {
	CronJob CronJobControllerConfig
	TTL     TTLControllerConfig
}

// CronJobControllerConfig tunes the CronJob controller, for tests.
type CronJobControllerConfig struct {
	// Clock is what the controller takes for now and times each CronJob's
	// next schedule time on (nil: the real clock).
	Clock clock.WithDelayedExecution
	// Disabled leaves CronJobs to a controller the test runs itself.
	Disabled bool
}

// TTLControllerConfig tunes the TTL-after-finished controller, for tests.
type TTLControllerConfig struct {
	// Clock is what the controller takes for now and times each finished
	// Job's expiry on (nil: the real clock).
	Clock clock.WithDelayedExecution
	// Disabled keeps finished Jobs whatever their TTL.
	Disabled bool
}

// SchedulerConfig tunes the scheduler, for tests. The zero value runs it.
type SchedulerConfig struct {
	// Disabled leaves pods to a scheduler the test runs itself.
	Disabled bool
}

// informerResync 0: controllers are level-triggered on events; none relies
// on periodic resyncs.
const informerResync = 0

func newControllers(cfg *rest.Config, cpcfg Config, reg prometheus.Registerer, log *slog.Logger) (*controllers, error) {
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
	factory := informers.NewSharedInformerFactoryWithOptions(client, informerResync, informers.WithTransform(controller.DropManagedFields))
	c := &controllers{client: client, informers: factory, events: record.NewBroadcaster(), log: log}

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
		// The typed informers the other controllers run anyway: a pod
		// watched once, not twice (a 100,000-pod start read, encoded and
		// decoded every pod three times).
		Shared: map[schema.GroupVersionResource]cache.SharedIndexInformer{
			corev1.SchemeGroupVersion.WithResource("pods"):            factory.Core().V1().Pods().Informer(),
			corev1.SchemeGroupVersion.WithResource("namespaces"):      factory.Core().V1().Namespaces().Informer(),
			corev1.SchemeGroupVersion.WithResource("serviceaccounts"): factory.Core().V1().ServiceAccounts().Informer(),
			batchv1.SchemeGroupVersion.WithResource("jobs"):           factory.Batch().V1().Jobs().Informer(),
			batchv1.SchemeGroupVersion.WithResource("cronjobs"):       factory.Batch().V1().CronJobs().Informer(),
		},
	})
	if err != nil {
		return nil, err
	}
	c.runners = append(c.runners, nsc.Run, sac.Run, gcc.Run)
	if !cpcfg.Scheduler.Disabled {
		sched, err := scheduler.New(scheduler.Config{
			Client:     client,
			Pods:       factory.Core().V1().Pods(),
			Nodes:      factory.Core().V1().Nodes(),
			Namespaces: factory.Core().V1().Namespaces(),
			Log:        log,
		})
		if err != nil {
			return nil, err
		}
		c.runners = append(c.runners, sched.Run)
	}
	if !cpcfg.JobController.Disabled {
		jm, err := job.NewMetrics(reg)
		if err != nil {
			return nil, err
		}
		jc, err := job.New(job.Config{
			Metrics:        jm,
			Client:         client,
			Jobs:           factory.Batch().V1().Jobs(),
			Pods:           factory.Core().V1().Pods(),
			Recorder:       c.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "job-controller"}),
			Clock:          cpcfg.JobController.Clock,
			BatchPeriod:    cpcfg.JobController.BatchPeriod,
			MinBatchPeriod: jobMinBatchPeriod(cpcfg.JobController.MinBatchPeriod),
			Log:            log,
		})
		if err != nil {
			return nil, err
		}
		c.runners = append(c.runners, jc.Run)
	}
	if !cpcfg.Timed.CronJob.Disabled {
		cjc, err := cronjob.New(cronjob.Config{
			Client:   client,
			CronJobs: factory.Batch().V1().CronJobs(),
			Jobs:     factory.Batch().V1().Jobs(),
			Recorder: c.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: cronjob.EventSource}),
			Clock:    cpcfg.Timed.CronJob.Clock,
			Log:      log,
		})
		if err != nil {
			return nil, err
		}
		c.runners = append(c.runners, cjc.Run)
	}
	if !cpcfg.Timed.TTL.Disabled {
		ttlc, err := ttl.New(ttl.Config{
			Client: client,
			Jobs:   factory.Batch().V1().Jobs(),
			Clock:  cpcfg.Timed.TTL.Clock,
			Log:    log,
		})
		if err != nil {
			return nil, err
		}
		c.runners = append(c.runners, ttlc.Run)
	}
	// kube-state-metrics families, read from the shared informers' caches
	// at scrape time.
	collector, err := metrics.New(metrics.Config{
		Jobs:     factory.Batch().V1().Jobs().Lister(),
		CronJobs: factory.Batch().V1().CronJobs().Lister(),
		Pods:     factory.Core().V1().Pods().Lister(),
	})
	if err != nil {
		return nil, err
	}
	if err := reg.Register(collector); err != nil {
		return nil, fmt.Errorf("registering object metrics: %w", err)
	}
	return c, nil
}

// shared returns the informers an in-process agent can share: every pod
// and service account, already asked of the factory (the garbage collector
// and the scheduler use them), so run starts them.
func (c *controllers) shared() *agent.SharedInformers {
	return &agent.SharedInformers{
		Pods:            c.informers.Core().V1().Pods().Informer(),
		ServiceAccounts: c.informers.Core().V1().ServiceAccounts().Informer(),
	}
}

// run starts the informers, calls synced once their caches are filled, and
// runs every controller until ctx is done.
func (c *controllers) run(ctx context.Context, synced func()) error {
	ctx, cancel := context.WithCancel(ctx)
	c.informers.Start(ctx.Done())
	c.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.events.Shutdown()
	defer func() {
		cancel() // informers stop on ctx; Shutdown waits for them
		c.informers.Shutdown()
	}()
	var unsynced []string
	for typ, ok := range c.informers.WaitForCacheSync(ctx.Done()) {
		if !ok {
			unsynced = append(unsynced, typ.String())
		}
	}
	if len(unsynced) > 0 { // only ctx ends the wait: a shutdown, not a failure
		slices.Sort(unsynced)
		c.log.Info("Stopped before the caches synced", "unsynced", unsynced)
		return nil
	}
	synced()
	g, gctx := errgroup.WithContext(ctx)
	for _, run := range c.runners {
		g.Go(func() error { return run(gctx) })
	}
	return g.Wait()
}

// jobMinBatchPeriod applies DefaultJobMinBatchPeriod to a zero setting.
func jobMinBatchPeriod(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultJobMinBatchPeriod
	}
	return d
}
