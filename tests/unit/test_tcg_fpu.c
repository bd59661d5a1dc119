/*
 * TCG x87 FPU (user/tcg/fpu.c): loads, arithmetic and stores, stack
 * faults and their masked responses, unmasked exceptions and #MF, #NM,
 * the FSTENV/FSAVE images, FXAM, FCOMI, FIST under each rounding mode,
 * BCD, and the FXSAVE image packing.
 *
 * Each test builds a 16 MiB machine with one TCG vCPU in flat 32-bit
 * protected mode (CR0.NE set) or 64-bit mode and runs single instructions
 * with tcg_step(), which returns faults instead of delivering them.
 */
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "physmap.h"
#include "tcg/tcg.h"
#include "tcgtest.h"

#define CODE_BASE 0x1000
#define DATA 0x3000
#define PML4 TCGT_PML4

/* x87 status word bits */
#define IE 0x0001
#define ZE 0x0004
#define PE 0x0020
#define SF 0x0040
#define ES 0x0080
#define C0 0x0100
#define C1 0x0200
#define C2 0x0400
#define C3 0x4000
#define B 0x8000

/* [disp32] in 32-bit code: modrm mod=00 rm=101 */
#define D32(a) (a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff
#define M(reg) (0x05 | (reg) << 3)

/* flat 32-bit protected mode, paging off, CR0.NE, FNINIT state */
static bool env_init(struct tcg_env *e)
{
	if (!tcg_env_init(e, CODE_BASE))
		return false;
	e->c->s.cr0 = CR0_PE | CR0_ET | CR0_NE;
	e->c->s.cr4 = CR4_OSFXSR;
	tcg_env_flat_segs(e->c, 0, false);
	e->c->s.rflags = 2;
	tcg_set_arith_flags(e->c, 0);
	tcg_fpu_reset(&e->c->fpu);
	tcg_tlb_flush_all(e->c);
	return true;
}

/* 64-bit mode: identity map of 16 MiB in 2 MiB pages */
static void mode_long64(struct tcg_env *e)
{
	struct tcg_cpu *c = e->c;
	tcg_env_long_mode(e);
	c->s.cr0 |= CR0_NE;
	c->s.cr4 |= CR4_OSFXSR;
	tcg_env_flat_segs(c, 0, true);
}

static uint16_t fsw(struct tcg_env *e)
{
	return (e->c->fpu.fsw & ~0x3800) | (e->c->fpu.top & 7) << 11;
}

static unsigned top(struct tcg_env *e)
{
	return e->c->fpu.top & 7;
}

/* ST(i) as sign/exponent and significand */
static uint16_t st_se(struct tcg_env *e, unsigned i)
{
	uint16_t v;

	memcpy(&v, (uint8_t *)&e->c->fpu.st[(e->c->fpu.top + i) & 7] + 8, 2);
	return v;
}

static uint64_t st_mant(struct tcg_env *e, unsigned i)
{
	uint64_t v;

	memcpy(&v, &e->c->fpu.st[(e->c->fpu.top + i) & 7], 8);
	return v;
}

static uint64_t rd64(struct tcg_env *e, uint64_t gpa)
{
	uint64_t v = 0;

	guest_read(e->m, gpa, &v, 8);
	return v;
}

static uint32_t rd32(struct tcg_env *e, uint64_t gpa)
{
	uint32_t v = 0;

	guest_read(e->m, gpa, &v, 4);
	return v;
}

static uint16_t rd16(struct tcg_env *e, uint64_t gpa)
{
	uint16_t v = 0;

	guest_read(e->m, gpa, &v, 2);
	return v;
}

static void wr_double(struct tcg_env *e, uint64_t gpa, double d)
{
	guest_write(e->m, gpa, &d, 8);
}

static double rd_double(struct tcg_env *e, uint64_t gpa)
{
	double d = 0;

	guest_read(e->m, gpa, &d, 8);
	return d;
}

static void wr16(struct tcg_env *e, uint64_t gpa, uint16_t v)
{
	guest_write(e->m, gpa, &v, 2);
}

/* 80-bit value at gpa */
static void wr80(struct tcg_env *e, uint64_t gpa, uint16_t se, uint64_t mant)
{
	guest_write(e->m, gpa, &mant, 8);
	guest_write(e->m, gpa + 8, &se, 2);
}

/* FLD m64 / FLD m80 / FLDCW from DATA+off */
static int fld64(struct tcg_env *e, double d)
{
	wr_double(e, DATA + 0x200, d);
	return STEP(e, 0xdd, M(0), D32(DATA + 0x200));
}

static int fld80(struct tcg_env *e, uint16_t se, uint64_t mant)
{
	wr80(e, DATA + 0x210, se, mant);
	return STEP(e, 0xdb, M(5), D32(DATA + 0x210));
}

static int fldcw(struct tcg_env *e, uint16_t cw)
{
	wr16(e, DATA + 0x220, cw);
	return STEP(e, 0xd9, M(5), D32(DATA + 0x220));
}

/* ------------------------------------------------------------------ */

