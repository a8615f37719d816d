package job

import (
	"context"
	"errors"
	"fmt"
	"github.com/batchd/batchd/internal/controller"
	"log/slog"
	"reflect"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
)

// Defaults for zero Config fields and upstream's fixed timings (JOB-SYNC-02,
// JOB-SYNC-03).
const (
	defaultWorkers     = 5 // upstream's --concurrent-job-syncs
	defaultBatchPeriod = time.Second
	retryBase          = time.Second
	retryMax           = time.Minute
)

// Config configures a Controller. Client, Jobs and Pods are required.
type Config struct {
	// Client creates, patches and deletes pods and writes Job status.
	Client kubernetes.Interface
	// Jobs and Pods are the shared informers the controller reads from.
	Jobs batchinformers.JobInformer
	Pods coreinformers.PodInformer
	// Recorder records the controller's events; give it the source
	// component "job-controller". nil: events are dropped.
	Recorder record.EventRecorder
	// Clock dates status and conditions and times active deadlines and pod
	// failure backoff. nil: the real clock. Retries of failed syncs and the
	// batching of pod events always use the real clock.
	Clock clock.WithDelayedExecution
	// Log receives the controller's logs. nil: discard.
	Log *slog.Logger
	// Workers is how many Jobs are synced at once. 0: 5, as upstream.
	Workers int
	// Metrics receives the job_controller_* metrics. nil: none.
	Metrics *Metrics
	// MinBatchPeriod, when positive, makes batching adaptive: pod events
	// and status-only Job updates wait about ten times as long as the
	// Job's last sync took, at least MinBatchPeriod and at most
	// BatchPeriod. Zero or negative: always BatchPeriod, as upstream.
	MinBatchPeriod time.Duration
	// BatchPeriod is how long pod events and status-only Job updates wait
	// so that several coalesce into one sync. 0: 1 s, as upstream;
	// negative: no wait.
	BatchPeriod time.Duration
}

// Controller keeps Jobs' pods and status in line with their spec.
type Controller struct {
	client   kubernetes.Interface
	jobs     batchlisters.JobLister
	pods     corelisters.PodLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[cache.ObjectName]
	orphans  workqueue.TypedRateLimitingInterface[cache.ObjectName] // pods whose finalizer must go
	expect   *expectations
	removals *finalizerExpectations
	written  *writtenVersions
	backoffs *backoffs
	timers   *timers
	clock    clock.WithDelayedExecution
	recorder record.EventRecorder
	log      *slog.Logger
	metrics  *Metrics
	workers  int
	batch    time.Duration
	batcher  *batcher
}

// New validates cfg and registers the controller's informer handlers. It
// starts nothing: call Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Jobs == nil || cfg.Pods == nil {
		return nil, errors.New("job controller: Client, Jobs and Pods are required")
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("job controller: Workers is %d, want 0 or more", cfg.Workers)
	}
	c := &Controller{
		client:   cfg.Client,
		jobs:     cfg.Jobs.Lister(),
		pods:     cfg.Pods.Lister(),
		removals: newFinalizerExpectations(),
		written:  newWrittenVersions(),
		backoffs: newBackoffs(),
		clock:    cfg.Clock,
		recorder: cfg.Recorder,
		log:      cfg.Log,
		metrics:  cfg.Metrics,
		workers:  cfg.Workers,
		batch:    cfg.BatchPeriod,
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
	c.log = c.log.With("controller", "job")
	if c.workers == 0 {
		c.workers = defaultWorkers
	}
	switch {
	case c.batch == 0:
		c.batch = defaultBatchPeriod
	case c.batch < 0:
		c.batch = 0
	}
	c.batcher = newBatcher(cfg.MinBatchPeriod, c.batch)
	c.expect = newExpectations(c.clock)
	c.timers = newTimers(c.clock)
	limiter := func() workqueue.TypedRateLimiter[cache.ObjectName] {
		return workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](retryBase, retryMax)
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(limiter(),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "job"})
	c.orphans = workqueue.NewTypedRateLimitingQueueWithConfig(limiter(),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "job_orphan_pod"})

	jobReg, err := cfg.Jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addJob,
		UpdateFunc: c.updateJob,
		DeleteFunc: c.deleteJob,
	})
	if err != nil {
		c.shutdown()
		return nil, fmt.Errorf("job controller: registering Job handler: %w", err)
	}
	podReg, err := cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: func(obj any) { c.deletePod(obj, true) },
	})
	if err != nil {
		c.shutdown()
		return nil, fmt.Errorf("job controller: registering Pod handler: %w", err)
	}
	c.synced = []cache.InformerSynced{jobReg.HasSynced, podReg.HasSynced}
	return c, nil
}

