/*
 * TCG segmentation and event delivery (user/tcg/seg.c, excp.c): INT/IRET
 * in real, protected, v86 and long mode, the TSS stack switch and IST,
 * #DF and triple-fault escalation, far CALL/RETF through a call gate,
 * SYSCALL/SYSRET, segment-load faults, LAR/LSL/VERR/VERW.
 *
 * Each test builds a 16 MiB machine with one TCG vCPU and hand-made
 * GDT/IDT/TSS in RAM, and runs single instructions with tcg_step() (which
 * returns faults) or calls tcg_deliver() the way the run loop does.
 */
#include <setjmp.h>
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "config.h"
#include "cpu-model.h"
#include "tcg/tcg.h"
#include "tcgtest.h"

#define GDT 0x4000
#define IDT 0x5000
#define HANDLER 0x7000
#define USTACK 0x9000
#define KSTACK 0xa000
#define PML4 TCGT_PML4
#define TSS 0x20000

/* GDT layout */
#define SEL_KCODE 0x08          /* 32-bit code, DPL 0 */
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1b          /* 32-bit code, DPL 3 */
#define SEL_UDATA 0x23
#define SEL_TSS 0x28            /* 16 bytes in long mode */
#define SEL_GATE 0x3b           /* call gate, DPL 3, 2 parameters */
#define SEL_KCODE64 0x40
#define SEL_UCODE64 0x4b
#define SEL_NPDATA 0x50         /* data, not present */
#define GDT_LIMIT (11 * 8 - 1)

/* descriptor flags: bits 52-55 */
#define F_L 0x2
#define F_D 0x4
#define F_G 0x8

static uint64_t desc(uint32_t base, uint32_t limit, unsigned type, unsigned s, unsigned dpl,
		     unsigned flags, bool present)
{
	return (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)type << 40 |
	       (uint64_t)s << 44 | (uint64_t)dpl << 45 | (uint64_t)present << 47 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)flags << 52 |
	       (uint64_t)(base >> 24) << 56;
}

static uint64_t gate(uint16_t sel, uint32_t off, unsigned type, unsigned dpl, unsigned extra,
		     bool present)
{
	return (off & 0xffff) | (uint64_t)sel << 16 | (uint64_t)extra << 32 |
	       (uint64_t)type << 40 | (uint64_t)dpl << 45 | (uint64_t)present << 47 |
	       (uint64_t)(off >> 16) << 48;
}

static void put(struct tcg_env *e, uint64_t a, uint64_t v, unsigned n)
{
	guest_write(e->m, a, &v, n);
}

static uint64_t get(struct tcg_env *e, uint64_t a, unsigned n)
{
	uint64_t v = 0;
	guest_read(e->m, a, &v, n);
	return v;
}

static bool env_init(struct tcg_env *e)
{
	if (!tcg_env_init(e, 0))
		return false;
	struct x86_segment *cs = &e->c->s.seg[S_CS];
	cs->selector = 0;
	cs->base = 0;
	e->c->s.regs[R_RSP] = USTACK;

	uint64_t gdt[11] = {
		0,
		desc(0, 0xfffff, 0xb, 1, 0, F_D | F_G, true),
		desc(0, 0xfffff, 0x3, 1, 0, F_D | F_G, true),
		desc(0, 0xfffff, 0xb, 1, 3, F_D | F_G, true),
		desc(0, 0xfffff, 0x3, 1, 3, F_D | F_G, true),
		desc(TSS, 0x67, 0x9, 0, 0, 0, true),
		0,                      /* upper half of the 64-bit TSS */
		gate(SEL_KCODE, HANDLER + 0x200, 0xc, 3, 2, true),
		desc(0, 0xfffff, 0xb, 1, 0, F_L | F_G, true),
		desc(0, 0xfffff, 0xb, 1, 3, F_L | F_G, true),
		desc(0, 0xfffff, 0x3, 1, 0, F_D | F_G, false),
	};
	guest_write(e->m, GDT, gdt, sizeof(gdt));
	return true;
}

/* Deliver the way the run loop does: a fault during delivery longjmps
 * back here and is delivered in turn. */
static void deliver(struct tcg_cpu *c, int vec, int err, enum int_kind kind, uint64_t ret)
{
	volatile int v = vec, er = err;
	volatile enum int_kind k = kind;
	volatile uint64_t r = ret;

	if (setjmp(c->jmp)) {
		v = c->exc_vec;
		er = c->exc_err;
		k = INT_EXCEPTION;
		r = c->s.rip;
	}
	tcg_deliver(c, v, er, k, r);
}

static void seg_flat(struct x86_segment *s, uint16_t sel, uint8_t type, unsigned dpl, bool l)
{
	*s = (struct x86_segment){ .base = 0, .limit = 0xffffffff, .selector = sel,
				   .type = type, .s = 1, .dpl = dpl, .present = 1,
				   .db = !l, .l = l, .g = 1 };
}

static void seg_v86(struct x86_segment *s, uint16_t sel)
{
	*s = (struct x86_segment){ .base = (uint64_t)sel << 4, .limit = 0xffff, .selector = sel,
				   .type = 3, .s = 1, .dpl = 3, .present = 1 };
}

