/*
 * kqemu-kmod internals: one vCPU context per open /dev/kqemu.
 *
 * The context starts with its own IDT so that the exception entry
 * (kqemu-entry.S) finds the context from the IDT base (SIDT) without
 * touching GS or any register.  The fields kqemu-entry.S uses are at fixed
 * offsets (KQ_OFF_*), checked by static_assert in kqemu-switch.c.
 */
#ifndef KQEMU_INT_H
#define KQEMU_INT_H

/* offsets of the fields kqemu-entry.S reads and writes */
#define KQ_OFF_GREGS    4096    /* u64[16], RAX..R15 */
#define KQ_OFF_GRIP     4224
#define KQ_OFF_GRFLAGS  4232
#define KQ_OFF_GCS      4240
#define KQ_OFF_GSS      4248
#define KQ_OFF_VECTOR   4256
#define KQ_OFF_ERROR    4264
#define KQ_OFF_CR2      4272
#define KQ_OFF_GDS      4280
#define KQ_OFF_GES      4288
#define KQ_OFF_GFS      4296
#define KQ_OFF_GGS      4304
#define KQ_OFF_HRSP     4312
#define KQ_OFF_HCR3     4320
#define KQ_OFF_SCR3     4328
#define KQ_OFF_HGSBASE  4336
#define KQ_OFF_MONFAULT 4344    /* u64: vector + 1 of a fault at CPL 0 */
#define KQ_OFF_PENDING  4352    /* u64[4]: vectors noted at CPL 0 (NMI, #MC) */
#define KQ_OFF_SIDTR    4384    /* 10 bytes: our IDT's limit and base */
#define KQ_OFF_HIDTR    4400    /* 10 bytes: the host's */
#define KQ_OFF_MONRIP   4416    /* rip of that fault */
#define KQ_OFF_FAULTTEST 4424   /* u64: make this entry fault at CPL 0 (a test) */

#ifndef __ASSEMBLY__
#include <linux/mutex.h>
#include <linux/sched.h>
#include <asm/desc_defs.h>
#include "kqemu.h"

struct kq_ctx {
	gate_desc idt[256];
	/* --- kqemu-entry.S's part (KQ_OFF_*) --- */
	u64 gregs[16];
	u64 grip, grflags, gcs, gss;
	u64 vector, error, cr2;
	u64 gds, ges, gfs, ggs;
	u64 host_rsp, host_cr3, shadow_cr3, host_gsbase;
	u64 monitor_fault;
	u64 pending[4];
	u8 shadow_idtr[16];
	u8 host_idtr[16];
	u64 monitor_rip;
	u64 fault_test;
	/* --- C only --- */
	struct mutex lock;              /* one KQEMU_EXEC at a time */
	struct mm_struct *mm;           /* the creator's: KQEMU_EXEC only there */
	u64 ram_host, ram_size;
	bool created;
	int kick;                       /* KQEMU_KICK pending */
	struct task_struct *running;    /* in KQEMU_EXEC, for kick_process */
	spinlock_t run_lock;            /* guards running against close */
	/* shadow page tables (kqemu-mmu.c) */
	u64 *top;                       /* the page CR3 points at */
	u64 *pml4;                      /* = top, or the P4D under a 5-level top */
	unsigned long nr_pinned;
	struct list_head tables;        /* every table page but top */
	/* host values the switch restores (kqemu-switch.c) */
	u64 host_efer, host_sysenter_cs, host_fsbase, host_kgsbase, host_pkru;
	u16 host_ds, host_es, host_fs, host_gs;
	/* the run being served, in kernel memory */
	struct kqemu_run run;
};

/* what the host runs guest code with (kqemu-main.c, at load) */
struct kq_host {
	u64 xcr0;               /* user XSAVE components guest code gets */
	u32 xsave_size;
	u32 mxcsr_mask;
	u32 comp_off[64], comp_size[64];
	bool pcid, pku, nx, la57;
};
extern struct kq_host kq_host;

/* kqemu-mmu.c */
int kq_mmu_init(struct kq_ctx *c);
void kq_mmu_flush(struct kq_ctx *c);
void kq_mmu_free(struct kq_ctx *c);
const char *kq_mmu_unmap(struct kq_ctx *c, u64 lin);
const char *kq_mmu_map(struct kq_ctx *c, const struct kqemu_map *m);
void kq_mmu_copy_kernel_half(struct kq_ctx *c);
int kq_mmu_read(struct kq_ctx *c, u64 lin, u8 *buf, int n);

/* kqemu-switch.c */
void kq_ctx_init_idt(struct kq_ctx *c);
int kq_exec(struct kq_ctx *c, struct kqemu_run *run);

/* kqemu-entry.S */
void kq_switch(struct kq_ctx *c);
extern int kq_fault_test;
extern const u8 kq_idt_stubs[];
#define KQ_STUB_SIZE 16
#endif
#endif
