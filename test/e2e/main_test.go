package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	update          = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")
	kubectlVersions = flag.String("kubectl", "1.27,1.33",
		"comma-separated kubectl versions to drive, or all for 1.27 to 1.33 (each needs kubectl.<version> next to the kubectl dispatcher)")
)

// batchdBinary is the batchd executable under test. TestMain sets it before
// any test runs and nothing changes it afterwards.
var batchdBinary string

// binaryEnv names a prebuilt batchd binary to test instead of building one.
const binaryEnv = "BATCHD_BINARY"

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests builds (or locates) the batchd binary, runs the tests and
// removes the build directory; it returns the process exit code.
func runTests(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test skips; do not pay for a build
	}
	if p := os.Getenv(binaryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s=%s: %v\n", binaryEnv, p, err)
			return 1
		}
		batchdBinary = abs
		return m.Run()
	}

	dir, err := os.MkdirTemp("", "batchd-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: creating build directory: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "batchd")
	build := exec.Command("go", "build", "-o", bin, "github.com/batchd/batchd/cmd/batchd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building batchd (set %s to use a prebuilt binary): %v\n", binaryEnv, err)
		return 1
	}
	batchdBinary = bin
	return m.Run()
}
