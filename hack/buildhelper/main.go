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
	flavors := []helperbuild.Flavor{helperbuild.Flavor(*flavor)}
	if *flavor == "" {
		// The best first; should it fail to build (a broken musl-gcc),
		// the next, down to the Go helper.
		flavors = []helperbuild.Flavor{helperbuild.Go}
		if helperbuild.Best(ctx) != helperbuild.Go {
			flavors = append(helperbuild.Available(ctx), helperbuild.Go)
		}
	}
	for i, f := range flavors {
		err := helperbuild.Build(ctx, f, *out, flag.Args()...)
		if err == nil {
			fmt.Fprintf(os.Stderr, "built %s: the %s helper\n", *out, f)
			return
		}
		fmt.Fprintln(os.Stderr, err)
		if i == len(flavors)-1 {
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "trying the %s helper instead\n", flavors[i+1])
	}
}
