/*
 * TCG's VEX-only instructions (user/tcg/avx2.c, avx2-mem.c, fma.c,
 * f16c.c): the #UD rules of each encoding (VEX.L, VEX.W, vvvv, register
 * forms, gather register overlaps), results written out by hand, masked
 * moves next to a page that is not present, a gather that faults midway,
 * and, where the host runs AVX2, FMA and F16C, each instruction on random
 * and edge values compared with the host executing the same bytes.
 *
 * A 16 MiB machine, one vCPU in 64-bit mode at CPL 0 with CR4.OSXSAVE
 * and XCR0 = x87|SSE|AVX, single instructions through tcg_step().
 */
#include <cpuid.h>
#include <string.h>
#include <sys/mman.h>
#include "unit.h"
#include "machine.h"
#include "memory.h"
#include "tcg/tcg.h"
#include "tcg/sse.h"
#include "tcgtest.h"

#define CODE_BASE 0x400000        /* up to 1 MiB of instructions, 32 bytes each */
#define DATA 0x3000
/* the last page of the first 2 MiB; the next 2 MiB are not present */
#define EDGE 0x1ff000

static bool env_init(struct tcg_env *e)
{
	if (!tcg_env_init(e, CODE_BASE))
		return false;
	tcg_env_long_mode(e);
	struct tcg_cpu *c = e->c;
	c->s.cr0 |= CR0_NE | CR0_MP;
	c->s.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
	c->xcr0 = XCR0_X87 | XCR0_SSE | XCR0_AVX;
	tcg_env_flat_segs(c, 0, true);
	c->s.rflags = 2;
	c->s.regs[R_RSP] = 0x9000;
	c->s.regs[R_RAX] = DATA;
	return true;
}

/* Make 2 MiB - 4 MiB not present. */
static void unmap_second_2m(struct tcg_env *e)
{
	tcg_env_put64(e, TCGT_PML4 + 0x2000 + 8, 0);
	tcg_tlb_flush_all(e->c);
}

/* VEX3: C4 RXB.map W.vvvv.L.pp(66) op */
static unsigned vex3(uint8_t *b, unsigned map, unsigned w, unsigned vvvv, unsigned l, unsigned op)
{
	b[0] = 0xc4;
	b[1] = (uint8_t)(0xe0 | map);
	b[2] = (uint8_t)(w << 7 | (~vvvv & 15) << 3 | l << 2 | 1);
	b[3] = (uint8_t)op;
	return 4;
}

static void ymm_put(struct tcg_cpu *c, unsigned r, const void *v)
{
	struct ymm y;
	memcpy(&y, v, 32);
	ymm_set(c, r, &y);
}

static void ymm_read(struct tcg_cpu *c, unsigned r, void *v)
{
	struct ymm y;
	ymm_get(c, r, &y);
	memcpy(v, &y, 32);
}

/* ------------------------------------------------------------------ */
/* #UD rules, as the host (an AVX2 processor) decides them: bit k of ud
 * is form k = ((L * 2 + W) * 2 + (vvvv != 0)) * 2 + (memory form), with
 * ModRM c1 (reg 0, rm 1) or 00 ([rax]) and vvvv 0 or 2. */
static const struct { uint8_t map, op; uint16_t ud; } ud_rules[] = {
	{ 2, 0x0c, 0xf0f0 }, { 2, 0x0d, 0xf0f0 }, { 2, 0x0e, 0xfcfc }, { 2, 0x0f, 0xfcfc },
	{ 2, 0x13, 0xfcfc }, { 2, 0x16, 0xf0ff }, { 2, 0x18, 0xfcfc }, { 2, 0x19, 0xfcff },
	{ 2, 0x1a, 0xfdff }, { 2, 0x2c, 0xf5f5 }, { 2, 0x2d, 0xf5f5 }, { 2, 0x2e, 0xf5f5 },
	{ 2, 0x2f, 0xf5f5 }, { 2, 0x36, 0xf0ff }, { 2, 0x45, 0x0000 }, { 2, 0x46, 0xf0f0 },
	{ 2, 0x47, 0x0000 }, { 2, 0x58, 0xfcfc }, { 2, 0x59, 0xfcfc }, { 2, 0x5a, 0xfdff },
	{ 2, 0x78, 0xfcfc }, { 2, 0x79, 0xfcfc }, { 2, 0x8c, 0x5555 }, { 2, 0x8e, 0x5555 },
	{ 2, 0x96, 0x0000 }, { 2, 0x97, 0x0000 }, { 2, 0x98, 0x0000 }, { 2, 0x99, 0x0000 },
	{ 3, 0x00, 0xccff }, { 3, 0x01, 0xccff }, { 3, 0x02, 0xf0f0 }, { 3, 0x04, 0xfcfc },
	{ 3, 0x05, 0xfcfc }, { 3, 0x06, 0xf0ff }, { 3, 0x18, 0xf0ff }, { 3, 0x19, 0xfcff },
	{ 3, 0x1d, 0xfcfc }, { 3, 0x38, 0xf0ff }, { 3, 0x39, 0xfcff }, { 3, 0x46, 0xf0ff },
};

