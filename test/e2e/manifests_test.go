package e2e

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The manifests below spell out every field that Job and CronJob defaulting
// would fill in (selector, completions, parallelism, backoffLimit, suspend,
// history limits…), so that tables and describe output made from them do not
// change when batchd starts defaulting (issue #4).

// jobManifest returns a Job whose selector, labels and counts are all set.
// jobManifest returns a Job managed by a controller that does not run
// (spec.managedBy), so the Job controller leaves it and its status alone
// and the printed tables stay the same from run to run.
func jobManifest(name string, completions int, labels ...string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %[1]s
  labels:
    app: %[1]s%[3]s
spec:
  managedBy: e2e.batchd.dev/static
  completions: %[2]d
  parallelism: 1
  backoffLimit: 4
  completionMode: NonIndexed
  suspend: false
  manualSelector: true
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
        command: ["sh", "-c", "echo %[1]s"]
`, name, completions, extraLabels(4, labels))
}

// cronJobManifest returns a CronJob with its policies and limits set.
func cronJobManifest(name string, labels ...string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: %[1]s
  labels:
    app: %[1]s%[2]s
spec:
  schedule: "30 2 * * *"
  concurrencyPolicy: Forbid
  suspend: false
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 1
  jobTemplate:
    metadata:
      labels:
        app: %[1]s
    spec:
      backoffLimit: 2
      template:
        metadata:
          labels:
            app: %[1]s
        spec:
          restartPolicy: OnFailure
          containers:
          - name: main
            image: busybox:1.36
            command: ["date"]
`, name, extraLabels(4, labels))
}

// podManifest returns a bare pod. Nothing runs it, so it stays Pending.
// podManifest returns a pod for a scheduler that does not run, so it stays
// Pending with no scheduler events and its describe output is stable.
func podManifest(name string, labels ...string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %[1]s
  labels:
    app: %[1]s%[2]s
spec:
  schedulerName: e2e.batchd.dev/none
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
`, name, extraLabels(4, labels))
}

// owner names an object that another object's ownerReference points at.
type owner struct {
	apiVersion, kind, name, uid string
}

// ownedConfigMapManifest returns a configmap with an ownerReference to o.
// blockOwnerDeletion makes a foreground delete of o wait for it; finalizers
// keep it (and so such an owner) until the test removes them.
func ownedConfigMapManifest(name string, o owner, blockOwnerDeletion bool, finalizers ...string) string {
	var fin string
	if len(finalizers) > 0 {
		fin = "\n  finalizers: [" + strings.Join(finalizers, ", ") + "]"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %s%s
  ownerReferences:
  - apiVersion: %s
    kind: %s
    name: %s
    uid: %s
    blockOwnerDeletion: %t
data:
  owner: %s
`, name, fin, o.apiVersion, o.kind, o.name, o.uid, blockOwnerDeletion, o.name)
}

// event is a core/v1 Event the tests create themselves: no controller in
// batchd records events yet.
type event struct {
	name, eventType, reason, message string
	about                            owner // involvedObject
	ago                              time.Duration
}

func (e event) manifest(ns string) string {
	ts := time.Now().Add(-e.ago).UTC().Format(time.RFC3339)
	uid := ""
	if e.about.uid != "" {
		uid = "\n  uid: " + e.about.uid
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Event
metadata:
  name: %s
involvedObject:
  apiVersion: %s
  kind: %s
  name: %s
  namespace: %s%s
type: %s
reason: %s
message: %q
source:
  component: e2e
firstTimestamp: %q
lastTimestamp: %q
count: 1
`, e.name, e.about.apiVersion, e.about.kind, e.about.name, ns, uid, e.eventType, e.reason, e.message, ts, ts)
}

// extraLabels renders "key=value" labels as YAML map entries indented by n.
func extraLabels(n int, labels []string) string {
	var b strings.Builder
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		fmt.Fprintf(&b, "\n%s%s: %q", strings.Repeat(" ", n), k, v)
	}
	return b.String()
}

// documents joins manifests into one multi-document YAML file, which one
// kubectl create -f creates in order.
func documents(manifests ...string) string {
	return strings.Join(manifests, "---\n")
}

// createManifest writes manifest to a file and runs kubectl create -f on it
// (with kubectl's default validation), failing the test unless kubectl
// prints want.
func createManifest(t *testing.T, k *kubectl, ns, manifest, want string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	writeFile(t, path, manifest)
	if got := k.mustRun(t, "-n", ns, "create", "-f", path); got != want {
		t.Fatalf("kubectl create -f printed %q, want %q; manifest:\n%s", got, want, manifest)
	}
}

// uidOf returns the uid of a namespaced object.
func uidOf(t *testing.T, k *kubectl, ns, resource, name string) string {
	t.Helper()
	uid := k.mustRun(t, "-n", ns, "get", resource, name, "-o", "jsonpath={.metadata.uid}")
	if uid == "" {
		t.Fatalf("%s %s/%s has no uid", resource, ns, name)
	}
	return uid
}

// checkTypedBody checks, from a -v=8 log, that kubectl sent the body of its
// POST as protobuf on 1.32+ and as JSON before (spec/kubectl.md §0.1).
func checkTypedBody(t *testing.T, k *kubectl, command, stderr string) {
	t.Helper()
	headers := postHeaders(stderr)
	if headers == "" {
		t.Errorf("kubectl %s %s -v=8 shows no POST: the test no longer sees the request", k.version, command)
		return
	}
	want := "Content-Type: application/json"
	if k.minor >= 32 {
		want = "Content-Type: application/vnd.kubernetes.protobuf"
	}
	if !strings.Contains(headers, want) {
		t.Errorf("kubectl %s %s -v=8: the POST has no %q:\n%s", k.version, command, want, headers)
	}
}

// postHeaders returns the part of a -v=8 log from the first POST to its
// response: the request line and headers. kubectl 1.33 logs
// `"Request" verb="POST" … headers=<`, older ones `POST https://…` and
// `Request Headers:`.
func postHeaders(log string) string {
	start := strings.Index(log, `"Request" verb="POST"`)
	if start < 0 {
		start = strings.Index(log, "] POST https://")
	}
	if start < 0 {
		return ""
	}
	rest := log[start:]
	for _, end := range []string{`"Response"`, "Response Status:"} {
		if i := strings.Index(rest, end); i >= 0 {
			return rest[:i]
		}
	}
	return rest
}

// hasFlag reports whether this kubectl's command (such as "patch") has the
// flag (such as "--subresource"), from its --help.
func (k *kubectl) hasFlag(t *testing.T, command, flag string) bool {
	t.Helper()
	help := k.mustRun(t, command, "--help")
	return strings.Contains(help, flag+"=") || strings.Contains(help, flag+":")
}

// notFound reports whether kubectl get of the object fails with NotFound.
func notFound(t *testing.T, k *kubectl, ns, resource, name string) bool {
	t.Helper()
	r := k.run(t, "-n", ns, "get", resource, name, "-o", "name")
	return r.err != nil && strings.Contains(r.stderr, "(NotFound)")
}

// exitCode returns the exit status of a finished kubectl, 0 for success.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return -1
}
