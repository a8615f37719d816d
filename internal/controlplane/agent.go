package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/authn"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
	"github.com/batchd/batchd/internal/tmpfs"
	"github.com/batchd/batchd/internal/version"
)

// AgentConfig configures the node agent a server runs in-process.
type AgentConfig struct {
	// Disabled runs no agent (batchd server --no-agent).
	Disabled bool
	// NodeName is the Node's name; empty: the host name.
	NodeName string
	// StateDir holds the agent's files (volumes, claims, pod logs).
	// Empty: <data dir>/agent.
	StateDir string
	// RuntimeStateDir is the hostproc runtime's state; the agent's
	// short-lived per-pod files go in AgentRunDir of it. Empty:
	// <RunRoot>/<hash of the data dir> (tmpfs, EnsureRunRoot) if it can be
	// created, else <StateDir>/hostproc.
	RuntimeStateDir string
	// HelperPath is the batchd-pod binary. Empty: next to the running
	// executable, else on $PATH.
	HelperPath string
	// ListenAddress is the agent's endpoint address (its port goes in the
	// Node's daemonEndpoints). Empty: agent.DefaultListenAddress.
	ListenAddress string
	// MaxPods is the Node's pods capacity (0: agent.DefaultMaxPods).
	MaxPods int
	// ShutdownGracePeriod is agent.Config.ShutdownGracePeriod: when the
	// server stops, running pods are stopped within it and reported
	// Failed with DisruptionTarget (best effort: the API server stops at
	// the same time). 0: off, pods keep running for the next start.
	ShutdownGracePeriod time.Duration
}

// AgentTokenFile is the token file, in the data directory, that agents
// present to the API server (batchd agent --token).
const AgentTokenFile = "agent.token"

// agentUser is the identity of every agent token, shaped like kubelet's
// system:node:<name> in group system:nodes.
var agentUser = authn.User{Name: "system:node:batchd-agent", Groups: []string{"system:nodes", authn.GroupAuthed}}

// loadAgentToken returns the agents' token, creating it on first start.
func loadAgentToken(dataDir string) (string, error) {
	return authn.LoadOrCreateToken(filepath.Join(dataDir, AgentTokenFile))
}