TEST(tcg_fpu_load_add_store)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	wr_double(&e, DATA, 1.5);
	wr_double(&e, DATA + 8, 2.25);
	CHECK_EQ(STEP(&e, 0xdd, M(0), D32(DATA)), -1);         /* fld qword [DATA] */
	CHECK_EQ(top(&e), 7);
	CHECK_EQ(e.c->fpu.ftw, 0x3fff);                        /* R7 valid */
	CHECK_EQ(STEP(&e, 0xdc, M(0), D32(DATA + 8)), -1);     /* fadd qword [DATA+8] */
	CHECK_EQ(STEP(&e, 0xdd, M(3), D32(DATA + 16)), -1);    /* fstp qword [DATA+16] */
	CHECK(rd_double(&e, DATA + 16) == 3.75);
	CHECK_EQ(top(&e), 0);
	CHECK_EQ(e.c->fpu.ftw, 0xffff);
	CHECK_EQ(fsw(&e), 0);

	/* register forms: 3.75 - 1 and the reversed DC form */
	CHECK_EQ(fld64(&e, 1.0), -1);
	CHECK_EQ(fld64(&e, 3.75), -1);
	CHECK_EQ(STEP(&e, 0xd8, 0xe1), -1);                    /* fsub st0, st1 */
	CHECK_EQ(st_se(&e, 0), 0x4000);                        /* 2.75 */
	CHECK_EQ(st_mant(&e, 0), 0xb000000000000000ULL);
	CHECK_EQ(STEP(&e, 0xdc, 0xe1), -1);                    /* fsubr st1, st0: st1 = st0 - st1 */
	CHECK_EQ(st_se(&e, 1), 0x3fff);                        /* 1.75 */
	CHECK_EQ(st_mant(&e, 1), 0xe000000000000000ULL);
	CHECK_EQ(STEP(&e, 0xde, 0xf9), -1);                    /* fdivp st1, st0: 1.75 / 2.75 */
	CHECK_EQ(top(&e), 7);
	CHECK_EQ(STEP(&e, 0xdd, M(3), D32(DATA + 16)), -1);
	CHECK(rd_double(&e, DATA + 16) == (double)(1.75L / 2.75L));
	CHECK_EQ(fsw(&e) & PE, PE);                            /* inexact */

	/* FILD / FIST m16/m32/m64, FILD of the most negative 64-bit value */
	uint64_t big = 0x8000000000000000ULL;
	guest_write(e.m, DATA + 32, &big, 8);
	CHECK_EQ(STEP(&e, 0xdf, M(5), D32(DATA + 32)), -1);    /* fild qword */
	CHECK_EQ(st_se(&e, 0), 0xc03e);
	CHECK_EQ(st_mant(&e, 0), 0x8000000000000000ULL);
	CHECK_EQ(STEP(&e, 0xdf, M(7), D32(DATA + 40)), -1);    /* fistp qword */
	CHECK_EQ(rd64(&e, DATA + 40), big);
	wr16(&e, DATA + 48, (uint16_t)-1234);
	CHECK_EQ(STEP(&e, 0xdf, M(0), D32(DATA + 48)), -1);    /* fild word */
	CHECK_EQ(STEP(&e, 0xdb, M(3), D32(DATA + 52)), -1);    /* fistp dword */
	CHECK_EQ(rd32(&e, DATA + 52), (uint32_t)-1234);

	/* constants: pi rounded to nearest, then down (RC=01) */
	CHECK_EQ(STEP(&e, 0xd9, 0xeb), -1);                    /* fldpi */
	CHECK_EQ(st_se(&e, 0), 0x4000);
	CHECK_EQ(st_mant(&e, 0), 0xc90fdaa22168c235ULL);
	CHECK_EQ(fldcw(&e, 0x77f), -1);
	CHECK_EQ(STEP(&e, 0xd9, 0xeb), -1);
	CHECK_EQ(st_mant(&e, 0), 0xc90fdaa22168c234ULL);
	tcg_env_free(&e);
}

TEST(tcg_fpu_stack_faults)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	/* underflow, masked: IE SF, C1=0, the destination gets the QNaN
	 * indefinite, which FSTP m64 stores as the double indefinite */
	CHECK_EQ(STEP(&e, 0xd8, 0xc1), -1);                    /* fadd st0, st1: both empty */
	CHECK_EQ(fsw(&e) & (IE | SF | C1 | ES), IE | SF);
	CHECK_EQ(st_se(&e, 0), 0xffff);
	CHECK_EQ(st_mant(&e, 0), 0xc000000000000000ULL);
	CHECK_EQ(STEP(&e, 0xdd, M(3), D32(DATA)), -1);         /* fstp qword */
	CHECK_EQ(rd64(&e, DATA), 0xfff8000000000000ULL);
	CHECK_EQ(top(&e), 1);                                  /* popped */

	/* FIST from an empty register: the integer indefinite */
	CHECK_EQ(STEP(&e, 0xdb, 0xe2), -1);                    /* fnclex */
	CHECK_EQ(STEP(&e, 0xdb, 0xe3), -1);                    /* fninit */
	CHECK_EQ(STEP(&e, 0xdb, M(2), D32(DATA + 8)), -1);     /* fist dword */
	CHECK_EQ(rd32(&e, DATA + 8), 0x80000000);
	CHECK_EQ(fsw(&e) & (IE | SF), IE | SF);

	/* overflow: eight pushes fill the stack, the ninth sets C1 and
	 * overwrites ST(0) with the indefinite */
	CHECK_EQ(STEP(&e, 0xdb, 0xe3), -1);
	for (int k = 0; k < 8; k++)
		CHECK_EQ(STEP(&e, 0xd9, 0xe8), -1);            /* fld1 */
	CHECK_EQ(fsw(&e) & (IE | SF), 0);
	CHECK_EQ(e.c->fpu.ftw, 0);
	CHECK_EQ(STEP(&e, 0xd9, 0xee), -1);                    /* fldz */
	CHECK_EQ(fsw(&e) & (IE | SF | C1), IE | SF | C1);
	CHECK_EQ(st_se(&e, 0), 0xffff);

	/* unmasked IE: the stack fault changes nothing but FSW */
	CHECK_EQ(STEP(&e, 0xdb, 0xe3), -1);
	CHECK_EQ(fldcw(&e, 0x37e), -1);
	CHECK_EQ(STEP(&e, 0xd9, 0xfa), -1);                    /* fsqrt on empty */
	CHECK_EQ(fsw(&e) & (IE | SF | ES | B), IE | SF | ES | B);
	CHECK_EQ(e.c->fpu.ftw, 0xffff);
	CHECK_EQ(STEP(&e, 0xd9, 0xe8), EXC_MF);                /* next waiting insn */
	tcg_env_free(&e);
}

