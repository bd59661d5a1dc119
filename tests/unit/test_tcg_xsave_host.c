/*
 * TCG's XSAVE instructions against the host CPU's: the same random
 * standard-format images are loaded with XRSTOR (a full one, then one
 * with a random header and request mask), then saved with XSAVE,
 * XSAVEOPT or XSAVEC, and XGETBV(1) read, natively in this process and
 * in a TCG vCPU offered the host's XCR0 (x87, SSE, AVX and AVX-512 where
 * the host has them).  The saved areas must match byte for byte, but for
 * FOP/FIP/FDP (AMD saves them only with an unmasked x87 exception
 * pending, SDM Vol. 1, 13.5.1 leaves them to the model) and MXCSR_MASK
 * (a model property: AMD's bit 17); XINUSE must match.  Some headers are
 * invalid on purpose: both must raise #GP and keep their state.
 */
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "tcg/tcg.h"
#include "tcgtest.h"

#define CODE_BASE 0x1000
#define BASE_AREA 0x100000
#define IMG_AREA 0x110000
#define OUT_AREA 0x120000
#define CASES 3000

static uint8_t host_saved[XSAVE_AREA_SIZE] __attribute__((aligned(64)));
static uint8_t base[XSAVE_AREA_SIZE] __attribute__((aligned(64)));
static uint8_t img[XSAVE_AREA_SIZE] __attribute__((aligned(64)));
static uint8_t out_n[XSAVE_AREA_SIZE] __attribute__((aligned(64)));
static uint8_t out_t[XSAVE_AREA_SIZE];

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)rnd();
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A standard-format image of the components of mask with random
 * contents: x87 with masked exceptions (no #MF pending), a valid MXCSR,
 * XSTATE_BV = bv. */
static void random_image(uint8_t *a, uint64_t mask, uint64_t bv)
{
	memset(a, 0, XSAVE_AREA_SIZE);
	rnd_bytes(a, 512);
	uint16_t fcw = 0x37f & ~(rnd() & 0x300), fsw = rnd() & 0x3800;
	memcpy(a, &fcw, 2);
	memcpy(a + 2, &fsw, 2);
	a[5] = 0;
	a[7] &= 7;                                      /* FOP is 11 bits */
	uint32_t mx = (rnd() & 0xffbf) | 0x1f80;
	memcpy(a + 24, &mx, 4);
	for (unsigned k = 0; k < 8; k++)
		memset(a + 32 + 16 * k + 10, 0, 6);
	memset(a + 416, 0, 96);
	for (unsigned i = XC_AVX; i < XC_NR; i++) {
		const struct xsave_layout *l = tcg_xsave_layout(i);
		if (mask & (1ULL << i))
			rnd_bytes(a + l->offset, l->size);
	}
	put64(a + 512, bv);
}

static sigjmp_buf fault_jmp;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

enum save_kind { SK_XSAVE, SK_XSAVEOPT, SK_XSAVEC, SK_NR };

/* Natively: XRSTOR base (all), XRSTOR img (rfbm_r), the save with
 * rfbm_s into out_n, XGETBV(1); the process's own state around it.
 * Returns false when the XRSTOR of img faulted. */
static uint64_t rfbm_mask;             /* the components compared */

static bool run_native(enum save_kind kind, uint64_t rfbm_r, uint64_t rfbm_s, uint64_t *inuse)
{
	volatile bool faulted = false;
	uint32_t lo, hi, mlo = (uint32_t)rfbm_mask, mhi = (uint32_t)(rfbm_mask >> 32);
	/* only the components compared: never AMX's, which Linux arms XFD for */
	__asm__ volatile("xsave64 %0" : "=m"(host_saved) : "a"(mlo), "d"(mhi) : "memory");
	if (sigsetjmp(fault_jmp, 1)) {
		faulted = true;
		goto done;
	}
	__asm__ volatile("xrstor64 %0" : : "m"(base), "a"(mlo), "d"(mhi) : "memory");
	__asm__ volatile("xrstor64 %0" : : "m"(img), "a"((uint32_t)rfbm_r),
			 "d"((uint32_t)(rfbm_r >> 32)) : "memory");
	switch (kind) {
	case SK_XSAVE:
		__asm__ volatile("xsave64 %0" : "=m"(out_n) : "a"((uint32_t)rfbm_s),
				 "d"((uint32_t)(rfbm_s >> 32)) : "memory");
		break;
	case SK_XSAVEOPT:
		__asm__ volatile("xsaveopt64 %0" : "=m"(out_n) : "a"((uint32_t)rfbm_s),
				 "d"((uint32_t)(rfbm_s >> 32)) : "memory");
		break;
	default:
		__asm__ volatile("xsavec64 %0" : "=m"(out_n) : "a"((uint32_t)rfbm_s),
				 "d"((uint32_t)(rfbm_s >> 32)) : "memory");
		break;
	}
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
	*inuse = ((uint64_t)hi << 32 | lo) & rfbm_mask;
done:
	__asm__ volatile("xrstor64 %0" : : "m"(host_saved), "a"(mlo), "d"(mhi) : "memory");
	return !faulted;
}

static void set_mask(struct tcg_cpu *c, uint64_t m)
{
	c->s.regs[R_RAX] = (uint32_t)m;
	c->s.regs[R_RDX] = m >> 32;
}

/* The same in TCG; -1 or the vector of the XRSTOR of img */
static int run_tcg(struct tcg_env *e, enum save_kind kind, uint64_t rfbm_r, uint64_t rfbm_s,
		   uint64_t *inuse)
{
	struct tcg_cpu *c = e->c;
	guest_write(e->m, BASE_AREA, base, XSAVE_AREA_SIZE);
	guest_write(e->m, IMG_AREA, img, XSAVE_AREA_SIZE);
	guest_write(e->m, OUT_AREA, out_t, XSAVE_AREA_SIZE);
	set_mask(c, ~0ULL);
	c->s.regs[R_RBX] = BASE_AREA;
	/* fixed places: one per instruction, so no block goes stale */
	if (STEP_AT(e, CODE_BASE, 0x48, 0x0f, 0xae, 0x2b) != -1) /* xrstor64 [rbx] */
		return -2;
	set_mask(c, rfbm_r);
	c->s.regs[R_RBX] = IMG_AREA;
	int v = STEP_AT(e, CODE_BASE + 0x20, 0x48, 0x0f, 0xae, 0x2b);
	if (v != -1)
		return v;
	set_mask(c, rfbm_s);
	c->s.regs[R_RBX] = OUT_AREA;
	static const uint8_t modrm_op[SK_NR][2] = { { 0xae, 0x23 }, { 0xae, 0x33 }, { 0xc7, 0x23 } };
	if (STEP_AT(e, CODE_BASE + 0x40 + 0x20 * kind, 0x48, 0x0f, modrm_op[kind][0],
		    modrm_op[kind][1]) != -1)
		return -2;
	c->s.regs[R_RCX] = 1;
	if (STEP_AT(e, CODE_BASE + 0x100, 0x0f, 0x01, 0xd0) != -1) /* xgetbv */
		return -2;
	*inuse = (c->s.regs[R_RDX] << 32) | (uint32_t)c->s.regs[R_RAX];
	guest_read(e->m, OUT_AREA, out_t, XSAVE_AREA_SIZE);
	return -1;
}

/* Bytes the comparison leaves to the model: FOP, FIP/FCS, FDP/FDS,
 * MXCSR_MASK */
static bool model_byte(unsigned k)
{
	return (k >= 6 && k < 24) || (k >= 28 && k < 32);
}

/* The first byte where the host's save and TCG's differ, but for the
 * bytes the model leaves free; XSAVE_AREA_SIZE when none. */
static unsigned first_difference(void)
{
	for (unsigned k = 0; k < XSAVE_AREA_SIZE; k++)
		if (out_n[k] != out_t[k] && !model_byte(k))
			return k;
	return XSAVE_AREA_SIZE;
}

static bool host_has_xsave(uint64_t *xcr0)
{
	unsigned a, b, c, d;
	if (__get_cpuid_max(0, NULL) < 0xd)
		return false;
	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 27)))                          /* OSXSAVE */
		return false;
	__cpuid_count(0xd, 1, a, b, c, d);
	if ((a & 7) != 7)                               /* XSAVEOPT XSAVEC XGETBV1 */
		return false;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	*xcr0 = (uint64_t)hi << 32 | lo;
	return true;
}

