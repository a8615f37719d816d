package helperbuild

import (
	"os/exec"
	"slices"
	"testing"
)

// TestBestFollowsTheMachine: Best is the Go helper when cgo is off, and
// otherwise the first of Available, musl when musl-gcc is installed.
func TestBestFollowsTheMachine(t *testing.T) {
	t.Setenv("CGO_ENABLED", "0")
	if got := Best(t.Context()); got != Go {
		t.Errorf("CGO_ENABLED=0: Best = %q, want %q", got, Go)
	}
	t.Setenv("CGO_ENABLED", "1")
	avail := Available(t.Context())
	if len(avail) == 0 {
		t.Skip("no C compiler")
	}
	if got := Best(t.Context()); got != avail[0] {
		t.Errorf("Best = %q, want the first of %q", got, avail)
	}
	_, err := exec.LookPath("musl-gcc")
	if hasMusl := slices.Contains(avail, Musl); hasMusl != (err == nil) || (hasMusl && avail[0] != Musl) {
		t.Errorf("Available = %q with musl-gcc on PATH: %v", avail, err == nil)
	}
	if !slices.Contains(avail, GlibcDynamic) {
		t.Errorf("Available = %q: a C compiler can always link dynamically", avail)
	}
}

func TestCommand(t *testing.T) {
	for _, tc := range []struct {
		flavor  Flavor
		env     string
		tagged  bool
		wantErr bool
	}{
		{Musl, "CC=musl-gcc", false, false},
		{GlibcStatic, "CGO_ENABLED=1", false, false},
		{GlibcDynamic, "CGO_ENABLED=1", true, false},
		{Go, "CGO_ENABLED=0", false, false},
		{"uclibc", "", false, true},
	} {
		cmd, err := Command(t.Context(), tc.flavor, "/tmp/out", "-trimpath")
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: error %v, want one: %v", tc.flavor, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if !slices.Contains(cmd.Env, tc.env) {
			t.Errorf("%s: env lacks %s", tc.flavor, tc.env)
		}
		if got := slices.Contains(cmd.Args, "batchd_dynamic"); got != tc.tagged {
			t.Errorf("%s: args %q, tagged batchd_dynamic: %v", tc.flavor, cmd.Args, tc.tagged)
		}
		if n := len(cmd.Args); cmd.Args[n-1] != Package || cmd.Args[n-2] != "/tmp/out" || cmd.Args[2] != "-trimpath" {
			t.Errorf("%s: args %q", tc.flavor, cmd.Args)
		}
	}
}
