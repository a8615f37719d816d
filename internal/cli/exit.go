package cli

import "fmt"

// ExitError asks main to end the process with Code. The command has
// already told the user why, so main prints nothing more.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitCode is the process exit code.
func (e *ExitError) ExitCode() int { return e.Code }
