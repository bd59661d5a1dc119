/*
 * TCG's BMI, ADX, RDRAND/RDSEED/RDPID and FSGSBASE (user/tcg/bmi.c,
 * alu.c, system.c): what tests/difftest cannot check against the host --
 * WRFSBASE/WRGSBASE (natively they would move the tester's TLS), the
 * CR4.FSGSBASE and mode rules, RDPID's IA32_TSC_AUX, the VEX forms
 * outside 64-bit mode -- and a few results of each; and AES-NI
 * (user/tcg/sse-crypto.c) against FIPS-197's known answer, which holds
 * on hosts the difftest SKIPs.
 *
 * Each test builds a 16 MiB machine and one TCG vCPU and runs single
 * instructions with tcg_step() (faults come back as the vector).
 */
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "tcg/tcg.h"
#include "tcgtest.h"

#define CODE_BASE 0x1000

/* 64-bit mode, CPL 0, the first 16 MiB identity-mapped */
static bool env_long(struct tcg_env *e)
{
	if (!tcg_env_init(e, CODE_BASE))
		return false;
	tcg_env_long_mode(e);
	tcg_env_flat_segs(e->c, 0, true);
	e->c->s.rflags = 2;
	e->c->s.regs[R_RSP] = 0x9000;
	return true;
}

#define RAX(c) ((c)->s.regs[R_RAX])
#define RCX(c) ((c)->s.regs[R_RCX])
#define RDX(c) ((c)->s.regs[R_RDX])
#define RBX(c) ((c)->s.regs[R_RBX])

TEST(tcg_bmi_fsgsbase)
{
	struct tcg_env e;
	CHECK(env_long(&e));
	struct tcg_cpu *c = e.c;

	/* #UD without CR4.FSGSBASE */
	RAX(c) = 0x12345678abcdULL;
	CHECK_EQ(STEP(&e, 0xf3, 0x48, 0x0f, 0xae, 0xd0), EXC_UD);       /* wrfsbase rax */
	CHECK_EQ(STEP(&e, 0xf3, 0x48, 0x0f, 0xae, 0xc3), EXC_UD);       /* rdfsbase rbx */
	/* MOV CR4 may set it */
	RAX(c) = c->s.cr4 | CR4_FSGSBASE;
	CHECK_EQ(STEP(&e, 0x0f, 0x22, 0xe0), -1);                       /* mov cr4, rax */
	CHECK(c->s.cr4 & CR4_FSGSBASE);

	RAX(c) = 0x12345678abcdULL;
	CHECK_EQ(STEP(&e, 0xf3, 0x48, 0x0f, 0xae, 0xd0), -1);
	CHECK_EQ(c->s.seg[S_FS].base, 0x12345678abcdULL);
	CHECK_EQ(STEP(&e, 0xf3, 0x48, 0x0f, 0xae, 0xc3), -1);
	CHECK_EQ(RBX(c), 0x12345678abcdULL);
	/* a non-canonical base: #GP(0), nothing written */
	c->s.seg[S_GS].base = 0x1000;
	RAX(c) = 0x8000000000000000ULL;
	CHECK_EQ(STEP(&e, 0xf3, 0x48, 0x0f, 0xae, 0xd8), EXC_GP);       /* wrgsbase rax */
	CHECK_EQ(c->s.seg[S_GS].base, 0x1000);
	/* 32-bit forms: the write zero-extends, the read returns the low half */
	RAX(c) = 0xffffffff87654321ULL;
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0xae, 0xd8), -1);                 /* wrgsbase eax */
	CHECK_EQ(c->s.seg[S_GS].base, 0x87654321ULL);
	c->s.seg[S_GS].base = 0xfedcba9876543210ULL & 0x00007fffffffffffULL;
	RCX(c) = ~0ULL;
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0xae, 0xc9), -1);                 /* rdgsbase ecx */
	CHECK_EQ(RCX(c), 0x76543210ULL);
	/* memory forms are something else (#UD here), and the group's
	 * other members with F3 too */
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0xae, 0xe0), EXC_UD);             /* f3 0f ae /4 */
	/* 64-bit mode only: #UD in compatibility mode */
	tcg_env_flat_segs(c, 0, false);
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0xae, 0xc3), EXC_UD);
	tcg_env_free(&e);
}

