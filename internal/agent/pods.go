package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/podruntime"
)

// Kubelet's container restart backoff (JOB-AGENT-02): 10 s doubling to
// 5 min, forgotten once a container ran for backoffReset.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
	backoffReset   = 10 * time.Minute
)

// defaultGrace is the PodSpec default terminationGracePeriodSeconds.
const defaultGrace = 30 * time.Second

// worker runs one pod: its sandbox, its containers and their restarts,
// its deletion. All its goroutines end before run returns.
type worker struct {
	a       *Agent
	policy  corev1.RestartPolicy
	adopted *podruntime.PodState
	wake    chan struct{} // a new version of the pod, or its deletion

	mu      sync.Mutex
	pod     *corev1.Pod
	gone    bool // the API pod no longer exists
	sandbox podruntime.PodID
	started bool // the sandbox exists
	startAt time.Time
	inits   []*ctr
	mains   []*ctr
	// failReason/failMessage make the pod Failed (DeadlineExceeded,
	// Terminated by a node shutdown).
	failReason, failMessage string
	// disruption is the DisruptionTarget condition the agent adds when it
	// stops the pod for a disruption (JOB-AGENT-06).
	disruption *corev1.PodCondition

	// shutdownCh asks runPod to stop the pod for a node shutdown, within
	// the given grace period; podDone is closed once runPod has returned
	// (or was never needed).
	shutdownCh chan time.Duration
	podDone    chan struct{}

	// podCtx and podWG run what lives as long as runPod runs the pod (the
	// token refresher; podWG is run's group, not runPod's container loops,
	// whose end means the containers are done); refreshing is set once the
	// refresher started.
	podCtx     context.Context
	podWG      *sync.WaitGroup
	refreshing bool

	seen     time.Time // when the agent first saw the pod
	firstRun bool      // a container of the pod has run (for the start metric)

	dirty   chan struct{}
	writeMu sync.Mutex
	written *corev1.PodStatus // last status written
	// apiPod is the pod the API returned for the last status write.
	apiPod *corev1.Pod
}

// ctr is one container's state as the agent reports it.
type ctr struct {
	spec    corev1.Container
	init    bool
	sidecar bool // init container with restartPolicy Always

	attempt uint32 // restartCount
	id      podruntime.ContainerID
	running bool
	startAt time.Time
	exit    *podruntime.ExitStatus // current attempt ended
	last    *podruntime.ExitStatus // previous attempt
	waiting string                 // reason while not running and not exited (or in backoff)
	backoff int                    // consecutive restarts for the backoff

	// Probe results of the current run (probes.go).
	started   bool // the startup probe succeeded, or there is none
	ready     bool // the readiness probe succeeded (successThreshold times)
	probeKill bool // the run was killed for a failed liveness or startup probe
}

// isReady is kubelet's container readiness: running, started, and the
// readiness probe (if any) passing.
func (c *ctr) isReady() bool {
	return c.running && c.started && (c.spec.ReadinessProbe == nil || c.ready)
}

func newWorker(a *Agent, pod *corev1.Pod, adopted *podruntime.PodState) *worker {
	w := &worker{a: a, policy: pod.Spec.RestartPolicy, adopted: adopted, pod: pod, wake: make(chan struct{}, 1), dirty: make(chan struct{}, 1),
		shutdownCh: make(chan time.Duration, 1), podDone: make(chan struct{}), seen: a.clock.Now()}
	if pod.Status.Phase == corev1.PodFailed && pod.Status.Reason != "" {
		// A reason the agent gave before a restart stays.
		w.failReason, w.failMessage = pod.Status.Reason, pod.Status.Message
	}
	initReason := "PodInitializing"
	mainReason := "ContainerCreating"
	if len(pod.Spec.InitContainers) > 0 {
		mainReason = "PodInitializing"
	}
	for _, c := range pod.Spec.InitContainers {
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		w.inits = append(w.inits, &ctr{spec: c, init: true, sidecar: sidecar, waiting: initReason})
	}
	for _, c := range pod.Spec.Containers {
		w.mains = append(w.mains, &ctr{spec: c, waiting: mainReason})
	}
	if adopted != nil {
		w.sandbox, w.started, w.startAt = adopted.ID, true, adopted.CreatedAt
		w.firstRun = true
		a.metrics.podStarted(nil)
	}
	return w
}