TEST(tcg_fpu_unmasked_zero_divide_mf)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	CHECK_EQ(fldcw(&e, 0x37b), -1);                        /* ZE unmasked */
	CHECK_EQ(STEP(&e, 0xd9, 0xe8), -1);                    /* fld1 */
	CHECK_EQ(STEP(&e, 0xd9, 0xee), -1);                    /* fldz */
	uint64_t div_at = e.code;
	CHECK_EQ(STEP(&e, 0xde, 0xf9), -1);                    /* fdivp st1, st0: 1/0 */
	CHECK_EQ(fsw(&e) & (ZE | ES | B), ZE | ES | B);
	CHECK_EQ(top(&e), 6);                                  /* no pop, operands kept */
	CHECK_EQ(st_se(&e, 0), 0);
	CHECK_EQ(st_se(&e, 1), 0x3fff);
	/* the next waiting instruction takes #MF, before changing anything;
	 * FIP/FOP still name the faulting FDIVRP */
	CHECK_EQ(STEP(&e, 0xd9, 0xe8), EXC_MF);
	CHECK_EQ(top(&e), 6);
	CHECK_EQ(e.c->fpu.fip, div_at);
	CHECK_EQ(e.c->fpu.fop, 0x6f9);
	CHECK_EQ(STEP(&e, 0x9b), EXC_MF);                      /* fwait */
	/* non-waiting instructions do not */
	CHECK_EQ(STEP(&e, 0xdf, 0xe0), -1);                    /* fnstsw ax */
	CHECK_EQ(e.c->s.regs[R_RAX] & 0xffff, fsw(&e));
	CHECK_EQ(STEP(&e, 0xdb, 0xe2), -1);                    /* fnclex */
	CHECK_EQ(fsw(&e) & (ZE | ES | B), 0);
	CHECK_EQ(STEP(&e, 0x9b), -1);
	CHECK_EQ(STEP(&e, 0xd9, 0xe8), -1);

	/* masked: infinity */
	CHECK_EQ(fldcw(&e, 0x37f), -1);
	CHECK_EQ(STEP(&e, 0xd9, 0xee), -1);
	CHECK_EQ(STEP(&e, 0xd8, 0xf9), -1);                    /* fdivr st0, st1: 1/0 */
	CHECK_EQ(st_se(&e, 0), 0x7fff);
	CHECK_EQ(st_mant(&e, 0), 0x8000000000000000ULL);
	CHECK_EQ(fsw(&e) & (ZE | ES), ZE);

	/* CR0.NE clear: the legacy FERR# path, no #MF */
	CHECK_EQ(fldcw(&e, 0x37b), -1);
	CHECK_EQ(STEP(&e, 0xdb, 0xe2), -1);                    /* fnclex */
	CHECK_EQ(STEP(&e, 0xd9, 0xe8), -1);
	CHECK_EQ(STEP(&e, 0xd9, 0xee), -1);
	CHECK_EQ(STEP(&e, 0xd8, 0xf9), -1);                    /* 1/0 again, unmasked */
	CHECK_EQ(fsw(&e) & ES, ES);
	e.c->s.cr0 &= ~CR0_NE;
	CHECK_EQ(STEP(&e, 0xd9, 0xe8), -1);
	tcg_env_free(&e);
}

TEST(tcg_fpu_nm)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	e.c->s.cr0 |= CR0_TS;
	CHECK_EQ(STEP(&e, 0xd9, 0xe8), EXC_NM);
	CHECK_EQ(STEP(&e, 0xdb, 0xe3), EXC_NM);                /* fninit too */
	CHECK_EQ(STEP(&e, 0x9b), -1);                          /* fwait: TS alone */
	e.c->s.cr0 |= CR0_MP;
	CHECK_EQ(STEP(&e, 0x9b), EXC_NM);
	e.c->s.cr0 &= ~(CR0_TS | CR0_MP);
	e.c->s.cr0 |= CR0_EM;
	CHECK_EQ(STEP(&e, 0xd9, 0xe8), EXC_NM);
	CHECK_EQ(STEP(&e, 0x9b), -1);                          /* fwait ignores EM */
	e.c->s.cr0 &= ~CR0_EM;
	CHECK_EQ(STEP(&e, 0xd9, 0xe8), -1);
	CHECK_EQ(STEP(&e, 0xd9, 0xd1), EXC_UD);                /* reserved D9 D1 */
	CHECK_EQ(STEP(&e, 0xf0, 0xd9, 0xe8), EXC_UD);          /* lock */
	tcg_env_free(&e);
}

