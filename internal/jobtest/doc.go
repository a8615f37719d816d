// Package jobtest helps tests of Jobs read like the scenarios of the spec:
// builders for batch/v1 Jobs (New with Options such as Completions, Indexed
// or FailJobOnExitCodes), Default for tests that bypass the API server, and
// a Node that plays the node agent through the API as upstream's
// integration tests do: it marks pods Running and Ready, Succeeded, Failed
// with container exit codes or with a DisruptionTarget condition, counts
// container restarts, and confirms deletions. It also polls for Job and pod
// states with deadlines.
//
// It runs no pods and starts no server; clustertest does that.
package jobtest
