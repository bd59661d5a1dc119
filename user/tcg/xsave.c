/*
 * The XSAVE feature set (SDM Vol. 1, chapter 13; Vol. 2 "XGETBV",
 * "XSETBV", "XSAVE", "XSAVEOPT", "XSAVEC", "XRSTOR"): XCR0, CPUID leaf
 * 0xD, the instructions, and standard-format images of the vCPU.
 *
 * Layout: the offsets of the standard format are fixed for a processor
 * but differ between vendors (AMD packs the AVX-512 components right
 * after AVX, Intel leaves MPX's hole), so they are taken from the host's
 * CPUID leaf 0xD: natively run guest user code (kqemu) and the guest
 * kernel run here then agree on them.
 *
 * XINUSE (13.6) is not tracked: a component is "in use" when its
 * registers differ from the initial configuration, which the SDM allows
 * (a processor may report a component in use that is in its initial
 * configuration, never the reverse).  XSAVEOPT uses the init
 * optimisation only (13.9), not the modified one.  XSAVES/XRSTORS are
 * offered with IA32_XSS fixed at 0 (no supervisor component exists
 * here): they are XSAVEC and a compacted XRSTOR at CPL 0 (13.11, 13.12).
 */
#include <cpuid.h>
#include <pthread.h>
#include "tcg/tcg.h"
#include "tcg/sse.h"
#include "tcg/xsave.h"

#define LEGACY_SIZE 512
#define HDR_SIZE 64
#define EXT_START (LEGACY_SIZE + HDR_SIZE)     /* 576 */
#define XCOMP_COMPACT (1ULL << 63)
#define MXCSR_OFF 24
#define XMM_OFF 160
#define MXCSR_INIT 0x1f80u
#define FCW_INIT 0x37fu

/* CPUID.(EAX=0DH,ECX=1):EAX: XSAVEOPT, XSAVEC, XGETBV with ECX=1, XSAVES */
#define D1_EAX (1u << 0 | 1u << 1 | 1u << 2 | 1u << 3)
#define L1_ECX_XSAVE (1u << 26)
#define L1_ECX_OSXSAVE (1u << 27)
#define L1_ECX_AVX (1u << 28)
#define L7_EBX_AVX512F (1u << 16)
#define L7_ECX_PKU (1u << 3)
#define L7_ECX_OSPKE (1u << 4)

/* ------------------------------------------------------------------ */
/* Layout                                                              */

/* Intel's standard-format layout, for components the host lacks */
static struct xsave_layout layout[XC_NR] = {
	[XC_X87] = { 160, 0, false },
	[XC_SSE] = { 256, XMM_OFF, false },
	[XC_AVX] = { 256, 576, false },
	[XC_OPMASK] = { 64, 1088, false },
	[XC_ZMM_HI256] = { 512, 1152, false },
	[XC_HI16_ZMM] = { 1024, 1664, false },
	[XC_PKRU] = { 8, 2688, false },
};
static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

static void layout_from_host(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_max(0, NULL) || __get_cpuid_max(0, NULL) < 0xd)
		return;
	for (unsigned i = XC_AVX; i < XC_NR; i++) {
		if (!(XSAVE_SUPPORTED & (1ULL << i)))
			continue;
		__cpuid_count(0xd, i, a, b, c, d);
		(void)d;
		/* a size other than the architectural one is not this component */
		if (a != layout[i].size || b < EXT_START || b + a > XSAVE_AREA_SIZE)
			continue;
		layout[i].offset = b;
		layout[i].align64 = c & 2;
	}
}

const struct xsave_layout *tcg_xsave_layout(unsigned i)
{
	pthread_once(&layout_once, layout_from_host);
	return &layout[i];
}

static bool has(uint64_t mask, unsigned i)
{
	return mask & (1ULL << i);
}

uint32_t tcg_xsave_size(uint64_t mask)
{
	uint32_t end = EXT_START;
	for (unsigned i = XC_AVX; i < XC_NR; i++) {
		const struct xsave_layout *l = tcg_xsave_layout(i);
		if (has(mask, i) && l->offset + l->size > end)
			end = l->offset + l->size;
	}
	return end;
}

