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

struct x86_cpu_state {
	uint64_t regs[16];
	uint64_t rip, rflags;
	struct x86_segment seg[S_NR], tr, ldt;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
	uint64_t apic_base;
	uint64_t dr[8];
	/* MSRs a kernel uses */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t tsc, tsc_aux, pat;
	/* FPU/SSE in FXSAVE layout (SDM Vol. 1, 10.5.1). */
	uint8_t fxsave[512] __attribute__((aligned(16)));
	/* Pending events */
	bool halted;
	bool nmi_pending;
	int32_t pending_irq;    /* vector, or -1 */
	uint32_t mp_state;      /* runnable, waiting for SIPI, halted ... */
};

enum vcpu_mp_state { MP_RUNNABLE, MP_WAIT_SIPI, MP_HALTED };

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

/* -cpu help: the CPU models (kvm-cpuid.c). */
void cpu_models_print(void);
bool cpu_model_known(const char *name);
#endif
