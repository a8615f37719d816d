package e2e

import (
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
)

// testExplain renders field documentation from the server's OpenAPI:
// kubectl 1.27/1.28 need /openapi/v2 in protobuf, 1.29+ read /openapi/v3
// (spec/kubectl.md §3).
func testExplain(t *testing.T, k *kubectl) {
	tests := []struct {
		golden string
		args   []string
		v3     string   // the OpenAPI v3 document 1.29+ read
		lines  int      // how many lines the golden file keeps; 0 for all
		want   []string // starts of lines it must print
	}{
		{
			golden: "explain-job-podfailurepolicy",
			args:   []string{"explain", "job.spec.podFailurePolicy"},
			v3:     "/openapi/v3/apis/batch/v1",
			want: []string{
				"FIELD: podFailurePolicy <PodFailurePolicy>",
				"    Specifies the policy of handling failed pods.",
				"  rules\t<[]PodFailurePolicyRule> -required-",
			},
		},
		{
			golden: "explain-pod-containers-recursive",
			args:   []string{"explain", "pod.spec.containers", "--recursive"},
			v3:     "/openapi/v3/api/v1",
			lines:  24,
			want: []string{
				"  image\t<string>",
				"  name\t<string> -required-",
				"  securityContext\t<SecurityContext>",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			r := k.run(t, append(tt.args, "-v=6")...)
			if r.err != nil {
				t.Fatalf("kubectl %s: %v\nstderr:\n%s", strings.Join(tt.args, " "), r.err, lastLines(r.stderr, 10))
			}
			wantDocument := tt.v3
			if k.minor <= 28 {
				wantDocument = "/openapi/v2"
			}
			if !strings.Contains(r.stderr, wantDocument) {
				t.Errorf("kubectl %s %s -v=6 did not fetch %s", k.version, strings.Join(tt.args, " "), wantDocument)
			}
			lines := strings.SplitAfter(r.stdout, "\n")
			for _, want := range tt.want {
				if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
					t.Errorf("kubectl %s prints no line starting %q", strings.Join(tt.args, " "), want)
				}
			}
			if tt.lines > 0 {
				lines = lines[:min(tt.lines, len(lines))]
			}
			k.goldenText(t, tt.golden, strings.Join(lines, ""))
		})
	}
}

// testAuth asks the server about the caller's own permissions and identity
// through the self-subject reviews. batchd lets every authenticated user do
// everything.
func testAuth(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-auth")

	t.Run("can-i", func(t *testing.T) {
		r := k.run(t, "-n", ns, "auth", "can-i", "create", "jobs", "-v=8")
		if r.err != nil {
			t.Fatalf("kubectl auth can-i create jobs: %v\nstderr:\n%s", r.err, lastLines(r.stderr, 10))
		}
		if r.stdout != "yes\n" {
			t.Errorf("kubectl auth can-i create jobs printed %q, want yes", r.stdout)
		}
		if !strings.Contains(r.stderr, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
			t.Errorf("kubectl auth can-i -v=8 shows no POST of a selfsubjectaccessreview")
		}
		checkTypedBody(t, k, "auth can-i", r.stderr)

		for _, args := range [][]string{
			{"delete", "cronjobs.batch"},
			{"get", "pods", "-n", "kube-system"},
			{"create", "pods", "--subresource=eviction"},
			{"patch", "jobs", "--subresource=status"},
			{"list", "namespaces", "--all-namespaces"},
			{"get", "/version"},
		} {
			got := k.mustRun(t, append([]string{"-n", ns, "auth", "can-i"}, args...)...)
			if got != "yes\n" {
				t.Errorf("kubectl auth can-i %s printed %q, want yes", strings.Join(args, " "), got)
			}
		}
	})

	t.Run("can-i --list", func(t *testing.T) {
		r := k.run(t, "-n", ns, "auth", "can-i", "--list", "-v=8")
		if r.err != nil {
			t.Fatalf("kubectl auth can-i --list: %v\nstderr:\n%s", r.err, lastLines(r.stderr, 10))
		}
		if !strings.Contains(r.stderr, "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews") {
			t.Errorf("kubectl auth can-i --list -v=8 shows no POST of a selfsubjectrulesreview")
		}
		checkTypedBody(t, k, "auth can-i --list", r.stderr)
		k.golden(t, "auth-can-i-list", r.stdout)
	})

	t.Run("whoami", func(t *testing.T) {
		r := k.run(t, "auth", "whoami", "-v=8")
		if r.err != nil && strings.Contains(r.stderr, "the selfsubjectreviews API is not enabled in the cluster") && k.minor <= 27 {
			t.Skipf("server bug: kubectl %s auth whoami asks only authentication.k8s.io/v1beta1 and v1alpha1 "+
				"selfsubjectreviews, and batchd serves neither (POST …/v1beta1/selfsubjectreviews: 404)", k.version)
		}
		if r.err != nil {
			t.Fatalf("kubectl auth whoami: %v\nstderr:\n%s", r.err, lastLines(r.stderr, 10))
		}
		checkTypedBody(t, k, "auth whoami", r.stderr)
		k.golden(t, "auth-whoami", r.stdout)

		var review authenticationv1.SelfSubjectReview
		mustUnmarshalJSON(t, k.mustRun(t, "auth", "whoami", "-o", "json"), &review)
		user := review.Status.UserInfo
		if user.Username == "" || !slices.Contains(user.Groups, "system:authenticated") {
			t.Errorf("auth whoami -o json: user %q groups %v, want a name and system:authenticated", user.Username, user.Groups)
		}
	})
}