/* Offset of component i (>= 2) in the compacted format for xcomp_bv
 * (13.4.3): right after the previous component of xcomp_bv, rounded up
 * to 64 bytes where CPUID says so.  Also the end of the area for i =
 * XC_NR. */
static uint32_t compact_offset(uint64_t xcomp_bv, unsigned i)
{
	uint32_t off = EXT_START;
	for (unsigned j = XC_AVX; j <= i && j < XC_NR; j++) {
		if (!has(xcomp_bv, j))
			continue;
		const struct xsave_layout *l = tcg_xsave_layout(j);
		if (l->align64)
			off = (off + 63) & ~63u;
		if (j == i)
			return off;
		off += l->size;
	}
	return off;
}

/* ------------------------------------------------------------------ */
/* Offer, XCR0, reset                                                  */

static const char *offer_problem(uint64_t m)
{
	if (!m)
		return NULL;
	if ((m & (XCR0_X87 | XCR0_SSE)) != (XCR0_X87 | XCR0_SSE))
		return "x87 and SSE state must be offered";
	if (m & ~XSAVE_SUPPORTED)
		return "a component TCG has no state for (only x87, SSE, AVX, AVX-512, PKRU)";
	if ((m & XCR0_AVX512) && (m & XCR0_AVX512) != XCR0_AVX512)
		return "AVX-512 components offered in part";
	if ((m & XCR0_AVX512) && !(m & XCR0_AVX))
		return "AVX-512 without AVX";
	return NULL;
}

int tcg_xsave_offer(struct tcg_cpu *c, uint64_t xcr0_mask)
{
	const char *why = offer_problem(xcr0_mask);
	if (why) {
		qvm_error("tcg: cannot offer XSAVE components 0x%llx: %s",
			  (unsigned long long)xcr0_mask, why);
		return -1;
	}
	c->xs.offer = xcr0_mask;
	c->xcr0 = (c->xcr0 & xcr0_mask) | XCR0_X87;
	c->sys_features_known = false;  /* PKU follows PKRU (tcg_sys_features) */
	if (!(xcr0_mask & XCR0_PKRU))
		c->s.cr4 &= ~CR4_PKE;
	if (!xcr0_mask)
		c->s.cr4 &= ~CR4_OSXSAVE;
	return 0;
}

void tcg_xsave_reset(struct tcg_cpu *c)
{
	uint64_t offer = c->xs.offer;
	memset(&c->xs, 0, sizeof(c->xs));
	c->xs.offer = offer;
	c->xcr0 = XCR0_X87;
}

/* SDM Vol. 1, 13.3 and Vol. 2 "XSETBV" */
bool tcg_xcr0_valid(const struct tcg_cpu *c, uint64_t v)
{
	if (!(v & XCR0_X87) || (v & ~c->xs.offer))
		return false;
	if ((v & XCR0_AVX) && !(v & XCR0_SSE))
		return false;
	if (v & XCR0_AVX512)
		return (v & XCR0_AVX512) == XCR0_AVX512 && (v & XCR0_AVX);
	return true;
}

uint64_t tcg_xsave_cr4_bits(const struct tcg_cpu *c)
{
	return c->xs.offer ? CR4_OSXSAVE : 0;
}

/* ------------------------------------------------------------------ */
/* Components <-> memory format                                        */

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w, any = 0;
	size_t k = 0;
	for (; k + 8 <= n; k += 8) {
		memcpy(&w, b + k, 8);
		any |= w;
	}
	for (; k < n; k++)
		any |= b[k];
	return !any;
}

/* 13.6: x87 with FCW 037FH, everything else 0 and every tag empty; SSE
 * with XMM0-15 zero; the others all zero.  MXCSR is not part of it for
 * XSAVE and XSAVEOPT, which store it whenever RFBM has SSE or AVX: the
 * host CPU leaves XSTATE_BV[1] clear for zero XMM registers whatever
 * MXCSR holds (tests/unit/test_tcg_xsave_host.c). */
