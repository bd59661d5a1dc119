/*
 * CPUID feature bits both engines use, named <leaf>_<register>_<flag>:
 * L1 leaf 1, L6 leaf 6, L7 leaf 7 subleaf 0 (L7_2 subleaf 2), X1 leaf
 * 0x80000001, X7 leaf 0x80000007 (Intel SDM Vol. 2A, CPUID, tables 3-8
 * to 3-20; AMD APM Vol. 3, appendix E).
 */
#ifndef QVM_X86_CPUID_H
#define QVM_X86_CPUID_H

#define L1_EDX_FPU (1u << 0)
#define L1_EDX_DE (1u << 2)
#define L1_EDX_PSE (1u << 3)
#define L1_EDX_TSC (1u << 4)
#define L1_EDX_MSR (1u << 5)
#define L1_EDX_PAE (1u << 6)
#define L1_EDX_MCE (1u << 7)
#define L1_EDX_CX8 (1u << 8)
#define L1_EDX_APIC (1u << 9)
#define L1_EDX_SEP (1u << 11)
#define L1_EDX_MTRR (1u << 12)
#define L1_EDX_PGE (1u << 13)
#define L1_EDX_CMOV (1u << 15)
#define L1_EDX_PAT (1u << 16)
#define L1_EDX_PSE36 (1u << 17)
#define L1_EDX_CLFSH (1u << 19)
#define L1_EDX_MMX (1u << 23)
#define L1_EDX_FXSR (1u << 24)
#define L1_EDX_SSE (1u << 25)
#define L1_EDX_SSE2 (1u << 26)
#define L1_EDX_HTT (1u << 28)
#define L1_ECX_SSE3 (1u << 0)
#define L1_ECX_SSSE3 (1u << 9)
#define L1_ECX_CX16 (1u << 13)
#define L1_ECX_SSE41 (1u << 19)
#define L1_ECX_SSE42 (1u << 20)
#define L1_ECX_X2APIC (1u << 21)
#define L1_ECX_MOVBE (1u << 22)
#define L1_ECX_POPCNT (1u << 23)
#define L1_ECX_TSC_DEADLINE (1u << 24)
#define L1_ECX_HYPERVISOR (1u << 31)
#define X1_ECX_LAHF (1u << 0)
#define X1_ECX_ABM (1u << 5)            /* LZCNT */
#define X1_ECX_PREFETCHW (1u << 8)      /* PREFETCHW (3DNowPrefetch) */
#define X1_EDX_SYSCALL (1u << 11)
#define X1_EDX_NX (1u << 20)
#define X1_EDX_PAGE1GB (1u << 26)
#define X1_EDX_RDTSCP (1u << 27)
#define X1_EDX_LM (1u << 29)
#define L6_EAX_ARAT (1u << 2)           /* the APIC timer runs in C-states */
#define L7_EDX_IBRS_IBPB (1u << 26)     /* IA32_SPEC_CTRL.IBRS, IA32_PRED_CMD */
#define L7_EDX_ARCH_CAPABILITIES (1u << 29)
#define L7_2_EDX_BHI_CTRL (1u << 4)     /* IA32_SPEC_CTRL.BHI_DIS_S */
#define X7_EDX_INVARIANT_TSC (1u << 8)
/* BMI, ADX, the crypto extensions, RDRAND/RDSEED, FSGSBASE, RDPID */
#define L1_ECX_PCLMULQDQ (1u << 1)
#define L1_ECX_AES (1u << 25)
#define L1_ECX_RDRAND (1u << 30)
#define L7_EBX_FSGSBASE (1u << 0)
#define L7_EBX_BMI1 (1u << 3)
#define L7_EBX_BMI2 (1u << 8)
#define L7_EBX_RDSEED (1u << 18)
#define L7_EBX_ADX (1u << 19)
#define L7_EBX_SHA (1u << 29)
#define L7_ECX_RDPID (1u << 22)

#endif
