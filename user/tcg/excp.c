/*
 * Interrupt and exception delivery for the TCG engine (SDM Vol. 3,
 * chapter 6; Vol. 2, "INT n/INTO/INT3/INT1" and "IRET"): through the IVT
 * in real mode, the IDT's 8-byte gates in protected and v86 mode, its
 * 16-byte gates in IA-32e mode; #DF and triple-fault escalation; the
 * INT/INTO/INT3/INT1 and IRET instructions.
 *
 * Task gates and task switches (IRET with NT=1) are not implemented: they
 * raise #GP and log under -d unimp.
 */
#include "seg.h"
#include "log.h"

/* c->last_vector of an event that is not an exception (an interrupt,
 * INT n, INT3, INTO, INT1): for #DF purposes it is benign whatever its
 * vector (SDM Vol. 3, 6.15, interrupt 8: only exceptions combine). */
#define LASTVEC_EVENT 0x100

enum exc_class { EXC_BENIGN, EXC_CONTRIB, EXC_PAGE };

/* SDM Vol. 3, 6.15, table 6-4. */
static enum exc_class exc_class(int vec)
{
	if (vec == EXC_PF)
		return EXC_PAGE;
	if (vec == EXC_DE || (vec >= EXC_TS && vec <= EXC_GP))
		return EXC_CONTRIB;
	return EXC_BENIGN;
}

/* #DF on the pairs of table 6-5. */
static bool double_fault(int first, int second)
{
	enum exc_class a, b = exc_class(second);

	if (first & LASTVEC_EVENT)
		return false;
	a = exc_class(first);
	return (a == EXC_CONTRIB && b == EXC_CONTRIB) || (a == EXC_PAGE && b != EXC_BENIGN);
}

static bool has_errcode(int vec)
{
	return vec == EXC_DF || (vec >= EXC_TS && vec <= EXC_PF) || vec == EXC_AC || vec == 21;
}

/* Fault-class exceptions push RF = 1 (SDM Vol. 3, 18.3.1.1); #DB never
 * does: the handler of an instruction breakpoint sets it itself. */
static bool is_fault(int vec)
{
	switch (vec) {
	case EXC_DE: case EXC_BR: case EXC_UD: case EXC_NM: case 9:
	case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP: case EXC_PF:
	case EXC_MF: case EXC_AC: case EXC_XM: case 20: case 21:
		return true;
	default:
		return false;
	}
}

/* EXT, bit 0 of a selector error code: the fault happened while
 * delivering an event external to the program (SDM Vol. 3, 6.13). */
static int event_ext(enum int_kind kind)
{
	return kind == INT_SOFTWARE || kind == INT_SOFT_EXC ? 0 : 1;
}

static bool soft_int(enum int_kind kind)
{
	return kind == INT_SOFTWARE || kind == INT_SOFT_EXC;
}

static unsigned iopl(const struct tcg_cpu *c)
{
	return (c->s.rflags & FL_IOPL) >> 12;
}

/* The RFLAGS image pushed by delivery. */
static uint64_t pushed_flags(struct tcg_cpu *c, int vec, enum int_kind kind)
{
	uint64_t fl = tcg_rflags(c);

	if (kind == INT_EXCEPTION && is_fault(vec))
		fl |= FL_RF;
	else if (soft_int(kind))
		fl &= ~(uint64_t)FL_RF;
	return fl;
}

struct event {
	int vec, errcode;       /* errcode < 0: none pushed */
	enum int_kind kind;
	uint64_t ret_rip;
	int ext;
};

/* ------------------------------------------------------------------ */
/* Real mode: the IVT (SDM Vol. 3, 21.1.4)                             */

static void deliver_real(struct tcg_cpu *c, const struct event *e)
{
	uint64_t ent = (uint64_t)e->vec * 4;
	struct tseg_stack st;
	uint32_t ivt;

	if (ent + 3 > c->s.idt.limit)
		tcg_raise(c, EXC_GP, 0);
	ivt = tcg_lin_ld(c, (uint32_t)(c->s.idt.base + ent), 4, true);
	tseg_stack_current(c, &st);
	tseg_push(c, &st, 2, tcg_rflags(c));
	tseg_push(c, &st, 2, c->s.seg[S_CS].selector);
	tseg_push(c, &st, 2, e->ret_rip);

	c->s.regs[R_RSP] = st.sp;
	tcg_set_rflags(c, 0, FL_IF | FL_TF | FL_AC);
	tseg_load_real(c, S_CS, ivt >> 16);
	c->next_rip = ivt & 0xffff;
}

