package jobrun

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// followed is a Job to follow, as it was applied or created.
type followed struct {
	namespace, name string
	uid             types.UID
}

// follower watches the followed Jobs and their pods (through informers,
// one pair per namespace) and keeps their state. One goroutine, run's,
// handles every event, in the order the server sent them.
type follower struct {
	client kubernetes.Interface
	view   *view
	logs   *logs
	log    *slog.Logger
	now    func() time.Time
	start  time.Time

	jobs   []*jobState // in the order applied
	byUID  map[types.UID]*jobState
	seq    uint64
	events chan event
}

// event is one informer notification: a Job or a pod, added, updated or
// deleted.
type event struct {
	job     *batchv1.Job
	pod     *corev1.Pod
	deleted bool
}

func newFollower(client kubernetes.Interface, jobs []followed, ns string, v *view, l *logs, log *slog.Logger, now func() time.Time) *follower {
	start := now()
	f := &follower{client: client, view: v, logs: l, log: log, now: now, start: start, byUID: map[types.UID]*jobState{}, events: make(chan event, 64)}
	for _, j := range jobs {
		display := "job/" + j.name
		if j.namespace != ns {
			display = "job/" + j.name + " (namespace " + j.namespace + ")"
		}
		s := &jobState{display: display, namespace: j.namespace, name: j.name, uid: j.uid, pods: map[types.UID]*podRecord{}, start: start}
		f.jobs = append(f.jobs, s)
		f.byUID[j.uid] = s
	}
	return f
}

// run follows until every Job has a terminal condition (nil) or ctx is
// done (its error). The informers it starts have stopped when it returns.
// Log reads it starts use logCtx, which may outlive ctx.
func (f *follower) run(ctx, logCtx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, inf := range f.informers() {
		if _, err := inf.AddEventHandler(f.handler(ctx)); err != nil {
			return fmt.Errorf("watching jobs: %w", err)
		}
		wg.Go(func() { inf.RunWithContext(ctx) })
	}
	for !f.finished() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-f.events:
			f.handle(logCtx, ev)
			f.view.update(f.progress())
		}
	}
	return f.catchUp(ctx, logCtx)
}

// catchUp reads the pods once more once every Job has finished: the pod
// watch may lag behind the Job watch, and the last pod updates are the
// ones that start log reads and say how pods ended.
func (f *follower) catchUp(ctx, logCtx context.Context) error {
	for ns, sel := range f.podSelectors() {
		pods, err := f.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return fmt.Errorf("listing the pods of the jobs in namespace %s: %w", ns, err)
		}
		for i := range pods.Items {
			f.handle(logCtx, event{pod: &pods.Items[i]})
		}
	}
	f.view.update(f.progress())
	return nil
}

// podSelectors is, per namespace, the label selector of the followed
// Jobs' pods.
func (f *follower) podSelectors() map[string]string {
	uids := map[string][]string{}
	for _, j := range f.jobs {
		uids[j.namespace] = append(uids[j.namespace], string(j.uid))
	}
	out := map[string]string{}
	for ns, u := range uids {
		out[ns] = batchv1.ControllerUidLabel + " in (" + strings.Join(u, ",") + ")"
	}
	return out
}

// informers watches, per namespace, the followed Jobs (just the one by
// name, when there is one) and their pods (by the controller-uid label).
func (f *follower) informers() []cache.SharedIndexInformer {
	byNS := map[string][]*jobState{}
	for _, j := range f.jobs {
		byNS[j.namespace] = append(byNS[j.namespace], j)
	}
	var out []cache.SharedIndexInformer
	for ns, podSel := range f.podSelectors() {
		jobs := byNS[ns]
		jobFilter := func(*metav1.ListOptions) {}
		if len(jobs) == 1 {
			sel := fields.OneTermEqualSelector(metav1.ObjectNameField, jobs[0].name).String()
			jobFilter = func(o *metav1.ListOptions) { o.FieldSelector = sel }
		}
		out = append(out,
			batchinformers.NewFilteredJobInformer(f.client, ns, 0, cache.Indexers{}, jobFilter),
			coreinformers.NewFilteredPodInformer(f.client, ns, 0, cache.Indexers{}, func(o *metav1.ListOptions) { o.LabelSelector = podSel }),
		)
	}
	return out
}

// handler forwards informer notifications to run's goroutine.
func (f *follower) handler(ctx context.Context) cache.ResourceEventHandler {
	send := func(obj any, deleted bool) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		var ev event
		switch o := obj.(type) {
		case *batchv1.Job:
			ev = event{job: o, deleted: deleted}
		case *corev1.Pod:
			ev = event{pod: o, deleted: deleted}
		default:
			return
		}
		select {
		case f.events <- ev:
		case <-ctx.Done():
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { send(obj, false) },
		UpdateFunc: func(_, obj any) { send(obj, false) },
		DeleteFunc: func(obj any) { send(obj, true) },
	}
}

