/*
 * TCG integer instructions (user/tcg/alu.c, branch.c, string.c) and the
 * lazy flags (flags.c): flags of the arithmetic edge cases, #DE, shifts,
 * bit tests on memory, REP string operations, LOCK CMPXCHG/XADD, CRC32,
 * the stack instructions and near branches.
 *
 * Each test builds a 16 MiB machine with one TCG vCPU in flat 32-bit
 * protected mode (or 64-bit mode) and runs single instructions with
 * tcg_step(), which returns faults instead of delivering them.
 */
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "physmap.h"
#include "tcg/tcg.h"
#include "tcgtest.h"

#define CODE_BASE 0x1000
#define DATA 0x3000
#define STACK_TOP 0x9000
#define PML4 TCGT_PML4

#define ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* flat 32-bit protected mode, paging off */
static bool env_init(struct tcg_env *e)
{
	if (!tcg_env_init(e, CODE_BASE))
		return false;
	e->c->s.cr0 = CR0_PE | CR0_ET;
	tcg_env_flat_segs(e->c, 0, false);
	e->c->s.rflags = 2;
	e->c->s.regs[R_RSP] = STACK_TOP;
	tcg_set_arith_flags(e->c, 0);
	tcg_tlb_flush_all(e->c);
	return true;
}

/* 64-bit mode: identity map of 16 MiB in 2 MiB pages */
static void mode_long64(struct tcg_env *e)
{
	struct tcg_cpu *c = e->c;
	tcg_env_long_mode(e);
	tcg_env_flat_segs(c, 0, true);
}

static uint64_t flags(struct tcg_env *e)
{
	return tcg_rflags(e->c) & ARITH;
}

static uint32_t rd32(struct tcg_env *e, uint64_t gpa)
{
	uint32_t v = 0;

	guest_read(e->m, gpa, &v, 4);
	return v;
}

static void wr32(struct tcg_env *e, uint64_t gpa, uint32_t v)
{
	guest_write(e->m, gpa, &v, 4);
}

#define R(e, r) ((e)->c->s.regs[R_##r])

/* ------------------------------------------------------------------ */

TEST(tcg_alu_add_sub_flags)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	R(&e, RAX) = 0x7fffffff;
	R(&e, RBX) = 1;
	CHECK_EQ(STEP(&e, 0x01, 0xd8), -1);                    /* add eax, ebx */
	CHECK_EQ(R(&e, RAX), 0x80000000);
	CHECK_EQ(flags(&e), FL_OF | FL_SF | FL_AF | FL_PF);
	CHECK(tcg_cond(e.c, 0));                               /* O */
	CHECK(!tcg_cond(e.c, 12));                             /* L: SF == OF */

	R(&e, RAX) = 0xffffffff;
	CHECK_EQ(STEP(&e, 0x01, 0xd8), -1);                    /* add: carry, zero */
	CHECK_EQ(R(&e, RAX), 0);
	CHECK_EQ(flags(&e), FL_CF | FL_ZF | FL_PF | FL_AF);

	CHECK_EQ(STEP(&e, 0xf9), -1);                          /* stc */
	R(&e, RAX) = 0xfffffffe;
	R(&e, RBX) = 1;
	CHECK_EQ(STEP(&e, 0x11, 0xd8), -1);                    /* adc eax, ebx */
	CHECK_EQ(R(&e, RAX), 0);
	CHECK_EQ(flags(&e) & (FL_CF | FL_ZF | FL_OF), FL_CF | FL_ZF);

	R(&e, RAX) = 0x80000000;
	R(&e, RBX) = 1;
	CHECK_EQ(STEP(&e, 0x29, 0xd8), -1);                    /* sub eax, ebx */
	CHECK_EQ(R(&e, RAX), 0x7fffffff);
	CHECK_EQ(flags(&e), FL_OF | FL_PF | FL_AF);

	R(&e, RAX) = 1;
	R(&e, RBX) = 2;
	CHECK_EQ(STEP(&e, 0x39, 0xd8), -1);                    /* cmp eax, ebx */
	CHECK_EQ(R(&e, RAX), 1);
	CHECK_EQ(flags(&e), FL_CF | FL_SF | FL_AF | FL_PF);
	CHECK(tcg_cond(e.c, 2));                               /* B */
	CHECK(tcg_cond(e.c, 6));                               /* BE */
	CHECK(tcg_cond(e.c, 12));                              /* L */
	CHECK(!tcg_cond(e.c, 4));                              /* Z */
	CHECK_EQ(STEP(&e, 0x0f, 0x92, 0xc1), -1);              /* setb cl */
	CHECK_EQ(R(&e, RCX) & 0xff, 1);

	CHECK_EQ(STEP(&e, 0xf9), -1);                          /* stc; sbb al, 0 */
	R(&e, RAX) = 0;
	CHECK_EQ(STEP(&e, 0x1c, 0x00), -1);
	CHECK_EQ(R(&e, RAX), 0xff);
	CHECK_EQ(flags(&e), FL_CF | FL_SF | FL_AF | FL_PF);

	/* 8-bit high registers: mov ah, bh; inc ah */
	R(&e, RAX) = 0x1234;
	R(&e, RBX) = 0x7f00;
	CHECK_EQ(STEP(&e, 0x88, 0xfc), -1);
	CHECK_EQ(R(&e, RAX), 0x7f34);
	CHECK_EQ(STEP(&e, 0xf9), -1);
	CHECK_EQ(STEP(&e, 0xfe, 0xc4), -1);                    /* inc ah */
	CHECK_EQ(R(&e, RAX), 0x8034);
	CHECK_EQ(flags(&e), FL_CF | FL_OF | FL_SF | FL_AF);   /* INC keeps CF */

	/* neg of 0: CF 0 */
	R(&e, RAX) = 0;
	CHECK_EQ(STEP(&e, 0xf7, 0xd8), -1);
	CHECK_EQ(flags(&e), FL_ZF | FL_PF);
	tcg_env_free(&e);
}