TEST(tcg_avx2_ud_rules)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	for (unsigned t = 0; t < sizeof(ud_rules) / sizeof(ud_rules[0]); t++) {
		for (unsigned k = 0; k < 16; k++) {
			uint8_t b[8];
			unsigned n = vex3(b, ud_rules[t].map, (k >> 2) & 1, (k >> 1) & 1 ? 2 : 0,
					  k >> 3, ud_rules[t].op);
			b[n++] = (k & 1) ? 0x00 : 0xc1;
			if (ud_rules[t].map == 3)
				b[n++] = 0x01;
			for (unsigned r = 0; r < 16; r++)
				ymm_put(e.c, r, (uint8_t[32]){ 0 });
			e.c->s.regs[R_RAX] = DATA;
			int want = (ud_rules[t].ud >> k) & 1 ? EXC_UD : -1;
			int got = tcg_env_step(&e, b, n);
			if (got != want)
				fprintf(stderr, "map %u op %02x form %u: %d, host %d\n",
					ud_rules[t].map, ud_rules[t].op, k, got, want);
			CHECK_EQ(got, want);
		}
	}
	/* without CR4.OSXSAVE, or XCR0 without AVX: #UD; CR0.TS: #NM */
	e.c->s.cr4 &= ~CR4_OSXSAVE;
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x7d, 0x18, 0x00), EXC_UD);
	e.c->s.cr4 |= CR4_OSXSAVE;
	e.c->xcr0 = XCR0_X87 | XCR0_SSE;
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x7d, 0x18, 0x00), EXC_UD);
	e.c->xcr0 = XCR0_X87 | XCR0_SSE | XCR0_AVX;
	e.c->s.cr0 |= CR0_TS;
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x7d, 0x18, 0x00), EXC_NM);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x7d, 0x18, 0xc1), EXC_NM);
	/* an encoding error is #UD before #NM */
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x75, 0x18, 0xc1), EXC_UD);
	tcg_env_free(&e);
}

/* Gathers: index xmm1 (SIB 08, base rax), dest xmm0, mask vvvv; ModRM
 * 04 with a SIB, c1 (register) and 00 (no SIB) are #UD, as are masks or
 * indexes equal to another operand. */
TEST(tcg_avx2_gather_ud)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	static const struct { unsigned vvvv; uint8_t modrm; int sib; bool ud; } forms[] = {
		{ 2, 0x04, 0x08, false }, { 0, 0x04, 0x08, true }, { 1, 0x04, 0x08, true },
		{ 2, 0x04, 0x00, true }, { 2, 0xc1, -1, true }, { 2, 0x00, -1, true },
	};
	for (unsigned op = 0x90; op <= 0x93; op++)
		for (unsigned lw = 0; lw < 4; lw++)
			for (unsigned f = 0; f < 6; f++) {
				uint8_t b[8];
				unsigned n = vex3(b, 2, lw & 1, forms[f].vvvv, lw >> 1, op);
				b[n++] = forms[f].modrm;
				if (forms[f].sib >= 0)
					b[n++] = (uint8_t)forms[f].sib;
				CHECK_EQ(tcg_env_step(&e, b, n), forms[f].ud ? EXC_UD : -1);
			}
	/* 67: 32-bit addressing is fine; no 66 (pp 00) is #UD */
	CHECK_EQ(STEP(&e, 0x67, 0xc4, 0xe2, 0x69, 0x90, 0x04, 0x08), -1);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x68, 0x90, 0x04, 0x08), EXC_UD);
	tcg_env_free(&e);
}

/* ------------------------------------------------------------------ */
/* Results by hand                                                     */

static const uint32_t seq[8] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17 };

