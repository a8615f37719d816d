package podinit

import (
	"os"
	"path/filepath"
	"testing"
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
