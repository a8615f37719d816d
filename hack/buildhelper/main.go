// Command buildhelper builds cmd/batchd-pod the best way this machine
// allows (package helperbuild): `go run ./hack/buildhelper -o
// bin/batchd-pod [go build flags]`. `make build` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/batchd/batchd/internal/helperbuild"
)

func main() {
	out := flag.String("o", "bin/batchd-pod", "output file")
	flavor := flag.String("flavor", "", "musl, glibc-static, glibc-dynamic or go; empty: the best this machine can build")
	flag.Parse()
	ctx := context.Background()
	f := helperbuild.Flavor(*flavor)
	if f == "" {
		f = helperbuild.Best(ctx)
	}
	if err := helperbuild.Build(ctx, f, *out, flag.Args()...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "built %s: the %s helper\n", *out, f)
}
