package gcpace

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// DefaultHeadroom is the headroom batchd's commands use. Measured on a
// 2-core machine running a 1,000-pod Job at parallelism 100 (interleaved
// runs): server CPU per pod 3.95 -> 3.54 ms for +40 MiB of peak RSS (275
// -> 315 MiB); idle RSS, empty or with 100,000 finished pods, unchanged.
// 256 MiB saved a little more CPU (3.39 ms) for +175 MiB.
const DefaultHeadroom = 128 << 20

// minLive is the smallest live heap the percent is computed for, Go's own
// minimum heap goal: before its first collection a process reports none.
const minLive = 4 << 20

// interval is how often the pacer looks for a finished collection.
const interval = 100 * time.Millisecond

const (
	metricCycles = "/gc/cycles/total:gc-cycles"
	metricLive   = "/gc/heap/live:bytes"
)

// maxPercent bounds the GC percent, far above any headroom's in practice:
// debug.SetGCPercent takes an int32, and a negative one turns GC off.
const maxPercent = 1 << 20

// Percent is the GC percent that lets the heap grow by at least
// max(live, headroom) before the next collection: at least 100, Go's
// default, and at most maxPercent.
func Percent(live, headroom uint64) int {
	live = max(live, minLive)
	switch {
	case headroom <= live:
		return 100
	case headroom/live >= maxPercent/100:
		return maxPercent
	}
	return int((headroom*100 + live - 1) / live)
}

// UserSet reports whether the environment sets the collector's pace
// (GOGC or GOMEMLIMIT), which the pacer must leave alone.
func UserSet() bool {
	return os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != ""
}

// Run paces the collector for headroom until ctx is done, then restores
// the GC percent it found. It returns at once, doing nothing, when the
// environment sets the pace (UserSet) or headroom is 0.
func Run(ctx context.Context, headroom uint64, log *slog.Logger) {
	if headroom == 0 || UserSet() {
		return
	}
	samples := []metrics.Sample{{Name: metricCycles}, {Name: metricLive}}
	read := func() (cycles, live uint64) {
		metrics.Read(samples)
		return samples[0].Value.Uint64(), samples[1].Value.Uint64()
	}
	cycles, live := read()
	percent := Percent(live, headroom)
	prev := debug.SetGCPercent(percent)
	defer debug.SetGCPercent(prev)
	log.Debug("pacing the garbage collector", "headroom", headroom, "live", live, "gcPercent", percent)

	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c, l := read()
		if c == cycles {
			continue
		}
		cycles = c
		if p := Percent(l, headroom); p != percent {
			percent = p
			debug.SetGCPercent(p)
		}
	}
}

// Pace runs fn while the collector is paced for headroom (Run), and stops
// the pacer, restoring the GC percent, once fn has returned.
func Pace(ctx context.Context, headroom uint64, log *slog.Logger, fn func() error) error {
	ctx, stop := context.WithCancel(ctx)
	var pacer sync.WaitGroup
	pacer.Go(func() { Run(ctx, headroom, log) })
	defer func() {
		stop()
		pacer.Wait()
	}()
	return fn()
}
