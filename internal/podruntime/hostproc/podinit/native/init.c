/*
 * The helper's start and supervision (podinit's init.go), and the
 * constructor that runs it before the Go runtime would start.
 *
 * Signals: the ones the Go helper handles (SIGTERM, SIGINT, SIGHUP,
 * SIGQUIT and SIGUSR1 to forward, SIGUSR2, SIGCHLD) are blocked from the
 * first instruction and read from a signalfd on the event loop. As PID 1
 * of a namespace, a signal without a handler would otherwise be dropped;
 * a blocked one is queued. SIGPIPE is blocked too, so that writing to a
 * runtime that went away is an EPIPE, not the helper's end. Commands
 * start with an empty mask (spawn.c).
 *
 * Dispositions come from whoever started the helper, and SIG_IGN
 * survives exec: every one is set back to the default (reset_signals),
 * as the Go runtime's handlers replace them for the Go helper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "podinit.h"

/* Copy buffer sizes: most commands write little, so a stream starts with
 * a small buffer and moves to the big one once a read fills it. */
#define SMALL_COPY_BUFFER (2 << 10)
#define COPY_BUFFER (32 << 10)

/* copier copies one of the command's output streams to the log. */
struct copier {
	int fd, watch;
	struct stream_writer sw;
	char *buf;
	size_t size;
	bool broken; /* the log cannot be written: output is discarded */
	bool done;
};

/* container is a started command under supervision. */
struct container {
	int dir;
	struct buf specbuf;
	struct spec spec;
	pid_t pid; /* in our namespace */
	struct timespec started_at;
	int oom; /* the OOM counter; -1 without a memory cgroup */
	int log;
	char note[ERR_MAX]; /* something the exit record should mention */
	struct cgroups cg;
	struct exec_server *exec;
	struct loop loop;
	int sigfd, sig_watch;
	struct log_writer lw;
	struct copier out, err;
	bool done; /* the command has exited, with status */
	int status;
};

/* sync_open: SYNC_FD was open when the helper started (see sync_check). */
static bool sync_open;

/* report writes the start report on SYNC_FD and closes it. */
static void report(const char *err)
{
	if (!sync_open)
		return;
	struct buf b = {0};
	buf_adds(&b, err ? err : SYNC_OK);
	for (size_t i = 0; i < b.len; i++)
		if (b.p[i] == '\n')
			b.p[i] = ' ';
	buf_addc(&b, '\n');
	/* The runtime may be gone (agent restart): that is fine. */
	write_all(SYNC_FD, b.p, b.len);
	close(SYNC_FD);
	buf_free(&b);
}

static void copy_event(struct loop *l, int id, short revents, void *arg)
{
	struct copier *cp = arg;
	for (;;) {
		ssize_t n = read(cp->fd, cp->buf, cp->size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		/* A broken log: what is left is read without logging it, so
		 * that the command never blocks. */
		if (!cp->broken && stream_write(&cp->sw, cp->buf, n) < 0)
			cp->broken = true;
		if ((size_t)n == cp->size && cp->size < COPY_BUFFER) {
			free(cp->buf);
			cp->size = COPY_BUFFER;
			cp->buf = xmalloc(cp->size);
		}
		/* One read per event, as one Read per copy loop turn: each
		 * read's records get their own timestamp. */
		return;
	}
	stream_close(&cp->sw);
	loop_unwatch(l, cp->watch);
	close(cp->fd);
	free(cp->buf);
	cp->done = true;
}

static void copier_start(struct container *c, struct copier *cp, int fd, const char *name)
{
	cp->fd = fd;
	cp->sw = (struct stream_writer){.w = &c->lw, .name = name};
	cp->size = SMALL_COPY_BUFFER;
	cp->buf = xmalloc(cp->size);
	cp->watch = loop_watch(&c->loop, fd, POLLIN, -1, copy_event, cp);
}

/* reap collects every exited child: the command (done), or the exec
 * server's commands and orphans. */
static void reap(struct container *c)
{
	for (;;) {
		int s;
		pid_t pid = wait4(-1, &s, WNOHANG, NULL);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		if (pid == c->pid) {
			c->done = true;
			c->status = s;
		} else {
			exec_exited(c->exec, pid, s);
		}
	}
}

static void signal_event(struct loop *l, int id, short revents, void *arg)
{
	struct container *c = arg;
	struct signalfd_siginfo si;
	/* Once the command has exited, signals are left unread, as the Go
	 * helper leaves them in its channel. */
	while (!c->done && read(c->sigfd, &si, sizeof si) == sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(c);
			break;
		case SIGUSR2:
			kill(-1, SIGKILL);
			break;
		default:
			kill(c->pid, si.ssi_signo);
		}
	}
	if (c->done)
		loop_unwatch(l, c->sig_watch);
}