TEST(tcg_avx2_shuffles)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	uint32_t d[8];
	uint64_t q[4];

	/* vbroadcastss ymm0, [rax]; vpbroadcastb xmm3, xmm1 (upper cleared) */
	tcg_env_put64(&e, DATA, 0x3f800000);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x7d, 0x18, 0x00), -1);
	ymm_read(c, 0, d);
	for (int k = 0; k < 8; k++)
		CHECK_EQ(d[k], 0x3f800000);
	ymm_put(c, 1, seq);
	ymm_put(c, 3, seq);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x79, 0x78, 0xd9), -1);
	ymm_read(c, 3, d);
	CHECK_EQ(d[0], 0x10101010);
	CHECK_EQ(d[3], 0x10101010);
	CHECK_EQ(d[4], 0);
	CHECK_EQ(d[7], 0);

	/* vinsertf128 ymm2, ymm1, xmm3, 1; vextracti128 xmm4, ymm2, 1 */
	ymm_put(c, 3, (uint32_t[8]){ 1, 2, 3, 4, 5, 6, 7, 8 });
	CHECK_EQ(STEP(&e, 0xc4, 0xe3, 0x75, 0x18, 0xd3, 0x01), -1);
	ymm_read(c, 2, d);
	CHECK(!memcmp(d, (uint32_t[8]){ 0x10, 0x11, 0x12, 0x13, 1, 2, 3, 4 }, 32));
	CHECK_EQ(STEP(&e, 0xc4, 0xe3, 0x7d, 0x39, 0xd4, 0x01), -1);
	ymm_read(c, 4, d);
	CHECK(!memcmp(d, (uint32_t[8]){ 1, 2, 3, 4, 0, 0, 0, 0 }, 32));

	/* vperm2f128 ymm5, ymm1, ymm3, 0x82: low = ymm3.lo, high zero */
	CHECK_EQ(STEP(&e, 0xc4, 0xe3, 0x75, 0x06, 0xeb, 0x82), -1);
	ymm_read(c, 5, d);
	CHECK(!memcmp(d, (uint32_t[8]){ 1, 2, 3, 4, 0, 0, 0, 0 }, 32));

	/* vpermilps ymm5, ymm1, 0x1b: each lane reversed */
	CHECK_EQ(STEP(&e, 0xc4, 0xe3, 0x7d, 0x04, 0xe9, 0x1b), -1);
	ymm_read(c, 5, d);
	CHECK(!memcmp(d, (uint32_t[8]){ 0x13, 0x12, 0x11, 0x10, 0x17, 0x16, 0x15, 0x14 }, 32));

	/* vpermd ymm5, ymm3, ymm1: indices 1..8 (8 & 7 = 0) */
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x65, 0x36, 0xe9), -1);
	ymm_read(c, 5, d);
	CHECK(!memcmp(d, (uint32_t[8]){ 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x10 }, 32));

	/* vpermq ymm5, ymm1, 0x1b: qwords reversed */
	CHECK_EQ(STEP(&e, 0xc4, 0xe3, 0xfd, 0x00, 0xe9, 0x1b), -1);
	ymm_read(c, 5, q);
	CHECK_EQ(q[0], 0x0000001700000016ull);
	CHECK_EQ(q[3], 0x0000001100000010ull);

	/* vpblendd xmm5, xmm1, xmm3, 0x05 */
	CHECK_EQ(STEP(&e, 0xc4, 0xe3, 0x71, 0x02, 0xeb, 0x05), -1);
	ymm_read(c, 5, d);
	CHECK(!memcmp(d, (uint32_t[8]){ 1, 0x11, 3, 0x13, 0, 0, 0, 0 }, 32));

	/* vpsllvd / vpsravd ymm5, ymm1, ymm3 with counts 0, 1, 31, 32, 33 */
	ymm_put(c, 1, (uint32_t[8]){ 0x80000001, 0x80000001, 0x80000001, 0x80000001,
				      0x80000001, 3, 3, 3 });
	ymm_put(c, 3, (uint32_t[8]){ 0, 1, 31, 32, 33, 0xffffffff, 2, 1 });
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x75, 0x47, 0xeb), -1);
	ymm_read(c, 5, d);
	CHECK(!memcmp(d, (uint32_t[8]){ 0x80000001, 2, 0x80000000, 0, 0, 0, 12, 6 }, 32));
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x75, 0x46, 0xeb), -1);
	ymm_read(c, 5, d);
	CHECK(!memcmp(d, (uint32_t[8]){ 0x80000001, 0xc0000000, 0xffffffff, 0xffffffff,
					 0xffffffff, 0, 0, 1 }, 32));

	/* vtestps ymm1, ymm3: sign bits only */
	ymm_put(c, 1, (uint32_t[8]){ 0x80000000, 0, 0, 0, 0, 0, 0, 0 });
	ymm_put(c, 3, (uint32_t[8]){ 0x7fffffff, 0, 0, 0, 0, 0, 0, 0x80000000 });
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x7d, 0x0e, 0xcb), -1);
	CHECK_EQ(tcg_arith_flags(c) & FL_ARITH, FL_ZF);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x79, 0x0e, 0xcb), -1);   /* 128: no bit */
	CHECK_EQ(tcg_arith_flags(c) & FL_ARITH, FL_ZF | FL_CF);
	tcg_env_free(&e);
}

/* Masked moves touch only the elements whose mask is set: a 32-byte
 * load or store across into a page that is not present does not fault
 * when the elements there are masked off. */
TEST(tcg_avx2_maskmov_edge)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	uint32_t d[8];

	unmap_second_2m(&e);
	for (unsigned k = 0; k < 8; k++)
		tcg_env_put64(&e, EDGE + 0xff0 + 4 * k, 0x100 + k);     /* overlapping */
	c->s.regs[R_RAX] = EDGE + 0xff0;        /* elements 4-7 beyond the page */
	ymm_put(c, 2, (uint32_t[8]){ 1u << 31, 0, 1u << 31, 1u << 31, 0, 0, 0, 0 });
	ymm_put(c, 0, seq);
	/* vmaskmovps ymm0, ymm2, [rax] */
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x6d, 0x2c, 0x00), -1);
	ymm_read(c, 0, d);
	CHECK(!memcmp(d, (uint32_t[8]){ 0x100, 0, 0x102, 0x103, 0, 0, 0, 0 }, 32));
	/* vmaskmovps [rax], ymm2, ymm1 writes 0, 2, 3 only */
	ymm_put(c, 1, seq);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x6d, 0x2e, 0x08), -1);
	CHECK_EQ(tcg_env_get64(&e, EDGE + 0xff0), 0x0000010100000010ull);
	CHECK_EQ(tcg_env_get64(&e, EDGE + 0xff8), 0x0000001300000012ull);
	/* a set mask bit beyond the page faults: #PF at 0x200000, nothing
	 * written (element 0 untouched) */
	ymm_put(c, 2, (uint32_t[8]){ 1u << 31, 0, 0, 0, 1u << 31, 0, 0, 0 });
	ymm_put(c, 1, (uint32_t[8]){ 0xdead });
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x6d, 0x2e, 0x08), EXC_PF);
	CHECK_EQ(c->s.cr2, 0x200000);
	CHECK_EQ(tcg_env_get64(&e, EDGE + 0xff0), 0x0000010100000010ull);
	/* vpmaskmovq xmm0, xmm2, [rax+8]: element 1 beyond, masked off */
	ymm_put(c, 2, (uint64_t[4]){ 1ull << 63, 0, 0, 0 });
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0xe9, 0x8c, 0x40, 0x08), -1);
	ymm_read(c, 0, d);
	CHECK(!memcmp(d, (uint32_t[8]){ 0x12, 0x13, 0, 0, 0, 0, 0, 0 }, 32));
	tcg_env_free(&e);
}

