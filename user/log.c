/* Error reporting and the -d / -D debug log. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "qvm.h"

int log_mask;
static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	const char *name;
	int mask;
	const char *help;
} log_categories[] = {
	{ "guest_errors", LOG_GUEST_ERRORS, "guest actions the hardware would reject" },
	{ "unimp", LOG_UNIMP, "guest use of unimplemented devices and features" },
	{ "int", LOG_INT, "interrupts, exceptions and resets" },
	{ "cpu", LOG_CPU, "vCPU state on resets and fatal exits" },
	{ "exec", LOG_EXEC, "every exit from the engine" },
	{ "ioport", LOG_IOPORT, "port I/O accesses" },
	{ "mmio", LOG_MMIO, "MMIO accesses" },
	{ "accel", LOG_ACCEL, "engine choice and capabilities" },
};

void log_print_categories(void)
{
	printf("Log items (comma separated):\n");
	for (size_t i = 0; i < ARRAY_SIZE(log_categories); i++)
		printf("%-13s %s\n", log_categories[i].name, log_categories[i].help);
	printf("%-13s %s\n", "all", "every category above");
}

int log_parse_mask(const char *list, int *out)
{
	int mask = 0;
	char *copy = strdup(list), *save = NULL;
	if (!copy) {
		qvm_error("-d: out of memory");
		return -1;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool all = !strcmp(tok, "all"), found = false;
		for (size_t i = 0; i < ARRAY_SIZE(log_categories); i++) {
			if (all || !strcmp(tok, log_categories[i].name)) {
				mask |= log_categories[i].mask;
				found = true;
			}
		}
		if (!found) {
			qvm_error("-d: unknown log category '%s' (try -d help)", tok);
			free(copy);
			return -1;
		}
	}
	free(copy);
	*out = mask;
	return 0;
}

void log_set_mask(int mask)
{
	log_mask = mask;
}

/* -D PATH: created or truncated like QEMU's log file.  A FIFO is opened
 * without waiting: with a reader (-D >(grep ...)) it is the log, with none
 * it is refused (ENXIO) instead of hanging qvm in open(2).  Writes then
 * block as usual, so a slow reader loses no lines. */
int log_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0666);
	if (fd < 0) {
		qvm_error("-D %s: %s", path,
			  errno == ENXIO ? "a FIFO with no reader" : strerror(errno));
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	FILE *f = fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		qvm_error("-D %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	log_file = f;
	return 0;
}

void qvm_log(enum log_cat cat, const char *fmt, ...)
{
	if (!log_enabled(cat))
		return;
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&log_lock);
	FILE *f = log_file ? log_file : stderr;
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	/* stderr may be a raw terminal: keep lines at the left margin */
	pthread_mutex_unlock(&log_lock);
	va_end(ap);
}

static const char *prog = "qvm";

void log_set_prog(const char *name)
{
	prog = name;
}

static void verror(const char *fmt, va_list ap)
{
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputs("\n", stderr);
	pthread_mutex_unlock(&log_lock);
}

void qvm_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
}

void qvm_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	exit(1);
}
