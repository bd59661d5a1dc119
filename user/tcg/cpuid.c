/*
 * CPUID of the TCG engine (SDM Vol. 2A, "CPUID"): a GenuineIntel family 6
 * processor that advertises exactly what this emulator implements, with
 * the -smp topology in leaves 1, 4 and 0xB laid out as the KVM engine
 * presents it (kvm-cpuid.c, topology.c).
 *
 * Implemented and advertised: x87, MMX, SSE-SSE4.2, AES-NI, PCLMULQDQ,
 * SHA, BMI1, BMI2, ADX, RDRAND, RDSEED, FSGSBASE, RDPID, XSAVE with the
 * components xsave.c offers (and with AVX: FMA, F16C, AVX2),
 * CMPXCHG8B/16B, CMOV, MOVBE, POPCNT, LZCNT, LAHF/SAHF in
 * 64-bit mode, PAE/PSE/PSE-36/PGE/PAT/NX/1 GiB pages, SMEP, SMAP (STAC,
 * CLAC), UMIP, PCID and INVPCID (mmu.c, system.c), long mode, SYSENTER,
 * SYSCALL (reported in long mode only, as Intel does), RDTSCP, the xAPIC
 * and x2APIC with the TSC-deadline timer, MTRRs, machine-check exception
 * (no banks), invariant TSC.
 *
 * Speculation: this emulator executes one instruction after the other and
 * checks every access before it makes it, so none of the transient-
 * execution attacks apply.  It says so the architectural way, as a
 * processor that is not affected does: leaf 7 EDX enumerates
 * IA32_ARCH_CAPABILITIES, whose "_NO" bits (msr.c) tell the guest that
 * Meltdown, MDS, TAA, SSB, ... do not apply, and IA32_SPEC_CTRL and
 * IA32_PRED_CMD, with IBRS_ALL ("enhanced IBRS", on for good once set)
 * and BHI_DIS_S (leaf 7.2 EDX).  Linux then boots without page-table
 * isolation, buffer clearing, retpolines or the branch-history clearing
 * loop on every system call: its remaining Spectre mitigations are the
 * compiled-in ones and one write of IA32_SPEC_CTRL.
 *
 * That is -cpu max, the default.  A named model (-cpu Haswell, EPYC, ...:
 * cpu-models.c) is layered on top: its vendor, signature, brand string and
 * highest leaves, and of the feature bits above only those the model has
 * (or -cpu adds); what it has and TCG doesn't implement is left out, with
 * one warning (tcg_cpuid_check_model).  With an AMD vendor, SYSCALL is
 * reported in every mode and leaf 0x80000001 EDX repeats leaf 1's bits, as
 * AMD's do; seg.c then follows AMD's SYSCALL, SYSRET and SYSENTER rules.
 */
#include <stdio.h>
#include "tcg/tcg.h"
#include "config.h"
#include "hw/apic.h"
#include "x86/cpuid.h"
#include "tcg/xsave.h"
#include "cpu-model.h"
#include "log.h"

#define MAX_BASIC 0x16
#define MAX_EXTENDED 0x80000008u
#define HV_BASE 0x40000000u

/* Family 6, model 0x8f (Sapphire Rapids), stepping 8.  Linux decides
 * some transient-execution bugs from the model alone: with RDRAND or
 * RDSEED, Ivy Bridge to Kaby Lake are affected by SRBDS whatever
 * IA32_ARCH_CAPABILITIES says (and Skylake to Rocket Lake by RETBleed);
 * the lists of this model's bugs all have a "_NO" bit in msr.c. */
#define SIGNATURE 0x000806f8u

/* Leaf 1 EDX: FPU DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE CMOV PAT
 * PSE36 CLFSH MMX FXSR SSE SSE2 (no VME, MCA, DS, ACPI, SS, TM, PBE) */
#define L1_EDX (L1_EDX_FPU | L1_EDX_DE | L1_EDX_PSE | L1_EDX_TSC | L1_EDX_MSR |  \
		L1_EDX_PAE | L1_EDX_MCE | L1_EDX_CX8 | L1_EDX_APIC | L1_EDX_SEP |   \
		L1_EDX_MTRR | L1_EDX_PGE | L1_EDX_CMOV | L1_EDX_PAT |              \
		L1_EDX_PSE36 | L1_EDX_CLFSH | L1_EDX_MMX | L1_EDX_FXSR |           \
		L1_EDX_SSE | L1_EDX_SSE2)

