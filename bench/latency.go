package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/batchd/batchd/internal/controlplane"
)

// latencyFlags are the knobs of the latency benchmark.
type latencyFlags struct {
	pods     int
	jobs     int
	runs     int
	noFsync  bool
	bin      string
	jsonPath string
	timeout  time.Duration
	disk     string // diskFresh or diskTmp
}

// latencyScenario names the latency benchmark's rows.
const latencyScenario = "latency"

// latencyLabel marks the benchmark's lone pods.
const latencyLabel = "bench=latency"

// runLatency measures, one at a time on an otherwise idle system, lone
// pods' create to Running, one-pod Jobs' create to Complete, and a new
// watch's first event.
func runLatency(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := latencyFlags{}
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench latency [flags]\n\n"+
			"On an otherwise idle in-process control plane with its agent (hostproc), creates\n"+
			"-pods lone /bin/sleep pods one at a time and times create to Running, then\n"+
			"-jobs one-pod /bin/true Jobs one at a time and times create to Complete, then\n"+
			"-jobs times lists a ConfigMap, watches from the list, creates one and times the\n"+
			"create to the new watch's first event (what kubectl get -w and kubectl wait see).\n"+
			"Each run has a fresh server; each figure is the median of -runs runs.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&f.pods, "pods", 50, "lone pods, created one at a time")
	fs.IntVar(&f.jobs, "jobs", 20, "one-pod Jobs, created one at a time")
	fs.IntVar(&f.runs, "runs", 3, "runs, each on a fresh server")
	fs.BoolVar(&f.noFsync, "no-fsync", false, "turn off fsync in embedded etcd; production keeps it on")
	fs.StringVar(&f.bin, "bin", "", "`dir`ectory holding a built batchd-pod (default: go build it into a temporary directory)")
	fs.StringVar(&f.jsonPath, "json", "", "also write the results as JSON to this `file`")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "time budget of each run")
	// tmp by default: a few pods create few directories, and an fsync on
	// the loop device costs 0.1-0.2 ms more, which one-at-a-time latencies
	// would show (a one-pod Job's p50 19-20 ms on tmp, 22-25 ms on fresh).
	diskFlag(fs, &f.disk, diskTmp)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 || f.pods < 1 || f.jobs < 1 || f.runs < 1 || f.timeout <= 0 {
		fmt.Fprintln(stderr, "no arguments; -pods, -jobs and -runs at least 1, -timeout positive")
		return errUsage
	}
	if err := validDisk(f.disk); err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	bins, err := buildBinaries(ctx, f.bin, false, stderr)
	if err != nil {
		return err
	}
	defer bins.remove()

	res := newResults(latencyScenario)
	res.param(latencyScenario, fmt.Sprintf("one at a time on an idle in-process server with its agent (hostproc): %d lone /bin/sleep pods, then %d one-pod /bin/true Jobs; etcd fsync %v, disk %s", f.pods, f.jobs, !f.noFsync, f.disk))
	var errs []error
	for run := 1; run <= f.runs && ctx.Err() == nil; run++ {
		if err := latencyOnce(ctx, f, bins.helper, res, run, stderr); err != nil {
			err = fmt.Errorf("%s run %d: %w", latencyScenario, run, err)
			res.fail(err)
			errs = append(errs, err)
		}
	}
	if err := res.output(stdout, f.jsonPath); err != nil {
		return err
	}
	return errors.Join(append(errs, ctx.Err())...)
}

// latencyOnce starts a control plane with its agent on a fresh data
// directory, measures both parts and stops the server.
func latencyOnce(ctx context.Context, f latencyFlags, helper string, res *results, run int, progress io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	srv, remove, err := startNodeServer(ctx, controlplane.Config{NoFsync: f.noFsync}, f.disk, helper, progress)
	if err != nil {
		return err
	}
	defer remove()
	err = latencyMeasure(ctx, f, srv, res, run, progress)
	return errors.Join(err, srv.stop())
}

