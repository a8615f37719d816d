package cli

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/klog/v2"
)

// globalFlags are the flags every command takes.
type globalFlags struct {
	logLevel  string
	logFormat string
}

// NewRoot returns the batchd command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "batchd",
		Short:         "Kubernetes Jobs and CronJobs as one binary, no cluster needed",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "auto", "log format: text, json, or auto (text on a terminal, JSON otherwise)")
	root.AddCommand(newServerCommand(g, stderr), newVersionCommand(stdout), newAgentCommand(g, stderr))
	root.AddCommand(newRunCommand(g, stdout, stderr))
	return root
}

// logger builds the process logger and routes klog (client-go) into it.
func (g *globalFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	format := g.logFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, errInvalidFormat(format)
	}
	log := slog.New(h)
	klog.SetSlogLogger(log)
	return log, nil
}

type errInvalidFormat string

func (e errInvalidFormat) Error() string {
	return "invalid --log-format " + string(e) + ": want text, json or auto"
}
