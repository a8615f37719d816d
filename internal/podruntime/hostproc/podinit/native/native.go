package native

// The C helper (see doc.go) is in this directory's .c files. Its entry
// point is a constructor, so nothing here is called from Go.

/*
#cgo CFLAGS: -O2 -Wall
*/
import "C"
