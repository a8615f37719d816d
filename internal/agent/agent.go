package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/batchd/batchd/internal/podruntime"
)

// Config configures an Agent.
type Config struct {
	// Client talks to the API server as this node. Required.
	Client kubernetes.Interface
	// NodeName is the Node's name. Empty: the host name, lower-cased.
	NodeName string
	// Runtime runs the pods. Required.
	Runtime podruntime.Runtime
	// StateDir holds the agent's own files (pod log directories). Required.
	StateDir string
	// RunDir holds the short-lived per-pod files that need not survive a
	// reboot and should not reach a disk: service account tokens and
	// termination message files. Put it on tmpfs (see package tmpfs), as
	// kubelet does with tokens: on a disk filesystem the files cost a
	// millisecond or more of CPU each. Empty: StateDir.
	RunDir string
	// ListenAddress is the address reported in the Node's
	// daemonEndpoints (its port) and, once the log endpoint exists, served.
	// Empty: ":10250".
	ListenAddress string
	// Token is the bearer token callers of the agent's endpoints present.
	Token string
	// ServiceHost and ServicePort, when set, are given to containers as
	// KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT(_HTTPS) and the
	// KUBERNETES_PORT_* variables, the API server's address, as kubelet
	// does for the kubernetes service.
	ServiceHost, ServicePort string
	// CACert is the API server's CA certificate (PEM), mounted in
	// containers as the service account's ca.crt (serviceaccount.go).
	// Empty: no ca.crt.
	CACert []byte
	// MaxPods is the Node's pods capacity, how many non-terminated pods
	// the scheduler puts on it (0: DefaultMaxPods, kubelet's 110).
	MaxPods int
	// ShutdownGracePeriod enables graceful node shutdown (kubelet's
	// shutdownGracePeriod, shutdown.go): when Run's ctx ends, the pods
	// still running are marked DisruptionTarget, stopped within this
	// period (or their own shorter terminationGracePeriodSeconds) and
	// reported Failed before Run returns. 0, upstream's default: pods are
	// left running for the next agent to adopt.
	ShutdownGracePeriod time.Duration
	// Log receives the agent's logs. nil: slog.Default().
	Log *slog.Logger
	// Clock drives backoffs, deadlines and heartbeats. nil: the real clock.
	Clock clock.WithTicker
	// Shared, when set, are informers of every pod and service account
	// that their owner has started (an in-process agent's control plane's):
	// the agent watches through them, picking its pods by node, instead of
	// watching the API itself. nil: the agent's own watches.
	Shared *SharedInformers
}

// SharedInformers are cluster-wide informers an agent may share (see
// Config.Shared). Their owner starts and stops them; the agent only adds
// handlers, and removes them when it stops. Objects in them must not be
// modified, and need no managedFields.
type SharedInformers struct {
	Pods            cache.SharedIndexInformer
	ServiceAccounts cache.SharedIndexInformer
}

// DefaultListenAddress is kubelet's port.
const DefaultListenAddress = ":10250"

// Agent runs the pods bound to one node.
type Agent struct {
	cfg    Config
	client kubernetes.Interface
	rt     podruntime.Runtime
	log    *slog.Logger
	clock  clock.WithTicker
	node   string
	hostIP string
	// listenPort is the endpoint's port once listening.
	listenPort int

	// recorder is set by Run and sas by watchPods, before any worker
	// starts; both are read-only after.
	recorder record.EventRecorder
	sas      corelisters.ServiceAccountLister

	metrics *metrics

	// nodeMu serialises the Node's status writes; registered is set once
	// registerNode has written the first. podsWatched: the pod cache has
	// synced, so the Node may say Ready (watchPods).
	nodeMu      sync.Mutex
	registered  bool
	podsWatched atomic.Bool

	mu      sync.Mutex
	workers map[types.UID]*worker
	adopt   map[string]podruntime.PodState // runtime pods by pod UID, not yet adopted
	wg      sync.WaitGroup
}

