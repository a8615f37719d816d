/* Errors, buffers, paths and descriptors: what Go's standard library
 * gives the Go helper (fmt, strconv.Quote, path/filepath, os). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "podinit.h"

/* set_joined writes "<a>: <b>" to err; a message too long keeps its
 * start. */
static void set_joined(char *err, const char *a, const char *b)
{
	struct buf j = {0};
	buf_adds(&j, a);
	buf_adds(&j, ": ");
	buf_adds(&j, b);
	size_t n = j.len < ERR_MAX - 1 ? j.len : ERR_MAX - 1;
	memcpy(err, j.p, n);
	err[n] = 0;
	buf_free(&j);
}

int fail(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

int fail_errno(char *err, int e, const char *fmt, ...)
{
	char text[128];
	errno_text(e, text, sizeof text);
	if (fmt == NULL) {
		snprintf(err, ERR_MAX, "%s", text);
		return -1;
	}
	char ctx[ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	set_joined(err, ctx, text);
	return -1;
}

int wrap(char *err, const char *fmt, ...)
{
	char ctx[ERR_MAX], old[ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	memcpy(old, err, ERR_MAX);
	old[ERR_MAX - 1] = 0;
	set_joined(err, ctx, old);
	return -1;
}

/* Out of memory ends the helper, as it ends a Go program. */
void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		_exit(2);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		_exit(2);
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (p == NULL)
		_exit(2);
	return p;
}

void buf_grow(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t c = b->cap ? b->cap * 2 : 256;
	while (c < b->len + extra + 1)
		c *= 2;
	b->p = xrealloc(b->p, c);
	b->cap = c;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

void buf_addc(struct buf *b, char c) { buf_add(b, &c, 1); }

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_grow(b, n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* utf8_len returns the length of the valid UTF-8 sequence at s (n bytes
 * available) and its rune, or 0 when the bytes are not valid UTF-8. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *r)
{
	if (s[0] < 0x80) {
		*r = s[0];
		return 1;
	}
	size_t len;
	uint32_t min;
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2, min = 0x80, *r = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3, min = 0x800, *r = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4, min = 0x10000, *r = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*r = *r << 6 | (s[i] & 0x3F);
	}
	if (*r < min || *r > 0x10FFFF || (*r >= 0xD800 && *r <= 0xDFFF))
		return 0;
	return len;
}

void buf_quote(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	buf_addc(b, '"');
	for (size_t i = 0; i < n;) {
		uint32_t r;
		size_t l = utf8_len(p + i, n - i, &r);
		if (l == 0) {
			buf_printf(b, "\\x%02x", p[i]);
			i++;
			continue;
		}
		if (l > 1) {
			buf_add(b, p + i, l);
			i += l;
			continue;
		}
		switch (r) {
		case '"': buf_adds(b, "\\\""); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '\a': buf_adds(b, "\\a"); break;
		case '\b': buf_adds(b, "\\b"); break;
		case '\f': buf_adds(b, "\\f"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case '\t': buf_adds(b, "\\t"); break;
		case '\v': buf_adds(b, "\\v"); break;
		default:
			if (r < 0x20 || r == 0x7f)
				buf_printf(b, "\\x%02x", r);
			else
				buf_addc(b, (char)r);
		}
		i++;
	}
	buf_addc(b, '"');
}

char *quote(const char *s)
{
	struct buf b = {0};
	buf_quote(&b, s);
	return b.p;
}

/* path_clean is filepath.Clean (Rob Pike's lexical rules). */
char *path_clean(const char *p)
{
	size_t n = strlen(p);
	if (n == 0)
		return xstrdup(".");
	bool rooted = p[0] == '/';
	char *out = xmalloc(n + 2);
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && p[r] != '/'; r++)
				out[w++] = p[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = 0;
	return out;
}

/* path_join is filepath.Join of two elements. */
char *path_join(const char *a, const char *b)
{
	if (*a == 0 && *b == 0)
		return xstrdup("");
	struct buf j = {0};
	buf_adds(&j, a);
	if (*a && *b)
		buf_addc(&j, '/');
	buf_adds(&j, b);
	char *c = path_clean(j.p);
	buf_free(&j);
	return c;
}

/* path_dir is filepath.Dir. */
char *path_dir(const char *p)
{
	const char *slash = strrchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) + 1 : 0;
	char *d = xmalloc(n + 1);
	memcpy(d, p, n);
	d[n] = 0;
	char *c = path_clean(d);
	free(d);
	return c;
}

/* path_depth is strings.Count(filepath.Clean(p), "/"). */
int path_depth(const char *p)
{
	char *c = path_clean(p);
	int n = 0;
	for (char *s = c; *s; s++)
		n += *s == '/';
	free(c);
	return n;
}

int open_at(int dir, const char *name, int flags, mode_t perm)
{
	int fd;
	do
		fd = openat(dir, name, flags | O_CLOEXEC, perm);
	while (fd < 0 && errno == EINTR);
	return fd;
}

/* read_file_at appends the contents of name to out; -1 with errno. */
int read_file_at(int dir, const char *name, int flags, struct buf *out)
{
	int fd = open_at(dir, name, O_RDONLY | flags, 0);
	if (fd < 0)
		return -1;
	for (;;) {
		buf_grow(out, 512);
		ssize_t n = read(fd, out->p + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		out->len += n;
		out->p[out->len] = 0;
	}
	close(fd);
	return 0;
}

/* write_all writes all of p to a blocking descriptor; -1 with errno. */
int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t m = write(fd, c, n);
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0)
			return -1;
		c += m;
		n -= m;
	}
	return 0;
}

int write_file_at(int dir, const char *name, const void *p, size_t n, mode_t perm, int flags)
{
	int fd = open_at(dir, name, O_WRONLY | O_CREAT | O_TRUNC | flags, perm);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, p, n);
	int e = errno;
	if (close(fd) < 0 && rc == 0)
		return -1;
	errno = e;
	return rc;
}

int mkdir_all(const char *path, mode_t perm, char *err)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		return fail_errno(err, ENOTDIR, "mkdir %s", path);
	}
	size_t i = strlen(path);
	while (i > 0 && path[i - 1] == '/')
		i--;
	while (i > 0 && path[i - 1] != '/')
		i--;
	/* i is now just after the parent's last separator, as in Go where
	 * the parent is path[:i] with i at the separator. */
	if (i > 0 && i - 1 > 0) {
		char *parent = xstrndup(path, i - 1);
		int rc = mkdir_all(parent, perm, err);
		free(parent);
		if (rc < 0)
			return -1;
	}
	if (mkdir(path, perm) < 0) {
		int e = errno;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		return fail_errno(err, e, "mkdir %s", path);
	}
	return 0;
}

struct timespec now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

int64_t now_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
