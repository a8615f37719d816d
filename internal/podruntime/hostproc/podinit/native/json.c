/*
 * The one JSON document the helper reads: an ExecRequest, decoded as
 * encoding/json's Decoder would decode it into podinit.ExecRequest. Field
 * names match case-insensitively; unknown fields of any type are skipped;
 * null leaves a field as it is (Command: null clears it); a value of the
 * wrong type, a MaxOutput that is not an integer, or a top level that is
 * not an object (or null) is an error. Strings take every JSON escape,
 * \u surrogate pairs included; a lone surrogate and a byte that is not
 * UTF-8 become U+FFFD, as in Go.
 *
 * Input may be incomplete (a request arrives in pieces): the parser then
 * says to read more rather than failing.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "podinit.h"

enum { J_BAD = -1, J_MORE = 0, J_OK = 1, J_NEXT = 2 };

struct parser {
	const char *p;
	size_t n, i;
};

static void ws(struct parser *ps)
{
	while (ps->i < ps->n && strchr(" \t\r\n", ps->p[ps->i]) != NULL && ps->p[ps->i] != 0)
		ps->i++;
}

/* lit matches a literal (true, false, null). */
static int lit(struct parser *ps, const char *word)
{
	for (size_t k = 0; word[k]; k++, ps->i++) {
		if (ps->i == ps->n)
			return J_MORE;
		if (ps->p[ps->i] != word[k])
			return J_BAD;
	}
	return J_OK;
}