/* vpgatherdd ymm0, [rax + ymm1*4 + 8], ymm2: elements done clear their
 * mask bits; a fault midway leaves them done and re-execution finishes. */
TEST(tcg_avx2_gather)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	uint32_t d[8], m[8];

	for (unsigned k = 0; k < 16; k++)
		tcg_env_put64(&e, DATA + 8 * k, (uint64_t)(2 * k + 1) << 32 | (2 * k));
	ymm_put(c, 0, (uint32_t[8]){ 9, 9, 9, 9, 9, 9, 9, 9 });
	ymm_put(c, 1, (int32_t[8]){ 7, 6, 5, -2, 3, 2, 1, 0 });
	ymm_put(c, 2, (uint32_t[8]){ ~0u, ~0u, 0, ~0u, 1u << 31, 0x7fffffff, ~0u, ~0u });
	/* C4 E2 6D 90 44 88 08: vpgatherdd ymm0, [rax+ymm1*4+8], ymm2 */
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x6d, 0x90, 0x44, 0x88, 0x08), -1);
	ymm_read(c, 0, d);
	ymm_read(c, 2, m);
	CHECK(!memcmp(d, (uint32_t[8]){ 9, 8, 9, 0, 5, 9, 3, 2 }, 32));
	CHECK(!memcmp(m, (uint32_t[8]){ 0 }, 32));

	/* vgatherqpd xmm3 (W1, L0), [rax + xmm4*8], xmm5: SIB index 100 */
	ymm_put(c, 3, (uint64_t[4]){ 1, 1, 1, 1 });
	ymm_put(c, 4, (uint64_t[4]){ 3, 1, 7, 7 });
	ymm_put(c, 5, (uint64_t[4]){ 1ull << 63, 1ull << 63, 1ull << 63, 1ull << 63 });
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0xd1, 0x93, 0x1c, 0xe0), -1);
	uint64_t q[4], mq[4];
	ymm_read(c, 3, q);
	ymm_read(c, 5, mq);
	CHECK(!memcmp(q, (uint64_t[4]){ 0x0000000700000006ull, 0x0000000300000002ull, 0, 0 }, 32));
	CHECK(!memcmp(mq, (uint64_t[4]){ 0 }, 32));

	/* a fault at element 2: elements 0 and 1 are done */
	unmap_second_2m(&e);
	c->s.regs[R_RAX] = EDGE;
	ymm_put(c, 0, (uint32_t[8]){ 9, 9, 9, 9, 9, 9, 9, 9 });
	ymm_put(c, 1, (int32_t[8]){ 0, 1, 0x400, 2, 3, 4, 5, 6 });
	ymm_put(c, 2, (uint32_t[8]){ ~0u, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u });
	tcg_env_put64(&e, EDGE, 0x2222222211111111ull);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x6d, 0x90, 0x04, 0x88), EXC_PF);
	CHECK_EQ(c->s.cr2, 0x200000);
	ymm_read(c, 0, d);
	ymm_read(c, 2, m);
	CHECK(!memcmp(d, (uint32_t[8]){ 0x11111111, 0x22222222, 9, 9, 9, 9, 9, 9 }, 32));
	CHECK(!memcmp(m, (uint32_t[8]){ 0, 0, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u }, 32));
	/* the page arrives; the same instruction finishes */
	tcg_env_put64(&e, TCGT_PML4 + 0x2000 + 8, (1ull << 21) | 0x87);
	tcg_tlb_flush_all(c);
	tcg_env_put64(&e, 0x200000, 0x33);
	CHECK_EQ(tcg_env_step_at(&e, e.last, (const uint8_t[]){ 0xc4, 0xe2, 0x6d, 0x90, 0x04, 0x88 }, 6), -1);
	ymm_read(c, 0, d);
	ymm_read(c, 2, m);
	CHECK_EQ(d[2], 0x33);
	CHECK_EQ(d[1], 0x22222222);
	CHECK(!memcmp(m, (uint32_t[8]){ 0 }, 32));
	tcg_env_free(&e);
}

/* A VEX.128 vpgatherdd xmm0, [rax + xmm1*4], xmm2 that faults at element
 * 2: the masked-off element 0 is done too (its mask element cleared),
 * and bits 255:128 of the destination and the mask stay as they were
 * until the gather completes (as an AMD EPYC host does). */
TEST(tcg_avx2_gather_fault_state)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	uint32_t d[8], m[8];

	unmap_second_2m(&e);
	c->s.regs[R_RAX] = EDGE;
	ymm_put(c, 0, (uint32_t[8]){ 9, 9, 9, 9, 9, 9, 9, 9 });
	ymm_put(c, 1, (int32_t[8]){ 0, 1, 0x400, 2, 3, 4, 5, 6 });
	ymm_put(c, 2, (uint32_t[8]){ 0x7fffffff, ~0u, ~0u, ~0u, 5, 5, 5, 5 });
	tcg_env_put64(&e, EDGE, 0x2222222211111111ull);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x69, 0x90, 0x04, 0x88), EXC_PF);
	CHECK_EQ(c->s.cr2, 0x200000);
	ymm_read(c, 0, d);
	ymm_read(c, 2, m);
	CHECK(!memcmp(d, (uint32_t[8]){ 9, 0x22222222, 9, 9, 9, 9, 9, 9 }, 32));
	CHECK(!memcmp(m, (uint32_t[8]){ 0, 0, ~0u, ~0u, 5, 5, 5, 5 }, 32));
	tcg_env_free(&e);
}