/* output_pipe returns a pipe for one of the command's output streams:
 * the read end non-blocking for the loop, the write end blocking for
 * the command. */
static int output_pipe(const char *name, int p[2], char *err)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail_errno(err, errno, "creating %s pipe", name);
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;
		close(p[0]), close(p[1]);
		return fail_errno(err, e, "creating %s pipe", name);
	}
	return 0;
}

/* start prepares the container and starts its command. On failure the
 * helper exits soon after, which closes what is open. */
static int start(struct container *c, char *err)
{
	struct spec *s = &c->spec;
	if (read_file_at(c->dir, INIT_FILE, O_NOFOLLOW, &c->specbuf) < 0)
		return fail_errno(err, errno, "reading spec");
	if (spec_parse(&c->specbuf, s, err) < 0)
		return -1;
	if (s->ncommand == 0)
		return fail(err, "spec has no command");

	/* While /proc is still the host's: who we are in the host's PID
	 * namespace (PID and start time), and our cgroups. */
	struct buf stat = {0};
	if (read_file_at(AT_FDCWD, "/proc/self/stat", 0, &stat) < 0)
		return fail_errno(err, errno, "reading host pid");
	long host_pid;
	uint64_t ticks;
	int rc = parse_stat(stat.p, stat.len, &host_pid, &ticks, err);
	buf_free(&stat);
	if (rc < 0)
		return wrap(err, "parsing /proc/self/stat");
	if (cgroups_open(s, &c->cg, err) < 0)
		return -1;
	c->oom = -1;
	if (*s->oom_file && (c->oom = open_at(AT_FDCWD, s->oom_file, O_RDONLY, 0)) < 0)
		return fail_errno(err, errno, "opening OOM counter");
	int devnull = open_at(AT_FDCWD, "/dev/null", O_RDONLY, 0);
	if (devnull < 0)
		return fail_errno(err, errno, "opening /dev/null");
	if ((c->log = open_at(AT_FDCWD, s->log_path, O_WRONLY | O_CREAT | O_APPEND, 0640)) < 0)
		return fail_errno(err, errno, "opening log");

	if (setup_mounts(s, err) < 0)
		return -1;
	char *path;
	if (look_path(s->command[0], s->env, &path, err) < 0)
		return -1;
	int ln = exec_listen(c->dir, err);
	if (ln < 0)
		return -1;
	int outp[2], errp[2];
	if (output_pipe("stdout", outp, err) < 0 || output_pipe("stderr", errp, err) < 0)
		return -1;
	struct cmd cmd = {
		.path = path,
		.argv = s->command,
		.envp = s->env,
		.dir = s->workdir,
		.user = s,
		.fds = {devnull, outp[1], errp[1]},
		.setsid = true,
	};
	char leave_err[ERR_MAX];
	c->pid = cgroups_fork_exec(&c->cg, &cmd, leave_err, err);
	c->started_at = now_real();
	/* The command has its copies of the pipes' write ends; ours go, so
	 * that the copiers see the end of output when the command's do. */
	close(outp[1]);
	close(errp[1]);
	close(devnull);
	free(path);
	if (c->pid < 0) {
		char *q = quote(s->command[0]);
		wrap(err, "exec: %s", q);
		free(q);
		return -1;
	}
	if (*leave_err) {
		/* The helper stays in (some of) the container's cgroups: the
		 * command runs, but the helper may count against its limits.
		 * Not worth failing the start. */
		memcpy(c->note, leave_err, ERR_MAX);
		wrap(c->note, "helper could not return to its own cgroups");
	}

	c->lw = (struct log_writer){.fd = c->log, .max = s->max_line > 0 ? s->max_line : 16 << 10};
	copier_start(c, &c->out, outp[0], "stdout");
	copier_start(c, &c->err, errp[0], "stderr");
	/* Commands can be run in the container from the moment it is
	 * recorded as running. */
	c->exec = exec_new(&c->loop, ln, s, &c->cg);
	if (write_running(c->dir, host_pid, ticks, &c->started_at, err) < 0) {
		exec_close(c->exec);
		kill(-1, SIGKILL);
		return -1;
	}
	return 0;
}

