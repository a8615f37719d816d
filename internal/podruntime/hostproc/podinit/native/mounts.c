/*
 * The container's view of the filesystem, in the helper's new mount
 * namespace (podinit's mounts.go): private propagation, hostname, a
 * private "mimic" root when a mount point or the working directory is
 * missing on the host, the bind mounts, the working directory, a fresh
 * /proc. Nothing done here is visible on the host.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "podinit.h"

/* strs is a list of malloc'd strings. */
struct strs {
	char **s;
	size_t n;
};

static void strs_add(struct strs *l, char *s)
{
	l->s = xrealloc(l->s, (l->n + 1) * sizeof *l->s);
	l->s[l->n++] = s;
}

static bool strs_has(const struct strs *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->s[i], s) == 0)
			return true;
	return false;
}

/* under_mount reports whether p lies strictly inside a mount's target. */
static bool under_mount(const char *p, const struct mount_spec *ms, size_t n)
{
	char *cp = path_clean(p);
	bool under = false;
	for (size_t i = 0; i < n && !under; i++) {
		char *t = path_clean(ms[i].target);
		size_t tl = strlen(t);
		if (tl > 0 && t[tl - 1] == '/')
			tl--;
		under = strcmp(cp, t) != 0 && strncmp(cp, t, tl) == 0 && cp[tl] == '/';
		free(t);
	}
	free(cp);
	return under;
}

/* create_file is os.OpenFile(p, O_CREATE|O_WRONLY, 0644) and Close. */
static int create_file(const char *p, char *err)
{
	int fd = open_at(AT_FDCWD, p, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return fail_errno(err, errno, "open %s", p);
	close(fd);
	return 0;
}

static int bind(const struct mount_spec *m, char *err)
{
	struct stat src, dst;
	if (stat(m->source, &src) < 0)
		return fail_errno(err, errno, "stat %s", m->source);
	if (stat(m->target, &dst) == 0) {
		if (S_ISDIR(dst.st_mode) != S_ISDIR(src.st_mode))
			return fail(err, "source and target are not both directories or both files");
	} else if (S_ISDIR(src.st_mode)) {
		if (mkdir_all(m->target, 0755, err) < 0)
			return -1;
	} else {
		char *d = path_dir(m->target);
		int rc = mkdir_all(d, 0755, err);
		free(d);
		if (rc < 0 || create_file(m->target, err) < 0)
			return -1;
	}
	if (mount(m->source, m->target, "", MS_BIND | MS_REC, "") < 0)
		return fail_errno(err, errno, NULL);
	if (!m->ro)
		return 0;
	/* A read-only bind needs a second call, which must keep the flags
	 * the mount already has (EPERM otherwise, in a user namespace). The
	 * ST_ flags are the MS_ ones. */
	struct statfs st;
	if (statfs(m->target, &st) < 0)
		return fail_errno(err, errno, NULL);
	unsigned long keep = st.f_flags & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME);
	if (mount("", m->target, "", MS_BIND | MS_REMOUNT | MS_RDONLY | keep, "") < 0)
		return fail_errno(err, errno, NULL);
	return 0;
}

/* existing_ancestor is existingAncestor: the deepest existing ancestor of
 * p, symlinks resolved. */
