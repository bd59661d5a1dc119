/*
 * Host CPU features: which table entries the host can run natively.
 *
 * An entry's feature follows from its encoding (SDM Vol. 2, Appendix A
 * opcode maps; the CPUID flag of each instruction in its Vol. 2 page).
 * Whether the host has it is found by executing one instruction of that
 * feature (FSGSBASE: one the kernel lets user code run), not by reading
 * CPUID: a hypervisor may hide a flag whose
 * instruction works (this project's CI host hides ABM although LZCNT
 * runs), and LZCNT and TZCNT do not fault where they are missing, they
 * run as BSR and BSF (their F3 prefix is ignored), so their probes look
 * at the result.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "difftest.h"

static const char *const feat_names[DT_NFEAT] = {
	[FEAT_NONE] = "none",
	[FEAT_SSE3] = "sse3",
	[FEAT_SSSE3] = "ssse3",
	[FEAT_SSE41] = "sse4.1",
	[FEAT_SSE42] = "sse4.2",
	[FEAT_POPCNT] = "popcnt",
	[FEAT_LZCNT] = "lzcnt",
	[FEAT_BMI1] = "bmi1",
	[FEAT_MOVBE] = "movbe",
	[FEAT_CX16] = "cx16",
	[FEAT_LAHF64] = "lahf_lm",
	[FEAT_PRFCHW] = "prfchw",
	[FEAT_BMI2] = "bmi2",
	[FEAT_ADX] = "adx",
	[FEAT_AES] = "aes",
	[FEAT_PCLMUL] = "pclmulqdq",
	[FEAT_SHA] = "sha_ni",
	[FEAT_RDRAND] = "rdrand",
	[FEAT_RDSEED] = "rdseed",
	[FEAT_FSGSBASE] = "fsgsbase",
	[FEAT_RDPID] = "rdpid",
	[FEAT_AVX] = "avx",
	[FEAT_AVX2] = "avx2",
	[FEAT_FMA] = "fma",
	[FEAT_F16C] = "f16c",
};

const char *dt_feature_name(enum dt_feat f)
{
	return f < DT_NFEAT ? feat_names[f] : "?";
}

int dt_feature_by_name(const char *name)
{
	for (int f = 1; f < DT_NFEAT; f++)
		if (!strcmp(name, feat_names[f]))
			return f;
	return -1;
}

/* 0F 38 xx without F2 (SDM Vol. 2, Table A-4) */
static enum dt_feat map_0f38(uint8_t op, uint8_t pfx)
{
	if (op == 0xf0 || op == 0xf1)
		return pfx == 0xf2 ? FEAT_SSE42 : FEAT_MOVBE;  /* CRC32 : MOVBE */
	if (op == 0xf6)
		return FEAT_ADX;        /* ADCX (66), ADOX (F3) */
	if (op >= 0xdb && op <= 0xdf)
		return FEAT_AES;        /* AESIMC AESENC ... AESDECLAST */
	if (op >= 0xc8 && op <= 0xcd)
		return FEAT_SHA;        /* SHA1NEXTE ... SHA256MSG2 */
	if (op <= 0x0b || (op >= 0x1c && op <= 0x1e))
		return FEAT_SSSE3;      /* PSHUFB ... PMULHRSW, PABSB/W/D */
	if (op == 0x37)
		return FEAT_SSE42;      /* PCMPGTQ */
	return FEAT_SSE41;
}

/* 0F 3A xx (SDM Vol. 2, Table A-5) */
static enum dt_feat map_0f3a(uint8_t op)
{
	if (op == 0x0f)
		return FEAT_SSSE3;      /* PALIGNR */
	if (op == 0xdf)
		return FEAT_AES;        /* AESKEYGENASSIST */
	if (op == 0x44)
		return FEAT_PCLMUL;
	if (op == 0xcc)
		return FEAT_SHA;        /* SHA1RNDS4 */
	if (op >= 0x60 && op <= 0x63)
		return FEAT_SSE42;      /* PCMPESTRM ... PCMPISTRI */
	return FEAT_SSE41;
}

