package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// figure is one measured quantity; rank orders the table.
type figure struct {
	rank int
	name string
	unit string
}

var (
	figCreateRate     = figure{1, "create throughput", "creates/s"}
	figCreateP50      = figure{2, "create latency p50", "ms"}
	figCreateP99      = figure{3, "create latency p99", "ms"}
	figWatchP50       = figure{4, "watch event latency p50", "ms"}
	figWatchP99       = figure{5, "watch event latency p99", "ms"}
	figWatchAfterP99  = figure{6, "watch event after create returned p99", "ms"}
	figWatchCreateP99 = figure{7, "create latency p99 during watch", "ms"}
	figWatchWrites    = figure{8, "writes during watch", "creates/s"}
	figWatchFirst     = figure{9, "first event of a new watch", "ms"}
	figList           = figure{10, "full list", "ms"}
	figListSize       = figure{11, "full list response size", "KiB"}
	figPodList        = figure{12, "pod list", "ms"}
	figPodListSize    = figure{13, "pod list response size", "KiB"}
	figFanoutP50      = figure{14, "watch fan-out, event at all watchers p50", "ms"}
	figFanoutP99      = figure{15, "watch fan-out, event at all watchers p99", "ms"}
	figFanoutEachP99  = figure{16, "watch fan-out, event at each watcher p99", "ms"}
	figMutateRate     = figure{17, "mutating calls", "calls/s"}
	figMutateP50      = figure{18, "mutating call latency p50", "ms"}
	figMutateP99      = figure{19, "mutating call latency p99", "ms"}
)

// result is one cell of the table: a figure for a number of clients and a
// content type, with the value of every run.
type result struct {
	Figure      string    `json:"figure"`
	Unit        string    `json:"unit"`
	Clients     int       `json:"clients"`
	ContentType string    `json:"content_type"`
	Values      []float64 `json:"values"`
	Median      float64   `json:"median"`
	Min         float64   `json:"min"`
	Max         float64   `json:"max"`

	rank int
}

// report collects results and the conditions they were measured in.
type report struct {
	mu sync.Mutex

	Benchmark     string     `json:"benchmark"`
	Started       time.Time  `json:"started"`
	Finished      time.Time  `json:"finished"`
	GoVersion     string     `json:"go_version"`
	Platform      string     `json:"platform"`
	NumCPU        int        `json:"num_cpu"`
	GOMAXPROCS    int        `json:"gomaxprocs"`
	Fsync         bool       `json:"fsync"`
	Runs          int        `json:"runs"`
	Connections   string     `json:"connections"`
	Creates       int        `json:"creates_per_run"`
	SerialCreates int        `json:"serial_creates_per_run"`
	WatchEvents   int        `json:"watch_events_per_run"`
	SerialWatch   int        `json:"serial_watch_events_per_run"`
	ListObjects   int        `json:"list_objects"`
	PodList       int        `json:"pod_list,omitempty"`
	Fanout        string     `json:"fanout,omitempty"`
	Mutating      string     `json:"mutating,omitempty"`
	LoadStart     [3]float64 `json:"load_average_start"`
	LoadEnd       [3]float64 `json:"load_average_end"`
	Results       []*result  `json:"results"`
}

func newReport(f apiFlags) *report {
	conns := "one shared clientset (one HTTP/2 connection) for the writers; the watcher has its own"
	if f.connPerClient {
		conns = "a clientset and HTTP/2 connection per client; the watcher has its own"
	}
	var fanout, mutating string
	if f.fanoutWatchers > 0 {
		fanout = fmt.Sprintf("%d watchers, each on its own connection; %d events per run, one created every %v", f.fanoutWatchers, f.fanoutEvents, f.fanoutInterval)
	}
	if f.mutatingClients > 0 {
		mutating = fmt.Sprintf("%d clients, each on its own connection; %d calls per run (ConfigMap create, update, delete in turn)", f.mutatingClients, f.mutatingCalls)
	}
	return &report{
		Fanout:        fanout,
		Mutating:      mutating,
		Benchmark:     "api",
		Started:       time.Now(),
		GoVersion:     runtime.Version(),
		Platform:      runtime.GOOS + "/" + runtime.GOARCH,
		NumCPU:        runtime.NumCPU(),
		GOMAXPROCS:    runtime.GOMAXPROCS(0),
		Fsync:         !f.noFsync,
		Runs:          f.runs,
		Connections:   conns,
		Creates:       f.creates,
		SerialCreates: f.serialCreates,
		WatchEvents:   f.watchEvents,
		SerialWatch:   f.serialWatch,
		ListObjects:   f.listObjects,
		PodList:       f.podList,
		LoadStart:     loadAverage(),
	}
}

// add records one run's value of fig.
func (r *report) add(fig figure, clients int, ct contentType, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, res := range r.Results {
		if res.Figure == fig.name && res.Clients == clients && res.ContentType == ct.name {
			res.Values = append(res.Values, v)
			return
		}
	}
	r.Results = append(r.Results, &result{Figure: fig.name, Unit: fig.unit, Clients: clients, ContentType: ct.name, Values: []float64{v}, rank: fig.rank})
}

// finish computes the summaries and sorts the results for display.
func (r *report) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Finished = time.Now()
	r.LoadEnd = loadAverage()
	for _, res := range r.Results {
		res.Median = median(res.Values)
		res.Min, res.Max = slices.Min(res.Values), slices.Max(res.Values)
	}
	slices.SortStableFunc(r.Results, func(a, b *result) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		if a.Clients != b.Clients {
			return a.Clients - b.Clients
		}
		return strings.Compare(a.ContentType, b.ContentType)
	})
}

func (r *report) writeTable(w io.Writer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	fsync := "on"
	if !r.Fsync {
		fsync = "off (-no-fsync)"
	}
	fmt.Fprintf(w, "batchd api benchmark, %s, %s %s, %d CPUs (GOMAXPROCS %d)\n",
		r.Started.Format(time.DateTime), r.GoVersion, r.Platform, r.NumCPU, r.GOMAXPROCS)
	fmt.Fprintf(w, "etcd fsync %s; %d runs, median (min-max); took %s\n", fsync, r.Runs, r.Finished.Sub(r.Started).Round(time.Second))
	fmt.Fprintf(w, "clients: %s\n", r.Connections)
	fmt.Fprintf(w, "load average (1, 5, 15 min): start %s, end %s\n\n", fmtLoad(r.LoadStart), fmtLoad(r.LoadEnd))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tunit\tclients\tcontent\tmedian\t(min-max)")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t(%s-%s)\n", res.Figure, res.Unit, res.Clients, res.ContentType,
			fmtValue(res.Median), fmtValue(res.Min), fmtValue(res.Max))
	}
	return tw.Flush()
}

func (r *report) writeJSON(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}

// fmtValue prints about three significant digits.
func fmtValue(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func fmtLoad(l [3]float64) string {
	return fmt.Sprintf("%.2f %.2f %.2f", l[0], l[1], l[2])
}

// loadAverage reads /proc/loadavg; it is zero where that does not exist.
func loadAverage() [3]float64 {
	var out [3]float64
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return out
	}
	fields := strings.Fields(string(data))
	for i := 0; i < 3 && i < len(fields); i++ {
		out[i], _ = strconv.ParseFloat(fields[i], 64)
	}
	return out
}
