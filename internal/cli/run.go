package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"

	"github.com/batchd/batchd/internal/controlplane"
	"github.com/batchd/batchd/internal/gcpace"
	"github.com/batchd/batchd/internal/jobrun"
)

type runFlags struct {
	files      []string
	namespace  string
	now        bool
	logs       string
	tail       int
	timeout    time.Duration
	keep       bool
	dataDir    string
	server     string
	kubeconfig string
	context    string
}

const runLong = `Run Kubernetes Jobs from manifests and follow them to the end.

batchd run starts a throwaway batchd (API server, controllers and a node agent
in this process, on a temporary data directory removed at exit), applies the
manifests, follows every Job until it is Complete or Failed, and exits with a
code that says how they ended. With --server or --kubeconfig it uses that API
server instead (any Kubernetes server) and starts nothing; KUBECONFIG alone is
not enough, so that a run never lands on a cluster by surprise.

Manifests are files, directories (their .yaml, .yml and .json files) or - for
stdin, with any number of YAML documents or JSON objects: Jobs, CronJobs,
ConfigMaps, Secrets, or anything else the server serves, applied in order with
server-side apply (objects with only generateName are created). --now runs
each CronJob once, right away, as kubectl create job --from=cronjob/NAME does.

On a terminal a progress block per Job is redrawn in place; otherwise a line is
printed each time a Job changes. Pod logs are merged, each line prefixed with
[pod/container]. At the end a summary gives each Job's result, duration, pods
and retries, and for a failed Job the last lines of its last failed pod's log.

Ctrl-C stops following; with the embedded server it deletes the Jobs and waits
until their processes are gone (Ctrl-C again to stop waiting), then stops.

Exit codes:
  0    every Job completed
  1    a Job failed (PodFailurePolicy, FailedIndexes, MaxFailedIndexesExceeded, ...)
  2    a Job failed with BackoffLimitExceeded
  3    a Job failed with DeadlineExceeded
  64   usage error: bad flags, unreadable or invalid manifests, objects the server rejected
  69   the embedded server did not start, or the API server failed or was unreachable
  124  --timeout passed before every Job finished
  130  interrupted (SIGINT, Ctrl-C); 143 on SIGTERM
With several Jobs, the first failed one (in manifest order) decides.`

func newRunCommand(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run [FILE|DIR|-]...",
		Short: "Run Jobs from manifests on a throwaway batchd and follow them to the end",
		Long:  runLong,
		Example: `  batchd run examples/hello.yaml
  batchd run --now examples/cronjob.yaml
  kubectl create job pi --image=perl --dry-run=client -o yaml -- perl -le 'print 1' | batchd run -f -
  batchd run --keep examples/pi.yaml      # then: export KUBECONFIG=... (printed)`,
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := f.run(cmd, g, append(f.files, args...), stdout, stderr)
			if err != nil {
				fmt.Fprintln(stderr, "Error:", err)
			}
			if code != jobrun.ExitComplete {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		fmt.Fprintln(stderr, "Error:", err)
		return &ExitError{Code: jobrun.ExitUsage}
	})
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.files, "filename", "f", nil, "manifest file or directory, or - for stdin (repeatable; positional arguments work too)")
	fl.StringVarP(&f.namespace, "namespace", "n", "default", "namespace of objects that name none")
	fl.BoolVar(&f.now, "now", false, "create a Job from each CronJob's jobTemplate now and follow it")
	fl.StringVar(&f.logs, "logs", string(jobrun.LogsAll), "pod logs to print: all (streamed), failed (each failed pod's, once it ends) or none")
	fl.IntVar(&f.tail, "tail", jobrun.DefaultTailLines, "log lines of a failed Job's last failed pod in the summary (0: none)")
	fl.DurationVar(&f.timeout, "timeout", 0, "stop following after this long (exit code 124); 0: no limit")
	fl.BoolVar(&f.keep, "keep", false, "(embedded) keep the server running after the Jobs end, print its kubeconfig, stop on Ctrl-C")
	fl.StringVar(&f.dataDir, "data-dir", "", "(embedded) data directory, kept at exit; empty: a temporary one, removed at exit")
	fl.StringVar(&f.server, "server", "", "(existing server) API server URL; credentials come from --kubeconfig or KUBECONFIG")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "(existing server) kubeconfig file of the API server to use")
	fl.StringVar(&f.context, "context", "", "(existing server) kubeconfig context to use")
	return cmd
}