/* 0F xx: the SSE3 forms and the single instructions with their own flag */
static enum dt_feat map_0f(uint8_t op, uint8_t pfx, int ext)
{
	switch (op) {
	case 0x0d:
		return FEAT_PRFCHW;     /* PREFETCHW */
	case 0xb8:
		return pfx == 0xf3 ? FEAT_POPCNT : FEAT_NONE;
	case 0xbc:
		return pfx == 0xf3 ? FEAT_BMI1 : FEAT_NONE;     /* TZCNT */
	case 0xbd:
		return pfx == 0xf3 ? FEAT_LZCNT : FEAT_NONE;
	case 0xc7:              /* CMPXCHG16B, RDRAND, RDSEED, RDPID (F3 /7) */
		if (ext == 7)
			return pfx == 0xf3 ? FEAT_RDPID : FEAT_RDSEED;
		return ext == 1 ? FEAT_CX16 : ext == 6 ? FEAT_RDRAND : FEAT_NONE;
	case 0xae:              /* RDFSBASE ... WRGSBASE: F3, a register */
		return pfx == 0xf3 && ext >= 0 && ext < 4 ? FEAT_FSGSBASE : FEAT_NONE;
	case 0x12:              /* MOVSLDUP (F3), MOVDDUP (F2) */
	case 0x16:              /* MOVSHDUP (F3) */
		return pfx == 0xf3 || (op == 0x12 && pfx == 0xf2) ? FEAT_SSE3 : FEAT_NONE;
	case 0x7c:              /* HADDPS/PD */
	case 0x7d:              /* HSUBPS/PD */
	case 0xd0:              /* ADDSUBPS/PD */
		return pfx == 0xf2 || pfx == 0x66 ? FEAT_SSE3 : FEAT_NONE;
	case 0xf0:
		return pfx == 0xf2 ? FEAT_SSE3 : FEAT_NONE;     /* LDDQU */
	}
	return FEAT_NONE;
}

enum dt_feat dt_def_feature(const struct dt_def *d)
{
	const uint8_t *op = d->op;

	if (d->feat)
		return d->feat;
	if (d->vex)
		return d->vex & DV_L1 && d->vk == VK_INT ? FEAT_AVX2 : FEAT_AVX;
	if (d->x & X_UD)
		return FEAT_NONE;       /* expected to fault either way */
	if (d->nop == 1 && (op[0] == 0x9e || op[0] == 0x9f))
		return FEAT_LAHF64;     /* SAHF/LAHF in 64-bit mode */
	/* FISTTP m16/m32/m64: DF /1, DB /1, DD /1 (SSE3) */
	if (d->kind == K_X87 && d->rm == RM_MEM && d->ext == 1 &&
	    (op[0] == 0xdb || op[0] == 0xdd || op[0] == 0xdf))
		return FEAT_SSE3;
	if (d->nop < 2 || op[0] != 0x0f)
		return FEAT_NONE;
	/* the VEX forms of BMI1 (ANDN, BLS*, BEXTR) and BMI2 */
	if (d->x & X_VEX)
		return op[2] == 0xf2 || op[2] == 0xf3 || (op[2] == 0xf7 && !d->pfx) ? FEAT_BMI1
										  : FEAT_BMI2;
	if (op[1] == 0x38 && d->nop >= 3)
		return map_0f38(op[2], d->pfx);
	if (op[1] == 0x3a && d->nop >= 3)
		return map_0f3a(op[2]);
	return map_0f(op[1], d->pfx, d->ext);
}

/* ------------------------------------------------------------------ */
/* Probes                                                              */

static sigjmp_buf probe_env;

static void probe_fault(int sig)
{
	siglongjmp(probe_env, sig);
}

static uint8_t probe_mem[16] __attribute__((aligned(16)));

/* Each probe returns true when the instruction ran as the feature says.
 * The instructions are spelled as bytes: the assembler need not know
 * them. */