TEST(tcg_alu_rflags_roundtrip)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	tcg_set_rflags(e.c, FL_CF | FL_ZF | FL_DF | FL_IF, ~0ULL);
	CHECK_EQ(tcg_rflags(e.c), FL_CF | FL_ZF | FL_DF | FL_IF | 2);
	CHECK(tcg_cf(e.c));
	CHECK(tcg_cond(e.c, 4));
	tcg_set_rflags(e.c, 0, FL_CF);
	CHECK_EQ(tcg_rflags(e.c), FL_ZF | FL_DF | FL_IF | 2);
	CHECK_EQ(STEP(&e, 0x9f), -1);                          /* lahf */
	CHECK_EQ((R(&e, RAX) >> 8) & 0xff, 0x42);
	R(&e, RAX) = 0x0100;
	CHECK_EQ(STEP(&e, 0x9e), -1);                          /* sahf */
	CHECK_EQ(flags(&e), FL_CF);
	tcg_env_free(&e);
}

TEST(tcg_alu_div_faults)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	R(&e, RAX) = 100;
	R(&e, RDX) = 0;
	R(&e, RBX) = 0;
	uint64_t rip = e.code;
	CHECK_EQ(STEP(&e, 0xf7, 0xf3), EXC_DE);                /* div ebx by 0 */
	CHECK_EQ(e.c->s.rip, rip);
	CHECK_EQ(R(&e, RAX), 100);

	R(&e, RDX) = 5;                                        /* quotient overflow */
	R(&e, RBX) = 5;
	CHECK_EQ(STEP(&e, 0xf7, 0xf3), EXC_DE);

	R(&e, RDX) = 1;
	R(&e, RAX) = 0;
	R(&e, RBX) = 3;
	CHECK_EQ(STEP(&e, 0xf7, 0xf3), -1);                    /* 0x100000000 / 3 */
	CHECK_EQ(R(&e, RAX), 0x55555555);
	CHECK_EQ(R(&e, RDX), 1);

	R(&e, RDX) = 0xffffffff;                               /* INT_MIN / -1 */
	R(&e, RAX) = 0x80000000;
	R(&e, RBX) = 0xffffffff;
	CHECK_EQ(STEP(&e, 0xf7, 0xfb), EXC_DE);

	R(&e, RDX) = 0xffffffff;                               /* -7 / 2 */
	R(&e, RAX) = 0xfffffff9;
	R(&e, RBX) = 2;
	CHECK_EQ(STEP(&e, 0xf7, 0xfb), -1);
	CHECK_EQ(R(&e, RAX), 0xfffffffd);
	CHECK_EQ(R(&e, RDX), 0xffffffff);

	R(&e, RAX) = 0x1234;                                   /* aam 0 */
	CHECK_EQ(STEP(&e, 0xd4, 0x00), EXC_DE);
	CHECK_EQ(STEP(&e, 0xd4, 0x0a), -1);                    /* aam: 0x34 = 52 */
	CHECK_EQ(R(&e, RAX) & 0xffff, 0x0502);

	mode_long64(&e);
	R(&e, RDX) = 0xffffffffffffffffULL;                    /* INT64_MIN / -1 */
	R(&e, RAX) = 0x8000000000000000ULL;
	R(&e, RBX) = ~0ULL;
	CHECK_EQ(STEP(&e, 0x48, 0xf7, 0xfb), EXC_DE);
	R(&e, RDX) = 1;                                        /* 2^64 / 2 overflows */
	R(&e, RAX) = 0;
	R(&e, RBX) = 1;
	CHECK_EQ(STEP(&e, 0x48, 0xf7, 0xf3), EXC_DE);
	R(&e, RBX) = 4;
	CHECK_EQ(STEP(&e, 0x48, 0xf7, 0xf3), -1);
	CHECK_EQ(R(&e, RAX), 0x4000000000000000ULL);
	tcg_env_free(&e);
}