static bool x87_init(const struct tcg_fpu *f)
{
	if (f->fcw != FCW_INIT || f->fsw || f->top || f->ftw != 0xffff || f->fop ||
	    f->fip || f->fdp || f->fcs || f->fds)
		return false;
	for (unsigned r = 0; r < 8; r++)
		if (!all_zero(&f->st[r], 10))   /* the 80-bit value */
			return false;
	return true;
}

static uint64_t xinuse_regs(struct tcg_cpu *c, uint64_t mask)
{
	uint64_t r = 0;
	if ((mask & XCR0_X87) && !x87_init(&c->fpu))
		r |= XCR0_X87;
	if ((mask & XCR0_SSE) && !all_zero(c->fpu.xmm, sizeof(c->fpu.xmm)))
		r |= XCR0_SSE;
	if ((mask & XCR0_AVX) && !all_zero(c->xs.ymm_h, sizeof(c->xs.ymm_h)))
		r |= XCR0_AVX;
	if ((mask & XCR0_OPMASK) && !all_zero(c->xs.k, sizeof(c->xs.k)))
		r |= XCR0_OPMASK;
	if ((mask & XCR0_ZMM_HI256) && !all_zero(c->xs.zmm_h, sizeof(c->xs.zmm_h)))
		r |= XCR0_ZMM_HI256;
	if ((mask & XCR0_HI16_ZMM) && !all_zero(c->xs.hi16_zmm, sizeof(c->xs.hi16_zmm)))
		r |= XCR0_HI16_ZMM;
	if ((mask & XCR0_PKRU) && c->xs.pkru)
		r |= XCR0_PKRU;
	return r;
}

/* XGETBV(1) and XSAVEC count SSE in use also when MXCSR is not 1F80H
 * (the compacted XRSTOR sets MXCSR to 1F80H with SSE's initial state,
 * so XSAVEC must store it), as the host CPU does. */
uint64_t tcg_xinuse(struct tcg_cpu *c, uint64_t mask)
{
	uint64_t r = xinuse_regs(c, mask);
	if (c->fpu.mxcsr != MXCSR_INIT)
		r |= XCR0_SSE & mask;
	return r;
}

static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* How an access sees the registers: outside 64-bit mode only XMM0-7 and
 * their extensions, and no ZMM16-31 (13.13); FIP/FDP in the 64-bit form
 * with REX.W (XSAVE64), else 32-bit with selectors (13.5.1). */
struct xs_mode {
	unsigned nregs;         /* 16 or 8 */
	bool hi16;              /* ZMM16-31 saved and loaded */
	bool rexw;
};

static const struct xs_mode whole_vcpu = { 16, true, false };

/* The memory form of component i, at dst (legacy ones at their image
 * offsets: dst is the image). */
static void x87_put(struct tcg_cpu *c, uint8_t *img, const struct xs_mode *m)
{
	uint8_t fx[LEGACY_SIZE];
	tcg_fpu_to_fxsave(&c->fpu, fx);
	if (m->rexw) {
		put64(fx + 8, c->fpu.fip);
		put64(fx + 16, c->fpu.fdp);
	}
	memcpy(img, fx, MXCSR_OFF);
	memcpy(img + 32, fx + 32, 128);
}

static void ext_put(struct tcg_cpu *c, unsigned i, uint8_t *dst, const struct xs_mode *m)
{
	switch (i) {
	case XC_AVX:
		memcpy(dst, c->xs.ymm_h, m->nregs * 16);
		break;
	case XC_OPMASK:
		memcpy(dst, c->xs.k, sizeof(c->xs.k));
		break;
	case XC_ZMM_HI256:
		memcpy(dst, c->xs.zmm_h, m->nregs * 32);
		break;
	case XC_HI16_ZMM:
		if (m->hi16)
			memcpy(dst, c->xs.hi16_zmm, sizeof(c->xs.hi16_zmm));
		break;
	case XC_PKRU:           /* PKRU, then 4 reserved bytes (13.5.7) */
		put64(dst, c->xs.pkru);
		break;
	}
}

