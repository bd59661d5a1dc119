/*
 * The engine interface: one table of operations per engine (kvm, tcg,
 * kqemu).  The machine and the vCPU threads call only these.
 */
#ifndef QVM_ACCEL_H
#define QVM_ACCEL_H

#include "qvm.h"
#include "cpu.h"
#include "state.h"

struct machine;

enum vcpu_exit {
	VCPU_EXIT_AGAIN,        /* handled (I/O, MMIO, kick): run again */
	VCPU_EXIT_HALT,         /* the vCPU halted with interrupts off etc. */
	VCPU_EXIT_RESET,        /* triple fault / shutdown: machine reset */
	VCPU_EXIT_ERROR,        /* unrecoverable: message printed */
};

struct accel_ops {
	const char *name;
	/* Can this host run the engine?  false with a reason in why. */
	bool (*available)(char *why, size_t why_len);
	/* Asked for by name though available() said no: can it run all the
	 * same (a software-backed /dev/kvm, slowly)?  NULL: no. */
	bool (*usable)(void);
	/* Create the VM, the irqchip and the guest memory slots. */
	int (*init)(struct machine *m);
	/* RAM/ROM region added or removed after init. */
	int (*memory_changed)(struct machine *m);
	int (*vcpu_init)(struct vcpu *v);
	/* Called on the vCPU's own thread before the first run. */
	int (*vcpu_thread_init)(struct vcpu *v);
	/* Run guest code until something qvm must act on. */
	enum vcpu_exit (*vcpu_run)(struct vcpu *v);
	int (*get_state)(struct vcpu *v, struct x86_cpu_state *s);
	/* The state of a paused vCPU for a save or migration: as get_state,
	 * with what the engine keeps aside until the next run (an exit's
	 * unfinished instruction, an expired timer) applied first.  NULL:
	 * get_state has it all. */
	int (*save_state)(struct vcpu *v, struct x86_cpu_state *s);
	/* Before a save reads RAM and devices, with the vCPUs paused: finish
	 * what they left half done (KVM: an I/O instruction).  NULL: none. */
	int (*prepare_save)(struct machine *m);
	int (*set_state)(struct vcpu *v, const struct x86_cpu_state *s);
	/* Put the vCPU in its power-on state (BSP runs, APs wait for SIPI),
	 * its LAPIC too (SDM Vol. 3, 10.1 and 11.4.7.1).  What firmware then
	 * changes is the board's (board_ops.enter), through set_state and: */
	int (*vcpu_reset)(struct vcpu *v);
	/* Write a LAPIC register (offset in the xAPIC page, SDM Vol. 3 table
	 * 11-1) as a guest's MMIO write would, or an MSR as WRMSR would; the
	 * vCPU is not running.  0, or -1 with a message. */
	int (*lapic_write)(struct vcpu *v, uint32_t offset, uint32_t value);
	int (*msr_write)(struct vcpu *v, uint32_t index, uint64_t value);
	/* Reset the engine's own devices (in-kernel irqchip, PIT). */
	int (*machine_reset)(struct machine *m);
	/* The engine's own state beyond the vCPUs (in-kernel PIC, IOAPIC,
	 * PIT, clock), with the vCPUs paused: save appends it to s (0, or -1
	 * with a message); load reads it back from an untrusted s (0, or -1
	 * with a message). */
	int (*save)(struct machine *m, struct state_buf *s);
	int (*load)(struct machine *m, struct state_buf *s);
	void (*kick)(struct vcpu *v);
	/* info accel lines; info kvm's (NULL: "kvm support: disabled") */
	void (*info)(struct machine *m, void (*print)(void *, const char *), void *opaque);
	void (*info_kvm)(struct machine *m, void (*print)(void *, const char *), void *opaque);
	/* info kqemu's (NULL: "kqemu support: disabled") */
	void (*info_kqemu)(struct machine *m, void (*print)(void *, const char *), void *opaque);
	void (*vcpu_destroy)(struct vcpu *v);
	void (*destroy)(struct machine *m);
};

struct accel {
	const struct accel_ops *ops;
	void *state;
	void *kqemu;            /* kqemu's engine state (TCG keeps state) */
};

extern const struct accel_ops kvm_accel_ops;
extern const struct accel_ops tcg_accel_ops;
extern const struct accel_ops kqemu_accel_ops;

/* Find an engine by name ("kvm", "tcg", "kqemu"); NULL if not built. */
const struct accel_ops *accel_find(const char *name);
/* The best engine the host offers: kvm with hardware support, else kqemu
 * (a backend with cheap exits, kqemu_auto_ok, unless no_kqemu: -no-kqemu),
 * else tcg; each reason under -d accel.  NULL with a reason when none can run. */
const struct accel_ops *accel_pick(bool no_kqemu, char *why, size_t why_len);
/* The engine for -accel name (NULL: accel_pick's); NULL with a one-line
 * message when it is not built or cannot run here. */
const struct accel_ops *accel_choose(const char *name, bool no_kqemu);

/* Whether the automatic choice should take kqemu (a backend whose exits
 * are cheap enough: backends.c); false with the reason. */
bool kqemu_auto_ok(char *why, size_t why_len);
/* kqemu's backends, a line each: available, or why not (qvm
 * -kqemu-backends, which scripts/kvm-ok runs). */
void kqemu_backends_report(void (*print)(void *, const char *), void *opaque);

#endif