TEST(tcg_alu_mul_flags)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	R(&e, RAX) = 0x80000000;
	R(&e, RBX) = 2;
	CHECK_EQ(STEP(&e, 0xf7, 0xe3), -1);                    /* mul ebx */
	CHECK_EQ(R(&e, RAX), 0);
	CHECK_EQ(R(&e, RDX), 1);
	CHECK_EQ(flags(&e) & (FL_CF | FL_OF), FL_CF | FL_OF);
	R(&e, RAX) = 3;
	CHECK_EQ(STEP(&e, 0x6b, 0xc0, 0xfe), -1);              /* imul eax, eax, -2 */
	CHECK_EQ(R(&e, RAX), 0xfffffffa);
	CHECK_EQ(flags(&e) & (FL_CF | FL_OF), 0);
	R(&e, RAX) = 0x40000000;
	R(&e, RBX) = 2;
	CHECK_EQ(STEP(&e, 0x0f, 0xaf, 0xc3), -1);              /* imul eax, ebx */
	CHECK_EQ(R(&e, RAX), 0x80000000);
	CHECK_EQ(flags(&e) & (FL_CF | FL_OF), FL_CF | FL_OF);
	tcg_env_free(&e);
}

TEST(tcg_alu_shifts)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	/* count 0 (CL = 32 masks to 0): no flag changes */
	tcg_set_arith_flags(e.c, FL_CF | FL_OF | FL_ZF);
	R(&e, RAX) = 0x12345678;
	R(&e, RCX) = 32;
	CHECK_EQ(STEP(&e, 0xd3, 0xe0), -1);                    /* shl eax, cl */
	CHECK_EQ(R(&e, RAX), 0x12345678);
	CHECK_EQ(flags(&e), FL_CF | FL_OF | FL_ZF);

	/* count 1: OF = MSB(result) ^ CF */
	R(&e, RAX) = 0x40000000;
	CHECK_EQ(STEP(&e, 0xd1, 0xe0), -1);                    /* shl eax, 1 */
	CHECK_EQ(R(&e, RAX), 0x80000000);
	CHECK_EQ(flags(&e) & (FL_CF | FL_OF | FL_SF | FL_ZF), FL_OF | FL_SF);
	R(&e, RAX) = 0x80000001;
	CHECK_EQ(STEP(&e, 0xd1, 0xe8), -1);                    /* shr eax, 1 */
	CHECK_EQ(R(&e, RAX), 0x40000000);
	CHECK_EQ(flags(&e) & (FL_CF | FL_OF), FL_CF | FL_OF);

	/* count N */
	R(&e, RAX) = 0x80000010;
	CHECK_EQ(STEP(&e, 0xc1, 0xf8, 0x05), -1);              /* sar eax, 5 */
	CHECK_EQ(R(&e, RAX), 0xfc000000);
	CHECK_EQ(flags(&e) & (FL_CF | FL_OF | FL_SF), FL_CF | FL_SF);
	R(&e, RAX) = 0x81;
	R(&e, RCX) = 3;
	CHECK_EQ(STEP(&e, 0xd2, 0xc0), -1);                    /* rol al, cl */
	CHECK_EQ(R(&e, RAX), 0x0c);
	CHECK_EQ(flags(&e) & FL_CF, 0);
	tcg_set_arith_flags(e.c, FL_CF);
	R(&e, RAX) = 0x01;
	CHECK_EQ(STEP(&e, 0xd0, 0xd8), -1);                    /* rcr al, 1 */
	CHECK_EQ(R(&e, RAX), 0x80);
	CHECK_EQ(flags(&e) & (FL_CF | FL_OF), FL_CF | FL_OF);
	R(&e, RAX) = 0x8001;                                   /* rcl ax, 17: no-op */
	tcg_set_arith_flags(e.c, FL_OF);
	CHECK_EQ(STEP(&e, 0x66, 0xc1, 0xd0, 17), -1);
	CHECK_EQ(R(&e, RAX), 0x8001);
	CHECK_EQ(flags(&e), FL_OF);

	/* shld eax, ebx, 8; shrd ax, bx, 20 (Intel's 16-bit wrap) */
	R(&e, RAX) = 0x12345678;
	R(&e, RBX) = 0x9abcdef0;
	CHECK_EQ(STEP(&e, 0x0f, 0xa4, 0xd8, 8), -1);
	CHECK_EQ(R(&e, RAX), 0x3456789a);
	R(&e, RAX) = 0x1234;
	R(&e, RBX) = 0x5678;
	R(&e, RCX) = 20;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0xad, 0xd8), -1);
	CHECK_EQ(R(&e, RAX), 0x4567);
	tcg_env_free(&e);
}

