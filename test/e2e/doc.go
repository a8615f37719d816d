// Package e2e holds batchd's end-to-end tests (design §2.6, layer 4): they
// build the batchd binary, run `batchd server` as a real process on a
// temporary data directory, and drive it with stock kubectl binaries of
// several versions (kubectl.1.27 … kubectl.1.33, found next to the machine's
// kubectl dispatcher), asserting on what kubectl prints and on the state it
// leaves behind.
//
// TestKubectl runs every workflow of spec/kubectl.md §3 that batchd
// supports (get with tables, -o, -w, selectors and --sort-by; describe;
// create job/cronjob and job --from=cronjob; apply client-side, with
// unknown fields and server-side with conflicts; edit; patch of each type
// and of the status subresource; label and annotate; delete with each
// --cascade, --wait and wait --for=delete; explain; auth can-i and whoami;
// events; api-resources) as kubectl-<version>/<scenario>: one server per
// kubectl version, the scenarios in order, each in namespaces of its own.
// Versions run in parallel, at most -parallel (GOMAXPROCS) at a time.
//
// Human-readable output is compared with golden files in testdata/,
// normalised for ages, uids, resourceVersions and timestamps; a version
// that prints differently has its own <name>.kubectl-<version>.golden.
// Rewrite them with
//
//	go test ./test/e2e -run TestKubectl -kubectl=all -update
//
// (-update runs the versions one after another, 1.33 first, so that it
// writes the shared files the others are compared with).
//
// Flags: -kubectl picks the kubectl versions. The default, 1.27,1.33, is
// what CI runs; the full matrix is
//
//	go test ./test/e2e -kubectl=all
//
// or a list such as -kubectl=1.27,1.28,1.29,1.30,1.31,1.32,1.33. The
// environment variable BATCHD_BINARY runs a prebuilt binary instead of
// building one. With -short the tests that run batchd skip.
//
// A check that fails because batchd is wrong stays as upstream behaves;
// where it cannot pass yet it skips with "server bug: …" while the server
// still behaves that way, and asserts again once it is fixed.
//
// The package owns only tests that go through the built binary. It does not
// test packages from the inside (that is layer 2, internal/clustertest), and
// it does not test kubectl itself: where kubectl versions print or send
// differently the tests accept each.
package e2e