/* end_all kills and reaps every process left in the namespace. Every
 * process started in it descends from us, so none is left when we have
 * no child (ECHILD): the usual case then costs neither the kill nor the
 * kernel's walk over every process that kill(-1) makes. */
static void end_all(struct container *c)
{
	bool killed = false;
	for (;;) {
		int s;
		pid_t pid = wait4(-1, &s, killed ? 0 : WNOHANG, NULL);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			return; /* ECHILD: nothing left */
		if (pid > 0) {
			exec_exited(c->exec, pid, s);
		} else { /* children that still run */
			kill(-1, SIGKILL);
			killed = true;
		}
	}
}

/* is_space is bytes.TrimSpace's test for ASCII (unlike strchr on a set,
 * it does not match the NUL that ends the set). */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* oom_kills reads the "oom_kill <n>" line of memory.oom_control (v1) or
 * memory.events (v2). */
static int oom_kills(int fd, uint64_t *n, char *err)
{
	char b[4097];
	ssize_t len = pread(fd, b, 4096, 0);
	if (len < 0)
		return fail_errno(err, errno, "reading OOM counter");
	b[len] = 0;
	for (char *line = b; line < b + len;) {
		char *nl = memchr(line, '\n', b + len - line);
		char *end = nl ? nl : b + len;
		if (end - line >= 9 && memcmp(line, "oom_kill ", 9) == 0) {
			/* bytes.TrimSpace, then strconv.ParseUint. */
			char *v = line + 9;
			while (v < end && is_space(*v))
				v++;
			while (end > v && is_space(end[-1]))
				end--;
			*end = 0;
			*n = 0;
			return parse_uint(v, 64, n, err);
		}
		line = end + 1;
	}
	return fail(err, "reading OOM counter: no oom_kill line (kernel older than 4.13?)");
}

/* supervise runs until the command exits, then records the exit. */
static int supervise(struct container *c, char *err)
{
	reap(c);
	while (!c->done)
		loop_once(&c->loop, -1);
	struct timespec finished = now_real();

	/* The container is its main process: run no more commands in it,
	 * end whatever it left behind, reap it, and let the log copiers see
	 * the end of both pipes. */
	exec_close(c->exec);
	end_all(c);
	int64_t until = now_mono_ms() + 200;
	while (exec_busy(c->exec) && now_mono_ms() < until)
		loop_once(&c->loop, until);
	until = now_mono_ms() + 5000;
	while (!(c->out.done && c->err.done) && now_mono_ms() < until)
		loop_once(&c->loop, until);
	if (c->out.done && c->err.done) {
		close(c->log);
	} else {
		/* A pipe is held open from outside the namespace. */
		snprintf(c->note, sizeof c->note, "log copy did not finish");
	}

	struct exit_rec rec = {.started_at = &c->started_at, .finished_at = &finished, .message = c->note};
	if (WIFSIGNALED(c->status)) {
		rec.signal = WTERMSIG(c->status);
		rec.code = 128 + rec.signal;
	} else {
		rec.code = WEXITSTATUS(c->status);
	}
	char oerr[ERR_MAX];
	if (c->oom >= 0) {
		uint64_t n = 0;
		if (oom_kills(c->oom, &n, oerr) < 0 && *rec.message == 0)
			rec.message = oerr;
		rec.oom_kills = n;
	}
	return write_exit(c->dir, &rec, err);
}