static void tables(struct tcg_cpu *c, uint16_t idt_limit)
{
	c->s.gdt.base = GDT;
	c->s.gdt.limit = GDT_LIMIT;
	c->s.idt.base = IDT;
	c->s.idt.limit = idt_limit;
	c->s.tr = (struct x86_segment){ .base = TSS, .limit = 0x67, .selector = SEL_TSS,
					.type = 0xb, .present = 1 };
	c->s.ldt = (struct x86_segment){ .unusable = true };
}

/* 32-bit protected mode, flat, paging off; ESP0 = KSTACK in the TSS */
static void mode_prot32(struct tcg_env *e, unsigned cpl)
{
	struct tcg_cpu *c = e->c;
	c->s.cr0 = CR0_PE | CR0_ET;
	c->s.cr4 = 0;
	c->s.efer = 0;
	tables(c, 0x7ff);
	for (int k = 0; k < S_NR; k++)
		seg_flat(&c->s.seg[k], cpl ? SEL_UDATA : SEL_KDATA, 3, cpl, false);
	seg_flat(&c->s.seg[S_CS], cpl ? SEL_UCODE : SEL_KCODE, 0xb, cpl, false);
	c->s.rflags = 2;
	put(e, TSS + 4, KSTACK, 4);
	put(e, TSS + 8, SEL_KDATA, 2);
	tcg_tlb_flush_all(c);
}

/* Long mode at cpl over an identity map of the first 16 MiB */
static void mode_long64(struct tcg_env *e, unsigned cpl)
{
	struct tcg_cpu *c = e->c;
	tcg_env_long_mode(e);
	c->s.efer |= EFER_SCE;
	tables(c, 0xfff);
	for (int k = 0; k < S_NR; k++)
		seg_flat(&c->s.seg[k], cpl ? SEL_UDATA : SEL_KDATA, 3, cpl, false);
	seg_flat(&c->s.seg[S_CS], cpl ? SEL_UCODE64 : SEL_KCODE64, 0xb, cpl, true);
	c->s.rflags = 2;
}

static void idt32(struct tcg_env *e, unsigned vec, uint32_t off, unsigned dpl, bool present)
{
	put(e, IDT + vec * 8, gate(SEL_KCODE, off, 0xe, dpl, 0, present), 8);
}

static void idt64(struct tcg_env *e, unsigned vec, uint32_t off, unsigned dpl, unsigned ist)
{
	put(e, IDT + vec * 16, gate(SEL_KCODE64, off, 0xe, dpl, ist, true), 8);
	put(e, IDT + vec * 16 + 8, 0, 8);
}

static bool zf(struct tcg_cpu *c)
{
	return tcg_rflags(c) & FL_ZF;
}

/* ------------------------------------------------------------------ */

TEST(tcg_seg_real_int_iret)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	put(&e, 0x21 * 4, 0x02000010, 4);       /* IVT: 0200:0010 */
	c->s.rflags = 2 | FL_IF;

	CHECK_EQ(STEP_AT(&e, 0x1000, 0xcd, 0x21), -1);
	CHECK_EQ(c->s.seg[S_CS].selector, 0x200);
	CHECK_EQ(c->s.seg[S_CS].base, 0x2000);
	CHECK_EQ(c->s.rip, 0x10);
	CHECK_EQ(c->s.regs[R_RSP], USTACK - 6);
	CHECK_EQ(get(&e, USTACK - 6, 2), 0x1002);
	CHECK_EQ(get(&e, USTACK - 4, 2), 0);
	CHECK(get(&e, USTACK - 2, 2) & FL_IF);
	CHECK(!(tcg_rflags(c) & FL_IF));

	CHECK_EQ(STEP_AT(&e, 0x2010, 0xcf), -1);
	CHECK_EQ(c->s.seg[S_CS].selector, 0);
	CHECK_EQ(c->s.seg[S_CS].base, 0);
	CHECK_EQ(c->s.rip, 0x1002);
	CHECK_EQ(c->s.regs[R_RSP], USTACK);
	CHECK(tcg_rflags(c) & FL_IF);

	/* JMP FAR 1234:0005 and a segment load: base = selector << 4 */
	CHECK_EQ(STEP_AT(&e, 0x1100, 0xea, 0x05, 0x00, 0x34, 0x12), -1);
	CHECK_EQ(c->s.seg[S_CS].base, 0x12340);
	CHECK_EQ(c->s.rip, 5);
	c->s.regs[R_RAX] = 0x5678;
	CHECK_EQ(STEP_AT(&e, 0x12345, 0x8e, 0xd8), -1);        /* mov ds, ax */
	CHECK_EQ(c->s.seg[S_DS].base, 0x56780);
	CHECK_EQ(STEP_AT(&e, 0x12360, 0x0f, 0x02, 0xc3), EXC_UD); /* no LAR */
	tcg_env_free(&e);
}

