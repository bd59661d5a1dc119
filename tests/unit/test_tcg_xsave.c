/*
 * The TCG XSAVE feature set (user/tcg/xsave.c): the standard-format
 * image helpers round-trip every component at every size and refuse
 * what XRSTOR refuses; XGETBV/XSETBV, XSAVE, XSAVEOPT, XSAVEC and
 * XRSTOR by tcg_step() with their faults; CPUID leaf 0xD.  The bit-exact
 * comparison with the host CPU is tests/difftest's (group "xsave").
 */
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "tcg/tcg.h"
#include "x86/msr.h"
#include "tcgtest.h"

#define CODE_BASE 0x1000
#define DATA 0x4000
#define ALL (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512)

static bool env_init(struct tcg_env *e, uint64_t offer)
{
	if (!tcg_env_init(e, CODE_BASE))
		return false;
	tcg_env_long_mode(e);
	struct tcg_cpu *c = e->c;
	c->s.cr0 |= CR0_NE | CR0_MP;
	c->s.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
	tcg_env_flat_segs(c, 0, true);
	c->s.rflags = 2;
	c->s.regs[R_RSP] = 0x9000;
	return tcg_xsave_offer(c, offer) == 0;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Every register of every component away from its initial state, from
 * seed: x87 through an FXSAVE image (valid long doubles, some tags
 * empty), the rest bytes. */
static void fill_state(struct tcg_cpu *c, unsigned seed)
{
	uint8_t fx[512];
	memset(fx, 0, sizeof(fx));
	uint16_t fcw = 0x27f, fsw = 0x3800 | (seed & 0x3f);
	memcpy(fx, &fcw, 2);
	memcpy(fx + 2, &fsw, 2);
	fx[4] = 0xf3;
	fx[6] = (uint8_t)seed;
	uint32_t fip = 0x1000 + seed, fdp = 0x2000 + seed;
	memcpy(fx + 8, &fip, 4);
	memcpy(fx + 16, &fdp, 4);
	fx[12] = 0x33;
	for (unsigned k = 0; k < 8; k++) {
		long double v = (seed + k) * 1.25L;
		memcpy(fx + 32 + 16 * k, &v, 10);
	}
	uint32_t mx = 0x1f80 | 0x40 | (seed & 0x3f);
	memcpy(fx + 24, &mx, 4);
	for (unsigned k = 0; k < 256; k++)
		fx[160 + k] = (uint8_t)(k * 7 + seed);
	tcg_fpu_from_fxsave(&c->fpu, fx);
	uint8_t *x = (uint8_t *)&c->xs.ymm_h;
	for (size_t k = 0; k < sizeof(c->xs.ymm_h); k++)
		x[k] = (uint8_t)(k * 3 + seed + 1);
	for (unsigned k = 0; k < 8; k++)
		c->xs.k[k] = 0x0101010101010101ULL * (k + 1) + seed;
	x = (uint8_t *)&c->xs.zmm_h;
	for (size_t k = 0; k < sizeof(c->xs.zmm_h); k++)
		x[k] = (uint8_t)(k * 5 + seed + 2);
	x = (uint8_t *)&c->xs.hi16_zmm;
	for (size_t k = 0; k < sizeof(c->xs.hi16_zmm); k++)
		x[k] = (uint8_t)(k * 11 + seed + 3);
}

static bool same_regs(struct tcg_cpu *a, struct tcg_cpu *b, uint64_t mask)
{
	uint8_t fa[512], fb[512];
	tcg_fpu_to_fxsave(&a->fpu, fa);
	tcg_fpu_to_fxsave(&b->fpu, fb);
	bool ok = true;
	if (mask & XCR0_X87)
		ok &= !memcmp(fa, fb, 24) && !memcmp(fa + 32, fb + 32, 128);
	if (mask & XCR0_SSE)
		ok &= !memcmp(fa + 24, fb + 24, 4) && !memcmp(fa + 160, fb + 160, 256);
	if (mask & XCR0_AVX)
		ok &= !memcmp(a->xs.ymm_h, b->xs.ymm_h, sizeof(a->xs.ymm_h));
	if (mask & XCR0_OPMASK)
		ok &= !memcmp(a->xs.k, b->xs.k, sizeof(a->xs.k));
	if (mask & XCR0_ZMM_HI256)
		ok &= !memcmp(a->xs.zmm_h, b->xs.zmm_h, sizeof(a->xs.zmm_h));
	if (mask & XCR0_HI16_ZMM)
		ok &= !memcmp(a->xs.hi16_zmm, b->xs.hi16_zmm, sizeof(a->xs.hi16_zmm));
	return ok;
}

/* Every offered set, every single component and all of them, every
 * size from the legacy area to the whole: what fits moves, bit for bit. */
TEST(tcg_xsave_image_round_trips)
{
	static const uint64_t offers[] = { XCR0_X87 | XCR0_SSE, XCR0_X87 | XCR0_SSE | XCR0_AVX, ALL };
	for (unsigned o = 0; o < 3; o++) {
		struct tcg_env a, b;
		CHECK(env_init(&a, offers[o]) && env_init(&b, offers[o]));
		uint32_t full = tcg_xsave_size(offers[o]);
		for (unsigned comp = 0; comp <= XC_NR; comp++) {
			uint64_t rfbm = comp == XC_NR ? ~0ULL : 1ULL << comp;
			if (!(rfbm & offers[o]))
				continue;
			for (uint32_t size = 576; size <= full; size += 64) {
				uint8_t img[XSAVE_AREA_SIZE], back[XSAVE_AREA_SIZE];
				fill_state(a.c, size / 64 + comp);
				fill_state(b.c, 99);
				tcg_xsave_image_get(a.c, img, size, rfbm);
				uint64_t bv = get64(img + 512);
				uint64_t fits = 0;
				for (unsigned k = 0; k < XC_NR; k++) {
					const struct xsave_layout *l = tcg_xsave_layout(k);
					if (k < XC_AVX || l->offset + l->size <= size)
						fits |= 1ULL << k;
				}
				CHECK_EQ(bv, rfbm & offers[o] & fits);
				CHECK_EQ(get64(img + 520), 0);
				CHECK_EQ(tcg_xsave_image_set(b.c, img, size, rfbm), 0);
				CHECK(same_regs(a.c, b.c, bv));
				tcg_xsave_image_get(b.c, back, size, rfbm);
				CHECK(!memcmp(img, back, size));
			}
		}
		tcg_env_free(&a);
		tcg_env_free(&b);
	}
}

/* XSTATE_BV 0 initialises; each refusal changes nothing */
TEST(tcg_xsave_image_init_and_refusals)
{
	struct tcg_env a;
	CHECK(env_init(&a, ALL));
	struct tcg_cpu *c = a.c;
	uint8_t img[XSAVE_AREA_SIZE];
	uint32_t size = tcg_xsave_size(ALL);
	fill_state(c, 5);
	tcg_xsave_image_get(c, img, size, ~0ULL);
	CHECK_EQ(get64(img + 512), ALL);
	CHECK_EQ(tcg_xinuse(c, ALL), ALL);

	uint8_t bad[XSAVE_AREA_SIZE];
	memcpy(bad, img, size);
	bad[512 + 1] = 1;                               /* XSTATE_BV bit 8 */
	CHECK_EQ(tcg_xsave_image_set(c, bad, size, ~0ULL), -1);
	memcpy(bad, img, size);
	bad[520 + 7] = 0x80;                            /* compacted */
	CHECK_EQ(tcg_xsave_image_set(c, bad, size, ~0ULL), -1);
	memcpy(bad, img, size);
	bad[530] = 1;                                   /* header byte 18 */
	CHECK_EQ(tcg_xsave_image_set(c, bad, size, ~0ULL), -1);
	memcpy(bad, img, size);
	bad[24 + 2] = 1;                                /* MXCSR bit 16 */
	CHECK_EQ(tcg_xsave_image_set(c, bad, size, ~0ULL), -1);
	CHECK_EQ(tcg_xsave_image_set(c, img, 1024, ~0ULL), -1); /* AVX-512 beyond size */
	CHECK_EQ(tcg_xinuse(c, ALL), ALL);

	/* XSTATE_BV = 0: everything to its initial state, MXCSR from memory */
	memset(img + 512, 0, 8);
	CHECK_EQ(tcg_xsave_image_set(c, img, size, ~0ULL), 0);
	CHECK_EQ(tcg_xinuse(c, ALL), XCR0_SSE);         /* MXCSR kept != 1F80H */
	CHECK_EQ(c->fpu.fcw, 0x37f);
	CHECK_EQ(c->xs.k[3], 0);
	uint32_t mx = 0x1f80;
	memcpy(img + 24, &mx, 4);
	CHECK_EQ(tcg_xsave_image_set(c, img, size, ~0ULL), 0);
	CHECK_EQ(tcg_xinuse(c, ALL), 0);
	tcg_env_free(&a);
}

TEST(tcg_xsave_offer_and_cpuid)
{
	struct tcg_env a;
	CHECK(env_init(&a, 0));
	struct tcg_cpu *c = a.c;
	uint32_t r[4];
	CHECK_EQ(tcg_xsave_offer(c, XCR0_X87), -1);
	CHECK_EQ(tcg_xsave_offer(c, XCR0_X87 | XCR0_SSE | XCR0_OPMASK), -1);
	CHECK_EQ(tcg_xsave_offer(c, XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_OPMASK), -1);
	CHECK_EQ(tcg_xsave_offer(c, ALL | (1ULL << 3)), -1);   /* MPX's BNDREGS */
	CHECK_EQ(tcg_xsave_offer(c, ALL | (1ULL << 8)), -1);   /* PT */
	/* PKRU: CPUID PKU with it, OSPKE following CR4.PKE */
	CHECK_EQ(tcg_xsave_offer(c, ALL | XCR0_PKRU), 0);
	tcg_cpuid(c, 7, 0, r);
	CHECK_EQ(r[2] & (3u << 3), 1u << 3);
	c->s.cr4 |= CR4_PKE;
	tcg_cpuid(c, 7, 0, r);
	CHECK_EQ(r[2] & (3u << 3), 3u << 3);
	tcg_cpuid(c, 0xd, XC_PKRU, r);
	CHECK_EQ(r[0], 8);
	CHECK_EQ(r[1], tcg_xsave_layout(XC_PKRU)->offset);
	CHECK_EQ(tcg_xsave_offer(c, ALL), 0);
	CHECK(!(c->s.cr4 & CR4_PKE));                   /* no PKRU, no CR4.PKE */
	tcg_cpuid(c, 7, 0, r);
	CHECK(!(r[2] & (3u << 3)));
	CHECK_EQ(tcg_xsave_offer(c, 0), 0);
	tcg_cpuid(c, 1, 0, r);
	CHECK(!(r[2] & (1u << 26)));
	CHECK_EQ(tcg_xsave_offer(c, ALL), 0);
	tcg_cpuid(c, 1, 0, r);
	CHECK(!(r[2] & (1u << 27)));                    /* offer 0 cleared OSXSAVE */
	c->s.cr4 |= CR4_OSXSAVE;
	tcg_cpuid(c, 1, 0, r);
	CHECK((r[2] & (7u << 26)) == (7u << 26));       /* XSAVE OSXSAVE AVX */
	tcg_cpuid(c, 7, 0, r);
	CHECK(r[1] & (1u << 16));                       /* AVX512F */
	tcg_cpuid(c, 0xd, 0, r);
	CHECK_EQ(r[0], ALL);
	CHECK_EQ(r[1], 576);                            /* XCR0 = x87 */
	CHECK_EQ(r[2], tcg_xsave_size(ALL));
	tcg_cpuid(c, 0xd, 1, r);
	CHECK_EQ(r[0], 0xf);                            /* XSAVEOPT XSAVEC XGETBV1 XSAVES */
	CHECK_EQ(r[1], 576);                            /* compacted, XCR0 = x87 */
	CHECK_EQ(r[2] | r[3], 0);                       /* no IA32_XSS bit */
	c->xcr0 = ALL;
	tcg_cpuid(c, 0xd, 1, r);
	/* the compacted size of ALL as the host's own components lay it out
	 * (SDM Vol. 1 13.4.3: 576, then each component, 64-aligned where
	 * CPUID.(0xD,i):ECX[1] says so).  Not the host's 0xD.1 EBX: that
	 * counts the IA32_XSS components its kernel enabled too (CET). */
	uint32_t host_size = 576, h[4];
	for (unsigned k = 2; k < 64; k++) {
		if (!(ALL & (1ULL << k)))
			continue;
		__asm__("cpuid" : "=a"(h[0]), "=b"(h[1]), "=c"(h[2]), "=d"(h[3]) : "a"(0xd), "c"(k));
		if (h[2] & 2)
			host_size = (host_size + 63) & ~63u;
		host_size += h[0];
	}
	uint64_t hx;
	uint32_t lo, hi;
	__asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	hx = (uint64_t)hi << 32 | lo;
	if ((hx & ALL) == ALL)                          /* the host has them all */
		CHECK_EQ(r[1], host_size);
	c->xcr0 = 1;
	for (unsigned k = XC_AVX; k < XC_NR; k++) {
		tcg_cpuid(c, 0xd, k, r);
		if (!(ALL & (1ULL << k))) {
			CHECK_EQ(r[0], 0);
			continue;
		}
		CHECK_EQ(r[0], tcg_xsave_layout(k)->size);
		CHECK_EQ(r[1], tcg_xsave_layout(k)->offset);
	}
	/* the host's own offsets, where it has the components */
	__asm__("cpuid" : "=a"(h[0]), "=b"(h[1]), "=c"(h[2]), "=d"(h[3]) : "a"(0xd), "c"(XC_OPMASK));
	if (h[0] == 64)
		CHECK_EQ(tcg_xsave_layout(XC_OPMASK)->offset, h[1]);
	tcg_env_free(&a);
}

TEST(tcg_xsave_xgetbv_xsetbv)
{
	struct tcg_env e;
	CHECK(env_init(&e, ALL));
	struct tcg_cpu *c = e.c;
	struct { uint64_t v; bool ok; } cases[] = {
		{ 1, true }, { 3, true }, { 7, true }, { 0xe7, true },
		{ 0, false }, { 2, false }, { 5, false }, { 0x27, false },
		{ 0x67, false }, { 0xe3, false }, { 0x1e7, false }, { 1ULL << 40 | 7, false },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		c->s.regs[R_RCX] = 0;
		c->s.regs[R_RAX] = (uint32_t)cases[k].v;
		c->s.regs[R_RDX] = cases[k].v >> 32;
		c->xcr0 = 1;
		CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xd1), cases[k].ok ? -1 : EXC_GP);
		CHECK_EQ(c->xcr0, cases[k].ok ? cases[k].v : 1);
	}
	c->xcr0 = 0xe7;
	c->s.regs[R_RCX] = 0;
	c->s.regs[R_RDX] = 0xdead;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xd0), -1);
	CHECK_EQ(c->s.regs[R_RAX], 0xe7);
	CHECK_EQ(c->s.regs[R_RDX], 0);
	c->s.regs[R_RCX] = 1;                           /* XGETBV1: XCR0 & XINUSE */
	tcg_xsave_reset(c);
	c->xcr0 = 0xe7;
	c->xs.k[2] = 1;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xd0), -1);
	CHECK_EQ(c->s.regs[R_RAX], XCR0_OPMASK);
	c->s.regs[R_RCX] = 2;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xd0), EXC_GP);
	c->s.regs[R_RCX] = 1;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xd1), EXC_GP);   /* XSETBV ECX=1 */
	c->s.regs[R_RCX] = 0;
	c->s.regs[R_RAX] = 3;
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x01, 0xd1), EXC_UD);
	/* CPL 3: XGETBV yes, XSETBV #GP */
	tcg_env_flat_segs(c, 3, true);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xd0), -1);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xd1), EXC_GP);
	tcg_env_flat_segs(c, 0, true);
	/* CR4.OSXSAVE = 0: #UD for both */
	c->s.cr4 &= ~CR4_OSXSAVE;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xd0), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xd1), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x20), EXC_UD);
	tcg_env_free(&e);
}