/* ------------------------------------------------------------------ */
/* Gates                                                               */

/* The target code segment of an interrupt or trap gate. */
struct gate {
	bool intr;              /* interrupt gate: clear IF */
	unsigned size;          /* push size: 2, 4 or 8 */
	uint16_t sel;
	uint64_t cd;            /* code descriptor */
	uint64_t off;
	unsigned ist;
	unsigned new_cpl;
	bool inner;             /* to a more privileged level: stack switch */
};

static _Noreturn void gate_fault(struct tcg_cpu *c, int vec, const struct event *e)
{
	tcg_raise(c, vec, e->vec * 8 + 2 + e->ext);
}

/* Checks common to 8- and 16-byte gates and their code segment (SDM
 * Vol. 2, INT n: "PROTECTED-MODE" and "IA-32e-MODE"). */
static void check_gate(struct tcg_cpu *c, const struct event *e, uint64_t d, struct gate *g)
{
	unsigned cpl = tcg_cpl(c);
	bool lm = tcg_long_mode(c);

	if (soft_int(e->kind) && desc_dpl(d) < cpl)
		tcg_raise(c, EXC_GP, e->vec * 8 + 2);
	if (!desc_present(d))
		gate_fault(c, EXC_NP, e);
	g->sel = gate_sel(d);
	if (sel_null(g->sel))
		tcg_raise(c, EXC_GP, e->ext);
	g->cd = tseg_desc_or_raise(c, g->sel, EXC_GP, e->ext, NULL);
	if (!desc_code(g->cd) || desc_dpl(g->cd) > cpl)
		tcg_raise(c, EXC_GP, sel_err(g->sel) | e->ext);
	if (lm && (!desc_l(g->cd) || desc_db(g->cd)))
		tcg_raise(c, EXC_GP, sel_err(g->sel) | e->ext);
	if (!desc_present(g->cd))
		tcg_raise(c, EXC_NP, sel_err(g->sel) | e->ext);
	g->inner = !desc_conforming(g->cd) && desc_dpl(g->cd) < cpl;
	g->new_cpl = g->inner ? desc_dpl(g->cd) : cpl;
}

/* ------------------------------------------------------------------ */
/* Protected and v86 mode: 8-byte gates                                */

static void read_gate32(struct tcg_cpu *c, const struct event *e, struct gate *g)
{
	uint64_t ent = (uint64_t)e->vec * 8, d;
	unsigned type;

	if (ent + 7 > c->s.idt.limit)
		gate_fault(c, EXC_GP, e);
	d = tcg_lin_ld(c, (uint32_t)(c->s.idt.base + ent), 8, true);
	type = desc_type(d);
	if (!desc_s(d) && type == SYS_TASK) {
		qvm_log(LOG_UNIMP, "tcg: vector %#x through a task gate not implemented", e->vec);
		gate_fault(c, EXC_GP, e);
	}
	/* 16/32-bit interrupt and trap gates: types 6, 7, 14, 15 */
	if (desc_s(d) || (type & 6) != 6)
		gate_fault(c, EXC_GP, e);
	check_gate(c, e, d, g);
	g->intr = !(type & 1);
	g->size = type & 8 ? 4 : 2;
	g->off = g->size == 4 ? gate_off32(d) : d & 0xffff;
	g->ist = 0;
}

