// Package serviceaccount implements the service account controller: every
// namespace that is active gets a ServiceAccount named "default", and gets it
// back if it is deleted, matching upstream Kubernetes. Namespaces that are
// terminating are left alone.
//
// It talks to the API server only through client-go. It does not issue
// tokens or mount them into pods, and it does not delete service accounts:
// when a namespace goes, the namespace controller empties it.
package serviceaccount