static void write_area(struct tcg_env *e, uint64_t at, uint8_t fill)
{
	uint8_t b[XSAVE_AREA_SIZE];
	memset(b, fill, sizeof(b));
	guest_write(e->m, at, b, sizeof(b));
}

/* XSAVE then XRSTOR into a clean CPU; XSAVEOPT leaves init components
 * unwritten; the faults */
TEST(tcg_xsave_xsave_xrstor)
{
	struct tcg_env e;
	CHECK(env_init(&e, ALL));
	struct tcg_cpu *c = e.c;
	uint8_t area[XSAVE_AREA_SIZE], want[XSAVE_AREA_SIZE];
	uint32_t size = tcg_xsave_size(ALL);
	c->xcr0 = ALL;
	fill_state(c, 17);
	tcg_xsave_image_get(c, want, size, ALL);
	c->s.regs[R_RAX] = ~0u;
	c->s.regs[R_RDX] = ~0u;
	c->s.regs[R_RBX] = DATA;
	write_area(&e, DATA, 0);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x23), -1);       /* xsave [rbx] */
	guest_read(e.m, DATA, area, size);
	/* the image helper's form is XSAVE's without REX.W, but for bytes
	 * 416-511 (not written) and MXCSR_MASK (written by both) */
	CHECK(!memcmp(area, want, 416));
	CHECK(!memcmp(area + 512, want + 512, size - 512));

	fill_state(c, 3);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x2b), -1);       /* xrstor [rbx] */
	uint8_t now[XSAVE_AREA_SIZE];
	tcg_xsave_image_get(c, now, size, ALL);
	CHECK(!memcmp(now, want, size));

	/* RFBM = AVX only: the header keeps other bits, x87 not written */
	write_area(&e, DATA, 0xcc);
	uint64_t bv = 0x1;
	guest_write(e.m, DATA + 512, &bv, 8);
	c->s.regs[R_RAX] = XCR0_AVX;
	c->s.regs[R_RDX] = 0;
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x23), -1);
	guest_read(e.m, DATA, area, size);
	CHECK_EQ(get64(area + 512), XCR0_X87 | XCR0_AVX);
	CHECK_EQ(area[0], 0xcc);
	CHECK(!memcmp(area + 24, want + 24, 8));        /* MXCSR goes with AVX */
	CHECK(!memcmp(area + 576, want + 576, 256));

	/* XSAVEOPT with AVX in its initial state: not written, XSTATE_BV 0 */
	memset(c->xs.ymm_h, 0, sizeof(c->xs.ymm_h));
	write_area(&e, DATA, 0xcc);
	guest_write(e.m, DATA + 512, &bv, 8);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x33), -1);       /* xsaveopt [rbx] */
	guest_read(e.m, DATA, area, size);
	CHECK_EQ(get64(area + 512), XCR0_X87);
	CHECK_EQ(area[576], 0xcc);

	/* faults: alignment, CR0.TS, reserved header bits, MXCSR */
	c->s.regs[R_RAX] = ~0u;
	c->s.regs[R_RDX] = ~0u;
	c->s.regs[R_RBX] = DATA + 16;
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x23), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x2b), EXC_GP);
	c->s.regs[R_RBX] = DATA;
	c->s.cr0 |= CR0_TS;
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x23), EXC_NM);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x23), EXC_NM);
	c->s.cr0 &= ~CR0_TS;
	CHECK_EQ(STEP(&e, 0xf0, 0x0f, 0xae, 0x23), EXC_UD);
	guest_write(e.m, DATA, want, size);
	fill_state(c, 40);
	tcg_xsave_image_get(c, now, size, ALL);
	uint64_t x = get64(want + 512) | 1ULL << 8;
	guest_write(e.m, DATA + 512, &x, 8);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x2b), EXC_GP);
	c->xcr0 = 3;                                    /* XSTATE_BV beyond XCR0 */
	guest_write(e.m, DATA + 512, want + 512, 8);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x2b), EXC_GP);
	c->xcr0 = ALL;
	x = 1;
	guest_write(e.m, DATA + 512 + 16, &x, 8);       /* header byte 16 */
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x2b), EXC_GP);
	guest_write(e.m, DATA, want, size);
	uint32_t mx = 0x10000;
	guest_write(e.m, DATA + 24, &mx, 4);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x2b), EXC_GP);
	uint8_t after[XSAVE_AREA_SIZE];
	tcg_xsave_image_get(c, after, size, ALL);
	CHECK(!memcmp(after, now, size));               /* nothing changed */
	tcg_env_free(&e);
}

