package e2e

import (
	"cmp"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/version"
)

// serverMinor is the Kubernetes minor version batchd reports on /version;
// it makes the kubectl dispatcher pick kubectl.1.33 (spec/kubectl.md §0.3).
const serverMinor = "33"

// scenario is one kubectl workflow, run once per kubectl version against a
// shared server. Each scenario works in namespaces of its own.
type scenario struct {
	name string
	run  func(t *testing.T, k *kubectl)
}

// allVersions is every kubectl version the machine installs; -kubectl=all
// runs them all.
var allVersions = []string{"1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"}

// TestKubectl drives the batchd binary with stock kubectl: every scenario
// runs as kubectl-<version>/<scenario>, one server per kubectl version.
// Scenarios run in order within a version; versions run in parallel (at
// most -parallel at once, GOMAXPROCS by default), except with -update, where
// the golden files' owner must write the shared files first.
func TestKubectl(t *testing.T) {
	scenarios := []scenario{
		{"version", testVersion},
		{"api-resources", testAPIResources},
		{"create", testCreate},
		{"get-output", testGetOutput},
		{"all-namespaces", testAllNamespaces},
		{"selectors", testSelectors},
		{"label-annotate", testLabelAnnotate},
		{"delete", testDelete},
		{"watch", testWatch},
		{"create-job", testCreateJob},
		{"create-job-defaults", testCreateJobDefaults},
		{"create-cronjob", testCreateCronJob},
		{"create-job-from-cronjob", testCreateJobFromCronJob},
		{"get-tables", testGetTables},
		{"get-jobs", testGetJobs},
		{"watch-jobs", testWatchJobs},
		{"describe", testDescribe},
		{"apply", testApply},
		{"apply-validation", testApplyValidation},
		{"apply-server-side", testApplyServerSide},
		{"replace-conflict", testReplaceConflict},
		{"edit", testEdit},
		{"patch", testPatch},
		{"patch-status", testPatchStatus},
		{"delete-cascade", testDeleteCascade},
		{"delete-wait", testDeleteWait},
		{"explain", testExplain},
		{"auth", testAuth},
		{"events", testEvents},
		{"errors", testErrors},
		{"protected-namespaces", testProtectedNamespaces},
		{"unauthorized", testUnauthorized},
		{"openapi-validation", testOpenAPIValidation},
	}
	for _, v := range kubectlMatrix(t) {
		t.Run("kubectl-"+v, func(t *testing.T) {
			if !*update {
				t.Parallel()
			}
			path := findKubectl(t, v)
			srv := startServer(t)
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					sc.run(t, newKubectl(t, v, path, srv.Kubeconfig))
				})
			}
		})
	}
}

// versionFlagValue matches one version in -kubectl.
var versionFlagValue = regexp.MustCompile(`^1\.[0-9]+$`)

// kubectlMatrix returns the versions named by -kubectl ("all" for
// allVersions), the golden files' owner first and then newest first.
func kubectlMatrix(t *testing.T) []string {
	t.Helper()
	var vs []string
	for v := range strings.SplitSeq(*kubectlVersions, ",") {
		switch v = strings.TrimSpace(v); {
		case v == "":
		case v == "all":
			vs = append(vs, allVersions...)
		case versionFlagValue.MatchString(v):
			vs = append(vs, v)
		default:
			t.Fatalf("-kubectl=%s: want versions like 1.27,1.33, or all", *kubectlVersions)
		}
	}
	minor := func(v string) int { n, _ := strconv.Atoi(strings.TrimPrefix(v, "1.")); return n }
	slices.SortFunc(vs, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == goldenOwner:
			return -1
		case b == goldenOwner:
			return 1
		}
		return cmp.Compare(minor(b), minor(a))
	})
	return slices.Compact(vs)
}

// createNamespace creates a namespace for one scenario and returns its name.
func createNamespace(t *testing.T, k *kubectl, name string) string {
	t.Helper()
	if got, want := k.mustRun(t, "create", "namespace", name), "namespace/"+name+" created\n"; got != want {
		t.Fatalf("kubectl create namespace printed %q, want %q", got, want)
	}
	return name
}