static void deliver_prot(struct tcg_cpu *c, const struct event *e)
{
	bool v86 = tcg_v86(c);
	struct x86_segment nss;
	struct tseg_stack st;
	uint64_t ssd = 0;
	uint16_t ss = 0;
	struct gate g;

	/* INT n in v86 mode is IOPL-sensitive (no VME: SDM Vol. 3, 20.3). */
	if (v86 && e->kind == INT_SOFTWARE && iopl(c) < 3)
		tcg_raise(c, EXC_GP, 0);
	read_gate32(c, e, &g);
	/* From v86 mode only to a ring-0 non-conforming segment. */
	if (v86 && (!g.inner || g.new_cpl != 0))
		tcg_raise(c, EXC_GP, sel_err(g.sel) | e->ext);
	if (g.off > desc_limit(g.cd))
		tcg_raise(c, EXC_GP, e->ext);

	if (g.inner) {
		uint64_t sp;
		tseg_tss_stack(c, g.new_cpl, e->ext, &ss, &sp);
		ssd = tseg_check_tss_ss(c, ss, g.new_cpl, e->ext);
		tseg_from_desc(&nss, ss, ssd);
		st = (struct tseg_stack){ .ss = &nss, .sp = sp, .width = desc_db(ssd) ? 4 : 2,
					  .sys = true, .err = sel_err(ss) | e->ext };
		if (v86) {
			tseg_push(c, &st, g.size, c->s.seg[S_GS].selector);
			tseg_push(c, &st, g.size, c->s.seg[S_FS].selector);
			tseg_push(c, &st, g.size, c->s.seg[S_DS].selector);
			tseg_push(c, &st, g.size, c->s.seg[S_ES].selector);
		}
		tseg_push(c, &st, g.size, c->s.seg[S_SS].selector);
		tseg_push(c, &st, g.size, c->s.regs[R_RSP]);
	} else {
		tseg_stack_current(c, &st);
	}
	tseg_push(c, &st, g.size, pushed_flags(c, e->vec, e->kind));
	tseg_push(c, &st, g.size, c->s.seg[S_CS].selector);
	tseg_push(c, &st, g.size, e->ret_rip);
	if (e->errcode >= 0)
		tseg_push(c, &st, g.size, e->errcode);

	tseg_set_accessed(c, g.sel, &g.cd);
	if (g.inner)
		tseg_set_accessed(c, ss, &ssd);
	tcg_set_rflags(c, 0, FL_TF | FL_NT | FL_RF | FL_VM | (g.intr ? FL_IF : 0));
	if (v86) {
		tseg_load_null(c, S_ES, 0);
		tseg_load_null(c, S_DS, 0);
		tseg_load_null(c, S_FS, 0);
		tseg_load_null(c, S_GS, 0);
	}
	tseg_set_cs(c, g.sel, g.cd, g.new_cpl);
	if (g.inner)
		tseg_set_ss(c, ss, ssd, false);
	c->s.regs[R_RSP] = st.sp;
	c->next_rip = g.off;
}

/* ------------------------------------------------------------------ */
/* IA-32e mode: 16-byte gates, 64-bit frames (SDM Vol. 3, 6.14)        */

static void read_gate64(struct tcg_cpu *c, const struct event *e, struct gate *g)
{
	uint64_t ent = (uint64_t)e->vec * 16, lo, hi;
	unsigned type;

	if (ent + 15 > c->s.idt.limit)
		gate_fault(c, EXC_GP, e);
	lo = tcg_lin_ld(c, c->s.idt.base + ent, 8, true);
	hi = tcg_lin_ld(c, c->s.idt.base + ent + 8, 8, true);
	type = desc_type(lo);
	if (desc_s(lo) || (type != SYS_INT && type != SYS_TRAP))
		gate_fault(c, EXC_GP, e);
	check_gate(c, e, lo, g);
	g->intr = type == SYS_INT;
	g->size = 8;
	g->off = gate_off32(lo) | hi << 32;
	g->ist = (lo >> 32) & 7;
}

static void deliver_long(struct tcg_cpu *c, const struct event *e)
{
	struct tseg_stack st = { .width = 8 };
	struct gate g;

	read_gate64(c, e, &g);
	if (!canonical(g.off))
		tcg_raise(c, EXC_GP, e->ext);
	/* The stack: ISTn if the gate names one, else RSPn of the new
	 * level on a privilege change, else the current one; aligned to 16. */
	if (g.ist)
		st.sp = tseg_tss64_rsp(c, TSS64_IST(g.ist), e->ext);
	else if (g.inner)
		st.sp = tseg_tss64_rsp(c, TSS64_RSP(g.new_cpl), e->ext);
	else
		st.sp = c->s.regs[R_RSP];
	st.sp &= ~15ULL;
	st.sys = g.new_cpl < 3;
	st.err = e->ext;

	tseg_push(c, &st, 8, c->s.seg[S_SS].selector);
	tseg_push(c, &st, 8, c->s.regs[R_RSP]);
	tseg_push(c, &st, 8, pushed_flags(c, e->vec, e->kind));
	tseg_push(c, &st, 8, c->s.seg[S_CS].selector);
	tseg_push(c, &st, 8, e->ret_rip);
	if (e->errcode >= 0)
		tseg_push(c, &st, 8, e->errcode);

	tseg_set_accessed(c, g.sel, &g.cd);
	tcg_set_rflags(c, 0, FL_TF | FL_NT | FL_RF | (g.intr ? FL_IF : 0));
	tseg_set_cs(c, g.sel, g.cd, g.new_cpl);
	/* A privilege change loads SS with a null selector, RPL = new CPL. */
	if (g.inner)
		tseg_load_null(c, S_SS, g.new_cpl);
	c->s.regs[R_RSP] = st.sp;
	c->next_rip = g.off;
}

