package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// scenario is one benchmark command that `all` runs.
type scenario struct {
	name string
	args []string // the command and its flags, without -json and -bin
	bin  bool     // takes -bin
	api  bool     // writes the api report, not the suite's results
}

// allScenarios are the scenarios of issue #8, at full size or, with
// -quick, at sizes for a smoke run of a few minutes.
func allScenarios(quick bool) []scenario {
	if quick {
		return []scenario{
			{name: "system", args: []string{"system", "-completions", "200", "-parallelism", "20", "-runs", "1"}, bin: true},
			{name: "system-large", args: []string{"system", "-completions", "500", "-parallelism", "50", "-runs", "1"}, bin: true},
			{name: "startup", args: []string{"startup", "-runs", "2", "-pods", "2000", "-idle", "2s"}, bin: true},
			{name: "run-hello", args: []string{"run-hello", "-runs", "2"}, bin: true},
			{name: "api", args: []string{"api", "-runs", "1", "-creates", "300", "-serial-creates", "100", "-watch-events", "200",
				"-serial-watch-events", "50", "-list", "1000", "-pod-list", "1000", "-fanout-events", "30", "-mutating-calls", "300"}, api: true},
			{name: "cron", args: []string{"cron", "-cronjobs", "100", "-runs", "1", "-fake-clock"}},
			{name: "latency", args: []string{"latency", "-pods", "10", "-jobs", "5", "-runs", "1"}, bin: true},
		}
	}
	return []scenario{
		{name: "system", args: []string{"system", "-completions", "1000", "-parallelism", "100", "-runs", "3"}, bin: true},
		{name: "system-large", args: []string{"system", "-completions", "10000", "-parallelism", "500", "-runs", "3"}, bin: true},
		{name: "startup", args: []string{"startup", "-runs", "5", "-pods", "100000"}, bin: true},
		{name: "run-hello", args: []string{"run-hello", "-runs", "5"}, bin: true},
		{name: "api", args: []string{"api", "-runs", "3"}, api: true},
		{name: "cron", args: []string{"cron", "-cronjobs", "1000", "-runs", "3"}},
		{name: "latency", args: []string{"latency", "-pods", "50", "-jobs", "20", "-runs", "3"}, bin: true},
	}
}

// runAll runs every scenario, each in a process of its own, and prints
// one table of all their figures.
func runAll(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonPath := fs.String("json", "", "also write every figure as JSON to this `file`")
	quick := fs.Bool("quick", false, "small sizes and single runs: a smoke run of a few minutes, not a measurement")
	only := fs.String("only", "", "comma-separated scenarios to run (default: all): system, system-large, startup, run-hello, api, cron, latency")
	bin := fs.String("bin", "", "`dir`ectory holding a built batchd and batchd-pod (default: go build them once into a temporary directory)")
	pause := fs.Duration("pause", 15*time.Second, "idle time between scenarios, so that one's aftermath (freed memory, deleted data directories written back) is not measured in the next")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench all [flags]\n\n"+
			"Runs the scenarios of issue #8, each as a subprocess of this command (so that\n"+
			"each server's memory and goroutines are its own), and prints one table.\n"+
			"A scenario that fails is reported and the others still run.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		return errUsage
	}
	scenarios := allScenarios(*quick)
	if *only != "" {
		var names []string
		for _, s := range scenarios {
			names = append(names, s.name)
		}
		want := strings.Split(*only, ",")
		for _, w := range want {
			if !slices.Contains(names, strings.TrimSpace(w)) {
				fmt.Fprintf(stderr, "-only: unknown scenario %q (want %s)\n", w, strings.Join(names, ", "))
				return errUsage
			}
		}
		scenarios = slices.DeleteFunc(scenarios, func(s scenario) bool {
			return !slices.ContainsFunc(want, func(w string) bool { return strings.TrimSpace(w) == s.name })
		})
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "batchd-bench-all-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	all := newResults("all")
	if *quick {
		all.Benchmark = "all -quick (smoke run: small sizes, single runs; not a measurement)"
	}
	binDir := *bin
	if binDir == "" && slices.ContainsFunc(scenarios, func(s scenario) bool { return s.bin }) {
		bins, err := buildBinaries(ctx, "", true, stderr)
		if err != nil {
			return err
		}
		defer bins.remove()
		binDir = bins.dir
	}
	var failed []string
	for i, s := range scenarios {
		if i > 0 && *pause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(*pause):
			}
		}
		if ctx.Err() != nil {
			break
		}
		args := slices.Clone(s.args)
		if s.bin {
			args = append(args, "-bin", binDir)
		}
		out := filepath.Join(tmp, s.name+".json")
		args = append(args, "-json", out)
		logf(stderr, "=== %s: go run ./bench %s", s.name, strings.Join(s.args, " "))
		start := time.Now()
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Stdout, cmd.Stderr = stderr, stderr // its own table is progress here
		runErr := cmd.Run()
		took := time.Since(start).Round(time.Second)
		all.param("scenario "+s.name, fmt.Sprintf("go run ./bench %s (took %v)", strings.Join(s.args, " "), took))
		got, readErr := readScenario(out, s)
		if got != nil {
			all.merge(got)
			for k, v := range got.Params {
				all.param(k, v)
			}
		}
		if err := errors.Join(runErr, readErr); err != nil {
			failed = append(failed, s.name)
			all.fail(fmt.Errorf("scenario %s: %w", s.name, err))
			logf(stderr, "=== %s failed after %v: %v", s.name, took, err)
			continue
		}
		logf(stderr, "=== %s done in %v", s.name, took)
	}
	fmt.Fprintln(stdout)
	if err := all.output(stdout, *jsonPath); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("scenarios with errors: %s (see above; their other figures are in the table)", strings.Join(failed, ", "))
	}
	return ctx.Err()
}

// readScenario reads the JSON a scenario wrote, in the suite's form.
func readScenario(path string, s scenario) (*results, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("it wrote no results")
	}
	if err != nil {
		return nil, err
	}
	if !s.api {
		var r results
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("reading its results: %w", err)
		}
		return &r, nil
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("reading its results: %w", err)
	}
	r := &results{Params: map[string]string{}}
	fsync := "on"
	if !rep.Fsync {
		fsync = "off"
	}
	r.Params["api"] = fmt.Sprintf("in-process server, client-go over HTTPS in the same process; etcd fsync %s; %s", fsync, rep.Connections)
	if rep.Fanout != "" {
		r.Params["api fan-out"] = rep.Fanout
	}
	if rep.Mutating != "" {
		r.Params["api mutating"] = rep.Mutating
	}
	for _, res := range rep.Results {
		fig := fmt.Sprintf("%s, %d clients, %s", res.Figure, res.Clients, res.ContentType)
		switch {
		case strings.Contains(res.Figure, "list"):
			fig = fmt.Sprintf("%s, %s", res.Figure, res.ContentType)
		case res.Clients == 1:
			fig = fmt.Sprintf("%s, 1 client, %s", res.Figure, res.ContentType)
		}
		r.Series = append(r.Series, &series{Scenario: "api", Figure: fig, Unit: res.Unit, Values: res.Values})
	}
	return r, nil
}
