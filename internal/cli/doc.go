// Package cli holds batchd's cobra commands: server (the control plane and
// an in-process node agent), agent (a node agent joining a server), run
// (Jobs from manifests on a throwaway or existing server, see package
// jobrun) and version. Each command maps its flags onto a component's
// Config and runs it; the commands hold no logic of their own. A command
// that must end the process with a particular code returns an ExitError.
package cli
