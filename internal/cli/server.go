package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/batchd/batchd/internal/agent"
	"github.com/batchd/batchd/internal/controlplane"
	"github.com/batchd/batchd/internal/datadir"
	"github.com/batchd/batchd/internal/etcd"
	"github.com/batchd/batchd/internal/gcpace"
)

type serverFlags struct {
	dataDir       string
	listen        string
	hosts         []string
	etcdEndpoints []string
	etcdCert      string
	etcdKey       string
	etcdCA        string
	noAgent       bool
	profiling     bool
	nodeName      string
	agentListen   string
	maxPods       int
}

func newServerCommand(g *globalFlags, stderr io.Writer) *cobra.Command {
	f := &serverFlags{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the batchd API server and controllers",
		Long: `Run the batchd control plane: the Kubernetes API for Jobs, CronJobs, pods and
the objects around them, stored in an embedded etcd member (or an external
etcd cluster with --etcd-endpoints).

On start it writes an admin kubeconfig to <data-dir>/kubeconfig:

  export KUBECONFIG=<data-dir>/kubeconfig
  kubectl get namespaces`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger(stderr)
			if err != nil {
				return err
			}
			srv, err := controlplane.New(controlplane.Config{
				DataDir:       f.dataDir,
				EtcdEndpoints: f.etcdEndpoints,
				EtcdTLS:       etcd.TLS{CertFile: f.etcdCert, KeyFile: f.etcdKey, CAFile: f.etcdCA},
				Listen:        f.listen,
				Hosts:         f.hosts,
				Log:           log,
				NoProfiling:   !f.profiling,
				Agent:         controlplane.AgentConfig{Disabled: f.noAgent, NodeName: f.nodeName, ListenAddress: f.agentListen, MaxPods: f.maxPods},
			})
			if err != nil {
				return err
			}
			go func() {
				select {
				case <-srv.Ready():
					fmt.Fprintf(stderr, "\nbatchd is ready. To use it with kubectl:\n\n  export KUBECONFIG=%s\n  kubectl get namespaces\n\n", srv.KubeconfigPath())
				case <-cmd.Context().Done():
				}
			}()
			// The control plane's live heap is small and it allocates
			// fast: paced, its collector takes ~5 % of its CPU instead
			// of ~13 % (internal/gcpace).
			return gcpace.Pace(cmd.Context(), gcpace.DefaultHeadroom, log, func() error { return srv.Run(cmd.Context()) })
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", datadir.Default(), "(store) directory for etcd data, certificates, the admin token and kubeconfig")
	fl.StringSliceVar(&f.etcdEndpoints, "etcd-endpoints", nil, "(store) client URLs of an external etcd cluster; empty runs an embedded member in --data-dir")
	fl.StringVar(&f.etcdCert, "etcd-certfile", "", "(store) client certificate for --etcd-endpoints")
	fl.StringVar(&f.etcdKey, "etcd-keyfile", "", "(store) client key for --etcd-endpoints")
	fl.StringVar(&f.etcdCA, "etcd-cafile", "", "(store) CA bundle verifying --etcd-endpoints")
	fl.StringVar(&f.listen, "listen", controlplane.DefaultListen, "(listen) HTTPS address of the API; use 0.0.0.0:6443 to serve other machines")
	fl.StringSliceVar(&f.hosts, "tls-san", nil, "(listen) extra host names or IPs for the serving certificate")
	fl.BoolVar(&f.profiling, "profiling", true, "(listen) serve Go's runtime profiles at /debug/pprof/ to administrators, as kube-apiserver's --profiling")
	fl.BoolVar(&f.noAgent, "no-agent", false, "(agent) run no node agent in this process: pods then need a batchd agent on some machine")
	fl.StringVar(&f.nodeName, "node-name", "", "(agent) name of this machine's Node; empty: the host name")
	fl.IntVar(&f.maxPods, "max-pods", agent.DefaultMaxPods, "(agent) pods this machine runs at once, the Node's pods capacity (kubelet's --max-pods)")
	fl.StringVar(&f.agentListen, "agent-listen", agent.DefaultListenAddress, "(agent) address of the agent's endpoint (pod logs), like kubelet's port 10250; use :0 to pick a free port")
	return cmd
}
