package hostproc_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/batchd/batchd/internal/helperbuild"
	"github.com/batchd/batchd/internal/podruntime/hostproc"
	"github.com/batchd/batchd/internal/podruntime/hostproc/podinit"
)

// helper is a batchd-pod implementation the tests run containers with.
type helper struct {
	name string
	// path returns the helper binary, or skips t.
	path func(t testing.TB) string
}

// helpers are the Go helper (the test binary itself: TestMain runs
// podinit.Main) and the C one (cmd/batchd-pod built with cgo, whose
// constructor runs package native's C code), in the best C flavor this
// machine can build (the first of helperbuild.Available, which is what
// `make build` builds unless cgo is off).
var helpers = []helper{
	{"go", goHelper},
	{"c", cHelper},
}

// allHelpers adds every other C build this machine can make (musl,
// glibc static, glibc dynamic: helperbuild.Available), for the tests of
// what differs between them (start-up, argument parsing, error texts).
func allHelpers(t *testing.T) []helper {
	all := []helper{{"go", goHelper}}
	for _, f := range helperbuild.Available(t.Context()) {
		all = append(all, helper{"c-" + string(f), func(t testing.TB) string { return cHelperOf(t, f) }})
	}
	if len(all) == 1 {
		all = append(all, helper{"c", cHelper})
	}
	return all
}

func goHelper(t testing.TB) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// cHelperDir is where the C helpers are built, once per test binary
// (TestMain removes it).
func cHelperDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("batchd-c-helper-%d", os.Getpid()))
}

// bestC is the C flavor `make build` builds here; "" when there is no C
// compiler.
var bestC = sync.OnceValue(func() helperbuild.Flavor {
	if all := helperbuild.Available(context.Background()); len(all) > 0 {
		return all[0]
	}
	return ""
})

var (
	builtMu sync.Mutex
	built   = map[helperbuild.Flavor]func() (string, error){}
)

// buildC builds cmd/batchd-pod in flavor f, once per test binary.
func buildC(f helperbuild.Flavor) (string, error) {
	builtMu.Lock()
	b, ok := built[f]
	if !ok {
		b = sync.OnceValues(func() (string, error) {
			dir := filepath.Join(cHelperDir(), string(f))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return "", err
			}
			path := filepath.Join(dir, hostproc.HelperName)
			return path, helperbuild.Build(context.Background(), f, path)
		})
		built[f] = b
	}
	builtMu.Unlock()
	return b()
}

