/*
 * Joining and leaving the container's cgroups around each fork, as
 * podinit's cgroups.go does. The C helper has one thread, so a v1 "tasks"
 * write (the calling thread, exempt from the kernel's global threadgroup
 * lock) moves all of it; it stays only for the clone. On v2 the helper
 * moves as a whole through cgroup.procs, and for good into a shared
 * cgroup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podinit.h"

/* open_membership opens the file through which the caller joins dir;
 * -1 with errno. */
static int open_membership(const char *dir, bool v1, struct cgroup_file *f)
{
	f->path = path_join(dir, v1 ? "tasks" : "cgroup.procs");
	f->fd = open_at(AT_FDCWD, f->path, O_WRONLY, 0);
	return f->fd < 0 ? -1 : 0;
}

/* enter moves the caller into the cgroup. */
static int enter(const struct cgroup_file *f, char *err)
{
	if (write_all(f->fd, "0", 1) < 0)
		return fail_errno(err, errno, "%s", f->path);
	return 0;
}

/* own_cgroups is ownCgroups: /proc/self/cgroup's lines, split into their
 * controllers field (ctl) and path, in place in b. */
struct own {
	char **ctl, **path;
	size_t n;
};

static int own_cgroups(struct buf *b, struct own *o, char *err)
{
	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", 0, b) < 0)
		return fail_errno(err, errno, "reading own cgroups");
	for (char *line = b->p; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2) {
			*c1 = *c2 = 0;
			o->ctl = xrealloc(o->ctl, (o->n + 1) * sizeof *o->ctl);
			o->path = xrealloc(o->path, (o->n + 1) * sizeof *o->path);
			o->ctl[o->n] = c1 + 1;
			o->path[o->n++] = c2 + 1;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

static const char *own_lookup(const struct own *o, const char *ctl)
{
	const char *p = NULL;
	for (size_t i = 0; i < o->n; i++) /* the last line wins, as in a map */
		if (strcmp(o->ctl[i], ctl) == 0)
			p = o->path[i];
	return p;
}

/* join_shared_v2 moves the whole helper into a shared v2 cgroup for good,
 * so that whatever it forks starts there. */
static int join_shared_v2(const char *dir, char *err)
{
	struct cgroup_file f;
	int rc = 0;
	if (open_membership(dir, false, &f) < 0) {
		rc = fail_errno(err, errno, NULL);
	} else {
		rc = enter(&f, err);
		close(f.fd);
	}
	free(f.path);
	if (rc < 0)
		return wrap(err, "joining cgroup %s", dir);
	return 0;
}

int cgroups_open(const struct spec *s, struct cgroups *cg, char *err)
{
	struct buf ownbuf = {0};
	struct own own = {0};
	bool have_own = false;
	memset(cg, 0, sizeof *cg);
	/* On failure the helper exits soon after: what is open stays so. */
	for (size_t i = 0; i < s->ncgroups; i++) {
		const struct cgroup_spec *c = &s->cgroups[i];
		/* A v2 hierarchy is the one whose /proc/self/cgroup line has no
		 * controllers field. */
		bool v1 = *c->controllers != 0;
		if (c->shared && !v1) {
			if (join_shared_v2(c->dir, err) < 0)
				return -1;
			continue;
		}
		if (!have_own) {
			if (own_cgroups(&ownbuf, &own, err) < 0)
				return -1;
			have_own = true;
		}
		struct cgroup_file in, out;
		if (open_membership(c->dir, v1, &in) < 0)
			return fail_errno(err, errno, "opening container cgroup");
		cg->ins = xrealloc(cg->ins, (cg->nins + 1) * sizeof *cg->ins);
		cg->ins[cg->nins++] = in;
		const char *p = own_lookup(&own, c->controllers);
		if (p == NULL) {
			char *q = quote(c->controllers);
			fail(err, "own cgroup for %s not found in /proc/self/cgroup", q);
			free(q);
			return -1;
		}
		char *mine = path_join(c->mount, p);
		int rc = open_membership(mine, v1, &out);
		free(mine);
		if (rc < 0)
			return fail_errno(err, errno, "opening own cgroup");
		cg->outs = xrealloc(cg->outs, (cg->nouts + 1) * sizeof *cg->outs);
		cg->outs[cg->nouts++] = out;
	}
	free(own.ctl);
	free(own.path);
	buf_free(&ownbuf);
	return 0;
}

/* leave moves the helper back to its own cgroups; errors are joined by
 * newlines, as errors.Join does. */
static void leave(struct cgroups *cg, char *leave_err)
{
	struct buf all = {0};
	char e[ERR_MAX];
	for (size_t i = 0; i < cg->nouts; i++) {
		if (enter(&cg->outs[i], e) < 0) {
			if (all.len)
				buf_addc(&all, '\n');
			buf_adds(&all, e);
		}
	}
	snprintf(leave_err, ERR_MAX, "%s", all.p ? all.p : "");
	buf_free(&all);
}

pid_t cgroups_fork_exec(struct cgroups *cg, const struct cmd *c, char *leave_err, char *err)
{
	for (size_t i = 0; i < cg->nins; i++) {
		if (enter(&cg->ins[i], err) < 0) {
			wrap(err, "joining cgroup");
			leave(cg, leave_err);
			return -1;
		}
	}
	pid_t pid = spawn(c, err);
	leave(cg, leave_err);
	return pid;
}
