/*
 * nest-time: time stamps one VMM run for `bench/run nested`, inside the
 * nested test host, where there is no Python (busybox only).  It does what
 * run_guest() of bench/qvmbench.py does on the host: spawn the command
 * with stdin from /dev/null and stdout on a pipe, and time stamp, from
 * just before the spawn (CLOCK_MONOTONIC), the first byte that arrives,
 * the first line containing each marker, and the exit (EOF on the pipe,
 * then waitpid).
 *
 *   nest-time [-t SECS] [-o LOG] [-m TEXT | -x LINE]... -- COMMAND [ARG]...
 *
 * A marker is -m TEXT (the first line containing TEXT) or -x LINE (the
 * first line equal to LINE; a carriage return is dropped).  Prints one line:
 *   rc=N byte=HH first=S m0=S m1=S ... exit=S [timeout=1]
 * rc: the exit status (128+N for signal N); byte: the first output byte
 * in hex (-- when none); S in seconds, "-" for a marker never seen.  -t
 * (default 120) kills the command after SECS; -o saves its output (stdout
 * and stderr) to LOG.  Exit status 0, or 2 on a usage or spawn error.
 * Built static by tests/nested/run-kvm-check (NESTED_BENCH=1).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MARKS 8
#define LINE_MAX_LEN 4096

struct marks {
	const char *text[MAX_MARKS];
	int exact[MAX_MARKS];
	double at[MAX_MARKS];
	int n;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: nest-time [-t SECS] [-o LOG] [-m TEXT | -x LINE]... "
		"-- COMMAND [ARG]...\n");
	exit(2);
}

/* One complete line (no '\n'): the first time each marker shows in it. */
static void match_line(struct marks *m, const char *line, double t)
{
	for (int i = 0; i < m->n; i++)
		if (m->at[i] < 0 && (m->exact[i] ? !strcmp(line, m->text[i])
					       : strstr(line, m->text[i]) != NULL))
			m->at[i] = t;
}

/* The child: stdin /dev/null, stdout the pipe, stderr the log or null. */
static void child(char **argv, int out, int logfd)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(logfd >= 0 ? logfd : null, 2) < 0)
		_exit(127);
	execvp(argv[0], argv);
	fprintf(stderr, "nest-time: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int main(int argc, char **argv)
{
	struct marks m = { .n = 0 };
	double limit = 120;
	const char *logname = NULL;
	int opt, fds[2], logfd = -1, timed_out = 0, status;
	unsigned char first_byte = 0;
	double first = -1, t0, end;
	char line[LINE_MAX_LEN];
	size_t len = 0;

	while ((opt = getopt(argc, argv, "t:o:m:x:")) != -1) {
		if (opt == 't')
			limit = atof(optarg);
		else if (opt == 'o')
			logname = optarg;
		else if ((opt == 'm' || opt == 'x') && m.n < MAX_MARKS) {
			m.exact[m.n] = opt == 'x';
			m.text[m.n++] = optarg;
		}
		else
			usage();
	}
	if (optind >= argc || limit <= 0)
		usage();
	for (int i = 0; i < m.n; i++)
		m.at[i] = -1;
	if (logname && (logfd = open(logname, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		fprintf(stderr, "nest-time: %s: %s\n", logname, strerror(errno));
		return 2;
	}
	if (pipe(fds) < 0)
		return 2;
	t0 = now();
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0)
		child(argv + optind, fds[1], logfd);
	close(fds[1]);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		double left = t0 + limit - now();
		char buf[65536];

		if (left <= 0 && !timed_out) {
			timed_out = 1;
			kill(pid, SIGKILL);
		}
		if (poll(&p, 1, left > 0 ? (int)(left * 1000) + 1 : 10000) <= 0)
			continue;
		ssize_t n = read(fds[0], buf, sizeof(buf));
		double t = now() - t0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (first < 0) {
			first = t;
			first_byte = (unsigned char)buf[0];
		}
		if (logfd >= 0 && write(logfd, buf, n) != n)
			logfd = -1;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || len == sizeof(line) - 1) {
				line[len] = 0;
				match_line(&m, line, t);
				len = 0;
			} else if (buf[i] != '\r') {
				line[len++] = buf[i];
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	end = now() - t0;
	line[len] = 0;
	match_line(&m, line, end);
	printf("rc=%d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	if (first < 0)
		printf(" byte=-- first=-");
	else
		printf(" byte=%02x first=%.6f", first_byte, first);
	for (int i = 0; i < m.n; i++) {
		if (m.at[i] < 0)
			printf(" m%d=-", i);
		else
			printf(" m%d=%.6f", i, m.at[i]);
	}
	printf(" exit=%.6f%s\n", end, timed_out ? " timeout=1" : "");
	return 0;
}