/* FMA and F16C with an unmasked exception: #XM, destination unchanged,
 * the flag set. */
TEST(tcg_avx2_fma_unmasked)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	double d[4];

	ymm_put(c, 0, (double[4]){ 1e300, 1, 1, 1 });
	ymm_put(c, 1, (double[4]){ 1e300, 1, 1, 1 });
	ymm_put(c, 2, (double[4]){ 0, 1, 1, 1 });
	c->fpu.mxcsr = 0x1f80 & ~0x0400u;
	/* vfmadd231pd ymm0, ymm1, ymm2: 1e300 * 0 + 1e300 is fine ... */
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0xf5, 0xb8, 0xc2), -1);
	ymm_read(c, 0, d);
	CHECK(d[0] == 1e300 && d[1] == 2);
	/* ... vfmadd132pd ymm0, ymm1, ymm0: 1e300 * 1e300 + 1e300 overflows */
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0xf5, 0x98, 0xc0), EXC_XM);
	ymm_read(c, 0, d);
	CHECK(d[0] == 1e300 && d[1] == 2);
	CHECK(c->fpu.mxcsr & MXCSR_OE);
	tcg_env_free(&e);
}

/* ------------------------------------------------------------------ */
/* Against the host: the same bytes natively on ymm0-3 and [rax]        */

struct native {
	uint8_t ymm[4][32];             /* 0x00 */
	uint64_t rflags;                /* 0x80 */
	uint64_t rax;                   /* 0x88 */
	uint32_t mxcsr, mxcsr_host;     /* 0x90 */
};

/* rdi = struct native: load ymm0-3, rax, MXCSR; the instruction; store
 * them and the flags back. */
static const uint8_t stub_head[] = {
	0xc5, 0xfe, 0x6f, 0x07,                 /* vmovdqu ymm0, [rdi] */
	0xc5, 0xfe, 0x6f, 0x4f, 0x20,           /* vmovdqu ymm1, [rdi+0x20] */
	0xc5, 0xfe, 0x6f, 0x57, 0x40,
	0xc5, 0xfe, 0x6f, 0x5f, 0x60,
	0x48, 0x8b, 0x87, 0x88, 0, 0, 0,        /* mov rax, [rdi+0x88] */
	0x0f, 0xae, 0x97, 0x90, 0, 0, 0,        /* ldmxcsr [rdi+0x90] */
	0x57,                                   /* push rdi */
	0x6a, 0x02, 0x9d,                       /* push 2; popf: flags clear */
};
static const uint8_t stub_tail[] = {
	0x5f,                                   /* pop rdi */
	0x9c, 0x8f, 0x87, 0x80, 0, 0, 0,        /* pushf; pop [rdi+0x80] */
	0x0f, 0xae, 0x9f, 0x90, 0, 0, 0,        /* stmxcsr [rdi+0x90] */
	0x0f, 0xae, 0x97, 0x94, 0, 0, 0,        /* ldmxcsr [rdi+0x94] */
	0xc5, 0xfe, 0x7f, 0x07,
	0xc5, 0xfe, 0x7f, 0x4f, 0x20,
	0xc5, 0xfe, 0x7f, 0x57, 0x40,
	0xc5, 0xfe, 0x7f, 0x5f, 0x60,
	0xc5, 0xf8, 0x77,                       /* vzeroupper */
	0xc3,
};

static uint8_t *stub_page;
/* the memory both sides see: rax points at MEM_AT into NMEM bytes */
#define NMEM 1024
#define MEM_AT 512
static uint8_t native_mem[NMEM] __attribute__((aligned(64)));

/* AVX2, FMA and F16C on the host, with the OS saving YMM state (CPUID
 * leaf 1 ECX OSXSAVE, AVX, FMA, F16C; XCR0 SSE|AVX; leaf 7 EBX AVX2). */
static bool host_has_all(void)
{
	unsigned a, b, c, d;
	uint32_t lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	unsigned l1 = 1u << 12 | 1u << 27 | 1u << 28 | 1u << 29;
	if ((c & l1) != l1)
		return false;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 6) != 6 || !__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return false;
	return b & (1u << 5);
}

