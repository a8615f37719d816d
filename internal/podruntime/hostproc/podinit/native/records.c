/* The Running and Exit records (spec.go's MarshalJSON) and the pieces of
 * Go's encoding/json and time formats they need. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "podinit.h"

/* civil converts days since 1970-01-01 to a proleptic Gregorian date
 * (Howard Hinnant's days_from_civil inverse): no time zone data needed. */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned doe = (unsigned)(days - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* buf_time appends t in time.RFC3339Nano, in UTC: the fraction without
 * its trailing zeros, none at all for a whole second. */
void buf_time(struct buf *b, const struct timespec *t)
{
	if (t == NULL) {
		buf_adds(b, "0001-01-01T00:00:00Z");
		return;
	}
	int64_t s = t->tv_sec;
	int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
	int64_t sod = s - days * 86400;
	int64_t y;
	unsigned mo, d;
	civil(days, &y, &mo, &d);
	buf_printf(b, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, mo, d,
		   (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
	if (t->tv_nsec != 0) {
		char frac[11];
		snprintf(frac, sizeof frac, ".%09ld", t->tv_nsec);
		size_t n = strlen(frac);
		while (frac[n - 1] == '0')
			n--;
		buf_add(b, frac, n);
	}
	buf_addc(b, 'Z');
}

/* buf_time_json is time.Time's MarshalJSON. */
void buf_time_json(struct buf *b, const struct timespec *t)
{
	buf_addc(b, '"');
	buf_time(b, t);
	buf_addc(b, '"');
}

/* buf_json_string is json.Marshal of a string: HTML-safe escapes, invalid
 * UTF-8 as U+FFFD, U+2028 and U+2029 escaped. */
void buf_json_string(struct buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	buf_addc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
				buf_addc(b, c);
				continue;
			}
			switch (c) {
			case '"': buf_adds(b, "\\\""); break;
			case '\\': buf_adds(b, "\\\\"); break;
			case '\b': buf_adds(b, "\\b"); break;
			case '\f': buf_adds(b, "\\f"); break;
			case '\n': buf_adds(b, "\\n"); break;
			case '\r': buf_adds(b, "\\r"); break;
			case '\t': buf_adds(b, "\\t"); break;
			default: {
				char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
				buf_add(b, u, 6);
			}
			}
			continue;
		}
		/* A multi-byte sequence: copied when valid. */
		size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		uint32_t r = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
		bool ok = len != 0 && i + len <= n;
		for (size_t k = 1; ok && k < len; k++) {
			ok = (s[i + k] & 0xC0) == 0x80;
			r = r << 6 | (s[i + k] & 0x3F);
		}
		static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
		if (ok && (r < min[len] || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)))
			ok = false;
		if (!ok) {
			buf_adds(b, "\\ufffd");
			i++;
			continue;
		}
		if (r == 0x2028 || r == 0x2029)
			buf_printf(b, "\\u%04x", r);
		else
			buf_add(b, s + i, len);
		i += len;
	}
	buf_addc(b, '"');
}

/* buf_base64 is base64.StdEncoding, as encoding/json writes []byte. */
void buf_base64(struct buf *b, const void *data, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	buf_grow(b, (n + 2) / 3 * 4);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = p[i] << 16;
		if (i + 1 < n)
			v |= p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63],
			     i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '='};
		buf_add(b, q, 4);
	}
}

/* write_record is writeRecord: write name.tmp, then rename it to name.
 * There is no fsync (see writeRecord). */
static int write_record(int dir, const char *name, struct buf *b, char *err)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%s.tmp", name);
	if (write_file_at(dir, tmp, b->p, b->len, 0644, O_NOFOLLOW) < 0)
		return fail_errno(err, errno, "writing %s", name);
	if (renameat(dir, tmp, dir, name) < 0)
		return fail_errno(err, errno, "writing %s", name);
	return 0;
}

int write_running(int dir, long pid, uint64_t ticks, const struct timespec *started, char *err)
{
	struct buf b = {0};
	buf_printf(&b, "{\"Pid\":%ld,\"StartTicks\":%llu,\"StartedAt\":", pid, (unsigned long long)ticks);
	buf_time_json(&b, started);
	buf_addc(&b, '}');
	int rc = write_record(dir, RUNNING_FILE, &b, err);
	buf_free(&b);
	return rc;
}

int write_exit(int dir, const struct exit_rec *e, char *err)
{
	struct buf b = {0};
	buf_printf(&b, "{\"Code\":%d", e->code);
	if (e->signal != 0)
		buf_printf(&b, ",\"Signal\":%d", e->signal);
	if (e->oom_kills != 0)
		buf_printf(&b, ",\"OOMKills\":%llu", (unsigned long long)e->oom_kills);
	if (e->start_error != NULL && *e->start_error) {
		buf_adds(&b, ",\"StartError\":");
		buf_json_string(&b, e->start_error, strlen(e->start_error));
	}
	if (e->message != NULL && *e->message) {
		buf_adds(&b, ",\"Message\":");
		buf_json_string(&b, e->message, strlen(e->message));
	}
	buf_adds(&b, ",\"StartedAt\":");
	buf_time_json(&b, e->started_at);
	buf_adds(&b, ",\"FinishedAt\":");
	buf_time_json(&b, e->finished_at);
	buf_addc(&b, '}');
	int rc = write_record(dir, EXIT_FILE, &b, err);
	buf_free(&b);
	return rc;
}