TEST(tcg_bmi_rdrand_rdseed_rdpid)
{
	struct tcg_env e;
	CHECK(env_long(&e));
	struct tcg_cpu *c = e.c;

	/* CF = 1, the other five cleared; two draws differ */
	tcg_set_arith_flags(c, FL_ARITH);
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0xc7, 0xf0), -1);                 /* rdrand rax */
	CHECK_EQ(tcg_arith_flags(c), FL_CF);
	uint64_t first = RAX(c);
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0xc7, 0xf0), -1);
	CHECK(RAX(c) != first);
	RAX(c) = ~0ULL;
	tcg_set_arith_flags(c, FL_ZF | FL_OF);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0xf8), -1);                       /* rdseed eax */
	CHECK_EQ(tcg_arith_flags(c), FL_CF);
	CHECK_EQ(RAX(c) >> 32, 0);
	RAX(c) = ~0ULL;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0xc7, 0xf0), -1);                 /* rdrand ax */
	CHECK_EQ(RAX(c) >> 16, 0xffffffffffffULL);
	CHECK_EQ(STEP(&e, 0xf2, 0x0f, 0xc7, 0xf0), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x30), EXC_UD);                   /* rdrand m */

	/* RDPID: IA32_TSC_AUX, 64 bits in 64-bit mode, flags unchanged */
	c->s.tsc_aux = 0xabc;
	RCX(c) = ~0ULL;
	tcg_set_arith_flags(c, FL_ZF);
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0xc7, 0xf9), -1);                 /* rdpid rcx */
	CHECK_EQ(RCX(c), 0xabc);
	CHECK_EQ(tcg_arith_flags(c), FL_ZF);
	tcg_env_free(&e);
}

TEST(tcg_bmi_vex_gpr)
{
	struct tcg_env e;
	CHECK(env_long(&e));
	struct tcg_cpu *c = e.c;

	/* andn rax, rcx, rbx: W1 64 bits, W0 32 */
	RCX(c) = 0xffff00000000ffffULL;
	RBX(c) = ~0ULL;
	tcg_set_arith_flags(c, FL_ARITH);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0xf0, 0xf2, 0xc3), -1);
	CHECK_EQ(RAX(c), 0x0000ffffffff0000ULL);
	CHECK_EQ(tcg_arith_flags(c) & (FL_CF | FL_OF | FL_ZF | FL_SF), 0);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x70, 0xf2, 0xc3), -1);
	CHECK_EQ(RAX(c), 0xffff0000ULL);
	/* VEX.L = 1: #UD */
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x74, 0xf2, 0xc3), EXC_UD);
	/* mulx rax, rcx, rbx: high half in rax, low in rcx; the same
	 * register twice gets the high half */
	RDX(c) = ~0ULL;
	RBX(c) = 2;
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0xf3, 0xf6, 0xc3), -1);
	CHECK_EQ(RAX(c), 1);
	CHECK_EQ(RCX(c), 0xfffffffffffffffeULL);
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0xfb, 0xf6, 0xc3), -1);
	CHECK_EQ(RAX(c), 1);
	/* pdep rax, rcx, rbx / pext */
	RCX(c) = 0x5;
	RBX(c) = 0xf0f0;
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0xf3, 0xf5, 0xc3), -1);
	CHECK_EQ(RAX(c), 0x50);
	RCX(c) = 0x1234;
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0xf2, 0xf5, 0xc3), -1);
	CHECK_EQ(RAX(c), 0x13);

	/* adcx rax, rbx: CF in and out, ZF untouched; adox: OF */
	RAX(c) = ~0ULL;
	RBX(c) = 0;
	tcg_set_arith_flags(c, FL_CF | FL_ZF);
	CHECK_EQ(STEP(&e, 0x66, 0x48, 0x0f, 0x38, 0xf6, 0xc3), -1);
	CHECK_EQ(RAX(c), 0);
	CHECK_EQ(tcg_arith_flags(c), FL_CF | FL_ZF);
	RAX(c) = 0x7fffffff;
	RBX(c) = 1;
	tcg_set_arith_flags(c, FL_CF);
	CHECK_EQ(STEP(&e, 0xf3, 0x0f, 0x38, 0xf6, 0xc3), -1);           /* adox eax, ebx */
	CHECK_EQ(RAX(c), 0x80000000);
	CHECK_EQ(tcg_arith_flags(c), FL_CF);

	/* compatibility mode: VEX.W is ignored, 32-bit operands */
	tcg_env_flat_segs(c, 0, false);
	RCX(c) = 0xffff00000000ffffULL;
	RBX(c) = ~0ULL;
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0xf0, 0xf2, 0xc3), -1);
	CHECK_EQ(RAX(c), 0xffff0000ULL);
	tcg_env_free(&e);

	/* real mode: no VEX, C4 with a register operand is #UD */
	CHECK(tcg_env_init(&e, CODE_BASE));
	e.c->s.seg[S_CS].selector = 0;
	e.c->s.seg[S_CS].base = 0;
	CHECK_EQ(STEP(&e, 0xc4, 0xe2, 0x70, 0xf2, 0xc3), EXC_UD);
	tcg_env_free(&e);
}