func latencyMeasure(ctx context.Context, f latencyFlags, srv *server, res *results, run int, progress io.Writer) error {
	conf := *srv.config
	conf.ContentType = ctProtobuf.mime
	cs, err := kubernetes.NewForConfig(&conf)
	if err != nil {
		return err
	}
	node, err := awaitReadyNode(ctx, cs)
	if err != nil {
		return err
	}
	// The agent waits for a pod's service account; the system creates
	// the default one after ready. That wait is not the pod's latency.
	if err := awaitDefaultServiceAccount(ctx, cs); err != nil {
		return err
	}
	logf(progress, "%s run %d: node %s ready; %d lone pods, then %d one-pod Jobs", latencyScenario, run, node, f.pods, f.jobs)
	toBound, toRunning, err := lonePods(ctx, cs, f.pods)
	if err != nil {
		return fmt.Errorf("lone pods: %w", err)
	}
	res.add(latencyScenario, "lone pod, create to bound to the node p50", "ms", ms(percentile(toBound, 50)))
	res.add(latencyScenario, "lone pod, create to bound to the node p99", "ms", ms(percentile(toBound, 99)))
	res.add(latencyScenario, "lone pod, create to Running p50", "ms", ms(percentile(toRunning, 50)))
	res.add(latencyScenario, "lone pod, create to Running p99", "ms", ms(percentile(toRunning, 99)))
	toComplete, err := oneTaskJobs(ctx, cs, f.jobs)
	if err != nil {
		return fmt.Errorf("one-pod Jobs: %w", err)
	}
	res.add(latencyScenario, "one-pod Job, create to Complete p50", "ms", ms(percentile(toComplete, 50)))
	res.add(latencyScenario, "one-pod Job, create to Complete p99", "ms", ms(percentile(toComplete, 99)))
	res.add(latencyScenario, "one-pod Job, create to Complete max", "ms", ms(percentile(toComplete, 100)))
	firstEvent, err := newWatches(ctx, cs, f.jobs)
	if err != nil {
		return fmt.Errorf("new watches: %w", err)
	}
	res.add(latencyScenario, "new watch, create to its first event p50", "ms", ms(percentile(firstEvent, 50)))
	res.add(latencyScenario, "new watch, create to its first event p99", "ms", ms(percentile(firstEvent, 99)))
	logf(progress, "%s run %d: lone pods create to bound p50 %.1f ms, to Running p50 %.1f ms p99 %.1f ms; one-pod Jobs create to Complete p50 %.0f ms p99 %.0f ms; new watches' first event p50 %.1f ms p99 %.1f ms",
		latencyScenario, run, ms(percentile(toBound, 50)), ms(percentile(toRunning, 50)), ms(percentile(toRunning, 99)),
		ms(percentile(toComplete, 50)), ms(percentile(toComplete, 99)), ms(percentile(firstEvent, 50)), ms(percentile(firstEvent, 99)))
	return nil
}

// lonePods creates n sleeping pods one at a time, each once the last one
// runs, and returns per pod the time from its create call's start to its
// first watch event bound to the node and showing it running. It then
// deletes them and waits until the agent has stopped them all.
func lonePods(ctx context.Context, cs kubernetes.Interface, n int) (toBound, toRunning []time.Duration, err error) {
	pods := cs.CoreV1().Pods(metav1.NamespaceDefault)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	w := startWatch(ctx, list.ResourceVersion, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return pods.Watch(ctx, o)
	})
	defer w.stop()
	for i := range n {
		name := fmt.Sprintf("lone-%d", i)
		var bound time.Time
		start := time.Now()
		if _, err := pods.Create(ctx, lonePod(name), metav1.CreateOptions{}); err != nil {
			return nil, nil, fmt.Errorf("creating pod %s: %w", name, err)
		}
		running, err := w.await(ctx, func(obj any, at time.Time) (bool, error) {
			pod, ok := obj.(*corev1.Pod)
			if !ok || pod.Name != name {
				return false, nil
			}
			if bound.IsZero() && pod.Spec.NodeName != "" {
				bound = at
			}
			if pod.Status.Phase == corev1.PodFailed {
				return false, fmt.Errorf("pod failed: %s %s", pod.Status.Reason, pod.Status.Message)
			}
			return started(pod), nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("waiting for pod %s to run: %w", name, err)
		}
		toBound = append(toBound, bound.Sub(start))
		toRunning = append(toRunning, running.Sub(start))
	}
	// The default grace period: the agent stops each pod (SIGTERM ends
	// sleep at once) and then removes it from the API, so once the pods
	// are gone they are gone from the node too.
	for i := range n {
		name := fmt.Sprintf("lone-%d", i)
		if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, nil, fmt.Errorf("deleting pod %s: %w", name, err)
		}
	}
	for {
		left, err := pods.List(ctx, metav1.ListOptions{LabelSelector: latencyLabel})
		if err != nil {
			return nil, nil, fmt.Errorf("listing pods being deleted: %w", err)
		}
		if len(left.Items) == 0 {
			return toBound, toRunning, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for %d pods to be deleted: %w", len(left.Items), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lonePod is a bare pod that runs until it is deleted.
func lonePod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceDefault, Labels: map[string]string{"bench": "latency"}},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "sleep", Image: "busybox", Command: []string{"/bin/sleep", "3600"}}},
		},
	}
}

