// Package authn decides who sent a request. batchd authenticates with
// bearer tokens: an admin token generated into the data directory on first
// start, the agents' token, an in-memory token for the server's own
// loopback clients, and service account tokens (serviceaccount.go): JWTs
// the API server issues through TokenRequest
// (serviceaccounts/<name>/token), signed with the data directory's sa.key
// and valid while their service account (and bound pod or secret) exists.
//
// Deciding what a user may do (authorization) is not this package's job,
// and batchd has no authorizer: every authenticated user, service
// accounts included, has full access.
package authn