// New validates cfg. It starts nothing.
func New(cfg Config) (*Agent, error) {
	if cfg.Client == nil || cfg.Runtime == nil {
		return nil, errors.New("agent: Client and Runtime are required")
	}
	if cfg.StateDir == "" {
		return nil, errors.New("agent: StateDir is required")
	}
	if cfg.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("agent: node name: %w", err)
		}
		cfg.NodeName = strings.ToLower(h)
	}
	if cfg.ListenAddress == "" {
		cfg.ListenAddress = DefaultListenAddress
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.MaxPods < 0 {
		return nil, fmt.Errorf("agent: MaxPods is %d, want 0 or more", cfg.MaxPods)
	}
	if cfg.MaxPods == 0 {
		cfg.MaxPods = DefaultMaxPods
	}
	if sh := cfg.Shared; sh != nil && (sh.Pods == nil || sh.ServiceAccounts == nil) {
		return nil, errors.New("agent: Shared needs both the pod and the service account informer")
	}
	if cfg.ShutdownGracePeriod < 0 {
		return nil, fmt.Errorf("agent: ShutdownGracePeriod is %v, want 0 or more", cfg.ShutdownGracePeriod)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: state directory: %w", err)
	}
	if cfg.RunDir == "" {
		cfg.RunDir = cfg.StateDir
	}
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: run directory: %w", err)
	}
	m, err := newMetrics()
	if err != nil {
		return nil, err
	}
	return &Agent{
		cfg: cfg, client: cfg.Client, rt: cfg.Runtime, log: cfg.Log.With("node", cfg.NodeName),
		clock: cfg.Clock, node: cfg.NodeName, hostIP: hostIP(),
		metrics: m,
		workers: map[types.UID]*worker{},
	}, nil
}

// NodeName is the name the agent registers.
func (a *Agent) NodeName() string { return a.node }

// Run registers the node and runs its pods until ctx ends. Pods keep
// running in the runtime when it returns (a restarted agent adopts them),
// unless Config.ShutdownGracePeriod is set: then they are stopped first.
func (a *Agent) Run(ctx context.Context) error {
	states, err := a.rt.List(ctx)
	if err != nil && ctx.Err() != nil { // stopped while starting: not a failure
		return nil
	}
	if err != nil {
		return fmt.Errorf("agent: listing runtime pods: %w", err)
	}
	a.adopt = map[string]podruntime.PodState{}
	for _, s := range states {
		a.adopt[s.Spec.UID] = s
	}
	ln, err := a.listen()
	if err != nil {
		return err
	}
	a.ensureMountPoints()
	// Pod workers run under podsCtx, which outlives ctx by the node
	// shutdown, if any: they still write statuses and events while they
	// stop their pods.
	podsCtx, stopPods := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPods()
	recorder, stopRecorder := newRecorder(podsCtx, a.client, a.node)
	defer stopRecorder()
	a.recorder = recorder
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	g, gctx := errgroup.WithContext(runCtx)
	// The pod watch starts while the Node registers, which says Ready
	// only once the watch has synced (writeNodeStatus): a pod bound to a
	// Ready node is seen at once, not after the agent's start.
	g.Go(func() error { return a.watchPods(gctx, podsCtx) })
	if err := a.registerNode(gctx); err != nil {
		ln.Close()
		stopRun()
		werr := g.Wait()
		stopPods()
		a.wg.Wait()
		if ctx.Err() != nil { // stopped while starting: not a failure
			a.log.Info("Stopped while registering the node", "err", errors.Join(err, werr))
			return nil
		}
		return errors.Join(err, werr)
	}
	a.log.Info("Node agent started", "hostIP", a.hostIP, "adoptable", len(states))
	g.Go(func() error { return a.serve(gctx, ln) })
	g.Go(func() error { return a.runLease(gctx) })
	g.Go(func() error { return a.runNodeStatus(gctx) })
	err = g.Wait()
	if ctx.Err() != nil && a.cfg.ShutdownGracePeriod > 0 {
		a.shutdown(podsCtx)
	}
	stopPods()
	a.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// podChanged is called with every version of a pod bound to this node,
// and with deleted=true when the pod object is gone.
func (a *Agent) podChanged(ctx context.Context, pod *corev1.Pod, deleted bool) {
	a.mu.Lock()
	w := a.workers[pod.UID]
	if w == nil && !deleted {
		st, adopted := a.adopt[string(pod.UID)]
		delete(a.adopt, string(pod.UID))
		var sp *podruntime.PodState
		if adopted {
			sp = &st
		}
		w = newWorker(a, pod, sp)
		a.workers[pod.UID] = w
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			w.run(ctx)
			a.mu.Lock()
			delete(a.workers, pod.UID)
			a.mu.Unlock()
		}()
	}
	a.mu.Unlock()
	if w != nil {
		w.update(pod, deleted)
	}
}

// removeOrphans removes runtime pods whose API pod no longer exists, once
// the agent has seen the full list of its pods.
func (a *Agent) removeOrphans(ctx context.Context) {
	a.mu.Lock()
	orphans := a.adopt
	a.adopt = map[string]podruntime.PodState{}
	a.mu.Unlock()
	for uid, s := range orphans {
		a.log.Info("Removing runtime pod without an API pod", "pod", s.Spec.Namespace+"/"+s.Spec.Name, "uid", uid)
		if err := a.rt.RemovePod(ctx, s.ID); err != nil {
			a.log.Warn("Removing runtime pod", "pod", s.Spec.Name, "err", err)
		}
	}
}

func numCPU() int { return runtime.NumCPU() }

func sortStrings(s []string) { sort.Strings(s) }