// tailLines maps --tail onto jobrun.Config.TailLines, where 0 is the default.
func tailLines(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// run does the whole command and returns its exit code.
func (f *runFlags) run(cmd *cobra.Command, g *globalFlags, paths []string, stdout, stderr io.Writer) (int, error) {
	logs, err := jobrun.ParseLogMode(f.logs)
	if err != nil {
		return jobrun.CodeOf(err), err
	}
	external := f.server != "" || f.kubeconfig != "" || f.context != ""
	if external && (f.keep || f.dataDir != "") {
		err := jobrun.Usage(errors.New("--keep and --data-dir are for the embedded server; they do not go with --server, --kubeconfig or --context"))
		return jobrun.CodeOf(err), err
	}
	manifests, err := jobrun.ReadManifests(paths, cmd.InOrStdin())
	if err != nil {
		return jobrun.CodeOf(err), err
	}
	quiet := !cmd.Flags().Changed("log-level")
	if quiet {
		g.logLevel = "error" // the server's own logs are noise in a run's output
	}
	log, err := g.logger(stderr)
	if err != nil {
		return jobrun.ExitUsage, err
	}
	if quiet {
		// client-go logs its retries as errors (an event write cut
		// short by the server stopping at the end of a run, say): only
		// with an explicit --log-level.
		klog.SetSlogLogger(slog.New(slog.DiscardHandler))
	}

	// Signals drive the run: the first stops following and starts the
	// cleanup, the second abandons it. The contexts below are not
	// cancelled by them, so that the cleanup can still talk to the server.
	// SIGPIPE too (batchd run ... | head): stopping with a cleanup beats
	// Go's default of dying on the next write with the pods still running.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	defer signal.Stop(sigs)
	if cmd.Context().Err() != nil { // interrupted before sigs listened
		return jobrun.ExitInterrupted, nil
	}
	ctx := context.WithoutCancel(cmd.Context())

	var rc *rest.Config
	var srv *embedded
	if external {
		rules := clientcmd.NewDefaultClientConfigLoadingRules() // KUBECONFIG, else ~/.kube/config
		rules.ExplicitPath = f.kubeconfig
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
			&clientcmd.ConfigOverrides{CurrentContext: f.context, ClusterInfo: clientcmdapi.Cluster{Server: f.server}},
		).ClientConfig()
		if err != nil {
			return jobrun.ExitUsage, fmt.Errorf("loading kubeconfig: %w", err)
		}
	} else {
		srv, err = startEmbedded(ctx, cmd.Context(), f.dataDir, log)
		if err != nil {
			if cmd.Context().Err() != nil { // Ctrl-C while starting: nothing ran yet
				return jobrun.ExitInterrupted, nil
			}
			return jobrun.ExitUnavailable, err
		}
		defer func() {
			if serr := srv.stop(); serr != nil {
				log.Error("Stopping the embedded server", "err", serr)
			}
		}()
		rc = srv.srv.AdminConfig()
	}

	live := false
	var width func() int
	if out, ok := stdout.(*os.File); ok && term.IsTerminal(int(out.Fd())) {
		live = true
		width = func() int {
			w, _, err := term.GetSize(int(out.Fd()))
			if err != nil {
				return 0
			}
			return w
		}
	}
	s, err := jobrun.New(jobrun.Config{
		REST:         rc,
		Manifests:    manifests,
		Namespace:    f.namespace,
		Now:          f.now,
		Logs:         logs,
		TailLines:    tailLines(f.tail),
		Timeout:      f.timeout,
		DeleteOnStop: srv != nil,
		Out:          stdout,
		Live:         live,
		Width:        width,
		Signals:      sigs,
		Log:          log,
	})
	if err != nil {
		return jobrun.CodeOf(err), err
	}
	err = s.Run(ctx)
	code := jobrun.CodeOf(err)
	var ee *jobrun.ExitError
	if errors.As(err, &ee) && ee.Err == nil {
		err = nil // the summary said it
	}
	if f.keep && srv != nil && code != jobrun.ExitInterrupted && code != jobrun.ExitTerminated {
		fmt.Fprintf(stdout, "\nbatchd keeps running; Ctrl-C stops it. To use it with kubectl:\n\n  export KUBECONFIG=%s\n  kubectl get jobs,pods\n\n", srv.srv.KubeconfigPath())
		<-sigs
		fmt.Fprintln(stdout, "Stopping: deleting unfinished Jobs and running pods (Ctrl-C again to stop waiting)")
		if serr := stopWorkloads(ctx, rc, sigs); serr != nil {
			fmt.Fprintln(stderr, "Error: stopping the pods:", serr)
		}
	}
	return code, err
}

