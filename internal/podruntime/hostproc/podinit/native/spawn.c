/*
 * spawn is syscall.ForkExec for the helper: clone(CLONE_VM|CLONE_VFORK)
 * as Go and posix_spawn do (no copy of the helper's page tables), then,
 * in Go's order, in the child: an empty signal mask (the helper blocks
 * the signals it reads from its signalfd), setsid or setpgid, groups,
 * gid, uid, working directory, descriptors 0-2, execve. The child shares
 * the helper's memory until it execs, so it makes raw system calls only
 * (glibc's setuid and friends would coordinate threads through memory it
 * must not touch) and reports a failure through its argument.
 *
 * Dispositions: the helper set every signal to the default when it
 * started and ignores none since (init.c), so the child inherits no
 * SIG_IGN, the one disposition execve keeps; with the empty mask, the
 * command starts as a freshly exec'd program should.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "podinit.h"

/* The child's stack: file-static, since there is one child at a time
 * (vfork semantics: the helper waits until it has exec'd). */
static char child_stack[32 << 10] __attribute__((aligned(16)));

struct child_arg {
	const struct cmd *c;
	int err; /* errno of the step that failed; 0 once exec'd */
};

static int child(void *p)
{
	struct child_arg *a = p;
	const struct cmd *c = a->c;
	sigset_t empty;
	sigemptyset(&empty);
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, _NSIG / 8) < 0)
		goto fail;
	if (c->setsid && syscall(SYS_setsid) < 0)
		goto fail;
	if (c->setpgid && syscall(SYS_setpgid, 0, 0) < 0)
		goto fail;
	if (c->user != NULL && c->user->has_user) {
		if (syscall(SYS_setgroups, c->user->ngroups, c->user->groups) < 0)
			goto fail;
		if (syscall(SYS_setgid, c->user->gid) < 0)
			goto fail;
		if (syscall(SYS_setuid, c->user->uid) < 0)
			goto fail;
	}
	if (c->dir != NULL && *c->dir && syscall(SYS_chdir, c->dir) < 0)
		goto fail;
	/* Descriptors 0-2 from fds, none of which may be overwritten before
	 * it is used: one below 3 is first moved up. */
	int fds[3];
	for (int i = 0; i < 3; i++) {
		fds[i] = c->fds[i];
		if (fds[i] < 3 && (fds[i] = syscall(SYS_fcntl, fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
			goto fail;
	}
	for (int i = 0; i < 3; i++)
		if (syscall(SYS_dup3, fds[i], i, 0) < 0)
			goto fail;
	syscall(SYS_execve, c->path, c->argv, c->envp);
fail:
	a->err = errno;
	syscall(SYS_exit, 253);
	return 0;
}

pid_t spawn(const struct cmd *c, char *err)
{
	struct child_arg a = {c, 0};
	pid_t pid = clone(child, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	if (pid < 0)
		return fail_errno(err, errno, NULL);
	if (a.err != 0) {
		/* Reap it here, as ForkExec does: it never ran the command. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return fail_errno(err, a.err, NULL);
	}
	return pid;
}
