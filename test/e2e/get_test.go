package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// watchTimeout bounds each wait for `kubectl get -w` to print an event.
const watchTimeout = 30 * time.Second

// controllerTimeout bounds waits for a batchd controller to act.
const controllerTimeout = 30 * time.Second

func testCreate(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-create")
	if got := k.mustRun(t, "get", "namespace", ns, "-o", "jsonpath={.status.phase}"); got != "Active" {
		t.Errorf("new namespace has phase %q, want Active", got)
	}

	if got, want := k.mustRun(t, "-n", ns, "create", "configmap", "settings",
		"--from-literal=mode=fast", "--from-literal=level=3"), "configmap/settings created\n"; got != want {
		t.Errorf("kubectl create configmap printed %q, want %q", got, want)
	}
	var cm corev1.ConfigMap
	mustUnmarshalJSON(t, k.mustRun(t, "-n", ns, "get", "configmap", "settings", "-o", "json"), &cm)
	if diff := cmp.Diff(map[string]string{"mode": "fast", "level": "3"}, cm.Data); diff != "" {
		t.Errorf("configmap data mismatch (-want +got):\n%s", diff)
	}

	if got, want := k.mustRun(t, "-n", ns, "create", "secret", "generic", "creds",
		"--from-literal=user=admin", "--from-literal=password=s3cr3t!"), "secret/creds created\n"; got != want {
		t.Errorf("kubectl create secret generic printed %q, want %q", got, want)
	}
	var secret corev1.Secret
	mustUnmarshalJSON(t, k.mustRun(t, "-n", ns, "get", "secret", "creds", "-o", "json"), &secret)
	if secret.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret type = %q, want %q", secret.Type, corev1.SecretTypeOpaque)
	}
	if diff := cmp.Diff(map[string][]byte{"user": []byte("admin"), "password": []byte("s3cr3t!")}, secret.Data); diff != "" {
		t.Errorf("secret data mismatch (-want +got):\n%s", diff)
	}

	// The serviceaccount controller gives every namespace a "default"
	// serviceaccount.
	waitFor(t, controllerTimeout, "serviceaccount default in "+ns, func() bool {
		return k.run(t, "-n", ns, "get", "serviceaccount", "default", "-o", "name").stdout == "serviceaccount/default\n"
	})
}

func testGetOutput(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-get")
	k.mustRun(t, "-n", ns, "create", "configmap", "alpha", "--from-literal=a=1", "--from-literal=b=2")
	k.mustRun(t, "-n", ns, "create", "configmap", "beta", "--from-literal=c=3")
	k.mustRun(t, "-n", ns, "label", "configmap", "alpha", "app=demo", "tier=web")

	t.Run("yaml", func(t *testing.T) {
		var cm corev1.ConfigMap
		out := k.mustRun(t, "-n", ns, "get", "configmap", "alpha", "-o", "yaml")
		if err := utilyaml.UnmarshalStrict([]byte(out), &cm); err != nil {
			t.Fatalf("parsing kubectl get -o yaml: %v\n%s", err, out)
		}
		checkConfigMap(t, cm, ns, "alpha", map[string]string{"a": "1", "b": "2"})
	})

	t.Run("json", func(t *testing.T) {
		var list struct {
			APIVersion string             `json:"apiVersion"`
			Kind       string             `json:"kind"`
			Items      []corev1.ConfigMap `json:"items"`
		}
		mustUnmarshalJSON(t, k.mustRun(t, "-n", ns, "get", "configmaps", "-o", "json"), &list)
		if list.APIVersion != "v1" || list.Kind != "List" {
			t.Errorf("get -o json of a list has apiVersion %q kind %q, want v1 List", list.APIVersion, list.Kind)
		}
		if len(list.Items) != 2 {
			t.Fatalf("get -o json listed %d configmaps, want alpha and beta", len(list.Items))
		}
		checkConfigMap(t, list.Items[0], ns, "alpha", map[string]string{"a": "1", "b": "2"})
		checkConfigMap(t, list.Items[1], ns, "beta", map[string]string{"c": "3"})
		if list.Items[0].UID == list.Items[1].UID {
			t.Errorf("two configmaps share uid %s", list.Items[0].UID)
		}
	})

	t.Run("jsonpath", func(t *testing.T) {
		if got := k.mustRun(t, "-n", ns, "get", "configmap", "alpha", "-o", "jsonpath={.data.b}"); got != "2" {
			t.Errorf("get -o jsonpath={.data.b} = %q, want 2", got)
		}
	})

	t.Run("name", func(t *testing.T) {
		want := "configmap/alpha\nconfigmap/beta\n"
		// The plural, the singular and the short name all resolve through
		// discovery to the same resource.
		for _, resource := range []string{"configmaps", "configmap", "cm"} {
			if got := k.mustRun(t, "-n", ns, "get", resource, "-o", "name"); got != want {
				t.Errorf("get %s -o name = %q, want %q", resource, got, want)
			}
		}
	})

	t.Run("table", func(t *testing.T) {
		k.golden(t, "get-configmaps", k.mustRun(t, "-n", ns, "get", "configmaps"))
		k.golden(t, "get-configmap-alpha", k.mustRun(t, "-n", ns, "get", "configmap", "alpha"))
		k.golden(t, "get-configmaps-show-labels", k.mustRun(t, "-n", ns, "get", "configmaps", "--show-labels"))
	})

	t.Run("wide", func(t *testing.T) {
		k.golden(t, "get-configmaps-wide", k.mustRun(t, "-n", ns, "get", "configmaps", "-o", "wide"))
	})
}