/* ------------------------------------------------------------------ */

void tcg_deliver(struct tcg_cpu *c, int vec, int errcode, enum int_kind kind, uint64_t ret_rip)
{
	struct event e = { .vec = vec & 0xff, .errcode = NO_ERRCODE, .kind = kind,
			   .ret_rip = ret_rip, .ext = event_ext(kind) };

	if (kind != INT_EXCEPTION) {
		c->exc_depth = 0;
	} else if (c->exc_depth > 0) {
		/* A fault while delivering last_vector (SDM Vol. 3, 6.15). */
		if (c->last_vector == EXC_DF) {
			qvm_log(LOG_INT, "tcg: triple fault (vector %d while delivering #DF)", vec);
			c->triple_fault = true;
			c->exc_depth = 0;
			c->stop = true;
			return;
		}
		if (double_fault(c->last_vector, e.vec)) {
			e.vec = EXC_DF;
			errcode = 0;
		}
	}
	if (kind == INT_EXCEPTION && has_errcode(e.vec))
		e.errcode = errcode < 0 ? 0 : errcode;
	if (log_enabled(LOG_INT))
		qvm_log(LOG_INT, "tcg: vector %#x kind %d err %#x at %#llx", e.vec, kind,
			e.errcode, (unsigned long long)ret_rip);

	c->exc_depth++;
	c->last_vector = kind == INT_EXCEPTION ? e.vec : e.vec | LASTVEC_EVENT;
	if (!tcg_protected(c)) {
		deliver_real(c, &e);
	} else if (tcg_long_mode(c)) {
		deliver_long(c, &e);
	} else {
		deliver_prot(c, &e);
	}
	c->exc_depth = 0;
	c->s.rip = c->next_rip;
	c->stop = true;
	c->halted = false;
	c->inhibit_irq = false;
	c->inhibit_db = false;
}

/* ------------------------------------------------------------------ */
/* INT3, INT n, INTO, INT1                                             */

static void op_int3(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	tcg_deliver(c, EXC_BP, NO_ERRCODE, INT_SOFT_EXC, c->next_rip);
}

static void op_intn(struct tcg_cpu *c, const struct insn *i)
{
	tcg_deliver(c, i->imm & 0xff, NO_ERRCODE, INT_SOFTWARE, c->next_rip);
}

static void op_into(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	if (tcg_code64(c))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (tcg_cond(c, 0))
		tcg_deliver(c, EXC_OF, NO_ERRCODE, INT_SOFT_EXC, c->next_rip);
}

static void op_icebp(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	tcg_deliver(c, EXC_DB, NO_ERRCODE, INT_ICEBP, c->next_rip);
}

/* ------------------------------------------------------------------ */
/* IRET (SDM Vol. 2, IRET/IRETD/IRETQ)                                 */

/* Real mode, and v86 mode with IOPL 3 (IOPL, VM, VIF, VIP kept there). */
static void iret_real(struct tcg_cpu *c, unsigned osz, bool v86)
{
	uint64_t ip = tcg_stack_peek(c, osz, 0);
	uint16_t cs = tcg_stack_peek(c, osz, osz);
	uint64_t fl = tcg_stack_peek(c, osz, 2 * osz);
	uint64_t mask;

	if (v86)
		mask = osz == 2 ? 0x4fd5 : 0x254fd5;
	else
		mask = osz == 2 ? 0x7fd5 : 0x257fd5;
	if (ip > (v86 ? 0xffff : c->s.seg[S_CS].limit))
		tcg_raise(c, EXC_GP, 0);
	tcg_sp_add(c, 3 * osz);
	tcg_set_rflags(c, fl, mask);
	if (v86)
		tseg_load_v86(c, S_CS, cs);
	else
		tseg_load_real(c, S_CS, cs);
	c->next_rip = ip;
}

/* CPL 0 IRETD with VM set in the popped EFLAGS: EIP CS EFLAGS ESP SS ES
 * DS FS GS (SDM Vol. 3, 20.2.7). */