TEST(tcg_fpu_fnstenv_layout)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	CHECK_EQ(fld64(&e, 2.0), -1);                          /* FDP = DATA+0x200 */
	CHECK_EQ(STEP(&e, 0xd9, 0xe8), -1);                    /* fld1 */
	uint64_t fld1_at = e.last;
	CHECK_EQ(fldcw(&e, 0x0b7f), -1);                       /* control: pointers kept */

	CHECK_EQ(STEP(&e, 0xd9, M(6), D32(DATA)), -1);         /* fnstenv [DATA] */
	CHECK_EQ(rd32(&e, DATA + 0), 0xffff0b7f);
	CHECK_EQ(rd32(&e, DATA + 4), 0xffff3000);              /* TOP = 6 */
	CHECK_EQ(rd32(&e, DATA + 8), 0xffff0fff);              /* R6 R7 valid */
	CHECK_EQ(rd32(&e, DATA + 12), fld1_at);
	CHECK_EQ(rd32(&e, DATA + 16), 0x01e8u << 16 | 0x08);   /* FOP D9 E8, CS */
	CHECK_EQ(rd32(&e, DATA + 20), DATA + 0x200);
	CHECK_EQ(rd32(&e, DATA + 24), 0xffff0010);
	CHECK_EQ(e.c->fpu.fcw, 0x0b7f);                        /* all masked already */

	/* 16-bit form; zero and special tags */
	CHECK_EQ(STEP(&e, 0xd9, 0xee), -1);                    /* fldz: R5 zero */
	CHECK_EQ(fld80(&e, 0x7fff, 0xc000000000000000ULL), -1); /* R4 special */
	CHECK_EQ(STEP(&e, 0x66, 0xd9, M(6), D32(DATA + 32)), -1);
	CHECK_EQ(rd16(&e, DATA + 32), 0x0b7f);
	CHECK_EQ(rd16(&e, DATA + 34), 0x2000);
	CHECK_EQ(rd16(&e, DATA + 36), 0x06ff);
	CHECK_EQ(rd16(&e, DATA + 40), 0x08);
	CHECK_EQ(rd16(&e, DATA + 42), (DATA + 0x210) & 0xffff);

	/* FLDENV of the first image: TOP 6, tags recomputed */
	CHECK_EQ(STEP(&e, 0xdb, 0xe3), -1);
	CHECK_EQ(STEP(&e, 0xd9, M(4), D32(DATA)), -1);
	CHECK_EQ(top(&e), 6);
	CHECK_EQ(e.c->fpu.fcw, 0x0b7f);
	CHECK_EQ(e.c->fpu.fip, fld1_at);
	CHECK_EQ(e.c->fpu.fop, 0x1e8);

	/* FNSAVE reinitialises, FRSTOR brings everything back */
	CHECK_EQ(STEP(&e, 0xdb, 0xe3), -1);
	CHECK_EQ(fld64(&e, 5.0), -1);
	CHECK_EQ(fld64(&e, -7.0), -1);
	CHECK_EQ(STEP(&e, 0xdd, M(6), D32(DATA + 64)), -1);    /* fnsave */
	CHECK_EQ(e.c->fpu.ftw, 0xffff);
	CHECK_EQ(e.c->fpu.fcw, 0x37f);
	CHECK_EQ(top(&e), 0);
	CHECK_EQ(rd16(&e, DATA + 64 + 28 + 8), 0xc001);        /* ST0 = -7 */
	CHECK_EQ(STEP(&e, 0xdd, M(4), D32(DATA + 64)), -1);    /* frstor */
	CHECK_EQ(top(&e), 6);
	CHECK_EQ(st_se(&e, 0), 0xc001);
	CHECK_EQ(st_se(&e, 1), 0x4001);
	CHECK_EQ(e.c->fpu.ftw, 0x0fff);
	tcg_env_free(&e);
}

/* FXAM's C3 C2 C1 C0 for one value */
static uint16_t fxam(struct tcg_env *e, uint16_t se, uint64_t mant)
{
	STEP(e, 0xdb, 0xe3);
	fld80(e, se, mant);
	STEP(e, 0xd9, 0xe5);
	return fsw(e) & (C3 | C2 | C1 | C0);
}