func (c *Controller) shutdown() {
	c.queue.ShutDown()
	c.orphans.ShutDown()
	c.timers.stop()
}

// Run syncs Jobs until ctx is done. It returns once every worker has exited.
func (c *Controller) Run(ctx context.Context) error {
	return controller.RunWorkers(ctx, controller.Workers{
		Log: c.log, Synced: c.synced, Count: c.workers,
		Loops: []func(context.Context) bool{c.next, c.nextOrphan}, Shutdown: c.shutdown,
	})
}

// next syncs one Job and files its key back according to the result: an
// error retries with backoff, a duration looks again then (JOB-SYNC-03).
func (c *Controller) next(ctx context.Context) bool {
	return controller.ProcessNext(ctx, c.queue, c.log, controller.Item[cache.ObjectName]{
		Kind: "job", Sync: c.sync,
		After: func(key cache.ObjectName, d time.Duration) { c.timers.schedule(key, d, func() { c.queue.Add(key) }) },
	})
}

func (c *Controller) nextOrphan(ctx context.Context) bool {
	return controller.ProcessNext(ctx, c.orphans, c.log, controller.Item[cache.ObjectName]{
		Kind: "pod", Sync: func(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
			return 0, c.syncOrphan(ctx, key)
		},
	})
}

// enqueue schedules a sync of job after delay.
func (c *Controller) enqueue(job *batchv1.Job, delay time.Duration) {
	key := cache.MetaObjectToName(job)
	if delay <= 0 {
		c.queue.Add(key)
		return
	}
	c.queue.AddAfter(key, delay)
}

func (c *Controller) addJob(obj any) {
	if job, ok := obj.(*batchv1.Job); ok {
		c.metrics.jobAdded(job)
		c.enqueue(job, 0)
	}
}

// updateJob syncs at once on a spec change and after the batch period on a
// status-only change (JOB-SYNC-02); it reschedules the active deadline when
// it changed (JOB-DL-03).
func (c *Controller) updateJob(oldObj, newObj any) {
	old, ok1 := oldObj.(*batchv1.Job)
	job, ok2 := newObj.(*batchv1.Job)
	if !ok1 || !ok2 || old.ResourceVersion == job.ResourceVersion {
		return
	}
	if job.Generation == old.Generation {
		c.enqueueBatched(job)
	} else {
		c.enqueue(job, 0)
	}
	if finished(job) {
		c.cleanupPodFinalizers(job)
	}
	if job.Status.StartTime != nil && job.Spec.ActiveDeadlineSeconds != nil &&
		!ptr.Equal(old.Spec.ActiveDeadlineSeconds, job.Spec.ActiveDeadlineSeconds) {
		left := time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second - c.clock.Since(job.Status.StartTime.Time)
		key := cache.MetaObjectToName(job)
		if left <= 0 {
			c.queue.Add(key)
		} else {
			c.timers.schedule(key, left, func() { c.queue.Add(key) })
		}
	}
}

func (c *Controller) deleteJob(obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if job, ok = tomb.Obj.(*batchv1.Job); !ok {
			return
		}
	}
	c.enqueue(job, 0)
	c.cleanupPodFinalizers(job)
}

// cleanupPodFinalizers queues the Job's pods that still carry the tracking
// finalizer, for a Job that is finished or gone (JOB-ADOPT-04).
func (c *Controller) cleanupPodFinalizers(job *batchv1.Job) {
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return
	}
	pods, _ := c.pods.Pods(job.Namespace).List(selector)
	for _, pod := range pods {
		if metav1.IsControlledBy(pod, job) && hasTrackingFinalizer(pod) {
			c.orphans.Add(cache.MetaObjectToName(pod))
		}
	}
}

// resolve returns the Job a controller reference names, if it still
// exists with that UID.
func (c *Controller) resolve(namespace string, ref *metav1.OwnerReference) *batchv1.Job {
	if ref.Kind != "Job" {
		return nil
	}
	job, err := c.jobs.Jobs(namespace).Get(ref.Name)
	if err != nil || job.UID != ref.UID {
		return nil
	}
	return job
}