#define L1_ECX (L1_ECX_SSE3 | L1_ECX_SSSE3 | L1_ECX_CX16 | L1_ECX_SSE41 |        \
		L1_ECX_SSE42 | L1_ECX_X2APIC | L1_ECX_MOVBE | L1_ECX_POPCNT |      \
		L1_ECX_TSC_DEADLINE | L1_ECX_HYPERVISOR | L1_ECX_CRYPTO | L1_ECX_PCID)



/* bmi.c, sse-crypto.c, RDRAND/RDSEED/RDPID (alu.c), FSGSBASE (system.c) */
#define L1_ECX_CRYPTO (L1_ECX_PCLMULQDQ | L1_ECX_AES | L1_ECX_RDRAND)
#define L7_EBX (L7_EBX_FSGSBASE | L7_EBX_BMI1 | L7_EBX_BMI2 | L7_EBX_RDSEED | \
		L7_EBX_ADX | L7_EBX_SHA | L7_EBX_PROT)
#define L7_ECX (L7_ECX_RDPID | L7_ECX_UMIP | L7_ECX_PKS)

/* Paging protections and PCIDs (mmu.c, system.c; SDM Vol. 3, 4.6, 4.10) */
#define L1_ECX_PCID (1u << 17)
#define L7_EBX_SMEP (1u << 7)
#define L7_EBX_INVPCID (1u << 10)
#define L7_EBX_SMAP (1u << 20)
#define L7_EBX_PROT (L7_EBX_SMEP | L7_EBX_INVPCID | L7_EBX_SMAP)
#define L7_ECX_UMIP (1u << 2)
#define L7_ECX_PKU (1u << 3)           /* with XSAVE's PKRU (xsave.c) */
#define L7_ECX_PKS (1u << 31)          /* CR4.PKS, IA32_PKRS (msr.c, mmu.c) */
#define D1_EAX_XSAVES (1u << 3)        /* XSAVES/XRSTORS, IA32_XSS (xsave.c) */

/* Leaf 7 subleaf 0 EDX and subleaf 2 EDX (SDM Vol. 2A, table 3-8) */
#define L7_MAX_SUBLEAF 2
/* FMA3 (fma.c), F16C (f16c.c), AVX2 (avx2.c, avx2-mem.c, and the VEX.256
 * integer forms of the SSE instructions) */
#define L1_ECX_FMA (1u << 12)
#define L1_ECX_F16C (1u << 29)
#define L7_EBX_AVX2 (1u << 5)
#define L7_EDX (L7_EDX_IBRS_IBPB | L7_EDX_ARCH_CAPABILITIES)

/* IA32_MISC_ENABLE bits that change CPUID (msr.c keeps them) */
#define MISC_LIMIT_CPUID (1ULL << 22)
#define MISC_XD_DISABLE (1ULL << 34)

#define APIC_BASE_EN (1ULL << 11)

/* The cache hierarchy leaf 4 describes: 64-byte lines everywhere */
struct cache_desc {
	uint8_t type, level, ways;      /* type: 1 data, 2 code, 3 unified */
	uint32_t sets;
	bool package;                   /* shared by the package, else a core */
};

static const struct cache_desc caches[] = {
	{ 1, 1, 8, 64, false },         /* L1d 32 KiB */
	{ 2, 1, 8, 64, false },         /* L1i 32 KiB */
	{ 3, 2, 8, 512, false },        /* L2 256 KiB */
	{ 3, 3, 16, 8192, true },       /* L3 8 MiB */
};

/* -smp topology: thread and core field widths of the APIC ID */
struct topo {
	unsigned thread_bits, core_bits;
	unsigned threads, cores;        /* per core, per package */
	uint32_t apic_id;
};

static void get_topo(const struct tcg_cpu *c, struct topo *t)
{
	const struct config *cfg = c->m ? c->m->cfg : NULL;
	memset(t, 0, sizeof(*t));
	t->threads = t->cores = 1;
	if (!c->v || !cfg || !cfg->threads || !cfg->cores)
		return;                 /* unit tests: one CPU */
	t->thread_bits = topo_thread_bits(cfg);
	t->core_bits = topo_core_bits(cfg);
	t->threads = cfg->threads;
	t->cores = cfg->cores;
	t->apic_id = c->v->apic_id;
}

