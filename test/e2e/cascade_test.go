package e2e

import (
	"strings"
	"testing"
)

// testDeleteCascade deletes owners with each --cascade mode and checks what
// the garbage collector does with their dependents (configmaps whose
// ownerReferences the test sets). kubectl delete waits until the owner is
// gone, so what foreground and orphan promise holds as soon as it returns.
func testDeleteCascade(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-cascade")
	tests := []struct {
		name      string
		ownerKind string // "configmap" or "job"
		owner     string
		cascade   string
		orphaned  bool // the dependents survive, without the ownerReference
	}{
		{"background on a configmap", "configmap", "bg-owner", "background", false},
		{"foreground on a job", "job", "fg-owner", "foreground", false},
		{"orphan on a job", "job", "orphan-owner", "orphan", true},
		{"orphan on a configmap", "configmap", "orphan-cm-owner", "orphan", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := owner{apiVersion: "v1", kind: "ConfigMap", name: tt.owner}
			resource := "configmap"
			switch tt.ownerKind {
			case "configmap":
				k.mustRun(t, "-n", ns, "create", "configmap", tt.owner)
			case "job":
				createManifest(t, k, ns, jobManifest(tt.owner, 1), "job.batch/"+tt.owner+" created\n")
				o.apiVersion, o.kind, resource = "batch/v1", "Job", "job.batch"
			}
			o.uid = uidOf(t, k, ns, tt.ownerKind, tt.owner)
			// blockOwnerDeletion: a foreground delete waits for them.
			dependents := []string{tt.owner + "-a", tt.owner + "-b"}
			createManifest(t, k, ns, documents(ownedConfigMapManifest(dependents[0], o, true), ownedConfigMapManifest(dependents[1], o, true)),
				"configmap/"+dependents[0]+" created\nconfigmap/"+dependents[1]+" created\n")

			out := k.mustRun(t, "-n", ns, "delete", tt.ownerKind, tt.owner, "--cascade="+tt.cascade)
			if want := resource + ` "` + tt.owner + `" deleted`; !strings.HasPrefix(out, want) {
				t.Errorf("kubectl delete --cascade=%s printed %q, want %q", tt.cascade, out, want)
			}
			if !notFound(t, k, ns, tt.ownerKind, tt.owner) {
				t.Errorf("%s %s still exists after kubectl delete returned", tt.ownerKind, tt.owner)
			}
			for _, d := range dependents {
				switch {
				case tt.orphaned:
					refs := k.mustRun(t, "-n", ns, "get", "configmap", d, "-o", "jsonpath={.metadata.ownerReferences}")
					if refs != "" {
						t.Errorf("orphaned configmap %s keeps ownerReferences %s", d, refs)
					}
				case tt.cascade == "foreground":
					if !notFound(t, k, ns, "configmap", d) {
						t.Errorf("dependent %s still exists after the foreground delete of its owner returned", d)
					}
				default:
					waitFor(t, controllerTimeout, "the garbage collector to delete "+d, func() bool {
						return notFound(t, k, ns, "configmap", d)
					})
				}
			}
		})
	}

	// A CronJob owns the Job kubectl create job --from made, and the Job
	// owns a configmap: deleting the CronJob removes the whole chain.
	t.Run("background through a chain", func(t *testing.T) {
		createManifest(t, k, ns, cronJobManifest("nightly"), "cronjob.batch/nightly created\n")
		k.mustRun(t, "-n", ns, "create", "job", "manual", "--from=cronjob/nightly")
		job := owner{"batch/v1", "Job", "manual", uidOf(t, k, ns, "job", "manual")}
		createManifest(t, k, ns, ownedConfigMapManifest("manual-output", job, false), "configmap/manual-output created\n")

		if out := k.mustRun(t, "-n", ns, "delete", "cronjob", "nightly"); !strings.HasPrefix(out, `cronjob.batch "nightly" deleted`) {
			t.Errorf("kubectl delete cronjob printed %q", out)
		}
		waitFor(t, controllerTimeout, "the garbage collector to delete job manual", func() bool {
			return notFound(t, k, ns, "job", "manual")
		})
		waitFor(t, controllerTimeout, "the garbage collector to delete configmap manual-output", func() bool {
			return notFound(t, k, ns, "configmap", "manual-output")
		})
	})
}