// oneTaskJobs creates n one-pod /bin/true Jobs one at a time and returns
// per Job the time from its create call's start to the first watch event
// with its Complete condition. Each Job is deleted once complete.
func oneTaskJobs(ctx context.Context, cs kubernetes.Interface, n int) ([]time.Duration, error) {
	jobs := cs.BatchV1().Jobs(metav1.NamespaceDefault)
	list, err := jobs.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	w := startWatch(ctx, list.ResourceVersion, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return jobs.Watch(ctx, o)
	})
	defer w.stop()
	var toComplete []time.Duration
	for i := range n {
		job := systemJob(1, 1)
		job.Name, job.Namespace = fmt.Sprintf("one-%d", i), metav1.NamespaceDefault
		start := time.Now()
		if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("creating Job %s: %w", job.Name, err)
		}
		complete, err := w.await(ctx, func(obj any, _ time.Time) (bool, error) {
			j, ok := obj.(*batchv1.Job)
			if !ok || j.Name != job.Name {
				return false, nil
			}
			for _, c := range j.Status.Conditions {
				if c.Status != corev1.ConditionTrue {
					continue
				}
				switch c.Type {
				case batchv1.JobComplete:
					return true, nil
				case batchv1.JobFailed:
					return false, fmt.Errorf("the Job failed: %s", describeConditions(j))
				}
			}
			return false, nil
		})
		if err != nil {
			return nil, fmt.Errorf("waiting for Job %s: %w", job.Name, err)
		}
		toComplete = append(toComplete, complete.Sub(start))
		bg := metav1.DeletePropagationBackground
		if err := jobs.Delete(ctx, job.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
			return nil, fmt.Errorf("deleting Job %s: %w", job.Name, err)
		}
	}
	return toComplete, nil
}

// newWatches times what `kubectl get -w` and `kubectl wait` see: n times,
// list ConfigMaps, watch from the list's resourceVersion, create one, and
// time the create call's start to the new watch's ADDED event for it.
func newWatches(ctx context.Context, cs kubernetes.Interface, n int) ([]time.Duration, error) {
	cms := cs.CoreV1().ConfigMaps(metav1.NamespaceDefault)
	var out []time.Duration
	for i := range n {
		d, err := newWatchOnce(ctx, cms, fmt.Sprintf("new-watch-%d", i))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func newWatchOnce(ctx context.Context, cms typedcorev1.ConfigMapInterface, name string) (time.Duration, error) {
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	start := time.Now()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	timeout := time.After(watchDrain)
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-timeout:
			return 0, fmt.Errorf("no ADDED event for ConfigMap %s within %v", name, watchDrain)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return 0, errors.New("the watch ended")
			}
			if cm, isCM := ev.Object.(*corev1.ConfigMap); isCM && ev.Type == watch.Added && cm.Name == name {
				return time.Since(start), nil
			}
		}
	}
}

// eventWatch follows a watch in a goroutine and hands its objects, with
// the local time each arrived, to await.
type eventWatch struct {
	events chan timedObject
	errc   chan error // follow's result
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type timedObject struct {
	obj any
	at  time.Time
}

// startWatch follows watchFn from resourceVersion rv until stop.
func startWatch(ctx context.Context, rv string, watchFn cache.WatchFuncWithContext) *eventWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &eventWatch{events: make(chan timedObject, 256), errc: make(chan error, 1), cancel: cancel}
	w.wg.Go(func() {
		w.errc <- follow(ctx, rv, watchFn, func(obj any, at time.Time) {
			select {
			case w.events <- timedObject{obj, at}:
			case <-ctx.Done():
			}
		})
	})
	return w
}

// await reads the watch until done reports true for an object, and
// returns the time that object arrived.
func (w *eventWatch) await(ctx context.Context, done func(obj any, at time.Time) (bool, error)) (time.Time, error) {
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case err := <-w.errc:
			if ctx.Err() != nil {
				return time.Time{}, ctx.Err()
			}
			return time.Time{}, errors.Join(errors.New("the watch ended"), err)
		case ev := <-w.events:
			ok, err := done(ev.obj, ev.at)
			if err != nil || ok {
				return ev.at, err
			}
		}
	}
}

// stop ends the watch and waits for its goroutine.
func (w *eventWatch) stop() {
	w.cancel()
	w.wg.Wait()
}

// awaitDefaultServiceAccount waits for the ServiceAccount default of the
// namespace default.
func awaitDefaultServiceAccount(ctx context.Context, cs kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no default ServiceAccount (last error: %v): %w", err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
