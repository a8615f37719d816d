package jobrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Config configures a run.
type Config struct {
	// REST reaches the API server. Required.
	REST *rest.Config
	// Manifests are the objects to apply, in order (see ReadManifests).
	// Required.
	Manifests []Manifest
	// Namespace is where namespaced objects without one go ("": default).
	Namespace string
	// Now creates a Job from each CronJob's jobTemplate right away and
	// follows it, as kubectl create job --from=cronjob/NAME does.
	Now bool
	// Logs says which pod logs to print ("": LogsAll).
	Logs LogMode
	// TailLines is how many of a failed pod's last log lines the summary
	// shows (0: DefaultTailLines; negative: none).
	TailLines int
	// Timeout ends following after this long (0: no limit).
	Timeout time.Duration
	// DeleteOnStop deletes the Jobs the run created or applied, and waits
	// for their pods to be gone, when it is interrupted or times out. The
	// caller sets it when the server is its own, throwaway one.
	DeleteOnStop bool
	// Out receives progress, logs and the summary. Required.
	Out io.Writer
	// Live redraws a progress block in place (Out is a terminal);
	// otherwise a line is printed per change.
	Live bool
	// Width returns the terminal's width in columns (nil or 0: unknown).
	Width func() int
	// Signals delivers SIGINT and SIGTERM: the first stops following (and
	// starts the cleanup), the second stops waiting for the cleanup.
	Signals <-chan os.Signal
	// Log receives diagnostics (nil: slog.Default()).
	Log *slog.Logger
}

// DefaultTailLines is how many log lines of a failed pod the summary shows.
const DefaultTailLines = 10

// Timings of the end of a run.
const (
	// tickInterval is how often the live view redraws for its clocks
	// (and plain output prints the lines it held back).
	tickInterval = 100 * time.Millisecond
	// logDrain is how long a finished run waits for log streams to end
	// (the containers have exited; the last bytes are in flight).
	logDrain = 2 * time.Second
	// cleanupTimeout bounds waiting for deleted Jobs' pods to be gone.
	// Pods get their terminationGracePeriodSeconds (30 s by default) to
	// stop; a second Ctrl-C stops waiting.
	cleanupTimeout = 45 * time.Second
)

// Session is one batchd run against one API server.
type Session struct {
	cfg    Config
	log    *slog.Logger
	client kubernetes.Interface
	apply  *applier
}

// New validates cfg and builds the clients. It starts nothing and makes no
// request.
func New(cfg Config) (*Session, error) {
	if cfg.REST == nil || cfg.Out == nil {
		return nil, errors.New("run: REST and Out are required")
	}
	if len(cfg.Manifests) == 0 {
		return nil, Usage(errors.New("no objects to apply"))
	}
	if cfg.Namespace == "" {
		cfg.Namespace = metav1.NamespaceDefault
	}
	if cfg.Logs == "" {
		cfg.Logs = LogsAll
	}
	if _, err := ParseLogMode(string(cfg.Logs)); err != nil {
		return nil, err
	}
	if cfg.TailLines == 0 {
		cfg.TailLines = DefaultTailLines
	}
	cfg.TailLines = max(cfg.TailLines, 0)
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	rc := rest.CopyConfig(cfg.REST)
	if rc.QPS == 0 { // client-go's default of 5 would pace log streams
		rc.QPS, rc.Burst = 50, 100
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("building client: %w", err)
	}
	dc := rest.CopyConfig(rc)
	dc.ContentType = "application/json" // the dynamic client speaks JSON
	dyn, err := dynamic.NewForConfig(dc)
	if err != nil {
		return nil, fmt.Errorf("building dynamic client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	return &Session{
		cfg: cfg, log: cfg.Log, client: client,
		apply: &applier{dynamic: dyn, mapper: mapper, namespace: cfg.Namespace},
	}, nil
}

// Run applies the manifests, follows the Jobs and prints the summary. It
// returns nil if every Job completed, else an *ExitError whose code says
// how the run ended (see the Exit constants); its Err is nil when the
// output already said why.
func (s *Session) Run(ctx context.Context) error {
	// ctx ends everything; stop ends applying and following (first
	// signal, timeout); abandon ends the cleanup (second signal).
	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	cleanupCtx, abandon := context.WithCancel(ctx)
	defer abandon()
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{})
	defer close(done)
	wg.Go(func() { watchSignals(s.cfg.Signals, stop, abandon, done) })
	tickCtx, stopTicks := context.WithCancel(ctx)
	defer stopTicks()

	start := time.Now()
	v := newView(s.cfg.Out, s.cfg.Live, s.cfg.Width, time.Now)
	jobs, err := s.applyAll(stopCtx, v)
	s.log.Debug("Applied the manifests", "count", len(s.cfg.Manifests), "jobs", len(jobs), "elapsed", time.Since(start))
	if err != nil {
		code := CodeOf(err)
		if stopCtx.Err() != nil {
			code, err = exitCode(outcomeOf(stopCtx), nil), nil
			v.line(stopMessage(outcomeOf(stopCtx), s.cfg.Timeout, s.cfg.DeleteOnStop && len(jobs) > 0))
		}
		if s.cfg.DeleteOnStop && len(jobs) > 0 { // do not leave what started running
			if derr := s.deleteJobs(cleanupCtx, jobs, v); derr != nil {
				v.line(fmt.Sprintf("cleanup: %v", derr))
			}
		}
		return errors.Join(&ExitError{Code: code, Err: err}, v.close())
	}
	if len(jobs) == 0 {
		return v.close()
	}
	wg.Go(func() { tick(tickCtx, v) })
	o, results, err := s.follow(stopCtx, cleanupCtx, jobs, v)
	s.log.Debug("Followed the jobs", "outcome", o, "elapsed", time.Since(start))
	if cerr := v.close(); cerr != nil {
		return Unavailable(fmt.Errorf("writing output: %w", cerr))
	}
	if werr := writeSummary(s.cfg.Out, results, time.Now()); werr != nil {
		return Unavailable(fmt.Errorf("writing output: %w", werr))
	}
	if err != nil {
		return Unavailable(err)
	}
	if code := exitCode(o, results); code != ExitComplete {
		return &ExitError{Code: code}
	}
	return nil
}

