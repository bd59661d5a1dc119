/* The parsed command line (QEMU-compatible options; see options.c). */
#ifndef QVM_CONFIG_H
#define QVM_CONFIG_H

#include "qvm.h"

#define MAX_DEBUG_EXITS 4

struct debug_exit_cfg {
	uint16_t iobase, iosize;
};

struct config {
	uint64_t ram_size;              /* -m, bytes */
	unsigned smp_cpus, smp_max_cpus;/* -smp */
	unsigned sockets, cores, threads;
	const char *accel;              /* -accel / -machine accel= / -enable-kvm; NULL = pick */
	bool no_kqemu;
	const char *cpu_model;          /* -cpu, default "host" under kvm */
	const char *kernel, *initrd, *append, *bios;
	const char *serial;             /* -serial spec; NULL = default */
	const char *monitor;            /* -monitor spec; NULL = default */
	bool nographic, display_none;
	bool no_reboot, no_shutdown, start_paused;
	const char *name;
	const char *logfile;            /* -D */
	int log_mask;                   /* -d */
	struct debug_exit_cfg debug_exit[MAX_DEBUG_EXITS];
	unsigned nr_debug_exits;
};

/* Parse argv into cfg.  Returns 0 to run, 1 to exit successfully (-h,
 * -version printed), -1 on error (one-line message printed). */
int config_parse(struct config *cfg, int argc, char **argv);
/* Parse a size with optional K/M/G/T suffix (default unit: def_shift). */
int parse_size(const char *s, unsigned def_shift, uint64_t *out);

#endif
