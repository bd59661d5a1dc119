/*
 * The run loop: guest code is decoded once into blocks (straight-line runs
 * of struct insn within one page), cached per vCPU by guest-physical
 * address and code size, and run by calling each instruction's handler.
 * Between blocks the loop takes kicks and interrupts; exceptions arrive
 * here by longjmp from tcg_raise() and are delivered through the IDT.
 */
#include <stdlib.h>
#include "block.h"
#include "jit/jit.h"
#include "accel.h"
#include "hw/apic.h"

/* ------------------------------------------------------------------ */
/* Exceptions                                                          */

/* The longjmp value that says: not an exception, the instruction goes
 * back to kqemu's native execution (tcg_kqemu_native). */
#define JMP_KQEMU_NATIVE 2

void tcg_kqemu_native(struct tcg_cpu *c)
{
	if (c->kqemu_stretch && tcg_cpl(c) == 3)
		longjmp(c->jmp, JMP_KQEMU_NATIVE);
}

_Noreturn void tcg_raise(struct tcg_cpu *c, int vec, int errcode)
{
	/* kqemu: what TCG cannot run, the host CPU may (EVEX, AMX ...) */
	if (vec == EXC_UD)
		tcg_kqemu_native(c);
	c->exc_vec = vec;
	c->exc_err = errcode;
	longjmp(c->jmp, 1);
}

_Noreturn void tcg_raise_pf(struct tcg_cpu *c, uint64_t lin, int errcode)
{
	c->s.cr2 = lin;
	tcg_raise(c, EXC_PF, errcode);
}

/* ------------------------------------------------------------------ */
/* Running                                                             */

static inline uint64_t rip_mask(const struct tcg_cpu *c)
{
	if (tcg_code64(c))
		return ~0ULL;
	return c->s.seg[S_CS].db ? 0xffffffffULL : 0xffff;
}

static void run_block(struct tcg_cpu *c, const struct tcg_block *b, bool one)
{
	uint64_t mask = rip_mask(c);
	unsigned n = one ? 1 : b->n;
	for (unsigned k = 0; k < n; k++) {
		const struct insn *i = &b->insns[k];
		c->next_rip = (c->s.rip + i->len) & mask;
		i->fn(c, i);
		c->s.rip = c->next_rip;
		/* read by "info kvm"/"info accel" from the monitor's thread */
		__atomic_store_n(&c->insns, c->insns + 1, __ATOMIC_RELAXED);
		if (c->stop)
			break;
	}
	c->stop = false;
}

/* INIT (SDM Vol. 3, 10.4.1 and table 10-1): the power-on state but for
 * the APIC base, MTRRs and the x87/SSE state kept; the BSP restarts at
 * the reset vector, APs wait for a SIPI. */
static void cpu_init_event(struct tcg_cpu *c)
{
	struct x86_cpu_state s;
	bool bsp = c->s.apic_base & (1 << 8);
	x86_cpu_reset_state(&s, bsp);
	s.apic_base = c->s.apic_base;
	uint32_t id[4];
	tcg_cpuid(c, 1, 0, id);
	s.regs[R_RDX] = id[0];  /* the processor signature (SDM Vol. 3, 10.1.2) */
	s.efer = 0;
	struct tcg_fpu fpu = c->fpu;
	tcg_set_state(c, &s);
	c->fpu = fpu;
	c->s.mp_state = bsp ? MP_RUNNABLE : MP_WAIT_SIPI;
}

/* SIPI: start at vector << 12 in real mode (SDM Vol. 3, 9.4.4.1). */
static void cpu_sipi(struct tcg_cpu *c, int vector)
{
	struct x86_segment *cs = &c->s.seg[S_CS];
	cs->selector = vector << 8;
	cs->base = (uint64_t)vector << 12;
	c->s.rip = 0;
	c->s.mp_state = MP_RUNNABLE;
	c->halted = false;
}

/* Events from the LAPIC, between blocks. */
static void poll_events(struct tcg_cpu *c)
{
	struct lapic *a = c->lapic;
	uint32_t ev = lapic_events(a);
	if (!ev)
		return;
	if ((ev & LAPIC_EV_INIT) && lapic_take_init(a))
		cpu_init_event(c);
	if (ev & LAPIC_EV_SIPI) {
		int vec = lapic_take_sipi(a);
		if (vec >= 0 && c->s.mp_state == MP_WAIT_SIPI)
			cpu_sipi(c, vec);
	}
	if (c->s.mp_state == MP_WAIT_SIPI)
		return;
	if ((ev & LAPIC_EV_NMI) && !c->nmi_blocked && lapic_take_nmi(a)) {
		c->halted = false;
		c->nmi_blocked = true;
		tcg_deliver(c, EXC_NMI, NO_ERRCODE, INT_EXTERNAL, c->s.rip);
		return;
	}
	if ((ev & LAPIC_EV_INTR) && (c->s.rflags & FL_IF) && !c->inhibit_irq) {
		int vec = lapic_ack_interrupt(a);
		if (vec >= 0) {
			c->halted = false;
			qvm_log(LOG_INT, "cpu %u: interrupt 0x%x", c->v ? c->v->index : 0, vec);
			tcg_deliver(c, vec, NO_ERRCODE, INT_EXTERNAL, c->s.rip);
		}
	}
}

