package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestPods is issue #5's end-to-end check: a `batchd server` with its
// in-process node agent runs Jobs whose pods are host processes, driven by
// the machine's default kubectl. The subtests run in parallel against the
// one server (the agent's port is fixed), each in a namespace of its own;
// the backoff case, about 35 s, sets the wall time.
func TestPods(t *testing.T) {
	srv := startAgentServer(t)
	path := defaultKubectlPath(t)
	k := newKubectl(t, "1."+serverMinor, path, srv.Kubeconfig)

	var mu sync.Mutex
	var namespaces []string
	// Runs before the server stops: deleting the namespaces stops and
	// removes every pod, so no process, sandbox or cgroup outlives the test.
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(namespaces) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := k.command(ctx, append([]string{"delete", "namespace", "--timeout=80s"}, namespaces...))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("deleting the test namespaces: %v\n%s", err, out)
		}
	})

	tests := []struct {
		name string
		run  func(t *testing.T, k *kubectl, ns string)
	}{
		{"JOB-AGENT-01 #5 pi completes and logs 2000 digits", testPodsPi},
		{"JOB-AGENT-01 #5 parallel job completes 10 of 10", testPodsParallel},
		{"JOB-AGENT-05 #5 indexed pods see their index and hostname", testPodsIndexed},
		{"JOB-BO-04 #5 failing job exceeds backoffLimit after 10 s doubling delays", testPodsBackoff},
		{"JOB-AGENT-04 #5 memory limit OOMKills the container", testPodsOOMKilled},
		{"JOB-AGENT-03 #5 kubectl delete job stops the processes", testPodsDeleteStops},
		{"JOB-AGENT-05 #5 configMap secret emptyDir and claim volumes", testPodsVolumes},
	}
	for i, tt := range tests {
		ns := fmt.Sprintf("pods-%d", i+1)
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKubectl(t, "1."+serverMinor, path, srv.Kubeconfig)
			createNamespace(t, k, ns)
			mu.Lock()
			namespaces = append(namespaces, ns)
			mu.Unlock()
			tt.run(t, k, ns)
		})
	}
}

// defaultKubectlPath is the machine's kubectl: the dispatcher, which runs
// the kubectl.<version> matching the server (1.33 for batchd).
func defaultKubectlPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl on PATH")
	}
	return path
}

// podsManifest returns testdata/pods/<name> with each old string replaced
// by its new one.
func podsManifest(t *testing.T, name string, oldnew ...string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "pods", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for i := 0; i+1 < len(oldnew); i += 2 {
		if !strings.Contains(s, oldnew[i]) {
			t.Fatalf("testdata/pods/%s has no %q to replace", name, oldnew[i])
		}
		s = strings.ReplaceAll(s, oldnew[i], oldnew[i+1])
	}
	return s
}

// randomHex returns n random bytes in hex.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// waitJobCondition waits with kubectl wait until the Job has condition
// cond (complete or failed), failing the test with the Job and its pods
// after timeout.
func waitJobCondition(t *testing.T, k *kubectl, ns, job, cond string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		// kubectl.run allows a command commandTimeout.
		step := min(time.Until(deadline), commandTimeout-10*time.Second).Truncate(time.Second)
		if step < time.Second {
			status := k.run(t, "-n", ns, "get", "job", job, "-o", "jsonpath={.status}")
			pods := k.run(t, "-n", ns, "get", "pods", "-o", "wide", "--show-labels")
			t.Fatalf("job %s not %s within %v\nstatus: %s\npods:\n%s", job, cond, timeout, status.stdout, pods.stdout)
		}
		r := k.run(t, "-n", ns, "wait", "--for=condition="+cond, "job/"+job, fmt.Sprintf("--timeout=%ds", int(step.Seconds())))
		if r.err == nil {
			return
		}
		if !strings.Contains(r.stderr, "timed out") {
			t.Fatalf("kubectl wait --for=condition=%s job/%s: %v\n%s", cond, job, r.err, r.stderr)
		}
	}
}