TEST(tcg_fpu_fxam)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	CHECK_EQ(fxam(&e, 0x0000, 0), C3);                             /* +0 */
	CHECK_EQ(fxam(&e, 0x8000, 0), C3 | C1);                        /* -0 */
	CHECK_EQ(fxam(&e, 0x3fff, 0x8000000000000000ULL), C2);         /* normal */
	CHECK_EQ(fxam(&e, 0xffff, 0x8000000000000000ULL), C2 | C1 | C0); /* -inf */
	CHECK_EQ(fxam(&e, 0x7fff, 0xc000000000000001ULL), C0);         /* NaN */
	CHECK_EQ(fxam(&e, 0x0000, 0x0000000000000001ULL), C3 | C2);    /* denormal */
	CHECK_EQ(fxam(&e, 0x3fff, 0x4000000000000000ULL), 0);          /* unnormal */
	STEP(&e, 0xdb, 0xe3);
	STEP(&e, 0xd9, 0xe5);                                          /* empty */
	CHECK_EQ(fsw(&e) & (C3 | C2 | C0), C3 | C0);
	tcg_env_free(&e);
}

TEST(tcg_fpu_fcomi_flags)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	uint64_t zpc = FL_ZF | FL_PF | FL_CF;

	tcg_set_arith_flags(e.c, FL_OF | FL_SF | FL_AF);
	CHECK_EQ(fld64(&e, 1.0), -1);
	CHECK_EQ(fld64(&e, 2.0), -1);
	CHECK_EQ(STEP(&e, 0xdb, 0xf1), -1);                    /* fcomi st0, st1: 2 > 1 */
	CHECK_EQ(tcg_arith_flags(e.c), 0);                     /* OF SF AF cleared */
	CHECK_EQ(STEP(&e, 0xd9, 0xc9), -1);                    /* fxch st1 */
	CHECK_EQ(STEP(&e, 0xdb, 0xf1), -1);                    /* 1 < 2 */
	CHECK_EQ(tcg_arith_flags(e.c), FL_CF);
	CHECK_EQ(STEP(&e, 0xdb, 0xf0), -1);                    /* fcomi st0, st0 */
	CHECK_EQ(tcg_arith_flags(e.c), FL_ZF);
	CHECK_EQ(STEP(&e, 0xdf, 0xf1), -1);                    /* fcomip: pops */
	CHECK_EQ(top(&e), 7);

	/* unordered: FUCOMI quietly, FCOMI with IE */
	CHECK_EQ(fld80(&e, 0x7fff, 0xc000000000000000ULL), -1); /* QNaN */
	CHECK_EQ(STEP(&e, 0xdb, 0xe9), -1);                    /* fucomi st0, st1 */
	CHECK_EQ(tcg_arith_flags(e.c), zpc);
	CHECK_EQ(fsw(&e) & IE, 0);
	CHECK_EQ(STEP(&e, 0xdb, 0xf1), -1);                    /* fcomi */
	CHECK_EQ(tcg_arith_flags(e.c), zpc);
	CHECK_EQ(fsw(&e) & IE, IE);

	/* FCMOVcc reads the flags: CF set -> FCMOVB moves, FCMOVNB not */
	CHECK_EQ(STEP(&e, 0xdb, 0xe3), -1);
	CHECK_EQ(fld64(&e, 3.0), -1);
	CHECK_EQ(fld64(&e, 4.0), -1);
	tcg_set_arith_flags(e.c, FL_CF);
	CHECK_EQ(STEP(&e, 0xdb, 0xc1), -1);                    /* fcmovnb st0, st1 */
	CHECK_EQ(st_se(&e, 0), 0x4001);                        /* still 4 */
	CHECK_EQ(st_mant(&e, 0), 0x8000000000000000ULL);
	CHECK_EQ(STEP(&e, 0xda, 0xc1), -1);                    /* fcmovb */
	CHECK_EQ(st_mant(&e, 0), 0xc000000000000000ULL);       /* 3 */

	/* FCOM sets C3 C2 C0; FCOMPP pops both */
	CHECK_EQ(fld64(&e, 0.5), -1);
	CHECK_EQ(STEP(&e, 0xd8, 0xd1), -1);                    /* fcom st1: 0.5 < 3 */
	CHECK_EQ(fsw(&e) & (C3 | C2 | C0), C0);
	CHECK_EQ(STEP(&e, 0xde, 0xd9), -1);                    /* fcompp */
	CHECK_EQ(top(&e), 7);
	CHECK_EQ(STEP(&e, 0xd9, 0xe4), -1);                    /* ftst: 3 > 0 */
	CHECK_EQ(fsw(&e) & (C3 | C2 | C0), 0);
	tcg_env_free(&e);
}

/* FIST m32 of ST(0) under rounding control rc */
static int32_t fist_rc(struct tcg_env *e, double v, unsigned rc)
{
	STEP(e, 0xdb, 0xe3);
	fldcw(e, 0x37f | rc << 10);
	fld64(e, v);
	STEP(e, 0xdb, M(2), D32(DATA));                         /* fist dword */
	return (int32_t)rd32(e, DATA);
}

