// Package authn decides who sent a request. batchd authenticates with
// bearer tokens: an admin token generated into the data directory on first
// start, and an in-memory token for the server's own loopback clients.
// Deciding what a user may do (authorization) is not this package's job.
package authn
