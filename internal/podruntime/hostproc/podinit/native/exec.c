/*
 * ExecSync commands (podinit's exec.go): the helper, already in the
 * container's namespaces, runs them as it ran the command (environment,
 * working directory, user, cgroups), each in a process group of its own.
 * A connection carries one ExecRequest and gets one ExecResponse, both
 * JSON. Each connection is a small state machine on the event loop:
 *
 *	reading   the request, for at most execRequestTimeout
 *	running   the command; the connection's end (EOF, error) means
 *	          the runtime gave up: the group is killed, no response
 *	draining  the command has exited: its group is killed and its
 *	          output read to the end, for at most a second
 *	writing   the response, for at most execRequestTimeout
 *
 * The supervisor reaps every child and hands exec commands' statuses
 * over (exec_exited).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "podinit.h"

/* execRequestTimeout: how long a request may take to arrive, and the
 * response to be written. */
#define REQUEST_TIMEOUT_MS 10000
/* How long output may go on once the command has exited and its group
 * is killed (a process that left the group may hold the pipe). */
#define DRAIN_TIMEOUT_MS 1000
/* At most this much output is read per event, so that a command that
 * writes without pause does not keep the loop (signals, reaping, the
 * log) from everything else. */
#define OUTPUT_PER_EVENT (64 << 10)
/* The largest request: a longer one is refused as a malformed one is.
 * The Go helper has no limit; a command line this long would not pass
 * execve's limits anyway. */
#define MAX_REQUEST (1 << 20)

enum state { READING, RUNNING, DRAINING, WRITING };

struct conn {
	struct exec_server *x;
	struct conn *prev, *next;
	int fd, watch;
	enum state state;
	struct buf in; /* the request so far */
	/* running and draining */
	pid_t pid;
	bool exited, aborted, copied;
	int status;
	int out, out_watch;
	struct buf output;
	long long limit;
	bool truncated;
	/* writing */
	struct buf resp;
	size_t off;
};

struct exec_server {
	struct loop *l;
	int ln, ln_watch;
	const struct spec *spec;
	struct cgroups *cg;
	bool closed; /* the container is ending: run nothing more */
	struct conn *conns;
};

int exec_listen(int dir, char *err)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail_errno(err, errno, "creating exec socket");
	/* Through /proc/self/fd, so that the path's length does not depend on
	 * the directory's (a unix socket path holds at most 107 bytes). */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dir, EXEC_SOCKET);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		return fail_errno(err, e, "binding exec socket");
	}
	if (listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		return fail_errno(err, e, "listening on exec socket");
	}
	return fd;
}

