/*
 * System instructions a kernel runs on every system call, generated
 * where they are plain moves: at CPL 0 no privilege check can fail, so
 * SWAPGS, RDTSC, RDTSCP and CLI need no call of the interpreter's
 * handler (a Linux system call ran two SWAPGS, about three RDTSC(P) and
 * two CLI through handlers).  Elsewhere, and without BMI2 for the TSC,
 * the handler runs them.
 */
#include "tcg/jit/gen.h"

static bool cpl0(const struct tr *t)
{
	return tr_cpl(t) == 0;
}

/* 0F 01 F8 SWAPGS (64-bit mode, CPL 0): GS.base <-> IA32_KERNEL_GS_BASE
 * (SDM Vol. 2B, SWAPGS); the inline accesses read GS.base each time. */
static bool gen_swapgs(struct tr *t)
{
	struct emit *e = &t->e;
	emit_load(e, 8, H_RAX, CPU_MEM(s.seg[S_GS].base));
	emit_load(e, 8, H_RDX, CPU_MEM(s.kernel_gs_base));
	emit_store(e, 8, CPU_MEM(s.seg[S_GS].base), H_RDX);
	emit_store(e, 8, CPU_MEM(s.kernel_gs_base), H_RAX);
	return true;
}

/* The guest's TSC into EDX:EAX, the upper halves of RAX and RDX cleared
 * (SDM Vol. 2B, RDTSC): the host's plus c->tsc_offset, as tcg_rdtsc.
 * No flag changes: RORX and LEA.  LFENCE first, as tcg_rdtsc: the
 * guest's own LFENCE or RDTSCP orders its read after its loads, and a
 * host RDTSC alone could run ahead of them (a load of a line another
 * CPU holds takes hundreds of ns): Linux's TSC warp check between vCPUs
 * then saw warps of 13-1000 cycles. */
static void emit_guest_tsc(struct tr *t)
{
	struct emit *e = &t->e;
	e8(e, 0x0f);
	e8(e, 0xae);
	e8(e, 0xe8);                                            /* lfence */
	e8(e, 0x0f);
	e8(e, 0x31);                                            /* rdtsc */
	emit_op1(e, 4, 0x8b, H_RCX, rm_reg(H_RAX));             /* mov ecx, eax */
	emit_rorx64(e, H_RDX, H_RDX, 32);                       /* rdx = hi << 32 */
	emit_lea(e, 8, H_RAX, (struct hmem){ H_RDX, H_RCX, 0, 0 });
	emit_load(e, 8, H_RCX, CPU_MEM(tsc_offset));
	emit_lea(e, 8, H_RAX, (struct hmem){ H_RAX, H_RCX, 0, 0 });
	emit_rorx64(e, H_RDX, H_RAX, 32);
	emit_op1(e, 4, 0x8b, H_RDX, rm_reg(H_RDX));             /* mov edx, edx */
	emit_op1(e, 4, 0x8b, H_RAX, rm_reg(H_RAX));             /* mov eax, eax */
	emit_store(e, 8, tr_greg(t, R_RAX, 8), H_RAX);
	emit_store(e, 8, tr_greg(t, R_RDX, 8), H_RDX);
}

static bool gen_rdtsc(struct tr *t)
{
	emit_guest_tsc(t);
	return true;
}

/* 0F 01 F9 RDTSCP: also ECX = IA32_TSC_AUX[31:0], RCX's upper half 0 */
static bool gen_rdtscp(struct tr *t)
{
	emit_guest_tsc(t);
	emit_load(&t->e, 4, H_RCX, CPU_MEM(s.tsc_aux));
	emit_store(&t->e, 8, tr_greg(t, R_RCX, 8), H_RCX);
	return true;
}

/* FA CLI at CPL 0 (IF <= IOPL always holds): IF lives in c->s.rflags
 * with the other non-arithmetic bits; the guest flags wait in r11 around
 * the AND when they are still needed. */
static bool gen_cli(struct tr *t)
{
	tr_save_flags(t);
	emit_alu_imm(&t->e, 8, 4, CPU_MEM(s.rflags), ~(int64_t)FL_IF);
	tr_mem_done(t);
	return true;
}

bool jit_classify_system(const struct tr *t, const struct insn *i, struct gen_info *gi)
{
	if (i->lock || !cpl0(t))
		return false;
	bool (*gen)(struct tr *) = NULL;
	if (i->map == MAP_1B && i->op == 0xfa) {
		gen = gen_cli;
	} else if (i->map == MAP_0F && i->op == 0x31) {
		gen = emit_host_bmi2() ? gen_rdtsc : NULL;
	} else if (i->map == MAP_0F && i->op == 0x01 && !i->mem && (i->reg & 7) == 7) {
		if ((i->rm & 7) == 0 && tr_code64(t))
			gen = gen_swapgs;
		else if ((i->rm & 7) == 1 && emit_host_bmi2())
			gen = gen_rdtscp;
	}
	if (!gen)
		return false;
	gi->gen = gen;
	gi->freads = gi->fwrites = 0;
	gi->fmaybe = false;
	return true;
}