func cHelperOf(t testing.TB, f helperbuild.Flavor) string {
	p, err := buildC(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func cHelper(t testing.TB) string {
	f := bestC()
	if f == "" {
		t.Skip("skipping the C helper: no C compiler")
	}
	return cHelperOf(t, f)
}

// runHelper runs a helper as the runtime does (argv, clone flags, fd 3),
// on a container directory, and returns its exit code, start report and
// stderr.
func runHelper(t *testing.T, path, dir string, env ...string) (code int, report, stderr string) {
	t.Helper()
	return runHelperWith(t, launch{}, path, dir, env...)
}

// launch says how runHelperWith starts a helper where it differs from
// the runtime.
type launch struct {
	// wrapper, when set, is started instead, with the helper's argv
	// appended; it must exec the helper.
	wrapper []string
	// noSync starts the helper without fd 3 (the report is then "").
	noSync bool
}

// helperTimeout ends a helper that hangs (it is then killed: exit -1).
const helperTimeout = time.Minute

func runHelperWith(t *testing.T, l launch, path, dir string, env ...string) (code int, report, stderr string) {
	t.Helper()
	argv := append(append([]string(nil), l.wrapper...), path, podinit.Arg, dir)
	ctx, cancel := context.WithTimeout(t.Context(), helperTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	var r, w *os.File
	if !l.noSync {
		var err error
		if r, w, err = os.Pipe(); err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		cmd.ExtraFiles = []*os.File{w}
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWPID,
		Setsid:     true,
	}
	err := cmd.Start()
	if w != nil {
		w.Close()
	}
	if err != nil {
		t.Skipf("starting the helper in new namespaces: %v", err)
	}
	var rep string
	if r != nil {
		rep, _ = readAll(r)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, rep, errb.String()
}

func readAll(f *os.File) (string, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(f)
	return b.String(), err
}

// TestCHelperIsNative: every cgo build of cmd/batchd-pod (musl, glibc
// static, glibc dynamic) is linked as its flavor says, and a helper
// invocation runs the C code, which exits before the Go runtime starts
// (GODEBUG=inittrace=1 makes the runtime print every package's init on
// stderr; the C path prints nothing), while any other invocation is the
// Go program. With glibc the C code gets argv as its constructor's
// arguments; with musl it finds them from environ (init.c).
func TestCHelperIsNative(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, h := range allHelpers(t) {
		t.Run(h.name, func(t *testing.T) {
			path := h.path(t)
			native := h.name != "go"
			if native {
				f, err := elf.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				interp := false
				for _, p := range f.Progs {
					interp = interp || p.Type == elf.PT_INTERP
				}
				libs, _ := f.ImportedLibraries()
				if dynamic := h.name == "c-"+string(helperbuild.GlibcDynamic); interp != dynamic || (len(libs) > 0) != dynamic {
					t.Errorf("program interpreter: %v, shared libraries %v; want a dynamically linked helper: %v", interp, libs, dynamic)
				}
			}

			code, rep, stderr := runHelper(t, path, missing, "GODEBUG=inittrace=1")
			if code != 1 || rep != "opening container directory: no such file or directory\n" {
				t.Errorf("helper on a missing directory: exit %d, report %q; want 1 and the Go helper's message", code, rep)
			}
			if inits := strings.Contains(stderr, "init runtime"); native == inits {
				t.Errorf("Go runtime started: %v, want %v (stderr %q)", inits, !native, stderr)
			}
			if !native {
				return
			}
			// Not a helper invocation: the Go program, with podinit.Main's
			// usage; also with the helper's arguments and one more.
			for _, args := range [][]string{nil, {podinit.Arg, missing, "extra"}} {
				cmd := exec.Command(path, args...)
				cmd.Env = []string{"GODEBUG=inittrace=1"}
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "usage: batchd-pod podinit <container-dir>") || !strings.Contains(string(out), "init runtime") {
					t.Errorf("C helper with arguments %q: %v, output %q; want the Go program's usage and exit 2", args, err, out)
				}
			}
		})
	}
}

// TestHelpersAgreeOnStartErrors runs every helper (allHelpers), as the runtime starts
// them, on container directories whose command cannot start, and checks
// that they record the same exit with the same message, and report it.
func TestHelpersAgreeOnStartErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the helper's namespaces")
	}
	all := allHelpers(t)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(tmp, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	spec := func(mod func(s *podinit.Spec)) []byte {
		s := podinit.Spec{
			Command:    []string{"/bin/true"},
			Env:        []string{"PATH=/usr/bin:/bin"},
			WorkingDir: "/",
			LogPath:    filepath.Join(tmp, "log"),
			RootDir:    filepath.Join(tmp, "root"),
		}
		mod(&s)
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		init []byte
		want string
	}{
		{"unknown key", []byte("bogus\x00"), `decoding spec: unknown key "bogus"`},
		{"truncated", []byte("command"), `decoding spec: truncated`},
		{"truncated record", []byte("user\x001\x00"), `decoding spec: user: truncated`},
		{"bad uid", []byte("user\x00x\x001\x00"), `decoding spec: user: strconv.ParseUint: parsing "x": invalid syntax`},
		{"uid out of range", []byte("user\x004294967296\x001\x00"), `decoding spec: user: strconv.ParseUint: parsing "4294967296": value out of range`},
		{"group before user", []byte("group\x001\x00"), `decoding spec: group: before user`},
		{"bad log size", []byte("log\x00/x\x001k\x00"), `decoding spec: log: strconv.Atoi: parsing "1k": invalid syntax`},
		{"no command", spec(func(s *podinit.Spec) { s.Command = nil }), "spec has no command"},
		{"log directory missing", spec(func(s *podinit.Spec) { s.LogPath = "/nonexistent/dir/log" }), "opening log: no such file or directory"},
		{"OOM file missing", spec(func(s *podinit.Spec) { s.OOMFile = "/nonexistent/oom" }), "opening OOM counter: no such file or directory"},
		{"relative mount", spec(func(s *podinit.Spec) { s.Mounts = []podinit.Mount{{Source: "rel", Target: "/x"}} }), "mount rel at /x: paths must be absolute"},
		{"missing mount source", spec(func(s *podinit.Spec) { s.Mounts = []podinit.Mount{{Source: "/nonexistent/src", Target: tmp}} }),
			"mounting /nonexistent/src at " + tmp + ": stat /nonexistent/src: no such file or directory"},
		{"file over directory", spec(func(s *podinit.Spec) { s.Mounts = []podinit.Mount{{Source: file, Target: tmp}} }),
			"mounting " + file + " at " + tmp + ": source and target are not both directories or both files"},
		{"working directory is a file", spec(func(s *podinit.Spec) { s.WorkingDir = file }),
			"creating working directory: mkdir " + file + ": not a directory"},
		{"missing executable", spec(func(s *podinit.Spec) { s.Command = []string{"/nonexistent/cmd"} }),
			`exec: "/nonexistent/cmd": stat /nonexistent/cmd: no such file or directory`},
		{"not on PATH", spec(func(s *podinit.Spec) { s.Command = []string{"no-such-command\t"} }),
			`exec: "no-such-command\t": executable file not found in $PATH`},
		{"empty PATH", spec(func(s *podinit.Spec) { s.Command = []string{"true"}; s.Env = []string{"PATH="} }),
			`exec: "true": executable file not found in $PATH`},
		{"directory", spec(func(s *podinit.Spec) { s.Command = []string{tmp} }), `exec: "` + tmp + `": is a directory`},
		{"not executable", spec(func(s *podinit.Spec) { s.Command = []string{file} }), `exec: "` + file + `": permission denied`},
		{"working directory in /proc", spec(func(s *podinit.Spec) { s.WorkingDir = "/proc/self/fd/0" }),
			"creating working directory: mkdir /proc/self/fd/0: not a directory"},
		// The command's chdir, after setuid, fails in the forked child.
		{"working directory the user cannot enter", spec(func(s *podinit.Spec) {
			s.User = &podinit.User{UID: 65534, GID: 65534, Groups: []uint32{65534}}
			s.WorkingDir = private
		}), `exec: "/bin/true": permission denied`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var exits, reports []string
			for _, h := range all {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, podinit.InitFile), tc.init, 0o600); err != nil {
					t.Fatal(err)
				}
				code, rep, stderr := runHelper(t, h.path(t), dir)
				b, err := os.ReadFile(filepath.Join(dir, podinit.ExitFile))
				var rec podinit.Exit
				if err == nil {
					err = json.Unmarshal(b, &rec)
				}
				if err != nil {
					t.Fatalf("%s helper: exit record: %v (exit %d, report %q, stderr %q)", h.name, err, code, rep, stderr)
				}
				if code != 0 || rec.Code != 128 || rec.StartError == "" || rep != strings.ReplaceAll(rec.StartError, "\n", " ")+"\n" {
					t.Errorf("%s helper: exit %d, record %s, report %q; want exit 0, code 128 and the start error reported", h.name, code, b, rep)
				}
				if tc.want != "" && rec.StartError != tc.want {
					t.Errorf("%s helper: StartError %q, want %q", h.name, rec.StartError, tc.want)
				}
				if !rec.StartedAt.IsZero() || rec.FinishedAt.IsZero() || !bytes.Contains(b, []byte(`"StartedAt":"0001-01-01T00:00:00Z"`)) {
					t.Errorf("%s helper: record %s: want a zero StartedAt and a FinishedAt", h.name, b)
				}
				exits = append(exits, rec.StartError)
				reports = append(reports, rep)
			}
			if len(exits) == 2 && (exits[0] != exits[1] || reports[0] != reports[1]) {
				t.Errorf("helpers disagree: StartError %q, report %q", exits, reports)
			}
		})
	}
}