static void native_run(const uint8_t *insn, unsigned n, struct native *s)
{
	unsigned k = 0;
	memcpy(stub_page, stub_head, sizeof(stub_head));
	k += sizeof(stub_head);
	memcpy(stub_page + k, insn, n);
	k += n;
	memcpy(stub_page + k, stub_tail, sizeof(stub_tail));
	s->rax = (uint64_t)(uintptr_t)native_mem + MEM_AT;
	s->mxcsr_host = 0x1f80;
	((void (*)(struct native *))(void *)stub_page)(s);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random floats with the edges mixed in: zeros, denormals, infinities,
 * NaNs, values whose products overflow or underflow. */
static uint32_t rnd_f32(void)
{
	static const uint32_t edge[] = {
		0, 0x80000000, 0x3f800000, 0xbf800000, 0x00000001, 0x807fffff, 0x00800000,
		0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001, 0xffc00123, 0x7f7fffff,
		0x1f800000, 0x20000000, 0x5f800000, 0x33800000, 0x477fe000, 0x38800000,
		0x387fc000, 0x33000000, 0x337fffff, 0x477ff000,
	};
	unsigned r = rnd() % 4;
	if (r == 0)
		return edge[rnd() % (sizeof(edge) / 4)];
	if (r == 1)     /* near one: products and sums that cancel */
		return 0x3f800000 + (uint32_t)(rnd() % 64) - 32 + ((uint32_t)rnd() & 0x80000000);
	return (uint32_t)rnd();
}

static uint64_t rnd_f64(void)
{
	static const uint64_t edge[] = {
		0, 1ull << 63, 0x3ff0000000000000ull, 0xbff0000000000000ull, 1,
		0x800fffffffffffffull, 0x0010000000000000ull, 0x7ff0000000000000ull,
		0xfff0000000000000ull, 0x7ff8000000000000ull, 0x7ff4000000000001ull,
		0x7fefffffffffffffull, 0x1ff0000000000000ull, 0x2000000000000000ull,
		0x5ff0000000000000ull,
	};
	unsigned r = rnd() % 4;
	if (r == 0)
		return edge[rnd() % (sizeof(edge) / 8)];
	if (r == 1)
		return 0x3ff0000000000000ull + rnd() % 64 - 32 + (rnd() & (1ull << 63));
	return rnd();
}

static void fill(struct native *s, uint8_t *mem, bool dbl)
{
	for (unsigned r = 0; r < 4; r++)
		for (unsigned k = 0; k < 32; k += dbl ? 8 : 4) {
			uint64_t v = dbl ? rnd_f64() : rnd_f32();
			memcpy(&s->ymm[r][k], &v, dbl ? 8 : 4);
		}
	for (unsigned k = 0; k < NMEM; k += dbl ? 8 : 4) {
		uint64_t v = dbl ? rnd_f64() : rnd_f32();
		memcpy(mem + k, &v, dbl ? 8 : 4);
	}
	/* rounding, DAZ, FTZ; every exception masked, no flag set */
	s->mxcsr = 0x1f80 | (uint32_t)(rnd() % 4) << 13 | (rnd() % 3 ? 0 : MXCSR_DAZ) |
		   (rnd() % 3 ? 0 : MXCSR_FTZ);
}

/* Run insn in TCG and natively from s and mem; false (printed) when the
 * registers, MXCSR, arithmetic flags or memory differ. */
static bool run_compare(struct tcg_env *e, const uint8_t *insn, unsigned n, struct native *s,
			const uint8_t *mem)
{
	struct tcg_cpu *c = e->c;
	static uint8_t got_mem[NMEM];

	for (unsigned r = 0; r < 4; r++)
		ymm_put(c, r, s->ymm[r]);
	c->fpu.mxcsr = s->mxcsr;
	c->s.regs[R_RAX] = DATA + MEM_AT;
	tcg_set_arith_flags(c, 0);
	guest_write(e->m, DATA, mem, NMEM);
	memcpy(native_mem, mem, NMEM);
	int vec = tcg_env_step(e, insn, n);
	native_run(insn, n, s);
	guest_read(e->m, DATA, got_mem, NMEM);
	bool ok = vec == -1 && c->fpu.mxcsr == s->mxcsr && !memcmp(got_mem, native_mem, NMEM);
	for (unsigned r = 0; r < 4; r++) {
		uint8_t y[32];
		ymm_read(c, r, y);
		ok = ok && !memcmp(y, s->ymm[r], 32);
	}
	ok = ok && (tcg_arith_flags(c) & FL_ARITH) == (s->rflags & FL_ARITH);
	if (!ok) {
		fprintf(stderr, "differs:");
		for (unsigned k = 0; k < n; k++)
			fprintf(stderr, " %02x", insn[k]);
		fprintf(stderr, " vec %d mxcsr %#x host %#x\n", vec, c->fpu.mxcsr, s->mxcsr);
		for (unsigned r = 0; r < 4; r++) {
			uint32_t y[8];
			ymm_read(c, r, y);
			for (unsigned k = 0; k < 8; k++)
				fprintf(stderr, "%s%08x/%08x", k ? " " : "  ", y[k],
					((uint32_t *)(void *)s->ymm[r])[k]);
			fprintf(stderr, "\n");
		}
	}
	return ok;
}

/* One case from random values. */
static bool compare_case(struct tcg_env *e, const uint8_t *insn, unsigned n, bool dbl)
{
	struct native s;
	static uint8_t mem[NMEM];

	memset(&s, 0, sizeof(s));
	fill(&s, mem, dbl);
	return run_compare(e, insn, n, &s, mem);
}

static bool stub_init(void)
{
	if (!stub_page) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return false;
		stub_page = p;
	}
	return true;
}

/* Every FMA3 opcode, W0/W1, L0/L1, register and memory forms, ymm0 =
 * op(ymm0, ymm1, ymm2 or [rax]). */
TEST(tcg_avx2_fma_vs_host)
{
	if (!host_has_all())
		SKIP("the host CPU lacks AVX2, FMA or F16C");
	struct tcg_env e;
	CHECK(env_init(&e));
	CHECK(stub_init());
	unsigned bad = 0;
	for (unsigned op = 0x96; op <= 0xbf; op++) {
		if ((op & 15) < 6)
			continue;
		for (unsigned form = 0; form < 8; form++) {
			for (unsigned rep = 0; rep < 60; rep++) {
				uint8_t b[8];
				unsigned n = vex3(b, 2, form & 1, 1, (form >> 1) & 1, op);
				b[n++] = (form & 4) ? 0x00 : 0xc2;
				if (!compare_case(&e, b, n, form & 1))
					bad++;
				if (bad > 20)
					goto out;
			}
		}
	}
out:
	CHECK_EQ(bad, 0);
	tcg_env_free(&e);
}