/* Bytes of component i that an access in mode m touches */
static uint32_t ext_bytes(unsigned i, const struct xs_mode *m)
{
	switch (i) {
	case XC_AVX: return m->nregs * 16;
	case XC_OPMASK: return sizeof(((struct tcg_xstate *)0)->k);
	case XC_ZMM_HI256: return m->nregs * 32;
	case XC_HI16_ZMM: return m->hi16 ? 1024 : 0;
	case XC_PKRU: return 8;
	}
	return 0;
}

static void ext_get(struct tcg_cpu *c, unsigned i, const uint8_t *src, const struct xs_mode *m)
{
	switch (i) {
	case XC_AVX:
		memcpy(c->xs.ymm_h, src, m->nregs * 16);
		break;
	case XC_OPMASK:
		memcpy(c->xs.k, src, sizeof(c->xs.k));
		break;
	case XC_ZMM_HI256:
		memcpy(c->xs.zmm_h, src, m->nregs * 32);
		break;
	case XC_HI16_ZMM:
		if (m->hi16)
			memcpy(c->xs.hi16_zmm, src, sizeof(c->xs.hi16_zmm));
		break;
	case XC_PKRU:
		tcg_set_pkru(c, (uint32_t)get64(src));
		break;
	}
}

static void ext_init(struct tcg_cpu *c, unsigned i, const struct xs_mode *m)
{
	static const uint8_t zero[1024];
	ext_get(c, i, zero, m);
}

/* x87 from the image (the legacy region) or, without img, its initial
 * configuration; MXCSR and the XMM registers are kept. */
static void x87_get(struct tcg_cpu *c, const uint8_t *img, const struct xs_mode *m)
{
	static const uint8_t init_fx[LEGACY_SIZE] = { FCW_INIT & 0xff, FCW_INIT >> 8 };
	uint32_t mxcsr = c->fpu.mxcsr;
	uint8_t xmm[sizeof(c->fpu.xmm)];
	memcpy(xmm, c->fpu.xmm, sizeof(xmm));
	tcg_fpu_from_fxsave(&c->fpu, img ? img : init_fx);
	c->fpu.mxcsr = mxcsr;
	memcpy(c->fpu.xmm, xmm, sizeof(xmm));
	if (img && m->rexw) {
		c->fpu.fip = get64(img + 8);
		c->fpu.fdp = get64(img + 16);
		c->fpu.fcs = c->fpu.fds = 0;
	}
}

static void xmm_load(struct tcg_cpu *c, const uint8_t *img, const struct xs_mode *m)
{
	if (img)
		memcpy(c->fpu.xmm, img + XMM_OFF, m->nregs * 16);
	else
		memset(c->fpu.xmm, 0, m->nregs * 16);
}

/* ------------------------------------------------------------------ */
/* Restoring (XRSTOR and tcg_xsave_image_set)                          */

/* What an XRSTOR does once its checks passed (13.8): img holds the area
 * from its start; compact selects the compacted form. */
struct xrstor_req {
	uint64_t rfbm, xstate_bv, xcomp_bv;
	bool compact;
	bool load_mxcsr;        /* whether MXCSR is loaded from img */
	bool init_mxcsr;        /* compacted form with SSE initialised */
};

static uint32_t ext_offset(const struct xrstor_req *r, unsigned i)
{
	return r->compact ? compact_offset(r->xcomp_bv, i) : tcg_xsave_layout(i)->offset;
}

static void xrstor_apply(struct tcg_cpu *c, const uint8_t *img, const struct xrstor_req *r,
			 const struct xs_mode *m)
{
	uint64_t load = r->rfbm & r->xstate_bv;
	if (has(r->rfbm, XC_X87))
		x87_get(c, has(load, XC_X87) ? img : NULL, m);
	if (r->load_mxcsr) {
		uint32_t mx;
		memcpy(&mx, img + MXCSR_OFF, 4);
		c->fpu.mxcsr = mx;
	} else if (r->init_mxcsr) {
		c->fpu.mxcsr = MXCSR_INIT;
	}
	if (has(r->rfbm, XC_SSE))
		xmm_load(c, has(load, XC_SSE) ? img : NULL, m);
	for (unsigned i = XC_AVX; i < XC_NR; i++) {
		if (!has(r->rfbm, i))
			continue;
		if (has(load, i))
			ext_get(c, i, img + ext_offset(r, i), m);
		else
			ext_init(c, i, m);
	}
}

