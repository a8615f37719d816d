package hostproc

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchd/batchd/internal/podruntime"
	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
)

func TestClassify(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   podinit.Exit
		want podruntime.ExitStatus
	}{
		{"exit 0", podinit.Exit{Code: 0, FinishedAt: t0}, podruntime.ExitStatus{Reason: podruntime.ReasonCompleted, FinishedAt: t0}},
		{"exit 2", podinit.Exit{Code: 2}, podruntime.ExitStatus{Code: 2, Reason: podruntime.ReasonError}},
		{"killed, no OOM", podinit.Exit{Code: 137, Signal: 9}, podruntime.ExitStatus{Code: 137, Signal: syscall.SIGKILL, Reason: podruntime.ReasonError}},
		{"killed by the OOM killer", podinit.Exit{Code: 137, Signal: 9, OOMKills: 1}, podruntime.ExitStatus{Code: 137, Signal: syscall.SIGKILL, OOMKilled: true, Reason: podruntime.ReasonOOMKilled}},
		{"child OOM-killed, main exited 1", podinit.Exit{Code: 1, OOMKills: 2}, podruntime.ExitStatus{Code: 1, OOMKilled: true, Reason: podruntime.ReasonOOMKilled}},
		{"start error", podinit.Exit{Code: 128, StartError: "exec: \"x\": not found"}, podruntime.ExitStatus{Code: 128, Reason: podruntime.ReasonStartError, Message: "exec: \"x\": not found"}},
		{"lost", podinit.Exit{Code: 137, Lost: true, Message: "gone"}, podruntime.ExitStatus{Code: 137, Reason: podruntime.ReasonContainerStatusUnknown, Message: "gone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, classify(tt.in)); diff != "" {
				t.Errorf("classify mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContainerIDs(t *testing.T) {
	pod := podruntime.PodID("0123456789abcdef")
	id := containerID(pod, containerKey("main-1", 3))
	gotPod, key, ok := parseContainerID(id)
	if !ok || gotPod != pod || key != "main-1_3" {
		t.Errorf("parseContainerID(%q) = %q, %q, %v", id, gotPod, key, ok)
	}
	for _, bad := range []podruntime.ContainerID{"", "x", "0123456789abcdef_main", "0123456789abcdef_../x_1", "0123456789abcdeg_main_1", "0123456789abcdef_main_-1", "0123456789abcdef_Main_1"} {
		if _, _, ok := parseContainerID(bad); ok {
			t.Errorf("parseContainerID(%q) accepted", bad)
		}
	}
}

func TestLimits(t *testing.T) {
	all := hierarchy{provides: map[string]bool{ctlMemory: true, ctlCPU: true, ctlPIDs: true}, swap: true}
	res := podruntime.Resources{CPURequestMilli: 100, CPULimitMilli: 5, MemoryLimitBytes: 1 << 20, PIDsLimit: 10}
	tests := []struct {
		mode CgroupMode
		want []limitWrite
	}{
		{CgroupsV1, []limitWrite{
			{"memory.limit_in_bytes", "1048576", false},
			{"memory.memsw.limit_in_bytes", "1048576", true},
			{"memory.swappiness", "0", true},
			{"cpu.shares", "102", false},
			{"cpu.cfs_quota_us", "1000", false}, // 5m is below the 1ms floor
			{"pids.max", "10", false},
		}},
		{CgroupsV2, []limitWrite{
			{"memory.oom.group", "1", true},
			{"memory.max", "1048576", false},
			{"memory.swap.max", "0", true},
			{"cpu.weight", "4", false},
			{"cpu.max", "1000 100000", false},
			{"pids.max", "10", false},
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			cg := &cgroups{mode: tt.mode}
			if diff := cmp.Diff(tt.want, cg.limits(all, res), cmp.AllowUnexported(limitWrite{})); diff != "" {
				t.Errorf("limits mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLimitsWithoutSwap: no swap limit is written where the kernel has no
// file for it.
func TestLimitsWithoutSwap(t *testing.T) {
	h := hierarchy{provides: map[string]bool{ctlMemory: true}}
	res := podruntime.Resources{MemoryLimitBytes: 1 << 20}
	for _, mode := range []CgroupMode{CgroupsV1, CgroupsV2} {
		cg := &cgroups{mode: mode}
		for _, w := range cg.limits(h, res) {
			if strings.Contains(w.file, "swap.max") || strings.Contains(w.file, "memsw") {
				t.Errorf("%s: limits write %s without swap accounting", mode, w.file)
			}
		}
	}
}
