package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
)

func testCreateCronJob(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-cronjob")
	r := k.run(t, "-n", ns, "create", "cronjob", "nightly", "--image=busybox", "--schedule=30 2 * * *", "-v=8", "--", "date")
	if r.err != nil {
		t.Fatalf("kubectl create cronjob: %v\nstderr:\n%s", r.err, r.stderr)
	}
	if want := "cronjob.batch/nightly created\n"; r.stdout != want {
		t.Errorf("kubectl create cronjob printed %q, want %q", r.stdout, want)
	}
	checkTypedBody(t, k, "create cronjob", r.stderr)

	var cj batchv1.CronJob
	mustUnmarshalJSON(t, k.mustRun(t, "-n", ns, "get", "cronjob", "nightly", "-o", "json"), &cj)
	if cj.APIVersion != "batch/v1" || cj.Kind != "CronJob" || cj.UID == "" {
		t.Errorf("cronjob has apiVersion %q kind %q uid %q, want batch/v1 CronJob and a uid", cj.APIVersion, cj.Kind, cj.UID)
	}
	if cj.Spec.Schedule != "30 2 * * *" {
		t.Errorf("schedule = %q, want %q", cj.Spec.Schedule, "30 2 * * *")
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("cronjob's job template has %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Name != "nightly" || c.Image != "busybox" {
		t.Errorf("container is %s (image %s), want nightly (image busybox)", c.Name, c.Image)
	}
	if diff := cmp.Diff([]string{"date"}, c.Command); diff != "" {
		t.Errorf("container command mismatch (-want +got):\n%s", diff)
	}
	if pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy = %q, want OnFailure", pod.RestartPolicy)
	}
	if got := k.mustRun(t, "-n", ns, "get", "cj", "-o", "name"); got != "cronjob.batch/nightly\n" {
		t.Errorf("get cj -o name = %q, want cronjob.batch/nightly", got)
	}
}

