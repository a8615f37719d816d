// Package datadir owns the layout and the exclusive lock of a batchd data
// directory: which file or subdirectory holds what (etcd's member, the PKI,
// the admin kubeconfig), and the guarantee that only one batchd server uses
// a directory at a time.
//
// It does not create or read what lives inside those paths: package etcd
// owns the etcd directory, package pki the certificates, package kubeconfig
// the kubeconfig file.
package datadir
