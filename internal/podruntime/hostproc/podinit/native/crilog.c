/*
 * The CRI log writer: crilog.StreamWriter over a crilog.Writer, record
 * for record. Each stream_write call takes one timestamp for every record
 * it makes, and writes them with one write(2) (the file is O_APPEND, so
 * records of the two streams never interleave). A line longer than the
 * maximum is cut into "P" records of the maximum size ending with an "F"
 * record; a line without its newline is cut the same way as it grows, and
 * what is left of it when the stream ends is one "P" record.
 */
#define _GNU_SOURCE
#include <string.h>

#include "podinit.h"

/* entry is crilog.Entry.Append. */
static void entry(struct buf *out, const struct timespec *t, const char *stream, bool partial,
		  const char *p, size_t n)
{
	buf_time(out, t);
	buf_addc(out, ' ');
	buf_adds(out, stream);
	buf_adds(out, partial ? " P " : " F ");
	buf_add(out, p, n);
	buf_addc(out, '\n');
}

int stream_write(struct stream_writer *sw, const char *p, size_t n)
{
	size_t max = sw->w->max;
	struct timespec now = now_real();
	struct buf *pend = &sw->pending;
	sw->out.len = 0;
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		if (nl == NULL) {
			buf_add(pend, p, n);
			n = 0;
		} else {
			const char *line = p;
			size_t ll = nl - p;
			p = nl + 1;
			n -= ll + 1;
			if (pend->len > 0) {
				buf_add(pend, line, ll);
				line = pend->p;
				ll = pend->len;
			}
			while (ll > max) {
				entry(&sw->out, &now, sw->name, true, line, max);
				line += max;
				ll -= max;
			}
			entry(&sw->out, &now, sw->name, false, line, ll);
			pend->len = 0;
		}
		/* A long line without a newline is cut as it grows, so the
		 * buffer stays bounded. */
		if (pend->len > max) {
			size_t off = 0;
			while (pend->len - off > max) {
				entry(&sw->out, &now, sw->name, true, pend->p + off, max);
				off += max;
			}
			memmove(pend->p, pend->p + off, pend->len - off);
			pend->len -= off;
		}
	}
	if (sw->out.len == 0)
		return 0;
	return write_all(sw->w->fd, sw->out.p, sw->out.len);
}

int stream_close(struct stream_writer *sw)
{
	int rc = 0;
	if (sw->pending.len > 0) {
		struct timespec now = now_real();
		sw->out.len = 0;
		entry(&sw->out, &now, sw->name, true, sw->pending.p, sw->pending.len);
		rc = write_all(sw->w->fd, sw->out.p, sw->out.len);
	}
	buf_free(&sw->pending);
	buf_free(&sw->out);
	return rc;
}