/* XSAVEC: the compacted layout and header; XRSTOR of it; the checks of
 * the compacted form */
TEST(tcg_xsave_xsavec)
{
	struct tcg_env e;
	CHECK(env_init(&e, ALL));
	struct tcg_cpu *c = e.c;
	uint8_t area[XSAVE_AREA_SIZE];
	c->xcr0 = ALL;
	fill_state(c, 9);
	memset(c->xs.zmm_h, 0, sizeof(c->xs.zmm_h));    /* not in use */
	c->s.regs[R_RBX] = DATA;
	c->s.regs[R_RAX] = XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512;
	c->s.regs[R_RDX] = 0;
	write_area(&e, DATA, 0xcc);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x23), -1);       /* xsavec [rbx] */
	guest_read(e.m, DATA, area, sizeof(area));
	CHECK_EQ(get64(area + 512), ALL & ~XCR0_ZMM_HI256);
	CHECK_EQ(get64(area + 520), ALL | 1ULL << 63);
	CHECK_EQ(area[528], 0xcc);                      /* rest of the header kept */
	/* AVX at 576, opmask after it, ZMM_Hi256's room skipped */
	CHECK(!memcmp(area + 576, c->xs.ymm_h, 256));
	uint32_t kofs = 576 + 256;
	if (tcg_xsave_layout(XC_OPMASK)->align64)
		kofs = (kofs + 63) & ~63u;
	CHECK(!memcmp(area + kofs, c->xs.k, 64));
	CHECK_EQ(area[kofs + 64], 0xcc);
	uint32_t hofs = kofs + 64 + 512;
	CHECK(!memcmp(area + hofs, c->xs.hi16_zmm, 1024));
	uint8_t want[XSAVE_AREA_SIZE], now[XSAVE_AREA_SIZE];
	uint32_t size = tcg_xsave_size(ALL);
	tcg_xsave_image_get(c, want, size, ALL);

	/* XSAVEC left header bytes 16-63 as they were (as the host does):
	 * not zero, the compacted XRSTOR refuses them */
	fill_state(c, 1);
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0xae, 0x2b), EXC_GP);
	uint8_t zero[48] = { 0 };
	guest_write(e.m, DATA + 528, zero, sizeof(zero));
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x2b), -1);       /* xrstor [rbx] */
	tcg_xsave_image_get(c, now, size, ALL);
	CHECK(!memcmp(now, want, size));

	/* compacted XRSTOR with SSE not in XSTATE_BV: MXCSR = 1F80H */
	uint64_t bv = get64(area + 512) & ~XCR0_SSE;
	guest_write(e.m, DATA + 512, &bv, 8);
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0xae, 0x2b), -1);
	CHECK_EQ(c->fpu.mxcsr, 0x1f80);
	CHECK_EQ(c->fpu.xmm[5].q[1], 0);
	/* XSTATE_BV beyond XCOMP_BV; XCOMP_BV beyond XCR0 */
	uint64_t comp = (XCR0_X87 | XCR0_SSE) | 1ULL << 63;
	guest_write(e.m, DATA + 520, &comp, 8);
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0xae, 0x2b), EXC_GP);
	comp = ALL | 1ULL << 63;
	guest_write(e.m, DATA + 520, &comp, 8);
	c->xcr0 = 7;
	CHECK_EQ(STEP(&e, 0x48, 0x0f, 0xae, 0x2b), EXC_GP);
	tcg_env_free(&e);
}

