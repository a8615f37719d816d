/* The InitFile spec (podinit's specfile.go) and /proc/<pid>/stat
 * (spec.go's parseStat). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "podinit.h"

/* spec_values is specValues: the number of values of key, -1 unknown. */
static int spec_values(const char *key)
{
	static const struct {
		const char *key;
		int n;
	} keys[] = {
		{"command", 1}, {"env", 1}, {"workdir", 1}, {"hostname", 1},
		{"group", 1}, {"root", 1}, {"oom", 1}, {"user", 2}, {"log", 2},
		{"mount", 3}, {"cgroup", 4},
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].key, key) == 0)
			return keys[i].n;
	return -1;
}

int parse_uint(const char *s, int bits, uint64_t *v, char *err)
{
	char *q = quote(s);
	int rc = 0;
	uint64_t max = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
	uint64_t n = 0;
	if (*s == 0) {
		rc = fail(err, "strconv.ParseUint: parsing %s: invalid syntax", q);
		goto out;
	}
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9') {
			rc = fail(err, "strconv.ParseUint: parsing %s: invalid syntax", q);
			goto out;
		}
		unsigned d = *c - '0';
		if (n > (max - d) / 10) {
			/* Go reports the range only after checking the syntax of
			 * the rest. */
			for (const char *r = c; *r; r++)
				if (*r < '0' || *r > '9') {
					rc = fail(err, "strconv.ParseUint: parsing %s: invalid syntax", q);
					goto out;
				}
			rc = fail(err, "strconv.ParseUint: parsing %s: value out of range", q);
			goto out;
		}
		n = n * 10 + d;
	}
	*v = n;
out:
	free(q);
	return rc;
}

/* parse_int is strconv.Atoi for a 64-bit int, with its error text. */
static int parse_int(const char *s, long long *v, char *err)
{
	const char *d = s;
	bool neg = false;
	if (*d == '+' || *d == '-')
		neg = *d++ == '-';
	const char *why = *d == 0 ? "invalid syntax" : NULL;
	for (const char *c = d; *c && why == NULL; c++)
		if (*c < '0' || *c > '9')
			why = "invalid syntax";
	uint64_t u = 0;
	for (const char *c = d; *c && why == NULL; c++) {
		unsigned dg = *c - '0';
		if (u > ((uint64_t)INT64_MAX + neg - dg) / 10)
			why = "value out of range";
		else
			u = u * 10 + dg;
	}
	if (why != NULL) {
		char *q = quote(s);
		fail(err, "strconv.Atoi: parsing %s: %s", q, why);
		free(q);
		return -1;
	}
	*v = neg ? (long long)(0 - u) : (long long)u;
	return 0;
}

#define APPEND(arr, n, v)                                              \
	do {                                                           \
		(arr) = xrealloc((arr), ((n) + 2) * sizeof *(arr));    \
		(arr)[(n)++] = (v);                                    \
	} while (0)

