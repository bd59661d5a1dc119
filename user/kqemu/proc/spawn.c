/*
 * The process backend: starting the child (the stub image carried in
 * qvm, written to a memfd and run with execveat, so that qvm stays one
 * binary) and ending it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x10
#endif

extern const char kqemu_proc_stub_image[], kqemu_proc_stub_image_end[];

#define START_TIMEOUT_MS 5000

static int stub_memfd(void)
{
	int fd = memfd_create("qvm-kqemu-stub", MFD_CLOEXEC | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)  /* kernels before 6.3 */
		fd = memfd_create("qvm-kqemu-stub", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = (size_t)(kqemu_proc_stub_image_end - kqemu_proc_stub_image);
	const char *p = kqemu_proc_stub_image;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return fd;
}

/* In the forked child: only async-signal-safe calls. */
static void __attribute__((noreturn)) child(pid_t parent, int ram_fd, int mbox_fd, int stub_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	/* above every target first, so that no dup2 closes a source */
	int r = fcntl(ram_fd, F_DUPFD, 16);
	int m = fcntl(mbox_fd, F_DUPFD, 16);
	int s = fcntl(stub_fd, F_DUPFD, 16);
	if (r < 0 || m < 0 || s < 0 || dup2(r, PROC_FD_RAM) < 0 ||
	    dup2(m, PROC_FD_MBOX) < 0 || dup2(s, PROC_FD_STUB) < 0 ||
	    fcntl(PROC_FD_STUB, F_SETFD, FD_CLOEXEC) < 0)
		_exit(126);
	/* nothing else: not even stdin, stdout, stderr */
	syscall(SYS_close_range, PROC_FD_STUB + 1, ~0u, 0);
	syscall(SYS_close_range, 0, PROC_FD_RAM - 1, 0);
	char *argv[] = { (char *)"qvm-kqemu-proc", NULL };
	char *envp[] = { NULL };
	syscall(SYS_execveat, PROC_FD_STUB, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

static void set_dead(struct proc_backend *b, struct proc_child *ch, int status)
{
	const char *e = ch->mb ? ch->mb->error : "";
	char why[40];
	if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) == 127)
		snprintf(why, sizeof(why), "could not be executed from a memfd");
	else
		snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(status));
	snprintf(b->dead, sizeof(b->dead), "process backend: the child %s%s%.*s", why,
		 e[0] ? ": " : "", 40, e);
}

bool proc_alive(struct proc_backend *b, unsigned i)
{
	struct proc_child *ch = &b->ch[i];
	if (b->dead[0])
		return false;
	int status;
	pid_t r = waitpid(ch->pid, &status, WNOHANG);
	if (r == 0)
		return true;
	if (r == ch->pid) {
		ch->pid = 0;
		set_dead(b, ch, status);
	} else {
		snprintf(b->dead, sizeof(b->dead), "process backend: the child is gone (%s)",
			 strerror(errno));
	}
	return false;
}

static void reap_child(struct proc_child *ch)
{
	if (ch->pid > 0) {
		kill(ch->pid, SIGKILL);
		while (waitpid(ch->pid, NULL, 0) < 0 && errno == EINTR)
			;
		ch->pid = 0;
	}
	if (ch->mb)
		munmap(ch->mb, PROC_MBOX_SIZE);
	ch->mb = NULL;
	if (ch->mbox_fd >= 0)
		close(ch->mbox_fd);
	ch->mbox_fd = -1;
}

void proc_reap(struct proc_backend *b)
{
	for (unsigned i = 0; i < KQEMU_CONTEXTS; i++)
		reap_child(&b->ch[i]);
}

static int wait_ready(struct proc_backend *b, unsigned i)
{
	struct proc_mailbox *mb = b->ch[i].mb;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
		if (__atomic_load_n(&mb->ready, __ATOMIC_ACQUIRE))
			return 0;
		syscall(SYS_futex, &mb->ready, FUTEX_WAIT, 0, &ts, NULL, 0);
		if (!__atomic_load_n(&mb->ready, __ATOMIC_ACQUIRE) && !proc_alive(b, i))
			return -1;
	}
	snprintf(b->dead, sizeof(b->dead), "process backend: the child did not start in %d ms",
		 START_TIMEOUT_MS);
	return -1;
}

/* The child's mailbox: a memfd both map shared. */
static int make_mailbox(struct proc_backend *b, struct proc_child *ch, char *err, size_t err_len)
{
	ch->mbox_fd = memfd_create("qvm-kqemu-mailbox", MFD_CLOEXEC);
	if (ch->mbox_fd < 0 || ftruncate(ch->mbox_fd, PROC_MBOX_SIZE) < 0) {
		snprintf(err, err_len, "process backend: mailbox memfd: %s", strerror(errno));
		return -1;
	}
	void *p = mmap(NULL, PROC_MBOX_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ch->mbox_fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, err_len, "process backend: mailbox mmap: %s", strerror(errno));
		return -1;
	}
	ch->mb = p;
	ch->mb->spin = b->spin;
	return 0;
}

int proc_spawn(struct proc_backend *b, unsigned i, char *err, size_t err_len)
{
	struct proc_child *ch = &b->ch[i];
	if (make_mailbox(b, ch, err, err_len) < 0) {
		reap_child(ch);
		return -1;
	}
	int stub_fd = stub_memfd();
	if (stub_fd < 0) {
		snprintf(err, err_len, "process backend: memfd for the child: %s", strerror(errno));
		reap_child(ch);
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		child(parent, b->ram_fd, ch->mbox_fd, stub_fd);
	int e = errno;
	close(stub_fd);
	if (pid < 0) {
		snprintf(err, err_len, "process backend: fork: %s", strerror(e));
		reap_child(ch);
		return -1;
	}
	ch->pid = pid;
	ch->cpu = -1;           /* bound nowhere yet (proc.c) */
	if (wait_ready(b, i) < 0) {
		snprintf(err, err_len, "%s", b->dead);
		reap_child(ch);
		return -1;
	}
	b->nr_started++;
	return 0;
}