/* VCVTPH2PS and VCVTPS2PH (every imm8 rounding, register and memory). */
TEST(tcg_avx2_f16c_vs_host)
{
	if (!host_has_all())
		SKIP("the host CPU lacks AVX2, FMA or F16C");
	struct tcg_env e;
	CHECK(env_init(&e));
	CHECK(stub_init());
	unsigned bad = 0;
	for (unsigned form = 0; form < 4; form++) {
		for (unsigned rep = 0; rep < 400 && bad <= 20; rep++) {
			uint8_t b[8];
			/* vcvtph2ps ymm0, xmm2/[rax] */
			unsigned n = vex3(b, 2, 0, 0, form & 1, 0x13);
			b[n++] = (form & 2) ? 0x00 : 0xc2;
			bad += !compare_case(&e, b, n, rep & 1);
			/* vcvtps2ph xmm2/[rax], ymm0, imm8 */
			n = vex3(b, 3, 0, 0, form & 1, 0x1d);
			b[n++] = (form & 2) ? 0x00 : 0xc2;
			b[n++] = (uint8_t)(rnd() & 7);
			bad += !compare_case(&e, b, n, false);
		}
	}
	CHECK_EQ(bad, 0);
	tcg_env_free(&e);
}

/* The integer shuffles on random bits, each form against the host. */
TEST(tcg_avx2_shuffles_vs_host)
{
	if (!host_has_all())
		SKIP("the host CPU lacks AVX2, FMA or F16C");
	static const struct { uint8_t map, op, w, imm; } ops[] = {
		{ 2, 0x0c, 0, 0 }, { 2, 0x0d, 0, 0 }, { 2, 0x0e, 0, 0 }, { 2, 0x0f, 0, 0 },
		{ 2, 0x16, 0, 0 }, { 2, 0x18, 0, 0 }, { 2, 0x19, 0, 0 }, { 2, 0x1a, 0, 0 },
		{ 2, 0x36, 0, 0 }, { 2, 0x45, 0, 0 }, { 2, 0x45, 1, 0 }, { 2, 0x46, 0, 0 },
		{ 2, 0x47, 0, 0 }, { 2, 0x47, 1, 0 }, { 2, 0x58, 0, 0 }, { 2, 0x59, 0, 0 },
		{ 2, 0x5a, 0, 0 }, { 2, 0x78, 0, 0 }, { 2, 0x79, 0, 0 },
		{ 2, 0x2c, 0, 0 }, { 2, 0x2d, 0, 0 }, { 2, 0x2e, 0, 0 }, { 2, 0x2f, 0, 0 },
		{ 2, 0x8c, 0, 0 }, { 2, 0x8c, 1, 0 }, { 2, 0x8e, 0, 0 }, { 2, 0x8e, 1, 0 },
		{ 3, 0x00, 1, 1 }, { 3, 0x01, 1, 1 }, { 3, 0x00, 0, 1 }, { 3, 0x01, 0, 1 }, { 3, 0x02, 0, 1 }, { 3, 0x04, 0, 1 },
		{ 3, 0x05, 0, 1 }, { 3, 0x06, 0, 1 }, { 3, 0x18, 0, 1 }, { 3, 0x19, 0, 1 },
		{ 3, 0x38, 0, 1 }, { 3, 0x39, 0, 1 }, { 3, 0x46, 0, 1 },
	};
	struct tcg_env e;
	CHECK(env_init(&e));
	CHECK(stub_init());
	unsigned bad = 0;
	for (unsigned t = 0; t < sizeof(ops) / sizeof(ops[0]); t++) {
		for (unsigned form = 0; form < 8; form++) {
			uint8_t b[8];
			/* vvvv = ymm1 where the instruction takes it, else 1111b */
			unsigned vvvv = 1;
			if (ops[t].map == 3 ? (ops[t].op <= 1 || ops[t].op == 4 || ops[t].op == 5 ||
					       ops[t].op == 0x19 || ops[t].op == 0x39)
					    : (ops[t].op == 0x0e || ops[t].op == 0x0f ||
					       (ops[t].op >= 0x18 && ops[t].op <= 0x1a) ||
					       ops[t].op >= 0x58))
				vvvv = 0;
			if (ops[t].map == 2 && (ops[t].op == 0x2c || ops[t].op == 0x2d ||
						ops[t].op == 0x2e || ops[t].op == 0x2f ||
						ops[t].op == 0x8c || ops[t].op == 0x8e))
				vvvv = 1;
			unsigned n = vex3(b, ops[t].map, ops[t].w, vvvv, form & 1, ops[t].op);
			b[n++] = (form & 2) ? 0x00 : 0xc2;
			if (ops[t].imm)
				b[n++] = (uint8_t)rnd();
			for (unsigned rep = 0; rep < 20 && bad <= 20; rep++) {
				if (ops[t].imm)
					b[n - 1] = (uint8_t)rnd();
				int want_ud = -2;
				for (unsigned u = 0; u < sizeof(ud_rules) / sizeof(ud_rules[0]); u++)
					if (ud_rules[u].map == ops[t].map && ud_rules[u].op == ops[t].op) {
						unsigned k = (((form & 1) * 2 + ops[t].w) * 2 + (vvvv != 0)) * 2 +
							     ((form >> 1) & 1);
						want_ud = (ud_rules[u].ud >> k) & 1;
					}
				if (want_ud != 0)       /* #UD: tcg_avx2_ud_rules */
					break;
				bad += !compare_case(&e, b, n, rep & 1);
			}
		}
	}
	CHECK_EQ(bad, 0);
	tcg_env_free(&e);
}

