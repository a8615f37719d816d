package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// defaultWorkers is how many pods are scheduled at once when Config.Workers
// is 0. Deciding is serialised and takes microseconds; the workers exist to
// keep bindings (one API round trip each) in flight together.
const defaultWorkers = 16

// Config configures a Scheduler. Client, Pods and Nodes are required.
type Config struct {
	// Client binds pods, patches their PodScheduled condition, and records
	// events when Recorder is nil.
	Client kubernetes.Interface
	// Pods is a shared pod informer that sees assigned pods as well as
	// pending ones: the scheduler binds the pending ones and accounts the
	// requests of the assigned ones. It may be unfiltered, or filtered to
	// unfinished pods ("status.phase!=Succeeded,status.phase!=Failed"); it
	// must not be narrowed to unassigned pods (spec.nodeName=), or bound
	// pods would vanish from the accounting.
	Pods coreinformers.PodInformer
	// Nodes is the shared node informer.
	Nodes coreinformers.NodeInformer
	// Namespaces resolves the namespaceSelector of pod affinity and
	// anti-affinity terms. nil: a namespaceSelector other than {} selects
	// no namespace.
	Namespaces coreinformers.NamespaceInformer
	// Recorder records the FailedScheduling and Scheduled events. nil: Run
	// records them through Client as "default-scheduler".
	Recorder record.EventRecorder
	// Strategy ranks the nodes a pod fits on. "": LeastAllocated (spread).
	Strategy Strategy
	// Clock dates conditions and times retries. nil: the real clock.
	Clock clock.WithTicker
	// Log receives the scheduler's logs. nil: discard.
	Log *slog.Logger
	// Workers is how many pods are scheduled and bound at once. 0: 16.
	Workers int
}

// Scheduler binds pending pods to nodes.
type Scheduler struct {
	client     kubernetes.Interface
	pods       corelisters.PodLister
	namespaces corelisters.NamespaceLister // nil without Config.Namespaces
	synced     []cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[cache.ObjectName]
	state      *state
	parking    *parking
	recorder   record.EventRecorder // set by Run when Config.Recorder is nil
	strategy   Strategy
	clock      clock.WithTicker
	log        *slog.Logger
	workers    int
}

// New validates cfg and registers the scheduler's informer handlers. It
// starts nothing: call Run. The work queue it creates is shut down by Run.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Client == nil || cfg.Pods == nil || cfg.Nodes == nil {
		return nil, errors.New("scheduler: Client, Pods and Nodes are required")
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("scheduler: Workers is %d, want 0 or more", cfg.Workers)
	}
	if cfg.Strategy == "" {
		cfg.Strategy = LeastAllocated
	}
	if err := cfg.Strategy.validate(); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	s := &Scheduler{
		client:   cfg.Client,
		pods:     cfg.Pods.Lister(),
		state:    newState(),
		parking:  newParking(),
		recorder: cfg.Recorder,
		strategy: cfg.Strategy,
		clock:    cfg.Clock,
		log:      cfg.Log,
		workers:  cfg.Workers,
	}
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("controller", "scheduler")
	if s.workers == 0 {
		s.workers = defaultWorkers
	}
	s.queue = workqueue.NewTypedRateLimitingQueueWithConfig(rateLimiter(),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "scheduler", Clock: s.clock})

	podReg, err := cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.addPod,
		UpdateFunc: s.updatePod,
		DeleteFunc: s.deletePod,
	})
	if err != nil {
		s.queue.ShutDown()
		return nil, fmt.Errorf("scheduler: registering pod handler: %w", err)
	}
	nodeReg, err := cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.addNode,
		UpdateFunc: s.updateNode,
		DeleteFunc: s.deleteNode,
	})
	if err != nil {
		s.queue.ShutDown()
		return nil, fmt.Errorf("scheduler: registering node handler: %w", err)
	}
	s.synced = []cache.InformerSynced{podReg.HasSynced, nodeReg.HasSynced}
	if cfg.Namespaces != nil {
		s.namespaces = cfg.Namespaces.Lister()
		s.synced = append(s.synced, cfg.Namespaces.Informer().HasSynced)
	}
	return s, nil
}