static int hex4(const char *s, uint32_t *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		char c = s[k];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static void put_rune(struct buf *b, uint32_t r)
{
	char u[4];
	if (r < 0x80) {
		buf_addc(b, (char)r);
	} else if (r < 0x800) {
		u[0] = 0xC0 | r >> 6, u[1] = 0x80 | (r & 0x3F);
		buf_add(b, u, 2);
	} else if (r < 0x10000) {
		u[0] = 0xE0 | r >> 12, u[1] = 0x80 | (r >> 6 & 0x3F), u[2] = 0x80 | (r & 0x3F);
		buf_add(b, u, 3);
	} else {
		u[0] = 0xF0 | r >> 18, u[1] = 0x80 | (r >> 12 & 0x3F), u[2] = 0x80 | (r >> 6 & 0x3F),
		u[3] = 0x80 | (r & 0x3F);
		buf_add(b, u, 4);
	}
}

/* utf8_at returns the length of a valid UTF-8 sequence at s, 0 if the
 * bytes are not one, -1 if they may be one but are cut short. */
static int utf8_at(const unsigned char *s, size_t n)
{
	int len = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (len == 0)
		return 0;
	uint32_t r = len == 2 ? s[0] & 0x1F : len == 3 ? s[0] & 0x0F : s[0] & 0x07;
	for (int k = 1; k < len; k++) {
		if ((size_t)k == n)
			return -1;
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		r = r << 6 | (s[k] & 0x3F);
	}
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (r < min[len] || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		return 0;
	return len;
}

/* str parses a string at ps->i (a '"'); out (may be NULL) gets it. */
static int str(struct parser *ps, struct buf *out)
{
	struct buf dummy = {0}, *b = out ? out : &dummy;
	int rc = J_MORE;
	ps->i++; /* the opening quote */
	while (ps->i < ps->n) {
		unsigned char c = ps->p[ps->i];
		if (c == '"') {
			ps->i++;
			rc = J_OK;
			break;
		}
		if (c < 0x20) {
			rc = J_BAD;
			break;
		}
		if (c == '\\') {
			if (ps->i + 1 >= ps->n)
				break;
			char e = ps->p[ps->i + 1];
			const char *simple = strchr("\"\\/bfnrt", e);
			if (simple != NULL && e != 0) {
				static const char to[] = "\"\\/\b\f\n\r\t";
				buf_addc(b, to[simple - "\"\\/bfnrt"]);
				ps->i += 2;
				continue;
			}
			if (e != 'u') {
				rc = J_BAD;
				break;
			}
			if (ps->i + 6 > ps->n)
				break;
			uint32_t r, r2;
			if (hex4(ps->p + ps->i + 2, &r) < 0) {
				rc = J_BAD;
				break;
			}
			ps->i += 6;
			if (r >= 0xD800 && r < 0xE000) {
				/* A pair when a low surrogate escape follows; the
				 * scanner must see it whole to decide. */
				if (ps->i + 6 > ps->n && ps->i < ps->n && ps->p[ps->i] == '\\') {
					ps->i -= 6;
					break;
				}
				if (r < 0xDC00 && ps->i + 6 <= ps->n && ps->p[ps->i] == '\\' && ps->p[ps->i + 1] == 'u' &&
				    hex4(ps->p + ps->i + 2, &r2) == 0 && r2 >= 0xDC00 && r2 < 0xE000) {
					r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
					ps->i += 6;
				} else {
					r = 0xFFFD;
				}
			}
			put_rune(b, r);
			continue;
		}
		if (c < 0x80) {
			buf_addc(b, c);
			ps->i++;
			continue;
		}
		int l = utf8_at((const unsigned char *)ps->p + ps->i, ps->n - ps->i);
		if (l < 0)
			break; /* read more */
		if (l == 0) {
			put_rune(b, 0xFFFD);
			ps->i++;
		} else {
			buf_add(b, ps->p + ps->i, l);
			ps->i += l;
		}
	}
	buf_free(&dummy);
	return rc;
}

/* digits skips the one or more digits a fraction or an exponent must have,
 * from *i. */
static int digits(const struct parser *ps, size_t *i)
{
	if (*i == ps->n)
		return J_MORE;
	if (ps->p[*i] < '0' || ps->p[*i] > '9')
		return J_BAD;
	while (*i < ps->n && ps->p[*i] >= '0' && ps->p[*i] <= '9')
		(*i)++;
	return J_OK;
}

/* num parses a number; *integer says whether it has neither fraction nor
 * exponent. A number that reaches the end of the input may go on. */
static int num(struct parser *ps, bool *integer)
{
	size_t i = ps->i;
	const char *p = ps->p;
#define END (i == ps->n)
	*integer = true;
	if (p[i] == '-' && ++i && END)
		return J_MORE;
	if (p[i] == '0') {
		i++;
	} else if (p[i] >= '1' && p[i] <= '9') {
		while (!END && p[i] >= '0' && p[i] <= '9')
			i++;
	} else {
		return J_BAD;
	}
	if (!END && p[i] == '.') {
		*integer = false;
		i++;
		int rc = digits(ps, &i);
		if (rc != J_OK)
			return rc;
	}
	if (!END && (p[i] == 'e' || p[i] == 'E')) {
		*integer = false;
		if (++i, END)
			return J_MORE;
		if (p[i] == '+' || p[i] == '-')
			i++;
		int rc = digits(ps, &i);
		if (rc != J_OK)
			return rc;
	}
	if (END)
		return J_MORE;
#undef END
	ps->i = i;
	return J_OK;
}

/* after_element reads what follows an array element or object member:
 * the container's close (J_OK), or a comma and the whitespace after it
 * (J_NEXT: another element follows). */
static int after_element(struct parser *ps, char close)
{
	ws(ps);
	if (ps->i == ps->n)
		return J_MORE;
	char c = ps->p[ps->i++];
	if (c == close)
		return J_OK;
	if (c != ',')
		return J_BAD;
	ws(ps);
	return ps->i == ps->n ? J_MORE : J_NEXT;
}

static int value(struct parser *ps, int depth);

/* skip_container parses an array or object whose contents are unused. */
static int skip_container(struct parser *ps, int depth)
{
	bool obj = ps->p[ps->i] == '{';
	char close = obj ? '}' : ']';
	ps->i++;
	ws(ps);
	if (ps->i == ps->n)
		return J_MORE;
	if (ps->p[ps->i] == close) {
		ps->i++;
		return J_OK;
	}
	for (;;) {
		int rc;
		if (obj) {
			if (ps->p[ps->i] != '"')
				return J_BAD;
			if ((rc = str(ps, NULL)) != J_OK)
				return rc;
			ws(ps);
			if (ps->i == ps->n)
				return J_MORE;
			if (ps->p[ps->i++] != ':')
				return J_BAD;
			ws(ps);
		}
		if ((rc = value(ps, depth + 1)) != J_OK)
			return rc;
		if ((rc = after_element(ps, close)) != J_NEXT)
			return rc;
	}
}

/* value parses any value, unused. */
static int value(struct parser *ps, int depth)
{
	if (depth > 10000)
		return J_BAD; /* encoding/json's nesting limit */
	if (ps->i == ps->n)
		return J_MORE;
	bool integer;
	switch (ps->p[ps->i]) {
	case '{':
	case '[':
		return skip_container(ps, depth);
	case '"':
		return str(ps, NULL);
	case 't':
		return lit(ps, "true");
	case 'f':
		return lit(ps, "false");
	case 'n':
		return lit(ps, "null");
	default:
		return num(ps, &integer);
	}
}

/* command parses the Command field's value into r. */
static int command(struct parser *ps, struct exec_request *r)
{
	if (ps->p[ps->i] == 'n') {
		int rc = lit(ps, "null");
		if (rc == J_OK) {
			exec_request_free_command(r);
		}
		return rc;
	}
	if (ps->p[ps->i] != '[')
		return J_BAD; /* a type error: the request is refused */
	exec_request_free_command(r);
	ps->i++;
	ws(ps);
	if (ps->i == ps->n)
		return J_MORE;
	if (ps->p[ps->i] == ']') {
		ps->i++;
		/* [] is an empty, non-nil slice: "no command" all the same. */
		return J_OK;
	}
	for (;;) {
		struct buf s = {0};
		buf_add(&s, "", 0);
		int rc;
		if (ps->p[ps->i] == '"') {
			rc = str(ps, &s);
		} else if (ps->p[ps->i] == 'n') {
			rc = lit(ps, "null"); /* a null element is "" */
		} else {
			rc = ps->i < ps->n ? J_BAD : J_MORE;
		}
		if (rc != J_OK) {
			buf_free(&s);
			return rc;
		}
		r->command = xrealloc(r->command, (r->ncommand + 2) * sizeof *r->command);
		r->lens = xrealloc(r->lens, (r->ncommand + 1) * sizeof *r->lens);
		r->lens[r->ncommand] = s.len;
		r->command[r->ncommand++] = s.p;
		r->command[r->ncommand] = NULL;
		if ((rc = after_element(ps, ']')) != J_NEXT)
			return rc;
	}
}

/* max_output parses the MaxOutput field's value: an int, as
 * strconv.ParseInt(s, 10, 64). */
static int max_output(struct parser *ps, struct exec_request *r)
{
	if (ps->p[ps->i] == 'n')
		return lit(ps, "null");
	size_t start = ps->i;
	bool integer;
	int rc = num(ps, &integer);
	if (rc != J_OK)
		return rc;
	if (!integer)
		return J_BAD;
	const char *p = ps->p + start;
	bool neg = *p == '-';
	uint64_t u = 0;
	for (p += neg; p < ps->p + ps->i; p++) {
		unsigned d = *p - '0';
		if (u > ((uint64_t)INT64_MAX + neg - d) / 10)
			return J_BAD;
		u = u * 10 + d;
	}
	r->max_output = neg ? (long long)(0 - u) : (long long)u;
	return J_OK;
}

int json_exec_request(const char *p, size_t n, struct exec_request *r)
{
	struct parser ps = {p, n, 0};
	memset(r, 0, sizeof *r);
	ws(&ps);
	if (ps.i == n)
		return J_MORE;
	if (p[ps.i] == 'n')
		return lit(&ps, "null"); /* leaves the request empty */
	if (p[ps.i] != '{')
		return J_BAD;
	ps.i++;
	ws(&ps);
	if (ps.i == n)
		return J_MORE;
	if (p[ps.i] == '}')
		return J_OK;
	for (;;) {
		if (p[ps.i] != '"')
			return J_BAD;
		struct buf key = {0};
		buf_add(&key, "", 0);
		int rc = str(&ps, &key);
		if (rc != J_OK) {
			buf_free(&key);
			return rc;
		}
		ws(&ps);
		if (ps.i == n || p[ps.i] != ':') {
			buf_free(&key);
			return ps.i == n ? J_MORE : J_BAD;
		}
		ps.i++;
		ws(&ps);
		if (ps.i == n) {
			buf_free(&key);
			return J_MORE;
		}
		/* Field names match case-insensitively; neither has a letter
		 * with a non-ASCII fold (k, s), so ASCII folding is exact. */
		if (strlen(key.p) == key.len && strcasecmp(key.p, "Command") == 0)
			rc = command(&ps, r);
		else if (strlen(key.p) == key.len && strcasecmp(key.p, "MaxOutput") == 0)
			rc = max_output(&ps, r);
		else
			rc = value(&ps, 1);
		buf_free(&key);
		if (rc != J_OK)
			return rc;
		if ((rc = after_element(&ps, '}')) != J_NEXT)
			return rc;
	}
}

void exec_request_free_command(struct exec_request *r)
{
	for (size_t i = 0; i < r->ncommand; i++)
		free(r->command[i]);
	free(r->command);
	free(r->lens);
	r->command = NULL;
	r->lens = NULL;
	r->ncommand = 0;
}