func (w *worker) update(pod *corev1.Pod, deleted bool) {
	w.mu.Lock()
	if deleted {
		w.gone = true
	} else {
		w.pod = pod
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) current() (*corev1.Pod, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod, w.gone
}

func (w *worker) key() string { p, _ := w.current(); return p.Namespace + "/" + p.Name }

// run drives the pod until it is deleted (or the agent stops).
func (w *worker) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() { defer wg.Done(); w.statusLoop(wctx) }()

	pod, _ := w.current()
	finished := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	if !finished && pod.DeletionTimestamp == nil || w.adopted != nil {
		w.runPod(wctx, &wg)
		if w.started {
			w.a.metrics.podStopped()
		}
		w.release(ctx)
	}
	close(w.podDone)
	if ctx.Err() != nil {
		return
	}
	// The pod has finished: wait for its deletion and confirm it.
	for {
		pod, gone := w.current()
		if gone || pod.DeletionTimestamp != nil {
			w.finish(ctx, pod, gone)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
	}
}

// release removes the sandbox of a pod whose terminal status the API
// holds, as kubelet removes a terminated pod's cgroups at once rather than
// when the pod object goes: a Job's finished pods may stay for days, and
// each sandbox holds cgroups, which the kernel limits (65,535 per cgroup
// v1 hierarchy). Logs stay: they live in the agent's log directory. While
// the terminal status is not written the sandbox stays, so that a
// restarted agent still finds how the pod ended rather than starting it
// again.
func (w *worker) release(ctx context.Context) {
	if ctx.Err() != nil || !w.started {
		return
	}
	w.writeMu.Lock()
	written := w.written
	w.writeMu.Unlock()
	if written == nil || (written.Phase != corev1.PodSucceeded && written.Phase != corev1.PodFailed) {
		return
	}
	if err := w.a.rt.RemovePod(ctx, w.sandbox); err != nil {
		w.a.log.Warn("Removing the sandbox of a finished pod", "pod", w.key(), "err", err)
		return
	}
	w.mu.Lock()
	w.started = false
	w.mu.Unlock()
}

// finish removes the sandbox and confirms the deletion.
func (w *worker) finish(ctx context.Context, pod *corev1.Pod, gone bool) {
	if w.started {
		if err := w.a.rt.RemovePod(ctx, w.sandbox); err != nil {
			w.a.log.Warn("Removing pod sandbox", "pod", w.key(), "err", err)
		}
	}
	w.a.removeVolumes(pod)
	if gone {
		return
	}
	err := w.a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.a.log.Warn("Confirming pod deletion", "pod", w.key(), "err", err)
	}
}

// runPod starts the sandbox and containers and returns once the pod has
// reached a terminal phase (or was stopped for deletion).
func (w *worker) runPod(ctx context.Context, outer *sync.WaitGroup) {
	pod, _ := w.current()
	if !w.started {
		id, err := w.a.rt.StartPod(ctx, podruntime.PodSpec{
			Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID),
			Labels: pod.Labels, Annotations: pod.Annotations,
			Hostname:     podHostname(pod),
			LogDirectory: filepath.Join(w.a.logDir(), pod.Namespace+"_"+pod.Name+"_"+string(pod.UID)),
		})
		w.a.metrics.podStarted(err)
		if err != nil {
			w.a.log.Error("Starting pod sandbox", "pod", w.key(), "err", err)
			w.fail("CreatePodSandboxError", err.Error())
			return
		}
		w.mu.Lock()
		w.sandbox, w.started, w.startAt = id, true, w.a.clock.Now()
		w.mu.Unlock()
	}
	if pod.Status.StartTime != nil {
		w.startAt = pod.Status.StartTime.Time
	}
	w.restoreAdopted()
	w.markDirty()

	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	var loops sync.WaitGroup
	w.mu.Lock()
	w.podCtx, w.podWG = loopCtx, outer
	w.mu.Unlock()
	if w.a.automountServiceAccount(ctx, pod) {
		// A pod adopted from a previous agent has its token already.
		path := filepath.Join(w.a.serviceAccountDir(pod), tokenFileName)
		if _, err := os.Stat(path); err == nil {
			w.keepTokenFresh(pod, path, time.Time{})
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if w.runInits(loopCtx, &loops) {
			for _, c := range w.mains {
				loops.Add(1)
				go func() { defer loops.Done(); w.runContainer(loopCtx, c) }()
			}
		}
		loops.Wait()
	}()

	var deadline <-chan time.Time
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		left := w.startAt.Add(time.Duration(*d) * time.Second).Sub(w.a.clock.Now())
		t := w.a.clock.NewTimer(max(left, 0))
		defer t.Stop()
		deadline = t.C()
	}
	for {
		select {
		case <-ctx.Done():
			<-done
			return
		case <-deadline:
			w.fail("DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
			stopLoops()
			<-done
			w.stopAll(ctx, w.grace(), stopLoops, done)
			w.writeNow(ctx)
			return
		case <-w.wake:
			pod, gone := w.current()
			if gone || pod.DeletionTimestamp != nil {
				grace := w.grace()
				if gone {
					grace = 0
				}
				w.stopAll(ctx, grace, stopLoops, done)
				w.writeNow(ctx)
				return
			}
		case grace := <-w.shutdownCh:
			w.disrupt(ctx, grace, stopLoops, done)
			return
		case <-w.mainsDone():
			// Main containers are done (no restart pending): stop sidecars
			// so that the pod, and a Job, can complete.
			w.stopAll(ctx, w.grace(), stopLoops, done)
			w.writeNow(ctx)
			return
		case <-done:
			w.writeNow(ctx)
			return
		}
	}
}