// stopWorkloads stops what still runs on the embedded server, which the
// user may have added to with kubectl after --keep, until a signal.
func stopWorkloads(ctx context.Context, rc *rest.Config, sigs <-chan os.Signal) error {
	ctx, cancel := context.WithTimeout(ctx, stopTimeout)
	defer cancel()
	watched := make(chan struct{})
	go func() { // a second Ctrl-C gives up waiting
		defer close(watched)
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := jobrun.StopWorkloads(ctx, rc)
	cancel()
	<-watched
	return err
}

// stopTimeout bounds stopping the pods of a --keep server: pods get their
// termination grace period (30 s by default).
const stopTimeout = 45 * time.Second

// embedded is a throwaway control plane with its agent, run for one
// batchd run.
type embedded struct {
	srv    *controlplane.Server
	cancel context.CancelFunc
	done   chan error
	dir    string
	temp   bool
	rundir string // the runtime's state of a temporary run, on tmpfs
	log    *slog.Logger
}

// startEmbedded starts a control plane and agent on dataDir (empty: a new
// temporary directory) and waits until it is ready or abort is done.
func startEmbedded(ctx, abort context.Context, dataDir string, log *slog.Logger) (*embedded, error) {
	start := time.Now()
	e := &embedded{dir: dataDir, log: log}
	if e.dir == "" {
		dir, err := os.MkdirTemp("", "batchd-run-")
		if err != nil {
			return nil, fmt.Errorf("creating a temporary data directory: %w", err)
		}
		e.dir, e.temp = dir, true
		// The runtime's state on tmpfs, where per-pod files are cheap;
		// removed at exit with the data directory.
		controlplane.EnsureRunRoot(log)
		if rd, err := os.MkdirTemp(controlplane.RunRoot, "run-"); err == nil {
			e.rundir = rd
		} else {
			e.rundir = filepath.Join(e.dir, "hostproc")
		}
	}
	srv, err := controlplane.New(controlplane.Config{
		DataDir: e.dir,
		Listen:  "127.0.0.1:0",
		// A temporary data directory is deleted at exit: fsync would buy
		// durability for data that is thrown away (and costs a few ms per
		// write). A --data-dir the user keeps gets fsync.
		NoFsync: e.temp,
		// One member cannot lose an election: start in ~0.1 s, not ~1 s.
		FastElection: true,
		// The Job controller's default adaptive batching reacts to a small
		// Job's pod events within milliseconds and still coalesces a big
		// Job's, so a run needs no tuning of it.
		Agent: controlplane.AgentConfig{
			// Any free port, so a run works next to a batchd server or
			// another run; the API server finds it in the Node's status.
			ListenAddress: ":0",
			// A temporary run's own, removed at exit; a kept data
			// directory gets the server's default.
			RuntimeStateDir: e.rundir,
		},
		Log: log,
	})
	if err != nil {
		return nil, errors.Join(err, e.removeTemp())
	}
	runCtx, cancel := context.WithCancel(ctx)
	e.srv, e.cancel, e.done = srv, cancel, make(chan error, 1)
	go func() { // stop waits for it
		e.done <- gcpace.Pace(runCtx, gcpace.DefaultHeadroom, log, func() error { return srv.Run(runCtx) })
	}()
	select {
	case <-srv.Ready():
	case err := <-e.done:
		e.done <- err
		return nil, errors.Join(fmt.Errorf("starting the embedded server: %w", err), e.stop())
	case <-abort.Done():
		return nil, errors.Join(context.Cause(abort), e.stop())
	}
	// The agent registers its Node once the server is ready; pods created
	// before that Node is Ready wait out a scheduling backoff.
	waitCtx, cancelWait := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { // stops the wait if the server stops or the user gives up
		defer close(watched)
		select {
		case <-abort.Done():
		case err := <-e.done:
			e.done <- err // for stop
		case <-waitCtx.Done():
		}
		cancelWait()
	}()
	err = jobrun.WaitForReadyNode(waitCtx, srv.AdminConfig())
	cancelWait()
	<-watched
	if err != nil {
		if abort.Err() != nil {
			err = context.Cause(abort)
		}
		return nil, errors.Join(fmt.Errorf("starting the embedded node agent: %w", err), e.stop())
	}
	log.Debug("Embedded server ready", "elapsed", time.Since(start))
	return e, nil
}

// stop shuts the server down, waits for it and removes a temporary data
// directory; safe to call twice.
func (e *embedded) stop() error {
	if e.cancel == nil {
		return nil
	}
	start := time.Now()
	e.cancel()
	e.cancel = nil
	err := <-e.done
	e.log.Debug("Embedded server stopped", "elapsed", time.Since(start))
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return errors.Join(err, e.removeTemp())
}

func (e *embedded) removeTemp() error {
	if !e.temp {
		return nil
	}
	if err := os.RemoveAll(e.dir); err != nil {
		return fmt.Errorf("removing the temporary data directory: %w", err)
	}
	if err := os.RemoveAll(e.rundir); err != nil {
		return fmt.Errorf("removing the temporary runtime state: %w", err)
	}
	return nil
}