TEST(tcg_seg_prot_int_privilege_change)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_prot32(&e, 3);
	idt32(&e, 0x80, HANDLER, 3, true);
	idt32(&e, 0x81, HANDLER, 0, true);
	c->s.regs[R_RSP] = USTACK;
	c->s.rflags = 2 | FL_IF;

	CHECK_EQ(STEP_AT(&e, 0x1000, 0xcd, 0x80), -1);
	CHECK_EQ(c->s.seg[S_CS].selector, SEL_KCODE);
	CHECK_EQ(tcg_cpl(c), 0);
	CHECK_EQ(c->s.seg[S_SS].selector, SEL_KDATA);
	CHECK_EQ(c->s.rip, HANDLER);
	CHECK_EQ(c->s.regs[R_RSP], KSTACK - 20);
	CHECK_EQ(get(&e, KSTACK - 20, 4), 0x1002);
	CHECK_EQ(get(&e, KSTACK - 16, 4), SEL_UCODE);
	CHECK(get(&e, KSTACK - 12, 4) & FL_IF);
	CHECK_EQ(get(&e, KSTACK - 8, 4), USTACK);
	CHECK_EQ(get(&e, KSTACK - 4, 4), SEL_UDATA);
	CHECK(!(tcg_rflags(c) & FL_IF));
	CHECK(get(&e, GDT + 8, 8) & (1ULL << 40));      /* accessed */

	/* a DPL 0 data segment in DS is nulled by the IRET to CPL 3 */
	c->s.regs[R_RAX] = SEL_KDATA;
	CHECK_EQ(STEP_AT(&e, HANDLER, 0x8e, 0xd8), -1);
	CHECK_EQ(STEP_AT(&e, HANDLER + 2, 0xcf), -1);
	CHECK_EQ(c->s.seg[S_CS].selector, SEL_UCODE);
	CHECK_EQ(tcg_cpl(c), 3);
	CHECK_EQ(c->s.seg[S_SS].selector, SEL_UDATA);
	CHECK_EQ(c->s.regs[R_RSP], USTACK);
	CHECK_EQ(c->s.rip, 0x1002);
	CHECK(tcg_rflags(c) & FL_IF);
	CHECK(c->s.seg[S_DS].unusable);
	CHECK_EQ(c->s.seg[S_DS].selector, 0);
	CHECK(!c->s.seg[S_ES].unusable);

	/* INT n through a DPL 0 gate at CPL 3: #GP(vector * 8 + 2) */
	CHECK_EQ(STEP_AT(&e, 0x1100, 0xcd, 0x81), EXC_GP);
	CHECK_EQ(c->test_errcode, 0x81 * 8 + 2);
	CHECK_EQ(tcg_cpl(c), 3);
	tcg_env_free(&e);
}

TEST(tcg_seg_v86_int_iret)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_prot32(&e, 0);
	idt32(&e, 0x21, HANDLER + 0x300, 3, true);
	for (int k = 0; k < S_NR; k++)
		seg_v86(&c->s.seg[k], 0x100 * (k + 1));
	c->s.seg[S_CS].type = 0xb;
	c->s.regs[R_RSP] = 0x100;
	c->s.rflags = 2 | FL_VM | FL_IOPL | FL_IF;

	/* CS = 0x200: the INT at 0x2000 + 0x50 */
	CHECK_EQ(STEP_AT(&e, 0x2050, 0xcd, 0x21), -1);
	CHECK(!(tcg_rflags(c) & FL_VM));
	CHECK_EQ(c->s.seg[S_CS].selector, SEL_KCODE);
	CHECK_EQ(c->s.seg[S_SS].selector, SEL_KDATA);
	CHECK_EQ(c->s.regs[R_RSP], KSTACK - 36);
	uint64_t f = KSTACK - 36;
	CHECK_EQ(get(&e, f, 4), 0x52);
	CHECK_EQ(get(&e, f + 4, 4), 0x200);
	CHECK(get(&e, f + 8, 4) & FL_VM);
	CHECK_EQ(get(&e, f + 12, 4), 0x100);
	CHECK_EQ(get(&e, f + 16, 4), 0x300);            /* SS */
	CHECK_EQ(get(&e, f + 20, 4), 0x100);            /* ES */
	CHECK_EQ(get(&e, f + 24, 4), 0x400);            /* DS */
	CHECK_EQ(get(&e, f + 28, 4), 0x500);            /* FS */
	CHECK_EQ(get(&e, f + 32, 4), 0x600);            /* GS */
	CHECK(c->s.seg[S_DS].unusable && c->s.seg[S_DS].selector == 0);

	CHECK_EQ(STEP_AT(&e, HANDLER + 0x300, 0xcf), -1);
	CHECK(tcg_rflags(c) & FL_VM);
	CHECK_EQ(tcg_cpl(c), 3);
	CHECK_EQ(c->s.seg[S_CS].base, 0x2000);
	CHECK_EQ(c->s.seg[S_DS].base, 0x4000);
	CHECK_EQ(c->s.seg[S_SS].base, 0x3000);
	CHECK_EQ(c->s.regs[R_RSP], 0x100);
	CHECK_EQ(c->s.rip, 0x52);

	/* IOPL 0: INT n in v86 mode is #GP(0) */
	c->s.rflags &= ~(uint64_t)FL_IOPL;
	CHECK_EQ(STEP_AT(&e, 0x2060, 0xcd, 0x21), EXC_GP);
	CHECK_EQ(c->test_errcode, 0);
	tcg_env_free(&e);
}

