package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/batchd/batchd/internal/controlplane"
)

// cronFlags are the knobs of the cron benchmark.
type cronFlags struct {
	cronJobs int
	runs     int
	fake     bool
	noFsync  bool
	noJobs   bool
	lead     time.Duration
	timeout  time.Duration
	jsonPath string
}

func parseCronFlags(args []string, stderr io.Writer) (cronFlags, error) {
	f := cronFlags{}
	fs := flag.NewFlagSet("cron", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench cron [flags]\n\n"+
			"Starts an in-process batchd control plane, creates -cronjobs CronJobs all due at\n"+
			"the same minute, and measures, for each Job, the time from that minute boundary\n"+
			"to the Job's ADDED event on a watch. Each figure is the median of -runs runs.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&f.cronJobs, "cronjobs", 1000, "CronJobs due at the same minute")
	fs.IntVar(&f.runs, "runs", 2, "runs; the table shows the median and the (min-max) range")
	fs.BoolVar(&f.fake, "fake-clock", false, "give the CronJob controller a fake clock and step it to the boundary plus the controller's 100 ms padding, measuring from the step (no wait for a real minute boundary)")
	fs.BoolVar(&f.noFsync, "no-fsync", false, "turn off fsync in embedded etcd (as tests do); production keeps it on")
	fs.BoolVar(&f.noJobs, "no-job-controller", false, "run no Job controller, so the Jobs get no pods (by default each Job gets one, as in production)")
	fs.DurationVar(&f.lead, "lead", 15*time.Second, "with the real clock, the least time left before the boundary once the CronJobs are being created; else the next minute is used")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "total time budget")
	fs.StringVar(&f.jsonPath, "json", "", "also write the results as JSON to this `file`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, err
		}
		return f, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		return f, errUsage
	}
	if f.cronJobs < 1 || f.runs < 1 || f.timeout <= 0 || f.lead < 0 {
		fmt.Fprintln(stderr, "-cronjobs and -runs must be at least 1, -timeout positive, -lead not negative")
		return f, errUsage
	}
	return f, nil
}

// cronRun is what one run measured, in milliseconds.
type cronRun struct {
	last, p50, p99, first, rate, create float64
}

// runCron runs the cron benchmark: start a server, measure, print, stop.
func runCron(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	f, err := parseCronFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	goroutinesBefore := runtime.NumGoroutine()
	started := time.Now()
	tmp, err := os.MkdirTemp("", "batchd-bench-")
	if err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing %s: %w", tmp, rerr))
		}
	}()
	cfg := controlplane.Config{
		DataDir:      tmp,
		Listen:       "127.0.0.1:0",
		FastElection: true,
		NoFsync:      f.noFsync,
		Log:          slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	cfg.JobController.Disabled = f.noJobs
	// No node agent: the pods of the Jobs stay pending. What is measured
	// is the CronJob controller turning schedule times into Jobs.
	cfg.Agent.Disabled = true
	var fc *testingclock.FakeClock
	if f.fake {
		fc = testingclock.NewFakeClock(time.Now())
		cfg.Timed.CronJob.Clock = fc
	}
	loadStart := loadAverage()
	srv, err := startServer(ctx, cfg)
	if err != nil {
		return err
	}
	var runs []cronRun
	measureErr := func() error {
		ctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		conf := *srv.config
		conf.ContentType = ctProtobuf.mime
		cs, err := kubernetes.NewForConfig(&conf)
		if err != nil {
			return err
		}
		for i := range f.runs {
			r, err := cronOnce(ctx, cs, f, fc, i, stderr)
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
		// Let the controllers' events reach the server before it stops.
		time.Sleep(3 * time.Second)
		return nil
	}()
	stopErr := srv.stop()
	if err := writeCronTable(stdout, f, runs, loadStart, loadAverage()); err != nil {
		return err
	}
	if f.jsonPath != "" {
		if err := cronResults(f, runs, started, loadStart).writeJSON(f.jsonPath); err != nil {
			return err
		}
	}
	if n := waitGoroutines(goroutinesBefore, 5*time.Second); n > goroutinesBefore {
		fmt.Fprintf(stderr, "bench: %d goroutines still running after shutdown (%d at start)\n", n, goroutinesBefore)
	}
	return errors.Join(measureErr, stopErr)
}

// cronOnce creates the CronJobs of one run in a fresh namespace and times
// their Jobs.
func cronOnce(ctx context.Context, cs kubernetes.Interface, f cronFlags, fc *testingclock.FakeClock, run int, progress io.Writer) (cronRun, error) {
	ns := fmt.Sprintf("cron-bench-%d", run)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return cronRun{}, fmt.Errorf("creating namespace: %w", err)
	}
	// The boundary every CronJob is due at, with time to create them all.
	var boundary time.Time
	if fc != nil {
		fc.SetTime(time.Now())
		boundary = fc.Now().Truncate(time.Minute).Add(time.Minute)
	} else {
		now := time.Now()
		boundary = now.Truncate(time.Minute).Add(time.Minute)
		if boundary.Sub(now) < f.lead {
			boundary = boundary.Add(time.Minute)
		}
	}
	local := boundary.In(time.Local)
	schedule := fmt.Sprintf("%d %d * * *", local.Minute(), local.Hour()) // once a day, at the boundary

	list, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return cronRun{}, err
	}
	w, err := cs.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return cronRun{}, err
	}
	defer w.Stop()

	started := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i := range f.cronJobs {
		g.Go(func() error {
			_, err := cs.BatchV1().CronJobs(ns).Create(gctx, benchCronJob(fmt.Sprintf("cj-%04d", i), schedule), metav1.CreateOptions{})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return cronRun{}, fmt.Errorf("creating cronjobs: %w", err)
	}
	created := time.Since(started)
	fmt.Fprintf(progress, "%s run %d: %d CronJobs created in %v, due at %s\n", time.Now().Format("15:04:05"), run+1, f.cronJobs, created.Round(time.Millisecond), boundary.Format("15:04:05"))

	origin := boundary
	if fc != nil {
		time.Sleep(2 * time.Second) // the controller has synced every CronJob and waits for the boundary
		origin = time.Now()
		fc.SetTime(boundary.Add(100 * time.Millisecond))
	} else if wait := time.Until(boundary); wait < 0 {
		return cronRun{}, fmt.Errorf("creating the CronJobs took until after the boundary (%v); raise -lead", created)
	}
	lags := make([]time.Duration, 0, f.cronJobs)
	for len(lags) < f.cronJobs {
		select {
		case <-ctx.Done():
			return cronRun{}, fmt.Errorf("%d of %d Jobs seen: %w", len(lags), f.cronJobs, ctx.Err())
		case ev, ok := <-w.ResultChan():
			if !ok {
				return cronRun{}, fmt.Errorf("watch closed after %d of %d Jobs", len(lags), f.cronJobs)
			}
			if ev.Type == watch.Added {
				lags = append(lags, time.Since(origin))
			}
		}
	}
	r := cronRun{
		first:  ms(lags[0]),
		last:   ms(lags[len(lags)-1]),
		p50:    ms(percentile(lags, 50)),
		p99:    ms(percentile(lags, 99)),
		create: ms(created),
	}
	if span := lags[len(lags)-1] - lags[0]; span > 0 {
		r.rate = float64(len(lags)-1) / span.Seconds()
	}
	fmt.Fprintf(progress, "%s run %d: last Job %v after the boundary\n", time.Now().Format("15:04:05"), run+1, lags[len(lags)-1].Round(time.Millisecond))
	return r, nil
}

// benchCronJob is a CronJob as `kubectl create cronjob` makes it.
func benchCronJob(name, schedule string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyOnFailure,
				Containers:    []corev1.Container{{Name: name, Image: "busybox", Command: []string{"echo", "hi"}}},
			}}}},
		},
	}
}