// checkConfigMap checks what every configmap kubectl prints must carry.
func checkConfigMap(t *testing.T, cm corev1.ConfigMap, ns, name string, data map[string]string) {
	t.Helper()
	if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" {
		t.Errorf("configmap %s has apiVersion %q kind %q, want v1 ConfigMap", name, cm.APIVersion, cm.Kind)
	}
	if cm.Name != name || cm.Namespace != ns {
		t.Errorf("configmap is %s/%s, want %s/%s", cm.Namespace, cm.Name, ns, name)
	}
	if cm.UID == "" || cm.ResourceVersion == "" {
		t.Errorf("configmap %s has uid %q resourceVersion %q, want both set", name, cm.UID, cm.ResourceVersion)
	}
	if age := time.Since(cm.CreationTimestamp.Time); cm.CreationTimestamp.IsZero() || age < -time.Minute || age > 10*time.Minute {
		t.Errorf("configmap %s has creationTimestamp %v, want about now", name, cm.CreationTimestamp)
	}
	if diff := cmp.Diff(data, cm.Data); diff != "" {
		t.Errorf("configmap %s data mismatch (-want +got):\n%s", name, diff)
	}
}

func testAllNamespaces(t *testing.T, k *kubectl) {
	nsA := createNamespace(t, k, "e2e-all-a")
	nsB := createNamespace(t, k, "e2e-all-b")
	for _, ns := range []string{nsA, nsB} {
		k.mustRun(t, "-n", ns, "create", "configmap", "shared")
		k.mustRun(t, "-n", ns, "label", "configmap", "shared", "e2e=all-namespaces")
	}
	k.mustRun(t, "-n", nsA, "create", "configmap", "unlabelled")

	short := k.mustRun(t, "get", "configmaps", "-A", "-l", "e2e=all-namespaces")
	long := k.mustRun(t, "get", "configmaps", "--all-namespaces", "-l", "e2e=all-namespaces")
	if diff := cmp.Diff(normaliseTable(short), normaliseTable(long)); diff != "" {
		t.Errorf("get -A and get --all-namespaces differ (-A +--all-namespaces):\n%s", diff)
	}
	k.golden(t, "get-configmaps-all-namespaces", short)

	got := k.mustRun(t, "get", "configmaps", "-A", "-l", "e2e=all-namespaces",
		"-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}`)
	if want := nsA + "/shared\n" + nsB + "/shared\n"; got != want {
		t.Errorf("get -A -l e2e=all-namespaces listed %q, want %q", got, want)
	}

	namespaces := strings.Fields(k.mustRun(t, "get", "namespaces", "-o", "name"))
	for _, ns := range []string{"default", "kube-system", nsA, nsB} {
		if !slices.Contains(namespaces, "namespace/"+ns) {
			t.Errorf("get namespaces -o name = %v, want it to contain namespace/%s", namespaces, ns)
		}
	}
}

func testSelectors(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-selectors")
	labels := map[string][]string{
		"a": {"tier=web", "env=prod"},
		"b": {"tier=db", "env=prod"},
		"c": {"tier=web", "env=dev"},
		"d": nil,
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		k.mustRun(t, "-n", ns, "create", "configmap", name)
		if len(labels[name]) > 0 {
			k.mustRun(t, append([]string{"-n", ns, "label", "configmap", name}, labels[name]...)...)
		}
	}

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"equality", []string{"-l", "tier=web"}, []string{"a", "c"}},
		{"double equals", []string{"-l", "tier==web"}, []string{"a", "c"}},
		{"inequality includes unlabelled", []string{"-l", "tier!=web"}, []string{"b", "d"}},
		{"two requirements", []string{"-l", "tier=web,env=prod"}, []string{"a"}},
		{"in", []string{"-l", "tier in (web,db)"}, []string{"a", "b", "c"}},
		{"notin includes unlabelled", []string{"-l", "env notin (prod)"}, []string{"c", "d"}},
		{"exists", []string{"-l", "env"}, []string{"a", "b", "c"}},
		{"does not exist", []string{"-l", "!env"}, []string{"d"}},
		{"set-based and equality", []string{"-l", "tier in (web),env!=prod"}, []string{"c"}},
		{"field metadata.name", []string{"--field-selector", "metadata.name=b"}, []string{"b"}},
		{"field metadata.name ==", []string{"--field-selector", "metadata.name==b"}, []string{"b"}},
		{"field metadata.name !=", []string{"--field-selector", "metadata.name!=b"}, []string{"a", "c", "d"}},
		{"field metadata.namespace", []string{"--field-selector", "metadata.namespace=" + ns}, []string{"a", "b", "c", "d"}},
		{"field and label", []string{"--field-selector", "metadata.name=a", "-l", "env=prod"}, []string{"a"}},
		{"field and label match nothing", []string{"--field-selector", "metadata.name=b", "-l", "tier=web"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-n", ns, "get", "configmaps", "-o", "name"}, tt.args...)
			if diff := cmp.Diff(tt.want, objectNames(k.mustRun(t, args...))); diff != "" {
				t.Errorf("kubectl %s mismatch (-want +got):\n%s", strings.Join(args, " "), diff)
			}
		})
	}
}