TEST(tcg_seg_long_ist_and_rsp0)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_long64(&e, 0);
	put(&e, TSS + 4, 0x80000, 8);                   /* RSP0 */
	put(&e, TSS + 0x24, 0x90008, 8);                /* IST1, aligned down to 16 */
	idt64(&e, 2, HANDLER, 0, 1);
	idt64(&e, 13, HANDLER + 0x100, 0, 0);

	c->s.regs[R_RSP] = 0x70000;
	c->s.rip = 0x1234;
	deliver(c, EXC_NMI, NO_ERRCODE, INT_EXTERNAL, 0x1234);
	CHECK_EQ(c->s.rip, HANDLER);
	CHECK_EQ(c->next_rip, HANDLER);
	CHECK_EQ(c->s.regs[R_RSP], 0x90000 - 40);
	CHECK_EQ(get(&e, 0x90000 - 40, 8), 0x1234);
	CHECK_EQ(get(&e, 0x90000 - 32, 8), SEL_KCODE64);
	CHECK_EQ(get(&e, 0x90000 - 16, 8), 0x70000);
	CHECK_EQ(get(&e, 0x90000 - 8, 8), SEL_KDATA);
	CHECK_EQ(c->s.seg[S_SS].selector, SEL_KDATA);

	/* #GP(0x18) at CPL 3: RSP0, null SS, error code, RF in the image */
	mode_long64(&e, 3);
	c->s.regs[R_RSP] = 0x75555;
	c->s.rflags = 2 | FL_IF;
	deliver(c, EXC_GP, 0x18, INT_EXCEPTION, 0x2000);
	CHECK_EQ(c->s.rip, HANDLER + 0x100);
	CHECK_EQ(tcg_cpl(c), 0);
	CHECK_EQ(c->s.seg[S_CS].selector, SEL_KCODE64);
	CHECK_EQ(c->s.seg[S_SS].selector, 0);
	CHECK(c->s.seg[S_SS].unusable);
	uint64_t f = 0x80000 - 48;
	CHECK_EQ(c->s.regs[R_RSP], f);
	CHECK_EQ(get(&e, f, 8), 0x18);
	CHECK_EQ(get(&e, f + 8, 8), 0x2000);
	CHECK_EQ(get(&e, f + 16, 8), SEL_UCODE64);
	CHECK_EQ(get(&e, f + 24, 8) & (FL_IF | FL_RF), FL_IF | FL_RF);
	CHECK_EQ(get(&e, f + 32, 8), 0x75555);
	CHECK_EQ(get(&e, f + 40, 8), SEL_UDATA);
	CHECK(!(tcg_rflags(c) & FL_IF));
	CHECK_EQ(c->exc_depth, 0);

	/* skip the error code, IRETQ back to CPL 3; a DPL 0 GS is nulled
	 * but keeps its base (set through IA32_GS_BASE) */
	seg_flat(&c->s.seg[S_GS], SEL_KDATA, 3, 0, false);
	c->s.seg[S_GS].base = 0x12345678;
	c->s.regs[R_RSP] += 8;
	CHECK_EQ(STEP_AT(&e, HANDLER + 0x100, 0x48, 0xcf), -1);
	CHECK_EQ(c->s.rip, 0x2000);
	CHECK_EQ(tcg_cpl(c), 3);
	CHECK_EQ(c->s.seg[S_SS].selector, SEL_UDATA);
	CHECK_EQ(c->s.regs[R_RSP], 0x75555);
	CHECK(tcg_rflags(c) & FL_IF);
	CHECK(c->s.seg[S_GS].unusable);
	CHECK_EQ(c->s.seg[S_GS].selector, 0);
	CHECK_EQ(c->s.seg[S_GS].base, 0x12345678);
	CHECK(!c->s.seg[S_DS].unusable);        /* DPL 3: kept */
	tcg_env_free(&e);
}