// mainsDone returns a channel closed when every main container has exited
// for good, polled cheaply through the status loop's notifications.
func (w *worker) mainsDone() <-chan struct{} {
	ch := make(chan struct{})
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.mains) > 0 && w.allMainsDoneLocked() && w.hasSidecarsLocked() {
		close(ch)
	}
	return ch
}

func (w *worker) hasSidecarsLocked() bool {
	for _, c := range w.inits {
		if c.sidecar && c.running {
			return true
		}
	}
	return false
}

func (w *worker) allMainsDoneLocked() bool {
	for _, c := range w.mains {
		if c.exit == nil || w.wouldRestart(c, *c.exit) {
			return false
		}
	}
	return true
}

// stopAll ends the restart loops and stops every running container with
// grace, recording how each ended.
func (w *worker) stopAll(ctx context.Context, grace time.Duration, stopLoops context.CancelFunc, done <-chan struct{}) {
	stopLoops()
	<-done
	w.mu.Lock()
	var running []*ctr
	for _, c := range append(append([]*ctr{}, w.mains...), w.inits...) {
		if c.running {
			running = append(running, c)
		}
	}
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range running {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.a.rt.Stop(ctx, c.id, grace); err != nil && ctx.Err() == nil {
				w.a.log.Warn("Stopping container", "pod", w.key(), "container", c.spec.Name, "err", err)
			}
			if ctx.Err() != nil {
				return
			}
			if st, err := w.a.rt.Wait(ctx, c.id); err == nil {
				w.exited(c, st)
			}
		}()
	}
	wg.Wait()
}

func (w *worker) grace() time.Duration {
	pod, _ := w.current()
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return defaultGrace
}

func (w *worker) fail(reason, msg string) {
	w.mu.Lock()
	w.failReason, w.failMessage = reason, msg
	w.mu.Unlock()
	w.markDirty()
}

// runInits runs the init containers in order; sidecars are started and
// left running. It reports whether the main containers may start.
func (w *worker) runInits(ctx context.Context, loops *sync.WaitGroup) bool {
	for _, c := range w.inits {
		if c.sidecar {
			loops.Add(1)
			started := make(chan struct{})
			go func() { defer loops.Done(); w.runContainerNotify(ctx, c, started) }()
			select {
			case <-started:
			case <-ctx.Done():
				return false
			}
			continue
		}
		w.runContainer(ctx, c)
		w.mu.Lock()
		ok := c.exit != nil && c.exit.Code == 0
		w.mu.Unlock()
		if !ok {
			return false
		}
	}
	return ctx.Err() == nil
}

func (w *worker) runContainer(ctx context.Context, c *ctr) { w.runContainerNotify(ctx, c, nil) }