static void set4(uint32_t out[4], uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	out[0] = a;
	out[1] = b;
	out[2] = c;
	out[3] = d;
}

/* Four ASCII characters as a register holds them */
static uint32_t str4(const char *s)
{
	uint32_t v;
	memcpy(&v, s, 4);
	return v;
}

static void leaf1(struct tcg_cpu *c, const struct cpu_def *d, const struct topo *t,
		  uint32_t out[4])
{
	unsigned per_pkg = 1u << (t->thread_bits + t->core_bits);
	uint32_t ebx = (8u << 8) | (MIN(per_pkg, 255u) << 16) | (t->apic_id << 24);
	uint32_t edx = L1_EDX;
	uint64_t base = c->lapic ? lapic_get_base(c->lapic) : c->s.apic_base;
	if (!(base & APIC_BASE_EN))
		edx &= ~L1_EDX_APIC;    /* SDM Vol. 3, 11.4.3 */
	if (per_pkg > 1)
		edx |= L1_EDX_HTT;
	set4(out, d->kind == CPU_MODEL_NAMED ? d->signature : SIGNATURE, ebx, L1_ECX, edx);
}

/* Leaf 4: deterministic cache parameters with the sharing fields of the
 * topology (SDM Vol. 2A, CPUID leaf 04H). */
static void leaf4(const struct topo *t, uint32_t sub, uint32_t out[4])
{
	if (sub >= ARRAY_SIZE(caches)) {
		set4(out, 0, 0, 0, 0);  /* type 0: no more caches */
		return;
	}
	const struct cache_desc *d = &caches[sub];
	unsigned per_pkg = 1u << (t->thread_bits + t->core_bits);
	unsigned sharing = d->package ? per_pkg : 1u << t->thread_bits;
	uint32_t eax = d->type | d->level << 5 | 1u << 8 /* self-initialising */ |
		       (sharing - 1) << 14 | ((1u << t->core_bits) - 1) << 26;
	uint32_t ebx = (uint32_t)(d->ways - 1) << 22 | (64 - 1);
	set4(out, eax, ebx, d->sets - 1, d->package ? 2 /* inclusive */ : 0);
}

/* Leaf 0xB: the x2APIC topology, SMT then core level */
static void leaf_b(const struct topo *t, uint32_t sub, uint32_t out[4])
{
	if (sub == 0)
		set4(out, t->thread_bits, t->threads, 0 | 1 << 8, t->apic_id);
	else if (sub == 1)
		set4(out, t->thread_bits + t->core_bits, t->threads * t->cores,
		     1 | 2 << 8, t->apic_id);
	else
		set4(out, 0, 0, sub & 0xff, t->apic_id);
}

/* The LAPIC timer counts at 1 GHz before its divider (lapic.c). */
#define APIC_CLOCK_HZ 1000000000ULL
/* Linux computes crystal_kHz * numerator in 32 bits: numerator <= this */
#define MAX_NUMERATOR 4294u

/* The best p/q ~= num/den with p <= MAX_NUMERATOR, from the continued
 * fraction's convergents and the last semiconvergent. */
static inline long double dist(long double a, long double b)
{
	return a > b ? a - b : b - a;
}

static void best_ratio(uint64_t num, uint64_t den, uint32_t *p, uint32_t *q)
{
	long double x = (long double)num / den;
	uint64_t h0 = 0, h1 = 1, k0 = 1, k1 = 0; /* convergents n-2, n-1 */
	while (den) {
		uint64_t a = num / den, rem = num % den;
		if (a * h1 + h0 > MAX_NUMERATOR || a * k1 + k0 > UINT32_MAX) {
			/* the largest semiconvergent within the bounds, if closer */
			uint64_t t = (MAX_NUMERATOR - h0) / h1;
			if (k1 && (UINT32_MAX - k0) / k1 < t)
				t = (UINT32_MAX - k0) / k1;
			uint64_t hs = t * h1 + h0, ks = t * k1 + k0;
			if (t && k1 && dist((long double)hs / ks, x) <
				       dist((long double)h1 / k1, x)) {
				h1 = hs;
				k1 = ks;
			}
			break;
		}
		uint64_t h = a * h1 + h0, k = a * k1 + k0;
		h0 = h1, h1 = h, k0 = k1, k1 = k;
		num = den;
		den = rem;
	}
	*p = (uint32_t)h1;
	*q = (uint32_t)k1;
}

