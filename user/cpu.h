/*
 * The architectural state of one x86 vCPU, shared by every engine so a
 * vCPU can move between engines and its state can be saved and migrated;
 * and the vCPU thread.
 */
#ifndef QVM_CPU_H
#define QVM_CPU_H

#include <pthread.h>
#include "qvm.h"

struct machine;

struct x86_segment {
	uint64_t base;
	uint32_t limit;         /* byte granular, already scaled by G */
	uint16_t selector;
	uint8_t type, s, dpl, present, avl, l, db, g; /* descriptor fields */
	bool unusable;
};

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

enum { R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI,
       R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15 };
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_NR };

/* XSAVE area as KVM_GET_XSAVE returns it (SDM Vol. 1, 13.4): the legacy
 * FXSAVE region (0-511), the XSAVE header (512-575: XSTATE_BV at 512,
 * XCOMP_BV at 520), then the extended components at the offsets CPUID
 * leaf 0xD gives (AVX's upper YMM halves at 576).  Standard (not
 * compacted) form. */
#define XSAVE_AREA_SIZE 4096
#define XSAVE_HDR_OFFSET 512
#define XSAVE_YMMH_OFFSET 576
/* XCR0 bits (SDM Vol. 1, 13.3) */
#define XCR0_X87 1ULL
#define XCR0_SSE 2ULL
#define XCR0_AVX 4ULL

/* The xAPIC register page as KVM_GET_LAPIC gives it: register at offset
 * off (SDM Vol. 3, table 11-1) is the u32 at page[off], 1 KiB. */
#define LAPIC_PAGE_SIZE 1024

/* Pending and injected events, with KVM_GET_VCPU_EVENTS' meaning: an
 * exception or interrupt "injected" was being delivered when the vCPU
 * stopped and is delivered again first; "pending" not yet started. */
struct x86_events {
	bool exc_injected, exc_pending, exc_has_error;
	uint8_t exc_vector;
	uint32_t exc_error;
	bool irq_injected, irq_soft;
	uint8_t irq_vector;
	uint8_t shadow;         /* interrupt shadow: 1 after STI, 2 after MOV SS */
	bool nmi_injected, nmi_pending, nmi_masked;
	uint8_t sipi_vector;    /* with MP_SIPI_RECEIVED */
};

/* IA32_MTRRCAP, IA32_MTRR_DEF_TYPE, the 11 fixed-range MTRRs (64K_00000,
 * 16K_80000, 16K_A0000, 4K_C0000 .. 4K_F8000) and 8 variable pairs
 * (PHYSBASEn, PHYSMASKn) (SDM Vol. 3, 12.11). */
#define MTRR_FIXED_NR 11
#define MTRR_VAR_NR 8
struct x86_mtrrs {
	uint64_t cap, def_type;
	uint64_t fixed[MTRR_FIXED_NR];
	uint64_t var[2 * MTRR_VAR_NR];
};
/* The MSR numbers of fixed[] in order (cpu.c); var[i] is MSR 0x200 + i. */
extern const uint32_t x86_mtrr_fixed_msrs[MTRR_FIXED_NR];

struct x86_cpu_state {
	uint64_t regs[16];
	uint64_t rip, rflags;
	struct x86_segment seg[S_NR], tr, ldt;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
	uint64_t apic_base;
	uint64_t dr[8];
	uint64_t xcr0;
	/* MSRs */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t tsc, tsc_aux, pat, misc_enable, tsc_deadline;
	uint64_t pkrs;          /* IA32_PKRS (0 where the engine has no PKS) */
	struct x86_mtrrs mtrr;
	/* FPU/SSE/AVX: fxsave is the first 512 bytes of xsave (SDM Vol. 1,
	 * 10.5.1); an engine without XSAVE fills the header with XSTATE_BV
	 * = x87 | SSE. */
	union {
		uint8_t xsave[XSAVE_AREA_SIZE];
		uint8_t fxsave[512];
	} __attribute__((aligned(64)));
	struct x86_events ev;
	bool halted;            /* mp_state == MP_HALTED */
	uint32_t mp_state;      /* enum vcpu_mp_state */
	uint8_t lapic[LAPIC_PAGE_SIZE]; /* only with has_lapic */
	bool has_lapic;
};

/* KVM's mp_state values in our words: WAIT_SIPI is KVM's UNINITIALIZED
 * (an AP after reset or INIT); INIT_RECEIVED and SIPI_RECEIVED have an
 * INIT / a SIPI (ev.sipi_vector) waiting to be taken. */
enum vcpu_mp_state { MP_RUNNABLE, MP_WAIT_SIPI, MP_HALTED, MP_INIT_RECEIVED,
		     MP_SIPI_RECEIVED, MP_STATE_NR };

struct vcpu {
	struct machine *m;
	unsigned index;         /* 0 is the bootstrap processor */
	uint32_t apic_id;
	pthread_t thread;
	bool thread_started;
	void *accel_state;      /* the engine's per-vCPU data */
	struct lapic *lapic;    /* qvm's own LAPIC (tcg, kqemu), else NULL */
	volatile bool kicked;   /* set by vcpu_kick, cleared by the vCPU */
	uint64_t exits;         /* exits handled by qvm, for info cpus */
	uint64_t pio_exits, mmio_exits;
	pid_t tid;              /* host thread id, for info cpus */
	/* This vCPU asked for a reset or shutdown (a port write to 0xcf9, the
	 * i8042, isa-debug-exit): it runs no more guest code until the main
	 * thread has acted, as a CPU stops at its reset line. */
	bool wait_for_main;
};

/* Reset values of the x86 state (SDM Vol. 3, 10.1.1 table 10-1). */
void x86_cpu_reset_state(struct x86_cpu_state *s, bool bsp);
/* Print the state in the style of QEMU's "info registers". */
struct chardev;
void x86_cpu_dump(const struct x86_cpu_state *s, void (*print)(void *, const char *), void *opaque);

/* Start every vCPU thread; they run the engine loop until the machine
 * ends.  vcpu_kick makes a vCPU leave guest mode soon. */
int vcpus_start(struct machine *m);
void vcpus_join(struct machine *m);
void vcpu_kick(struct vcpu *v);
/* The vCPU whose thread calls this, or NULL on any other thread. */
struct vcpu *vcpu_current(void);



/* The x86 APIC ID of vCPU index i under the -smp topology: thread, core
 * and socket fields of the widths CPUID leaf 0xB reports (topology.c). */
struct config;
uint32_t topo_apic_id(const struct config *cfg, unsigned index);
unsigned topo_thread_bits(const struct config *cfg);
unsigned topo_core_bits(const struct config *cfg);

/* -cpu help: the CPU models; is NAME one of them (cpu-models.c) */
void cpu_models_print(void);
bool cpu_model_known(const char *name);
#endif
