/*
 * The XSAVE feature set of the TCG engine (SDM Vol. 1, chapter 13): XCR0,
 * the register state of the components beyond x87 and SSE, the XSAVE
 * instructions, CPUID leaf 0xD, and standard-format XSAVE images of the
 * whole vCPU for the engines that hand them to the host CPU (kqemu) and
 * for the state exchange (save.c).
 *
 * TCG executes the VEX forms of SSE..SSE4.2 (avx-sse.c) on YMM_H; it
 * does not execute AVX-512 instructions yet (issue 16): the AVX-512
 * registers below are only state that XSAVE*, XRSTOR* and the image
 * helpers move.  The layout is the one the instructions want: YMM_H[i]
 * is bits 255:128 of YMMi (bits 127:0 are fpu.xmm[i]), ZMM_H[i] bits
 * 511:256 of ZMMi, ZMM16-31 whole.
 */
#ifndef QVM_TCG_XSAVE_H
#define QVM_TCG_XSAVE_H

#include <stdbool.h>
#include <stdint.h>
#include "cpu.h"

/* State components (SDM Vol. 1, 13.1) */
enum { XC_X87, XC_SSE, XC_AVX, XC_OPMASK = 5, XC_ZMM_HI256, XC_HI16_ZMM, XC_PKRU = 9, XC_NR };
#define XCR0_OPMASK (1ULL << XC_OPMASK)
#define XCR0_ZMM_HI256 (1ULL << XC_ZMM_HI256)
#define XCR0_HI16_ZMM (1ULL << XC_HI16_ZMM)
#define XCR0_AVX512 (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)
#define XCR0_PKRU (1ULL << XC_PKRU)
/* Everything struct tcg_xstate can hold */
#define XSAVE_SUPPORTED (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512 | XCR0_PKRU)
/* The set plain -accel tcg offers (README.md): x87, SSE and AVX, whose
 * VEX instructions TCG executes, and PKRU (protection keys, mmu.c).  A
 * vCPU offered PKRU advertises PKU in CPUID. */
#define XSAVE_OFFER_TCG (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_PKRU)

struct tcg_xstate {
	uint64_t offer;         /* XCR0 bits this vCPU supports; 0: no XSAVE */
	uint8_t ymm_h[16][16];  /* AVX: YMM0_H-YMM15_H */
	uint64_t k[8];          /* AVX-512 opmask k0-k7 */
	uint8_t zmm_h[16][32];  /* ZMM_Hi256: ZMM0_H-ZMM15_H */
	uint8_t hi16_zmm[16][64]; /* Hi16_ZMM: ZMM16-ZMM31 */
	uint32_t pkru;          /* PKRU (SDM Vol. 3, 4.6.2): change it with
				 * tcg_set_pkru, which flushes the TLB */
};

struct tcg_cpu;
struct insn;

/* Offer the components of xcr0_mask to the guest: CPUID (leaf 1 XSAVE,
 * OSXSAVE, AVX; leaf 7 AVX512F; leaf 0xD), CR4.OSXSAVE and XSETBV follow
 * it.  0 takes XSAVE away.  A mask must hold x87 and SSE, only what
 * XSAVE_SUPPORTED has, AVX-512 all or none and with AVX.  XCR0 loses the
 * bits the new mask lacks.  0, or -1 with a message naming the problem. */
int tcg_xsave_offer(struct tcg_cpu *c, uint64_t xcr0_mask);

/* Power-on / INIT: XCR0 = 1, the extended registers zero; keeps offer. */
void tcg_xsave_reset(struct tcg_cpu *c);

/* Whether v is a value XSETBV accepts for XCR0 on this vCPU (13.3). */
bool tcg_xcr0_valid(const struct tcg_cpu *c, uint64_t v);

/* The bits of CR4 that XSAVE adds (OSXSAVE when offered). */
uint64_t tcg_xsave_cr4_bits(const struct tcg_cpu *c);

/* Component i's size and standard-format offset, as the host reports
 * them in CPUID leaf 0xD (architectural defaults when it does not), and
 * whether the compacted format aligns it to 64 bytes. */
struct xsave_layout {
	uint32_t size, offset;
	bool align64;
};
const struct xsave_layout *tcg_xsave_layout(unsigned i);
/* Bytes of a standard-format area holding the components of mask. */
uint32_t tcg_xsave_size(uint64_t mask);

/* The components of mask not in their initial configuration (XINUSE,
 * 13.6), computed from the registers, as XGETBV(1) reports them: SSE
 * also when MXCSR is not 1F80H (XSAVE's XSTATE_BV leaves MXCSR out). */
uint64_t tcg_xinuse(struct tcg_cpu *c, uint64_t mask);

/* CPUID as XSAVE changes it, on top of cpuid.c's answer for leaf/sub:
 * leaf 1 ECX XSAVE, OSXSAVE (CR4.OSXSAVE) and AVX; leaf 7.0 EBX AVX512F;
 * leaf 0xD.  Nothing when XSAVE is not offered. */
void tcg_xsave_cpuid_leaf(struct tcg_cpu *c, uint32_t leaf, uint32_t sub, uint32_t out[4]);

/*
 * Standard-format XSAVE images of the whole vCPU (SDM Vol. 1, 13.4): the
 * legacy region (x87 with FIP/FDP in the 32-bit form with selectors, as
 * FXSAVE without REX.W writes it; MXCSR; XMM0-15), the header and the
 * extended components at tcg_xsave_layout()'s offsets.
 *
 * get: writes the components of rfbm & offer that fit in size bytes and
 * the header (XSTATE_BV: those of them not in their initial state;
 * XCOMP_BV 0); the rest of img up to size is zeroed.  size >= 576.
 *
 * set: loads the components of rfbm as XRSTOR's standard form does
 * (13.8.1): XSTATE_BV[i] = 0 sets component i to its initial
 * configuration, 1 loads it; MXCSR is loaded when rfbm has SSE or AVX.
 * -1 and no change when the image is one XRSTOR would refuse (XSTATE_BV
 * beyond the offered set, XCOMP_BV or header bytes 8-23 not zero, a
 * reserved MXCSR bit) or a component it loads lies beyond size.
 */
void tcg_xsave_image_get(struct tcg_cpu *c, uint8_t *img, uint32_t size, uint64_t rfbm);
int tcg_xsave_image_set(struct tcg_cpu *c, const uint8_t *img, uint32_t size, uint64_t rfbm);

/* The instructions (xsave.c): 0F 01 D0/D1, and the memory forms of 0F AE
 * /4 /5 /6 and 0F C7 /4 that sse.c and alu.c hand over. */
void tcg_xgetbv(struct tcg_cpu *c, const struct insn *i);
void tcg_xsetbv(struct tcg_cpu *c, const struct insn *i);
void tcg_xsave_op(struct tcg_cpu *c, const struct insn *i);

#endif