/* XSAVES/XRSTORS (SDM Vol. 2 "XSAVES", "XRSTORS") with IA32_XSS 0:
 * XSAVEC's image, a compacted XRSTOR; CPL 0 only, XRSTORS refuses the
 * standard format; IA32_XSS reads 0 and takes only 0. */
TEST(tcg_xsave_xsaves_xrstors)
{
	struct tcg_env e;
	CHECK(env_init(&e, ALL));
	struct tcg_cpu *c = e.c;
	uint8_t a[XSAVE_AREA_SIZE], b[XSAVE_AREA_SIZE];
	uint8_t want[XSAVE_AREA_SIZE], now[XSAVE_AREA_SIZE];
	uint32_t size = tcg_xsave_size(ALL);
	c->xcr0 = ALL;
	fill_state(c, 5);
	tcg_xsave_image_get(c, want, size, ALL);
	c->s.regs[R_RBX] = DATA;
	c->s.regs[R_RAX] = ALL;
	c->s.regs[R_RDX] = 0;
	write_area(&e, DATA, 0);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x23), -1);       /* xsavec [rbx] */
	guest_read(e.m, DATA, a, sizeof(a));
	write_area(&e, DATA, 0);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x2b), -1);       /* xsaves [rbx] */
	guest_read(e.m, DATA, b, sizeof(b));
	CHECK(!memcmp(a, b, sizeof(a)));
	CHECK(get64(b + 520) >> 63);                    /* compacted */
	fill_state(c, 2);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x1b), -1);       /* xrstors [rbx] */
	tcg_xsave_image_get(c, now, size, ALL);
	CHECK(!memcmp(now, want, size));
	/* the standard format (XSAVE leaves XCOMP_BV as it was: cleared
	 * here): XRSTORS #GP, XRSTOR takes it */
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x23), -1);       /* xsave [rbx] */
	uint64_t zero = 0;
	guest_write(e.m, DATA + 520, &zero, 8);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x1b), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x2b), -1);
	/* IA32_XSS */
	uint64_t v = 1;
	CHECK_EQ(tcg_rdmsr(c, MSR_XSS, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(tcg_wrmsr(c, MSR_XSS, 0), 0);
	CHECK(tcg_wrmsr(c, MSR_XSS, 1ULL << 8) < 0);    /* PT: not offered */
	/* the #UD cases before CPL's #GP */
	c->s.cr4 &= ~CR4_OSXSAVE;
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x2b), EXC_UD);
	c->s.cr4 |= CR4_OSXSAVE;
	CHECK_EQ(STEP(&e, 0xf0, 0x0f, 0xc7, 0x2b), EXC_UD);   /* LOCK */
	tcg_env_flat_segs(c, 3, true);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x2b), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x1b), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0xc7, 0x23), -1);       /* XSAVEC at CPL 3 */
	tcg_env_free(&e);
}