// rateLimiter spaces the retries of pods whose binding or status write
// failed: from 5ms, doubling, at most 30s. Pods that no node can take wait
// in the parking lot instead (see parking).
func rateLimiter() workqueue.TypedRateLimiter[cache.ObjectName] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](5*time.Millisecond, 30*time.Second)
}

// Run schedules pods until ctx is done. It returns once every worker has
// exited. Call it once; the caller starts the informers (before or after
// calling Run, which waits for their caches).
func (s *Scheduler) Run(ctx context.Context) error {
	defer s.queue.ShutDown()
	if s.recorder == nil {
		var stop func()
		s.recorder, stop = newRecorder(ctx, s.client)
		defer stop()
	}
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		// Only ctx ends the wait: a shutdown, not a failure.
		s.log.Info("Stopped before the caches synced")
		return nil
	}
	s.log.Info("Starting scheduler", "workers", s.workers, "strategy", s.strategy)
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(func() { s.work(ctx) })
	}
	wg.Go(func() { s.flush(ctx) })
	<-ctx.Done()
	s.queue.ShutDown()
	wg.Wait()
	s.log.Info("Stopped scheduler")
	return nil
}

// flush retries pods parked for too long, in case the event that would
// have helped them was missed, until ctx is done.
func (s *Scheduler) flush(ctx context.Context) {
	t := s.clock.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			s.requeue(s.parking.expire(s.clock.Now()))
		}
	}
}

// responsible reports whether pod is this scheduler's to place.
func responsible(pod *corev1.Pod) bool {
	return pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == corev1.DefaultSchedulerName
}

func finished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// pending reports whether pod waits for this scheduler to bind it.
func pending(pod *corev1.Pod) bool {
	return pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil && !finished(pod) && responsible(pod)
}

func (s *Scheduler) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || finished(pod) {
		return
	}
	if pod.Spec.NodeName != "" {
		s.state.setPod(pod)
		s.move(causeAffinity) // a pod others want to join may have arrived
		return
	}
	if pending(pod) {
		s.queue.Add(cache.MetaObjectToName(pod))
	}
}

func (s *Scheduler) updatePod(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	pod, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 || old.ResourceVersion == pod.ResourceVersion {
		return
	}
	key := cache.MetaObjectToName(pod)
	if pod.Spec.NodeName != "" {
		if finished(pod) {
			// A finished pod holds nothing, as upstream's scheduler,
			// whose informer drops finished pods.
			s.state.removePod(pod.UID)
			if !finished(old) {
				s.move(causeResources | causeAntiAffinity)
			}
			return
		}
		s.state.setPod(pod)
		switch {
		case old.Spec.NodeName == "":
			s.parking.done(key) // the binding, seen
			s.move(causeAffinity)
		case !maps.Equal(old.Labels, pod.Labels):
			s.move(causeAffinity | causeAntiAffinity)
		}
		return
	}
	if !pending(pod) {
		s.parking.done(key)
		return
	}
	// The pod's own changes that may change where it fits: spec (new
	// tolerations, removed scheduling gates) and labels (affinity to
	// itself). Status updates, including this scheduler's, are not.
	if !maps.Equal(old.Labels, pod.Labels) || !equality.Semantic.DeepEqual(old.Spec, pod.Spec) {
		s.queue.AddAfter(key, s.parking.unpark(key, s.clock.Now()))
	}
}

func (s *Scheduler) deletePod(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	s.parking.done(cache.MetaObjectToName(pod))
	// An assumed pod can be deleted before the informer shows it bound.
	if pod.Spec.NodeName != "" || s.state.known(pod.UID) {
		s.state.removePod(pod.UID)
		s.move(causeResources | causeAntiAffinity)
	}
}

func (s *Scheduler) addNode(obj any) {
	if node, ok := obj.(*corev1.Node); ok {
		s.state.setNode(node)
		s.move(causeAny)
	}
}