/* The header checks of 13.8.1 / 13.8.2 and the MXCSR rule; false: #GP.
 * avail: the components the area may hold (XCR0, or the offered set). */
static bool xrstor_prepare(const uint8_t hdr[HDR_SIZE], const uint8_t *mxcsr_p, uint64_t rfbm,
			   uint64_t avail, struct xrstor_req *r)
{
	memset(r, 0, sizeof(*r));
	r->rfbm = rfbm;
	r->xstate_bv = get64(hdr);
	r->xcomp_bv = get64(hdr + 8);
	r->compact = r->xcomp_bv & XCOMP_COMPACT;
	if (r->compact) {
		uint64_t comp = r->xcomp_bv & ~XCOMP_COMPACT;
		if ((comp & ~avail) || (r->xstate_bv & ~comp) || !all_zero(hdr + 16, 48))
			return false;
		r->load_mxcsr = has(rfbm, XC_SSE) && has(r->xstate_bv, XC_SSE);
		r->init_mxcsr = has(rfbm, XC_SSE) && !r->load_mxcsr;
	} else {
		if ((r->xstate_bv & ~avail) || !all_zero(hdr + 8, 16))
			return false;
		r->load_mxcsr = rfbm & (XCR0_SSE | XCR0_AVX);
	}
	if (r->load_mxcsr) {
		uint32_t mx;
		memcpy(&mx, mxcsr_p, 4);
		if (mx & ~MXCSR_VALID)
			return false;
	}
	return true;
}

/* End of the bytes an XRSTOR reads: the legacy region and header, and
 * every component it loads. */
static uint32_t xrstor_end(const struct xrstor_req *r, const struct xs_mode *m)
{
	uint32_t end = EXT_START;
	uint64_t load = r->rfbm & r->xstate_bv;
	for (unsigned i = XC_AVX; i < XC_NR; i++) {
		uint32_t e = ext_offset(r, i) + ext_bytes(i, m);
		if (has(load, i) && e > end)
			end = e;
	}
	return end;
}

