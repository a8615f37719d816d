package native

// The C helper (see doc.go) is in this directory's .c files. Its entry
// point is a constructor, so nothing here is called from Go but errnoText,
// which the tests use.

/*
#cgo CFLAGS: -O2 -Wall
#include <stdlib.h>
#include "podinit.h"
*/
import "C"

// errnoText is the C helper's text for errno e.
func errnoText(e int) string {
	var buf [128]C.char
	C.errno_text(C.int(e), &buf[0], C.size_t(len(buf)))
	return C.GoString(&buf[0])
}