/* reset_signals sets every signal's disposition to the default. An
 * inherited SIG_IGN would otherwise stay: for SIGCHLD the kernel then
 * reaps the command itself, wait4 never sees it and the helper waits
 * forever without an exit record; ignored SIGTERM or SIGPIPE would pass
 * on to every command through exec. Signals glibc reserves for itself
 * fail with EINVAL, which is fine: they are its own, not inherited. */
static void reset_signals(void)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
}

/* sync_check notes whether SYNC_FD is open, before the helper opens
 * anything. If it is not, the first descriptor opened (the signalfd)
 * would be fd 3 and report would write to it and close it: the loop
 * would then spin on POLLNVAL and never record the exit. Without fd 3
 * nobody waits for the report, so it is skipped; reserving fd 3 with
 * /dev/null instead would need /dev/null (and a dup when 0-2 are closed
 * too) to write what nobody reads. */
static void sync_check(void)
{
	sync_open = fcntl(SYNC_FD, F_GETFD) >= 0;
	if (sync_open)
		fcntl(SYNC_FD, F_SETFD, FD_CLOEXEC);
}

int podinit_main(const char *dirpath)
{
	/* Signals first (see above). They are blocked before their
	 * dispositions are reset: one that comes in between is queued (a
	 * blocked signal is never discarded, even while ignored), where
	 * the other order would let a SIGTERM end the helper. */
	sigset_t set;
	sigemptyset(&set);
	int handled[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};
	for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++)
		sigaddset(&set, handled[i]);
	sigset_t blocked = set;
	sigaddset(&blocked, SIGPIPE);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	reset_signals();
	sync_check();

	static struct container c; /* one per process; zeroed */
	char err[ERR_MAX];
	c.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c.sigfd < 0) {
		fail_errno(err, errno, "creating signalfd");
		report(err);
		return 1;
	}
	c.sig_watch = loop_watch(&c.loop, c.sigfd, POLLIN, -1, signal_event, &c);

	/* Every file of ours in the container directory is opened relative
	 * to it (without following symlinks): its path is resolved once. */
	c.dir = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.dir < 0) {
		fail_errno(err, errno, "opening container directory");
		report(err);
		return 1;
	}
	if (start(&c, err) < 0) {
		struct timespec now = now_real();
		struct exit_rec rec = {.code = 128, .start_error = err, .finished_at = &now};
		char werr[ERR_MAX];
		int rc = write_exit(c.dir, &rec, werr);
		report(err);
		return rc < 0 ? 1 : 0;
	}
	report(NULL);
	return supervise(&c, err) < 0 ? 1 : 0;
}

#ifndef __GLIBC__
extern char **environ;

/*
 * initial_args finds argc and argv without glibc, whose constructors get
 * them as arguments: other C libraries (musl) call constructors with
 * none. At process start the stack holds argc, argv[0..argc-1], NULL,
 * then the environment (the System V ABI's initial process stack), and
 * environ still points at that environment while constructors run. Going
 * down from the NULL that ends argv, the first word equal to the number
 * of words passed is argc: argv's words are pointers, never small
 * integers, so nothing below argc is ever read.
 */
static int initial_args(char ***argv)
{
	char **envp = environ;
	if (envp == NULL || envp[-1] != NULL)
		return -1;
	for (uintptr_t k = 0; k < 4096; k++) {
		if ((uintptr_t)envp[-2 - (intptr_t)k] == k) {
			*argv = envp - 1 - k;
			return (int)k;
		}
	}
	return -1;
}
#endif

/*
 * The helper's entry point: an ELF constructor, which the C library runs
 * before main, that is before the Go runtime starts. Only "<helper>
 * podinit <dir>" is the helper; anything else returns to the Go program.
 */
#ifdef __GLIBC__
__attribute__((constructor)) static void podinit_ctor(int argc, char **argv, char **envp)
{
	(void)envp;
#else
__attribute__((constructor)) static void podinit_ctor(void)
{
	char **argv = NULL;
	int argc = initial_args(&argv);
#endif
	if (argc != 3 || strcmp(argv[1], PODINIT_ARG) != 0)
		return;
	_exit(podinit_main(argv[2]));
}