TEST(tcg_alu_bit_ops)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	wr32(&e, DATA, 0x00000001);
	wr32(&e, DATA + 4, 0x80000000);
	wr32(&e, DATA - 4, 0x00000002);

	R(&e, RCX) = 63;                                       /* bit 31 of the next dword */
	CHECK_EQ(STEP(&e, 0x0f, 0xa3, 0x0d, 0x00, 0x30, 0x00, 0x00), -1);
	CHECK(tcg_cf(e.c));
	R(&e, RCX) = (uint32_t)-31;                            /* bit 1 of DATA - 4 */
	CHECK_EQ(STEP(&e, 0x0f, 0xa3, 0x0d, 0x00, 0x30, 0x00, 0x00), -1);
	CHECK(tcg_cf(e.c));
	R(&e, RCX) = 1;                                        /* bts [DATA], 1 */
	CHECK_EQ(STEP(&e, 0xf0, 0x0f, 0xab, 0x0d, 0x00, 0x30, 0x00, 0x00), -1);
	CHECK(!tcg_cf(e.c));
	CHECK_EQ(rd32(&e, DATA), 3);
	/* btr dword [DATA], 32 + 0 (imm is taken mod 32) */
	CHECK_EQ(STEP(&e, 0x0f, 0xba, 0x35, 0x00, 0x30, 0x00, 0x00, 32), -1);
	CHECK(tcg_cf(e.c));
	CHECK_EQ(rd32(&e, DATA), 2);

	R(&e, RAX) = 0x11111111;
	R(&e, RBX) = 0;
	CHECK_EQ(STEP(&e, 0x0f, 0xbc, 0xc3), -1);              /* bsf eax, ebx (0) */
	CHECK(tcg_cond(e.c, 4));
	CHECK_EQ(R(&e, RAX), 0x11111111);
	R(&e, RBX) = 0x50;
	CHECK_EQ(STEP(&e, 0x0f, 0xbd, 0xc3), -1);              /* bsr */
	CHECK_EQ(R(&e, RAX), 6);
	CHECK(!tcg_cond(e.c, 4));
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0xbc, 0xc3), -1);        /* tzcnt */
	CHECK_EQ(R(&e, RAX), 4);
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0xb8, 0xc3), -1);        /* popcnt */
	CHECK_EQ(R(&e, RAX), 2);
	CHECK_EQ(STEP(&e, 0x0f, 0xb8, 0xc3), EXC_UD);
	tcg_env_free(&e);
}

TEST(tcg_alu_locked)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	wr32(&e, DATA, 5);

	R(&e, RAX) = 5;                                        /* lock cmpxchg [DATA], ecx */
	R(&e, RCX) = 9;
	CHECK_EQ(STEP(&e, 0xf0, 0x0f, 0xb1, 0x0d, 0x00, 0x30, 0x00, 0x00), -1);
	CHECK(tcg_cond(e.c, 4));
	CHECK_EQ(rd32(&e, DATA), 9);
	CHECK_EQ(R(&e, RAX), 5);
	CHECK_EQ(STEP(&e, 0xf0, 0x0f, 0xb1, 0x0d, 0x00, 0x30, 0x00, 0x00), -1);
	CHECK(!tcg_cond(e.c, 4));                              /* 5 != 9 */
	CHECK_EQ(R(&e, RAX), 9);
	CHECK_EQ(rd32(&e, DATA), 9);

	R(&e, RAX) = 0xfffffff8;                               /* lock xadd [DATA], eax */
	CHECK_EQ(STEP(&e, 0xf0, 0x0f, 0xc1, 0x05, 0x00, 0x30, 0x00, 0x00), -1);
	CHECK_EQ(R(&e, RAX), 9);
	CHECK_EQ(rd32(&e, DATA), 1);
	CHECK(tcg_cf(e.c));

	R(&e, RAX) = 0x77;                                     /* xchg [DATA], eax */
	CHECK_EQ(STEP(&e, 0x87, 0x05, 0x00, 0x30, 0x00, 0x00), -1);
	CHECK_EQ(R(&e, RAX), 1);
	CHECK_EQ(rd32(&e, DATA), 0x77);

	CHECK_EQ(STEP(&e, 0xf0, 0x83, 0x05, 0x00, 0x30, 0x00, 0x00, 0x01), -1);
	CHECK_EQ(rd32(&e, DATA), 0x78);                        /* lock add [DATA], 1 */
	CHECK_EQ(STEP(&e, 0xf0, 0x01, 0xc0), EXC_UD);          /* lock add eax, eax */
	CHECK_EQ(STEP(&e, 0xf0, 0x3b, 0x05, 0x00, 0x30, 0x00, 0x00), EXC_UD); /* lock cmp */

	/* lock cmpxchg8b [DATA] */
	wr32(&e, DATA, 0x11111111);
	wr32(&e, DATA + 4, 0x22222222);
	R(&e, RAX) = 0x11111111;
	R(&e, RDX) = 0x22222222;
	R(&e, RBX) = 0x33333333;
	R(&e, RCX) = 0x44444444;
	CHECK_EQ(STEP(&e, 0xf0, 0x0f, 0xc7, 0x0d, 0x00, 0x30, 0x00, 0x00), -1);
	CHECK(tcg_cond(e.c, 4));
	CHECK_EQ(rd32(&e, DATA), 0x33333333);
	CHECK_EQ(rd32(&e, DATA + 4), 0x44444444);
	CHECK_EQ(STEP(&e, 0xf0, 0x0f, 0xc7, 0x0d, 0x00, 0x30, 0x00, 0x00), -1);
	CHECK(!tcg_cond(e.c, 4));
	CHECK_EQ(R(&e, RAX), 0x33333333);
	CHECK_EQ(R(&e, RDX), 0x44444444);

	/* 64-bit: cmpxchg16b needs 16-byte alignment */
	mode_long64(&e);
	R(&e, RSI) = DATA + 8;
	CHECK_EQ(STEP(&e, 0xf0, 0x48, 0x0f, 0xc7, 0x0e), EXC_GP);
	R(&e, RSI) = DATA;
	R(&e, RAX) = 0x2222222233333333ULL;                    /* not equal */
	CHECK_EQ(STEP(&e, 0xf0, 0x48, 0x0f, 0xc7, 0x0e), -1);
	CHECK(!tcg_cond(e.c, 4));
	CHECK_EQ(R(&e, RAX), 0x4444444433333333ULL);
	R(&e, RBX) = 1;
	R(&e, RCX) = 2;
	CHECK_EQ(STEP(&e, 0xf0, 0x48, 0x0f, 0xc7, 0x0e), -1);
	CHECK(tcg_cond(e.c, 4));
	CHECK_EQ(rd32(&e, DATA), 1);
	CHECK_EQ(rd32(&e, DATA + 8), 2);
	tcg_env_free(&e);
}