/* Leaf 0x15: the TSC as a ratio of a crystal that is the LAPIC timer's
 * clock (Linux takes the crystal for the APIC timer too); leaf 0x16: the
 * base frequency in MHz.  Zero when the TSC rate is unknown. */
static void leaf15(uint32_t out[4])
{
	uint64_t hz = tsc_hz();
	uint32_t p = 0, q = 0;
	if (hz)
		best_ratio(hz, APIC_CLOCK_HZ, &p, &q);
	if (!p || !q)
		set4(out, 0, 0, 0, 0);
	else
		set4(out, q, p, (uint32_t)APIC_CLOCK_HZ, 0);
}

static void leaf16(uint32_t out[4])
{
	uint64_t mhz = tsc_hz() / 1000000;
	set4(out, (uint32_t)MIN(mhz, 0xffffu), (uint32_t)MIN(mhz, 0xffffu), 100, 0);
}

static void basic_leaf(struct tcg_cpu *c, const struct cpu_def *d, uint32_t leaf,
		       uint32_t sub, uint32_t max, uint32_t out[4])
{
	struct topo t;
	get_topo(c, &t);
	set4(out, 0, 0, 0, 0);
	switch (leaf) {
	case 0:
		if (d->vendor[0])
			set4(out, max, str4(d->vendor), str4(d->vendor + 8), str4(d->vendor + 4));
		else
			set4(out, max, str4("Genu"), str4("ntel"), str4("ineI"));
		break;
	case 1:
		leaf1(c, d, &t, out);
		break;
	case 2:
		set4(out, 0xff01, 0, 0, 0); /* 0xff: see leaf 4 */
		break;
	case 4:
		leaf4(&t, sub, out);
		break;
	case 6:
		out[0] = L6_EAX_ARAT;
		break;
	case 7:
		if (sub == 0)
			set4(out, L7_MAX_SUBLEAF, L7_EBX, L7_ECX, L7_EDX);
		else if (sub == 2)
			out[3] = L7_2_EDX_BHI_CTRL;
		break;
	case 0xb:
		leaf_b(&t, sub, out);
		break;
	case 0x15:
		leaf15(out);
		break;
	case 0x16:
		leaf16(out);
		break;
	}
	/* XSAVE, OSXSAVE, AVX, AVX512F and leaf 0xD, where offered */
	tcg_xsave_cpuid_leaf(c, leaf, sub, out);
	/* FMA, F16C and AVX2 work on the AVX state: reported with AVX */
	if (c->xs.offer & XCR0_AVX) {
		if (leaf == 1)
			out[2] |= L1_ECX_FMA | L1_ECX_F16C;
		else if (leaf == 7 && sub == 0)
			out[1] |= L7_EBX_AVX2;
	}
	/* 3, 5 (MONITOR), 0xA (no PMU) and the rest: all zero; leaf 7 has no
	 * other EBX/ECX features (AVX-512 instructions, ...); PKU comes
	 * with the PKRU component (xsave.c) */
}

static void extended_leaf(struct tcg_cpu *c, const struct cpu_def *d, uint32_t leaf,
			  uint32_t xmax, uint32_t out[4])
{
	static const char qvm_brand[48] = "qvm TCG x86-64 processor";
	const char *brand = d->brand[0] ? d->brand : qvm_brand;
	struct topo t;
	set4(out, 0, 0, 0, 0);
	switch (leaf) {
	case 0x80000000:
		out[0] = xmax;
		if (d->amd)             /* AMD repeats the vendor here */
			set4(out, xmax, str4(d->vendor), str4(d->vendor + 8),
			     str4(d->vendor + 4));
		break;
	case 0x80000001:
		if (d->amd)
			out[0] = d->kind == CPU_MODEL_NAMED ? d->signature : SIGNATURE;
		out[2] = X1_ECX_LAHF | X1_ECX_ABM | X1_ECX_PREFETCHW;
		out[3] = X1_EDX_PAGE1GB | X1_EDX_RDTSCP | X1_EDX_LM;
		if (!(c->misc_enable & MISC_XD_DISABLE))
			out[3] |= X1_EDX_NX;
		/* Intel: in 64-bit mode only; AMD: in every mode (seg.c) */
		if (tcg_long_mode(c) || d->amd)
			out[3] |= X1_EDX_SYSCALL;
		break;
	case 0x80000002 ... 0x80000004:
		memcpy(out, brand + (leaf - 0x80000002) * 16, 16);
		break;
	case 0x80000006:
		out[2] = 256u << 16 | 6u << 12 | 64; /* L2: 256 KiB, 8-way, 64 B */
		break;
	case 0x80000007:
		out[3] = X7_EDX_INVARIANT_TSC;
		break;
	case 0x80000008:
		get_topo(c, &t);
		out[0] = 48u << 8 | 40;         /* linear, physical address bits */
		out[2] = (t.thread_bits + t.core_bits) << 12 |
			 ((t.threads * t.cores - 1) & 0xff);
		break;
	}
}