#define DR6_BS (1u << 14)

/* One instruction under the debug features (SDM Vol. 3, 18.3): with a
 * breakpoint enabled in DR7, with TF, or with a #DB trap held back.
 *  - RF (set by IRET or by a fault's pushed RFLAGS) suppresses the
 *    instruction breakpoints of this instruction and is cleared after it
 *    (18.3.1.1); clearing it before is the same, as every image of
 *    RFLAGS the instruction could push has RF clear or set by delivery;
 *  - an instruction breakpoint is a fault, before the instruction;
 *  - data and I/O hits (db_hits) and TF at its start (DR6.BS) are a trap
 *    after it, one #DB for all;
 *  - after MOV SS / POP SS (inhibit_db) that trap waits for the end of
 *    the next instruction, and an instruction breakpoint on that next
 *    instruction is not taken (6.8.3). */
static void run_debug_insn(struct tcg_cpu *c, const struct tcg_block *b, bool db_shadow)
{
	bool single_step = c->s.rflags & FL_TF;
	bool rf = c->s.rflags & FL_RF;
	c->s.rflags &= ~(uint64_t)FL_RF;
	c->db_hits = 0;
	if (c->dbg_on && !rf && !db_shadow)
		tcg_dbg_insn(c);
	run_block(c, b, true);
	c->db_pending |= c->db_hits | (single_step ? DR6_BS : 0);
	c->db_hits = 0;
	if (c->db_pending && !c->inhibit_db) {
		uint32_t bits = c->db_pending;
		c->db_pending = 0;
		tcg_dbg_trap(c, bits);
	}
}

int tcg_exec(struct tcg_cpu *c)
{
	switch (setjmp(c->jmp)) {
	case 0:
		break;
	case JMP_KQEMU_NATIVE:
		/* nothing of the instruction done; rip at it */
		c->stop = false;
		c->kqemu_stretch = false;
		c->kqemu_blocks = 0;
		c->kqemu_native = true;
		c->kqemu_left = true;
		return VCPU_EXIT_AGAIN;
	default:
		/* an exception: deliver it (which may raise and land here again);
		 * the instruction did not complete, so no debug trap follows */
		c->stop = false;
		c->db_hits = 0;
		c->db_pending = 0;
		c->inhibit_db = false;
		qvm_log(LOG_INT, "cpu %u: exception %d error 0x%x at %llx", c->v ? c->v->index : 0,
			c->exc_vec, c->exc_err, (unsigned long long)c->s.rip);
		tcg_deliver(c, c->exc_vec, c->exc_err, INT_EXCEPTION, c->s.rip);
		if (c->triple_fault) {
			c->triple_fault = false;
			c->exc_depth = 0;
			qvm_log(LOG_INT, "cpu %u: triple fault, resetting", c->v ? c->v->index : 0);
			return VCPU_EXIT_RESET;
		}
	}
	for (;;) {
		if (__atomic_load_n(&c->exit_request, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&c->exit_request, 0, __ATOMIC_RELAXED);
			return VCPU_EXIT_AGAIN;
		}
		if (c->lapic)
			poll_events(c);
		if (c->halted || c->s.mp_state == MP_WAIT_SIPI)
			return VCPU_EXIT_HALT;
		/* kqemu: user code goes back to the engine, to run natively */
		bool stretch = false;
		if (c->kqemu_exit_on_user) {
			if (tcg_kqemu_leave(c)) {
				c->kqemu_left = true;
				return VCPU_EXIT_AGAIN;
			}
			/* CPL 3 in TCG for the blocks after an exit alone
			 * (not kqemu_one's instruction, not a declined
			 * stretch): CPL changes only between blocks.  Their
			 * key has KEY_KQEMU_STRETCH: the JIT's blocks for it
			 * count themselves down in kqemu_blocks too. */
			stretch = tcg_cpl(c) == 3 && !c->kqemu_one && !c->kqemu_declined;
			c->kqemu_stretch = stretch;
		}
		bool shadow = c->inhibit_irq, db_shadow = c->inhibit_db;
		bool debug = c->dbg_on || (c->s.rflags & FL_TF) || c->db_pending;
		bool alone = shadow || debug || c->kqemu_one;
		c->inhibit_irq = false;
		c->inhibit_db = false;
		c->kqemu_one = false;
		struct tcg_block *b = tcg_find_block(c);
		if (debug) {
			run_debug_insn(c, b, db_shadow);
			continue;
		}
		/* RF lasts one instruction; without breakpoints it only shows
		 * in the RFLAGS a fault pushes, which sets it anyway */
		c->s.rflags &= ~(uint64_t)FL_RF;
		/* an instruction alone (interrupt shadow, kqemu's exit) is
		 * interpreted */
		if (c->jit_on && !alone && jit_exec(c, b))
			continue;
		run_block(c, b, alone);
	}
}