// testDeleteWait holds a foreground delete open with a finalizer on a
// dependent: kubectl delete (which waits by default) and kubectl wait
// --for=delete return only once the owner is gone.
func testDeleteWait(t *testing.T, k *kubectl) {
	ns := createNamespace(t, k, "e2e-delete-wait")
	const finalizer = "e2e.batchd.io/hold"
	hold := func(t *testing.T, name string) {
		t.Helper()
		k.mustRun(t, "-n", ns, "create", "configmap", name)
		o := owner{"v1", "ConfigMap", name, uidOf(t, k, ns, "configmap", name)}
		createManifest(t, k, ns, ownedConfigMapManifest(name+"-held", o, true, finalizer), "configmap/"+name+"-held created\n")
	}
	release := func(t *testing.T, name string) {
		t.Helper()
		k.mustRun(t, "-n", ns, "patch", "configmap", name+"-held", "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
	}
	// terminating waits until the garbage collector has begun deleting the
	// held dependent, and checks the owner waits for it.
	terminating := func(t *testing.T, name string) {
		t.Helper()
		waitFor(t, controllerTimeout, "the garbage collector to delete "+name+"-held", func() bool {
			return k.mustRun(t, "-n", ns, "get", "configmap", name+"-held", "-o", "jsonpath={.metadata.deletionTimestamp}") != ""
		})
		got := k.mustRun(t, "-n", ns, "get", "configmap", name, "-o", "jsonpath={.metadata.finalizers} {.metadata.deletionTimestamp}")
		if !strings.HasPrefix(got, `["foregroundDeletion"] `) || strings.HasSuffix(got, " ") {
			t.Errorf("owner %s being deleted in the foreground has finalizers and deletionTimestamp %q, want foregroundDeletion and a time", name, got)
		}
	}

	t.Run("delete waits", func(t *testing.T) {
		hold(t, "waited")
		del := k.start(t, "-n", ns, "delete", "configmap", "waited", "--cascade=foreground", "--timeout=60s")
		del.waitForOutput(t, watchTimeout, "the DELETE", func(out string) bool {
			return strings.Contains(out, `configmap "waited" deleted`)
		})
		terminating(t, "waited")
		if del.exited() {
			t.Fatalf("kubectl delete returned (%v) while configmap waited still exists", del.err)
		}
		release(t, "waited")
		if err := del.wait(t, controllerTimeout); err != nil {
			t.Fatalf("kubectl delete --cascade=foreground: %v\nstderr:\n%s", err, del.stderr.String())
		}
		if !notFound(t, k, ns, "configmap", "waited") {
			t.Errorf("configmap waited still exists after kubectl delete returned")
		}
		if !notFound(t, k, ns, "configmap", "waited-held") {
			t.Errorf("configmap waited-held still exists after the foreground delete of its owner returned")
		}
	})

	t.Run("wait for delete", func(t *testing.T) {
		hold(t, "awaited")
		if out := k.mustRun(t, "-n", ns, "delete", "configmap", "awaited", "--cascade=foreground", "--wait=false"); !strings.HasPrefix(out, `configmap "awaited" deleted`) {
			t.Errorf("kubectl delete --wait=false printed %q", out)
		}
		terminating(t, "awaited")
		// -v=6 logs the watch request: release the dependent only once
		// kubectl watches, so that it sees the owner go.
		w := k.start(t, "-n", ns, "wait", "--for=delete", "configmap/awaited", "--timeout=60s", "-v=6")
		waitFor(t, watchTimeout, "kubectl wait to watch", func() bool {
			return strings.Contains(w.stderr.String(), "watch=true") || w.exited()
		})
		if w.exited() {
			t.Fatalf("kubectl wait --for=delete returned (%v) while configmap awaited still exists\nstderr:\n%s", w.err, w.stderr.String())
		}
		release(t, "awaited")
		if err := w.wait(t, controllerTimeout); err != nil {
			t.Fatalf("kubectl wait --for=delete: %v\nstderr:\n%s", err, lastLines(w.stderr.String(), 10))
		}
		if got, want := w.stdout.String(), "configmap/awaited condition met\n"; got != want {
			t.Errorf("kubectl wait --for=delete printed %q, want %q", got, want)
		}
		if !notFound(t, k, ns, "configmap", "awaited") {
			t.Errorf("configmap awaited still exists after kubectl wait --for=delete returned")
		}
		// Waiting for an object that is already gone returns at once.
		k.mustRun(t, "-n", ns, "wait", "--for=delete", "configmap/awaited", "--timeout=10s")
	})
}