// runContainerNotify runs c, restarting it as its restart policy says,
// until it is done or ctx ends. started is closed once it first runs.
func (w *worker) runContainerNotify(ctx context.Context, c *ctr, started chan struct{}) {
	notify := func() {
		if started != nil {
			close(started)
			started = nil
		}
	}
	defer notify()
	for {
		w.mu.Lock()
		id, running, exit := c.id, c.running, c.exit
		w.mu.Unlock()
		switch {
		case running: // adopted and still running
		case exit != nil: // adopted and exited: decide below
		default:
			if ctx.Err() != nil {
				return
			}
			var err error
			id, err = w.start(ctx, c)
			if err != nil {
				return
			}
		}
		if exit == nil {
			notify()
			stopProbes := w.startProbes(ctx, c, id)
			st, err := w.a.rt.Wait(ctx, id)
			stopProbes()
			if err != nil {
				if ctx.Err() == nil {
					w.a.log.Warn("Waiting for container", "pod", w.key(), "container", c.spec.Name, "err", err)
					w.exited(c, podruntime.ExitStatus{Code: 137, Reason: podruntime.ReasonContainerStatusUnknown, FinishedAt: w.a.clock.Now()})
				}
				return
			}
			w.exited(c, st)
			exit = &st
		}
		if !w.wouldRestart(c, *exit) {
			w.markDirty()
			return
		}
		w.mu.Lock()
		if exit.FinishedAt.Sub(exit.StartedAt) >= backoffReset {
			c.backoff = 0
		}
		delay := min(backoffInitial<<min(c.backoff, 10), backoffMax)
		c.backoff++
		c.last, c.exit, c.waiting = exit, nil, "CrashLoopBackOff"
		c.attempt++
		c.probeKill = false
		w.mu.Unlock()
		w.markDirty()
		t := w.a.clock.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// wouldRestart applies the container's (or pod's) restart policy. A
// container killed for a failed liveness or startup probe is restarted
// whatever its exit code unless the policy is Never, as kubelet does.
func (w *worker) wouldRestart(c *ctr, st podruntime.ExitStatus) bool {
	if c.sidecar {
		return true
	}
	if c.probeKill && w.policy != corev1.RestartPolicyNever {
		return true
	}
	switch w.policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return st.Code != 0
	default:
		return !c.init || st.Code != 0
	}
}

// start starts the container's current attempt.
func (w *worker) start(ctx context.Context, c *ctr) (podruntime.ContainerID, error) {
	pod, _ := w.current()
	spec, err := w.a.containerSpec(ctx, pod, &c.spec, c.attempt)
	if err != nil {
		w.a.metrics.containerStarted(c.init, &configError{err})
		w.a.log.Warn("Preparing container", "pod", w.key(), "container", c.spec.Name, "err", err)
		w.mu.Lock()
		c.waiting = "CreateContainerConfigError"
		w.mu.Unlock()
		w.markDirty()
		return "", err
	}
	id, err := w.a.rt.StartContainer(ctx, w.sandbox, spec)
	if err != nil && !errors.Is(err, podruntime.ErrStartFailed) {
		w.a.metrics.containerStarted(c.init, err)
		w.a.log.Warn("Starting container", "pod", w.key(), "container", c.spec.Name, "err", err)
		w.exited(c, podruntime.ExitStatus{Code: 128, Reason: podruntime.ReasonStartError, Message: err.Error(), FinishedAt: w.a.clock.Now()})
		return "", err
	}
	// A command that cannot be run (ErrStartFailed) still started a
	// container, which exits with the error: counted as started.
	w.a.metrics.containerStarted(c.init, nil)
	w.mu.Lock()
	c.id, c.running, c.startAt, c.waiting = id, true, w.a.clock.Now(), ""
	c.started, c.ready, c.probeKill = c.spec.StartupProbe == nil, false, false
	first, startAt := !w.firstRun, c.startAt
	w.firstRun = true
	w.mu.Unlock()
	if first {
		w.a.metrics.firstContainerRunning(w.seen, startAt)
	}
	w.markDirty()
	return id, nil
}

func (w *worker) exited(c *ctr, st podruntime.ExitStatus) {
	w.mu.Lock()
	attempt := c.attempt
	w.mu.Unlock()
	pod, _ := w.current()
	st = w.a.withTerminationMessage(pod, &c.spec, attempt, st)
	w.mu.Lock()
	wasRunning := c.running
	c.running, c.exit, c.waiting = false, &st, ""
	c.ready = false
	w.mu.Unlock()
	if wasRunning {
		w.a.metrics.containerExited()
	}
	w.markDirty()
	select { // let runPod re-check mainsDone
	case w.wake <- struct{}{}:
	default:
	}
}

// restoreAdopted takes over the containers a previous agent started.
// Probes start over: a running container is not started (when it has a
// startup probe) nor ready (when it has a readiness probe) until they
// succeed again.
func (w *worker) restoreAdopted() {
	if w.adopted == nil {
		return
	}
	pod, _ := w.current()
	w.mu.Lock()
	defer w.mu.Unlock()
	byName := map[string][]podruntime.ContainerState{}
	for _, cs := range w.adopted.Containers {
		byName[cs.Spec.Name] = append(byName[cs.Spec.Name], cs) // ordered by attempt
	}
	for _, c := range append(append([]*ctr{}, w.inits...), w.mains...) {
		runs := byName[c.spec.Name]
		if len(runs) == 0 {
			continue
		}
		cur := runs[len(runs)-1]
		c.attempt, c.id, c.waiting = cur.Spec.Attempt, cur.ID, ""
		c.backoff = int(cur.Spec.Attempt)
		if prev := runs[max(len(runs)-2, 0)]; len(runs) > 1 && prev.Exit != nil {
			st := w.a.withTerminationMessage(pod, &c.spec, prev.Spec.Attempt, *prev.Exit)
			c.last = &st
		}
		switch {
		case cur.State == podruntime.StateExited && cur.Exit != nil:
			st := w.a.withTerminationMessage(pod, &c.spec, cur.Spec.Attempt, *cur.Exit)
			c.exit = &st
		default:
			c.running, c.startAt = true, cur.StartedAt
			c.started = c.spec.StartupProbe == nil
			w.a.metrics.runningContainers.WithLabelValues("running").Inc()
		}
	}
	w.adopted = nil
}

func podHostname(pod *corev1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = h[:63]
	}
	return h
}

func (a *Agent) logDir() string { return filepath.Join(a.cfg.StateDir, "pods") }