TEST(tcg_alu_crc32_movbe)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	guest_write(e.m, DATA, "123456789", 9);
	R(&e, RAX) = 0xffffffff;
	for (unsigned k = 0; k < 9; k++) {
		R(&e, RSI) = DATA + k;                         /* crc32 eax, byte [esi] */
		CHECK_EQ(STEP(&e, 0xf2, 0x0f, 0x38, 0xf0, 0x06), -1);
	}
	CHECK_EQ(~R(&e, RAX) & 0xffffffff, 0xe3069283);

	R(&e, RAX) = 0xffffffff;                               /* dword at once */
	R(&e, RSI) = DATA;
	CHECK_EQ(STEP(&e, 0xf2, 0x0f, 0x38, 0xf1, 0x06), -1);
	R(&e, RSI) = DATA + 4;
	CHECK_EQ(STEP(&e, 0xf2, 0x0f, 0x38, 0xf1, 0x06), -1);
	R(&e, RSI) = DATA + 8;
	CHECK_EQ(STEP(&e, 0xf2, 0x0f, 0x38, 0xf0, 0x06), -1);
	CHECK_EQ(~R(&e, RAX) & 0xffffffff, 0xe3069283);

	R(&e, RSI) = DATA;                                     /* movbe eax, [esi] */
	CHECK_EQ(STEP(&e, 0x0f, 0x38, 0xf0, 0x06), -1);
	CHECK_EQ(R(&e, RAX), 0x31323334);
	CHECK_EQ(STEP(&e, 0x0f, 0x38, 0xf0, 0xc0), EXC_UD);    /* register form */
	tcg_env_free(&e);
}

TEST(tcg_alu_rep_strings)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	uint8_t src[100], dst[100];
	for (unsigned k = 0; k < sizeof(src); k++)
		src[k] = k * 7 + 1;
	guest_write(e.m, DATA, src, sizeof(src));

	R(&e, RSI) = DATA;                                     /* rep movsb */
	R(&e, RDI) = DATA + 0x1000;
	R(&e, RCX) = 100;
	CHECK_EQ(STEP(&e, 0xf3, 0xa4), -1);
	CHECK_EQ(R(&e, RCX), 0);
	CHECK_EQ(R(&e, RSI), DATA + 100);
	CHECK_EQ(R(&e, RDI), DATA + 0x1000 + 100);
	guest_read(e.m, DATA + 0x1000, dst, sizeof(dst));
	CHECK(!memcmp(src, dst, sizeof(src)));

	/* std; rep movsd backwards, 2 dwords */
	CHECK_EQ(STEP(&e, 0xfd), -1);
	R(&e, RSI) = DATA + 4;
	R(&e, RDI) = DATA + 0x2004;
	R(&e, RCX) = 2;
	CHECK_EQ(STEP(&e, 0xf3, 0xa5), -1);
	CHECK_EQ(R(&e, RSI), DATA - 4);
	CHECK_EQ(R(&e, RDI), DATA + 0x1ffc);
	CHECK_EQ(rd32(&e, DATA + 0x2000), rd32(&e, DATA));
	CHECK_EQ(STEP(&e, 0xfc), -1);                          /* cld */

	/* repe cmpsb stops after the first difference */
	uint8_t b = 0xee;
	guest_write(e.m, DATA + 0x1000 + 10, &b, 1);
	R(&e, RSI) = DATA;
	R(&e, RDI) = DATA + 0x1000;
	R(&e, RCX) = 100;
	CHECK_EQ(STEP(&e, 0xf3, 0xa6), -1);
	CHECK_EQ(R(&e, RCX), 89);
	CHECK_EQ(R(&e, RSI), DATA + 11);
	CHECK(!tcg_cond(e.c, 4));

	/* repne scasb finds a byte */
	R(&e, RAX) = src[40];
	R(&e, RDI) = DATA;
	R(&e, RCX) = 100;
	CHECK_EQ(STEP(&e, 0xf2, 0xae), -1);
	CHECK_EQ(R(&e, RDI), DATA + 41);
	CHECK_EQ(R(&e, RCX), 59);
	CHECK(tcg_cond(e.c, 4));

	/* rep stosd with a 16-bit address size: DI wraps at 64 KiB */
	R(&e, RAX) = 0xabcdef01;
	R(&e, RDI) = 0x1fff8;
	R(&e, RCX) = 0x30003;
	CHECK_EQ(STEP(&e, 0x67, 0xf3, 0xab), -1);
	CHECK_EQ(R(&e, RCX), 0x30000);
	CHECK_EQ(R(&e, RDI), 0x10004);
	CHECK_EQ(rd32(&e, 0xfff8), 0xabcdef01);
	CHECK_EQ(rd32(&e, 0x0000), 0xabcdef01);

	/* lodsw */
	R(&e, RSI) = DATA;
	R(&e, RAX) = 0xffffffff;
	CHECK_EQ(STEP(&e, 0x66, 0xad), -1);
	CHECK_EQ(R(&e, RAX), 0xffff0000u | src[0] | src[1] << 8);

	/* rep movsb with rcx = 0 does nothing */
	R(&e, RCX) = 0;
	R(&e, RSI) = DATA;
	CHECK_EQ(STEP(&e, 0xf3, 0xa4), -1);
	CHECK_EQ(R(&e, RSI), DATA);
	tcg_env_free(&e);
}

