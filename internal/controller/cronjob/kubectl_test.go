package cronjob_test

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// kubectlPath finds kubectl the way the e2e suite does: the binary that
// "kubectl" on PATH resolves to, in its own directory (a dispatcher picks
// the version there).
func kubectlPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not on PATH; test/e2e covers kubectl against the built binary")
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = filepath.Join(filepath.Dir(real), "kubectl")
	}
	return p
}

// kubectl runs kubectl against the env's cluster and namespace and
// returns stdout and stderr.
func (e *env) kubectl(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), kubectlPath(t), append([]string{"--kubeconfig", e.cluster.Kubeconfig(), "-n", e.ns}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func (e *env) mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := e.kubectl(t, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// CRON-EX-04 CRON-MAN-01 CRON-MAN-02 CRON-MAN-03 CRON-EX-01: the issue's
// kubectl session. `kubectl create cronjob hello --image=busybox
// --schedule='*/1 * * * *' -- echo hi` creates a Job each minute (the
// clock is stepped), `kubectl get cronjobs` shows upstream's columns, and
// `kubectl create job manual-1 --from=cronjob/hello` makes a Job owned by
// the CronJob that it neither lists nor counts as active.
func TestKubectl(t *testing.T) {
	e := start(t, false)
	kubectlPath(t)
	if out := e.mustKubectl(t, "create", "cronjob", "hello", "--image=busybox", "--schedule=*/1 * * * *", "--", "echo", "hi"); out != "cronjob.batch/hello created\n" {
		t.Errorf("kubectl create cronjob printed %q", out)
	}
	cj := e.get(t, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "hello"}})
	first := firstMinute(cj)
	var want []string
	for i := range 3 {
		at := first.Add(time.Duration(i) * time.Minute)
		e.runAt(at)
		want = append(want, name(cj, at))
		e.awaitJobs(t, cj, want...)
	}
	cj = e.awaitCronJob(t, cj, "three active", hasActive(want...))

	out := e.mustKubectl(t, "get", "cronjobs")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := strings.Fields(lines[0]); !slices.Equal(got, []string{"NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"}) {
		t.Errorf("kubectl get cronjobs header %q", lines[0])
	}
	if len(lines) != 2 || !strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "hello */1 * * * * <none> False 3 ") {
		t.Errorf("kubectl get cronjobs:\n%s", out)
	}

	// CRON-MAN-01: kubectl builds the Job from the template client-side.
	if out := e.mustKubectl(t, "create", "job", "manual-1", "--from=cronjob/hello"); out != "job.batch/manual-1 created\n" {
		t.Errorf("kubectl create job --from printed %q", out)
	}
	job, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), "manual-1", metav1.GetOptions{})
	must(t, err)
	if diff := cmp.Diff(map[string]string{"cronjob.kubernetes.io/instantiate": "manual"}, job.Annotations); diff != "" {
		t.Errorf("CRON-MAN-01 annotations (-want +got):\n%s", diff)
	}
	wantRefs := []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "hello", UID: cj.UID, Controller: ptr.To(true)}}
	if diff := cmp.Diff(wantRefs, job.OwnerReferences); diff != "" {
		t.Errorf("CRON-MAN-01 ownerReferences (-want +got):\n%s", diff)
	}
	if c := job.Spec.Template.Spec.Containers; len(c) != 1 || c[0].Image != "busybox" || !slices.Equal(c[0].Command, []string{"echo", "hi"}) {
		t.Errorf("CRON-MAN-01 containers %+v", c)
	}
	// CRON-MAN-03 CRON-EX-04: the controller sees a child it did not
	// create; ACTIVE does not change.
	e.awaitEvent(t, cj, "Warning", "UnexpectedJob", "Saw a job that the controller did not create or forgot: manual-1")
	stays(t, "ACTIVE unchanged", func() (bool, string) {
		cur := e.get(t, cj)
		return slices.Equal(activeNames(cur), activeNames(cj)), describe(cur)
	})
	out = e.mustKubectl(t, "get", "cronjob", "hello", "--no-headers")
	if f := strings.Fields(out); len(f) < 10 || f[8] != "3" {
		t.Errorf("kubectl get cronjob hello: %q, want ACTIVE 3", out)
	}
	// CRON-MAN-03: a manual success advances lastSuccessfulTime.
	e.stepTo(first.Add(2*time.Minute + 30*time.Second))
	e.finish(t, "manual-1", true)
	e.awaitCronJob(t, cj, "lastSuccessfulTime from the manual Job", func(cj *batchv1.CronJob) bool {
		return cj.Status.LastSuccessfulTime != nil && cj.Status.LastSuccessfulTime.Time.Equal(e.fc.Now().Truncate(time.Second))
	})

	// CRON-MAN-02: kubectl's own errors. Its "from must be an existing
	// cronjob" needs --from to resolve to other than one object, which the
	// builder already refuses ("no name was specified"); a missing CronJob
	// is the API server's NotFound.
	_, err = e.c.CoreV1().ConfigMaps(e.ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}}, metav1.CreateOptions{})
	must(t, err)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "job", "x"}, "either --image or --from must be specified"},
		{[]string{"create", "job", "x", "--from=cronjob/hello", "--", "date"}, "cannot specify --from and command"},
		{[]string{"create", "job", "x", "--from=cronjob/nope"}, `cronjobs.batch "nope" not found`},
		{[]string{"create", "job", "x", "--from=configmap/settings"}, "unknown object type *v1.ConfigMap"},
		{[]string{"create", "job", "manual-1", "--from=cronjob/hello"}, `failed to create job: jobs.batch "manual-1" already exists`},
	} {
		_, errOut, err := e.kubectl(t, tt.args...)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(errOut, tt.want) {
			t.Errorf("CRON-MAN-02 kubectl %s: err %v, stderr %q, want %q", strings.Join(tt.args, " "), err, errOut, tt.want)
		}
	}
}