/* spec_set is Spec.set for one record. */
static int spec_set(struct spec *s, const char *key, const char **v, char *err)
{
	uint64_t a, b;
	if (strcmp(key, "command") == 0) {
		APPEND(s->command, s->ncommand, v[0]);
		s->command[s->ncommand] = NULL;
	} else if (strcmp(key, "env") == 0) {
		APPEND(s->env, s->nenv, v[0]);
		s->env[s->nenv] = NULL;
	} else if (strcmp(key, "workdir") == 0) {
		s->workdir = v[0];
	} else if (strcmp(key, "hostname") == 0) {
		s->hostname = v[0];
	} else if (strcmp(key, "user") == 0) {
		if (parse_uint(v[0], 32, &a, err) < 0 || parse_uint(v[1], 32, &b, err) < 0)
			return -1;
		/* A second user record starts over, as &User{} does. */
		s->has_user = true, s->uid = a, s->gid = b, s->ngroups = 0;
	} else if (strcmp(key, "group") == 0) {
		if (!s->has_user)
			return fail(err, "before user");
		if (parse_uint(v[0], 32, &a, err) < 0)
			return -1;
		APPEND(s->groups, s->ngroups, (uint32_t)a);
	} else if (strcmp(key, "mount") == 0) {
		struct mount_spec m = {v[0], v[1], strcmp(v[2], "ro") == 0};
		APPEND(s->mounts, s->nmounts, m);
	} else if (strcmp(key, "log") == 0) {
		long long n;
		if (parse_int(v[1], &n, err) < 0)
			return -1;
		s->log_path = v[0];
		s->max_line = n > 0x7fffffff ? 0x7fffffff : n < 0 ? 0 : (int)n;
	} else if (strcmp(key, "root") == 0) {
		s->root_dir = v[0];
	} else if (strcmp(key, "cgroup") == 0) {
		struct cgroup_spec c = {v[0], v[1], v[2], strcmp(v[3], "shared") == 0};
		APPEND(s->cgroups, s->ncgroups, c);
	} else if (strcmp(key, "oom") == 0) {
		s->oom_file = v[0];
	}
	return 0;
}

int spec_parse(struct buf *b, struct spec *s, char *err)
{
	memset(s, 0, sizeof *s);
	s->workdir = s->hostname = s->log_path = s->root_dir = s->oom_file = "";
	/* Empty lists are still NULL-terminated arrays, for execve. */
	s->command = xmalloc(sizeof *s->command);
	s->command[0] = NULL;
	s->env = xmalloc(sizeof *s->env);
	s->env[0] = NULL;
	if (b->len > 0 && b->p[b->len - 1] != 0)
		return fail(err, "decoding spec: truncated");
	/* Every field is a NUL-terminated string in place. */
	size_t nf = 0;
	for (size_t i = 0; i < b->len; i++)
		nf += b->p[i] == 0;
	const char **f = xmalloc((nf + 1) * sizeof *f);
	for (size_t i = 0, k = 0; k < nf; i += strlen(b->p + i) + 1)
		f[k++] = b->p + i;
	for (size_t i = 0; i < nf;) {
		const char *key = f[i];
		int n = spec_values(key);
		if (n < 0) {
			char *q = quote(key);
			fail(err, "decoding spec: unknown key %s", q);
			free(q);
			return -1;
		}
		if (nf - i < (size_t)(1 + n))
			return fail(err, "decoding spec: %s: truncated", key);
		if (spec_set(s, key, f + i + 1, err) < 0)
			return wrap(err, "decoding spec: %s", key);
		i += 1 + n;
	}
	free(f);
	return 0;
}

int parse_stat(const char *b, size_t n, long *pid, uint64_t *ticks, char *err)
{
	/* PID: the field before the first space, as strconv.Atoi. */
	const char *sp = memchr(b, ' ', n);
	size_t pl = sp ? (size_t)(sp - b) : n;
	char *pf = xstrndup(b, pl);
	long long p;
	int rc = parse_int(pf, &p, err);
	free(pf);
	if (rc < 0)
		return wrap(err, "bad pid");
	/* Fields are counted after the last ')': the command name may hold
	 * spaces and parentheses. starttime is field 22; "state" is 3. */
	const char *paren = memrchr(b, ')', n);
	if (paren == NULL)
		return fail(err, "no command name");
	const char *c = paren + 1, *end = b + n;
	int idx = 0;
	for (;;) {
		while (c < end && (*c == ' ' || *c == '\n' || *c == '\t'))
			c++;
		if (c == end)
			return fail(err, "%d fields", idx);
		const char *e = c;
		while (e < end && !(*e == ' ' || *e == '\n' || *e == '\t'))
			e++;
		if (idx == 22 - 3) {
			char *t = xstrndup(c, e - c);
			rc = parse_uint(t, 64, ticks, err);
			free(t);
			if (rc < 0)
				return -1;
			*pid = p;
			return 0;
		}
		idx++;
		c = e;
	}
}
