package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	eventsv1 "k8s.io/api/events/v1"
)

// testDescribe compares describe's output for each kind with golden files.
// Every object has an event about it (with its uid, as describe selects
// events by involvedObject.name, namespace, kind and uid), so the Events
// table is covered too.
func testDescribe(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-describe")
	createManifest(t, k, ns, documents(jobManifest("report", 3), cronJobManifest("nightly"), podManifest("bare")),
		"job.batch/report created\ncronjob.batch/nightly created\npod/bare created\n")

	report := owner{"batch/v1", "Job", "report", uidOf(t, k, ns, "job", "report")}
	events := []event{
		{name: "report.first", eventType: "Normal", reason: "Tested", message: "first look by the e2e suite",
			about: report, ago: 3 * time.Minute},
		{name: "report.second", eventType: "Warning", reason: "Checked", message: "second look by the e2e suite",
			about: report, ago: time.Minute},
		{name: "nightly.tested", eventType: "Normal", reason: "Tested", message: "checked by the e2e suite",
			about: owner{"batch/v1", "CronJob", "nightly", uidOf(t, k, ns, "cronjob", "nightly")}, ago: time.Minute},
		{name: "bare.tested", eventType: "Normal", reason: "Tested", message: "checked by the e2e suite",
			about: owner{"v1", "Pod", "bare", uidOf(t, k, ns, "pod", "bare")}, ago: time.Minute},
		// About another job of the same name: describe must not show it.
		{name: "other.tested", eventType: "Normal", reason: "Unrelated", message: "about another report",
			about: owner{"batch/v1", "Job", "report", "00000000-0000-0000-0000-000000000000"}, ago: time.Minute},
	}
	createEvents(t, k, ns, events)

	tests := []struct {
		golden string
		args   []string
	}{
		{"describe-job", []string{"describe", "job", "report"}},          // KUBECTL-07
		{"describe-cronjob", []string{"describe", "cronjob", "nightly"}}, // KUBECTL-08: the layout; the server supplies the object and events
		{"describe-pod", []string{"describe", "pod", "bare"}},
		{"describe-namespace", []string{"describe", "namespace", ns}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out := k.mustRun(t, append([]string{"-n", ns}, tt.args...)...)
			if strings.Contains(out, "Unrelated") {
				t.Errorf("kubectl %s shows an event about another object's uid:\n%s", strings.Join(tt.args, " "), out)
			}
			k.goldenText(t, tt.golden, out)
		})
	}
}

// createEvents creates events with one kubectl create -f.
func createEvents(t *testing.T, k *kubectl, ns string, events []event) {
	t.Helper()
	var manifests []string
	var want strings.Builder
	for _, e := range events {
		manifests = append(manifests, e.manifest(ns))
		want.WriteString("event/" + e.name + " created\n")
	}
	createManifest(t, k, ns, documents(manifests...), want.String())
}

// testEvents creates core/v1 events with kubectl create -f and reads them
// back through kubectl events, kubectl get events and the events.k8s.io/v1
// view of the same objects. They are about a suspended CronJob and a
// configmap, which no controller writes events about.
func testEvents(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-events")
	createManifest(t, k, ns, strings.Replace(cronJobManifest("nightly"), "suspend: false", "suspend: true", 1),
		"cronjob.batch/nightly created\n")
	k.mustRun(t, "-n", ns, "create", "configmap", "settings")
	events := []event{
		{name: "nightly.started", eventType: "Normal", reason: "Started", message: "cronjob checked by the e2e suite",
			about: owner{"batch/v1", "CronJob", "nightly", uidOf(t, k, ns, "cronjob", "nightly")}, ago: 2 * time.Minute},
		{name: "settings.changed", eventType: "Warning", reason: "Changed", message: "configmap changed by the e2e suite",
			about: owner{"v1", "ConfigMap", "settings", uidOf(t, k, ns, "configmap", "settings")}, ago: time.Minute},
	}
	createEvents(t, k, ns, events)

	t.Run("tables", func(t *testing.T) {
		tests := []struct {
			golden string
			args   []string
		}{
			{"events", []string{"events"}},
			// 1.29+ select by involvedObject kind, apiVersion and name,
			// 1.27/1.28 by kind and name.
			{"events-for-cronjob", []string{"events", "--for", "cronjob/nightly"}},
			{"events-warnings", []string{"events", "--types=Warning"}},
			{"get-events-involved-object", []string{"get", "events", "--field-selector", "involvedObject.name=nightly"}},
		}
		for _, tt := range tests {
			t.Run(tt.golden, func(t *testing.T) {
				k.golden(t, tt.golden, k.mustRun(t, append([]string{"-n", ns}, tt.args...)...))
			})
		}
	})

	t.Run("field selectors", func(t *testing.T) {
		tests := []struct {
			selector string
			want     []string
		}{
			{"involvedObject.name=nightly", []string{"nightly.started"}},
			{"involvedObject.kind=ConfigMap", []string{"settings.changed"}},
			{"involvedObject.apiVersion=batch/v1,involvedObject.kind=CronJob", []string{"nightly.started"}},
			{"type=Warning", []string{"settings.changed"}},
			{"reason=Started,source=e2e", []string{"nightly.started"}},
			{"involvedObject.uid=" + events[0].about.uid, []string{"nightly.started"}},
			{"involvedObject.name=missing", nil},
		}
		for _, tt := range tests {
			args := []string{"-n", ns, "get", "events", "-o", "name", "--field-selector", tt.selector}
			if diff := cmp.Diff(tt.want, objectNames(k.mustRun(t, args...))); diff != "" {
				t.Errorf("kubectl %s mismatch (-want +got):\n%s", strings.Join(args, " "), diff)
			}
		}
	})

	t.Run("events.k8s.io", func(t *testing.T) {
		var e eventsv1.Event
		mustUnmarshalJSON(t, k.mustRun(t, "-n", ns, "get", "events.v1.events.k8s.io", "nightly.started", "-o", "json"), &e)
		if e.APIVersion != "events.k8s.io/v1" || e.Kind != "Event" {
			t.Errorf("event has apiVersion %q kind %q, want events.k8s.io/v1 Event", e.APIVersion, e.Kind)
		}
		got := []string{e.Regarding.Kind, e.Regarding.Name, e.Type, e.Reason, e.Note}
		want := []string{"CronJob", "nightly", "Normal", "Started", "cronjob checked by the e2e suite"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events.k8s.io/v1 view of nightly.started (regarding kind, name, type, reason, note) mismatch (-want +got):\n%s", diff)
		}
	})
}