// objectNames turns `kubectl get -o name` output into bare names, in order.
func objectNames(out string) []string {
	var names []string
	for _, line := range strings.Fields(out) {
		_, name, _ := strings.Cut(line, "/")
		names = append(names, name)
	}
	return names
}

func testWatch(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-watch")
	k.mustRun(t, "-n", ns, "create", "configmap", "before")

	w := k.start(t, "-n", ns, "get", "configmaps", "-w", "--output-watch-events", "--show-labels")
	// kubectl prints the listed objects, then watches from the list's
	// resourceVersion: once "before" is printed, no later change can be
	// missed, however long the watch request takes to arrive.
	w.waitForOutput(t, watchTimeout, "the initial list", hasRow("ADDED", "before"))

	k.mustRun(t, "-n", ns, "create", "configmap", "changing")
	k.mustRun(t, "-n", ns, "label", "configmap", "changing", "stage=labeled")
	k.mustRun(t, "-n", ns, "delete", "configmap", "changing")
	w.waitForOutput(t, watchTimeout, "the DELETED event", hasRow("DELETED", "changing"))

	// The stream is still open: a later change still arrives.
	k.mustRun(t, "-n", ns, "create", "configmap", "after")
	w.waitForOutput(t, watchTimeout, "the event after the delete", hasRow("ADDED", "after"))
	if w.exited() {
		t.Fatalf("kubectl get -w exited by itself (%v): the server closed the watch", w.err)
	}
	w.stop()

	if stderr := w.stderr.String(); stderr != "" {
		t.Errorf("kubectl get -w wrote to stderr:\n%s", stderr)
	}
	k.golden(t, "watch-configmaps", w.stdout.String())
}

// hasRow returns a condition that holds once a table line starts with
// the given cells.
func hasRow(cells ...string) func(out string) bool {
	return func(out string) bool {
		for line := range strings.Lines(out) {
			got := cellSeparator.Split(strings.TrimSpace(line), -1)
			if len(got) >= len(cells) && slices.Equal(got[:len(cells)], cells) {
				return true
			}
		}
		return false
	}
}

func mustUnmarshalJSON(t *testing.T, data string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(data), v); err != nil {
		t.Fatalf("parsing kubectl JSON output: %v\n%s", err, data)
	}
}
