/*
 * Segmentation for the TCG engine: segment-register loads with the
 * protected-mode checks, far JMP/CALL/RETF (direct and through call
 * gates, with the stack switch of a call to an inner level), the
 * descriptor instructions (LAR LSL VERR VERW SLDT STR LLDT LTR) and the
 * fast system calls (SYSCALL/SYSRET, SYSENTER/SYSEXIT).  Interrupt and
 * exception delivery and IRET are in excp.c.
 *
 * The segment caches are struct x86_segment; CPL is CS.dpl (0 in real
 * mode, 3 in v86 mode), so every CS load writes dpl = the new CPL, also
 * for conforming segments whose descriptor DPL differs.
 */
#include "seg.h"
#include "log.h"

/* ------------------------------------------------------------------ */
/* Descriptors                                                         */

void tseg_from_desc(struct x86_segment *s, uint16_t sel, uint64_t d)
{
	s->selector = sel;
	s->base = desc_base(d);
	s->limit = desc_limit(d);
	s->type = desc_type(d);
	s->s = desc_s(d);
	s->dpl = desc_dpl(d);
	s->present = desc_present(d);
	s->avl = (d >> 52) & 1;
	s->l = desc_l(d);
	s->db = desc_db(d);
	s->g = (d >> 55) & 1;
	s->unusable = false;
}

/* Linear address of size bytes of sel's entry in the GDT or LDT; false
 * beyond the table limit or with no usable LDT (SDM Vol. 3, 3.5.1). */
static bool desc_addr(const struct tcg_cpu *c, uint16_t sel, unsigned size, uint64_t *lin)
{
	uint64_t base, limit, off = sel & ~7u;

	if (sel & 4) {
		if (c->s.ldt.unusable)
			return false;
		base = c->s.ldt.base;
		limit = c->s.ldt.limit;
	} else {
		base = c->s.gdt.base;
		limit = c->s.gdt.limit;
	}
	if (off + size - 1 > limit)
		return false;
	*lin = base + off;
	return true;
}

/* Returns false (desc = 0) beyond the table limit instead of raising, so
 * that LAR/LSL/VERR/VERW can clear ZF; tseg_desc_or_raise() raises. */
bool tcg_read_desc(struct tcg_cpu *c, uint16_t sel, uint64_t *desc, uint64_t *desc_hi)
{
	uint64_t lin;

	*desc = 0;
	if (desc_hi)
		*desc_hi = 0;
	if (!desc_addr(c, sel, 8, &lin))
		return false;
	*desc = tcg_lin_ld(c, sys_lin(c, lin), 8, true);
	/* 16-byte system descriptors in IA-32e mode (SDM Vol. 3, 3.5). */
	if (desc_hi && tcg_long_mode(c) && !desc_s(*desc)) {
		if (!desc_addr(c, sel, 16, &lin))
			return false;
		*desc_hi = tcg_lin_ld(c, lin + 8, 8, true);
	}
	return true;
}

uint64_t tseg_desc_or_raise(struct tcg_cpu *c, uint16_t sel, int vec, int ext, uint64_t *hi)
{
	uint64_t d;

	if (!tcg_read_desc(c, sel, &d, hi))
		tcg_raise(c, vec, sel_err(sel) | ext);
	return d;
}

/* Loading a descriptor into a segment register sets its accessed bit in
 * memory (SDM Vol. 3, 3.4.5.1). */
void tseg_set_accessed(struct tcg_cpu *c, uint16_t sel, uint64_t *d)
{
	uint64_t lin;

	if ((*d & DESC_ACCESSED) || !desc_addr(c, sel, 8, &lin))
		return;
	tcg_lin_st(c, sys_lin(c, lin + 5), 1, ((*d >> 40) & 0xff) | 1, true);
	*d |= DESC_ACCESSED;
}

/* ------------------------------------------------------------------ */
/* Segment caches                                                      */

void tseg_set_cs(struct tcg_cpu *c, uint16_t sel, uint64_t d, unsigned cpl)
{
	struct x86_segment *cs = &c->s.seg[S_CS];

	tseg_from_desc(cs, (sel & 0xfffc) | cpl, d);
	cs->dpl = cpl;
	c->stop = true;
}

/* Real mode: only the selector and base change, the limit and attributes
 * stay (what "unreal mode" relies on); CPL is 0. */
void tseg_load_real(struct tcg_cpu *c, int seg, uint16_t sel)
{
	struct x86_segment *s = &c->s.seg[seg];

	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->present = 1;
	s->s = 1;
	s->unusable = false;
	if (seg == S_CS) {
		s->dpl = 0;
		s->type |= 8;
		c->stop = true;
	} else {
		s->type = 3;
	}
}

/* v86 mode: every segment is a 64-KiB read/write DPL 3 segment at
 * sel << 4 (SDM Vol. 3, 20.1.1). */
void tseg_load_v86(struct tcg_cpu *c, int seg, uint16_t sel)
{
	c->s.seg[seg] = (struct x86_segment){
		.base = (uint64_t)sel << 4, .limit = 0xffff, .selector = sel,
		.type = seg == S_CS ? 0xb : 3, .s = 1, .dpl = 3, .present = 1,
	};
	if (seg == S_CS)
		c->stop = true;
}

void tseg_load_null(struct tcg_cpu *c, int seg, uint16_t sel)
{
	struct x86_segment *s = &c->s.seg[seg];

	s->selector = sel;
	s->base = 0;
	s->type = 0;
	s->s = 0;
	s->present = 0;
	s->unusable = true;
	s->dpl = sel_rpl(sel);
}

void tseg_set_ss(struct tcg_cpu *c, uint16_t sel, uint64_t d, bool null)
{
	if (null)
		tseg_load_null(c, S_SS, sel);
	else
		tseg_from_desc(&c->s.seg[S_SS], sel, d);
}