static char *existing_ancestor(const char *p, char *err)
{
	char *c = path_clean(p);
	char *d = path_dir(c);
	free(c);
	for (;;) {
		struct stat st;
		if (stat(d, &st) == 0) {
			char *real = realpath(d, NULL);
			if (real == NULL)
				fail_errno(err, errno, "lstat %s", d);
			free(d);
			return real;
		}
		if (errno != ENOENT) {
			fail_errno(err, errno, "stat %s", d);
			free(d);
			return NULL;
		}
		char *up = path_dir(d);
		free(d);
		d = up;
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* entry_type is the type os.ReadDir reports: d_type, else lstat's. */
static unsigned char entry_type(const char *host, unsigned char t)
{
	struct stat st;
	if (t != DT_UNKNOWN || lstat(host, &st) < 0)
		return t;
	return S_ISLNK(st.st_mode) ? DT_LNK : S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
}

static int mimic_dir(const char *root, const char *dir, const struct strs *chain, char *err);

/* mimic_entry puts one host entry of a mimicked directory in the root:
 * an ancestor of a missing path is mimicked in turn, a symlink
 * recreated, anything else bind-mounted back. */
static int mimic_entry(const char *root, const char *host, unsigned char type, const struct strs *chain,
		       char *err)
{
	if (strs_has(chain, host))
		return mimic_dir(root, host, chain, err);
	char *in = path_join(root, host);
	int rc = 0;
	if (type == DT_LNK) {
		char target[PATH_MAX + 1];
		ssize_t n = readlink(host, target, PATH_MAX);
		if (n < 0) {
			rc = fail_errno(err, errno, "readlink %s", host);
		} else {
			target[n] = 0;
			if (symlink(target, in) < 0)
				rc = fail_errno(err, errno, "symlink %s %s", target, in);
		}
	} else {
		if (type == DT_DIR) {
			if (mkdir(in, 0755) < 0)
				rc = fail_errno(err, errno, "mkdir %s", in);
		} else {
			rc = create_file(in, err);
		}
		if (rc == 0 && mount(host, in, "", MS_BIND | MS_REC, "") < 0)
			rc = fail_errno(err, errno, "binding %s", host);
	}
	free(in);
	return rc;
}

/* mimic_dir is mimicDir: dir's copy in root, with the host's mode and
 * owner, and its entries. */
static int mimic_dir(const char *root, const char *dir, const struct strs *chain, char *err)
{
	if (strcmp(dir, "/") != 0) {
		struct stat st;
		if (stat(dir, &st) < 0)
			return fail_errno(err, errno, "stat %s", dir);
		/* Only the permission bits, as fi.Mode().Perm(). */
		mode_t perm = st.st_mode & 0777;
		char *in = path_join(root, dir);
		int rc = 0;
		if (mkdir(in, perm) < 0)
			rc = fail_errno(err, errno, "mkdir %s", in);
		else if (lchown(in, st.st_uid, st.st_gid) < 0)
			rc = fail_errno(err, errno, "lchown %s", in);
		else
			chmod(in, perm); /* mkdir applied the umask */
		free(in);
		if (rc < 0)
			return -1;
	}
	DIR *d = opendir(dir);
	if (d == NULL)
		return fail_errno(err, errno, "open %s", dir);
	/* Names and types first, sorted by name as os.ReadDir returns them. */
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	/* readdir says an error only through errno, which anything in the
	 * loop may have set: cleared before each call. */
	while ((errno = 0, e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		/* The type travels after the name's NUL. */
		size_t l = strlen(e->d_name);
		names[n] = xmalloc(l + 2);
		memcpy(names[n], e->d_name, l + 1);
		names[n][l + 1] = (char)e->d_type;
		n++;
	}
	int rerr = errno;
	closedir(d);
	int rc = 0;
	if (rerr != 0)
		rc = fail_errno(err, rerr, "readdirent %s", dir);
	qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *host = path_join(dir, names[i]);
		unsigned char t = entry_type(host, (unsigned char)names[i][strlen(names[i]) + 1]);
		rc = mimic_entry(root, host, t, chain, err);
		free(host);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* pivot makes root the root of the mount namespace and detaches the old
 * one (runc's pivot_root(".", ".") sequence). */
static int pivot(const char *root, char *err)
{
	int rc = -1;
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		return fail_errno(err, errno, NULL);
	int newroot = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (newroot < 0) {
		fail_errno(err, errno, NULL);
		goto out_old;
	}
	if (fchdir(newroot) < 0) {
		fail_errno(err, errno, NULL);
		goto out;
	}
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		fail_errno(err, errno, "pivot_root");
		goto out;
	}
	if (fchdir(oldroot) < 0) {
		fail_errno(err, errno, NULL);
		goto out;
	}
	if (umount2(".", MNT_DETACH) < 0) {
		fail_errno(err, errno, "detaching old root");
		goto out;
	}
	if (chdir("/") < 0) {
		fail_errno(err, errno, NULL);
		goto out;
	}
	rc = 0;
out:
	close(newroot);
out_old:
	close(oldroot);
	return rc;
}

/* mimic_root is mimicRoot: a tmpfs root in which every ancestor of a
 * missing path is a directory of the tmpfs and every other host entry is
 * bound back or recreated, then pivot_root into it. */
static int mimic_root(const char *root, const struct strs *missing, char *err)
{
	if (*root == 0)
		return fail(err, "no root directory to build on");
	struct strs chain = {0};
	for (size_t i = 0; i < missing->n; i++) {
		char *a = existing_ancestor(missing->s[i], err);
		if (a == NULL)
			return -1;
		for (char *d = a;;) {
			bool top = strcmp(d, "/") == 0;
			if (!strs_has(&chain, d))
				strs_add(&chain, xstrdup(d));
			if (top) {
				free(d);
				break;
			}
			char *up = path_dir(d);
			free(d);
			d = up;
		}
	}
	if (mkdir(root, 0700) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		return fail_errno(err, errno, "mkdir %s", root);
	if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return fail_errno(err, errno, "mounting tmpfs");
	if (mimic_dir(root, "/", &chain, err) < 0)
		return -1;
	/* root sits inside some host directory that was bound back in, which
	 * brought a copy of root's own mount along: drop it. */
	char *self = path_join(root, root);
	umount2(self, MNT_DETACH);
	free(self);
	return pivot(root, err);
}

/* by_depth is a stable insertion sort of the mounts by target depth. */
static void by_depth(struct mount_spec *m, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct mount_spec x = m[i];
		int dx = path_depth(x.target);
		size_t j = i;
		while (j > 0 && path_depth(m[j - 1].target) > dx) {
			m[j] = m[j - 1];
			j--;
		}
		m[j] = x;
	}
}

/* find_missing lists the paths that must exist in the container but do
 * not on the host, outside the volumes (where they are created in the
 * volume, as runc does). */
static void find_missing(const struct mount_spec *m, size_t n, const char *workdir, struct strs *missing)
{
	for (size_t i = 0; i <= n; i++) {
		const char *p = i < n ? m[i].target : workdir;
		struct stat st;
		if (*p == 0 || under_mount(p, m, n))
			continue;
		if (stat(p, &st) < 0 && errno == ENOENT)
			strs_add(missing, xstrdup(p));
	}
}

int setup_mounts(const struct spec *s, char *err)
{
	/* Mandatory: on hosts where / is shared (systemd), our mounts would
	 * otherwise propagate to the host. */
	if (mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail_errno(err, errno, "making mounts private");
	if (*s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return fail_errno(err, errno, "setting hostname");
	size_t n = s->nmounts;
	struct mount_spec *m = xmalloc(n * sizeof *m);
	if (n)
		memcpy(m, s->mounts, n * sizeof *m);
	by_depth(m, n);
	for (size_t i = 0; i < n; i++)
		if (m[i].target[0] != '/' || m[i].source[0] != '/')
			return fail(err, "mount %s at %s: paths must be absolute", m[i].source, m[i].target);

	struct strs missing = {0};
	find_missing(m, n, s->workdir, &missing);
	if (missing.n > 0 && mimic_root(s->root_dir, &missing, err) < 0) {
		struct buf l = {0};
		buf_addc(&l, '[');
		for (size_t i = 0; i < missing.n; i++) {
			if (i)
				buf_addc(&l, ' ');
			buf_adds(&l, missing.s[i]);
		}
		buf_addc(&l, ']');
		wrap(err, "building private root for %s", l.p);
		buf_free(&l);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (bind(&m[i], err) < 0)
			return wrap(err, "mounting %s at %s", m[i].source, m[i].target);
	if (*s->workdir && mkdir_all(s->workdir, 0755, err) < 0)
		return wrap(err, "creating working directory");
	/* A fresh /proc shows the new PID namespace only. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "") < 0)
		return fail_errno(err, errno, "mounting /proc");
	free(m);
	return 0;
}