int tcg_deliver_event(struct tcg_cpu *c, int vec, int errcode, int kind, uint64_t ret_rip)
{
	/* a fault while delivering comes back here (tcg_raise), as in tcg_exec */
	c->kqemu_stretch = false;
	if (setjmp(c->jmp))
		tcg_deliver(c, c->exc_vec, c->exc_err, INT_EXCEPTION, c->s.rip);
	else
		tcg_deliver(c, vec, errcode, kind, ret_rip);
	c->stop = false;
	if (c->triple_fault) {
		c->triple_fault = false;
		c->exc_depth = 0;
		qvm_log(LOG_INT, "cpu %u: triple fault, resetting", c->v ? c->v->index : 0);
		return VCPU_EXIT_RESET;
	}
	return VCPU_EXIT_AGAIN;
}

int tcg_step(struct tcg_cpu *c)
{
	c->test_mode = true;
	if (setjmp(c->jmp)) {
		c->test_mode = false;
		c->stop = false;
		c->exc_depth = 0;
		c->test_fault = c->exc_vec;
		c->test_errcode = c->exc_err;
		return c->exc_vec;
	}
	struct tcg_block *b = tcg_find_block(c);
	c->inhibit_irq = false;
	if (!c->jit_on || !jit_step(c, b))
		run_block(c, b, true);
	c->test_mode = false;
	return -1;
}

/* ------------------------------------------------------------------ */
/* State                                                               */

struct tcg_cpu *tcg_cpu_new(struct machine *m, struct vcpu *v)
{
	tcg_ops_init();
	struct tcg_cpu *c = aligned_alloc(64, (sizeof(*c) + 63) & ~63ul);
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->jit_tb_mib = JIT_TB_DEFAULT_MIB;
	c->m = m;
	c->v = v;
	c->a20_mask = ~0ULL;
	c->misc_enable = TCG_MISC_ENABLE_RESET;
	/* nothing is on the fill lists yet: the first flush visits all */
	for (unsigned k = 0; k < MMU_NR; k++)
		c->tlb_nused[k] = TLB_USED_MAX + 1;
	struct x86_cpu_state s;
	x86_cpu_reset_state(&s, !v || v->index == 0);
	tcg_set_state(c, &s);
	tcg_mmu_register(c);
	return c;
}

void tcg_set_jit(struct tcg_cpu *c, bool on, unsigned tb_mib)
{
	tcg_flush_blocks(c);
	c->jit_on = on;
	c->jit_tb_mib = tb_mib ? tb_mib : JIT_TB_DEFAULT_MIB;
}

void tcg_cpu_free(struct tcg_cpu *c)
{
	if (!c)
		return;
	tcg_mmu_unregister(c);
	tcg_blocks_free(c);
	jit_free(c);
	free(c);
}

void tcg_set_state(struct tcg_cpu *c, const struct x86_cpu_state *s)
{
	c->s = *s;
	c->s.rflags = (s->rflags & ~FL_ARITH) | 2;
	tcg_set_cc(c, CC_OP_EFLAGS, 8, 0, s->rflags & FL_ARITH, 0);
	tcg_fpu_from_fxsave(&c->fpu, s->fxsave);
	c->halted = s->halted;
	c->inhibit_irq = false;
	c->inhibit_db = false;
	c->db_hits = 0;
	c->db_pending = 0;
	tcg_dbg_recompute(c);
	c->stop = false;
	c->exc_depth = 0;
	c->triple_fault = false;
	c->nmi_blocked = false;
	tcg_tlb_flush_all(c);
}

void tcg_get_state(struct tcg_cpu *c, struct x86_cpu_state *s)
{
	*s = c->s;
	s->rflags = tcg_rflags(c);
	tcg_fpu_to_fxsave(&c->fpu, s->fxsave);
	s->halted = c->halted;
}