/* Outside 64-bit mode only XMM0-7 and YMM0_H-7_H move, no ZMM16-31 */
TEST(tcg_xsave_legacy_mode_registers)
{
	struct tcg_env e;
	CHECK(env_init(&e, ALL));
	struct tcg_cpu *c = e.c;
	c->xcr0 = ALL;
	fill_state(c, 4);
	tcg_env_flat_segs(c, 0, false);                 /* compatibility mode */
	c->s.regs[R_RBX] = DATA;
	c->s.regs[R_RAX] = ~0u;
	c->s.regs[R_RDX] = ~0u;
	write_area(&e, DATA, 0xcc);
	uint8_t zero[64] = { 0 };
	guest_write(e.m, DATA + 512, zero, sizeof(zero));
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x23), -1);
	uint8_t area[XSAVE_AREA_SIZE];
	guest_read(e.m, DATA, area, sizeof(area));
	CHECK_EQ(area[160 + 8 * 16], 0xcc);             /* XMM8 not written */
	CHECK_EQ(area[160 + 7 * 16], c->fpu.xmm[7].b[0]);
	uint32_t avx = tcg_xsave_layout(XC_AVX)->offset;
	CHECK_EQ(area[avx + 8 * 16], 0xcc);
	CHECK_EQ(area[tcg_xsave_layout(XC_HI16_ZMM)->offset], 0xcc);
	uint8_t x8 = c->fpu.xmm[8].b[0], z16 = c->xs.hi16_zmm[0][0];
	memset(area + 160, 0, 128);
	guest_write(e.m, DATA, area, sizeof(area));
	CHECK_EQ(STEP(&e, 0x0f, 0xae, 0x2b), -1);       /* xrstor: XMM8 kept */
	CHECK_EQ(c->fpu.xmm[0].b[0], 0);
	CHECK_EQ(c->fpu.xmm[8].b[0], x8);
	CHECK_EQ(c->xs.hi16_zmm[0][0], z16);
	tcg_env_free(&e);
}