TEST(tcg_seg_double_and_triple_fault)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_prot32(&e, 0);
	idt32(&e, EXC_DE, HANDLER, 0, false);           /* not present */
	idt32(&e, EXC_DB, HANDLER, 0, false);
	idt32(&e, EXC_DF, HANDLER + 0x80, 0, true);
	idt32(&e, EXC_NP, HANDLER + 0xb0, 0, true);

	/* #DE -> #NP while delivering (contributory twice) -> #DF(0) */
	c->s.regs[R_RSP] = KSTACK;
	c->s.rip = 0x1000;
	deliver(c, EXC_DE, NO_ERRCODE, INT_EXCEPTION, 0x1000);
	CHECK(!c->triple_fault);
	CHECK_EQ(c->s.rip, HANDLER + 0x80);
	CHECK_EQ(c->s.regs[R_RSP], KSTACK - 16);
	CHECK_EQ(get(&e, KSTACK - 16, 4), 0);           /* error code */
	CHECK_EQ(get(&e, KSTACK - 12, 4), 0x1000);
	CHECK_EQ(c->exc_depth, 0);

	/* #DB (benign) -> #NP: delivered as is, EXT and IDT bits set */
	c->s.regs[R_RSP] = KSTACK;
	c->s.rip = 0x1000;
	deliver(c, EXC_DB, NO_ERRCODE, INT_EXCEPTION, 0x1000);
	CHECK_EQ(c->s.rip, HANDLER + 0xb0);
	CHECK_EQ(get(&e, KSTACK - 16, 4), EXC_DB * 8 + 3);

	/* INT 0 (software, a DPL 0 gate at CPL 0) -> #NP, not #DF */
	c->s.regs[R_RSP] = KSTACK;
	c->s.rip = 0x1000;
	deliver(c, EXC_DE, NO_ERRCODE, INT_SOFTWARE, 0x1002);
	CHECK_EQ(c->s.rip, HANDLER + 0xb0);
	CHECK_EQ(get(&e, KSTACK - 16, 4), 2);           /* IDT bit, no EXT */

	/* the #DF gate not present either: triple fault */
	idt32(&e, EXC_DF, HANDLER + 0x80, 0, false);
	c->s.regs[R_RSP] = KSTACK;
	c->s.rip = 0x1000;
	deliver(c, EXC_DE, NO_ERRCODE, INT_EXCEPTION, 0x1000);
	CHECK(c->triple_fault);
	CHECK_EQ(c->exc_depth, 0);
	tcg_env_free(&e);
}

TEST(tcg_seg_call_gate_and_retf)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_prot32(&e, 3);
	c->s.regs[R_RSP] = USTACK - 8;
	put(&e, USTACK - 8, 0x1111, 4);
	put(&e, USTACK - 4, 0x2222, 4);

	/* call far 003b:00000000 -> the gate's target at CPL 0 */
	CHECK_EQ(STEP_AT(&e, 0x1200, 0x9a, 0, 0, 0, 0, SEL_GATE, 0), -1);
	CHECK_EQ(c->s.seg[S_CS].selector, SEL_KCODE);
	CHECK_EQ(tcg_cpl(c), 0);
	CHECK_EQ(c->s.seg[S_SS].selector, SEL_KDATA);
	CHECK_EQ(c->s.rip, HANDLER + 0x200);
	uint64_t f = KSTACK - 24;
	CHECK_EQ(c->s.regs[R_RSP], f);
	CHECK_EQ(get(&e, f, 4), 0x1207);
	CHECK_EQ(get(&e, f + 4, 4), SEL_UCODE);
	CHECK_EQ(get(&e, f + 8, 4), 0x1111);
	CHECK_EQ(get(&e, f + 12, 4), 0x2222);
	CHECK_EQ(get(&e, f + 16, 4), USTACK - 8);
	CHECK_EQ(get(&e, f + 20, 4), SEL_UDATA);

	/* retf 8: back to CPL 3, parameters dropped from both stacks */
	CHECK_EQ(STEP_AT(&e, HANDLER + 0x200, 0xca, 0x08, 0x00), -1);
	CHECK_EQ(c->s.seg[S_CS].selector, SEL_UCODE);
	CHECK_EQ(tcg_cpl(c), 3);
	CHECK_EQ(c->s.seg[S_SS].selector, SEL_UDATA);
	CHECK_EQ(c->s.regs[R_RSP], USTACK);
	CHECK_EQ(c->s.rip, 0x1207);

	/* a direct far call to the DPL 0 code segment from CPL 3: #GP(sel) */
	CHECK_EQ(STEP_AT(&e, 0x1300, 0x9a, 0, 0, 0, 0, SEL_KCODE, 0), EXC_GP);
	CHECK_EQ(c->test_errcode, SEL_KCODE);
	tcg_env_free(&e);
}

