package podruntimetest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workloadArg marks a workload invocation: "<binary> batchd-testtask <name> <args...>".
const workloadArg = "batchd-testtask"

// RunWorkload runs the workload named in os.Args and exits the process, if
// the suite started this process as a workload; otherwise it returns at
// once. Call it first in TestMain of a package that calls Run:
//
//	func TestMain(m *testing.M) {
//		podruntimetest.RunWorkload()
//		os.Exit(m.Run())
//	}
func RunWorkload() {
	if len(os.Args) < 3 || os.Args[1] != workloadArg {
		return
	}
	code := workload(os.Args[2], os.Args[3:])
	// Not os.Exit: under -race it sleeps a second at every zero exit
	// (GORACE atexit_sleep_ms), which would dominate every test.
	syscall.Exit(code)
}

// Workload returns the argv that runs the named workload of this test
// binary (which must call RunWorkload in TestMain), for a runtime's own
// tests: "exit <code>", "sleep <duration>", "ignore-term", "handle-term",
// "hog", "logs", "info", "write <path> <content>", "cat <path>",
// "wait-file <path> <code>", "orphan".
func Workload(name string, args ...string) []string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return append([]string{exe, workloadArg, name}, args...)
}

// workloadLimit ends every workload that waits, so a crashed test run
// leaves nothing behind for long.
const workloadLimit = 2 * time.Minute

func workload(name string, args []string) int {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch name {
	case "exit":
		code, _ := strconv.Atoi(arg(0))
		return code
	case "kill-self":
		n, _ := strconv.Atoi(arg(0))
		syscall.Kill(os.Getpid(), syscall.Signal(n))
		time.Sleep(workloadLimit)
		return 99
	case "sleep":
		d, _ := time.ParseDuration(arg(0))
		time.Sleep(d)
		return 0
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(workloadLimit)
		return 0
	case "handle-term":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("ready")
		select {
		case <-c:
			fmt.Println("got TERM")
			return 0
		case <-time.After(workloadLimit):
			return 1
		}
	case "hog":
		// Allocate and touch memory until something stops us.
		var keep [][]byte
		for i := 0; ; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			keep = append(keep, b)
			if i%16 == 0 {
				fmt.Printf("allocated %d MiB\n", i)
			}
			if i > 8<<10 {
				return 1 // 8 GiB without an OOM kill: no limit
			}
		}
	case "logs":
		os.Stdout.WriteString("hello\n")
		os.Stderr.WriteString("oops\n")
		os.Stdout.WriteString(strings.Repeat("x", 20000) + "\n")
		os.Stdout.WriteString("no-newline")
		return 0
	case "info":
		return info()
	case "write":
		// write <path> <content>: exit 0, or print the error and exit 1.
		if err := os.WriteFile(arg(0), []byte(arg(1)), 0o644); err != nil {
			fmt.Println(err)
			return 1
		}
		return 0
	case "cat":
		b, err := os.ReadFile(arg(0))
		if err != nil {
			fmt.Println(err)
			return 1
		}
		os.Stdout.Write(b)
		return 0
	case "wait-file":
		// wait-file <path> <code>: print "before", wait for path, print
		// "after", exit with code.
		fmt.Println("before")
		deadline := time.Now().Add(workloadLimit)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(arg(0)); err == nil {
				fmt.Println("after")
				code, _ := strconv.Atoi(arg(1))
				return code
			}
			time.Sleep(10 * time.Millisecond)
		}
		return 1
	case "orphan":
		// Start a child that ignores SIGTERM, shares our stdout and would
		// sleep long, then exit at once.
		exe, _ := os.Executable()
		cmd := exec.Command(exe, workloadArg, "ignore-term")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Println("orphaned", cmd.Process.Pid)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "unknown workload %q\n", name)
		return 2
	}
}

// workloadInfo is what the "info" workload reports about its environment.
type workloadInfo struct {
	Pid      int
	PidNS    string // readlink /proc/self/ns/pid
	Proc1NS  string // readlink /proc/1/ns/pid: PID 1 of the namespace we see
	Procs    int    // processes visible in /proc
	Hostname string
	Cwd      string
	UID, GID int
	Groups   []int
	Env      []string
}

func info() int {
	var in workloadInfo
	in.Pid = os.Getpid()
	in.PidNS, _ = os.Readlink("/proc/self/ns/pid")
	in.Proc1NS, _ = os.Readlink("/proc/1/ns/pid")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			in.Procs++
		}
	}
	in.Hostname, _ = os.Hostname()
	in.Cwd, _ = os.Getwd()
	in.UID, in.GID = os.Getuid(), os.Getgid()
	in.Groups, _ = os.Getgroups()
	in.Env = os.Environ()
	b, _ := json.Marshal(in)
	fmt.Println(string(b))
	return 0
}

// copyBinary copies the running test binary into a new world-readable
// directory, so that workloads can run as any user and a runtime with its
// own root filesystem can mount just that directory.
func copyBinary(dir string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "workload")
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return "", err
	}
	return dst, nil
}