// handle folds one event into the state. Objects from the informers are
// shared with their caches and never modified.
func (f *follower) handle(logCtx context.Context, ev event) {
	f.seq++
	now := f.now()
	switch {
	case ev.job != nil:
		j := f.byUID[ev.job.UID]
		if j == nil {
			return
		}
		j.job = ev.job
		if j.end.IsZero() && terminalCondition(ev.job) != nil {
			j.end = now
		}
		f.log.Debug("Job changed", "job", j.namespace+"/"+j.name, "state", progressOf(j).state, "deleted", ev.deleted, "elapsed", now.Sub(f.start))
		if ev.deleted && j.end.IsZero() {
			j.end = now // deleted before it finished: it never will
		}
	case ev.pod != nil:
		pod := ev.pod
		j := f.jobOf(pod)
		if j == nil {
			return
		}
		r := j.pods[pod.UID]
		if r == nil {
			r = &podRecord{name: pod.Name, index: completionIndex(pod), firstSeen: f.seq}
			j.pods[pod.UID] = r
		}
		r.last = pod
		if r.phase != pod.Status.Phase || ev.deleted {
			f.log.Debug("Pod changed", "pod", pod.Namespace+"/"+pod.Name, "phase", pod.Status.Phase, "deleted", ev.deleted, "elapsed", now.Sub(f.start))
		}
		r.phase = pod.Status.Phase
		r.gone = ev.deleted || pod.DeletionTimestamp != nil
		if terminal(r.phase) && r.finishedAt.IsZero() {
			r.finishedAt = finishedAt(pod, now)
		}
		if r.phase == corev1.PodFailed && r.failedSeen == 0 {
			r.failedSeen = f.seq
		}
		if !ev.deleted {
			f.logs.podChanged(logCtx, pod)
		}
	}
}

// jobOf is the followed Job that controls pod.
func (f *follower) jobOf(pod *corev1.Pod) *jobState {
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if j := f.byUID[ref.UID]; j != nil {
			return j
		}
	}
	return f.byUID[types.UID(pod.Labels[batchv1.ControllerUidLabel])]
}

func completionIndex(pod *corev1.Pod) int {
	v, ok := pod.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return i
}

// finishedAt is when a terminal pod's last container ended, else now.
func finishedAt(pod *corev1.Pod, now time.Time) time.Time {
	var t time.Time
	for _, cs := range containerStatuses(pod) {
		if term := cs.State.Terminated; term != nil && term.FinishedAt.After(t) {
			t = term.FinishedAt.Time
		}
	}
	if t.IsZero() {
		return now
	}
	return t
}

// finished reports whether every Job has ended (or is gone).
func (f *follower) finished() bool {
	return !slices.ContainsFunc(f.jobs, func(j *jobState) bool { return j.end.IsZero() })
}

func (f *follower) progress() []progress {
	out := make([]progress, len(f.jobs))
	for i, j := range f.jobs {
		out[i] = progressOf(j)
	}
	return out
}

// results are the Jobs' outcomes, each failed one with the end of the log
// of the container that failed in its last failed pod.
func (f *follower) results() []jobResult {
	out := make([]jobResult, len(f.jobs))
	for i, j := range f.jobs {
		out[i] = jobResult{progress: progressOf(j)}
		if out[i].state != stateComplete {
			out[i].tail = f.failedTail(j)
		}
	}
	return out
}

// failedTail is the log tail of the container that failed last in j.
func (f *follower) failedTail(j *jobState) *podTail {
	var last *podRecord
	for _, r := range sortedPods(j.pods) {
		if r.phase == corev1.PodFailed && (last == nil || !r.finishedAt.Before(last.finishedAt)) {
			last = r
		}
	}
	if last == nil || last.last == nil {
		return nil
	}
	pod := last.last
	cs, ok := failedContainer(pod)
	if !ok {
		return nil
	}
	t := &podTail{pod: pod.Name, container: cs.Name, reason: pod.Status.Reason}
	if term := cs.State.Terminated; term != nil {
		t.exitCode = term.ExitCode
		if term.Reason != "" {
			t.reason = term.Reason
		}
	}
	lines, unavailable, read := f.logs.tail(pod.UID, cs.Name)
	if !read {
		unavailable = "not read"
	}
	t.lines, t.unavailable = lines, unavailable
	return t
}

// failedContainer is the first container (init containers first) that
// ended with a non-zero code, else the first that ended at all.
func failedContainer(pod *corev1.Pod) (corev1.ContainerStatus, bool) {
	all := containerStatuses(pod)
	for _, cs := range all {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return cs, true
		}
	}
	for _, cs := range all {
		if cs.State.Terminated != nil {
			return cs, true
		}
	}
	return corev1.ContainerStatus{}, false
}
