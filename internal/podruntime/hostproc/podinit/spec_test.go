package podinit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStartTicks(t *testing.T) {
	stat := "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10\n"
	p := filepath.Join(t.TempDir(), "stat")
	if err := os.WriteFile(p, []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := StartTicks(p)
	if err != nil || got != 987654 {
		t.Errorf("StartTicks = %d, %v; want 987654", got, err)
	}
	if _, err := StartTicks("/proc/self/stat"); err != nil {
		t.Errorf("StartTicks of this process: %v", err)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := lookPath("tool", []string{"PATH=/nonexistent:" + dir}); err != nil || got != exe {
		t.Errorf("lookPath(tool) = %q, %v; want %q", got, err, exe)
	}
	if _, err := lookPath("data", []string{"PATH=" + dir}); err == nil {
		t.Error("lookPath found a file that is not executable")
	}
	if _, err := lookPath("tool", nil); err == nil {
		t.Error("lookPath found tool on the default PATH")
	}
	if got, err := lookPath(exe, nil); err != nil || got != exe {
		t.Errorf("lookPath(absolute) = %q, %v", got, err)
	}
}

func TestUnderMount(t *testing.T) {
	ms := []Mount{{Target: "/data"}, {Target: "/etc/podinfo/"}}
	for p, want := range map[string]bool{"/data": false, "/data/x": true, "/database": false, "/etc/podinfo/labels": true, "/etc": false} {
		if got := underMount(p, ms); got != want {
			t.Errorf("underMount(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestSpecBinaryRoundTrip(t *testing.T) {
	specs := []Spec{
		{Command: []string{"/bin/true"}, WorkingDir: "/", LogPath: "/l/0.log", MaxLogLineSize: 16384, RootDir: "/s/root"},
		{
			Command:        []string{"sh", "-c", "echo 'a b'\nexit 3", ""},
			Env:            []string{"PATH=/bin", "EMPTY=", "NL=x\ny"},
			WorkingDir:     "/work dir",
			User:           &User{UID: 1000, GID: 100, Groups: []uint32{4, 27}},
			Hostname:       "pi-0",
			Mounts:         []Mount{{Source: "/host/a", Target: "/data"}, {Source: "/host/b", Target: "/etc/podinfo", ReadOnly: true}},
			LogPath:        "/var/log/pods/x/main/0.log",
			MaxLogLineSize: 1,
			RootDir:        "/run/batchd/root",
			Cgroups: []Cgroup{
				{Dir: "/sys/fs/cgroup/memory/b/c", Mount: "/sys/fs/cgroup/memory", Controllers: "memory"},
				{Dir: "/sys/fs/cgroup/pids/b", Shared: true},
			},
			OOMFile: "/sys/fs/cgroup/memory/b/c/memory.oom_control",
		},
		{Command: []string{"x"}, User: &User{UID: 1}},
	}
	for _, want := range specs {
		b, err := want.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Spec
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("UnmarshalBinary(%q): %v", b, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
	}
	if _, err := (&Spec{Command: []string{"a\x00b"}}).MarshalBinary(); err == nil {
		t.Error("MarshalBinary accepted a NUL in an argument")
	}
	for _, bad := range []string{"command", "command\x00", "user\x001\x00", "nope\x00x\x00", "group\x001\x00", "user\x00x\x001\x00"} {
		var s Spec
		if err := s.UnmarshalBinary([]byte(bad)); err == nil {
			t.Errorf("UnmarshalBinary(%q) = nil error", bad)
		}
	}
}

// TestRecordsJSON: the hand-written encodings of the records are what
// encoding/json makes of them.
func TestRecordsJSON(t *testing.T) {
	at := time.Date(2026, 11, 30, 14, 3, 57, 123456789, time.UTC)
	type plainRunning Running // without the MarshalJSON method
	type plainExit Exit
	for _, r := range []Running{{}, {Pid: 42, StartTicks: 987654, StartedAt: at}} {
		got, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(plainRunning(r))
		if string(got) != string(want) {
			t.Errorf("Running %+v:\n got %s\nwant %s", r, got, want)
		}
	}
	for _, e := range []Exit{
		{},
		{Code: 137, Signal: 9, OOMKills: 2, Message: "a \"quoted\"\nline\x01 <&>", StartedAt: at, FinishedAt: at.Add(time.Second)},
		{Code: 128, StartError: `exec: "x": no such file`, Lost: true, FinishedAt: at.In(time.FixedZone("X", 3600))},
	} {
		got, err := e.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(plainExit(e))
		if string(got) != string(want) {
			t.Errorf("Exit %+v:\n got %s\nwant %s", e, got, want)
		}
	}
}
