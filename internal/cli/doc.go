// Package cli holds batchd's cobra commands (server, version). Each command
// maps its flags onto a component's Config and runs it; the commands hold
// no logic of their own.
package cli