TEST(tcg_alu_stack_and_branches)
{
	struct tcg_env e;
	CHECK(env_init(&e));

	R(&e, RAX) = 0x11;
	CHECK_EQ(STEP(&e, 0x50), -1);                          /* push eax */
	CHECK_EQ(R(&e, RSP), STACK_TOP - 4);
	CHECK_EQ(STEP(&e, 0x8f, 0x04, 0x24), -1);              /* pop [esp] */
	CHECK_EQ(R(&e, RSP), STACK_TOP);
	CHECK_EQ(rd32(&e, STACK_TOP), 0x11);                   /* stored after increment */

	R(&e, RAX) = 1; R(&e, RCX) = 2; R(&e, RDX) = 3; R(&e, RBX) = 4;
	R(&e, RBP) = 6; R(&e, RSI) = 7; R(&e, RDI) = 8;
	CHECK_EQ(STEP(&e, 0x60), -1);                          /* pusha */
	CHECK_EQ(R(&e, RSP), STACK_TOP - 32);
	CHECK_EQ(rd32(&e, STACK_TOP - 4), 1);
	CHECK_EQ(rd32(&e, STACK_TOP - 20), STACK_TOP);
	CHECK_EQ(rd32(&e, STACK_TOP - 32), 8);
	R(&e, RAX) = 0; R(&e, RDI) = 0; R(&e, RBP) = 0;
	CHECK_EQ(STEP(&e, 0x61), -1);                          /* popa */
	CHECK_EQ(R(&e, RAX), 1);
	CHECK_EQ(R(&e, RDI), 8);
	CHECK_EQ(R(&e, RBP), 6);
	CHECK_EQ(R(&e, RSP), STACK_TOP);

	uint64_t at = e.code;
	CHECK_EQ(STEP(&e, 0xe8, 0x10, 0x00, 0x00, 0x00), -1);  /* call +0x10 */
	CHECK_EQ(e.c->s.rip, at + 5 + 0x10);
	CHECK_EQ(rd32(&e, STACK_TOP - 4), at + 5);
	CHECK_EQ(STEP(&e, 0xc2, 0x08, 0x00), -1);              /* ret 8 */
	CHECK_EQ(e.c->s.rip, at + 5);
	CHECK_EQ(R(&e, RSP), STACK_TOP + 8);
	R(&e, RSP) = STACK_TOP;

	R(&e, RBP) = 0x5000;                                   /* enter 16, 1; leave */
	CHECK_EQ(STEP(&e, 0xc8, 0x10, 0x00, 0x01), -1);
	CHECK_EQ(R(&e, RBP), STACK_TOP - 4);
	CHECK_EQ(R(&e, RSP), STACK_TOP - 8 - 16);
	CHECK_EQ(rd32(&e, STACK_TOP - 4), 0x5000);
	CHECK_EQ(rd32(&e, STACK_TOP - 8), STACK_TOP - 4);
	CHECK_EQ(STEP(&e, 0xc9), -1);
	CHECK_EQ(R(&e, RBP), 0x5000);
	CHECK_EQ(R(&e, RSP), STACK_TOP);

	R(&e, RCX) = 2;                                        /* loop -2 */
	at = e.code;
	CHECK_EQ(STEP(&e, 0xe2, 0xfe), -1);
	CHECK_EQ(e.c->s.rip, at);
	CHECK_EQ(R(&e, RCX), 1);
	CHECK_EQ(STEP(&e, 0xe2, 0xfe), -1);
	CHECK_EQ(e.c->s.rip, at + 32 + 2);
	CHECK_EQ(R(&e, RCX), 0);

	R(&e, RAX) = 1;                                        /* cmp; jne */
	R(&e, RBX) = 1;
	CHECK_EQ(STEP(&e, 0x39, 0xd8), -1);
	at = e.code;
	CHECK_EQ(STEP(&e, 0x75, 0x10), -1);
	CHECK_EQ(e.c->s.rip, at + 2);
	at = e.code;
	CHECK_EQ(STEP(&e, 0x0f, 0x84, 0x00, 0x01, 0x00, 0x00), -1); /* je +0x100 */
	CHECK_EQ(e.c->s.rip, at + 6 + 0x100);

	R(&e, RBX) = DATA + 0x100;                             /* call [ebx] */
	wr32(&e, DATA + 0x100, 0x4000);
	CHECK_EQ(STEP(&e, 0xff, 0x13), -1);
	CHECK_EQ(e.c->s.rip, 0x4000);
	R(&e, RSP) = STACK_TOP;
	tcg_env_free(&e);
}