/* A header (or MXCSR) that XRSTOR must refuse */
static void spoil(uint8_t *a, uint64_t xcr0)
{
	switch (rnd() % 4) {
	case 0:
		a[512 + 16 + rnd() % 48] |= 1u << (rnd() % 8);
		break;
	case 1:
		put64(a + 512, get64(a + 512) | (~xcr0 & ~(1ULL << 63) & (1ULL << (rnd() % 63))));
		if (!(get64(a + 512) & ~xcr0))
			a[512 + 8] = 1;
		break;
	case 2:
		a[512 + 8 + rnd() % 8] |= 1u << (rnd() % 7);
		break;
	default: {
		/* not bit 17: AMD's misaligned-SSE mode, which TCG lacks */
		uint32_t mx = 0x1f80 | 1u << (18 + rnd() % 14);
		memcpy(a + 24, &mx, 4);
		put64(a + 512, get64(a + 512) | 2);
		break;
	}
	}
}

TEST(tcg_xsave_vs_host)
{
	uint64_t host_xcr0;
	if (!host_has_xsave(&host_xcr0))
		SKIP("the host CPU lacks XSAVE with XSAVEOPT, XSAVEC and XGETBV1, or the kernel did not enable it");
	uint64_t mask = host_xcr0 & (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512);
	if ((mask & XCR0_AVX512) != XCR0_AVX512)
		mask &= ~XCR0_AVX512;
	struct tcg_env e;
	CHECK(tcg_env_init(&e, CODE_BASE));
	tcg_env_long_mode(&e);
	struct tcg_cpu *c = e.c;
	c->s.cr0 |= CR0_NE | CR0_MP;
	c->s.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
	tcg_env_flat_segs(c, 0, true);
	CHECK_EQ(tcg_xsave_offer(c, mask), 0);
	rfbm_mask = mask;
	c->xcr0 = mask;
	/* the host's XCR0 may have components beyond TCG's (PKRU, AMX):
	 * the native side's masks stay within mask too */
	struct sigaction sa = { .sa_handler = on_segv, .sa_flags = SA_NODEFER };
	sigaction(SIGSEGV, &sa, NULL);
	rng = 0x9e3779b97f4a7c15ULL;
	unsigned diffs = 0, faults = 0;
	for (unsigned n = 0; n < CASES && diffs < 10; n++) {
		enum save_kind kind = rnd() % SK_NR;
		random_image(base, mask, mask);
		uint64_t bv = rnd() & mask;
		random_image(img, mask, bv);
		uint64_t rfbm_r = rnd() & mask, rfbm_s = rnd() & mask;
		if (rnd() % 4 == 0)
			rfbm_r = mask;
		if (rnd() % 4 == 0)
			rfbm_s = mask;
		bool bad = rnd() % 8 == 0;
		if (bad)
			spoil(img, mask);
		memset(out_n, 0xa5, sizeof(out_n));
		memset(out_n + 512, 0, 64);
		memcpy(out_t, out_n, sizeof(out_t));
		uint64_t in_n = 0, in_t = 0;
		bool ok_n = run_native(kind, rfbm_r, rfbm_s, &in_n);
		int v = run_tcg(&e, kind, rfbm_r, rfbm_s, &in_t);
		if (!ok_n || v != -1) {
			faults++;
			if (ok_n || v != EXC_GP) {
				fprintf(stderr, "  case %u: kind %d rfbm %llx/%llx bv %llx comp %llx hdr16 %llx mxcsr %x: native %s, tcg %d\n",
					n, kind, (unsigned long long)rfbm_r, (unsigned long long)rfbm_s,
					(unsigned long long)get64(img + 512), (unsigned long long)get64(img + 520),
					(unsigned long long)get64(img + 528), *(uint32_t *)(img + 24), ok_n ? "ran" : "#GP", v);
				diffs++;
			}
			continue;
		}
		unsigned first = first_difference();
		/* the host side once more before calling it a difference: a
		 * preemption between its XRSTOR and XGETBV(1) can leave a
		 * component in use (SDM Vol. 1 13.6 lets XINUSE[i] be 1 in
		 * the init state); seen about once in 6 runs on an EPYC */
		if (first < XSAVE_AREA_SIZE || in_n != in_t) {
			memset(out_n, 0xa5, sizeof(out_n));
			memset(out_n + 512, 0, 64);
			if (run_native(kind, rfbm_r, rfbm_s, &in_n))
				first = first_difference();
		}
		if (first < XSAVE_AREA_SIZE || in_n != in_t) {
			fprintf(stderr, "  case %u: kind %d rfbm %llx/%llx bv %llx: byte %u native %02x tcg %02x, "
				"XINUSE native %llx tcg %llx\n", n, kind, (unsigned long long)rfbm_r,
				(unsigned long long)rfbm_s, (unsigned long long)bv, first,
				first < XSAVE_AREA_SIZE ? out_n[first] : 0,
				first < XSAVE_AREA_SIZE ? out_t[first] : 0,
				(unsigned long long)in_n, (unsigned long long)in_t);
			diffs++;
		}
	}
	CHECK_EQ(diffs, 0);
	CHECK(faults > CASES / 16);                     /* the #GP cases ran */
	tcg_env_free(&e);
}