// ignoreArg makes the test binary a launcher that ignores signals and
// execs the rest of its arguments: SIG_IGN survives exec. (A shell's
// trap "" would do, but dash's leaves SIGCHLD alone.)
const ignoreArg = "hostproc-test-ignore-signals"

// ignoredByLauncher are the signals the ignoreArg launcher ignores.
var ignoredByLauncher = []os.Signal{syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGPIPE, syscall.SIGHUP, syscall.SIGINT}

// init, not TestMain: the launcher must not run the tests' setup.
func init() {
	if len(os.Args) > 2 && os.Args[1] == ignoreArg {
		signal.Ignore(ignoredByLauncher...)
		err := syscall.Exec(os.Args[2], os.Args[2:], os.Environ())
		fmt.Fprintf(os.Stderr, "exec %s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
}

// TestHelpersWhateverTheLauncher starts every helper (allHelpers) in ways the runtime
// does not, but a launcher might: with signals ignored (SIG_IGN survives
// exec; an ignored SIGCHLD makes the kernel reap the command itself), or
// without fd 3 (the first descriptor the helper opens is then fd 3). The
// helper must still run the command with no signal ignored or blocked,
// and record its exit.
func TestHelpersWhateverTheLauncher(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the helper's namespaces")
	}
	all := allHelpers(t)
	for _, tc := range []struct {
		name   string
		launch launch
	}{
		{"signals ignored", launch{wrapper: []string{goHelper(t), ignoreArg}}},
		{"no fd 3", launch{noSync: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, h := range all {
				t.Run(h.name, func(t *testing.T) {
					tmp := t.TempDir()
					log := filepath.Join(tmp, "log")
					s := podinit.Spec{
						// The command's own signal state, in the log.
						Command:    []string{"/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"},
						Env:        []string{"PATH=/usr/bin:/bin"},
						WorkingDir: "/",
						LogPath:    log,
						RootDir:    filepath.Join(tmp, "root"),
					}
					b, err := s.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					dir := filepath.Join(tmp, "c")
					if err := os.Mkdir(dir, 0o700); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, podinit.InitFile), b, 0o600); err != nil {
						t.Fatal(err)
					}
					code, rep, stderr := runHelperWith(t, tc.launch, h.path(t), dir)
					wantRep := "ok\n"
					if tc.launch.noSync {
						wantRep = ""
					}
					if code != 0 || rep != wantRep {
						t.Errorf("helper: exit %d, report %q, stderr %q; want exit 0 and report %q", code, rep, stderr, wantRep)
					}
					b, err = os.ReadFile(filepath.Join(dir, podinit.ExitFile))
					var rec podinit.Exit
					if err == nil {
						err = json.Unmarshal(b, &rec)
					}
					if err != nil {
						t.Fatalf("exit record: %v (exit %d, stderr %q)", err, code, stderr)
					}
					if rec.Code != 0 || rec.Signal != 0 || rec.StartError != "" {
						t.Errorf("exit record %s: want the command's exit 0", b)
					}
					out, err := os.ReadFile(log)
					if err != nil {
						t.Fatal(err)
					}
					var fields []string
					for line := range strings.Lines(string(out)) {
						// "<time> stdout F <line>"
						if f := strings.SplitN(strings.TrimSuffix(line, "\n"), " ", 4); len(f) == 4 && f[1] == "stdout" {
							fields = append(fields, f[3])
						}
					}
					// Nothing blocked, and none of the launcher's ignored
					// signals still ignored. Others may be: a signal ignored
					// where the tests run (CI's harness ignores 32, one of
					// glibc's reserved ones) is no helper's to undo.
					var blocked, ignored uint64
					if len(fields) != 2 || !scanMask(fields[0], "SigBlk:", &blocked) || !scanMask(fields[1], "SigIgn:", &ignored) {
						t.Fatalf("the command's signal state: %q, want SigBlk and SigIgn (log %q)", fields, out)
					}
					if blocked != 0 {
						t.Errorf("the command has signals blocked: %q", fields[0])
					}
					for _, sig := range ignoredByLauncher {
						if ignored&(1<<(sig.(syscall.Signal)-1)) != 0 {
							t.Errorf("the command still ignores %v: %q", sig, fields[1])
						}
					}
				})
			}
		})
	}
}

// scanMask parses a /proc/<pid>/status signal mask line ("SigIgn:\t<hex>").
func scanMask(line, key string, mask *uint64) bool {
	hex, ok := strings.CutPrefix(line, key)
	if !ok {
		return false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
	*mask = v
	return err == nil
}
