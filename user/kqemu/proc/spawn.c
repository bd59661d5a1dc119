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
	syscall(SYS_close_range, PROC_FD_STUB + 1, ~0u, 0);
	char *argv[] = { (char *)"qvm-kqemu-proc", NULL };
	char *envp[] = { NULL };
	syscall(SYS_execveat, PROC_FD_STUB, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

static void set_dead(struct proc_backend *b, int status)
{
	const char *e = b->mb ? b->mb->error : "";
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

bool proc_alive(struct proc_backend *b)
{
	if (b->dead[0])
		return false;
	int status;
	pid_t r = waitpid(b->pid, &status, WNOHANG);
	if (r == 0)
		return true;
	if (r == b->pid) {
		b->pid = 0;
		set_dead(b, status);
	} else {
		snprintf(b->dead, sizeof(b->dead), "process backend: the child is gone (%s)",
			 strerror(errno));
	}
	return false;
}

void proc_reap(struct proc_backend *b)
{
	if (b->pid <= 0)
		return;
	kill(b->pid, SIGKILL);
	while (waitpid(b->pid, NULL, 0) < 0 && errno == EINTR)
		;
	b->pid = 0;
}

static int wait_ready(struct proc_backend *b)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
		if (__atomic_load_n(&b->mb->ready, __ATOMIC_ACQUIRE))
			return 0;
		syscall(SYS_futex, &b->mb->ready, FUTEX_WAIT, 0, &ts, NULL, 0);
		if (!__atomic_load_n(&b->mb->ready, __ATOMIC_ACQUIRE) && !proc_alive(b))
			return -1;
	}
	snprintf(b->dead, sizeof(b->dead), "process backend: the child did not start in %d ms",
		 START_TIMEOUT_MS);
	return -1;
}

int proc_spawn(struct proc_backend *b, int ram_fd, char *err, size_t err_len)
{
	int stub_fd = stub_memfd();
	if (stub_fd < 0) {
		snprintf(err, err_len, "process backend: memfd for the child: %s", strerror(errno));
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		child(parent, ram_fd, b->mbox_fd, stub_fd);
	int e = errno;
	close(stub_fd);
	if (pid < 0) {
		snprintf(err, err_len, "process backend: fork: %s", strerror(e));
		return -1;
	}
	b->pid = pid;
	if (wait_ready(b) < 0) {
		snprintf(err, err_len, "%s", b->dead);
		proc_reap(b);
		return -1;
	}
	return 0;
}