// jobPods returns the Job's pods, oldest first.
func jobPods(t *testing.T, k *kubectl, ns, job string) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	mustUnmarshalJSON(t, k.mustRun(t, "-n", ns, "get", "pods", "-l", "batch.kubernetes.io/job-name="+job, "-o", "json"), &list)
	pods := list.Items
	slices.SortStableFunc(pods, func(a, b corev1.Pod) int {
		return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
	})
	return pods
}

// terminated returns the state of the pod's only container once it has
// terminated, failing the test otherwise.
func terminated(t *testing.T, pod corev1.Pod) *corev1.ContainerStateTerminated {
	t.Helper()
	if len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Fatalf("pod %s has container statuses %+v, want one terminated container", pod.Name, pod.Status.ContainerStatuses)
	}
	return pod.Status.ContainerStatuses[0].State.Terminated
}

// jobRow returns the Job's row of kubectl get job.
func jobRow(t *testing.T, k *kubectl, ns, job string) map[string]string {
	t.Helper()
	rows := parseTable(t, k.mustRun(t, "-n", ns, "get", "job", job))
	if len(rows) != 1 {
		t.Fatalf("kubectl get job %s printed %d rows, want 1", job, len(rows))
	}
	return rows[0]
}

// testPodsPi runs the Job concepts page's example: perl computes π to 2000
// digits, and kubectl logs job/pi prints them.
func testPodsPi(t *testing.T, k *kubectl, ns string) {
	want, err := os.ReadFile(filepath.Join("testdata", "pods", "pi-2000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const seedCommand = `["perl",  "-Mbignum=bpi", "-wle", "print bpi(2000)"]`
	manifest := podsManifest(t, "pi.yaml")
	// The command runs on the host: check that the host's perl can run it.
	// Debian's perl 5.36 (Math::BigInt 1.999830) dies in bignum's bpi
	// beyond about 1000 digits, where Math::BigFloat->bpi still works.
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl on the host to run the pi job's command")
	}
	out, err := exec.CommandContext(t.Context(), "perl", "-Mbignum=bpi", "-wle", "print bpi(2000)").Output()
	if err != nil || !bytes.Equal(out, want) {
		t.Logf("the host's perl cannot run the seed command (%v, printed %d bytes): the job runs the same computation as Math::BigFloat->bpi(2000)", err, len(out))
		manifest = podsManifest(t, "pi.yaml", seedCommand, `["perl", "-MMath::BigFloat", "-le", "print Math::BigFloat->bpi(2000)"]`)
	}
	createManifest(t, k, ns, manifest, "job.batch/pi created\n")
	waitJobCondition(t, k, ns, "pi", "complete", 60*time.Second)

	logs := k.mustRun(t, "-n", ns, "logs", "job/pi")
	digits := strings.TrimSuffix(logs, "\n")
	if !strings.HasPrefix(digits, "3.14159265358979323846") || len(digits) != 2001 {
		t.Errorf("kubectl logs job/pi printed %d characters starting %.30q, want 3.14159265358979323846… (2000 digits and the point)", len(digits), digits)
	}
	if logs != string(want) {
		t.Errorf("kubectl logs job/pi is not π to 2000 digits (testdata/pods/pi-2000.txt):\n%s", logs)
	}
	if got := jobRow(t, k, ns, "pi")["COMPLETIONS"]; got != "1/1" {
		t.Errorf("kubectl get job pi shows COMPLETIONS %q, want 1/1", got)
	}
}

// testPodsParallel runs ten completions, five at a time.
func testPodsParallel(t *testing.T, k *kubectl, ns string) {
	createManifest(t, k, ns, podsManifest(t, "parallel.yaml"), "job.batch/parallel created\n")
	waitJobCondition(t, k, ns, "parallel", "complete", 60*time.Second)

	if got := jobRow(t, k, ns, "parallel")["COMPLETIONS"]; got != "10/10" {
		t.Errorf("kubectl get job parallel shows COMPLETIONS %q, want 10/10", got)
	}
	pods := jobPods(t, k, ns, "parallel")
	if len(pods) != 10 {
		t.Fatalf("the job has %d pods, want 10", len(pods))
	}
	// How many containers ran at once, from their start and finish times
	// (whole seconds, a finish counted before a start at the same second):
	// never more than the parallelism, and more than one.
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, p := range pods {
		if p.Status.Phase != corev1.PodSucceeded {
			t.Errorf("pod %s is %s, want Succeeded", p.Name, p.Status.Phase)
		}
		st := terminated(t, p)
		if st.ExitCode != 0 {
			t.Errorf("pod %s exited %d, want 0", p.Name, st.ExitCode)
		}
		edges = append(edges, edge{st.StartedAt.Time, 1}, edge{st.FinishedAt.Time, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	running, most := 0, 0
	for _, e := range edges {
		running += e.delta
		most = max(most, running)
	}
	t.Logf("at most %d of the job's containers ran at once", most)
	if most > 5 || most < 2 {
		t.Errorf("at most %d of the job's containers ran at once, want 2 to 5 (parallelism 5)", most)
	}
}

// testPodsIndexed checks that each pod of an Indexed Job sees its index
// and has the host name <job>-<index>.
func testPodsIndexed(t *testing.T, k *kubectl, ns string) {
	createManifest(t, k, ns, podsManifest(t, "indexed.yaml"), "job.batch/indexed created\n")
	waitJobCondition(t, k, ns, "indexed", "complete", 60*time.Second)

	byIndex := map[string]corev1.Pod{}
	for _, p := range jobPods(t, k, ns, "indexed") {
		byIndex[p.Annotations["batch.kubernetes.io/job-completion-index"]] = p
	}
	for i := range 3 {
		p, ok := byIndex[strconv.Itoa(i)]
		if !ok {
			t.Errorf("no pod has completion index %d", i)
			continue
		}
		host := "indexed-" + strconv.Itoa(i)
		if p.Spec.Hostname != host || p.Spec.Subdomain != "workers" {
			t.Errorf("pod %s has hostname %q subdomain %q, want %q and workers", p.Name, p.Spec.Hostname, p.Spec.Subdomain, host)
		}
		want := fmt.Sprintf("index=%d hostname=%s\n", i, host)
		if got := k.mustRun(t, "-n", ns, "logs", p.Name); got != want {
			t.Errorf("kubectl logs %s = %q, want %q", p.Name, got, want)
		}
	}
	if got := k.mustRun(t, "-n", ns, "get", "job", "indexed", "-o", "jsonpath={.status.completedIndexes}"); got != "0-2" {
		t.Errorf("completedIndexes = %q, want 0-2", got)
	}
}

// testPodsBackoff checks that a Job whose pods fail creates each
// replacement after the Job controller's backoff, counted from the previous
// pod's finish (10 s, then 20 s), and fails once backoffLimit is exceeded.
func testPodsBackoff(t *testing.T, k *kubectl, ns string) {
	createManifest(t, k, ns, podsManifest(t, "failing.yaml"), "job.batch/failing created\n")
	waitJobCondition(t, k, ns, "failing", "failed", 100*time.Second)

	var job batchv1.Job
	mustUnmarshalJSON(t, k.mustRun(t, "-n", ns, "get", "job", "failing", "-o", "json"), &job)
	var failed *batchv1.JobCondition
	for i, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed {
			failed = &job.Status.Conditions[i]
		}
	}
	if failed == nil || failed.Status != corev1.ConditionTrue || failed.Reason != "BackoffLimitExceeded" {
		t.Errorf("job conditions %+v, want Failed=True with reason BackoffLimitExceeded", job.Status.Conditions)
	}
	if job.Status.Failed != 3 || job.Status.Active != 0 || job.Status.Succeeded != 0 {
		t.Errorf("job status has failed %d active %d succeeded %d, want 3, 0, 0", job.Status.Failed, job.Status.Active, job.Status.Succeeded)
	}

	pods := jobPods(t, k, ns, "failing")
	if len(pods) != 3 {
		t.Fatalf("the job has %d pods, want 3 (backoffLimit 2)", len(pods))
	}
	for _, p := range pods {
		st := terminated(t, p)
		if p.Status.Phase != corev1.PodFailed || st.ExitCode != 1 || p.Status.ContainerStatuses[0].RestartCount != 0 {
			t.Errorf("pod %s is %s, exit code %d, %d restarts; want Failed, 1, 0", p.Name, p.Status.Phase, st.ExitCode, p.Status.ContainerStatuses[0].RestartCount)
		}
	}
	// Timestamps are whole seconds: allow a second and a little for each
	// bound, and generous upper bounds for a loaded machine.
	for i, b := range []struct{ least, most time.Duration }{{8 * time.Second, 40 * time.Second}, {16 * time.Second, 60 * time.Second}} {
		prev, next := pods[i], pods[i+1]
		gap := next.CreationTimestamp.Sub(terminated(t, prev).FinishedAt.Time)
		t.Logf("pod %d was created %v after pod %d finished", i+2, gap, i+1)
		if gap < b.least || gap > b.most {
			t.Errorf("pod %s was created %v after pod %s finished, want %v to %v (backoff %v)", next.Name, gap, prev.Name, b.least, b.most, 10*time.Second<<i)
		}
	}
}

// hasMemoryCgroup reports whether the machine has a memory cgroup
// controller: a v1 hierarchy with it, or a v2 hierarchy offering it.
func hasMemoryCgroup() bool {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(mounts)) {
		pre, post, ok := strings.Cut(strings.TrimSpace(line), " - ")
		a, b := strings.Fields(pre), strings.Fields(post)
		if !ok || len(a) < 5 || len(b) < 3 {
			continue
		}
		switch b[0] {
		case "cgroup":
			if slices.Contains(strings.Split(b[2], ","), "memory") {
				return true
			}
		case "cgroup2":
			ctl, err := os.ReadFile(filepath.Join(a[4], "cgroup.controllers"))
			if err == nil && slices.Contains(strings.Fields(string(ctl)), "memory") {
				return true
			}
		}
	}
	return false
}

// oomTerminated matches kubectl describe's terminated state with reason
// OOMKilled and exit code 137.
var oomTerminated = regexp.MustCompile(`State:\s+Terminated\n\s+Reason:\s+OOMKilled\n\s+Exit Code:\s+137\n`)

// testPodsOOMKilled checks that a container going over its memory limit is
// killed and reported OOMKilled.
func testPodsOOMKilled(t *testing.T, k *kubectl, ns string) {
	if !hasMemoryCgroup() {
		t.Skip("the machine has no memory cgroup controller (neither a v1 memory hierarchy nor memory in a v2 cgroup.controllers): memory limits cannot be enforced")
	}
	createManifest(t, k, ns, podsManifest(t, "oom.yaml"), "job.batch/hog created\n")
	waitJobCondition(t, k, ns, "hog", "failed", 60*time.Second)

	pods := jobPods(t, k, ns, "hog")
	if len(pods) != 1 {
		t.Fatalf("the job has %d pods, want 1 (backoffLimit 0)", len(pods))
	}
	st := terminated(t, pods[0])
	if st.Reason != "OOMKilled" || st.ExitCode != 137 {
		t.Errorf("container terminated with reason %q exit code %d, want OOMKilled and 137", st.Reason, st.ExitCode)
	}
	out := k.mustRun(t, "-n", ns, "describe", "pod", pods[0].Name)
	if !oomTerminated.MatchString(out) || !strings.Contains(out, "Reason:       OOMKilled") {
		t.Errorf("kubectl describe pod shows no terminated state with Reason OOMKilled and Exit Code 137:\n%s", out)
	}
}

// markedProcesses returns the PIDs of the processes whose environment holds
// kv ("NAME=value").
func markedProcesses(kv string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue // gone, or a kernel thread
		}
		if slices.ContainsFunc(bytes.Split(env, []byte{0}), func(b []byte) bool { return string(b) == kv }) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// testPodsDeleteStops checks that kubectl delete job (background
// propagation, kubectl's default) stops the processes of the Job's
// running pods, well within their 30 s grace period: SIGTERM, not the
// SIGKILL at its end.
func testPodsDeleteStops(t *testing.T, k *kubectl, ns string) {
	marker := "BATCHD_E2E_MARKER=" + randomHex(t, 8)
	t.Cleanup(func() {
		for _, pid := range markedProcesses(marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	createManifest(t, k, ns, podsManifest(t, "sleeper.yaml", `"MARKER"`, `"`+strings.TrimPrefix(marker, "BATCHD_E2E_MARKER=")+`"`), "job.batch/sleeper created\n")

	var pids []int
	waitFor(t, 30*time.Second, "two running sleep processes with the marker", func() bool {
		pids = markedProcesses(marker)
		return len(pids) == 2
	})
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if got := string(bytes.ReplaceAll(bytes.TrimRight(cmdline, "\x00"), []byte{0}, []byte(" "))); got != "sleep 300" {
			t.Errorf("process %d with the marker runs %q, want sleep 300", pid, got)
		}
	}
	waitFor(t, 30*time.Second, "the job's two pods Running", func() bool {
		out := k.mustRun(t, "-n", ns, "get", "pods", "-l", "batch.kubernetes.io/job-name=sleeper", "-o", "jsonpath={.items[*].status.phase}")
		return out == "Running Running"
	})

	start := time.Now()
	if out := k.mustRun(t, "-n", ns, "delete", "job", "sleeper"); !strings.HasPrefix(out, `job.batch "sleeper" deleted`) {
		t.Errorf("kubectl delete job sleeper printed %q", out)
	}
	const within = 20 * time.Second // of the 30 s grace period
	deadline := start.Add(within)
	for {
		left := markedProcesses(marker)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v of the deleted job's pods still run %v after kubectl delete job", left, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the job's processes were gone %v after kubectl delete job", time.Since(start).Round(time.Millisecond))
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("process %d still exists after its pod was deleted", pid)
		}
	}
	waitFor(t, 30*time.Second, "the job's pods gone", func() bool {
		return k.mustRun(t, "-n", ns, "get", "pods", "-l", "batch.kubernetes.io/job-name=sleeper", "-o", "name") == ""
	})
}

// testPodsVolumes checks configMap, secret, emptyDir and
// persistentVolumeClaim volumes and a secretKeyRef variable, and that a
// claim's data outlives the pod that wrote it.
func testPodsVolumes(t *testing.T, k *kubectl, ns string) {
	token := randomHex(t, 8)
	createManifest(t, k, ns, podsManifest(t, "volumes.yaml", `"TOKEN"`, `"`+token+`"`),
		"configmap/settings created\nsecret/creds created\njob.batch/writer created\n")
	waitJobCondition(t, k, ns, "writer", "complete", 60*time.Second)
	want := "configmap=hello-from-configmap\n" +
		"secret-file=token-from-secret\n" +
		"secret-env=password-from-secret\n" +
		"emptydir=written-by-init\n" +
		"claim-written=" + token + "\n"
	if got := k.mustRun(t, "-n", ns, "logs", "job/writer", "-c", "main"); got != want {
		t.Errorf("kubectl logs job/writer:\n%s\nwant:\n%s", got, want)
	}

	// The writer's pod goes (a foreground delete returns once it is gone);
	// its claim stays for the reader.
	k.mustRun(t, "-n", ns, "delete", "job", "writer", "--cascade=foreground")
	if out := k.mustRun(t, "-n", ns, "get", "pods", "-l", "batch.kubernetes.io/job-name=writer", "-o", "name"); out != "" {
		t.Fatalf("the writer's pods remain after its foreground delete:\n%s", out)
	}
	createManifest(t, k, ns, podsManifest(t, "claim-reader.yaml"), "job.batch/reader created\n")
	waitJobCondition(t, k, ns, "reader", "complete", 60*time.Second)
	want = "claim-read=" + token + "\n" +
		"emptydir=empty\n" +
		"claim=read-only\n"
	if got := k.mustRun(t, "-n", ns, "logs", "job/reader"); got != want {
		t.Errorf("kubectl logs job/reader:\n%s\nwant:\n%s", got, want)
	}
}