TEST(tcg_seg_syscall_sysret)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_long64(&e, 3);
	c->s.star = 0x38ULL << 48 | 0x40ULL << 32;
	c->s.lstar = HANDLER;
	c->s.sfmask = FL_IF | FL_DF;
	c->s.rflags = 2 | FL_IF | FL_DF;

	CHECK_EQ(STEP_AT(&e, 0x1300, 0x0f, 0x05), -1);
	CHECK_EQ(c->s.rip, HANDLER);
	CHECK_EQ(c->s.regs[R_RCX], 0x1302);
	CHECK_EQ(c->s.regs[R_R11] & (FL_IF | FL_DF), FL_IF | FL_DF);
	CHECK_EQ(tcg_rflags(c) & (FL_IF | FL_DF), 0);
	CHECK_EQ(c->s.seg[S_CS].selector, 0x40);
	CHECK(c->s.seg[S_CS].l);
	CHECK_EQ(tcg_cpl(c), 0);
	CHECK_EQ(c->s.seg[S_SS].selector, 0x48);

	CHECK_EQ(STEP_AT(&e, HANDLER, 0x48, 0x0f, 0x07), -1);
	CHECK_EQ(c->s.rip, 0x1302);
	CHECK_EQ(c->s.seg[S_CS].selector, 0x4b);
	CHECK(c->s.seg[S_CS].l);
	CHECK_EQ(tcg_cpl(c), 3);
	CHECK_EQ(c->s.seg[S_SS].selector, 0x43);
	CHECK_EQ(tcg_rflags(c) & (FL_IF | FL_DF), FL_IF | FL_DF);

	/* SYSRET at CPL 3: #GP(0); non-canonical RCX: #GP(0) */
	CHECK_EQ(STEP_AT(&e, 0x1400, 0x48, 0x0f, 0x07), EXC_GP);
	CHECK_EQ(STEP_AT(&e, 0x1410, 0x0f, 0x05), -1);
	c->s.regs[R_RCX] = 0x0000800000000000ULL;
	CHECK_EQ(STEP_AT(&e, HANDLER + 0x10, 0x48, 0x0f, 0x07), EXC_GP);
	CHECK_EQ(c->test_errcode, 0);

	/* 32-bit SYSRET: compatibility-mode CS = STAR[63:48] | 3 */
	c->s.regs[R_RCX] = 0xffffffff00001500ULL;
	CHECK_EQ(STEP_AT(&e, HANDLER + 0x20, 0x0f, 0x07), -1);
	CHECK_EQ(c->s.seg[S_CS].selector, 0x3b);
	CHECK(!c->s.seg[S_CS].l && c->s.seg[S_CS].db);
	CHECK_EQ(c->s.rip, 0x1500);

	/* EFER.SCE clear: #UD */
	mode_long64(&e, 0);
	c->s.efer &= ~EFER_SCE;
	CHECK_EQ(STEP_AT(&e, 0x1600, 0x0f, 0x05), EXC_UD);
	tcg_env_free(&e);
}

/* -cpu MODEL for the machine e runs (NULL: the default, max) */
static void use_model(struct tcg_env *e, struct config *cfg, char *arg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (arg)
		CHECK_EQ(cpu_option_parse(arg, &cfg->cpu_model, &cfg->cpu_features), 0);
	e->m->cfg = arg ? cfg : NULL;
}

/* The vendor's rules (AMD APM Vol. 3 SYSCALL, SYSRET, SYSENTER; SDM
 * Vol. 2): SYSCALL and SYSRET outside 64-bit mode are AMD's, SYSENTER and
 * SYSEXIT in long mode Intel's. */
