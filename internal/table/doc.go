// Package table does server-side printing: it turns the API objects batchd
// serves into meta.k8s.io/v1 Table objects with the same columns and cells
// that kube-apiserver prints (pkg/printers/internalversion/printers.go),
// so `kubectl get` shows STATUS, COMPLETIONS, READY, RESTARTS and the -o wide
// columns exactly as against upstream (kubectl.md §2.9, jobs.md §38,
// KUBECTL-01..06).
//
// It prints batch/v1 Job and CronJob, core/v1 Pod, Event, Namespace, Node,
// ConfigMap, Secret and ServiceAccount, coordination.k8s.io/v1 Lease and
// events.k8s.io/v1 Event, single or as their typed lists; anything else
// gets upstream's default table (Name, Created At). Like upstream's
// apiserver it always prints every column (priority > 0 marks -o wide) and
// leaves hiding them to kubectl, and it replaces each row's object with
// PartialObjectMetadata unless the caller asks for the full object.
//
// Time is an input: ages and durations are measured against Options.Now.
// This package does not negotiate content types, stream watches or encode
// anything; the apiserver package does that and calls Convert.
package table
