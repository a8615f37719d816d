package hostproc_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/batchd/batchd/internal/helperbuild"
	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
)

// buildHelper builds cmd/batchd-pod, the helper production uses (the test
// binary, which tests use as the helper, is bigger and slower to start).
// BATCHD_BENCH_HELPER names a prebuilt helper instead, e.g. to keep its
// symbols for perf.
func buildHelper(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("BATCHD_BENCH_HELPER"); p != "" {
		return p
	}
	out := filepath.Join(b.TempDir(), hostproc.HelperName)
	if err := helperbuild.Build(b.Context(), helperbuild.Best(b.Context()), out); err != nil {
		b.Skip(err)
	}
	return out
}

// BenchmarkPod runs whole /bin/true pods (StartPod, StartContainer, Wait,
// RemovePod) with two bind mounts (one read-only), as runtime.md's spike
// did, sequentially and at concurrency 10 and 50, with and without
// cgroups (with: CPU, memory and PID limits set), with the state directory
// on tmpfs (where it belongs, like /run/containerd) and on disk. It
// reports:
//
//	spawn-exit-p50-ms, spawn-exit-p99-ms: StartContainer until Wait returns
//	pod-p50-ms, pod-p99-ms:               StartPod until RemovePod returns
//	pods/s:                               whole pods per second of wall time
//	cpu-ms/pod:                           CPU (user+system) of this process
//	                                      and its reaped children per pod
//	helper-cpu-ms/pod:                    the children's part: helpers and
//	                                      their commands
//
// Run with e.g. -bench Pod -benchtime 1000x. "mimic" mounts a volume at a
// path that does not exist on the host (a private root per container).
func BenchmarkPod(b *testing.B) {
	helper := buildHelper(b)
	vol1, vol2 := b.TempDir(), b.TempDir()
	binds := []podruntime.Mount{{HostPath: vol1, ContainerPath: vol1}, {HostPath: vol2, ContainerPath: vol2, ReadOnly: true}}
	mimic := []podruntime.Mount{{HostPath: vol1, ContainerPath: "/batchd-bench/data"}, {HostPath: vol2, ContainerPath: vol2, ReadOnly: true}}
	type variant struct {
		state  string // tmpfs or disk
		cg     hostproc.CgroupMode
		conc   int
		mounts []podruntime.Mount
		name   string
	}
	var vs []variant
	for _, cg := range []hostproc.CgroupMode{hostproc.CgroupsAuto, hostproc.CgroupsNone} {
		for _, c := range []int{1, 10, 50} {
			vs = append(vs, variant{"tmpfs", cg, c, binds, ""})
		}
	}
	vs = append(vs,
		variant{"tmpfs", hostproc.CgroupsAuto, 1, mimic, "mimic/"},
		variant{"tmpfs", hostproc.CgroupsAuto, 10, mimic, "mimic/"},
		variant{"disk", hostproc.CgroupsAuto, 1, binds, ""},
		variant{"disk", hostproc.CgroupsAuto, 10, binds, ""},
	)
	for _, v := range vs {
		cgName := "cgroups"
		if v.cg == hostproc.CgroupsNone {
			cgName = "nocgroups"
		}
		b.Run(fmt.Sprintf("%s/%s/%sc=%d", v.state, cgName, v.name, v.conc), func(b *testing.B) {
			root := stateDir(b, v.state)
			parent := cgroupParent(root)
			rt, err := hostproc.New(hostproc.Config{StateDir: root, HelperPath: helper, Cgroups: v.cg, CgroupParent: parent})
			if err != nil {
				b.Skipf("hostproc.New: %v", err)
			}
			defer removeCgroupParent(parent)
			spec := podruntime.ContainerSpec{Name: "main", Command: []string{"/bin/true"}, Mounts: v.mounts}
			if v.cg != hostproc.CgroupsNone {
				spec.Resources = podruntime.Resources{CPULimitMilli: 1000, MemoryLimitBytes: 256 << 20, PIDsLimit: 1000}
			}
			// Logs go to disk, as kubelet's /var/log/pods does.
			podSpec := podruntime.PodSpec{Name: "bench", LogDirectory: b.TempDir()}
			ctx := b.Context()
			var (
				mu         sync.Mutex
				spawn, pod []time.Duration
				next       atomic.Int64
				failed     atomic.Value
				wg         sync.WaitGroup
			)
			b.ResetTimer()
			start := time.Now()
			self0, children0 := cpuTime(b)
			for range v.conc {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						t0 := time.Now()
						p, err := rt.StartPod(ctx, podSpec)
						if err != nil {
							failed.Store(err)
							return
						}
						t1 := time.Now()
						id, err := rt.StartContainer(ctx, p, spec)
						if err == nil {
							var st podruntime.ExitStatus
							st, err = rt.Wait(ctx, id)
							if err == nil && st.Code != 0 {
								err = fmt.Errorf("exit %+v", st)
							}
						}
						t2 := time.Now()
						if rerr := rt.RemovePod(ctx, p); err == nil {
							err = rerr
						}
						t3 := time.Now()
						if err != nil {
							failed.Store(err)
							return
						}
						mu.Lock()
						spawn, pod = append(spawn, t2.Sub(t1)), append(pod, t3.Sub(t0))
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			self, children := cpuTime(b)
			self, children = self-self0, children-children0
			b.StopTimer()
			if err, ok := failed.Load().(error); ok {
				b.Fatal(err)
			}
			b.ReportMetric(pct(spawn, 50), "spawn-exit-p50-ms")
			b.ReportMetric(pct(spawn, 99), "spawn-exit-p99-ms")
			b.ReportMetric(pct(pod, 50), "pod-p50-ms")
			b.ReportMetric(pct(pod, 99), "pod-p99-ms")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pods/s")
			b.ReportMetric(float64((self+children).Microseconds())/1000/float64(b.N), "cpu-ms/pod")
			b.ReportMetric(float64(children.Microseconds())/1000/float64(b.N), "helper-cpu-ms/pod")
			b.ReportMetric(0, "ns/op") // meaningless with concurrency; see pods/s
		})
	}
}

// stateDir is a state directory on tmpfs (/dev/shm) or on the disk
// (the test's temp dir).
func stateDir(b *testing.B, kind string) string {
	if kind == "disk" {
		return b.TempDir()
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		b.Skip("no tmpfs at /dev/shm")
	}
	d, err := os.MkdirTemp("/dev/shm", "batchd-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// cpuTime is the user and system time of this process and of its reaped
// children. Every helper is reaped by the time RemovePod returns, and each
// helper reaps its command, so their CPU is counted.
func cpuTime(b *testing.B) (self, children time.Duration) {
	var ts [2]time.Duration
	for i, who := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
		var ru unix.Rusage
		if err := unix.Getrusage(who, &ru); err != nil {
			b.Fatal(err)
		}
		ts[i] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return ts[0], ts[1]
}

func pct(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)*p/100, len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}
