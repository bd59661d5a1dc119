/* Error reporting and the -d / -D debug log. */
#ifndef QVM_LOG_H
#define QVM_LOG_H

#include <stdbool.h>

/* -d categories, a bit each (QEMU names where they exist). */
enum log_cat {
	LOG_GUEST_ERRORS = 1 << 0, /* guest did something the hardware rejects */
	LOG_UNIMP = 1 << 1,        /* guest touched an unimplemented feature */
	LOG_INT = 1 << 2,          /* interrupts, exceptions, resets */
	LOG_CPU = 1 << 3,          /* vCPU state at exits and resets */
	LOG_EXEC = 1 << 4,         /* every exit from the engine */
	LOG_IOPORT = 1 << 5,       /* port I/O dispatch */
	LOG_MMIO = 1 << 6,         /* MMIO dispatch */
	LOG_ACCEL = 1 << 7,        /* engine choice and capabilities */
};

/* Parse "cat1,cat2" ("all": every category) into *mask; 0, or -1 on an
 * unknown name (message printed). */
int log_parse_mask(const char *list, int *mask);
void log_print_categories(void);
void log_set_mask(int mask);
int log_open_file(const char *path); /* -D; 0 or -1 with message */
extern int log_mask;

static inline bool log_enabled(enum log_cat cat) { return (log_mask & cat) != 0; }
/* Write one line to the log (-D file, else stderr) when cat is enabled. */
void qvm_log(enum log_cat cat, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The program name error lines start with ("qvm"; qvm-img sets its own). */
void log_set_prog(const char *name);
/* One line "qvm: <message>" on stderr. */
void qvm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* qvm_error, then exit(1) through the normal exit path (atexit handlers run,
 * so the terminal is restored). */
_Noreturn void qvm_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
