/*
 * Architectural register bits both engines use: RFLAGS, CR0, CR4, EFER
 * (Intel SDM Vol. 3, 2.3 and 2.5; Vol. 1, 3.4.3), and canonical
 * addresses (SDM Vol. 1, 3.3.7.1).
 */
#ifndef QVM_X86_REGS_H
#define QVM_X86_REGS_H

#include <stdbool.h>
#include <stdint.h>

/* rflags bits */
#define FL_CF 0x0001
#define FL_PF 0x0004
#define FL_AF 0x0010
#define FL_ZF 0x0040
#define FL_SF 0x0080
#define FL_TF 0x0100
#define FL_IF 0x0200
#define FL_DF 0x0400
#define FL_OF 0x0800
#define FL_IOPL 0x3000
#define FL_NT 0x4000
#define FL_RF 0x10000
#define FL_VM 0x20000
#define FL_AC 0x40000
#define FL_VIF 0x80000
#define FL_VIP 0x100000
#define FL_ID 0x200000
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* control register and EFER bits */
#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_EM (1ULL << 2)
#define CR0_TS (1ULL << 3)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_AM (1ULL << 18)
#define CR0_NW (1ULL << 29)
#define CR0_CD (1ULL << 30)
#define CR0_PG (1ULL << 31)
#define CR4_VME (1ULL << 0)
#define CR4_PVI (1ULL << 1)
#define CR4_TSD (1ULL << 2)
#define CR4_DE (1ULL << 3)
#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_MCE (1ULL << 6)
#define CR4_PGE (1ULL << 7)
#define CR4_PCE (1ULL << 8)
#define CR4_OSFXSR (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_UMIP (1ULL << 11)
#define CR4_FSGSBASE (1ULL << 16)
#define CR4_PCIDE (1ULL << 17)
#define CR4_OSXSAVE (1ULL << 18)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define CR4_PKE (1ULL << 22)
#define CR4_PKS (1ULL << 24)
#define EFER_SCE (1ULL << 0)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

/* A 64-bit linear address is canonical when bits 63:47 are all equal.
 * Adding 2^47 maps both canonical halves below 2^48 (no signed shift). */
static inline bool canonical(uint64_t a)
{
	return ((a + (1ULL << 47)) >> 48) == 0;
}

#endif
