// Package pki keeps the certificate authority and the serving certificate
// of batchd's HTTPS API in a directory, creating them on first use and
// re-issuing the serving certificate when it nears expiry or no longer
// covers the server's names.
//
// It owns the files ca.crt, ca.key, serving.crt, serving.key and sa.key
// (the service account token signing key) in that directory. It never
// replaces an existing CA, because every kubeconfig written so far trusts
// it, nor an existing sa.key, because every token issued so far was signed
// with it. It does not issue client certificates, decide
// which names the server is reached by (its caller passes them), or serve
// TLS.
package pki
