// Package schedulertest builds the nodes and pods of scheduler tests: a
// node is Ready with 4 cpus, 8Gi of memory and room for 110 pods unless told
// otherwise; a pod has one container requesting nothing.
package schedulertest