void tseg_null_inner_data(struct tcg_cpu *c)
{
	static const int segs[] = { S_ES, S_DS, S_FS, S_GS };
	unsigned cpl = tcg_cpl(c);

	/* Only the selector is cleared and the cache marked invalid: the base
	 * stays, which matters for FS/GS bases set through the MSRs. */
	for (unsigned k = 0; k < sizeof(segs) / sizeof(segs[0]); k++) {
		struct x86_segment *s = &c->s.seg[segs[k]];
		bool conforming = (s->type & 0xc) == 0xc;

		if (!s->unusable && !conforming && s->dpl < cpl) {
			s->selector = 0;
			s->unusable = true;
			s->present = 0;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Stacks                                                              */

void tseg_stack_current(struct tcg_cpu *c, struct tseg_stack *st)
{
	*st = (struct tseg_stack){
		.ss = &c->s.seg[S_SS], .sp = c->s.regs[R_RSP],
		.width = tcg_stack_size(c), .cur = true,
	};
}

/* Offset within the limit of s (expand-down: above it; SDM Vol. 3, 3.4.5.1). */
static bool seg_off_ok(const struct x86_segment *s, uint64_t off, unsigned size)
{
	uint64_t last = off + size - 1;

	if ((s->type & 0xc) == 4)
		return off > s->limit && last <= (s->db ? 0xffffffffu : 0xffffu);
	return last <= s->limit;
}

void tseg_push(struct tcg_cpu *c, struct tseg_stack *st, unsigned size, uint64_t v)
{
	uint64_t m = size_mask(st->width);
	uint64_t off = (st->sp - size) & m;

	if (st->cur) {
		tcg_st(c, S_SS, off, size, v);
	} else if (st->width == 8) {
		if (!canonical(off) || !canonical(off + size - 1))
			tcg_raise(c, EXC_SS, st->err);
		tcg_lin_st(c, off, size, v, st->sys);
	} else {
		if (!seg_off_ok(st->ss, off, size))
			tcg_raise(c, EXC_SS, st->err);
		tcg_lin_st(c, sys_lin(c, st->ss->base + off), size, v, st->sys);
	}
	st->sp = (st->sp & ~m) | off;
}

void tseg_set_sp(struct tcg_cpu *c, uint64_t v, unsigned width)
{
	uint64_t *rsp = &c->s.regs[R_RSP];

	if (width == 8)
		*rsp = v;
	else if (width == 4)
		*rsp = (uint32_t)v;
	else
		*rsp = (*rsp & ~0xffffULL) | (v & 0xffff);
}

/* SS:ESP for level cpl from a 32-bit (ESPn at 4 + 8n) or 16-bit TSS
 * (SPn at 2 + 4n); SDM Vol. 3, 7.2.1 and 8.8.5. */
void tseg_tss_stack(struct tcg_cpu *c, unsigned cpl, int ext, uint16_t *ss, uint64_t *sp)
{
	const struct x86_segment *tr = &c->s.tr;
	int err = sel_err(tr->selector) | ext;

	if (tr->type & 8) {
		uint32_t off = cpl * 8 + 4;
		if (off + 5 > tr->limit)
			tcg_raise(c, EXC_TS, err);
		*sp = tcg_lin_ld(c, sys_lin(c, tr->base + off), 4, true);
		*ss = tcg_lin_ld(c, sys_lin(c, tr->base + off + 4), 2, true);
	} else {
		uint32_t off = cpl * 4 + 2;
		if (off + 3 > tr->limit)
			tcg_raise(c, EXC_TS, err);
		*sp = tcg_lin_ld(c, sys_lin(c, tr->base + off), 2, true);
		*ss = tcg_lin_ld(c, sys_lin(c, tr->base + off + 2), 2, true);
	}
}

/* The new SS of a stack switch (SDM Vol. 2, CALL and INT n). */
uint64_t tseg_check_tss_ss(struct tcg_cpu *c, uint16_t ss, unsigned cpl, int ext)
{
	uint64_t d;

	if (sel_null(ss))
		tcg_raise(c, EXC_TS, ext);
	if (sel_rpl(ss) != cpl)
		tcg_raise(c, EXC_TS, sel_err(ss) | ext);
	d = tseg_desc_or_raise(c, ss, EXC_TS, ext, NULL);
	if (!desc_writable_data(d) || desc_dpl(d) != cpl)
		tcg_raise(c, EXC_TS, sel_err(ss) | ext);
	if (!desc_present(d))
		tcg_raise(c, EXC_SS, sel_err(ss) | ext);
	return d;
}

uint64_t tseg_tss64_rsp(struct tcg_cpu *c, unsigned off, int ext)
{
	const struct x86_segment *tr = &c->s.tr;

	if (off + 7 > tr->limit)
		tcg_raise(c, EXC_TS, sel_err(tr->selector) | ext);
	return tcg_lin_ld(c, tr->base + off, 8, true);
}

/* ------------------------------------------------------------------ */
/* MOV/POP/LxS to a segment register (SDM Vol. 2, MOV)                 */

static void load_seg(struct tcg_cpu *c, int seg, uint16_t sel)
{
	unsigned cpl = tcg_cpl(c);
	uint64_t d;

	if (!tcg_protected(c)) {
		tseg_load_real(c, seg, sel);
		return;
	}
	if (tcg_v86(c)) {
		tseg_load_v86(c, seg, sel);
		return;
	}
	if (sel_null(sel)) {
		/* 64-bit mode allows a null SS below CPL 3 when RPL = CPL. */
		if (seg == S_SS && !(tcg_code64(c) && cpl != 3 && sel_rpl(sel) == cpl))
			tcg_raise(c, EXC_GP, 0);
		tseg_load_null(c, seg, sel);
		return;
	}
	d = tseg_desc_or_raise(c, sel, EXC_GP, 0, NULL);
	if (seg == S_SS) {
		if (sel_rpl(sel) != cpl || !desc_writable_data(d) || desc_dpl(d) != cpl)
			tcg_raise(c, EXC_GP, sel_err(sel));
		if (!desc_present(d))
			tcg_raise(c, EXC_SS, sel_err(sel));
	} else {
		bool readable = desc_data(d) || (desc_code(d) && (desc_type(d) & 2));
		if (!readable)
			tcg_raise(c, EXC_GP, sel_err(sel));
		if (!desc_conforming(d) && (sel_rpl(sel) > desc_dpl(d) || cpl > desc_dpl(d)))
			tcg_raise(c, EXC_GP, sel_err(sel));
		if (!desc_present(d))
			tcg_raise(c, EXC_NP, sel_err(sel));
	}
	tseg_set_accessed(c, sel, &d);
	tseg_from_desc(&c->s.seg[seg], sel, d);
}

void tcg_load_seg(struct tcg_cpu *c, int seg, uint16_t sel)
{
	load_seg(c, seg, sel);
	/* MOV SS / POP SS hold off interrupts and debug traps for one
	 * instruction (SDM Vol. 3, 6.8.3). */
	if (seg == S_SS)
		c->inhibit_irq = c->inhibit_db = true;
}

/* ------------------------------------------------------------------ */
/* Far JMP / CALL / RETF                                               */

void tseg_check_code_offset(struct tcg_cpu *c, uint64_t d, uint64_t off)
{
	if (tcg_long_mode(c) && desc_l(d)) {
		if (!canonical(off))
			tcg_raise(c, EXC_GP, 0);
	} else if (off > desc_limit(d)) {
		tcg_raise(c, EXC_GP, 0);
	}
}

static void push_return(struct tcg_cpu *c, struct tseg_stack *st, unsigned size)
{
	tseg_push(c, st, size, c->s.seg[S_CS].selector);
	tseg_push(c, st, size, c->next_rip);
}

/* Real and v86 mode: CS = sel, base sel << 4, IP within the CS limit. */
static void far_real(struct tcg_cpu *c, uint16_t sel, uint64_t off, unsigned osz, bool call)
{
	if (off > c->s.seg[S_CS].limit)
		tcg_raise(c, EXC_GP, 0);
	if (call) {
		struct tseg_stack st;
		tseg_stack_current(c, &st);
		push_return(c, &st, osz);
		c->s.regs[R_RSP] = st.sp;
	}
	if (tcg_v86(c))
		tseg_load_v86(c, S_CS, sel);
	else
		tseg_load_real(c, S_CS, sel);
	c->next_rip = off;
	c->stop = true;
}

/* A code segment named directly by JMP/CALL (SDM Vol. 2, JMP). */
static void check_direct_code(struct tcg_cpu *c, uint16_t sel, uint64_t d)
{
	unsigned cpl = tcg_cpl(c);

	if (desc_conforming(d) ? desc_dpl(d) > cpl
			       : sel_rpl(sel) > cpl || desc_dpl(d) != cpl)
		tcg_raise(c, EXC_GP, sel_err(sel));
	if (tcg_long_mode(c) && desc_l(d) && desc_db(d))
		tcg_raise(c, EXC_GP, sel_err(sel));
	if (!desc_present(d))
		tcg_raise(c, EXC_NP, sel_err(sel));
}

struct gate_target {
	uint16_t sel;           /* target code segment */
	uint64_t desc;
	uint64_t off;
	unsigned size;          /* gate size: 2, 4 or 8 */
	unsigned params;        /* parameter count (16/32-bit call gates) */
};

/* Task gates and TSS descriptors as JMP/CALL targets: task switching is
 * not implemented. */
static _Noreturn void task_switch_unimp(struct tcg_cpu *c, uint16_t sel, const char *what)
{
	qvm_log(LOG_UNIMP, "tcg: %s to selector %#x (task switch) not implemented", what, sel);
	tcg_raise(c, EXC_GP, sel_err(sel));
}

/* A call gate used by JMP or CALL (SDM Vol. 3, 5.8.4 and 5.8.6; 64-bit
 * call gates 5.8.3.1). */
static void call_gate(struct tcg_cpu *c, uint16_t sel, uint64_t d, uint64_t hi, bool jmp,
		      struct gate_target *t)
{
	unsigned cpl = tcg_cpl(c), type = desc_type(d);
	bool lm = tcg_long_mode(c);

	if (!lm && (type == SYS_TASK || type == SYS_TSS16_AVAIL || type == SYS_TSS_AVAIL))
		task_switch_unimp(c, sel, jmp ? "far jmp" : "far call");
	if (lm ? type != SYS_CALL || ((hi >> 40) & 0x1f) : type != SYS_CALL && type != SYS_CALL16)
		tcg_raise(c, EXC_GP, sel_err(sel));
	if (desc_dpl(d) < cpl || desc_dpl(d) < sel_rpl(sel))
		tcg_raise(c, EXC_GP, sel_err(sel));
	if (!desc_present(d))
		tcg_raise(c, EXC_NP, sel_err(sel));

	t->sel = gate_sel(d);
	if (sel_null(t->sel))
		tcg_raise(c, EXC_GP, 0);
	t->desc = tseg_desc_or_raise(c, t->sel, EXC_GP, 0, NULL);
	if (!desc_code(t->desc) || desc_dpl(t->desc) > cpl)
		tcg_raise(c, EXC_GP, sel_err(t->sel));
	if (jmp && !desc_conforming(t->desc) && desc_dpl(t->desc) != cpl)
		tcg_raise(c, EXC_GP, sel_err(t->sel));
	if (lm && (!desc_l(t->desc) || desc_db(t->desc)))
		tcg_raise(c, EXC_GP, sel_err(t->sel));
	if (!desc_present(t->desc))
		tcg_raise(c, EXC_NP, sel_err(t->sel));

	if (lm) {
		t->size = 8;
		t->off = gate_off32(d) | hi << 32;
	} else if (type == SYS_CALL) {
		t->size = 4;
		t->off = gate_off32(d);
	} else {
		t->size = 2;
		t->off = d & 0xffff;
	}
	t->params = lm ? 0 : (d >> 32) & 0x1f;
}

/* CALL through a gate to a more privileged non-conforming segment: the
 * stack of the new level from the TSS gets the caller's SS:ESP, the
 * gate's parameters and CS:EIP (SDM Vol. 3, 5.8.5, figure 5-13). */
static void call_gate_inner(struct tcg_cpu *c, const struct gate_target *t)
{
	unsigned cpl = desc_dpl(t->desc);
	bool lm = tcg_long_mode(c);
	struct x86_segment nss;
	struct tseg_stack st = { .ss = &nss, .sys = true };
	uint64_t ssd = 0, cd = t->desc;
	uint16_t ss;

	tseg_check_code_offset(c, cd, t->off);
	if (lm) {
		st.sp = tseg_tss64_rsp(c, TSS64_RSP(cpl), 0);
		st.width = 8;
		ss = cpl;       /* null SS with RPL = new CPL */
	} else {
		tseg_tss_stack(c, cpl, 0, &ss, &st.sp);
		ssd = tseg_check_tss_ss(c, ss, cpl, 0);
		tseg_from_desc(&nss, ss, ssd);
		st.width = desc_db(ssd) ? 4 : 2;
		st.err = sel_err(ss);
	}
	tseg_push(c, &st, t->size, c->s.seg[S_SS].selector);
	tseg_push(c, &st, t->size, c->s.regs[R_RSP]);
	for (unsigned k = t->params; k-- > 0;)
		tseg_push(c, &st, t->size, tcg_stack_peek(c, t->size, k * t->size));
	push_return(c, &st, t->size);

	tseg_set_accessed(c, t->sel, &cd);
	if (!lm)
		tseg_set_accessed(c, ss, &ssd);
	tseg_set_cs(c, t->sel, cd, cpl);
	tseg_set_ss(c, ss, ssd, lm);
	c->s.regs[R_RSP] = st.sp;
	c->next_rip = t->off;
}

/* Read sel's descriptor for JMP/CALL: #GP(0) for null, #GP(sel) beyond
 * the table or for a data segment. */
static uint64_t far_target_desc(struct tcg_cpu *c, uint16_t sel, uint64_t *hi)
{
	uint64_t d;

	if (sel_null(sel))
		tcg_raise(c, EXC_GP, 0);
	d = tseg_desc_or_raise(c, sel, EXC_GP, 0, hi);
	if (desc_data(d))
		tcg_raise(c, EXC_GP, sel_err(sel));
	return d;
}

void tcg_far_jmp(struct tcg_cpu *c, uint16_t sel, uint64_t off, unsigned osz)
{
	struct gate_target t;
	uint64_t d, hi;

	off &= size_mask(osz);
	if (!prot_mode(c)) {
		far_real(c, sel, off, osz, false);
		return;
	}
	d = far_target_desc(c, sel, &hi);
	if (desc_code(d)) {
		check_direct_code(c, sel, d);
		tseg_check_code_offset(c, d, off);
		tseg_set_accessed(c, sel, &d);
		tseg_set_cs(c, sel, d, tcg_cpl(c));
		c->next_rip = off;
		return;
	}
	call_gate(c, sel, d, hi, true, &t);
	tseg_check_code_offset(c, t.desc, t.off);
	tseg_set_accessed(c, t.sel, &t.desc);
	tseg_set_cs(c, t.sel, t.desc, tcg_cpl(c));
	c->next_rip = t.off;
}

void tcg_far_call(struct tcg_cpu *c, uint16_t sel, uint64_t off, unsigned osz)
{
	struct gate_target t;
	struct tseg_stack st;
	uint64_t d, hi;

	off &= size_mask(osz);
	if (!prot_mode(c)) {
		far_real(c, sel, off, osz, true);
		return;
	}
	d = far_target_desc(c, sel, &hi);
	if (desc_code(d)) {
		t = (struct gate_target){ .sel = sel, .desc = d, .off = off, .size = osz };
		check_direct_code(c, sel, d);
	} else {
		call_gate(c, sel, d, hi, false, &t);
		if (!desc_conforming(t.desc) && desc_dpl(t.desc) < tcg_cpl(c)) {
			call_gate_inner(c, &t);
			return;
		}
	}
	tseg_check_code_offset(c, t.desc, t.off);
	tseg_stack_current(c, &st);
	push_return(c, &st, t.size);
	tseg_set_accessed(c, t.sel, &t.desc);
	tseg_set_cs(c, t.sel, t.desc, tcg_cpl(c));
	c->s.regs[R_RSP] = st.sp;
	c->next_rip = t.off;
}

uint64_t tseg_check_ret_cs(struct tcg_cpu *c, uint16_t cs)
{
	unsigned rpl = sel_rpl(cs);
	uint64_t d;

	if (sel_null(cs))
		tcg_raise(c, EXC_GP, 0);
	d = tseg_desc_or_raise(c, cs, EXC_GP, 0, NULL);
	if (!desc_code(d) || rpl < tcg_cpl(c))
		tcg_raise(c, EXC_GP, sel_err(cs));
	if (desc_conforming(d) ? desc_dpl(d) > rpl : desc_dpl(d) != rpl)
		tcg_raise(c, EXC_GP, sel_err(cs));
	if (tcg_long_mode(c) && desc_l(d) && desc_db(d))
		tcg_raise(c, EXC_GP, sel_err(cs));
	if (!desc_present(d))
		tcg_raise(c, EXC_NP, sel_err(cs));
	return d;
}

uint64_t tseg_check_ret_ss(struct tcg_cpu *c, uint16_t ss, unsigned rpl, bool to64, bool *null)
{
	uint64_t d;

	*null = false;
	if (sel_null(ss)) {
		/* IA-32e mode: a null SS is fine for a return to 64-bit code
		 * below CPL 3 (SDM Vol. 2, IRET and RET). */
		if (!to64 || rpl == 3)
			tcg_raise(c, EXC_GP, 0);
		*null = true;
		return 0;
	}
	if (sel_rpl(ss) != rpl)
		tcg_raise(c, EXC_GP, sel_err(ss));
	d = tseg_desc_or_raise(c, ss, EXC_GP, 0, NULL);
	if (!desc_writable_data(d) || desc_dpl(d) != rpl)
		tcg_raise(c, EXC_GP, sel_err(ss));
	if (!desc_present(d))
		tcg_raise(c, EXC_SS, sel_err(ss));
	return d;
}

static void retf_prot(struct tcg_cpu *c, unsigned osz, uint64_t imm)
{
	unsigned cpl = tcg_cpl(c);
	uint64_t ip = tcg_stack_peek(c, osz, 0);
	uint16_t cs = tcg_stack_peek(c, osz, osz);
	uint64_t cd = tseg_check_ret_cs(c, cs), sd, sp;
	unsigned rpl = sel_rpl(cs);
	bool to64 = tcg_long_mode(c) && desc_l(cd), null;
	uint16_t ss;

	if (rpl == cpl) {
		tseg_check_code_offset(c, cd, ip);
		tseg_set_accessed(c, cs, &cd);
		tcg_sp_add(c, 2 * osz + imm);
		tseg_set_cs(c, cs, cd, cpl);
		c->next_rip = ip;
		return;
	}
	/* Return to an outer level: SS:ESP follow the parameters. */
	sp = tcg_stack_peek(c, osz, 2 * osz + imm);
	ss = tcg_stack_peek(c, osz, 3 * osz + imm);
	sd = tseg_check_ret_ss(c, ss, rpl, to64, &null);
	tseg_check_code_offset(c, cd, ip);
	tseg_set_accessed(c, cs, &cd);
	if (!null)
		tseg_set_accessed(c, ss, &sd);
	tseg_set_cs(c, cs, cd, rpl);
	tseg_set_ss(c, ss, sd, null);
	tseg_set_sp(c, sp + imm, to64 ? 8 : c->s.seg[S_SS].db ? 4 : 2);
	tseg_null_inner_data(c);
	c->next_rip = ip;
}

/* CB: RETF, CA iw: RETF imm16 (SDM Vol. 2, RET). */
static void op_retf(struct tcg_cpu *c, const struct insn *i)
{
	unsigned osz = i->osz;
	uint64_t imm = i->op == 0xca ? i->imm & 0xffff : 0;

	if (prot_mode(c)) {
		retf_prot(c, osz, imm);
		return;
	}
	uint64_t ip = tcg_stack_peek(c, osz, 0);
	uint16_t cs = tcg_stack_peek(c, osz, osz);
	if (ip > c->s.seg[S_CS].limit)
		tcg_raise(c, EXC_GP, 0);
	tcg_sp_add(c, 2 * osz + imm);
	if (tcg_v86(c))
		tseg_load_v86(c, S_CS, cs);
	else
		tseg_load_real(c, S_CS, cs);
	c->next_rip = ip;
	c->stop = true;
}

/* 9A: CALL ptr16:16/32, EA: JMP ptr16:16/32 (not in 64-bit mode). */
static void op_callf(struct tcg_cpu *c, const struct insn *i)
{
	if (tcg_code64(c))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	tcg_far_call(c, i->imm2, i->imm, i->osz);
}

static void op_jmpf(struct tcg_cpu *c, const struct insn *i)
{
	if (tcg_code64(c))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	tcg_far_jmp(c, i->imm2, i->imm, i->osz);
}

/* ------------------------------------------------------------------ */
/* Segment-register instructions                                       */

/* 06 0E 16 1E, 0F A0 0F A8 (push); 07 17 1F, 0F A1 0F A9 (pop). */
static int opcode_seg(const struct insn *i)
{
	if (i->map == MAP_0F)
		return (i->op & 8) ? S_GS : S_FS;
	return (i->op >> 3) & 3;
}

/* Push/pop size: 16/32 bits, 64 (or 16 with 66) in 64-bit mode. */
static unsigned stack_osz(const struct tcg_cpu *c, const struct insn *i)
{
	if (tcg_code64(c))
		return i->osz == 2 ? 2 : 8;
	return i->osz;
}

/* PUSH Sreg: a 16-bit store into the osz-sized slot, as current
 * processors do (SDM Vol. 2, PUSH). */
static void op_push_seg(struct tcg_cpu *c, const struct insn *i)
{
	int seg = opcode_seg(i);
	unsigned osz = stack_osz(c, i);
	uint64_t m = size_mask(tcg_stack_size(c)), rsp = c->s.regs[R_RSP];
	uint64_t off = (rsp - osz) & m;

	if (tcg_code64(c) && seg < S_FS)
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	tcg_st(c, S_SS, off, 2, c->s.seg[seg].selector);
	c->s.regs[R_RSP] = (rsp & ~m) | off;
}

static void op_pop_seg(struct tcg_cpu *c, const struct insn *i)
{
	int seg = opcode_seg(i);
	unsigned osz = stack_osz(c, i);
	uint64_t m = size_mask(tcg_stack_size(c)), rsp = c->s.regs[R_RSP];
	uint16_t sel;

	if (seg == S_CS || (tcg_code64(c) && seg < S_FS))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	sel = tcg_stack_peek(c, osz, 0);
	tcg_load_seg(c, seg, sel);
	/* rSP moves at the width of the old SS (POP SS changes it). */
	c->s.regs[R_RSP] = (rsp & ~m) | ((rsp + osz) & m);
}

/* 8C: MOV r/m, Sreg: a register gets the selector zero-extended to the
 * operand size, memory always 16 bits. */
static void op_mov_from_seg(struct tcg_cpu *c, const struct insn *i)
{
	unsigned seg = i->reg & 7;

	if (seg >= S_NR)
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	tcg_rm_set(c, i, i->mem ? 2 : i->osz, c->s.seg[seg].selector);
}

/* 8E: MOV Sreg, r/m (CS is #UD). */
static void op_mov_to_seg(struct tcg_cpu *c, const struct insn *i)
{
	unsigned seg = i->reg & 7;

	if (seg == S_CS || seg >= S_NR)
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	tcg_load_seg(c, seg, tcg_rm_get(c, i, 2));
}

/* C4 LES, C5 LDS, 0F B2 LSS, 0F B4 LFS, 0F B5 LGS: offset then selector. */
static void op_lxs(struct tcg_cpu *c, const struct insn *i)
{
	int seg;
	uint64_t ea, off;
	uint16_t sel;

	if (i->map == MAP_1B)
		seg = i->op == 0xc4 ? S_ES : S_DS;
	else
		seg = i->op == 0xb2 ? S_SS : i->op == 0xb4 ? S_FS : S_GS;
	if (!i->mem)
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	ea = tcg_ea(c, i);
	off = tcg_ld(c, i->seg, ea, i->osz);
	sel = tcg_ld16(c, i->seg, (ea + i->osz) & size_mask(i->asz));
	load_seg(c, seg, sel);
	tcg_modreg_set(c, i, i->osz, off);
}

/* ------------------------------------------------------------------ */
/* Descriptor instructions                                             */

static void set_zf(struct tcg_cpu *c, bool zf)
{
	uint64_t f = tcg_arith_flags(c);

	tcg_set_arith_flags(c, zf ? f | FL_ZF : f & ~(uint64_t)FL_ZF);
}

/* The descriptor of sel if it is visible to LAR/LSL/VERR/VERW at the
 * current CPL and sel's RPL (conforming code segments always are). */
static bool visible_desc(struct tcg_cpu *c, uint16_t sel, uint64_t *d)
{
	uint64_t hi;

	if (sel_null(sel) || !tcg_read_desc(c, sel, d, &hi))
		return false;
	if (desc_conforming(*d))
		return true;
	return desc_dpl(*d) >= tcg_cpl(c) && desc_dpl(*d) >= sel_rpl(sel);
}

/* System types LAR (lar) or LSL (!lar) accept, SDM Vol. 2 LAR and LSL:
 * legacy: TSS, LDT (and call/task gates for LAR); IA-32e mode: the
 * 64-bit TSS, LDT (and the 64-bit call gate for LAR). */
static bool sys_type_ok(const struct tcg_cpu *c, unsigned type, bool lar)
{
	unsigned ok;

	if (tcg_long_mode(c))
		ok = 1u << SYS_LDT | 1u << SYS_TSS_AVAIL | 1u << SYS_TSS_BUSY |
		     (lar ? 1u << SYS_CALL : 0);
	else
		ok = 1u << SYS_TSS16_AVAIL | 1u << SYS_LDT | 1u << SYS_TSS16_BUSY |
		     1u << SYS_TSS_AVAIL | 1u << SYS_TSS_BUSY |
		     (lar ? 1u << SYS_CALL16 | 1u << SYS_TASK | 1u << SYS_CALL : 0);
	return (ok >> type) & 1;
}

static void lar_lsl(struct tcg_cpu *c, const struct insn *i, bool lar)
{
	uint16_t sel;
	uint64_t d, v;
	bool ok;

	if (!prot_mode(c))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	sel = tcg_rm_get(c, i, 2);
	ok = visible_desc(c, sel, &d) && (desc_s(d) || sys_type_ok(c, desc_type(d), lar));
	if (ok) {
		v = lar ? (d >> 32) & 0x00f0ff00 : desc_limit(d);
		tcg_modreg_set(c, i, i->osz, v & size_mask(i->osz));
	}
	set_zf(c, ok);
}

static void op_lar(struct tcg_cpu *c, const struct insn *i)
{
	lar_lsl(c, i, true);
}

static void op_lsl(struct tcg_cpu *c, const struct insn *i)
{
	lar_lsl(c, i, false);
}

static void verr_verw(struct tcg_cpu *c, const struct insn *i, bool write)
{
	uint16_t sel = tcg_rm_get(c, i, 2);
	uint64_t d;
	bool ok = visible_desc(c, sel, &d) && desc_s(d);

	if (ok)
		ok = write ? desc_writable_data(d) : desc_data(d) || (desc_type(d) & 2);
	set_zf(c, ok);
}

/* SLDT/STR: UMIP makes them CPL 0 only (SDM Vol. 3, 2.5). */
static void store_sys_sel(struct tcg_cpu *c, const struct insn *i, uint16_t sel)
{
	if ((c->s.cr4 & CR4_UMIP) && tcg_cpl(c) > 0)
		tcg_raise(c, EXC_GP, 0);
	tcg_rm_set(c, i, i->mem ? 2 : i->osz, sel);
}

/* System descriptor of LLDT/LTR: in the GDT, 16 bytes in IA-32e mode. */
static uint64_t sys_desc(struct tcg_cpu *c, uint16_t sel, unsigned type, unsigned type16,
			 uint64_t *hi)
{
	uint64_t d;
	unsigned t;

	if (sel & 4)
		tcg_raise(c, EXC_GP, sel_err(sel));
	d = tseg_desc_or_raise(c, sel, EXC_GP, 0, hi);
	t = desc_type(d);
	if (desc_s(d) || !(t == type || (t == type16 && !tcg_long_mode(c))))
		tcg_raise(c, EXC_GP, sel_err(sel));
	if (!desc_present(d))
		tcg_raise(c, EXC_NP, sel_err(sel));
	if (tcg_long_mode(c) && !canonical(desc_base(d) | (*hi & 0xffffffff) << 32))
		tcg_raise(c, EXC_GP, sel_err(sel));
	return d;
}

static void load_sys_seg(struct tcg_cpu *c, struct x86_segment *s, uint16_t sel,
			 uint64_t d, uint64_t hi)
{
	tseg_from_desc(s, sel, d);
	if (tcg_long_mode(c))
		s->base |= (hi & 0xffffffff) << 32;
}

static void op_lldt(struct tcg_cpu *c, uint16_t sel)
{
	uint64_t d, hi;

	if (sel_null(sel)) {
		c->s.ldt.selector = sel;
		c->s.ldt.unusable = true;
		c->s.ldt.present = 0;
		return;
	}
	d = sys_desc(c, sel, SYS_LDT, SYS_LDT, &hi);
	load_sys_seg(c, &c->s.ldt, sel, d, hi);
}

/* LTR marks the TSS descriptor busy in the GDT (SDM Vol. 2, LTR). */
static void op_ltr(struct tcg_cpu *c, uint16_t sel)
{
	uint64_t d, hi, lin = c->s.gdt.base + (sel & ~7u);

	if (sel_null(sel))
		tcg_raise(c, EXC_GP, 0);
	d = sys_desc(c, sel, SYS_TSS_AVAIL, SYS_TSS16_AVAIL, &hi);
	d |= 2ULL << 40;
	tcg_lin_st(c, sys_lin(c, lin + 5), 1, (d >> 40) & 0xff, true);
	load_sys_seg(c, &c->s.tr, sel, d, hi);
}

/* 0F 00: /0 SLDT /1 STR /2 LLDT /3 LTR /4 VERR /5 VERW; none of them
 * exist in real or v86 mode. */
static void op_grp6(struct tcg_cpu *c, const struct insn *i)
{
	unsigned r = i->reg & 7;

	if (!prot_mode(c) || r > 5)
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	switch (r) {
	case 0:
		store_sys_sel(c, i, c->s.ldt.selector);
		break;
	case 1:
		store_sys_sel(c, i, c->s.tr.selector);
		break;
	case 2:
	case 3: {
		if (tcg_cpl(c) != 0)
			tcg_raise(c, EXC_GP, 0);
		uint16_t sel = tcg_rm_get(c, i, 2);
		if (r == 2)
			op_lldt(c, sel);
		else
			op_ltr(c, sel);
		break;
	}
	default:
		verr_verw(c, i, r == 5);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* SYSCALL/SYSRET, SYSENTER/SYSEXIT: flat segments with fixed attributes */

static void set_flat(struct x86_segment *s, uint16_t sel, bool code, unsigned dpl, bool l)
{
	*s = (struct x86_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel,
		.type = code ? 0xb : 3, .s = 1, .dpl = dpl, .present = 1,
		.l = l, .db = !l, .g = 1,
	};
}

/* SYSCALL outside 64-bit mode, which AMD allows (AMD APM Vol. 3,
 * SYSCALL: #UD only without EFER.SCE): from compatibility mode to 64-bit
 * code at CSTAR, as from 64-bit mode; from legacy (or real) mode to
 * 32-bit code at STAR[31:0], ECX the return address, VM IF RF cleared. */
static void syscall_amd(struct tcg_cpu *c)
{
	uint16_t sel = c->s.star >> 32;
	bool lm = tcg_long_mode(c);
	if (lm) {
		c->s.regs[R_RCX] = c->next_rip;
		c->s.regs[R_R11] = tcg_rflags(c) & ~(uint64_t)FL_RF;
		tcg_set_rflags(c, 0, (c->s.sfmask & 0x3f7fd5) | FL_RF);
		c->next_rip = c->s.cstar;
	} else {
		c->s.regs[R_RCX] = (uint32_t)c->next_rip;
		tcg_set_rflags(c, 0, FL_VM | FL_IF | FL_RF);
		c->next_rip = (uint32_t)c->s.star;
	}
	set_flat(&c->s.seg[S_CS], sel & 0xfffc, true, 0, lm);
	set_flat(&c->s.seg[S_SS], sel + 8, false, 0, false);
	c->stop = true;
}

/* 0F 05 (SDM Vol. 2, SYSCALL): EFER.SCE; Intel: 64-bit mode only, AMD:
 * protected mode (syscall_amd). */
static void op_syscall(struct tcg_cpu *c, const struct insn *i)
{
	uint16_t sel = c->s.star >> 32;
	uint64_t fl;

	(void)i;
	if (!(c->s.efer & EFER_SCE))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (!tcg_code64(c)) {
		if (!tcg_cpu_amd(c))
			tcg_raise(c, EXC_UD, NO_ERRCODE);
		syscall_amd(c);
		return;
	}
	fl = tcg_rflags(c);
	c->s.regs[R_RCX] = c->next_rip;
	c->s.regs[R_R11] = fl & ~(uint64_t)FL_RF;
	tcg_set_rflags(c, 0, (c->s.sfmask & 0x3f7fd5) | FL_RF);
	set_flat(&c->s.seg[S_CS], sel & 0xfffc, true, 0, true);
	set_flat(&c->s.seg[S_SS], sel + 8, false, 0, false);
	c->next_rip = c->s.lstar;
	c->stop = true;
}

/* 0F 07 (SDM Vol. 2, SYSRET): to 64-bit (REX.W) or compatibility mode.
 * Intel: from 64-bit mode only; AMD: from compatibility mode too, and in
 * legacy mode to 32-bit code at ECX with IF set; #GP outside protected
 * mode (AMD APM Vol. 3, SYSRET). */
static void op_sysret(struct tcg_cpu *c, const struct insn *i)
{
	uint16_t sel = c->s.star >> 48;
	bool to64 = i->osz == 8;
	uint64_t rcx = c->s.regs[R_RCX];

	if (!(c->s.efer & EFER_SCE))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (!tcg_code64(c) && !tcg_cpu_amd(c))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (!tcg_protected(c) || tcg_cpl(c) != 0 || (to64 && !canonical(rcx)))
		tcg_raise(c, EXC_GP, 0);
	if (!tcg_long_mode(c)) {
		tcg_set_rflags(c, FL_IF, FL_IF);
		set_flat(&c->s.seg[S_CS], sel | 3, true, 3, false);
		set_flat(&c->s.seg[S_SS], (sel + 8) | 3, false, 3, false);
		c->next_rip = (uint32_t)rcx;
		c->stop = true;
		return;
	}
	tcg_set_rflags(c, c->s.regs[R_R11] & 0x3c7fd5, 0x3f7fd5);
	set_flat(&c->s.seg[S_CS], (to64 ? sel + 16 : sel) | 3, true, 3, to64);
	set_flat(&c->s.seg[S_SS], (sel + 8) | 3, false, 3, false);
	c->next_rip = to64 ? rcx : (uint32_t)rcx;
	c->stop = true;
}

/* 0F 34 (SDM Vol. 2, SYSENTER).  AMD: #UD in long mode (AMD APM Vol. 3,
 * SYSENTER), as SYSEXIT. */
static void op_sysenter(struct tcg_cpu *c, const struct insn *i)
{
	uint16_t sel = c->s.sysenter_cs & 0xfffc;
	bool lm = tcg_long_mode(c);

	(void)i;
	if (lm && tcg_cpu_amd(c))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (!tcg_protected(c) || sel == 0)
		tcg_raise(c, EXC_GP, 0);
	tcg_set_rflags(c, 0, FL_VM | FL_IF | FL_RF);
	set_flat(&c->s.seg[S_CS], sel, true, 0, lm);
	set_flat(&c->s.seg[S_SS], sel + 8, false, 0, false);
	c->s.regs[R_RSP] = lm ? c->s.sysenter_esp : (uint32_t)c->s.sysenter_esp;
	c->next_rip = lm ? c->s.sysenter_eip : (uint32_t)c->s.sysenter_eip;
	c->stop = true;
}

/* 0F 35 (SDM Vol. 2, SYSEXIT): REX.W returns to 64-bit mode. */
static void op_sysexit(struct tcg_cpu *c, const struct insn *i)
{
	uint16_t sel = c->s.sysenter_cs & 0xfffc;
	bool to64 = i->osz == 8;
	uint64_t rcx = c->s.regs[R_RCX], rdx = c->s.regs[R_RDX];

	if (tcg_long_mode(c) && tcg_cpu_amd(c))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (!tcg_protected(c) || sel == 0 || tcg_cpl(c) != 0)
		tcg_raise(c, EXC_GP, 0);
	if (to64 && (!canonical(rcx) || !canonical(rdx)))
		tcg_raise(c, EXC_GP, 0);
	set_flat(&c->s.seg[S_CS], (sel + (to64 ? 32 : 16)) | 3, true, 3, to64);
	set_flat(&c->s.seg[S_SS], (sel + (to64 ? 40 : 24)) | 3, false, 3, false);
	c->s.regs[R_RSP] = to64 ? rcx : (uint32_t)rcx;
	c->next_rip = to64 ? rdx : (uint32_t)rdx;
	c->stop = true;
}

/* ------------------------------------------------------------------ */

void tcg_register_seg(void)
{
	static const uint8_t push1[] = { 0x06, 0x0e, 0x16, 0x1e };
	static const uint8_t pop1[] = { 0x07, 0x17, 0x1f };

	for (unsigned k = 0; k < sizeof(push1); k++)
		tcg_ops[MAP_1B][push1[k]] = op_push_seg;
	for (unsigned k = 0; k < sizeof(pop1); k++)
		tcg_ops[MAP_1B][pop1[k]] = op_pop_seg;
	tcg_ops[MAP_1B][0x8c] = op_mov_from_seg;
	tcg_ops[MAP_1B][0x8e] = op_mov_to_seg;
	tcg_ops[MAP_1B][0x9a] = op_callf;
	tcg_ops[MAP_1B][0xea] = op_jmpf;
	tcg_ops[MAP_1B][0xc4] = op_lxs;
	tcg_ops[MAP_1B][0xc5] = op_lxs;
	tcg_ops[MAP_1B][0xca] = op_retf;
	tcg_ops[MAP_1B][0xcb] = op_retf;

	tcg_ops[MAP_0F][0x00] = op_grp6;
	tcg_ops[MAP_0F][0x02] = op_lar;
	tcg_ops[MAP_0F][0x03] = op_lsl;
	tcg_ops[MAP_0F][0x05] = op_syscall;
	tcg_ops[MAP_0F][0x07] = op_sysret;
	tcg_ops[MAP_0F][0x34] = op_sysenter;
	tcg_ops[MAP_0F][0x35] = op_sysexit;
	tcg_ops[MAP_0F][0xa0] = op_push_seg;
	tcg_ops[MAP_0F][0xa8] = op_push_seg;
	tcg_ops[MAP_0F][0xa1] = op_pop_seg;
	tcg_ops[MAP_0F][0xa9] = op_pop_seg;
	tcg_ops[MAP_0F][0xb2] = op_lxs;
	tcg_ops[MAP_0F][0xb4] = op_lxs;
	tcg_ops[MAP_0F][0xb5] = op_lxs;

	tseg_register_excp();
}