static void conn_free(struct conn *c)
{
	struct loop *l = c->x->l;
	loop_unwatch(l, c->watch);
	close(c->fd);
	if (c->out >= 0) {
		loop_unwatch(l, c->out_watch);
		close(c->out);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		c->x->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	buf_free(&c->in);
	buf_free(&c->output);
	buf_free(&c->resp);
	free(c);
}

static void conn_event(struct loop *l, int id, short revents, void *arg);

/* respond starts writing the response (Go's json.Marshal of an
 * ExecResponse). */
static void respond(struct conn *c, int code, bool not_running, const char *start_error)
{
	struct buf *b = &c->resp;
	buf_printf(b, "{\"Code\":%d", code);
	if (c->output.len > 0) {
		buf_adds(b, ",\"Output\":\"");
		buf_base64(b, c->output.p, c->output.len);
		buf_addc(b, '"');
	}
	if (c->truncated)
		buf_adds(b, ",\"Truncated\":true");
	if (not_running)
		buf_adds(b, ",\"NotRunning\":true");
	if (start_error != NULL && *start_error) {
		buf_adds(b, ",\"StartError\":");
		buf_json_string(b, start_error, strlen(start_error));
	}
	buf_addc(b, '}');
	c->state = WRITING;
	c->off = 0;
	loop_modify(c->x->l, c->watch, POLLOUT, now_mono_ms() + REQUEST_TIMEOUT_MS);
}

static void start_error(struct conn *c, const char *msg) { respond(c, 0, false, msg); }

/* finish ends a command whose status and output are in: the response,
 * or nothing when the runtime gave up. */
static void finish(struct conn *c)
{
	if (c->aborted) {
		conn_free(c);
		return;
	}
	if (c->x->closed) {
		c->output.len = 0;
		c->truncated = false;
		respond(c, 0, true, NULL);
		return;
	}
	int code = WIFSIGNALED(c->status) ? 128 + WTERMSIG(c->status) : WEXITSTATUS(c->status);
	respond(c, code, false, NULL);
}

/* output_event reads the command's output, keeping up to the limit. */
static void output_event(struct loop *l, int id, short revents, void *arg)
{
	struct conn *c = arg;
	bool end = revents == 0; /* the drain deadline passed */
	for (size_t got = 0; !end && got < OUTPUT_PER_EVENT;) {
		char buf[4096];
		ssize_t n = read(c->out, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			end = true;
			break;
		}
		got += n;
		long long room = c->limit - (long long)c->output.len;
		size_t keep = n;
		if ((long long)n > room) {
			c->truncated = true;
			keep = room;
		}
		buf_add(&c->output, buf, keep);
	}
	if (!end)
		return;
	loop_unwatch(l, c->out_watch);
	close(c->out);
	c->out = -1;
	c->copied = true;
	if (c->exited)
		finish(c);
}

/* drain: the command has exited. What it left in its group goes too;
 * the output ends once nothing holds the pipe, or after a grace. */
static void drain(struct conn *c)
{
	kill(-c->pid, SIGKILL);
	c->state = DRAINING;
	if (!c->aborted)
		loop_modify(c->x->l, c->watch, 0, -1); /* the watcher is done */
	if (c->copied) {
		finish(c);
		return;
	}
	loop_modify(c->x->l, c->out_watch, POLLIN, now_mono_ms() + DRAIN_TIMEOUT_MS);
}

bool exec_exited(struct exec_server *x, pid_t pid, int status)
{
	for (struct conn *c = x->conns; c; c = c->next) {
		if (c->pid == pid && !c->exited && (c->state == RUNNING || c->state == DRAINING)) {
			c->exited = true;
			c->status = status;
			drain(c);
			return true;
		}
	}
	return false;
}

/* run starts the request's command, or answers at once why not. */
static void run(struct conn *c, struct exec_request *req)
{
	struct exec_server *x = c->x;
	char err[ERR_MAX];
	if (req->ncommand == 0) {
		start_error(c, "no command");
		return;
	}
	/* look_path and spawn can block on a hung file system, and the
	 * loop with them: accepted, see loop.c. */
	char *path;
	if (look_path(req->command[0], x->spec->env, &path, err) < 0) {
		start_error(c, err);
		return;
	}
	int devnull = open_at(AT_FDCWD, "/dev/null", O_RDONLY, 0);
	if (devnull < 0) {
		fail_errno(err, errno, "open /dev/null");
		start_error(c, err);
		free(path);
		return;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		fail_errno(err, errno, "pipe2");
		start_error(c, err);
		close(devnull);
		free(path);
		return;
	}
	if (x->closed) {
		close(devnull), close(p[0]), close(p[1]), free(path);
		respond(c, 0, true, NULL);
		return;
	}
	/* An argument with a NUL (from a \u0000 escape) cannot be passed;
	 * Go's ForkExec says EINVAL. */
	bool nul = false;
	for (size_t i = 0; i < req->ncommand; i++)
		nul |= strlen(req->command[i]) != req->lens[i];
	struct cmd cmd = {
		.path = path,
		.argv = (const char *const *)req->command,
		.envp = x->spec->env,
		.dir = x->spec->workdir,
		.user = x->spec,
		.fds = {devnull, p[1], p[1]},
		.setpgid = true, /* so that what it starts is killed with it */
	};
	char leave_err[ERR_MAX];
	pid_t pid = nul ? fail_errno(err, EINVAL, NULL) : cgroups_fork_exec(x->cg, &cmd, leave_err, err);
	close(p[1]);
	close(devnull);
	free(path);
	if (pid < 0) {
		close(p[0]);
		char *q = quote(req->command[0]);
		wrap(err, "exec: %s", q);
		free(q);
		start_error(c, err);
		return;
	}
	c->pid = pid;
	c->state = RUNNING;
	c->limit = req->max_output > 0 ? req->max_output : 0;
	c->out = p[0];
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	c->out_watch = loop_watch(x->l, c->out, POLLIN, -1, output_event, c);
	/* The runtime gives up (its ctx ended) by closing the connection. */
	loop_modify(x->l, c->watch, POLLIN | POLLRDHUP, -1);
}

/* may_end says whether the request can have become whole with the bytes
 * from old on: a request ends with the '}' of its object or the 'l' of
 * null. The parser starts over on every call, so parsing on every read
 * would be quadratic in a request that trickles in. What is parsed only
 * later is a malformed request: it is refused when such a byte comes,
 * at MAX_REQUEST or at the deadline, not at once, and always without a
 * response, as the Go helper refuses it. The first bytes are always
 * parsed, so that what is not JSON at all is refused at once. */
static bool may_end(const struct buf *in, size_t old)
{
	return old == 0 || memchr(in->p + old, '}', in->len - old) || memchr(in->p + old, 'l', in->len - old);
}

/* read_request reads what has arrived; it runs the request once whole. */
static void read_request(struct conn *c, short revents)
{
	if (revents == 0) { /* the request timed out */
		conn_free(c);
		return;
	}
	size_t old = c->in.len;
	for (;;) {
		buf_grow(&c->in, 4096);
		ssize_t n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0 || c->in.len + n > MAX_REQUEST) {
			/* EOF or error before a whole request, or too long */
			conn_free(c);
			return;
		}
		c->in.len += n;
	}
	if (!may_end(&c->in, old))
		return;
	struct exec_request req;
	int rc = json_exec_request(c->in.p, c->in.len, &req);
	if (rc == 0) {
		exec_request_free_command(&req);
		return;
	}
	if (rc < 0) {
		exec_request_free_command(&req);
		conn_free(c);
		return;
	}
	buf_free(&c->in);
	run(c, &req);
	exec_request_free_command(&req);
}

