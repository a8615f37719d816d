// Package jobrun implements `batchd run`: it applies manifests to an API
// server, optionally starts a Job from each CronJob at once (--now),
// follows the Jobs until each has a terminal condition, shows their
// progress and their pods' logs, prints a summary and maps the outcome to
// an exit code (see ExitCode).
//
// It is an ordinary client-go client: it talks to any Kubernetes API
// server through a rest.Config and knows nothing of how that server runs.
// Starting an embedded control plane for a run is the caller's job
// (internal/cli), as is keeping it up afterwards (--keep).
package jobrun
