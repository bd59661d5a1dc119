/* Error reporting and the -d / -D debug log. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

int log_parse_mask(const char *list)
{
	int mask = 0;
	char *copy = strdup(list), *save = NULL;
	if (!copy)
		return -1;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int found = 0;
		if (!strcmp(tok, "all")) {
			mask |= ~0;
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(log_categories); i++) {
			if (!strcmp(tok, log_categories[i].name)) {
				mask |= log_categories[i].mask;
				found = 1;
			}
		}
		if (!found) {
			qvm_error("-d: unknown log category '%s' (try -d help)", tok);
			free(copy);
			return -1;
		}
	}
	free(copy);
	return mask;
}

void log_set_mask(int mask)
{
	log_mask = mask;
}

int log_open_file(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		qvm_error("-D %s: %s", path, strerror(errno));
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