func (s *Scheduler) updateNode(oldObj, newObj any) {
	old, ok1 := oldObj.(*corev1.Node)
	node, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 || old.ResourceVersion == node.ResourceVersion {
		return
	}
	s.state.setNode(node)
	if schedulingChanged(old, node) {
		s.move(causeAny)
	}
}

// schedulingChanged reports whether a node update may change where pods
// fit: not heartbeats, but labels, taints, cordoning, allocatable or
// readiness.
func schedulingChanged(old, node *corev1.Node) bool {
	return !maps.Equal(old.Labels, node.Labels) ||
		old.Spec.Unschedulable != node.Spec.Unschedulable ||
		!equality.Semantic.DeepEqual(old.Spec.Taints, node.Spec.Taints) ||
		!equality.Semantic.DeepEqual(old.Status.Allocatable, node.Status.Allocatable) ||
		readyStatus(old) != readyStatus(node)
}

func (s *Scheduler) deleteNode(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	if node, ok := obj.(*corev1.Node); ok {
		s.state.removeNode(node.Name)
	}
}

// move queues again the parked pods that a change of the kinds in c may
// help, each after what is left of its backoff.
func (s *Scheduler) move(c cause) {
	s.requeue(s.parking.move(c, s.clock.Now()))
}

func (s *Scheduler) requeue(keys []keyDelay) {
	for _, k := range keys {
		s.queue.AddAfter(k.key, k.delay)
	}
}

// work processes keys until the queue shuts down.
func (s *Scheduler) work(ctx context.Context) {
	for s.next(ctx) {
	}
}

// next schedules one pod, retrying it with backoff on error. It reports
// false once the queue has shut down.
func (s *Scheduler) next(ctx context.Context) bool {
	key, quit := s.queue.Get()
	if quit {
		return false
	}
	defer s.queue.Done(key)
	if err := s.sync(ctx, key); err != nil {
		s.queue.AddRateLimited(key)
		if ctx.Err() == nil {
			s.log.Warn("Scheduling pod failed, will retry", "pod", key.String(), "err", err)
		}
		return true
	}
	s.queue.Forget(key)
	return true
}

// sync makes one attempt to schedule the pod named by key: decide against
// the scheduler's view of the cluster (assuming the pod on the chosen
// node in the same step), then bind, or report why no node fits and park
// the pod until a change may help.
func (s *Scheduler) sync(ctx context.Context, key cache.ObjectName) error {
	pod, err := s.pods.Pods(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		s.parking.done(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading pod %s from cache: %w", key, err)
	}
	if !pending(pod) || s.state.known(pod.UID) {
		return nil // bound (perhaps by us, and the cache is behind), finished, going, or not ours
	}
	if len(pod.Spec.SchedulingGates) > 0 {
		return s.setCondition(ctx, pod, corev1.PodReasonSchedulingGated, msgSchedulingGated)
	}
	gen := s.parking.generation()
	d := s.state.schedule(s.candidate(pod), s.strategy)
	if d.node == "" {
		return s.unschedulable(ctx, pod, d, gen)
	}
	return s.bind(ctx, pod, d.node)
}

// candidate parses pod with what the namespace informer knows.
func (s *Scheduler) candidate(pod *corev1.Pod) *candidate {
	if s.namespaces == nil {
		return newCandidate(pod, nil, nil)
	}
	var nsLabels labels.Set
	if ns, err := s.namespaces.Get(pod.Namespace); err == nil {
		nsLabels = ns.Labels
	}
	return newCandidate(pod, nsLabels, func(sel labels.Selector) []string {
		list, err := s.namespaces.List(sel)
		if err != nil {
			return nil
		}
		names := make([]string, 0, len(list))
		for _, ns := range list {
			names = append(names, ns.Name)
		}
		return slices.Sorted(slices.Values(names))
	})
}

// logPod is the log attribute naming a pod.
func logPod(pod *corev1.Pod) slog.Attr {
	return slog.Any("pod", klog.KObj(pod))
}
