package cronjob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/controller"
)

// Defaults for zero Config fields: upstream's --concurrent-cron-job-syncs,
// and its per-item retry backoff.
const (
	defaultWorkers = 5
	retryBase      = 5 * time.Millisecond
	retryMax       = 1000 * time.Second
)

// byController indexes Jobs by the UID in their controller reference, so
// a sync finds a CronJob's children without scanning its namespace.
const byController = "batchd.cronjob/controller-uid"

func controllerUID(obj any) ([]string, error) {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return nil, nil
	}
	if ref := metav1.GetControllerOf(job); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}

// Config configures a Controller. Client, CronJobs and Jobs are required.
type Config struct {
	// Client creates and deletes Jobs and writes CronJob status.
	Client kubernetes.Interface
	// CronJobs and Jobs are the shared informers the controller reads.
	CronJobs batchinformers.CronJobInformer
	Jobs     batchinformers.JobInformer
	// Recorder records the controller's events; give it the source
	// component EventSource. nil: events are dropped.
	Recorder record.EventRecorder
	// Clock says what time it is and times the wait for each CronJob's
	// next schedule time. nil: the real clock. Retries of failed syncs
	// always use the real clock.
	Clock clock.WithDelayedExecution
	// Log receives the controller's logs. nil: discard.
	Log *slog.Logger
	// Workers is how many CronJobs are synced at once. 0: 5, as upstream.
	Workers int
}

// Controller creates Jobs from CronJobs on their schedules and keeps the
// CronJobs' status and Job history.
type Controller struct {
	client   kubernetes.Interface
	cronJobs batchlisters.CronJobLister
	jobs     cache.Indexer
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[cache.ObjectName]
	timers   *controller.Timers
	clock    clock.WithDelayedExecution
	recorder record.EventRecorder
	log      *slog.Logger
	workers  int
	// local is the zone of schedules without timeZone or a TZ prefix: the
	// process's, as upstream's controller-manager (CRON-SYN-05).
	local *time.Location
}

// New validates cfg and registers the controller's informer handlers. It
// starts nothing: call Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.CronJobs == nil || cfg.Jobs == nil {
		return nil, errors.New("cronjob controller: Client, CronJobs and Jobs are required")
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("cronjob controller: Workers is %d, want 0 or more", cfg.Workers)
	}
	c := &Controller{
		client:   cfg.Client,
		cronJobs: cfg.CronJobs.Lister(),
		jobs:     cfg.Jobs.Informer().GetIndexer(),
		clock:    cfg.Clock,
		recorder: cfg.Recorder,
		log:      cfg.Log,
		workers:  cfg.Workers,
		local:    time.Local,
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.recorder == nil {
		c.recorder = discardRecorder()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("controller", "cronjob")
	if c.workers == 0 {
		c.workers = defaultWorkers
	}
	if _, ok := c.jobs.GetIndexers()[byController]; !ok {
		if err := cfg.Jobs.Informer().AddIndexers(cache.Indexers{byController: controllerUID}); err != nil {
			return nil, fmt.Errorf("cronjob controller: indexing Jobs: %w", err)
		}
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](retryBase, retryMax),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "cronjob"})
	c.timers = controller.NewTimers(c.clock, c.queue.Add)

	cjReg, err := cfg.CronJobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addCronJob,
		UpdateFunc: c.updateCronJob,
		DeleteFunc: c.deleteCronJob,
	})
	if err != nil {
		c.shutdown()
		return nil, fmt.Errorf("cronjob controller: registering CronJob handler: %w", err)
	}
	jobReg, err := cfg.Jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addJob,
		UpdateFunc: c.updateJob,
		DeleteFunc: c.deleteJob,
	})
	if err != nil {
		c.shutdown()
		return nil, fmt.Errorf("cronjob controller: registering Job handler: %w", err)
	}
	c.synced = []cache.InformerSynced{cjReg.HasSynced, jobReg.HasSynced}
	return c, nil
}

func (c *Controller) shutdown() {
	c.queue.ShutDown()
	c.timers.Stop()
}

