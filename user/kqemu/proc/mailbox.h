/*
 * The "process" backend's shared layout: what qvm's vCPU thread (proc.c)
 * and the child (stub.c) agree on.  Freestanding: the stub has no libc.
 *
 * The child lives in one 2 MiB hole of the lower half; its code, data,
 * stacks and this mailbox are all inside, everything else of its address
 * space is the guest's.
 */
#ifndef QVM_KQEMU_PROC_MAILBOX_H
#define QVM_KQEMU_PROC_MAILBOX_H

#include <stdint.h>
#include "kqemu/kqemu.h"

#define PROC_HOLE_START 0x3fffffe00000ull
#define PROC_HOLE_END   0x400000000000ull
/* Linux's TASK_SIZE with 4-level paging: the last user page */
#define PROC_USER_START 0x1000ull
#define PROC_USER_END   0x7ffffffff000ull

/* the mailbox, mapped MAP_SHARED from its memfd by both sides */
#define PROC_MBOX_ADDR  (PROC_HOLE_START + 0x100000ull)
#define PROC_MBOX_SIZE  0x4000ull

/* fds the child inherits at fixed numbers */
#define PROC_FD_RAM     3
#define PROC_FD_MBOX    4
#define PROC_FD_STUB    5       /* close-on-exec: the stub's own image */

/* the kick: a signal sent to the child while it runs guest code */
#define PROC_SIG_KICK   10      /* SIGUSR1 */

/* mbox.cmd: what a request asks */
enum proc_cmd {
	PROC_CMD_RUN = 1,       /* apply run's mappings, run guest code */
	PROC_CMD_EXIT = 2,      /* leave (close()) */
};

/*
 * The protocol: qvm fills run and cmd, then bumps req_seq and wakes it;
 * the child does the work, writes the outputs into run, sets done_seq =
 * req_seq and wakes it.  Both wait with cross-process futexes (the pages
 * are shared, so not FUTEX_PRIVATE).  The child sets ready = 1 when it is
 * up, or writes error[] and exits.
 *
 * Guest code runs in the child's address space and can write all of this
 * (see README.md): qvm treats every output as untrusted.
 */
struct proc_mailbox {
	uint32_t req_seq;
	uint32_t done_seq;
	uint32_t cmd;
	uint32_t ready;
	uint32_t spin;          /* polls of req_seq before FUTEX_WAIT */
	uint32_t tsc_trap;      /* in: 1 = RDTSC faults (PR_TSC_SIGSEGV) */
	uint32_t tsc_trap_works; /* out at start: RDTSC faulted when asked */
	uint32_t pad0;
	uint64_t hwcap2;        /* out at start: AT_HWCAP2 */
	char error[128];        /* the child's start-up failure */
	struct kqemu_run run;
};

_Static_assert(sizeof(struct proc_mailbox) <= PROC_MBOX_SIZE, "mailbox size");

#endif
