package job_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain lets the scenario subtests, which mostly wait on the API
// server, run sixteen at a time unless -parallel says otherwise: the
// default (GOMAXPROCS, 2 in CI) would serialise them.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "16")
	}
	os.Exit(m.Run())
}