/* ------------------------------------------------------------------ */
/* AES-NI, PCLMULQDQ, SHA (user/tcg/sse-crypto.c): a known answer that
 * holds on any host (the difftest SKIPs them where the host lacks them) */

static void xmm_put(struct tcg_cpu *c, unsigned r, const uint8_t b[16])
{
	memcpy(c->fpu.xmm[r].b, b, 16);
}

/* xmm1 = op(xmm1, xmm2) for 66 0F 38 op (or 66 0F 3A op ib when imm >= 0) */
static int aes_step(struct tcg_env *e, unsigned op, int imm)
{
	if (imm >= 0)
		return STEP(e, 0x66, 0x0f, 0x3a, (uint8_t)op, 0xca, (uint8_t)imm);
	return STEP(e, 0x66, 0x0f, 0x38, (uint8_t)op, 0xca);
}

/* FIPS-197 appendix C.1: AES-128, the key schedule from AESKEYGENASSIST,
 * encryption with AESENC/AESENCLAST, decryption with AESIMC'd keys and
 * AESDEC/AESDECLAST */
TEST(tcg_crypto_aes128_known_answer)
{
	static const uint8_t rcon[10] = { 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36 };
	static const uint8_t ct[16] = { 0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
					0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a };
	struct tcg_env e;
	CHECK(env_long(&e));
	struct tcg_cpu *c = e.c;
	c->s.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	uint8_t rk[11][16], pt[16], v[16];
	for (unsigned k = 0; k < 16; k++) {
		rk[0][k] = (uint8_t)k;
		pt[k] = (uint8_t)(k * 0x11);
	}
	for (unsigned r = 1; r <= 10; r++) {
		uint32_t w[4], t;
		xmm_put(c, 2, rk[r - 1]);
		CHECK_EQ(aes_step(&e, 0xdf, rcon[r - 1]), -1);  /* aeskeygenassist */
		t = c->fpu.xmm[1].d[3];
		memcpy(w, rk[r - 1], 16);
		w[0] ^= t;
		w[1] ^= w[0];
		w[2] ^= w[1];
		w[3] ^= w[2];
		memcpy(rk[r], w, 16);
	}
	xmm_put(c, 1, pt);
	for (unsigned k = 0; k < 16; k++)
		c->fpu.xmm[1].b[k] ^= rk[0][k];
	for (unsigned r = 1; r <= 10; r++) {
		xmm_put(c, 2, rk[r]);
		CHECK_EQ(aes_step(&e, r < 10 ? 0xdc : 0xdd, -1), -1);
	}
	CHECK(!memcmp(c->fpu.xmm[1].b, ct, 16));

	/* the equivalent inverse cipher (FIPS-197 5.3.5) */
	memcpy(v, ct, 16);
	for (unsigned k = 0; k < 16; k++)
		v[k] ^= rk[10][k];
	for (unsigned r = 9; r >= 1; r--) {
		uint8_t dk[16];
		xmm_put(c, 2, rk[r]);
		CHECK_EQ(aes_step(&e, 0xdb, -1), -1);           /* aesimc */
		memcpy(dk, c->fpu.xmm[1].b, 16);
		xmm_put(c, 1, v);
		xmm_put(c, 2, dk);
		CHECK_EQ(aes_step(&e, 0xde, -1), -1);           /* aesdec */
		memcpy(v, c->fpu.xmm[1].b, 16);
	}
	xmm_put(c, 1, v);
	xmm_put(c, 2, rk[0]);
	CHECK_EQ(aes_step(&e, 0xdf, -1), -1);                   /* aesdeclast */
	CHECK(!memcmp(c->fpu.xmm[1].b, pt, 16));

	/* pclmulqdq xmm1, xmm2, 0x11: the high quadwords, (x + 1)^2 = x^2 + 1 */
	c->fpu.xmm[1].q[1] = 3;
	c->fpu.xmm[2].q[1] = 3;
	CHECK_EQ(aes_step(&e, 0x44, 0x11), -1);
	CHECK_EQ(c->fpu.xmm[1].q[0], 5);
	CHECK_EQ(c->fpu.xmm[1].q[1], 0);

	/* legacy SSE alignment (exceptions type 4): sha1msg1 xmm1, [rax] */
	RAX(c) = 0x3008;
	CHECK_EQ(STEP(&e, 0x0f, 0x38, 0xc9, 0x08), EXC_GP);
	RAX(c) = 0x3000;
	CHECK_EQ(STEP(&e, 0x0f, 0x38, 0xc9, 0x08), -1);
	/* without CR4.OSFXSR: #UD */
	c->s.cr4 &= ~CR4_OSFXSR;
	CHECK_EQ(aes_step(&e, 0xdc, -1), EXC_UD);
	tcg_env_free(&e);
}
