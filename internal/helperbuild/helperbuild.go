package helperbuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Package is the helper's import path.
const Package = "github.com/batchd/batchd/cmd/batchd-pod"

// Flavor is one way of building the helper.
type Flavor string

const (
	// Musl is the C helper linked statically with musl (CC=musl-gcc).
	Musl Flavor = "musl"
	// GlibcStatic is the C helper linked statically with glibc.
	GlibcStatic Flavor = "glibc-static"
	// GlibcDynamic is the C helper linked dynamically with glibc.
	GlibcDynamic Flavor = "glibc-dynamic"
	// Go is the pure-Go helper (CGO_ENABLED=0).
	Go Flavor = "go"
)

// Best returns the fastest flavor this machine can build, from the
// environment the go command would see: CGO_ENABLED=0 or no C compiler
// give Go.
func Best(ctx context.Context) Flavor {
	env, err := goEnv(ctx, "CGO_ENABLED")
	if err != nil || env["CGO_ENABLED"] != "1" {
		return Go
	}
	if c := Available(ctx); len(c) > 0 {
		return c[0]
	}
	return Go
}

// Available returns the C flavors this machine can build, best first.
func Available(ctx context.Context) []Flavor {
	var out []Flavor
	if muslUsable(ctx) {
		out = append(out, Musl)
	}
	env, err := goEnv(ctx, "CC")
	cc := strings.Fields(env["CC"])
	if err != nil || len(cc) == 0 {
		return out
	}
	if _, err := exec.LookPath(cc[0]); err != nil {
		return out
	}
	if hasStaticLibc(ctx, cc) {
		out = append(out, GlibcStatic)
	}
	return append(out, GlibcDynamic)
}

// Command returns the go build command that writes the helper of flavor f
// to out, with extra build flags (such as -trimpath) before the package.
func Command(ctx context.Context, f Flavor, out string, flags ...string) (*exec.Cmd, error) {
	args := append([]string{"build"}, flags...)
	env := os.Environ()
	switch f {
	case Musl:
		env = append(env, "CGO_ENABLED=1", "CC=musl-gcc")
	case GlibcStatic:
		env = append(env, "CGO_ENABLED=1")
	case GlibcDynamic:
		env = append(env, "CGO_ENABLED=1")
		args = append(args, "-tags", "batchd_dynamic")
	case Go:
		env = append(env, "CGO_ENABLED=0")
	default:
		return nil, fmt.Errorf("unknown helper flavor %q", f)
	}
	args = append(args, "-o", out, Package)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = env
	return cmd, nil
}

// Build builds the helper of flavor f to out.
func Build(ctx context.Context, f Flavor, out string, flags ...string) error {
	cmd, err := Command(ctx, f, out, flags...)
	if err != nil {
		return err
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s (%s helper): %w\n%s", Package, f, err, msg)
	}
	return nil
}

// muslUsable reports whether musl-gcc is installed and may be used: not
// when CC names a compiler of the user's choice, nor when building for
// another architecture (musl-gcc is the host's).
func muslUsable(ctx context.Context) bool {
	if os.Getenv("CC") != "" {
		return false
	}
	if _, err := exec.LookPath("musl-gcc"); err != nil {
		return false
	}
	env, err := goEnv(ctx, "GOARCH", "GOHOSTARCH")
	return err == nil && env["GOARCH"] == env["GOHOSTARCH"]
}

// hasStaticLibc reports whether the C compiler finds a libc.a.
func hasStaticLibc(ctx context.Context, cc []string) bool {
	out, err := exec.CommandContext(ctx, cc[0], append(cc[1:], "-print-file-name=libc.a")...).Output()
	if err != nil {
		return false
	}
	p := strings.TrimSpace(string(out))
	if !filepath.IsAbs(p) {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// goEnv returns the go command's values of vars.
func goEnv(ctx context.Context, vars ...string) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, "go", append([]string{"env"}, vars...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	m := make(map[string]string, len(vars))
	for i, v := range vars {
		if i < len(lines) {
			m[v] = lines[i]
		}
	}
	return m, nil
}
