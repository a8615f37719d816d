/* lookPath of podinit's init.go: the command's path as the container
 * would find it, with its own PATH, in its own mount view. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "podinit.h"

/* containerd's default PATH for Linux containers. */
static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

static int executable(const char *p, char *err)
{
	struct stat st;
	if (stat(p, &st) < 0)
		return fail_errno(err, errno, "stat %s", p);
	if (S_ISDIR(st.st_mode))
		return fail(err, "is a directory");
	if ((st.st_mode & 0111) == 0)
		return fail(err, "permission denied");
	return 0;
}

int look_path(const char *file, const char *const *env, char **out, char *err)
{
	if (strchr(file, '/') != NULL) {
		if (executable(file, err) < 0) {
			char *q = quote(file);
			wrap(err, "exec: %s", q);
			free(q);
			return -1;
		}
		*out = xstrdup(file);
		return 0;
	}
	const char *path = default_path;
	for (; *env; env++) /* the last PATH wins */
		if (strncmp(*env, "PATH=", 5) == 0)
			path = *env + 5;
	/* filepath.SplitList: an empty PATH has no entries at all. */
	for (const char *d = *path ? path : NULL; d != NULL;) {
		const char *colon = strchr(d, ':');
		size_t n = colon ? (size_t)(colon - d) : strlen(d);
		char *dir = n ? xstrndup(d, n) : xstrdup(".");
		char *p = path_join(dir, file);
		free(dir);
		char e[ERR_MAX];
		if (executable(p, e) == 0) {
			*out = p;
			return 0;
		}
		free(p);
		d = colon ? colon + 1 : NULL;
	}
	char *q = quote(file);
	fail(err, "exec: %s: executable file not found in $PATH", q);
	free(q);
	return -1;
}
