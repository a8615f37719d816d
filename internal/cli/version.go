package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/batchd/batchd/internal/version"
)

func newVersionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the batchd version and the Kubernetes API version it serves",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			info := version.Info()
			_, err := fmt.Fprintf(stdout, "batchd %s\nKubernetes API %s.%s (%s)\n%s %s\n",
				version.Version(), info.Major, info.Minor, info.GitVersion, info.GoVersion, info.Platform)
			return err
		},
	}
}