static void iret_to_v86(struct tcg_cpu *c, uint64_t ip, uint16_t cs, uint64_t fl)
{
	static const int segs[] = { S_ES, S_DS, S_FS, S_GS };
	uint16_t sel[4], ss;
	uint64_t sp;

	sp = tcg_stack_peek(c, 4, 12);
	ss = tcg_stack_peek(c, 4, 16);
	for (unsigned k = 0; k < 4; k++)
		sel[k] = tcg_stack_peek(c, 4, 20 + 4 * k);
	if (ip > 0xffff)
		tcg_raise(c, EXC_GP, 0);
	tcg_set_rflags(c, fl, 0x3f7fd5);
	tseg_load_v86(c, S_CS, cs);
	tseg_load_v86(c, S_SS, ss);
	for (unsigned k = 0; k < 4; k++)
		tseg_load_v86(c, segs[k], sel[k]);
	c->s.regs[R_RSP] = (uint32_t)sp;
	c->next_rip = ip;
}

/* The flags IRET may change at cpl. */
static uint64_t iret_mask(const struct tcg_cpu *c, unsigned osz, unsigned cpl)
{
	uint64_t m = FL_ARITH | FL_TF | FL_DF | FL_NT;

	if (osz > 2)
		m |= FL_RF | FL_AC | FL_ID;
	if (cpl <= iopl(c))
		m |= FL_IF;
	if (cpl == 0) {
		m |= FL_IOPL;
		if (osz > 2)
			m |= FL_VIF | FL_VIP;
	}
	return m;
}

static void iret_prot(struct tcg_cpu *c, unsigned osz)
{
	unsigned cpl = tcg_cpl(c);
	bool lm = tcg_long_mode(c);
	uint64_t ip, fl, cd, sd = 0, sp = 0;
	uint16_t cs, ss = 0;
	unsigned rpl;
	bool to64, pop_ss, null = false;

	if (c->s.rflags & FL_NT) {
		if (!lm)
			qvm_log(LOG_UNIMP, "tcg: IRET with NT=1 (task return) not implemented");
		tcg_raise(c, EXC_GP, 0);
	}
	ip = tcg_stack_peek(c, osz, 0);
	cs = tcg_stack_peek(c, osz, osz);
	fl = tcg_stack_peek(c, osz, 2 * osz);
	if (!lm && osz == 4 && (fl & FL_VM) && cpl == 0) {
		iret_to_v86(c, ip, cs, fl);
		return;
	}
	cd = tseg_check_ret_cs(c, cs);
	rpl = sel_rpl(cs);
	to64 = lm && desc_l(cd);
	/* 64-bit mode always pops SS:RSP; otherwise only to an outer level. */
	pop_ss = rpl > cpl || tcg_code64(c);
	if (pop_ss) {
		sp = tcg_stack_peek(c, osz, 3 * osz);
		ss = tcg_stack_peek(c, osz, 4 * osz);
		sd = tseg_check_ret_ss(c, ss, rpl, to64, &null);
	}
	tseg_check_code_offset(c, cd, ip);

	tseg_set_accessed(c, cs, &cd);
	if (pop_ss && !null)
		tseg_set_accessed(c, ss, &sd);
	tcg_set_rflags(c, fl, iret_mask(c, osz, cpl));
	if (!pop_ss)
		tcg_sp_add(c, 3 * osz);
	tseg_set_cs(c, cs, cd, rpl);
	if (pop_ss) {
		tseg_set_ss(c, ss, sd, null);
		tseg_set_sp(c, sp, to64 ? 8 : c->s.seg[S_SS].db ? 4 : 2);
	}
	if (rpl > cpl)
		tseg_null_inner_data(c);
	c->next_rip = ip;
}

static void op_iret(struct tcg_cpu *c, const struct insn *i)
{
	/* IRET ends NMI blocking, even one that faults (SDM Vol. 3, 6.7.1). */
	c->nmi_blocked = false;
	if (!tcg_protected(c)) {
		iret_real(c, i->osz, false);
	} else if (tcg_v86(c)) {
		if (iopl(c) < 3)
			tcg_raise(c, EXC_GP, 0);
		iret_real(c, i->osz, true);
	} else {
		iret_prot(c, i->osz);
	}
	c->stop = true;
}

void tseg_register_excp(void)
{
	tcg_ops[MAP_1B][0xcc] = op_int3;
	tcg_ops[MAP_1B][0xcd] = op_intn;
	tcg_ops[MAP_1B][0xce] = op_into;
	tcg_ops[MAP_1B][0xcf] = op_iret;
	tcg_ops[MAP_1B][0xf1] = op_icebp;
}
