/*
 * The helper's event loop: one thread, one poll(2) over every descriptor
 * it waits on (the signalfd, the command's output pipes, the exec socket
 * and its connections and commands' output), each with an optional
 * deadline. It stands in for the Go helper's goroutines and timers.
 *
 * Watches live in slots that are reused; a generation number per slot
 * keeps a handler from getting the events of a watch that was replaced
 * while the round's events were being dispatched.
 *
 * Handlers must not wait on the loop's descriptors, but some work can
 * block all the same: exec's look_path stat()s the command's PATH,
 * spawn waits until the command has exec'd (its binary read through the
 * file system) and log writes are blocking writes to a file. A hung file
 * system (a dead NFS mount, say) then stalls the whole loop: no signal
 * forwarded, no child reaped, no exec answered. That is accepted: the
 * Go helper ends up blocked on the same file system for the log (its
 * copiers stop, the command blocks on a full pipe), and the way out, a
 * forked worker for the blocking steps, costs a fork per exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "podinit.h"

int loop_watch(struct loop *l, int fd, short events, int64_t deadline, watch_fn *fn, void *arg)
{
	size_t i;
	for (i = 0; i < l->n && l->w[i].used; i++)
		;
	if (i == l->n) {
		l->w = xrealloc(l->w, (l->n + 1) * sizeof *l->w);
		l->w[l->n++].gen = 0;
	}
	struct watch *w = &l->w[i];
	w->fd = fd;
	w->events = events;
	w->deadline = deadline;
	w->fn = fn;
	w->arg = arg;
	w->gen++;
	w->used = true;
	return (int)i;
}

void loop_modify(struct loop *l, int id, short events, int64_t deadline)
{
	l->w[id].events = events;
	l->w[id].deadline = deadline;
}

void loop_unwatch(struct loop *l, int id)
{
	if (id >= 0 && (size_t)id < l->n) {
		l->w[id].used = false;
		l->w[id].gen++;
	}
}

void loop_once(struct loop *l, int64_t until)
{
	if (l->pcap < l->n) {
		l->pcap = l->n;
		l->pfd = xrealloc(l->pfd, l->pcap * sizeof *l->pfd);
		l->pid = xrealloc(l->pid, l->pcap * sizeof *l->pid);
		l->pgen = xrealloc(l->pgen, l->pcap * sizeof *l->pgen);
	}
	int64_t next = until;
	size_t np = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct watch *w = &l->w[i];
		if (!w->used)
			continue;
		if (w->deadline >= 0 && (next < 0 || w->deadline < next))
			next = w->deadline;
		/* No events: not polled at all (poll reports a hang-up
		 * unasked), but the deadline still counts. */
		l->pfd[np] = (struct pollfd){.fd = w->events ? w->fd : -1, .events = w->events};
		l->pid[np] = (int)i;
		l->pgen[np] = w->gen;
		np++;
	}
	int timeout = -1;
	if (next >= 0) {
		int64_t d = next - now_mono_ms();
		timeout = d < 0 ? 0 : d > 1000000 ? 1000000 : (int)d;
	}
	int n = poll(l->pfd, np, timeout);
	if (n < 0 && errno != EINTR)
		return;
	int64_t now = now_mono_ms();
	for (size_t k = 0; k < np; k++) {
		struct watch *w = &l->w[l->pid[k]];
		short re = n > 0 ? l->pfd[k].revents : 0;
		if (re != 0 && w->used && w->gen == l->pgen[k])
			w->fn(l, l->pid[k], re, w->arg);
		/* w may have moved: handlers can add watches. */
	}
	/* Then the deadlines, whatever the events: a descriptor with events
	 * in every round (a pipe that never stops) must not put its
	 * deadline off forever. Only the watches polled this round, still
	 * the same (a handler may have removed or replaced one): one added
	 * by a handler waits for the next round. A handler that set a new
	 * deadline set it after now. */
	for (size_t k = 0; k < np; k++) {
		struct watch *w = &l->w[l->pid[k]];
		if (!w->used || w->gen != l->pgen[k])
			continue;
		if (w->deadline >= 0 && w->deadline <= now) {
			w->deadline = -1;
			w->fn(l, l->pid[k], 0, w->arg);
		}
	}
}