// follow follows the Jobs until they finish or stopCtx ends (then, with
// DeleteOnStop, it deletes them), waits for the log reads to end, and
// returns how it ended and the Jobs' results. An error means the server
// failed; the results are then what was seen until then.
func (s *Session) follow(stopCtx, cleanupCtx context.Context, jobs []followed, v *view) (outcome, []jobResult, error) {
	followCtx := stopCtx
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		followCtx, cancel = context.WithTimeoutCause(stopCtx, s.cfg.Timeout, errTimeout)
		defer cancel()
	}
	logCtx, stopLogs := context.WithCancel(cleanupCtx)
	defer stopLogs()
	l := newLogs(s.client, s.cfg.Logs, s.cfg.TailLines, v, s.log)
	f := newFollower(s.client, jobs, s.cfg.Namespace, v, l, s.log, time.Now)

	o := outcomeFinished
	err := f.run(followCtx, logCtx)
	switch {
	case err != nil && followCtx.Err() == nil:
		err = fmt.Errorf("following the jobs: %w", err) // the server failed us
	case err != nil:
		err = nil
		o = outcomeOf(followCtx)
		v.line(stopMessage(o, s.cfg.Timeout, s.cfg.DeleteOnStop))
	}
	if o != outcomeFinished && s.cfg.DeleteOnStop {
		if derr := s.deleteJobs(cleanupCtx, jobs, v); derr != nil {
			v.line(fmt.Sprintf("cleanup: %v", derr))
		}
	}
	drainCtx, drained := context.WithTimeout(cleanupCtx, logDrain)
	l.wait(drainCtx)
	drained()
	stopLogs()
	l.wg.Wait()

	results := f.results()
	for i := range results {
		results[i].stopped = o.String()
	}
	return o, results, err
}

// errTimeout is the cause of a --timeout.
var errTimeout = errors.New("timed out")

// signalCause is the cause of a stop by signal.
type signalCause struct{ sig os.Signal }

func (c signalCause) Error() string { return "stopped by " + c.sig.String() }

// watchSignals stops on the first signal and abandons the cleanup on the
// second, until done is closed.
func watchSignals(sigs <-chan os.Signal, stop context.CancelCauseFunc, abandon context.CancelFunc, done <-chan struct{}) {
	if sigs == nil {
		return
	}
	for n := 0; ; n++ {
		select {
		case <-done:
			return
		case sig := <-sigs:
			if n == 0 {
				stop(signalCause{sig})
			} else {
				abandon()
			}
		}
	}
}

// outcomeOf tells why following ended early.
func outcomeOf(ctx context.Context) outcome {
	cause := context.Cause(ctx)
	if errors.Is(cause, errTimeout) {
		return outcomeTimedOut
	}
	if sc, ok := errors.AsType[signalCause](cause); ok && sc.sig == syscall.SIGTERM {
		return outcomeTerminated
	}
	return outcomeInterrupted
}

func (o outcome) String() string {
	switch o {
	case outcomeInterrupted, outcomeTerminated:
		return "interrupted"
	case outcomeTimedOut:
		return "timed out"
	}
	return ""
}

// stopMessage says why following stopped early and what happens next.
func stopMessage(o outcome, timeout time.Duration, deleting bool) string {
	what := "Interrupted"
	if o == outcomeTimedOut {
		what = "Timed out after " + timeout.String()
	}
	if deleting {
		return what + ": deleting the Jobs and stopping their pods (Ctrl-C again to stop waiting)"
	}
	return what + ": the Jobs keep running on the server"
}

func tick(ctx context.Context, v *view) {
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			v.tick()
		}
	}
}
