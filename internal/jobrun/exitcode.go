package jobrun

import (
	"errors"
	"fmt"
	"syscall"

	batchv1 "k8s.io/api/batch/v1"
)

// Exit codes of batchd run. docs/run.md and `batchd run --help` list them;
// scripts depend on them, so they never change meaning.
const (
	// ExitComplete: every Job followed has the Complete condition.
	ExitComplete = 0
	// ExitFailed: a Job failed for a reason without a code of its own
	// (PodFailurePolicy, FailedIndexes, MaxFailedIndexesExceeded, ...).
	ExitFailed = 1
	// ExitBackoffLimitExceeded: a Job failed with reason
	// BackoffLimitExceeded: its pods failed more often than
	// spec.backoffLimit allows.
	ExitBackoffLimitExceeded = 2
	// ExitDeadlineExceeded: a Job failed with reason DeadlineExceeded: it
	// ran longer than spec.activeDeadlineSeconds.
	ExitDeadlineExceeded = 3
	// ExitUsage (EX_USAGE): bad flags, unreadable or invalid manifests, or
	// objects the API server rejected. Nothing was followed.
	ExitUsage = 64
	// ExitUnavailable (EX_UNAVAILABLE): the embedded server did not start,
	// or the API server could not be reached or failed mid-run.
	ExitUnavailable = 69
	// ExitTimeout: --timeout passed before every Job finished (as
	// timeout(1)).
	ExitTimeout = 124
	// ExitInterrupted: stopped by SIGINT (Ctrl-C), after cleaning up.
	ExitInterrupted = 128 + int(syscall.SIGINT)
	// ExitTerminated: stopped by SIGTERM, after cleaning up.
	ExitTerminated = 128 + int(syscall.SIGTERM)
)

// ExitError is an error with the exit code batchd run should end with.
// Err may be nil when the output already said everything (a Job failed
// and the summary shows why).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the process exit code, as exec.ExitError has it.
func (e *ExitError) ExitCode() int { return e.Code }

// Usage wraps err as a usage or manifest error (ExitUsage).
func Usage(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

// Unavailable wraps err as a server error (ExitUnavailable).
func Unavailable(err error) error { return &ExitError{Code: ExitUnavailable, Err: err} }

// CodeOf is the exit code for err: 0 for nil, the ExitError's code, else
// ExitUnavailable (something went wrong talking to the server).
func CodeOf(err error) int {
	if err == nil {
		return ExitComplete
	}
	if ee, ok := errors.AsType[*ExitError](err); ok {
		return ee.Code
	}
	return ExitUnavailable
}

// codeForReason maps a Failed condition's reason to an exit code.
func codeForReason(reason string) int {
	switch reason {
	case batchv1.JobReasonBackoffLimitExceeded:
		return ExitBackoffLimitExceeded
	case batchv1.JobReasonDeadlineExceeded:
		return ExitDeadlineExceeded
	default:
		return ExitFailed
	}
}

// outcome is how the following of a set of Jobs ended, before the Jobs'
// own results are looked at.
type outcome int

const (
	outcomeFinished    outcome = iota // every Job has a terminal condition
	outcomeInterrupted                // SIGINT or cancellation
	outcomeTerminated                 // SIGTERM
	outcomeTimedOut                   // --timeout
)

// exitCode is the exit code for a run that ended with o, whose Jobs (in
// the order they were applied) ended as results say. An interruption or
// timeout wins over the Jobs' results; otherwise the first failed Job
// decides.
func exitCode(o outcome, results []jobResult) int {
	switch o {
	case outcomeInterrupted:
		return ExitInterrupted
	case outcomeTerminated:
		return ExitTerminated
	case outcomeTimedOut:
		return ExitTimeout
	}
	for _, r := range results {
		switch r.state {
		case stateComplete:
		case stateFailed:
			return codeForReason(r.reason)
		default: // cannot happen once finished; be conservative
			return ExitFailed
		}
	}
	return ExitComplete
}
