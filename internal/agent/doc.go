// Package agent is batchd's node agent, the part of a kubelet that a
// batch cluster needs: it registers its Node and renews the node's Lease
// in kube-node-lease (node.go, lease.go), runs the pods bound to the node
// through a podruntime.Runtime (pods.go: one worker goroutine per pod), and
// reports their status following kubelet's rules (status.go).
//
// # Pod lifecycle
//
// A worker starts the pod's sandbox, runs its init containers one after
// the other, then its containers, each in its own goroutine that waits for
// the container and decides its restart from spec.restartPolicy: Never
// does not restart, OnFailure restarts after a non-zero exit, Always after
// any exit. A restart waits kubelet's backoff (10 s, doubling to 5 min,
// reset after a container ran 10 min); meanwhile the container is Waiting
// with reason CrashLoopBackOff and its previous run in lastState.
// spec.activeDeadlineSeconds, counted from status.startTime, stops the pod
// and fails it with reason DeadlineExceeded.
//
// A pod with a deletionTimestamp is stopped (SIGTERM, its
// deletionGracePeriodSeconds, SIGKILL), its terminal phase is reported
// (Succeeded iff every container exited 0, JOB-AGENT-03), and the deletion
// is confirmed with gracePeriodSeconds 0 and a UID precondition. A pod that
// already finished is just confirmed.
//
// # Probes, termination messages, service accounts
//
// probes.go runs startup, liveness and readiness probes (exec through the
// runtime's ExecSync; httpGet and tcpSocket against the pod IP, which is
// the node's): readiness makes the containers' ready and the pod's Ready
// condition, a failed liveness or startup probe kills the container
// (events Unhealthy, Killing) and restarts it unless restartPolicy is
// Never. termination.go gives every container run a termination message
// file at terminationMessagePath and reads it, or the log with
// FallbackToLogsOnError, into state.terminated.message, with kubelet's
// limits. serviceaccount.go mounts the service account directory (ca.crt,
// namespace and a token bound to the pod from the TokenRequest API,
// refreshed at 80% of its lifetime by a goroutine the pod's worker owns). The agent creates
// /dev/termination-log and that directory, empty, on the host once, so
// that hostproc containers bind mount over them instead of building a
// private root (ensureMountPoints). Those per-pod files (tokens and
// termination message files) live in Config.RunDir, on tmpfs: they are
// small, made and removed for every pod, and tokens should not reach a
// disk.
//
// # Pod status
//
// status.go computes the status kubelet would report and writes it with
// updates built on the newest copy of the pod the agent knows; changes
// that leave a pod pending or running settle for 10 ms first, so that a
// short container costs one or two writes, not three.
//
// # Node shutdown
//
// With Config.ShutdownGracePeriod, stopping the agent stops its running
// pods as kubelet's graceful node shutdown does (shutdown.go): condition
// DisruptionTarget (TerminationByKubelet) first, then SIGTERM within the
// grace period, then phase Failed, reason Terminated (JOB-AGENT-06).
//
// # Restarts of the agent
//
// The runtime records every pod and container (podruntime.Runtime.List). At
// start the agent lists them and a pod's worker adopts its sandbox and the
// latest attempt of each container: a running container is waited for
// again, one that exited while the agent was down is reported as it ended.
// Runtime pods whose API pod is gone are removed.
//
// # Logs
//
// logs.go serves kubelet's /containerLogs over HTTPS (bearer token,
// a certificate from the agent's own CA in <StateDir>/pki); the API
// server's pods/log proxies to it. Log files are CRI files under
// <StateDir>/pods/<namespace>_<pod>_<uid>/<container>/<attempt>.log.
//
// # Not covered (yet)
//
// gRPC probes (they count as succeeding), runAsUser and the rest of securityContext, lifecycle hooks,
// imageID beyond the image name, image to tool-directory mapping,
// kubectl exec, attach and port-forward, disruptions other than a node
// shutdown (node-pressure eviction), the Node's NotReady while shutting
// down, /var/log/pods and /var/log/containers links, and node status
// reflecting pressure.
package agent
