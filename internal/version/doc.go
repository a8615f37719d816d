// Package version reports what build of batchd is running, and the
// Kubernetes version batchd's API claims to be (which picks the kubectl
// binary the gcloud kubectl dispatcher runs).
package version
