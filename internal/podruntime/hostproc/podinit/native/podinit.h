/*
 * The C batchd-pod helper: declarations shared by its files. See doc.go.
 * The Go package podinit is the reference for everything here.
 */
#ifndef BATCHD_PODINIT_H
#define BATCHD_PODINIT_H

#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Names and numbers shared with podinit (spec.go). */
#define PODINIT_ARG "podinit"
#define INIT_FILE "init"
#define RUNNING_FILE "running.json"
#define EXIT_FILE "exit.json"
#define EXEC_SOCKET "exec.sock"
#define SYNC_FD 3
#define SYNC_OK "ok"

/* ---- util.c: errors, buffers, paths, descriptors ---- */

/*
 * Errors are strings, built like Go's wrapped errors: the innermost call
 * writes the cause and each caller prefixes its context ("opening log:
 * no such file or directory"). Functions that can fail take a char[ERR_MAX]
 * and return -1 after filling it.
 */
#define ERR_MAX 4096

int fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* fail_errno: "<fmt>: <text of e>", or just the text when fmt is NULL. */
int fail_errno(char *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* wrap prefixes "<fmt>: " to the error already in err. */
int wrap(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* errno_text is Go's syscall.Errno text (errno.c). */
void errno_text(int e, char *out, size_t n);

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* buf is a growable byte string, always NUL-terminated. */
struct buf {
	char *p;
	size_t len, cap;
};
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* Go's strconv.Quote (close enough: non-ASCII UTF-8 is kept as is). */
void buf_quote(struct buf *b, const char *s);
/* quote returns a malloc'd quoted copy of s. */
char *quote(const char *s);

/* Paths as Go's path/filepath does them; results are malloc'd. */
char *path_clean(const char *p);
char *path_join(const char *a, const char *b);
char *path_dir(const char *p);
int path_depth(const char *p);

/* Descriptors: close-on-exec opens, EINTR retried, whole writes. */
int open_at(int dir, const char *name, int flags, mode_t perm);
int read_file_at(int dir, const char *name, int flags, struct buf *out);
int write_all(int fd, const void *p, size_t n);
int write_file_at(int dir, const char *name, const void *p, size_t n, mode_t perm, int flags);

/* Go's os.MkdirAll; errors as *PathError ("mkdir <path>: <errno>"). */
int mkdir_all(const char *path, mode_t perm, char *err);

/* Times: CLOCK_REALTIME for records and log lines, as time.Now. */
struct timespec now_real(void);
int64_t now_mono_ms(void);

/* ---- spec.c: the InitFile spec and /proc/<pid>/stat ---- */

struct mount_spec {
	const char *source, *target;
	bool ro;
};

struct cgroup_spec {
	const char *dir, *mount, *controllers;
	bool shared;
};

/* spec mirrors podinit.Spec. Strings point into the file's bytes. */
struct spec {
	const char **command; /* NULL-terminated, for execve */
	size_t ncommand;
	const char **env; /* NULL-terminated */
	size_t nenv;
	const char *workdir, *hostname;
	bool has_user;
	uint32_t uid, gid;
	uint32_t *groups;
	size_t ngroups;
	struct mount_spec *mounts;
	size_t nmounts;
	const char *log_path;
	int max_line;
	const char *root_dir;
	struct cgroup_spec *cgroups;
	size_t ncgroups;
	const char *oom_file; /* "": no memory cgroup */
};

/* spec_parse decodes b (kept: the spec points into it). */
int spec_parse(struct buf *b, struct spec *s, char *err);
int parse_stat(const char *b, size_t n, long *pid, uint64_t *ticks, char *err);
/* parse_uint is strconv.ParseUint(s, 10, bits) with its error text. */
int parse_uint(const char *s, int bits, uint64_t *v, char *err);

/* ---- cgroups.c and spawn.c: starting commands ---- */

struct cgroup_file {
	int fd;
	char *path;
};

struct cgroups {
	struct cgroup_file *ins, *outs;
	size_t nins, nouts;
};

int cgroups_open(const struct spec *s, struct cgroups *cg, char *err);

/* cmd is what syscall.ProcAttr and SysProcAttr say about a command. */
struct cmd {
	const char *path;
	const char *const *argv, *const *envp;
	const char *dir;
	const struct spec *user; /* its has_user, uid, gid, groups */
	int fds[3];
	bool setsid, setpgid;
};

/*
 * cgroups_fork_exec joins the container's cgroups, starts c and returns
 * to the helper's own cgroups. It returns the PID, or -1 with the reason
 * in err; leave_err (never NULL) is set, possibly besides, when the
 * helper could not return.
 */
pid_t cgroups_fork_exec(struct cgroups *cg, const struct cmd *c, char *leave_err, char *err);
/* spawn is syscall.ForkExec: it returns once the command has exec'd. */
pid_t spawn(const struct cmd *c, char *err);

/* ---- mounts.c ---- */

int setup_mounts(const struct spec *s, char *err);

/* ---- lookpath.c ---- */

/* look_path resolves file as podinit's lookPath; *out is malloc'd. */
int look_path(const char *file, const char *const *env, char **out, char *err);

/* ---- records.c: Go's JSON for records and responses ---- */

/* A zero time (Go's time.Time{}) is a NULL pointer. */
void buf_time(struct buf *b, const struct timespec *t);
void buf_time_json(struct buf *b, const struct timespec *t);
void buf_json_string(struct buf *b, const char *s, size_t n);
void buf_base64(struct buf *b, const void *p, size_t n);

struct exit_rec {
	int code, signal;
	uint64_t oom_kills;
	const char *start_error, *message; /* "" or NULL: omitted */
	const struct timespec *started_at, *finished_at;
};

int write_running(int dir, long pid, uint64_t ticks, const struct timespec *started, char *err);
int write_exit(int dir, const struct exit_rec *e, char *err);

/* ---- loop.c: the single-threaded event loop ---- */

struct loop;
/* A watch's handler; revents is 0 when the watch's deadline passed. */
typedef void watch_fn(struct loop *l, int id, short revents, void *arg);

struct watch {
	int fd; /* -1: a timer only */
	short events;
	int64_t deadline; /* monotonic ms; -1: none */
	watch_fn *fn;
	void *arg;
	unsigned gen;
	bool used;
};

struct loop {
	struct watch *w;
	size_t n;
	struct pollfd *pfd;
	int *pid; /* slot of each pollfd */
	unsigned *pgen;
	size_t pcap;
};

int loop_watch(struct loop *l, int fd, short events, int64_t deadline, watch_fn *fn, void *arg);
void loop_modify(struct loop *l, int id, short events, int64_t deadline);
void loop_unwatch(struct loop *l, int id);
/* loop_once waits for one round of events, at most until (ms, -1: none). */
void loop_once(struct loop *l, int64_t until);

/* ---- crilog.c: crilog.Writer and StreamWriter ---- */

struct log_writer {
	int fd;
	size_t max;
};

struct stream_writer {
	struct log_writer *w;
	const char *name; /* "stdout" or "stderr" */
	struct buf pending, out;
};

/* stream_write returns -1 when the log cannot be written. */
int stream_write(struct stream_writer *sw, const char *p, size_t n);
int stream_close(struct stream_writer *sw);

/* ---- exec.c and json.c: the exec socket ---- */

struct exec_server;

int exec_listen(int dir, char *err);
struct exec_server *exec_new(struct loop *l, int ln, const struct spec *s, struct cgroups *cg);
/* exec_exited hands a reaped child's status over; false: not ours. */
bool exec_exited(struct exec_server *x, pid_t pid, int status);
void exec_close(struct exec_server *x);
/* exec_busy: connections still open (handlers that have not answered). */
bool exec_busy(struct exec_server *x);

struct exec_request {
	char **command; /* NULL-terminated */
	size_t *lens;   /* a \u0000 escape can put a NUL in an argument */
	size_t ncommand;
	long long max_output;
};

/* json_exec_request: 1 parsed, 0 incomplete (read more), -1 invalid. */
int json_exec_request(const char *p, size_t n, struct exec_request *r);
/* exec_request_free_command frees the command (the whole request). */
void exec_request_free_command(struct exec_request *r);

/* ---- init.c ---- */

int podinit_main(const char *dir);

#endif
