package version

import (
	"fmt"
	"runtime"

	apiversion "k8s.io/apimachinery/pkg/version"
)

// Build information, set at link time with
// -ldflags "-X github.com/batchd/batchd/internal/version.version=v0.1.0 ...".
var (
	version   = "v0.0.0-dev"
	gitCommit = ""
	buildDate = "1970-01-01T00:00:00Z"
)

// Kubernetes API level batchd implements. kubectl warns about skew and the
// dispatcher selects kubectl.1.<minor> from these.
const (
	KubeMajor = "1"
	KubeMinor = "33"
	kubePatch = "0"
)

// Version returns batchd's own version.
func Version() string { return version }

// Info is what GET /version answers: the Kubernetes version batchd
// implements, with batchd's own version as semver build metadata.
func Info() apiversion.Info {
	return apiversion.Info{
		Major:        KubeMajor,
		Minor:        KubeMinor,
		GitVersion:   fmt.Sprintf("v%s.%s.%s+batchd.%s", KubeMajor, KubeMinor, kubePatch, sanitize(version)),
		GitCommit:    gitCommit,
		GitTreeState: "clean",
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// sanitize keeps only characters semver allows in build metadata.
func sanitize(v string) string {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '.':
			out = append(out, c)
		}
	}
	return string(out)
}
