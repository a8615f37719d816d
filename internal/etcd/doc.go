// Package etcd runs, or connects to, the etcd cluster that holds batchd's
// state, and hands out a *clientv3.Client for it.
//
// With no Endpoints, [Open] starts a single embedded etcd member in
// Config.DataDir. It serves no network listener unless Config.ListenClientURL
// asks for one; batchd talks to it through an in-process client that calls
// the server directly. With Endpoints, Open connects to an external cluster
// instead. Either way the caller gets the same *clientv3.Client type, so the
// code above this package has one storage path.
//
// The package owns etcd's configuration (raft timing, compaction, quota,
// fsync) and routes etcd's own zap logs, at warn level and above, into the
// caller's slog.Logger. It does not own the layout or the exclusive lock of
// batchd's data directory (package datadir does), nor key layout, encoding
// or watch semantics (package storage does).
package etcd