int tcg_xsave_image_set(struct tcg_cpu *c, const uint8_t *img, uint32_t size, uint64_t rfbm)
{
	struct xrstor_req r;
	rfbm &= c->xs.offer ? c->xs.offer : (XCR0_X87 | XCR0_SSE);
	if (size < EXT_START ||
	    !xrstor_prepare(img + LEGACY_SIZE, img + MXCSR_OFF, rfbm,
			    c->xs.offer | XCR0_X87 | XCR0_SSE, &r) ||
	    r.compact || xrstor_end(&r, &whole_vcpu) > size)
		return -1;
	xrstor_apply(c, img, &r, &whole_vcpu);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Saving (XSAVE* and tcg_xsave_image_get)                             */

/* Fill img (the area from its start) with the components of mask as an
 * XSAVE in mode m writes them; compact: at the compacted offsets of
 * xcomp_bv.  MXCSR goes with mxcsr. */
static void save_components(struct tcg_cpu *c, uint8_t *img, uint64_t mask, bool mxcsr,
			    bool compact, uint64_t xcomp_bv, const struct xs_mode *m)
{
	if (has(mask, XC_X87))
		x87_put(c, img, m);
	if (mxcsr) {
		memcpy(img + MXCSR_OFF, &c->fpu.mxcsr, 4);
		uint32_t mask_v = MXCSR_VALID;
		memcpy(img + MXCSR_OFF + 4, &mask_v, 4);
	}
	if (has(mask, XC_SSE))
		memcpy(img + XMM_OFF, c->fpu.xmm, m->nregs * 16);
	for (unsigned i = XC_AVX; i < XC_NR; i++) {
		if (has(mask, i))
			ext_put(c, i, img + (compact ? compact_offset(xcomp_bv, i) :
						      tcg_xsave_layout(i)->offset), m);
	}
}

void tcg_xsave_image_get(struct tcg_cpu *c, uint8_t *img, uint32_t size, uint64_t rfbm)
{
	rfbm &= c->xs.offer ? c->xs.offer : (XCR0_X87 | XCR0_SSE);
	for (unsigned i = XC_AVX; i < XC_NR; i++) {
		const struct xsave_layout *l = tcg_xsave_layout(i);
		if (has(rfbm, i) && l->offset + l->size > size)
			rfbm &= ~(1ULL << i);
	}
	memset(img, 0, size);
	save_components(c, img, rfbm, rfbm & (XCR0_SSE | XCR0_AVX), false, 0, &whole_vcpu);
	put64(img + LEGACY_SIZE, xinuse_regs(c, rfbm));
}

/* ------------------------------------------------------------------ */
/* The instructions                                                    */

static uint64_t edx_eax(const struct tcg_cpu *c)
{
	return (c->s.regs[R_RDX] << 32) | (uint32_t)c->s.regs[R_RAX];
}

static void check_osxsave(struct tcg_cpu *c, const struct insn *i)
{
	if (!(c->s.cr4 & CR4_OSXSAVE) || i->lock || i->pfx != PFX_NONE)
		tcg_raise(c, EXC_UD, NO_ERRCODE);
}

/* XGETBV (0F 01 D0): ECX 0 reads XCR0, ECX 1 XCR0 & XINUSE (XGETBV1) */
void tcg_xgetbv(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t v;
	/* kqemu: user code reads the host's XCR0 natively; so here too */
	tcg_kqemu_native(c);
	check_osxsave(c, i);
	switch ((uint32_t)c->s.regs[R_RCX]) {
	case 0:
		v = c->xcr0;
		break;
	case 1:
		v = tcg_xinuse(c, c->xcr0);
		break;
	default:
		tcg_raise(c, EXC_GP, 0);
	}
	c->s.regs[R_RAX] = (uint32_t)v;
	c->s.regs[R_RDX] = v >> 32;
}

/* XSETBV (0F 01 D1): CPL 0, ECX 0, a value 13.3 allows; #GP(0) else */
void tcg_xsetbv(struct tcg_cpu *c, const struct insn *i)
{
	check_osxsave(c, i);
	if (tcg_cpl(c) != 0 || (uint32_t)c->s.regs[R_RCX] != 0 ||
	    !tcg_xcr0_valid(c, edx_eax(c)))
		tcg_raise(c, EXC_GP, 0);
	c->xcr0 = edx_eax(c);
	c->stop = true;
}

/* The checks every XSAVE/XRSTOR form makes first (Vol. 2, "XSAVE"
 * protected-mode exceptions): #UD without CR4.OSXSAVE or with LOCK, #NM
 * with CR0.TS, #GP(0) unless the area is 64-byte aligned.  Returns the
 * offset of the area. */
static uint64_t area_checks(struct tcg_cpu *c, const struct insn *i)
{
	check_osxsave(c, i);
	if (c->s.cr0 & CR0_TS)
		tcg_raise(c, EXC_NM, NO_ERRCODE);
	uint64_t off = tcg_ea(c, i);
	if (tcg_seg_linear(c, i->seg, off, 1, ACC_READ) & 63)
		tcg_raise(c, EXC_GP, 0);
	return off;
}

static void mode_of(const struct tcg_cpu *c, const struct insn *i, struct xs_mode *m)
{
	bool code64 = tcg_code64(c);
	m->nregs = code64 ? 16 : 8;
	m->hi16 = code64;
	m->rexw = code64 && (i->rex & 8);
}

/* The parts of img an XSAVE writes, in ascending order, stored as few
 * runs of bytes as they make (the area is already probed). */
struct store_runs {
	struct tcg_cpu *c;
	const struct insn *i;
	uint64_t off;
	const uint8_t *img;
	uint32_t start, end;    /* the run not stored yet */
};

static void run_flush(struct store_runs *s)
{
	if (s->end > s->start)
		tcg_st_bytes(s->c, s->i->seg, s->off + s->start, s->img + s->start,
			     s->end - s->start);
	s->start = s->end = 0;
}

static void run_add(struct store_runs *s, uint32_t start, uint32_t len)
{
	if (!len)
		return;
	if (s->end != start || s->end == s->start)
		run_flush(s);
	if (s->end == s->start)
		s->start = start;
	s->end = start + len;
}

/* Write back the parts save_components filled for mask, and hdr_len
 * bytes of the header */
static void store_components(struct tcg_cpu *c, const struct insn *i, uint64_t off,
			     const uint8_t *img, uint64_t mask, bool mxcsr, bool compact,
			     uint64_t xcomp_bv, uint32_t hdr_len, const struct xs_mode *m)
{
	struct store_runs s = { c, i, off, img, 0, 0 };
	if (has(mask, XC_X87))
		run_add(&s, 0, MXCSR_OFF);
	if (mxcsr)
		run_add(&s, MXCSR_OFF, 8);
	if (has(mask, XC_X87))
		run_add(&s, 32, 128);
	if (has(mask, XC_SSE))
		run_add(&s, XMM_OFF, m->nregs * 16);
	run_add(&s, LEGACY_SIZE, hdr_len);
	for (unsigned k = XC_AVX; k < XC_NR; k++) {
		if (has(mask, k))
			run_add(&s, compact ? compact_offset(xcomp_bv, k) : tcg_xsave_layout(k)->offset,
				ext_bytes(k, m));
	}
	run_flush(&s);
}

/* XSAVE and XSAVEOPT (13.7, 13.9): the standard format; XSTATE_BV[i] =
 * XINUSE[i] for the requested components, the rest of the header kept.
 * XSAVEOPT does not write the components in their initial state. */
static void xsave_std(struct tcg_cpu *c, const struct insn *i, bool opt)
{
	uint8_t img[XSAVE_AREA_SIZE];
	uint64_t off = area_checks(c, i);
	uint64_t rfbm = edx_eax(c) & c->xcr0;
	uint64_t inuse = xinuse_regs(c, rfbm);
	uint64_t write = opt ? inuse : rfbm;
	bool mxcsr = rfbm & (XCR0_SSE | XCR0_AVX);
	struct xs_mode m;

	mode_of(c, i, &m);
	tcg_probe_write(c, i->seg, off, tcg_xsave_size(rfbm));
	uint64_t bv = tcg_ld64(c, i->seg, off + LEGACY_SIZE);
	save_components(c, img, write, mxcsr, false, 0, &m);
	put64(img + LEGACY_SIZE, (bv & ~rfbm) | inuse);
	store_components(c, i, off, img, write, mxcsr, false, 0, 8, &m);
}

/* XSAVEC (13.10): the compacted format for RFBM, only the components in
 * use written; XSTATE_BV = XINUSE & RFBM, XCOMP_BV = RFBM | bit 63. */
static void xsavec(struct tcg_cpu *c, const struct insn *i)
{
	uint8_t img[XSAVE_AREA_SIZE];
	uint64_t off = area_checks(c, i);
	uint64_t rfbm = edx_eax(c) & c->xcr0;
	uint64_t inuse = tcg_xinuse(c, rfbm);
	uint64_t xcomp = rfbm | XCOMP_COMPACT;
	struct xs_mode m;

	mode_of(c, i, &m);
	tcg_probe_write(c, i->seg, off, compact_offset(rfbm, XC_NR));
	bool mxcsr = has(inuse, XC_SSE);
	save_components(c, img, inuse, mxcsr, true, xcomp, &m);
	put64(img + LEGACY_SIZE, inuse);
	put64(img + LEGACY_SIZE + 8, xcomp);
	store_components(c, i, off, img, inuse, mxcsr, true, xcomp, 16, &m);
}

/* XRSTOR (13.8): every read and check before any register changes;
 * XRSTORS (13.12) only takes the compacted format. */
static void xrstor(struct tcg_cpu *c, const struct insn *i, bool supervisor)
{
	uint8_t img[XSAVE_AREA_SIZE];
	uint64_t off = area_checks(c, i);
	uint64_t rfbm = edx_eax(c) & c->xcr0;
	struct xrstor_req r;
	struct xs_mode m;

	mode_of(c, i, &m);
	/* the legacy region with the header (read even where no component
	 * of it is loaded), then the extended components loaded */
	tcg_ld_bytes(c, i->seg, off, img, EXT_START);
	if (!xrstor_prepare(img + LEGACY_SIZE, img + MXCSR_OFF, rfbm, c->xcr0, &r) ||
	    (supervisor && !r.compact))
		tcg_raise(c, EXC_GP, 0);
	uint32_t end = xrstor_end(&r, &m);
	if (end > EXT_START)
		tcg_ld_bytes(c, i->seg, off + EXT_START, img + EXT_START, end - EXT_START);
	xrstor_apply(c, img, &r, &m);
}

/* XSAVES and XRSTORS (SDM Vol. 2 "XSAVES", "XRSTORS"): #UD unless
 * CPUID offers them, #GP(0) outside CPL 0; IA32_XSS is 0, so XSAVES
 * stores what XSAVEC stores. */
static void supervisor_checks(struct tcg_cpu *c, const struct insn *i)
{
	if (!(tcg_sys_features(c) & SYSF_XSAVES))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	check_osxsave(c, i);            /* the #UD cases come before #GP */
	if (tcg_cpl(c))
		tcg_raise(c, EXC_GP, 0);
}

/* 0F AE /4 /5 /6 and 0F C7 /3 /4 /5, memory forms, no mandatory prefix */
void tcg_xsave_op(struct tcg_cpu *c, const struct insn *i)
{
	if (i->map == MAP_0F && i->op == 0xc7) {
		if ((i->reg & 7) != 4)
			supervisor_checks(c, i);
		if ((i->reg & 7) == 3)
			xrstor(c, i, true);
		else
			xsavec(c, i);
		return;
	}
	switch (i->reg & 7) {
	case 4:
		xsave_std(c, i, false);
		break;
	case 5:
		xrstor(c, i, false);
		break;
	default:
		xsave_std(c, i, true);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* CPUID                                                               */

/* Leaf 0xD (13.2): subleaf 0 the user components and the sizes for XCR0
 * and for all of them, 1 the instruction variants and the compacted
 * size, 2.. each component. */
static void leaf_d(struct tcg_cpu *c, uint32_t sub, uint32_t out[4])
{
	uint64_t offer = c->xs.offer;
	memset(out, 0, 16);
	if (sub == 0) {
		out[0] = (uint32_t)offer;
		out[1] = tcg_xsave_size(c->xcr0);
		out[2] = tcg_xsave_size(offer);
		out[3] = (uint32_t)(offer >> 32);
	} else if (sub == 1) {
		/* EBX: the compacted size for XCR0 | IA32_XSS (0 here); Linux
		 * sizes its buffers with it when it uses XSAVEC */
		out[0] = D1_EAX;
		out[1] = compact_offset(c->xcr0, XC_NR);
	} else if (sub < XC_NR && has(offer, sub) && sub >= XC_AVX) {
		const struct xsave_layout *l = tcg_xsave_layout(sub);
		out[0] = l->size;
		out[1] = l->offset;
		out[2] = l->align64 ? 2 : 0;
	}
}

/*
 * Linux enables a component only when the feature it belongs to is set
 * (AVX for YMM, AVX512F for the AVX-512 ones), so they are offered with
 * the components even though TCG cannot execute those instructions yet
 * (README.md: a known limit until issue 16).
 */
void tcg_xsave_cpuid_leaf(struct tcg_cpu *c, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	uint64_t offer = c->xs.offer;
	if (!offer)
		return;
	switch (leaf) {
	case 1:
		out[2] |= L1_ECX_XSAVE;
		if (c->s.cr4 & CR4_OSXSAVE)
			out[2] |= L1_ECX_OSXSAVE;
		if (offer & XCR0_AVX)
			out[2] |= L1_ECX_AVX;
		break;
	case 7:
		if (sub == 0 && (offer & XCR0_AVX512))
			out[1] |= L7_EBX_AVX512F;
		/* PKU with its state component; OSPKE mirrors CR4.PKE */
		if (sub == 0 && (offer & XCR0_PKRU))
			out[2] |= L7_ECX_PKU | (c->s.cr4 & CR4_PKE ? L7_ECX_OSPKE : 0);
		break;
	case 0xd:
		leaf_d(c, sub, out);
		break;
	}
}