TEST(tcg_seg_syscall_sysenter_vendor)
{
	struct tcg_env e;
	struct config cfg;
	char epyc[] = "EPYC", haswell[] = "Haswell", amd_max[] = "max,vendor=AuthenticAMD";
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	use_model(&e, &cfg, epyc);
	mode_long64(&e, 3);
	seg_flat(&c->s.seg[S_CS], SEL_UCODE, 0xb, 3, false);    /* compatibility mode */
	c->s.star = 0x38ULL << 48 | 0x40ULL << 32 | 0x2000;
	c->s.lstar = HANDLER;
	c->s.cstar = HANDLER + 0x100;
	c->s.sfmask = FL_IF | FL_DF;
	c->s.rflags = 2 | FL_IF | FL_DF;
	CHECK_EQ(STEP_AT(&e, 0x1700, 0x0f, 0x05), -1);
	CHECK_EQ(c->s.rip, HANDLER + 0x100);                    /* CSTAR */
	CHECK_EQ(c->s.regs[R_RCX], 0x1702);
	CHECK_EQ(c->s.regs[R_R11] & (FL_IF | FL_DF), FL_IF | FL_DF);
	CHECK_EQ(tcg_rflags(c) & (FL_IF | FL_DF), 0);
	CHECK_EQ(c->s.seg[S_CS].selector, 0x40);
	CHECK(c->s.seg[S_CS].l);
	CHECK_EQ(c->s.seg[S_SS].selector, 0x48);
	/* SYSRET from compatibility mode at CPL 0 */
	seg_flat(&c->s.seg[S_CS], SEL_KCODE, 0xb, 0, false);
	c->s.regs[R_RCX] = 0x1800;
	CHECK_EQ(STEP_AT(&e, 0x1710, 0x0f, 0x07), -1);
	CHECK_EQ(c->s.seg[S_CS].selector, 0x3b);
	CHECK_EQ(c->s.rip, 0x1800);
	/* SYSENTER, SYSEXIT in long mode: #UD */
	c->s.sysenter_cs = SEL_KCODE64;
	CHECK_EQ(STEP_AT(&e, 0x1720, 0x0f, 0x34), EXC_UD);
	mode_long64(&e, 0);
	CHECK_EQ(STEP_AT(&e, 0x1730, 0x0f, 0x35), EXC_UD);

	/* legacy mode: to STAR[31:0] in 32-bit code, ECX the return address */
	mode_prot32(&e, 3);
	c->s.efer = EFER_SCE;
	c->s.rflags = 2 | FL_IF;
	CHECK_EQ(STEP_AT(&e, 0x1740, 0x0f, 0x05), -1);
	CHECK_EQ(c->s.rip, 0x2000);
	CHECK_EQ(c->s.regs[R_RCX], 0x1742);
	CHECK_EQ(c->s.seg[S_CS].selector, 0x40);
	CHECK(!c->s.seg[S_CS].l && c->s.seg[S_CS].db);
	CHECK_EQ(tcg_cpl(c), 0);
	CHECK_EQ(tcg_rflags(c) & FL_IF, 0);
	/* ... and back with SYSRET: CS STAR[63:48] | 3, IF set */
	c->s.regs[R_RCX] = 0x1900;
	CHECK_EQ(STEP_AT(&e, 0x2000, 0x0f, 0x07), -1);
	CHECK_EQ(c->s.rip, 0x1900);
	CHECK_EQ(c->s.seg[S_CS].selector, 0x3b);
	CHECK_EQ(tcg_cpl(c), 3);
	CHECK(tcg_rflags(c) & FL_IF);
	CHECK_EQ(STEP_AT(&e, 0x1900, 0x0f, 0x07), EXC_GP);     /* CPL 3 */

	/* vendor= alone makes max an AMD CPU too */
	use_model(&e, &cfg, amd_max);
	mode_long64(&e, 3);
	seg_flat(&c->s.seg[S_CS], SEL_UCODE, 0xb, 3, false);
	CHECK_EQ(STEP_AT(&e, 0x1750, 0x0f, 0x05), -1);
	CHECK_EQ(c->s.rip, HANDLER + 0x100);

	/* Intel (a named model, and the default): #UD outside 64-bit mode;
	 * SYSENTER in long mode goes to SYSENTER_EIP */
	for (int k = 0; k < 2; k++) {
		use_model(&e, &cfg, k ? haswell : NULL);
		mode_long64(&e, 3);
		seg_flat(&c->s.seg[S_CS], SEL_UCODE, 0xb, 3, false);
		CHECK_EQ(STEP_AT(&e, 0x1760 + k * 0x40, 0x0f, 0x05), EXC_UD);
		mode_long64(&e, 0);
		seg_flat(&c->s.seg[S_CS], SEL_KCODE, 0xb, 0, false);
		CHECK_EQ(STEP_AT(&e, 0x1770 + k * 0x40, 0x0f, 0x07), EXC_UD);
		mode_long64(&e, 3);
		c->s.sysenter_cs = SEL_KCODE64;
		c->s.sysenter_eip = HANDLER;
		CHECK_EQ(STEP_AT(&e, 0x1780 + k * 0x40, 0x0f, 0x34), -1);
		CHECK_EQ(c->s.rip, HANDLER);
		mode_prot32(&e, 3);
		c->s.efer = EFER_SCE;
		CHECK_EQ(STEP_AT(&e, 0x1790 + k * 0x40, 0x0f, 0x05), EXC_UD);
	}
	e.m->cfg = NULL;
	tcg_env_free(&e);
}

TEST(tcg_seg_load_faults)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_prot32(&e, 0);

	c->s.regs[R_RAX] = 0x1000;                      /* past the GDT limit */
	CHECK_EQ(STEP_AT(&e, 0x1000, 0x8e, 0xd8), EXC_GP);
	CHECK_EQ(c->test_errcode, 0x1000);
	c->s.regs[R_RAX] = 0;                           /* null SS */
	CHECK_EQ(STEP_AT(&e, 0x1020, 0x8e, 0xd0), EXC_GP);
	CHECK_EQ(c->test_errcode, 0);
	c->s.regs[R_RAX] = SEL_KCODE;                   /* code segment into SS */
	CHECK_EQ(STEP_AT(&e, 0x1040, 0x8e, 0xd0), EXC_GP);
	CHECK_EQ(c->test_errcode, SEL_KCODE);
	c->s.regs[R_RAX] = SEL_NPDATA;
	CHECK_EQ(STEP_AT(&e, 0x1060, 0x8e, 0xd8), EXC_NP);
	CHECK_EQ(c->test_errcode, SEL_NPDATA);
	CHECK_EQ(STEP_AT(&e, 0x1080, 0x8e, 0xd0), EXC_SS);
	CHECK_EQ(c->test_errcode, SEL_NPDATA);
	c->s.regs[R_RAX] = 0;                           /* null DS is fine */
	CHECK_EQ(STEP_AT(&e, 0x10a0, 0x8e, 0xd8), -1);
	CHECK(c->s.seg[S_DS].unusable);
	c->s.regs[R_RAX] = SEL_UDATA;                   /* DPL 3 data at CPL 0 */
	CHECK_EQ(STEP_AT(&e, 0x10c0, 0x8e, 0xd8), -1);
	CHECK_EQ(c->s.seg[S_DS].dpl, 3);
	CHECK(!c->s.seg[S_DS].unusable);
	c->s.regs[R_RAX] = SEL_UDATA;                   /* DPL 3 SS at CPL 0 */
	CHECK_EQ(STEP_AT(&e, 0x10e0, 0x8e, 0xd0), EXC_GP);
	CHECK_EQ(STEP_AT(&e, 0x1100, 0x8e, 0xc8), EXC_UD); /* mov cs, ax */

	/* push/pop fs, mov r32, sreg zero-extends */
	c->s.regs[R_RSP] = USTACK;
	c->s.regs[R_RAX] = SEL_KDATA;
	CHECK_EQ(STEP_AT(&e, 0x1120, 0x8e, 0xe0), -1);   /* mov fs, ax */
	CHECK_EQ(STEP_AT(&e, 0x1140, 0x0f, 0xa0), -1);   /* push fs */
	CHECK_EQ(c->s.regs[R_RSP], USTACK - 4);
	CHECK_EQ(get(&e, USTACK - 4, 2), SEL_KDATA);
	CHECK_EQ(STEP_AT(&e, 0x1160, 0x0f, 0xa9), -1);   /* pop gs */
	CHECK_EQ(c->s.seg[S_GS].selector, SEL_KDATA);
	CHECK_EQ(c->s.regs[R_RSP], USTACK);
	c->s.regs[R_RBX] = 0xdeadbeefcafef00dULL;
	CHECK_EQ(STEP_AT(&e, 0x1180, 0x8c, 0xe3), -1);   /* mov ebx, fs */
	CHECK_EQ(c->s.regs[R_RBX], SEL_KDATA);
	tcg_env_free(&e);
}