static bool probe(enum dt_feat f)
{
	uint64_t a = 0, b = 0;

	switch (f) {
	case FEAT_SSE3:         /* addsubpd %xmm0,%xmm0 */
		__asm__ volatile(".byte 0x66, 0x0f, 0xd0, 0xc0" ::: "xmm0");
		return true;
	case FEAT_SSSE3:        /* pshufb %xmm0,%xmm0 */
		__asm__ volatile(".byte 0x66, 0x0f, 0x38, 0x00, 0xc0" ::: "xmm0");
		return true;
	case FEAT_SSE41:        /* pminsb %xmm0,%xmm0 */
		__asm__ volatile(".byte 0x66, 0x0f, 0x38, 0x38, 0xc0" ::: "xmm0");
		return true;
	case FEAT_SSE42:        /* crc32l %eax,%eax */
		__asm__ volatile(".byte 0xf2, 0x0f, 0x38, 0xf1, 0xc0" : "+a"(a) :: "cc");
		return true;
	case FEAT_POPCNT:       /* popcnt %ecx,%eax: 3 */
		b = 7;
		__asm__ volatile(".byte 0xf3, 0x0f, 0xb8, 0xc1" : "=a"(a) : "c"(b) : "cc");
		return a == 3;
	case FEAT_LZCNT:        /* lzcnt %ecx,%eax of 1: 31 (BSR: 0) */
		b = 1;
		__asm__ volatile(".byte 0xf3, 0x0f, 0xbd, 0xc1" : "=a"(a) : "c"(b) : "cc");
		return a == 31;
	case FEAT_BMI1:         /* tzcnt %ecx,%eax of 2: 1, of 0: 32 (BSF: unchanged) */
		a = 0x1234;
		__asm__ volatile(".byte 0xf3, 0x0f, 0xbc, 0xc1" : "+a"(a) : "c"(b) : "cc");
		return a == 32;
	case FEAT_MOVBE:        /* movbe (%rsi),%eax */
		memcpy(probe_mem, "\x01\x02\x03\x04", 4);
		__asm__ volatile(".byte 0x0f, 0x38, 0xf0, 0x06"
				 : "=a"(a) : "S"(probe_mem) : "memory");
		return a == 0x01020304;
	case FEAT_CX16:         /* cmpxchg16b (%rsi) */
		memset(probe_mem, 0, 16);
		__asm__ volatile(".byte 0x48, 0x0f, 0xc7, 0x0e"
				 : "+a"(a), "+d"(b)
				 : "b"(1ULL), "c"(0ULL), "S"(probe_mem) : "memory", "cc");
		return probe_mem[0] == 1;
	case FEAT_LAHF64:       /* lahf */
		__asm__ volatile(".byte 0x9f" : "+a"(a));
		return true;
	case FEAT_PRFCHW:       /* prefetchw (%rsi) */
		__asm__ volatile(".byte 0x0f, 0x0d, 0x0e" :: "S"(probe_mem) : "memory");
		return true;
	case FEAT_BMI2:         /* pdep %ecx,%eax,%eax of 1 at 0x10: 0x10 */
		a = 1;
		b = 0x10;
		__asm__ volatile(".byte 0xc4, 0xe2, 0x7b, 0xf5, 0xc1" : "+a"(a) : "c"(b));
		return a == 0x10;
	case FEAT_ADX:          /* adcx %ecx,%eax */
		__asm__ volatile(".byte 0x66, 0x0f, 0x38, 0xf6, 0xc1" : "+a"(a) : "c"(b) : "cc");
		return true;
	case FEAT_AES:          /* aesenc %xmm0,%xmm0 */
		__asm__ volatile(".byte 0x66, 0x0f, 0x38, 0xdc, 0xc0" ::: "xmm0");
		return true;
	case FEAT_PCLMUL:       /* pclmulqdq $0,%xmm0,%xmm0 */
		__asm__ volatile(".byte 0x66, 0x0f, 0x3a, 0x44, 0xc0, 0x00" ::: "xmm0");
		return true;
	case FEAT_SHA:          /* sha1msg1 %xmm0,%xmm0 */
		__asm__ volatile(".byte 0x0f, 0x38, 0xc9, 0xc0" ::: "xmm0");
		return true;
	case FEAT_RDRAND:       /* rdrand %eax */
		__asm__ volatile(".byte 0x0f, 0xc7, 0xf0" : "=a"(a) :: "cc");
		return true;
	case FEAT_RDSEED:       /* rdseed %eax */
		__asm__ volatile(".byte 0x0f, 0xc7, 0xf8" : "=a"(a) :: "cc");
		return true;
	case FEAT_FSGSBASE:     /* rdgsbase %rax: #UD unless the kernel set CR4.FSGSBASE */
		__asm__ volatile(".byte 0xf3, 0x48, 0x0f, 0xae, 0xc8" : "=a"(a));
		return true;
	case FEAT_RDPID:        /* rdpid %rax */
		__asm__ volatile(".byte 0xf3, 0x0f, 0xc7, 0xf8" : "=a"(a));
		return true;
	case FEAT_AVX:          /* vxorps %ymm0,%ymm0,%ymm0 (#UD unless the OS
				 * enabled AVX state in XCR0) */
		__asm__ volatile(".byte 0xc5, 0xfc, 0x57, 0xc0" ::: "xmm0");
		return true;
	case FEAT_AVX2:         /* vpaddd %ymm0,%ymm0,%ymm0 */
		__asm__ volatile(".byte 0xc5, 0xfd, 0xfe, 0xc0" ::: "xmm0");
		return true;
	case FEAT_FMA:          /* vfmadd231ps %xmm0,%xmm0,%xmm0 */
		__asm__ volatile(".byte 0xc4, 0xe2, 0x79, 0xb8, 0xc0" ::: "xmm0");
		return true;
	case FEAT_F16C:         /* vcvtph2ps %xmm0,%xmm0 */
		__asm__ volatile(".byte 0xc4, 0xe2, 0x79, 0x13, 0xc0" ::: "xmm0");
		return true;
	default:
		return true;
	}
}

/* true when the probe ran and agreed; a SIGILL (#UD) says no */
static bool host_has(enum dt_feat f)
{
	volatile bool ok = false;

	if (!sigsetjmp(probe_env, 0))
		ok = probe(f);
	return ok;
}

unsigned dt_host_features(void)
{
	struct sigaction sa = { .sa_handler = probe_fault, .sa_flags = SA_NODEFER }, old;
	unsigned have = 1u << FEAT_NONE;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGILL, &sa, &old);
	for (int f = 1; f < DT_NFEAT; f++)
		if (host_has(f))
			have |= 1u << f;
	sigaction(SIGILL, &old, NULL);
	return have;
}