/* Every feature bit this file can report, for -cpu ...,+FEAT (some
 * depend on the state: APIC, HTT, SYSCALL, NX) */
static const uint32_t implemented[CPUID_WORDS] = {
	[CPUID_1_EDX] = L1_EDX | L1_EDX_HTT,
	[CPUID_1_ECX] = L1_ECX | 1u << 26 |             /* XSAVE (xsave.c) */
			1u << 28 |                      /* AVX (xsave.c) */
			L1_ECX_FMA | L1_ECX_F16C,
	[CPUID_D_1_EAX] = 0xf,                          /* XSAVEOPT XSAVEC XGETBV1 XSAVES */
	[CPUID_6_EAX] = L6_EAX_ARAT,
	[CPUID_7_0_EBX] = L7_EBX | L7_EBX_AVX2,
	[CPUID_7_0_ECX] = L7_ECX | L7_ECX_PKU,
	[CPUID_7_0_EDX] = L7_EDX,
	[CPUID_7_2_EDX] = L7_2_EDX_BHI_CTRL,
	[CPUID_8000_0001_EDX] = X1_EDX_SYSCALL | X1_EDX_NX | X1_EDX_PAGE1GB |
				X1_EDX_RDTSCP | X1_EDX_LM,
	[CPUID_8000_0001_ECX] = X1_ECX_LAHF | X1_ECX_ABM | X1_ECX_PREFETCHW,
	[CPUID_8000_0007_EDX] = X7_EDX_INVARIANT_TSC,
};

/* The CPU -cpu describes; max for a machine without options (unit tests) */
static void def_of(const struct tcg_cpu *c, struct cpu_def *d)
{
	const struct config *cfg = c->m ? c->m->cfg : NULL;
	if (!cfg || cpu_def_init(d, cfg->cpu_model, &cfg->cpu_features) < 0 ||
	    d->kind == CPU_MODEL_HOST)
		cpu_def_init(d, NULL, cfg ? &cfg->cpu_features : NULL);
}

bool tcg_cpu_amd(const struct tcg_cpu *c)
{
	const struct config *cfg = c->m ? c->m->cfg : NULL;
	return cfg && cpu_model_amd(cfg->cpu_model, &cfg->cpu_features);
}

int tcg_cpuid_check_features(const struct cpu_features *f)
{
	return cpu_features_check(f, implemented, "TCG");
}

int tcg_cpuid_check_model(const char *model, const struct cpu_features *f)
{
	/* QEMU's TCG turns VME off in every model, without a word */
	static const uint32_t quiet[CPUID_WORDS] = { [CPUID_1_EDX] = 1u << 1 };
	struct cpu_def d;
	if (cpu_def_init(&d, model, f) < 0)
		return -1;
	/* +FEAT and FEAT=on: one line each (QEMU's wording) */
	if (cpu_features_check(f, implemented, "TCG") < 0)
		return -1;
	return cpu_def_check(&d, f, implemented, quiet, "TCG");
}

