package ttl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/batchd/batchd/internal/controller"
)

// Defaults for zero Config fields: upstream's
// --concurrent-ttl-after-finished-syncs, and its per-item retry backoff.
const (
	defaultWorkers = 5
	retryBase      = 5 * time.Millisecond
	retryMax       = 1000 * time.Second
)

// Config configures a Controller. Client and Jobs are required.
type Config struct {
	// Client reads and deletes Jobs.
	Client kubernetes.Interface
	// Jobs is the shared informer the controller reads from.
	Jobs batchinformers.JobInformer
	// Clock says what time it is and times the wait for each Job's
	// expiry. nil: the real clock. Retries of failed syncs always use the
	// real clock.
	Clock clock.WithDelayedExecution
	// Log receives the controller's logs. nil: discard.
	Log *slog.Logger
	// Workers is how many Jobs are checked at once. 0: 5, as upstream.
	Workers int
}

// Controller deletes finished Jobs whose TTL has passed.
type Controller struct {
	client  kubernetes.Interface
	jobs    batchlisters.JobLister
	synced  []cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[cache.ObjectName]
	timers  *controller.Timers
	clock   clock.WithDelayedExecution
	log     *slog.Logger
	workers int
}

// New validates cfg and registers the controller's informer handler. It
// starts nothing: call Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Jobs == nil {
		return nil, errors.New("ttl controller: Client and Jobs are required")
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("ttl controller: Workers is %d, want 0 or more", cfg.Workers)
	}
	c := &Controller{
		client:  cfg.Client,
		jobs:    cfg.Jobs.Lister(),
		clock:   cfg.Clock,
		log:     cfg.Log,
		workers: cfg.Workers,
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("controller", "ttl-after-finished")
	if c.workers == 0 {
		c.workers = defaultWorkers
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](retryBase, retryMax),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "ttl_jobs_to_delete"})
	c.timers = controller.NewTimers(c.clock, c.queue.Add)
	reg, err := cfg.Jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
	})
	if err != nil {
		c.shutdown()
		return nil, fmt.Errorf("ttl controller: registering Job handler: %w", err)
	}
	c.synced = []cache.InformerSynced{reg.HasSynced}
	return c, nil
}

func (c *Controller) shutdown() {
	c.queue.ShutDown()
	c.timers.Stop()
}

// Run deletes expired Jobs until ctx is done. It returns once every worker
// has exited.
func (c *Controller) Run(ctx context.Context) error {
	return controller.RunWorkers(ctx, controller.Workers{
		Log: c.log, Synced: c.synced, Count: c.workers,
		Loops: []func(context.Context) bool{c.next}, Shutdown: c.shutdown,
	})
}

// enqueue queues a finished Job with a TTL that is not being deleted
// (JOB-TTL-01); a TTL change reaches it as an update (JOB-TTL-04).
func (c *Controller) enqueue(obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok || job.DeletionTimestamp != nil || job.Spec.TTLSecondsAfterFinished == nil {
		return
	}
	if _, finished, _ := finishTime(job); finished {
		c.queue.Add(cache.MetaObjectToName(job))
	}
}

func (c *Controller) next(ctx context.Context) bool {
	return controller.ProcessNext(ctx, c.queue, c.log, controller.Item[cache.ObjectName]{
		Kind: "job", Sync: c.sync, After: c.timers.After, Clock: c.clock,
	})
}

// sync deletes the Job if its TTL has expired, checking again against a
// fresh copy from the API server first, and otherwise returns the time
// left (JOB-TTL-03, JOB-TTL-04).
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
	job, err := c.jobs.Jobs(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		c.timers.Forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, err := decide(job, c.clock.Now())
	if err != nil || !v.candidate {
		return 0, err
	}
	if !v.expired() {
		return v.left, nil
	}
	// The cached TTL may be stale: decide again on the Job as it is now.
	fresh, err := c.client.BatchV1().Jobs(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading job %s: %w", key, err)
	}
	if v, err = decide(fresh, c.clock.Now()); err != nil || !v.candidate {
		return 0, err
	}
	if !v.expired() {
		return v.left, nil
	}
	policy := metav1.DeletePropagationForeground
	err = c.client.BatchV1().Jobs(fresh.Namespace).Delete(ctx, fresh.Name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return 0, fmt.Errorf("deleting job %s: %w", key, err)
	}
	c.log.Debug("Cleaned up job", "job", klog.KObj(fresh), "expiredFor", c.clock.Since(v.expireAt))
	return 0, nil
}