// runAgent runs the in-process agent once the server is ready, until ctx
// ends. It does nothing when the agent is disabled.
func (s *Server) runAgent(ctx context.Context, dataDir, serverURL string, transport http.RoundTripper, caPEM []byte, token string) error {
	ac := s.cfg.Agent
	if ac.Disabled {
		return nil
	}
	select {
	case <-ctx.Done():
		return nil
	case <-s.ready:
	}
	if ac.StateDir == "" {
		ac.StateDir = filepath.Join(dataDir, "agent")
	}
	log := s.log.With("component", "agent")
	if ac.RuntimeStateDir == "" {
		ac.RuntimeStateDir = defaultRuntimeStateDir(dataDir, ac.StateDir, log)
	}
	helper, err := FindHelper(ac.HelperPath)
	if err != nil && ac.HelperPath == "" {
		// Without batchd-pod (go run, or a lone binary), batchd serves as
		// its own helper: a link named batchd-pod makes main run podinit.
		helper, err = selfHelper(ac.RuntimeStateDir)
		if err == nil {
			log.Warn("The batchd-pod helper is not installed: containers start through batchd itself, about 25 ms slower each; build it with `make build`", "helper", helper)
		}
	}
	if err != nil {
		return err
	}
	rt, err := hostproc.New(hostproc.Config{StateDir: ac.RuntimeStateDir, HelperPath: helper, Log: log})
	if err != nil {
		return fmt.Errorf("starting the node agent (run the server with --no-agent to go without): %w", err)
	}
	// The agent reaches the API in memory (transport), as the server's
	// controllers do, with its own token: it is the same client as a
	// remote `batchd agent`, minus the connection.
	cfg := &rest.Config{
		Host:          serverURL,
		BearerToken:   token,
		Transport:     transport,
		QPS:           -1,
		ContentConfig: rest.ContentConfig{ContentType: "application/vnd.kubernetes.protobuf"},
		UserAgent:     "batchd-agent/" + version.Version(),
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	svcHost, svcPort := "", ""
	if u, err := url.Parse(serverURL); err == nil {
		svcHost, svcPort, _ = net.SplitHostPort(u.Host)
	}
	s.mu.Lock()
	shared := s.shared
	s.mu.Unlock()
	a, err := agent.New(agent.Config{
		// The controllers' pod and service account informers: each pod
		// change decoded once for both, one watch fewer, one copy of every
		// pod in memory rather than two.
		Shared: shared,
		Client: client, NodeName: ac.NodeName, Runtime: rt, StateDir: ac.StateDir,
		RunDir:        AgentRunDir(ac.RuntimeStateDir),
		ListenAddress: ac.ListenAddress, Token: token, Log: log,
		ServiceHost: svcHost, ServicePort: svcPort, CACert: caPEM,
		ShutdownGracePeriod: ac.ShutdownGracePeriod, MaxPods: ac.MaxPods,
	})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// selfHelper links dir/batchd-pod to the running batchd executable, whose
// main runs the pod helper when started under that name.
func selfHelper(dir string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the batchd executable to serve as pod helper: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	link := filepath.Join(dir, hostproc.HelperName)
	if target, err := os.Readlink(link); err == nil && target == exe {
		return link, nil
	}
	_ = os.Remove(link)
	if err := os.Symlink(exe, link); err != nil {
		return "", fmt.Errorf("linking %s to batchd: %w", link, err)
	}
	return link, nil
}

// FindHelper returns the batchd-pod helper binary: path if set, else the
// one next to the running executable, else on $PATH, else an error that
// says how to build it.
func FindHelper(path string) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("pod helper: %w", err)
		}
		return path, nil
	}
	dir := "<dir of batchd>"
	if exe, err := os.Executable(); err == nil {
		dir = filepath.Dir(exe)
		p := filepath.Join(dir, hostproc.HelperName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(hostproc.HelperName); err == nil {
		return p, nil
	}
	return "", errors.New("the node agent needs the " + hostproc.HelperName + " helper next to the batchd executable or on $PATH; build it with `go build -o " +
		dir + "/" + hostproc.HelperName + " ./cmd/batchd-pod` (make build builds both), or run the server with --no-agent")
}

// RunRoot is where nodes keep per-pod state that need not survive a
// reboot: the pod runtime's state and the agent's tokens and termination
// message files, one directory per data directory (or per agent). It
// should be a tmpfs (EnsureRunRoot).
const RunRoot = "/run/batchd"

// EnsureRunRoot makes sure RunRoot is on a tmpfs, mounting one if needed
// (package tmpfs). Failing that, pods still run, with their per-pod files
// on RunRoot's disk filesystem, a millisecond or more slower each: log
// says so, and how to fix it.
func EnsureRunRoot(log *slog.Logger) {
	mounted, err := tmpfs.Ensure(RunRoot)
	switch {
	case errors.Is(err, tmpfs.ErrNotEmpty):
		log.Warn("Per-pod state stays on a disk filesystem, which costs about a millisecond of CPU per file: "+RunRoot+" is not a tmpfs and holds files; remove them while no batchd runs, and batchd mounts one", "dir", RunRoot)
	case err != nil:
		log.Warn("Per-pod state stays on a disk filesystem, which costs about a millisecond of CPU per file", "dir", RunRoot, "err", err)
	case mounted:
		log.Info("Mounted a tmpfs for per-pod state", "dir", RunRoot)
	}
}

// defaultRuntimeStateDir is a directory of RunRoot, on tmpfs as
// containerd's /run/containerd, named for the data directory; else one in
// the agent's state directory.
func defaultRuntimeStateDir(dataDir, stateDir string, log *slog.Logger) string {
	EnsureRunRoot(log)
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	dir := filepath.Join(RunRoot, hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o700); err == nil {
		return dir
	}
	return filepath.Join(stateDir, "hostproc")
}

// AgentRunDir is the agent's agent.Config.RunDir for a runtime state
// directory: beside the runtime's state, on the same tmpfs.
func AgentRunDir(runtimeStateDir string) string {
	return filepath.Join(runtimeStateDir, "files")
}
