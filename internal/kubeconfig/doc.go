// Package kubeconfig writes the admin kubeconfig that `batchd server`
// leaves for kubectl and client-go: one cluster, one user with a bearer
// token, and one context, made current.
//
// It does not decide the server URL, issue the token or the CA (its caller
// passes them in), or merge into an existing kubeconfig: it owns the whole
// file it writes.
package kubeconfig