/* VCVTPS2PH around the edges of half precision (the smallest denormal
 * and normal, the largest finite), a float ulp and a half ulp at a time,
 * under every rounding and with DAZ/FTZ: where tininess is detected. */
TEST(tcg_avx2_f16c_edges_vs_host)
{
	if (!host_has_all())
		SKIP("the host CPU lacks AVX2, FMA or F16C");
	static const uint32_t base[] = {
		0x33000000, 0x33800000, 0x387fc000, 0x38800000, 0x477fe000, 0x477ff000,
		0x47800000, 0x00000000, 0x00800000,
	};
	static const uint32_t step[] = { 1, 0x800, 0x1000, 0x2000 };
	struct tcg_env e;
	CHECK(env_init(&e));
	CHECK(stub_init());
	static uint8_t mem[NMEM];
	unsigned bad = 0;
	for (unsigned b = 0; b < sizeof(base) / 4; b++)
		for (unsigned st = 0; st < 4; st++)
			for (int k = -8; k <= 8 && bad <= 20; k++) {
				struct native s;
				memset(&s, 0, sizeof(s));
				memset(mem, 0, sizeof(mem));
				for (unsigned j = 0; j < 8; j++) {
					uint32_t v = base[b] + (uint32_t)((k + (int)j - 4) * (int)step[st]);
					if (j & 1)
						v ^= 0x80000000;
					memcpy(&s.ymm[0][4 * j], &v, 4);
				}
				for (unsigned imm = 0; imm < 5; imm++) {
					uint8_t insn[] = { 0xc4, 0xe3, 0x7d, 0x1d, 0xc2, (uint8_t)imm };
					/* masked: the native side has no #XM handler */
					s.mxcsr = 0x1f80 | (uint32_t)(rnd() % 4) << 13 |
						  (rnd() % 2 ? 0 : MXCSR_DAZ) | (rnd() % 2 ? 0 : MXCSR_FTZ);
					bad += !run_compare(&e, insn, sizeof(insn), &s, mem);
				}
			}
	CHECK_EQ(bad, 0);
	tcg_env_free(&e);
}

/* The gathers against the host: index ymm1, mask ymm2, destination ymm0,
 * [rax + index * scale + disp8] inside the shared memory. */
TEST(tcg_avx2_gather_vs_host)
{
	if (!host_has_all())
		SKIP("the host CPU lacks AVX2, FMA or F16C");
	struct tcg_env e;
	CHECK(env_init(&e));
	CHECK(stub_init());
	static uint8_t mem[NMEM];
	unsigned bad = 0;
	for (unsigned op = 0x90; op <= 0x93; op++)
		for (unsigned form = 0; form < 4; form++)
			for (unsigned rep = 0; rep < 64 && bad <= 20; rep++) {
				struct native s;
				memset(&s, 0, sizeof(s));
				fill(&s, mem, form & 1);
				unsigned scale = rnd() % 4;
				for (unsigned j = 0; j < 8; j++) {
					int32_t x = (int32_t)(rnd() % 64) - 32;
					if (op & 1)
						memcpy(&s.ymm[1][8 * (j & 3)], &(int64_t){ x }, 8);
					else
						memcpy(&s.ymm[1][4 * j], &x, 4);
				}
				uint8_t insn[] = { 0xc4, 0xe2,
						   (uint8_t)((form & 1) << 7 | (~2u & 15) << 3 | (form >> 1) << 2 | 1),
						   (uint8_t)op, 0x44, (uint8_t)(scale << 6 | 1 << 3),
						   (uint8_t)(rnd() % 128 - 64) };
				s.mxcsr = 0x1f80;
				bad += !run_compare(&e, insn, sizeof(insn), &s, mem);
			}
	CHECK_EQ(bad, 0);
	tcg_env_free(&e);
}

/* CPUID: FMA, F16C (leaf 1 ECX 12, 29) and AVX2 (leaf 7 EBX 5) come with
 * AVX, and only with it. */
TEST(tcg_avx2_cpuid)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	uint32_t r[4];
	CHECK_EQ(tcg_xsave_offer(e.c, XCR0_X87 | XCR0_SSE), 0);
	tcg_cpuid(e.c, 1, 0, r);
	CHECK_EQ(r[2] & (1u << 12 | 1u << 28 | 1u << 29), 0);
	tcg_cpuid(e.c, 7, 0, r);
	CHECK_EQ(r[1] & (1u << 5), 0);
	CHECK_EQ(tcg_xsave_offer(e.c, XCR0_X87 | XCR0_SSE | XCR0_AVX), 0);
	tcg_cpuid(e.c, 1, 0, r);
	CHECK_EQ(r[2] & (1u << 12 | 1u << 28 | 1u << 29), 1u << 12 | 1u << 28 | 1u << 29);
	tcg_cpuid(e.c, 7, 0, r);
	CHECK_EQ(r[1] & (1u << 5), 1u << 5);
	tcg_env_free(&e);
}
