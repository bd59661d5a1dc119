/* migrate and -incoming: exec: and file: URIs (see migrate.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "machine.h"
#include "mainloop.h"
#include "migration/migrate.h"
#include "migration/vmstate.h"

/* An open end of the stream: fd, and the command's pid for exec:. */
struct channel {
	int fd;
	pid_t pid;
};

/* /bin/sh -c cmd with its stdin (writing) or stdout (reading) on a
 * pipe.  Between fork and exec only async-signal-safe calls: the child
 * gets the default signal dispositions and an empty mask back, and none
 * of qvm's descriptors beyond stdio. */
static int open_exec(struct channel *ch, const char *cmd, bool writing, char *err, size_t n)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, n, "exec: pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, n, "exec: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		signal(SIGPIPE, SIG_DFL);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		if (dup2(writing ? p[0] : p[1], writing ? 0 : 1) < 0)
			_exit(127);
		close_range(3, ~0U, 0); /* qvm's sockets, images... stay qvm's */
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(writing ? p[0] : p[1]);
	ch->fd = writing ? p[1] : p[0];
	ch->pid = pid;
	return 0;
}

static int open_channel(struct channel *ch, const char *uri, bool writing, char *err, size_t n)
{
	ch->fd = -1;
	ch->pid = 0;
	if (!strncmp(uri, "exec:", 5)) {
		if (!uri[5]) {
			snprintf(err, n, "exec: no command");
			return -1;
		}
		return open_exec(ch, uri + 5, writing, err, n);
	}
	if (!strncmp(uri, "file:", 5)) {
		int flags = writing ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;
		ch->fd = open(uri + 5, flags | O_CLOEXEC, 0600);
		if (ch->fd < 0) {
			snprintf(err, n, "%s: %s", uri + 5, strerror(errno));
			return -1;
		}
		return 0;
	}
	const char *colon = strchr(uri, ':');
	snprintf(err, n, "'%.*s': unsupported migration URI (exec:COMMAND or file:PATH)",
		 colon ? (int)(colon - uri) : 64, uri);
	return -1;
}

/* Close, and for exec: wait for the command: its failure is ours. */
static int close_channel(struct channel *ch, char *err, size_t n, bool ok)
{
	int ret = 0;
	if (ch->fd >= 0 && close(ch->fd) < 0 && ok) {
		snprintf(err, n, "closing the stream: %s", strerror(errno));
		ret = -1;
	}
	if (ch->pid > 0) {
		int st;
		while (waitpid(ch->pid, &st, 0) < 0 && errno == EINTR)
			;
		if (ok && ret == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			snprintf(err, n, "exec: the command %s %d",
				 WIFEXITED(st) ? "exited with status" : "was killed by signal",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			ret = -1;
		}
	}
	return ret;
}

/* After a failed transfer through exec:: a stream cut short by the
 * command's failure is reported as that; a command still running (maybe
 * blocked on a full pipe) is stopped. */
static void blame_command(struct channel *ch, char *err, size_t n)
{
	int st = 0;
	pid_t done = 0;
	if (ch->pid <= 0)
		return;
	for (int i = 0; i < 50 && done == 0; i++) {
		done = waitpid(ch->pid, &st, WNOHANG);
		if (done == 0)
			usleep(10000);
	}
	if (done != ch->pid) {
		kill(ch->pid, SIGTERM);
		return;
	}
	ch->pid = 0;
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		snprintf(err, n, "exec: the command %s %d before the state was complete",
			 WIFEXITED(st) ? "exited with status" : "was killed by signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

int migrate_save(struct machine *m, const char *uri, struct migrate_info *info)
{
	struct channel ch;
	uint64_t start = clock_ns();
	bool was_running = !m->paused;
	memset(info, 0, sizeof(*info));
	info->status = MIGRATE_FAILED;
	if (open_channel(&ch, uri, true, info->error, sizeof(info->error)) < 0)
		return -1;
	if (was_running)
		machine_pause(m);
	int ret = vm_save(m, ch.fd, &info->bytes, info->error, sizeof(info->error));
	if (ret < 0) {
		close(ch.fd);    /* a command reading the stream sees its end */
		ch.fd = -1;
		blame_command(&ch, info->error, sizeof(info->error));
	}
	if (close_channel(&ch, info->error, sizeof(info->error), ret == 0) < 0)
		ret = -1;
	info->ms = (clock_ns() - start) / 1000000;
	if (ret < 0) {
		if (was_running)
			machine_resume(m);
		return -1;
	}
	info->status = MIGRATE_COMPLETED;
	return 0;
}

int migrate_load(struct machine *m, const char *uri, char *err, size_t err_len)
{
	struct channel ch;
	if (open_channel(&ch, uri, false, err, err_len) < 0)
		return -1;
	int ret = vm_load(m, ch.fd, err, err_len);
	if (ret < 0)
		blame_command(&ch, err, err_len);
	if (close_channel(&ch, err, err_len, ret == 0) < 0)
		ret = -1;
	return ret;
}