// cronRows are the figures of the cron table, in order.
var cronRows = []struct {
	name, unit string
	get        func(cronRun) float64
}{
	{"boundary to last Job created", "ms", func(r cronRun) float64 { return r.last }},
	{"schedule lag p50", "ms", func(r cronRun) float64 { return r.p50 }},
	{"schedule lag p99", "ms", func(r cronRun) float64 { return r.p99 }},
	{"boundary to first Job created", "ms", func(r cronRun) float64 { return r.first }},
	{"Jobs created per second", "jobs/s", func(r cronRun) float64 { return r.rate }},
	{"creating the CronJobs (setup)", "ms", func(r cronRun) float64 { return r.create }},
}

// cronResults turns the runs into the suite's JSON form.
func cronResults(f cronFlags, runs []cronRun, started time.Time, loadStart [3]float64) *results {
	res := newResults("cron")
	res.Started, res.LoadStart = started, loadStart
	clock := "real (lag from the minute boundary, including the controller's 100 ms padding)"
	if f.fake {
		clock = "fake (lag from stepping the clock to the boundary + 100 ms)"
	}
	res.param("cron", fmt.Sprintf("%d CronJobs due at one minute; clock %s; etcd fsync %v; Job controller %v", f.cronJobs, clock, !f.noFsync, !f.noJobs))
	scen := fmt.Sprintf("cron %d due at once", f.cronJobs)
	if f.fake {
		scen += ", fake clock"
	}
	for _, r := range runs {
		for _, row := range cronRows {
			res.add(scen, row.name, row.unit, row.get(r))
		}
	}
	res.finish()
	return res
}

func writeCronTable(w io.Writer, f cronFlags, runs []cronRun, loadStart, loadEnd [3]float64) error {
	clock := "real: lag from the minute boundary, so it includes the controller's 100 ms padding"
	if f.fake {
		clock = "fake: lag from stepping the clock to the boundary + 100 ms"
	}
	fmt.Fprintf(w, "%d CronJobs due at one minute; %d run(s); clock %s; fsync %v; Job controller %v\n",
		f.cronJobs, len(runs), clock, !f.noFsync, !f.noJobs)
	fmt.Fprintf(w, "load average %s at the start, %s at the end; GOMAXPROCS %d\n\n", fmtLoad(loadStart), fmtLoad(loadEnd), runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tunit\tmedian\t(min-max)")
	for _, row := range cronRows {
		var vs []float64
		for _, r := range runs {
			vs = append(vs, row.get(r))
		}
		if len(vs) == 0 {
			continue
		}
		lo, hi := vs[0], vs[0]
		for _, v := range vs {
			lo, hi = min(lo, v), max(hi, v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t(%s-%s)\n", row.name, row.unit, fmtValue(median(vs)), fmtValue(lo), fmtValue(hi))
	}
	return tw.Flush()
}
