package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// invalidNameCause is the start of the field error batchd returns for
// metadata.name "Bad_Name", as upstream words it.
const invalidNameCause = `metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of`

func testErrors(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-errors")
	badManifest := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, badManifest, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n")
	dupManifest := filepath.Join(t.TempDir(), "dup.yaml")
	writeFile(t, dupManifest, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\n")

	tests := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{
			// 422 Invalid with details.causes: kubectl prints kind, name and
			// one line per cause.
			name: "invalid name",
			args: []string{"create", "configmap", "Bad_Name"},
			want: []string{`ConfigMap "Bad_Name" is invalid`, invalidNameCause},
		},
		{
			name: "invalid name from a file",
			args: []string{"create", "-f", badManifest},
			want: []string{`The ConfigMap "Bad_Name" is invalid: ` + invalidNameCause},
		},
		{
			name: "not found",
			args: []string{"get", "configmap", "missing"},
			want: []string{`Error from server (NotFound): configmaps "missing" not found`},
		},
		{
			name: "already exists",
			args: []string{"create", "-f", dupManifest},
			want: []string{`Error from server (AlreadyExists): error when creating "` + dupManifest + `": configmaps "dup" already exists`},
		},
		{
			name: "already exists through the typed client",
			args: []string{"create", "configmap", "dup"},
			want: []string{`configmaps "dup" already exists`},
		},
		{
			name: "unsupported field selector",
			args: []string{"get", "configmaps", "--field-selector", "spec.bogus=x"},
			want: []string{"Error from server (BadRequest)", "field label not supported: spec.bogus"},
		},
		{
			name: "unknown resource type",
			args: []string{"get", "bogusthings"},
			want: []string{`the server doesn't have a resource type "bogusthings"`},
		},
	}
	k.mustRun(t, "-n", ns, "create", "configmap", "dup")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr := k.mustFail(t, append([]string{"-n", ns}, tt.args...)...)
			for _, want := range tt.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("kubectl %s: stderr\n%s\nwant it to contain\n%s", strings.Join(tt.args, " "), stderr, want)
				}
			}
		})
	}
	if got := objectNames(k.mustRun(t, "-n", ns, "get", "configmaps", "-o", "name")); len(got) != 1 || got[0] != "dup" {
		t.Errorf("configmaps after the failed commands = %v, want only dup", got)
	}
}

// testProtectedNamespaces checks that the namespaces every cluster has
// cannot be deleted, as upstream's NamespaceLifecycle admission ensures.
// It uses a server-side dry run, so a server that wrongly accepts the
// delete does not take the namespaces away from later scenarios.
func testProtectedNamespaces(t *testing.T, k *kubectl) {
	for _, ns := range []string{"default", "kube-system", "kube-public"} {
		stderr := k.mustFail(t, "delete", "namespace", ns, "--dry-run=server")
		want := `Error from server (Forbidden): namespaces "` + ns + `" is forbidden: this namespace may not be deleted`
		if !strings.Contains(stderr, want) {
			t.Errorf("kubectl delete namespace %s: stderr %q, want %q", ns, stderr, want)
		}
	}
}

func testUnauthorized(t *testing.T, k *kubectl) {
	kc, err := clientcmd.LoadFromFile(k.kubeconfig)
	if err != nil {
		t.Fatalf("reading the admin kubeconfig: %v", err)
	}
	for name, user := range kc.AuthInfos {
		if user.Token == "" {
			t.Fatalf("admin kubeconfig user %s has no token", name)
		}
		user.Token = "not-the-" + user.Token
	}
	path := filepath.Join(t.TempDir(), "wrong-token.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}

	bad := k.withKubeconfig(path)

	// With a cold discovery cache the 401 comes from discovery, where
	// client-go replaces the body with its own wording (upstream too).
	cold := *bad
	cold.cacheDir = t.TempDir()
	stderr := cold.mustFail(t, "get", "namespaces")
	if want := "error: You must be logged in to the server ("; !strings.Contains(stderr, want) {
		t.Errorf("kubectl get namespaces with a wrong token and a cold cache: stderr %q, want %q", stderr, want)
	}

	// The same kubectl with the right token works, so the token was the
	// only difference; this also fills the discovery cache.
	if out := k.mustRun(t, "get", "namespace", "default", "-o", "name"); out != "namespace/default\n" {
		t.Errorf("kubectl get namespace default with the admin token printed %q", out)
	}

	// With discovery cached, the list itself gets the 401, and kubectl
	// prints the reason from the server's Status body.
	stderr = bad.mustFail(t, "get", "namespaces")
	if want := "error: You must be logged in to the server (Unauthorized)"; strings.TrimSpace(stderr) != want {
		t.Errorf("kubectl get namespaces with a wrong token: stderr %q, want %q", stderr, want)
	}
}

// testOpenAPIValidation runs `kubectl create -f` with kubectl's default
// validation, which needs the server's OpenAPI documents (spec/kubectl.md
// §0.2): v2 in protobuf for 1.27/1.28, v3 with fieldValidation on the PATCH
// operation for 1.29+.
func testOpenAPIValidation(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-openapi")
	path := filepath.Join(t.TempDir(), "validated.yaml")
	writeFile(t, path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: validated\ndata:\n  key: value\n")

	r := k.run(t, "-n", ns, "create", "-f", path, "-v=6")
	if r.err != nil {
		t.Fatalf("kubectl create -f with validation: %v\nstderr:\n%s", r.err, r.stderr)
	}
	if want := "configmap/validated created\n"; r.stdout != want {
		t.Errorf("kubectl create -f printed %q, want %q", r.stdout, want)
	}
	// kubectl trusts the server's validation once the OpenAPI document says
	// the server takes fieldValidation, and asks for it on the POST.
	if want := "fieldValidation=Strict"; !strings.Contains(r.stderr, want) {
		t.Errorf("kubectl %s create -f -v=6 shows no POST with %s: kubectl did not find the server's field validation in OpenAPI", k.version, want)
	}
	want := "/openapi/v3/api/v1"
	if k.minor <= 28 {
		want = "/openapi/v2"
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("kubectl %s create -f -v=6 did not fetch %s", k.version, want)
	}
}