TEST(tcg_fpu_fist_rounding)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	CHECK_EQ(fist_rc(&e, 2.5, 0), 2);                      /* nearest even */
	CHECK_EQ(fist_rc(&e, 3.5, 0), 4);
	CHECK_EQ(fist_rc(&e, 2.5, 1), 2);                      /* down */
	CHECK_EQ(fist_rc(&e, -2.5, 1), -3);
	CHECK_EQ(fist_rc(&e, 2.5, 2), 3);                      /* up */
	CHECK_EQ(fist_rc(&e, -2.5, 2), -2);
	CHECK_EQ(fist_rc(&e, -2.7, 3), -2);                    /* chop */
	CHECK_EQ(fsw(&e) & PE, PE);
	CHECK_EQ(fist_rc(&e, 3e9, 0), (int32_t)0x80000000);    /* out of range: IE */
	CHECK_EQ(fsw(&e) & IE, IE);

	/* FISTTP chops whatever RC says, and pops */
	STEP(&e, 0xdb, 0xe3);
	fld64(&e, -2.7);
	CHECK_EQ(STEP(&e, 0xdd, M(1), D32(DATA + 8)), -1);     /* fisttp qword */
	CHECK_EQ(rd64(&e, DATA + 8), (uint64_t)-2);
	CHECK_EQ(top(&e), 0);

	/* FRNDINT under RC up */
	fldcw(&e, 0xb7f);
	fld64(&e, 1.25);
	CHECK_EQ(STEP(&e, 0xd9, 0xfc), -1);
	CHECK_EQ(st_se(&e, 0), 0x4000);                        /* 2.0 */
	CHECK_EQ(st_mant(&e, 0), 0x8000000000000000ULL);

	/* BCD: FBSTP then FBLD */
	fld64(&e, -1234567.0);
	CHECK_EQ(STEP(&e, 0xdf, M(6), D32(DATA + 16)), -1);    /* fbstp */
	CHECK_EQ(rd64(&e, DATA + 16), 0x1234567);
	CHECK_EQ(rd16(&e, DATA + 24), 0x8000);
	CHECK_EQ(STEP(&e, 0xdf, M(4), D32(DATA + 16)), -1);    /* fbld */
	CHECK_EQ(STEP(&e, 0xdd, M(3), D32(DATA + 32)), -1);
	CHECK(rd_double(&e, DATA + 32) == -1234567.0);
	tcg_env_free(&e);
}

TEST(tcg_fpu_transcendental)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	/* FSINCOS of 0: ST0 = cos = 1, ST1 = sin = 0 */
	CHECK_EQ(STEP(&e, 0xd9, 0xee), -1);
	CHECK_EQ(STEP(&e, 0xd9, 0xfb), -1);
	CHECK_EQ(top(&e), 6);
	CHECK_EQ(st_se(&e, 0), 0x3fff);
	CHECK_EQ(st_se(&e, 1), 0);
	/* FPTAN of a huge operand: C2, nothing pushed */
	CHECK_EQ(STEP(&e, 0xdb, 0xe3), -1);
	CHECK_EQ(fld80(&e, 0x4000 + 80, 0x8000000000000000ULL), -1);
	CHECK_EQ(STEP(&e, 0xd9, 0xf2), -1);
	CHECK_EQ(fsw(&e) & C2, C2);
	CHECK_EQ(top(&e), 7);
	/* FPREM: 7 rem 2 = 1, quotient 3 -> C0=0 C3=1 C1=1 (Q2 Q1 Q0 = 011) */
	CHECK_EQ(STEP(&e, 0xdb, 0xe3), -1);
	CHECK_EQ(fld64(&e, 2.0), -1);
	CHECK_EQ(fld64(&e, 7.0), -1);
	CHECK_EQ(STEP(&e, 0xd9, 0xf8), -1);
	CHECK_EQ(st_se(&e, 0), 0x3fff);
	CHECK_EQ(fsw(&e) & (C3 | C2 | C1 | C0), C3 | C1);
	/* FXTRACT of 12: exponent 3 below, significand 1.5 on top */
	CHECK_EQ(fld64(&e, 12.0), -1);
	CHECK_EQ(STEP(&e, 0xd9, 0xf4), -1);
	CHECK_EQ(st_se(&e, 0), 0x3fff);
	CHECK_EQ(st_mant(&e, 0), 0xc000000000000000ULL);
	CHECK_EQ(st_se(&e, 1), 0x4000);
	CHECK_EQ(st_mant(&e, 1), 0xc000000000000000ULL);
	/* FSCALE: 1.5 * 2^3 = 12 */
	CHECK_EQ(STEP(&e, 0xd9, 0xfd), -1);
	CHECK_EQ(st_se(&e, 0), 0x4002);
	/* FYL2X: 3 * log2(12)... pops */
	CHECK_EQ(STEP(&e, 0xd9, 0xf1), -1);
	CHECK_EQ(top(&e), 5);
	/* FCHS / FABS / FXCH / FDECSTP / FFREEP */
	CHECK_EQ(STEP(&e, 0xd9, 0xe0), -1);
	CHECK_EQ(st_se(&e, 0) & 0x8000, 0x8000);
	CHECK_EQ(STEP(&e, 0xd9, 0xe1), -1);
	CHECK_EQ(st_se(&e, 0) & 0x8000, 0);
	CHECK_EQ(STEP(&e, 0xd9, 0xf6), -1);                    /* fdecstp */
	CHECK_EQ(top(&e), 4);
	CHECK_EQ(STEP(&e, 0xd9, 0xf7), -1);                    /* fincstp */
	CHECK_EQ(STEP(&e, 0xdf, 0xc0), -1);                    /* ffreep st0 */
	CHECK_EQ(top(&e), 6);
	CHECK_EQ(e.c->fpu.ftw >> 10 & 3, 3);                   /* R5 empty */
	tcg_env_free(&e);
}