unsigned tcg_sys_features(struct tcg_cpu *c)
{
	static const struct cpu_features none;
	if (c->sys_features_known)
		return c->sys_features;
	const struct config *cfg = c->m ? c->m->cfg : NULL;
	const struct cpu_features *f = cfg ? &cfg->cpu_features : &none;
	struct cpu_def d;
	def_of(c, &d);
	uint32_t l1 = L1_ECX & cpu_def_mask(&d, f, CPUID_1_ECX);
	uint32_t l7b = L7_EBX & cpu_def_mask(&d, f, CPUID_7_0_EBX);
	uint32_t l7c = L7_ECX & cpu_def_mask(&d, f, CPUID_7_0_ECX);
	if (d.kind == CPU_MODEL_NAMED && d.level < 7)
		l7b = l7c = 0;          /* leaf 7 is beyond the model's */
	/* PKU comes with the PKRU component (xsave.c), unless masked */
	bool pku = (c->xs.offer & XCR0_PKRU) &&
		   (cpu_def_mask(&d, f, CPUID_7_0_ECX) & L7_ECX_PKU) &&
		   !(d.kind == CPU_MODEL_NAMED && d.level < 7);
	/* XSAVES with the XSAVE feature set, unless the model lacks it */
	bool xsaves = c->xs.offer && (cpu_def_mask(&d, f, CPUID_D_1_EAX) & D1_EAX_XSAVES) &&
		      !(d.kind == CPU_MODEL_NAMED && d.level < 0xd);
	unsigned v = (l1 & L1_ECX_PCID ? SYSF_PCID : 0) |
		     (l7b & L7_EBX_INVPCID ? SYSF_INVPCID : 0) |
		     (l7b & L7_EBX_SMEP ? SYSF_SMEP : 0) |
		     (l7b & L7_EBX_SMAP ? SYSF_SMAP : 0) |
		     (l7c & L7_ECX_UMIP ? SYSF_UMIP : 0) |
		     (l7c & L7_ECX_PKS ? SYSF_PKS : 0) |
		     (pku ? SYSF_PKU : 0) | (xsaves ? SYSF_XSAVES : 0);
	c->sys_features = v;
	c->sys_features_known = true;
	return v;
}

/* Returns the leaf whose data out holds */
static uint32_t raw_cpuid(struct tcg_cpu *c, const struct cpu_def *d, uint32_t leaf,
			  uint32_t sub, uint32_t out[4])
{
	bool named = d->kind == CPU_MODEL_NAMED;
	uint32_t max = named ? d->level : MAX_BASIC;
	uint32_t xmax = named ? d->xlevel : MAX_EXTENDED;
	if (c->misc_enable & MISC_LIMIT_CPUID)
		max = 2;
	if (leaf >= HV_BASE && leaf < HV_BASE + 0x10000000) {
		if (leaf == HV_BASE)
			set4(out, HV_BASE, str4("qvmT"), str4("CGqv"), str4("mTCG"));
		else
			set4(out, 0, 0, 0, 0);
		return leaf;
	}
	if (leaf >= 0x80000000 && leaf <= xmax) {
		extended_leaf(c, d, leaf, xmax, out);
		return leaf;
	}
	/* SDM: beyond the highest leaf, the highest basic leaf's data */
	if (leaf > max)
		leaf = max;
	basic_leaf(c, d, leaf, sub, max, out);
	return leaf;
}

/* What the guest sees: for a named model, what it has of the above; for
 * max, less what -cpu took away (-FEAT).  Only CPUID changes; the
 * instructions keep working, as under QEMU's TCG, but for the system
 * features of tcg_sys_features (their CR4 bits and instructions). */
void tcg_cpuid(struct tcg_cpu *c, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	static const struct cpu_features none;
	const struct config *cfg = c->m ? c->m->cfg : NULL;
	const struct cpu_features *f = cfg ? &cfg->cpu_features : &none;
	struct cpu_def d;
	def_of(c, &d);
	leaf = raw_cpuid(c, &d, leaf, sub, out);
	for (unsigned reg = 0; reg < 4; reg++) {
		int w = cpuid_word_of(leaf, sub, reg);
		if (w >= 0)
			out[reg] &= cpu_def_mask(&d, f, (unsigned)w);
	}
	if (d.amd && leaf == 0x80000001) {
		uint32_t l1[4];
		tcg_cpuid(c, 1, 0, l1);
		out[3] |= l1[3] & CPUID_AMD_ALIASES;    /* AMD APM Vol. 3, E.4.2 */
	}
}

/* The XSAVE components of offer the model has (AVX with avx, ...) */
uint64_t tcg_cpuid_xsave_offer(const struct config *cfg, uint64_t offer)
{
	struct cpu_def d;
	if (!cfg || cpu_def_init(&d, cfg->cpu_model, &cfg->cpu_features) < 0)
		return offer;
	/* -pku takes PKRU along (a named model without pku has no bit 9) */
	if (cfg->cpu_features.off[CPUID_7_0_ECX] & L7_ECX_PKU)
		offer &= ~XCR0_PKRU;
	return offer & cpu_def_xcr0(&d);
}
