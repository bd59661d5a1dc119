/*
 * The "process" backend (kqemu.h), qvm's side: proc.c (the ops),
 * spawn.c (the child's start and end), check.c (what crosses to and from
 * the child, checked).
 */
#ifndef QVM_KQEMU_PROC_H
#define QVM_KQEMU_PROC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include "mailbox.h"

struct proc_host {
	uint64_t xcr0;          /* XGETBV(0) */
	uint32_t xsave_size;    /* CPUID.(0xD,0).EBX: for xcr0 */
	uint32_t mxcsr_mask;    /* FXSAVE's, 0xffbf when it says 0 */
	/* component i: offset and size in the standard format */
	uint32_t comp_off[64], comp_size[64];
};

/* One child: one address space, i.e. one mapping context (kqemu.h,
 * KQEMU_INFO_CONTEXTS), started when the context first runs. */
struct proc_child {
	pid_t pid;              /* 0: not started, or reaped */
	int cpu;                /* the host CPU it is bound to, -1: none */
	int mbox_fd;
	struct proc_mailbox *mb;
};

struct proc_backend {
	struct proc_child ch[KQEMU_CONTEXTS];
	unsigned nr_started;    /* children started so far (for info) */
	int ram_fd;             /* the engine's, open while we are */
	uint64_t ram_size;
	uint32_t spin;          /* polls of done_seq before FUTEX_WAIT */
	bool pin;               /* bind each child to exec()'s CPU (QVM_KQEMU_PIN) */
	bool tsc_trap_works;    /* the first child's start-up probe */
	atomic_int kick_pending, in_exec;
	atomic_int running;     /* pid of the child in exec() now, for kick() */
	char dead[128];         /* why a child is gone, "" while all live */
	struct proc_host host;
	struct kqemu_run snap;   /* the child's answer, copied once */
};

/* spawn.c */
/* Start b->ch[i] (mailbox and process); -1 with err. */
int proc_spawn(struct proc_backend *b, unsigned i, char *err, size_t err_len);
/* Is child i still there?  false and b->dead set when not. */
bool proc_alive(struct proc_backend *b, unsigned i);
/* End every child and free its mailbox. */
void proc_reap(struct proc_backend *b);

/* check.c */
bool proc_tsc_trap(const struct kqemu_cpu_state *s);
void proc_host_probe(struct proc_host *h);
/* NULL, or what is wrong with the request */
const char *proc_check_request(const struct proc_backend *b, const struct kqemu_run *run);
/* The child's answer into run, checked (guest code can write the
 * mailbox): false with run->message when it cannot be. */
bool proc_take_exit(const struct proc_backend *b, const struct kqemu_run *out,
		    struct kqemu_run *run);

#endif