/* The whole-vCPU state (save.c) carries the extended components and XCR0
 * to a vCPU offered them; a vCPU offered less refuses them; a state as
 * qvm saved it before XSAVE (XSTATE_BV = x87 | SSE, XCR0 = 1) loads. */
TEST(tcg_xsave_state_moves)
{
	struct tcg_env a, b, small;
	CHECK(env_init(&a, ALL) && env_init(&b, ALL) && env_init(&small, XSAVE_OFFER_TCG));
	a.c->xcr0 = ALL;
	fill_state(a.c, 21);
	static struct x86_cpu_state s, t;
	CHECK_EQ(tcg_vcpu_get_state(a.c, &s), 0);
	CHECK_EQ(s.xcr0, ALL);
	uint64_t bv;
	memcpy(&bv, s.xsave + XSAVE_HDR_OFFSET, 8);
	CHECK_EQ(bv, ALL);
	CHECK_EQ(tcg_vcpu_set_state(b.c, &s), 0);
	CHECK_EQ(b.c->xcr0, ALL);
	CHECK(same_regs(a.c, b.c, ALL));
	CHECK_EQ(tcg_vcpu_set_state(small.c, &s), -1);  /* XCR0 beyond its offer */
	t = s;
	t.xcr0 = 3;
	CHECK_EQ(tcg_vcpu_set_state(small.c, &t), -1);  /* XSTATE_BV beyond it */

	/* the old form: FXSAVE region, XSTATE_BV 3, XCR0 1 */
	memset(&t, 0, sizeof(t));
	CHECK_EQ(tcg_vcpu_get_state(small.c, &t), 0);
	memset(t.xsave + XSAVE_HDR_OFFSET, 0, XSAVE_AREA_SIZE - XSAVE_HDR_OFFSET);
	t.xsave[XSAVE_HDR_OFFSET] = 3;
	t.xsave[160] = 0x5a;                            /* XMM0 */
	t.xcr0 = 1;
	CHECK_EQ(tcg_vcpu_set_state(small.c, &t), 0);
	CHECK_EQ(small.c->fpu.xmm[0].b[0], 0x5a);
	CHECK_EQ(small.c->xcr0, 1);
	tcg_env_free(&a);
	tcg_env_free(&b);
	tcg_env_free(&small);
}