// jobsSelecting returns the Jobs whose selector matches an orphan pod.
func (c *Controller) jobsSelecting(pod *corev1.Pod) []*batchv1.Job {
	jobs, err := c.jobs.Jobs(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*batchv1.Job
	for _, job := range jobs {
		selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
		if err != nil || selector.Empty() || !selector.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, job)
	}
	if len(out) > 1 {
		c.log.Warn("More than one Job selects a pod", "pod", klog.KObj(pod), "count", len(out))
	}
	return out
}

func (c *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	c.metrics.trackingFinalizerChanged(nil, pod)
	if pod.DeletionTimestamp != nil {
		// A restarted controller sees pods already being deleted; they are
		// no creation it waits for.
		c.deletePod(pod, false)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		job := c.resolve(pod.Namespace, ref)
		if job == nil {
			return
		}
		c.expect.observe(cache.MetaObjectToName(job), 1, 0)
		c.enqueueBatched(job)
		return
	}
	if hasTrackingFinalizer(pod) {
		c.orphans.Add(cache.MetaObjectToName(pod))
	}
	for _, job := range c.jobsSelecting(pod) {
		c.enqueueBatched(job)
	}
}

func (c *Controller) updatePod(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	pod, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 || old.ResourceVersion == pod.ResourceVersion {
		return
	}
	c.metrics.trackingFinalizerChanged(old, pod)
	if pod.DeletionTimestamp != nil {
		c.deletePod(pod, false)
		return
	}
	finalizerGone := !hasTrackingFinalizer(pod)
	ref, oldRef := metav1.GetControllerOf(pod), metav1.GetControllerOf(old)
	refChanged := !reflect.DeepEqual(ref, oldRef)
	if refChanged && oldRef != nil {
		if job := c.resolve(old.Namespace, oldRef); job != nil {
			if finalizerGone {
				c.removals.observed(cache.MetaObjectToName(job), pod.UID)
			}
			c.enqueueBatched(job)
		}
	}
	if ref != nil {
		job := c.resolve(pod.Namespace, ref)
		if job == nil {
			return
		}
		if finalizerGone {
			c.removals.observed(cache.MetaObjectToName(job), pod.UID)
		}
		c.enqueueBatched(job)
		return
	}
	if hasTrackingFinalizer(pod) {
		c.orphans.Add(cache.MetaObjectToName(pod))
	}
	if refChanged || !reflect.DeepEqual(pod.Labels, old.Labels) {
		for _, job := range c.jobsSelecting(pod) {
			c.enqueueBatched(job)
		}
	}
}

// deletePod handles a pod's deletion (final) or the update that set its
// deletionTimestamp.
func (c *Controller) deletePod(obj any, final bool) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	if final {
		c.metrics.trackingFinalizerChanged(pod, nil)
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		if hasTrackingFinalizer(pod) {
			c.orphans.Add(cache.MetaObjectToName(pod))
		}
		return
	}
	job := c.resolve(pod.Namespace, ref)
	if job == nil || finished(job) {
		if hasTrackingFinalizer(pod) {
			c.orphans.Add(cache.MetaObjectToName(pod))
		}
		return
	}
	key := cache.MetaObjectToName(job)
	c.expect.observe(key, 0, 1)
	if final || !hasTrackingFinalizer(pod) {
		c.removals.observed(key, pod.UID)
	}
	c.enqueueBatched(job)
}

// timers fire delayed syncs on the controller's clock (deadlines and pod
// failure backoff), keeping only the earliest per Job.
type timers struct {
	clock   clock.WithDelayedExecution
	mu      sync.Mutex
	stopped bool
	pending map[cache.ObjectName]pendingTimer
}

type pendingTimer struct {
	at    time.Time
	timer clock.Timer
}

func newTimers(c clock.WithDelayedExecution) *timers {
	return &timers{clock: c, pending: make(map[cache.ObjectName]pendingTimer)}
}

func (t *timers) schedule(key cache.ObjectName, after time.Duration, fire func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	at := t.clock.Now().Add(after)
	if p, ok := t.pending[key]; ok {
		if !p.at.After(at) {
			return
		}
		p.timer.Stop()
	}
	var timer clock.Timer
	timer = t.clock.AfterFunc(after, func() {
		t.mu.Lock()
		if p, ok := t.pending[key]; ok && p.timer == timer {
			delete(t.pending, key)
		}
		t.mu.Unlock()
		fire()
	})
	t.pending[key] = pendingTimer{at: at, timer: timer}
}

func (t *timers) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	for key, p := range t.pending {
		p.timer.Stop()
		delete(t.pending, key)
	}
}