/* watch_running discards what the runtime sends while the command runs;
 * the connection's end aborts the command. */
static void watch_running(struct conn *c, short revents)
{
	for (;;) {
		char buf[512];
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);
		if (n < 0 && errno == EINTR)
			continue;
		/* One read per event: a runtime that keeps sending must not
		 * keep the loop here. */
		if ((n < 0 && errno == EAGAIN) || n > 0)
			return;
		break;
	}
	c->aborted = true;
	loop_modify(c->x->l, c->watch, 0, -1);
	kill(-c->pid, SIGKILL);
}

static void write_response(struct conn *c, short revents)
{
	if (revents == 0 || (revents & (POLLERR | POLLHUP))) {
		conn_free(c); /* timed out, or the runtime is gone */
		return;
	}
	while (c->off < c->resp.len) {
		ssize_t n = send(c->fd, c->resp.p + c->off, c->resp.len - c->off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0)
			break;
		c->off += n;
	}
	conn_free(c);
}

static void conn_event(struct loop *l, int id, short revents, void *arg)
{
	struct conn *c = arg;
	switch (c->state) {
	case READING:
		read_request(c, revents);
		break;
	case RUNNING:
		watch_running(c, revents);
		break;
	case DRAINING:
		break;
	case WRITING:
		write_response(c, revents);
		break;
	}
}

static void accept_event(struct loop *l, int id, short revents, void *arg)
{
	struct exec_server *x = arg;
	for (;;) {
		int fd = accept4(x->ln, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0 && errno == EAGAIN)
			return;
		if (fd < 0) {
			/* As the Go helper's accept loop: it stops. */
			loop_unwatch(l, x->ln_watch);
			x->ln_watch = -1;
			return;
		}
		struct conn *c = xmalloc(sizeof *c);
		*c = (struct conn){.x = x, .fd = fd, .state = READING, .out = -1, .out_watch = -1};
		c->next = x->conns;
		if (x->conns)
			x->conns->prev = c;
		x->conns = c;
		c->watch = loop_watch(l, fd, POLLIN, now_mono_ms() + REQUEST_TIMEOUT_MS, conn_event, c);
	}
}

struct exec_server *exec_new(struct loop *l, int ln, const struct spec *s, struct cgroups *cg)
{
	struct exec_server *x = xmalloc(sizeof *x);
	*x = (struct exec_server){.l = l, .ln = ln, .spec = s, .cg = cg};
	x->ln_watch = loop_watch(l, ln, POLLIN, -1, accept_event, x);
	return x;
}

void exec_close(struct exec_server *x)
{
	x->closed = true;
	if (x->ln_watch >= 0)
		loop_unwatch(x->l, x->ln_watch);
	x->ln_watch = -1;
	if (x->ln >= 0)
		close(x->ln);
	x->ln = -1;
}

bool exec_busy(struct exec_server *x) { return x->conns != NULL; }
