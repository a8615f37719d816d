package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/controlplane"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
	"github.com/batchd/batchd/internal/version"
)

type agentFlags struct {
	server, token, nodeName, caFile, stateDir, runtimeDir, helper, listen string
	shutdownGrace                                                         time.Duration
	maxPods                                                               int
}

func newAgentCommand(g *globalFlags, stderr io.Writer) *cobra.Command {
	f := &agentFlags{}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node agent that runs pods on this machine for a batchd server",
		Long: `Run a batchd node agent: it registers this machine as a Node of the server at
--server and runs the pods bound to it as host processes. It needs root and
the batchd-pod helper next to the batchd executable or on $PATH.

The token is the server's <data-dir>/agent.token; --ca-file is its
<data-dir>/pki/ca.crt.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger(stderr)
			if err != nil {
				return err
			}
			if f.server == "" || f.token == "" {
				return fmt.Errorf("--server and --token are required")
			}
			token := f.token
			if strings.HasPrefix(token, "@") { // @file reads the token from a file
				b, err := os.ReadFile(token[1:])
				if err != nil {
					return err
				}
				token = strings.TrimSpace(string(b))
			}
			rc := &rest.Config{Host: f.server, BearerToken: token, QPS: -1, UserAgent: "batchd-agent/" + version.Version(),
				ContentConfig: rest.ContentConfig{ContentType: "application/vnd.kubernetes.protobuf"}}
			var caPEM []byte
			if f.caFile != "" {
				if caPEM, err = os.ReadFile(f.caFile); err != nil {
					return fmt.Errorf("reading --ca-file: %w", err)
				}
				rc.TLSClientConfig.CAData = caPEM
			}
			client, err := kubernetes.NewForConfig(rc)
			if err != nil {
				return err
			}
			helper, err := controlplane.FindHelper(f.helper)
			if err != nil {
				return err
			}
			if f.runtimeDir == "" {
				f.runtimeDir = filepath.Join(f.stateDir, "hostproc")
			} else if filepath.Dir(filepath.Clean(f.runtimeDir)) == controlplane.RunRoot {
				controlplane.EnsureRunRoot(log)
			}
			rt, err := hostproc.New(hostproc.Config{StateDir: f.runtimeDir, HelperPath: helper, Log: log.With("component", "hostproc")})
			if err != nil {
				return err
			}
			a, err := agent.New(agent.Config{Client: client, NodeName: f.nodeName, Runtime: rt, StateDir: f.stateDir,
				RunDir:        controlplane.AgentRunDir(f.runtimeDir),
				ListenAddress: f.listen, Token: token, Log: log.With("component", "agent"),
				CACert: caPEM, ShutdownGracePeriod: f.shutdownGrace, MaxPods: f.maxPods})
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "URL of the batchd API server, e.g. https://10.0.0.1:6443")
	fl.StringVar(&f.token, "token", "", "the server's agent token (<data-dir>/agent.token), or @file to read it from a file")
	fl.StringVar(&f.caFile, "ca-file", "", "CA certificate of the server (<data-dir>/pki/ca.crt); empty: the system roots")
	fl.StringVar(&f.nodeName, "node-name", "", "name of this machine's Node; empty: the host name")
	fl.StringVar(&f.stateDir, "state-dir", "/var/lib/batchd/agent", "directory for volumes, claims and pod logs")
	fl.StringVar(&f.runtimeDir, "runtime-state-dir", "/run/batchd/agent", "pod runtime state, service account tokens and termination message files (tmpfs: under "+controlplane.RunRoot+" batchd mounts one if needed); empty: <state-dir>/hostproc")
	fl.StringVar(&f.helper, "helper", "", "path of the batchd-pod helper; empty: next to batchd or on $PATH")
	fl.StringVar(&f.listen, "listen", agent.DefaultListenAddress, "HTTPS address of the agent's log endpoint")
	fl.IntVar(&f.maxPods, "max-pods", agent.DefaultMaxPods, "pods this machine runs at once, the Node's pods capacity (kubelet's --max-pods)")
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace-period", 0, "on SIGTERM, stop running pods within this time and report them Failed with DisruptionTarget, as kubelet's graceful node shutdown; 0 leaves them running for the next agent to re-adopt")
	return cmd
}