// Run syncs CronJobs until ctx is done. It returns once every worker has
// exited.
func (c *Controller) Run(ctx context.Context) error {
	return controller.RunWorkers(ctx, controller.Workers{
		Log: c.log, Synced: c.synced, Count: c.workers,
		Loops: []func(context.Context) bool{c.next}, Shutdown: c.shutdown,
	})
}

// next syncs one CronJob and files its key back according to the result:
// an error retries with backoff, a duration looks again then on the
// controller's clock.
func (c *Controller) next(ctx context.Context) bool {
	return controller.ProcessNext(ctx, c.queue, c.log, controller.Item[cache.ObjectName]{
		Kind: "cronjob", Sync: c.sync, After: c.timers.After, Clock: c.clock,
	})
}

func (c *Controller) addCronJob(obj any) {
	if cj, ok := obj.(*batchv1.CronJob); ok {
		c.queue.Add(cache.MetaObjectToName(cj))
	}
}

// updateCronJob syncs at once, except when the schedule or time zone
// changed: then the next sync is at the new schedule's next time
// (CRON-SCHED-08), and an unparsable new schedule is reported at once
// (CRON-SCHED-09).
func (c *Controller) updateCronJob(oldObj, newObj any) {
	old, ok1 := oldObj.(*batchv1.CronJob)
	cj, ok2 := newObj.(*batchv1.CronJob)
	if !ok1 || !ok2 {
		return
	}
	key := cache.MetaObjectToName(cj)
	if old.Spec.Schedule == cj.Spec.Schedule && ptr.Equal(old.Spec.TimeZone, cj.Spec.TimeZone) {
		c.queue.Add(key)
		return
	}
	spec, _ := scheduleSpec(cj)
	sched, err := parseSchedule(spec, c.local)
	if err != nil {
		c.log.Debug("Unparseable schedule for cronjob", "cronjob", klog.KObj(cj), "schedule", cj.Spec.Schedule, "err", err)
		c.record(cj, warning(reasonUnparseableOnUpdate, fmt.Sprintf(msgUnparseableOnUpdate, cj.Spec.Schedule)))
		return
	}
	now := c.clock.Now()
	c.timers.At(key, now.Add(requeueAfter(cj, now, sched)))
}

func (c *Controller) deleteCronJob(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if cj, ok := obj.(*batchv1.CronJob); ok {
		c.queue.Add(cache.MetaObjectToName(cj))
	}
}

// owner returns the CronJob a controller reference names, if it exists
// with that UID.
func (c *Controller) owner(namespace string, ref *metav1.OwnerReference) *batchv1.CronJob {
	if ref == nil || ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return nil
	}
	cj, err := c.cronJobs.CronJobs(namespace).Get(ref.Name)
	if err != nil || cj.UID != ref.UID {
		return nil
	}
	return cj
}

// enqueueOwner syncs the CronJob controlling job, if any, at once: any
// change to a child may change the books or free a Forbid run
// (CRON-SCHED-08).
func (c *Controller) enqueueOwner(job *batchv1.Job) {
	if cj := c.owner(job.Namespace, metav1.GetControllerOf(job)); cj != nil {
		c.queue.Add(cache.MetaObjectToName(cj))
	}
}

func (c *Controller) addJob(obj any) {
	if job, ok := obj.(*batchv1.Job); ok {
		c.enqueueOwner(job)
	}
}

func (c *Controller) updateJob(oldObj, newObj any) {
	old, ok1 := oldObj.(*batchv1.Job)
	job, ok2 := newObj.(*batchv1.Job)
	if !ok1 || !ok2 || old.ResourceVersion == job.ResourceVersion {
		return
	}
	if ref := metav1.GetControllerOf(old); ref != nil && !reflect.DeepEqual(ref, metav1.GetControllerOf(job)) {
		c.enqueueOwner(old)
	}
	c.enqueueOwner(job)
}

func (c *Controller) deleteJob(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if job, ok := obj.(*batchv1.Job); ok {
		c.enqueueOwner(job)
	}
}