TEST(tcg_alu_long_mode_forms)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	mode_long64(&e);

	/* cmovnz with ZF=1 still zero-extends a 32-bit destination */
	tcg_set_arith_flags(e.c, FL_ZF);
	R(&e, RAX) = 0xffffffff00000001ULL;
	R(&e, RBX) = 2;
	CHECK_EQ(STEP(&e, 0x0f, 0x45, 0xc3), -1);
	CHECK_EQ(R(&e, RAX), 1);

	/* xchg r8, rax (90 with REX.B) and plain 90 is a NOP */
	R(&e, RAX) = 0xffffffff00000005ULL;
	R(&e, R8) = 7;
	CHECK_EQ(STEP(&e, 0x90), -1);
	CHECK_EQ(R(&e, RAX), 0xffffffff00000005ULL);
	CHECK_EQ(STEP(&e, 0x49, 0x90), -1);
	CHECK_EQ(R(&e, RAX), 7);
	CHECK_EQ(R(&e, R8), 0xffffffff00000005ULL);

	/* movsxd rax, ebx; sil via REX */
	R(&e, RBX) = 0x80000000;
	CHECK_EQ(STEP(&e, 0x48, 0x63, 0xc3), -1);
	CHECK_EQ(R(&e, RAX), 0xffffffff80000000ULL);
	R(&e, RSI) = 0x1234;
	CHECK_EQ(STEP(&e, 0x40, 0x88, 0xc6), -1);              /* mov sil, al */
	CHECK_EQ(R(&e, RSI), 0x1200);

	/* push/pop are 64-bit; mov r64, imm64 */
	R(&e, RSP) = STACK_TOP;
	CHECK_EQ(STEP(&e, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8), -1);
	CHECK_EQ(R(&e, RAX), 0x0807060504030201ULL);
	CHECK_EQ(STEP(&e, 0x50), -1);
	CHECK_EQ(R(&e, RSP), STACK_TOP - 8);
	CHECK_EQ(STEP(&e, 0x41, 0x5f), -1);                    /* pop r15 */
	CHECK_EQ(R(&e, R15), 0x0807060504030201ULL);

	/* mul rbx: 128-bit product */
	R(&e, RAX) = ~0ULL;
	R(&e, RBX) = ~0ULL;
	CHECK_EQ(STEP(&e, 0x48, 0xf7, 0xe3), -1);
	CHECK_EQ(R(&e, RAX), 1);
	CHECK_EQ(R(&e, RDX), ~1ULL);

	/* lea with a 32-bit address size */
	R(&e, RBX) = 0xfffffffff0000000ULL;
	CHECK_EQ(STEP(&e, 0x67, 0x48, 0x8d, 0x43, 0x10), -1);
	CHECK_EQ(R(&e, RAX), 0xf0000010);

	/* invalid in 64-bit mode */
	CHECK_EQ(STEP(&e, 0x27), EXC_UD);
	CHECK_EQ(STEP(&e, 0x60), EXC_UD);
	tcg_env_free(&e);
}

TEST(tcg_alu_bcd)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	R(&e, RAX) = 0x79;                                     /* 79 + 35 = 114 */
	R(&e, RBX) = 0x35;
	CHECK_EQ(STEP(&e, 0x00, 0xd8), -1);                    /* add al, bl */
	CHECK_EQ(STEP(&e, 0x27), -1);                          /* daa */
	CHECK_EQ(R(&e, RAX) & 0xff, 0x14);
	CHECK(tcg_cf(e.c));
	R(&e, RAX) = 0x35;                                     /* 35 - 47 */
	R(&e, RBX) = 0x47;
	CHECK_EQ(STEP(&e, 0x28, 0xd8), -1);
	CHECK_EQ(STEP(&e, 0x2f), -1);                          /* das */
	CHECK_EQ(R(&e, RAX) & 0xff, 0x88);
	CHECK(tcg_cf(e.c));
	R(&e, RAX) = 0x0109;                                   /* aaa after 9 + 9 */
	R(&e, RBX) = 0x09;
	CHECK_EQ(STEP(&e, 0x00, 0xd8), -1);
	CHECK_EQ(STEP(&e, 0x37), -1);
	CHECK_EQ(R(&e, RAX) & 0xffff, 0x0208);
	R(&e, RAX) = 0x0207;                                   /* aad */
	CHECK_EQ(STEP(&e, 0xd5, 0x0a), -1);
	CHECK_EQ(R(&e, RAX) & 0xffff, 27);
	tcg_env_free(&e);
}

/* REP MOVS/STOS runs on host memory: page crossings, overlap, faults in
 * the middle leave the registers at the faulting element. */