TEST(tcg_seg_lar_lsl_verr)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_prot32(&e, 0);
	uint64_t ucode = get(&e, GDT + 0x18, 8);

	c->s.regs[R_RBX] = SEL_UCODE;
	CHECK_EQ(STEP_AT(&e, 0x1000, 0x0f, 0x02, 0xc3), -1);      /* lar eax, ebx */
	CHECK(zf(c));
	CHECK_EQ(c->s.regs[R_RAX], (ucode >> 32) & 0x00f0ff00);
	CHECK_EQ(STEP_AT(&e, 0x1020, 0x0f, 0x03, 0xc3), -1);      /* lsl eax, ebx */
	CHECK(zf(c));
	CHECK_EQ(c->s.regs[R_RAX], 0xffffffff);

	c->s.regs[R_RBX] = SEL_TSS;
	CHECK_EQ(STEP_AT(&e, 0x1040, 0x0f, 0x03, 0xc3), -1);
	CHECK(zf(c));
	CHECK_EQ(c->s.regs[R_RAX], 0x67);

	/* LSL of a call gate fails (ZF = 0, EAX kept); LAR of it works */
	c->s.regs[R_RBX] = SEL_GATE;
	c->s.regs[R_RAX] = 0x5555;
	CHECK_EQ(STEP_AT(&e, 0x1060, 0x0f, 0x03, 0xc3), -1);
	CHECK(!zf(c));
	CHECK_EQ(c->s.regs[R_RAX], 0x5555);
	CHECK_EQ(STEP_AT(&e, 0x1080, 0x0f, 0x02, 0xc3), -1);
	CHECK(zf(c));
	c->s.regs[R_RBX] = 0;
	CHECK_EQ(STEP_AT(&e, 0x10a0, 0x0f, 0x02, 0xc3), -1);
	CHECK(!zf(c));

	c->s.regs[R_RBX] = SEL_KCODE;
	CHECK_EQ(STEP_AT(&e, 0x10c0, 0x0f, 0x00, 0xe3), -1);      /* verr bx */
	CHECK(zf(c));
	CHECK_EQ(STEP_AT(&e, 0x10e0, 0x0f, 0x00, 0xeb), -1);      /* verw bx */
	CHECK(!zf(c));
	c->s.regs[R_RBX] = SEL_KDATA;
	CHECK_EQ(STEP_AT(&e, 0x1100, 0x0f, 0x00, 0xeb), -1);
	CHECK(zf(c));

	/* at CPL 3 the DPL 0 data segment is invisible */
	mode_prot32(&e, 3);
	CHECK_EQ(STEP_AT(&e, 0x1120, 0x0f, 0x00, 0xe3), -1);
	CHECK(!zf(c));
	c->s.regs[R_RBX] = SEL_UDATA;
	CHECK_EQ(STEP_AT(&e, 0x1140, 0x0f, 0x00, 0xe3), -1);
	CHECK(zf(c));

	/* LTR at CPL 3: #GP(0); at CPL 0 it marks the TSS busy */
	CHECK_EQ(STEP_AT(&e, 0x1160, 0x0f, 0x00, 0xd8), EXC_GP);  /* ltr ax */
	mode_prot32(&e, 0);
	c->s.regs[R_RAX] = SEL_TSS;
	CHECK_EQ(STEP_AT(&e, 0x1180, 0x0f, 0x00, 0xd8), -1);
	CHECK_EQ(c->s.tr.type, 0xb);
	CHECK_EQ((get(&e, GDT + SEL_TSS, 8) >> 40) & 0xf, 0xb);
	CHECK_EQ(c->s.tr.base, TSS);
	CHECK_EQ(STEP_AT(&e, 0x11a0, 0x0f, 0x00, 0xd8), EXC_GP);  /* busy now */
	CHECK_EQ(c->test_errcode, SEL_TSS);
	tcg_env_free(&e);
}
