package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runHelloFlags are the knobs of the run-hello benchmark.
type runHelloFlags struct {
	runs     int
	manifest string
	bin      string
	jsonPath string
	timeout  time.Duration
}

// runRunHello times cold `batchd run examples/hello.yaml` runs: each a new
// process, with its own temporary data directory, from start to exit.
func runRunHello(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := runHelloFlags{}
	fs := flag.NewFlagSet("run-hello", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench run-hello [flags]\n\n"+
			"Runs `batchd run MANIFEST` (the real binary, cold: a new process, its own\n"+
			"temporary data directory) -runs times and measures process start to exit.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&f.runs, "runs", 5, "runs; the table shows the median and the (min-max) range")
	fs.StringVar(&f.manifest, "manifest", "examples/hello.yaml", "manifest to run, relative to the module root")
	fs.StringVar(&f.bin, "bin", "", "`dir`ectory holding a built batchd and batchd-pod (default: go build them into a temporary directory)")
	fs.StringVar(&f.jsonPath, "json", "", "also write the results as JSON to this `file`")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "time budget of each run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 || f.runs < 1 || f.timeout <= 0 {
		fmt.Fprintln(stderr, "no arguments; -runs at least 1, -timeout positive")
		return errUsage
	}
	res := newResults("run-hello")
	scen := "batchd run " + f.manifest
	res.param("run-hello", "cold `batchd run` of a one-pod Job: a new process each time, its own temporary data directory, the node agent in-process")
	err := func() error {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		manifest := filepath.Join(root, f.manifest)
		if _, err := os.Stat(manifest); err != nil {
			return fmt.Errorf("not available: %w", err)
		}
		bins, err := buildBinaries(ctx, f.bin, true, stderr)
		if err != nil {
			return err
		}
		defer bins.remove()
		if help, err := exec.CommandContext(ctx, bins.batchd, "run", "--help").CombinedOutput(); err != nil || !strings.Contains(string(help), "batchd run") {
			return fmt.Errorf("not available: this batchd has no run command (%v)", err)
		}
		var errs []error
		for run := 1; run <= f.runs && ctx.Err() == nil; run++ {
			if err := runHelloOnce(ctx, f, bins.batchd, root, manifest, res, scen, run, stderr); err != nil {
				errs = append(errs, fmt.Errorf("%s run %d: %w", scen, run, err))
			}
		}
		return errors.Join(errs...)
	}()
	if err != nil {
		res.fail(err)
		logf(stderr, "run-hello: %v", err)
	}
	if oerr := res.output(stdout, f.jsonPath); oerr != nil {
		return oerr
	}
	if err != nil && strings.HasPrefix(err.Error(), "not available") {
		return nil // reported in the table, not a failure of the benchmark
	}
	return err
}

func runHelloOnce(ctx context.Context, f runHelloFlags, bin, root, manifest string, res *results, scen string, run int, progress io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", manifest)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("%w after %v; output:\n%s", err, wall.Round(time.Millisecond), lastLinesOf(out.String(), 20))
	}
	res.add(scen, "process start to exit", "ms", ms(wall))
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.add(scen, "peak RSS", "MiB", float64(ru.Maxrss)/1024)
		res.add(scen, "CPU (user+system)", "ms", ms(time.Duration(ru.Utime.Nano()+ru.Stime.Nano())))
	}
	logf(progress, "%s run %d: exit 0 after %v", scen, run, wall.Round(time.Millisecond))
	return nil
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