TEST(tcg_fpu_long_mode)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	mode_long64(&e);

	/* fldpi; fstp tword [abs DATA] (SIB, no base, no index) */
	CHECK_EQ(STEP(&e, 0xd9, 0xeb), -1);
	CHECK_EQ(STEP(&e, 0xdb, 0x3c, 0x25, D32(DATA)), -1);
	CHECK_EQ(rd64(&e, DATA), 0xc90fdaa22168c235ULL);
	CHECK_EQ(rd16(&e, DATA + 8), 0x4000);
	/* fld tword [rip+disp]: the operand is DATA */
	uint32_t rel = (uint32_t)(DATA - (e.code + 6));
	CHECK_EQ(STEP(&e, 0xdb, 0x2d, D32(rel)), -1);
	CHECK_EQ(st_mant(&e, 0), 0xc90fdaa22168c235ULL);
	CHECK_EQ(e.c->fpu.fdp, DATA);
	CHECK_EQ(e.c->fpu.fip, e.last);
	tcg_env_free(&e);
}

TEST(tcg_fpu_fxsave_image)
{
	struct tcg_fpu f, g;
	uint8_t fx[512], fx2[512];

	tcg_fpu_reset(&f);
	CHECK_EQ(f.fcw, 0x37f);
	CHECK_EQ(f.ftw, 0xffff);
	CHECK_EQ(f.mxcsr, 0x1f80);

	/* TOP 5: ST0 = R5 = 1.0 (valid), ST1 = R6 = +0 (zero), R7 empty */
	f.top = 5;
	f.fsw = C3 | PE;
	memset(&f.st[5], 0, sizeof(f.st[5]));
	memset(&f.st[6], 0, sizeof(f.st[6]));
	uint64_t one = 0x8000000000000000ULL;
	uint16_t se = 0x3fff;
	memcpy(&f.st[5], &one, 8);
	memcpy((uint8_t *)&f.st[5] + 8, &se, 2);
	f.ftw = 0xc000 | 0x1000 | 0x0000 | 0x03ff;             /* R7 empty, R6 zero, R5 valid */
	f.fop = 0x1e8;
	f.fip = 0x12345678;
	f.fcs = 0x08;
	f.fdp = 0x9abcdef0;
	f.fds = 0x10;
	f.xmm[3].q[0] = 0x1122334455667788ULL;
	f.xmm[15].q[1] = 0x99;
	tcg_fpu_to_fxsave(&f, fx);

	CHECK_EQ(fx[0] | fx[1] << 8, 0x37f);
	CHECK_EQ(fx[2] | fx[3] << 8, C3 | PE | 5 << 11);
	CHECK_EQ(fx[4], 0x60);                                 /* R5 R6, physical order */
	CHECK_EQ(fx[6] | fx[7] << 8, 0x1e8);
	CHECK_EQ(fx[8] | fx[9] << 8 | fx[10] << 16 | (uint32_t)fx[11] << 24, 0x12345678);
	CHECK_EQ(fx[12], 0x08);
	CHECK_EQ(fx[20], 0x10);
	CHECK_EQ(fx[24] | fx[25] << 8, 0x1f80);
	CHECK_EQ(fx[28] | fx[29] << 8 | fx[30] << 16, 0xffff); /* MXCSR_MASK */
	CHECK_EQ(fx[32 + 7], 0x80);                            /* ST0 = 1.0 at 32 */
	CHECK_EQ(fx[32 + 8] | fx[32 + 9] << 8, 0x3fff);
	CHECK_EQ(fx[32 + 10], 0);
	CHECK_EQ(fx[160 + 3 * 16], 0x88);
	CHECK_EQ(fx[160 + 15 * 16 + 8], 0x99);

	memset(&g, 0xa5, sizeof(g));
	tcg_fpu_from_fxsave(&g, fx);
	CHECK_EQ(g.top, 5);
	CHECK_EQ(g.fcw, 0x37f);
	CHECK_EQ(g.fsw, C3 | PE);
	CHECK_EQ(g.ftw, f.ftw);                                /* full tags recomputed */
	CHECK_EQ(g.fop, 0x1e8);
	CHECK_EQ(g.fip, 0x12345678);
	CHECK_EQ(g.fdp, 0x9abcdef0);
	CHECK_EQ(g.fcs, 0x08);
	CHECK_EQ(g.fds, 0x10);
	CHECK_EQ(g.mxcsr, 0x1f80);
	CHECK(!memcmp(&g.st[5], &f.st[5], 10));
	CHECK(!memcmp(g.xmm, f.xmm, sizeof(g.xmm)));
	tcg_fpu_to_fxsave(&g, fx2);
	CHECK(!memcmp(fx, fx2, sizeof(fx)));

	/* an unmasked flag in the image makes ES and B pending */
	fx[0] &= ~IE;
	fx[2] |= IE;
	tcg_fpu_from_fxsave(&g, fx);
	CHECK_EQ(g.fsw & (ES | B), ES | B);
}

/* Real mode: the FSTENV images hold linear pointers and FOP (SDM Vol. 1,
 * figures 8-10 and 8-12). */
static void seg_real(struct x86_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct x86_segment){ .base = (uint64_t)sel << 4, .limit = 0xffff,
				   .selector = sel, .type = type, .s = 1,
				   .present = 1 };
}

