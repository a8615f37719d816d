package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testGetTables prints every kind a Job user meets with its default and
// -o wide columns, from the server's Tables (spec/kubectl.md §2.9): without
// them kubectl would print only NAME and AGE.
func testGetTables(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-tables")
	createManifest(t, k, ns, documents(jobManifest("report", 3), cronJobManifest("nightly"), podManifest("bare")),
		"job.batch/report created\ncronjob.batch/nightly created\npod/bare created\n")
	k.mustRun(t, "-n", ns, "create", "configmap", "settings", "--from-literal=mode=fast", "--from-literal=level=3")
	k.mustRun(t, "-n", ns, "create", "secret", "generic", "creds", "--from-literal=user=admin")
	tested := event{
		name: "settings.tested", eventType: "Normal", reason: "Tested", message: "checked by the e2e suite",
		about: owner{"v1", "ConfigMap", "settings", uidOf(t, k, ns, "configmap", "settings")}, ago: time.Minute,
	}
	createEvents(t, k, ns, []event{tested})
	waitFor(t, controllerTimeout, "serviceaccount default in "+ns, func() bool {
		return k.run(t, "-n", ns, "get", "serviceaccount", "default", "-o", "name").stdout == "serviceaccount/default\n"
	})

	tests := []struct {
		golden string
		args   []string
	}{
		{"get-jobs", []string{"get", "jobs"}},
		{"get-cronjobs", []string{"get", "cronjobs"}},
		{"get-pods", []string{"get", "pods"}},
		{"get-tables-configmaps", []string{"get", "configmaps"}},
		{"get-secrets", []string{"get", "secrets"}},
		{"get-serviceaccounts", []string{"get", "serviceaccounts"}},
		{"get-events", []string{"get", "events"}},
		{"get-events-events.k8s.io", []string{"get", "events.v1.events.k8s.io"}},
		{"get-namespace", []string{"get", "namespace", ns}},
		// The "all" category: one table per kind, names prefixed by kind.
		{"get-all", []string{"get", "all"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			args := append([]string{"-n", ns}, tt.args...)
			k.golden(t, tt.golden, k.mustRun(t, args...))
			k.golden(t, tt.golden+"-wide", k.mustRun(t, append(args, "-o", "wide")...))
		})
	}

	// A pod nobody runs is Pending and on no node.
	t.Run("pod field selectors", func(t *testing.T) {
		for _, tt := range []struct {
			selector string
			want     []string
		}{
			{"status.phase=Pending", []string{"bare"}},
			{"status.phase=Running", nil},
			{"spec.nodeName=", []string{"bare"}},
			{"spec.nodeName!=", nil},
		} {
			args := []string{"-n", ns, "get", "pods", "-o", "name", "-l", "app=bare", "--field-selector", tt.selector}
			if diff := cmp.Diff(tt.want, objectNames(k.mustRun(t, args...))); diff != "" {
				t.Errorf("kubectl %s mismatch (-want +got):\n%s", strings.Join(args, " "), diff)
			}
		}
	})
}
