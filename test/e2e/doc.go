// Package e2e holds batchd's end-to-end tests (design §2.6, layer 4): they
// build the batchd binary, run `batchd server` as a real process on a
// temporary data directory, and drive it with stock kubectl binaries of
// several versions (kubectl.1.27 … kubectl.1.33, found next to the machine's
// kubectl dispatcher), asserting on what kubectl prints and on the state it
// leaves behind. Human-readable tables are compared with golden files in
// testdata/, normalised for ages; rewrite them with
//
//	go test ./test/e2e -run TestKubectl -update
//
// Flags: -kubectl=1.27,1.33 picks the kubectl versions (the full matrix is
// 1.27,1.28,1.29,1.30,1.31,1.32,1.33); the environment variable
// BATCHD_BINARY runs a prebuilt binary instead of building one. With -short
// every test skips.
//
// The package owns only tests that go through the built binary. It does not
// test packages from the inside (that is layer 2, internal/clustertest), and
// it does not test kubectl itself: where kubectl versions print differently
// the tests accept both.
package e2e
