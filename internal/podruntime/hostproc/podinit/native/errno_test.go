//go:build cgo

package native

import (
	"syscall"
	"testing"
)

// TestErrnoTextIsGos checks errno.c's table against Go's: the C helper's
// messages must read like the Go helper's whichever C library it is built
// with (glibc's texts differ from Go's in case, musl's in wording).
func TestErrnoTextIsGos(t *testing.T) {
	for e := 0; e < 300; e++ {
		want := syscall.Errno(e).Error()
		if got := errnoText(e); got != want {
			t.Errorf("errno %d: C says %q, Go says %q", e, got, want)
		}
	}
}