// testCreateJobFromCronJob runs a CronJob by hand: kubectl reads the
// CronJob and creates a Job from its jobTemplate, owned by the CronJob.
func testCreateJobFromCronJob(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-job-from-cronjob")
	createManifest(t, k, ns, cronJobManifest("nightly"), "cronjob.batch/nightly created\n")
	cjUID := uidOf(t, k, ns, "cronjob", "nightly")

	r := k.run(t, "-n", ns, "create", "job", "manual", "--from=cronjob/nightly", "-v=8")
	if r.err != nil {
		t.Fatalf("kubectl create job --from=cronjob/nightly: %v\nstderr:\n%s", r.err, r.stderr)
	}
	if want := "job.batch/manual created\n"; r.stdout != want {
		t.Errorf("kubectl create job --from printed %q, want %q", r.stdout, want)
	}
	checkTypedBody(t, k, "create job --from", r.stderr)

	var job batchv1.Job
	mustUnmarshalJSON(t, k.mustRun(t, "-n", ns, "get", "job", "manual", "-o", "json"), &job)
	wantOwners := []metav1.OwnerReference{{
		APIVersion: "batch/v1",
		Kind:       "CronJob",
		Name:       "nightly",
		UID:        types.UID(cjUID),
		Controller: ptr.To(true),
	}}
	// What kubectl sends (seen with -v=8): 1.27 marks neither controller
	// nor blockOwnerDeletion, 1.28 both, 1.29+ only controller.
	switch {
	case k.minor <= 27:
		wantOwners[0].Controller = nil
	case k.minor == 28:
		wantOwners[0].BlockOwnerDeletion = ptr.To(true)
	}
	if diff := cmp.Diff(wantOwners, job.OwnerReferences); diff != "" {
		t.Errorf("ownerReferences mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"cronjob.kubernetes.io/instantiate": "manual"}, job.Annotations); diff != "" {
		t.Errorf("annotations mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"app": "nightly"}, job.Labels); diff != "" {
		t.Errorf("labels (from the jobTemplate) mismatch (-want +got):\n%s", diff)
	}
	if got := job.Spec.BackoffLimit; got == nil || *got != 2 {
		t.Errorf("spec.backoffLimit = %v, want the jobTemplate's 2", got)
	}
	if cs := job.Spec.Template.Spec.Containers; len(cs) != 1 || cs[0].Name != "main" || cs[0].Image != "busybox:1.36" {
		t.Errorf("containers = %+v, want the jobTemplate's main (busybox:1.36)", cs)
	}
}

// jobsLabel marks the jobs testGetJobs lists, so that -A finds only them.
const jobsLabel = "e2e=get-jobs"

func testGetJobs(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-get-jobs-a")
	other := createNamespace(t, k, "e2e-get-jobs-b")
	createManifest(t, k, ns, jobManifest("alpha", 3, "tier=web", jobsLabel), "job.batch/alpha created\n")
	createManifest(t, k, ns, jobManifest("beta", 1, "tier=db", jobsLabel), "job.batch/beta created\n")
	createManifest(t, k, other, jobManifest("gamma", 2, "tier=web", jobsLabel), "job.batch/gamma created\n")

	t.Run("names", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			want []string
		}{
			{"all", nil, []string{"alpha", "beta"}},
			{"label", []string{"-l", "tier=web"}, []string{"alpha"}},
			{"set-based label", []string{"-l", "tier in (web,db)"}, []string{"alpha", "beta"}},
			{"all namespaces and label", []string{"-A", "-l", "tier=web"}, []string{"alpha", "gamma"}},
			{"field metadata.name", []string{"--field-selector", "metadata.name=beta"}, []string{"beta"}},
			{"field status.successful", []string{"--field-selector", "status.successful=0"}, []string{"alpha", "beta"}},
			{"field status.successful matches nothing", []string{"--field-selector", "status.successful=1"}, nil},
			{"sort by completions", []string{"--sort-by", ".spec.completions"}, []string{"beta", "alpha"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				args := append([]string{"-n", ns, "get", "jobs", "-o", "name"}, tt.args...)
				if diff := cmp.Diff(tt.want, objectNames(k.mustRun(t, args...))); diff != "" {
					t.Errorf("kubectl %s mismatch (-want +got):\n%s", strings.Join(args, " "), diff)
				}
			})
		}
	})

	t.Run("tables", func(t *testing.T) {
		tests := []struct {
			golden string
			args   []string
		}{
			{"get-jobs-show-labels", []string{"-n", ns, "get", "jobs", "--show-labels"}},
			{"get-jobs-label-columns", []string{"-n", ns, "get", "jobs", "-L", "tier", "-L", "missing"}},
			{"get-jobs-all-namespaces", []string{"get", "jobs", "-A", "-l", jobsLabel}},
			{"get-jobs-all-namespaces-wide", []string{"get", "jobs", "-A", "-l", jobsLabel, "-o", "wide"}},
			{"get-jobs-selected", []string{"-n", ns, "get", "jobs", "-l", "tier!=web", "--field-selector", "metadata.name!=alpha"}},
		}
		for _, tt := range tests {
			t.Run(tt.golden, func(t *testing.T) {
				k.golden(t, tt.golden, k.mustRun(t, tt.args...))
			})
		}
	})

	t.Run("sort-by", func(t *testing.T) {
		// --sort-by needs whole objects: kubectl asks for a Table with
		// includeObject=Object and sorts the rows itself.
		r := k.run(t, "-n", ns, "get", "jobs", "--sort-by", ".spec.completions", "-v=6")
		if r.err != nil {
			t.Fatalf("kubectl get jobs --sort-by: %v\nstderr:\n%s", r.err, r.stderr)
		}
		if !strings.Contains(r.stderr, "includeObject=Object") {
			t.Errorf("kubectl get --sort-by -v=6 shows no request with includeObject=Object:\n%s", r.stderr)
		}
		k.golden(t, "get-jobs-sort-by", r.stdout)
	})

	t.Run("yaml", func(t *testing.T) {
		var job batchv1.Job
		out := k.mustRun(t, "-n", ns, "get", "job", "alpha", "-o", "yaml")
		if err := utilyaml.UnmarshalStrict([]byte(out), &job); err != nil {
			t.Fatalf("parsing kubectl get job -o yaml: %v\n%s", err, out)
		}
		if job.APIVersion != "batch/v1" || job.Kind != "Job" || job.Name != "alpha" || job.Namespace != ns {
			t.Errorf("job is %s %s %s/%s, want batch/v1 Job %s/alpha", job.APIVersion, job.Kind, job.Namespace, job.Name, ns)
		}
		if diff := cmp.Diff(map[string]string{"app": "alpha", "tier": "web", "e2e": "get-jobs"}, job.Labels); diff != "" {
			t.Errorf("labels mismatch (-want +got):\n%s", diff)
		}
		if job.Spec.Completions == nil || *job.Spec.Completions != 3 {
			t.Errorf("spec.completions = %v, want 3", job.Spec.Completions)
		}
	})

	t.Run("json", func(t *testing.T) {
		var list struct {
			APIVersion string        `json:"apiVersion"`
			Kind       string        `json:"kind"`
			Items      []batchv1.Job `json:"items"`
		}
		mustUnmarshalJSON(t, k.mustRun(t, "-n", ns, "get", "jobs", "-o", "json"), &list)
		if list.APIVersion != "v1" || list.Kind != "List" {
			t.Errorf("get jobs -o json has apiVersion %q kind %q, want v1 List", list.APIVersion, list.Kind)
		}
		var names []string
		for _, j := range list.Items {
			names = append(names, j.Name)
			if j.APIVersion != "batch/v1" || j.Kind != "Job" {
				t.Errorf("listed job %s has apiVersion %q kind %q, want batch/v1 Job", j.Name, j.APIVersion, j.Kind)
			}
		}
		if diff := cmp.Diff([]string{"alpha", "beta"}, names); diff != "" {
			t.Errorf("get jobs -o json items mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("jsonpath", func(t *testing.T) {
		got := k.mustRun(t, "-n", ns, "get", "jobs",
			"-o", `jsonpath={range .items[*]}{.metadata.name}={.spec.completions} {.spec.template.spec.containers[0].image}{"\n"}{end}`)
		if want := "alpha=3 busybox:1.36\nbeta=1 busybox:1.36\n"; got != want {
			t.Errorf("get jobs -o jsonpath = %q, want %q", got, want)
		}
	})
}

// testWatchJobs follows jobs with get -w while one is labelled and deleted.
func testWatchJobs(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-watch-jobs")
	createManifest(t, k, ns, jobManifest("before", 1), "job.batch/before created\n")

	w := k.start(t, "-n", ns, "get", "jobs", "-w", "--output-watch-events", "-L", "stage")
	w.waitForOutput(t, watchTimeout, "the initial list", hasRow("ADDED", "before"))

	createManifest(t, k, ns, jobManifest("changing", 2), "job.batch/changing created\n")
	k.mustRun(t, "-n", ns, "label", "job", "changing", "stage=labeled")
	k.mustRun(t, "-n", ns, "delete", "job", "changing")
	w.waitForOutput(t, watchTimeout, "the DELETED event", hasRow("DELETED", "changing"))
	if w.exited() {
		t.Fatalf("kubectl get jobs -w exited by itself (%v): the server closed the watch", w.err)
	}
	w.stop()
	if stderr := w.stderr.String(); stderr != "" {
		t.Errorf("kubectl get jobs -w wrote to stderr:\n%s", stderr)
	}
	k.golden(t, "watch-jobs", w.stdout.String())
}

// testPatchStatus writes a Job's status through the status subresource, as
// the job controller will, and checks that the main resource and the
// subresource each ignore the other's half.
func testPatchStatus(t *testing.T, k *kubectl) {
	if !k.hasFlag(t, "patch", "--subresource") {
		t.Skipf("kubectl %s patch has no --subresource flag", k.version)
	}
	ns := createNamespace(t, k, "e2e-patch-status")
	createManifest(t, k, ns, jobManifest("counted", 3), "job.batch/counted created\n")
	status := func() string {
		return k.mustRun(t, "-n", ns, "get", "job", "counted",
			"-o", "jsonpath={.status.active}/{.status.succeeded} backoffLimit={.spec.backoffLimit}")
	}

	tests := []struct {
		name       string
		args       []string
		wantOut    string
		wantStatus string
	}{
		{
			name:       "merge patch of the status subresource",
			args:       []string{"--subresource=status", "--type=merge", "-p", `{"status":{"active":1,"succeeded":2}}`},
			wantOut:    "job.batch/counted patched\n",
			wantStatus: "1/2 backoffLimit=4",
		},
		{
			name:       "json patch of the status subresource",
			args:       []string{"--subresource=status", "--type=json", "-p", `[{"op":"replace","path":"/status/active","value":2}]`},
			wantOut:    "job.batch/counted patched\n",
			wantStatus: "2/2 backoffLimit=4",
		},
		{
			name:       "the main resource ignores status",
			args:       []string{"--type=merge", "-p", `{"status":{"succeeded":3}}`},
			wantOut:    "job.batch/counted patched (no change)\n",
			wantStatus: "2/2 backoffLimit=4",
		},
		{
			name:       "the status subresource ignores spec",
			args:       []string{"--subresource=status", "--type=merge", "-p", `{"spec":{"backoffLimit":1}}`},
			wantOut:    "job.batch/counted patched (no change)\n",
			wantStatus: "2/2 backoffLimit=4",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-n", ns, "patch", "job", "counted"}, tt.args...)
			if got := k.mustRun(t, args...); got != tt.wantOut {
				t.Errorf("kubectl %s printed %q, want %q", strings.Join(args, " "), got, tt.wantOut)
			}
			if got := status(); got != tt.wantStatus {
				t.Errorf("after kubectl %s: status %q, want %q", strings.Join(args, " "), got, tt.wantStatus)
			}
		})
	}
	// The table's COMPLETIONS column reads status.succeeded.
	k.golden(t, "get-job-status", k.mustRun(t, "-n", ns, "get", "job", "counted"))
}