TEST(tcg_alu_rep_fast_paths)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	static uint8_t buf[3 * 4096], out[3 * 4096];
	for (unsigned k = 0; k < sizeof(buf); k++)
		buf[k] = k ^ (k >> 8);
	guest_write(e.m, 0x20000, buf, sizeof(buf));

	/* rep movsd across pages, unaligned */
	R(&e, RSI) = 0x20000 + 3;
	R(&e, RDI) = 0x30000 + 0x7fe;
	R(&e, RCX) = 2000;
	CHECK_EQ(STEP(&e, 0xf3, 0xa5), -1);
	CHECK_EQ(R(&e, RCX), 0);
	CHECK_EQ(R(&e, RSI), 0x20000 + 3 + 8000);
	CHECK_EQ(R(&e, RDI), 0x30000 + 0x7fe + 8000);
	guest_read(e.m, 0x30000 + 0x7fe, out, 8000);
	CHECK(!memcmp(out, buf + 3, 8000));

	/* destination one byte into the source: the first byte repeats */
	R(&e, RSI) = 0x20000;
	R(&e, RDI) = 0x20001;
	R(&e, RCX) = 5000;
	CHECK_EQ(STEP(&e, 0xf3, 0xa4), -1);
	guest_read(e.m, 0x20000, out, 5001);
	for (unsigned k = 0; k < 5001; k++)
		CHECK_EQ(out[k], buf[0]);

	/* rep stosw */
	R(&e, RAX) = 0xbeef;
	R(&e, RDI) = 0x40001;
	R(&e, RCX) = 3000;
	CHECK_EQ(STEP(&e, 0x66, 0xf3, 0xab), -1);
	CHECK_EQ(R(&e, RDI), 0x40001 + 6000);
	guest_read(e.m, 0x40001, out, 6000);
	for (unsigned k = 0; k < 6000; k += 2)
		CHECK(out[k] == 0xef && out[k + 1] == 0xbe);

	/* the ES limit ends inside the run: #GP after the elements below it */
	e.c->s.seg[S_ES].limit = 0x5000a;
	e.c->s.seg[S_ES].g = 0;
	R(&e, RDI) = 0x50000;
	R(&e, RCX) = 20;
	CHECK_EQ(STEP(&e, 0xf3, 0xaa), EXC_GP);
	CHECK_EQ(R(&e, RCX), 9);
	CHECK_EQ(R(&e, RDI), 0x5000b);
	e.c->s.seg[S_ES].limit = 0xffffffff;

	/* a page fault in the middle: 2 MiB..4 MiB not present */
	mode_long64(&e);
	uint64_t none = 0;
	guest_write(e.m, PML4 + 0x2000 + 8, &none, 8);
	tcg_tlb_flush_all(e.c);
	R(&e, RDI) = 0x200000 - 64;
	R(&e, RCX) = 128;
	CHECK_EQ(STEP(&e, 0xf3, 0x48, 0xab), EXC_PF);          /* rep stosq */
	CHECK_EQ(e.c->test_errcode, PF_W);
	CHECK_EQ(e.c->s.cr2, 0x200000);
	CHECK_EQ(R(&e, RCX), 120);
	CHECK_EQ(R(&e, RDI), 0x200000);
	R(&e, RSI) = 0x200000 - 16;                            /* rep movsb: read fault */
	R(&e, RDI) = 0x30000;
	R(&e, RCX) = 100;
	CHECK_EQ(STEP(&e, 0xf3, 0xa4), EXC_PF);
	CHECK_EQ(e.c->test_errcode, 0);
	CHECK_EQ(R(&e, RCX), 84);
	CHECK_EQ(R(&e, RSI), 0x200000);
	tcg_env_free(&e);
}

/* An exit request stops a long REP between iterations, rip still on it. */
TEST(tcg_alu_rep_interruptible)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	e.c->exit_request = 1;
	R(&e, RSI) = 0x20000;
	R(&e, RDI) = 0x80000;
	R(&e, RCX) = 20000;
	uint64_t at = e.code;
	CHECK_EQ(STEP(&e, 0xf3, 0xa4), -1);                    /* rep movsb */
	CHECK_EQ(e.c->s.rip, at);
	CHECK(R(&e, RCX) > 0 && R(&e, RCX) < 20000);
	CHECK_EQ(R(&e, RSI) - 0x20000, 20000 - R(&e, RCX));
	CHECK_EQ(R(&e, RDI) - 0x80000, 20000 - R(&e, RCX));
	e.c->exit_request = 0;
	e.c->s.rip = at;
	CHECK_EQ(tcg_step(e.c), -1);                           /* resumes, completes */
	CHECK_EQ(R(&e, RCX), 0);
	CHECK_EQ(R(&e, RDI), 0x80000 + 20000);
	CHECK_EQ(e.c->s.rip, at + 2);

	e.c->exit_request = 1;                                 /* slow path: backwards */
	CHECK_EQ(STEP(&e, 0xfd), -1);
	R(&e, RDI) = 0x90000;
	R(&e, RCX) = 5000;
	at = e.code;
	CHECK_EQ(STEP(&e, 0xf3, 0xaa), -1);
	CHECK_EQ(e.c->s.rip, at);
	CHECK_EQ(R(&e, RCX), 5000 - 1024);
	e.c->exit_request = 0;
	tcg_env_free(&e);
}