static int step_real(struct tcg_env *e, uint16_t ip, const uint8_t *b, unsigned n)
{
	guest_write(e->m, e->c->s.seg[S_CS].base + ip, b, n);
	e->c->s.rip = ip;
	return tcg_step(e->c);
}
#define STEP_REAL(e, ip, ...) step_real(e, ip, (const uint8_t[]){ __VA_ARGS__ }, \
					sizeof((const uint8_t[]){ __VA_ARGS__ }))

TEST(tcg_fpu_real_mode_env)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;

	c->s.cr0 = CR0_ET | CR0_NE;
	for (int k = 0; k < S_NR; k++)
		seg_real(&c->s.seg[k], 0x200, 3);
	seg_real(&c->s.seg[S_CS], 0x100, 0xb);
	tcg_tlb_flush_all(c);

	wr_double(&e, 0x2100, 6.0);
	CHECK_EQ(STEP_REAL(&e, 0x10, 0xdd, 0x06, 0x00, 0x01), -1);      /* fld qword [0x100] */
	CHECK_EQ(STEP_REAL(&e, 0x20, 0xd9, 0x36, 0x00, 0x02), -1);      /* fnstenv [0x200] (14) */
	CHECK_EQ(rd16(&e, 0x2200 + 2), 0x3800);                        /* TOP 7 */
	CHECK_EQ(rd16(&e, 0x2200 + 4), 0x3fff);
	CHECK_EQ(rd16(&e, 0x2200 + 6), 0x1010);                        /* linear FIP */
	CHECK_EQ(rd16(&e, 0x2200 + 8), 0x0506);                        /* FIP 19:16, FOP */
	CHECK_EQ(rd16(&e, 0x2200 + 10), 0x2100);                       /* linear FDP */
	CHECK_EQ(rd16(&e, 0x2200 + 12), 0);
	CHECK_EQ(STEP_REAL(&e, 0x30, 0x66, 0xd9, 0x36, 0x40, 0x02), -1); /* 28-byte form */
	CHECK_EQ(rd16(&e, 0x2240 + 12), 0x1010);
	CHECK_EQ(rd32(&e, 0x2240 + 16), 0x0506);
	CHECK_EQ(rd16(&e, 0x2240 + 20), 0x2100);
	CHECK_EQ(rd32(&e, 0x2240 + 24), 0);

	/* and back: pointers as linear addresses */
	CHECK_EQ(STEP_REAL(&e, 0x40, 0xdb, 0xe3), -1);
	CHECK_EQ(STEP_REAL(&e, 0x50, 0xd9, 0x26, 0x00, 0x02), -1);      /* fldenv [0x200] */
	CHECK_EQ(top(&e), 7);
	CHECK_EQ(c->fpu.fip, 0x1010);
	CHECK_EQ(c->fpu.fop, 0x506);
	CHECK_EQ(c->fpu.fdp, 0x2100);
	CHECK_EQ(st_se(&e, 0), 0x4001);                                /* 6.0 still there */
	tcg_env_free(&e);
}

/* A wide store whose last bytes fall into a not-present page faults
 * before writing any byte (the host CPU in the difftest writes none):
 * FSTP m80, FBSTP m80, MOVUPS m128 and FXSAVE, at CPL 0 in long mode. */
TEST(tcg_fpu_wide_store_across_page_fault_writes_nothing)
{
	struct tcg_env e;
	uint8_t before[512], after[512];
	uint64_t none = 0;

	CHECK(env_init(&e));
	mode_long64(&e);
	guest_write(e.m, PML4 + 0x2000 + 8, &none, 8);         /* 2-4 MiB not present */
	tcg_tlb_flush_all(e.c);
	memset(before, 0xa5, sizeof(before));
	guest_write(e.m, 0x200000 - sizeof(before), before, sizeof(before));

	CHECK_EQ(STEP(&e, 0xd9, 0xe8), -1);                    /* fld1 */
	/* fstp tbyte [0x1ffff8]: 8 bytes fit, the last 2 do not */
	CHECK_EQ(STEP(&e, 0xdb, 0x3c, 0x25, D32(0x1ffff8)), EXC_PF);
	CHECK_EQ(e.c->s.cr2, 0x200000);
	CHECK_EQ(e.c->test_errcode, PF_W);
	CHECK_EQ(top(&e), 7);                                  /* not popped */
	/* fbstp tbyte [0x1ffff9] */
	CHECK_EQ(STEP(&e, 0xdf, 0x34, 0x25, D32(0x1ffff9)), EXC_PF);
	CHECK_EQ(top(&e), 7);
	/* movups [0x1ffff4], xmm0 */
	CHECK_EQ(STEP(&e, 0x0f, 0x11, 0x04, 0x25, D32(0x1ffff4)), EXC_PF);
	/* fxsave [0x1fff00]: the image's first 256 bytes fit */
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x04, 0x25, D32(0x1fff00)), EXC_PF);
	CHECK_EQ(e.c->s.cr2, 0x200000);

	guest_read(e.m, 0x200000 - sizeof(after), after, sizeof(after));
	CHECK(!memcmp(before, after, sizeof(after)));
	tcg_env_free(&e);
}
