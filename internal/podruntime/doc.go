// Package podruntime defines what the node agent needs from a pod runtime:
// start a pod sandbox, start containers in it, wait for them, stop them,
// run a command in a running one (ExecSync, for exec probes), remove the
// pod, and list what exists so that a restarted agent can reattach. Its types mirror CRI's split between a pod sandbox
// ([PodSpec]) and its containers ([ContainerSpec]) and carry no
// Kubernetes API types: the agent translates a Pod into these specs in one
// place (environment expansion, volume sources, resources, hostname), and
// turns [ExitStatus] back into container statuses.
//
// The package owns the contract only: the [Runtime] interface, the optional
// interfaces a runtime may add (checked with a type assertion), the
// reasons a runtime reports, and the sentinel errors. Implementations live
// in sub-packages (hostproc, and later cri), and podruntimetest is the
// conformance suite every implementation runs. Deciding pod phase,
// restarts and backoff (JOB-AGENT-01..03) is the agent's job, not a
// runtime's.
package podruntime