func testVersion(t *testing.T, k *kubectl) {
	out := k.mustRun(t, "version")
	if !regexp.MustCompile(`(?m)^Server Version: .*v1\.` + serverMinor + `\.`).MatchString(out) {
		t.Errorf("kubectl version does not print Server Version v1.%s.x:\n%s", serverMinor, out)
	}

	var got struct {
		Client version.Info `json:"clientVersion"`
		Server version.Info `json:"serverVersion"`
	}
	if err := json.Unmarshal([]byte(k.mustRun(t, "version", "-o", "json")), &got); err != nil {
		t.Fatalf("parsing kubectl version -o json: %v", err)
	}
	if got.Client.Minor != strconv.Itoa(k.minor) {
		t.Errorf("kubectl.%s reports client minor %q: the binary is not the version its name says", k.version, got.Client.Minor)
	}
	if got.Server.Major != "1" || got.Server.Minor != serverMinor || !strings.HasPrefix(got.Server.GitVersion, "v1."+serverMinor+".") {
		t.Errorf("server version = major %q minor %q gitVersion %q, want 1, %s, v1.%s.*",
			got.Server.Major, got.Server.Minor, got.Server.GitVersion, serverMinor, serverMinor)
	}
	if got.Server.Platform == "" || got.Server.GoVersion == "" {
		t.Errorf("server version has no platform or goVersion: %+v", got.Server)
	}
}

func testAPIResources(t *testing.T, k *kubectl) {
	type resource struct{ ShortNames, APIVersion, Namespaced, Kind string }
	// Keyed by name and API version: events are served in two groups.
	want := map[string]resource{
		"configmaps v1":                 {"cm", "v1", "true", "ConfigMap"},
		"events v1":                     {"ev", "v1", "true", "Event"},
		"events events.k8s.io/v1":       {"ev", "events.k8s.io/v1", "true", "Event"},
		"namespaces v1":                 {"ns", "v1", "false", "Namespace"},
		"nodes v1":                      {"no", "v1", "false", "Node"},
		"pods v1":                       {"po", "v1", "true", "Pod"},
		"secrets v1":                    {"", "v1", "true", "Secret"},
		"serviceaccounts v1":            {"sa", "v1", "true", "ServiceAccount"},
		"cronjobs batch/v1":             {"cj", "batch/v1", "true", "CronJob"},
		"jobs batch/v1":                 {"", "batch/v1", "true", "Job"},
		"leases coordination.k8s.io/v1": {"", "coordination.k8s.io/v1", "true", "Lease"},
	}
	got := make(map[string]resource)
	for _, row := range parseTable(t, k.mustRun(t, "api-resources")) {
		key := row["NAME"] + " " + row["APIVERSION"]
		if _, ok := want[key]; ok {
			got[key] = resource{row["SHORTNAMES"], row["APIVERSION"], row["NAMESPACED"], row["KIND"]}
		}
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("kubectl api-resources mismatch (-want +got):\n%s", diff)
	}

	// -o wide adds verbs (kubectl get/watch/delete/patch need them) and the
	// "all" category (kubectl get all).
	wide := make(map[string]map[string]string)
	for _, row := range parseTable(t, k.mustRun(t, "api-resources", "-o", "wide")) {
		wide[row["NAME"]+" "+row["APIVERSION"]] = row
	}
	for name := range want {
		verbs := strings.Split(wide[name]["VERBS"], ",")
		for _, v := range []string{"create", "delete", "get", "list", "patch", "update", "watch"} {
			if !slices.Contains(verbs, v) {
				t.Errorf("api-resources -o wide: %s verbs %v lack %q", name, verbs, v)
			}
		}
	}
	for _, name := range []string{"jobs batch/v1", "cronjobs batch/v1", "pods v1"} {
		if cats := strings.Split(wide[name]["CATEGORIES"], ","); !slices.Contains(cats, "all") {
			t.Errorf("api-resources -o wide: %s categories %v lack \"all\"", name, cats)
		}
	}

	// Cluster-scoped resources, as kubectl works out from discovery.
	clusterScoped := strings.Fields(k.mustRun(t, "api-resources", "--namespaced=false", "-o", "name"))
	for _, name := range []string{"namespaces", "nodes"} {
		if !slices.Contains(clusterScoped, name) {
			t.Errorf("api-resources --namespaced=false -o name = %v, want it to contain %s", clusterScoped, name)
		}
	}
	for _, name := range []string{"jobs", "pods", "configmaps"} {
		if slices.Contains(clusterScoped, name) {
			t.Errorf("api-resources --namespaced=false -o name lists namespaced %s", name)
		}
	}
}
