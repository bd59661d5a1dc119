/*
 * TCG system instructions (user/tcg/system.c, msr.c, cpuid.c): CPUID,
 * MSRs, control registers and long-mode activation, the I/O permission
 * bit map, the privilege rules of CLI/STI/POPF, HLT, group 7.
 *
 * Each test builds a 16 MiB machine and one TCG vCPU, sets the mode by
 * writing the segment caches directly, and runs single instructions with
 * tcg_step() (which returns faults instead of delivering them).
 */
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "config.h"
#include "hw/apic.h"
#include "tcg/tcg.h"
#include "tcg/xsave.h"
#include "tcgtest.h"

#define CODE_BASE 0x1000
#define DATA 0x3000
#define STACK_TOP 0x9000
#define PML4 TCGT_PML4
#define TSS 0x20000

static bool env_init(struct tcg_env *e)
{
	if (!tcg_env_init(e, CODE_BASE))
		return false;
	/* real mode, CS base 0 */
	struct x86_segment *cs = &e->c->s.seg[S_CS];
	cs->selector = 0;
	cs->base = 0;
	e->c->s.regs[R_RSP] = STACK_TOP;
	return true;
}

/* 32-bit protected mode, flat, paging off */
static void mode_prot32(struct tcg_env *e, unsigned cpl)
{
	struct tcg_cpu *c = e->c;
	c->s.cr0 = CR0_PE | CR0_ET;
	c->s.cr4 = 0;
	c->s.efer = 0;
	tcg_env_flat_segs(c, cpl, false);
	c->s.rflags = 2;
	tcg_tlb_flush_all(c);
}

static void mode_long64(struct tcg_env *e, unsigned cpl)
{
	struct tcg_cpu *c = e->c;
	tcg_env_long_mode(e);
	c->s.efer |= EFER_SCE;
	tcg_env_flat_segs(c, cpl, true);
	c->s.rflags = 2;
}

static void set_iopl(struct tcg_cpu *c, unsigned iopl)
{
	c->s.rflags = (c->s.rflags & ~(uint64_t)FL_IOPL) | (uint64_t)iopl << 12;
}

/* ------------------------------------------------------------------ */
/* CPUID                                                               */

static void cpuid_insn(struct tcg_env *e, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	e->c->s.regs[R_RAX] = leaf;
	e->c->s.regs[R_RCX] = sub;
	STEP(e, 0x0f, 0xa2);
	r[0] = e->c->s.regs[R_RAX];
	r[1] = e->c->s.regs[R_RBX];
	r[2] = e->c->s.regs[R_RCX];
	r[3] = e->c->s.regs[R_RDX];
}

TEST(tcg_cpuid_vendor_and_features)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	uint32_t r[4];
	cpuid_insn(&e, 0, 0, r);
	CHECK(r[0] >= 0xb);
	CHECK(!memcmp(&r[1], "Genu", 4) && !memcmp(&r[3], "ineI", 4) && !memcmp(&r[2], "ntel", 4));
	uint32_t max = r[0];

	cpuid_insn(&e, 1, 0, r);
	CHECK_EQ(r[0] >> 8 & 0xf, 6);                   /* family 6 */
	CHECK_EQ(r[1] >> 24, 0);                        /* APIC ID */
	CHECK_EQ(r[1] >> 8 & 0xff, 8);                  /* CLFLUSH 64 bytes */
	uint32_t need_edx = 1u << 0 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 8 | 1u << 9 |
			    1u << 11 | 1u << 13 | 1u << 15 | 1u << 16 | 1u << 23 |
			    1u << 24 | 1u << 25 | 1u << 26;
	CHECK_EQ(r[3] & need_edx, need_edx);
	CHECK(!(r[3] & (1u << 1)));                     /* no VME */
	CHECK(!(r[3] & (1u << 28)));                    /* one CPU: no HTT */
	/* ... PCLMULQDQ AES RDRAND PCID */
	uint32_t need_ecx = 1u << 0 | 1u << 9 | 1u << 13 | 1u << 19 | 1u << 20 |
			    1u << 21 | 1u << 23 | 1u << 31 | 1u << 1 | 1u << 25 | 1u << 30 |
			    1u << 17;
	CHECK_EQ(r[2] & need_ecx, need_ecx);
	/* not implemented: MONITOR VMX FMA XSAVE OSXSAVE AVX F16C */
	uint32_t never_ecx = 1u << 3 | 1u << 5 | 1u << 12 | 1u << 26 |
			     1u << 27 | 1u << 28 | 1u << 29;
	CHECK_EQ(r[2] & never_ecx, 0);

	/* FSGSBASE BMI1 SMEP BMI2 INVPCID RDSEED ADX SMAP SHA, UMIP RDPID
	 * PKS; no AVX2 (no AVX state offered), AVX-512, PKU ... */
	cpuid_insn(&e, 7, 0, r);
	CHECK_EQ(r[1], 1u << 0 | 1u << 3 | 1u << 7 | 1u << 8 | 1u << 10 | 1u << 18 |
		       1u << 19 | 1u << 20 | 1u << 29);
	CHECK_EQ(r[2], 1u << 2 | 1u << 22 | 1u << 31);
	CHECK_EQ(r[0], 2);                              /* subleaves 0-2 */
	CHECK_EQ(r[3], 1u << 26 | 1u << 29);            /* IBRS/IBPB, ARCH_CAPABILITIES */
	cpuid_insn(&e, 7, 1, r);
	CHECK(!r[0] && !r[1] && !r[2] && !r[3]);
	cpuid_insn(&e, 7, 2, r);
	CHECK(!r[0] && !r[1] && !r[2]);
	CHECK_EQ(r[3], 1u << 4);                        /* BHI_CTRL */
	cpuid_insn(&e, 0xd, 0, r);                      /* no XSAVE */
	CHECK(!r[0] && !r[1] && !r[2] && !r[3]);
	cpuid_insn(&e, 6, 0, r);
	CHECK(r[0] & 4);                                /* ARAT */

	/* leaf 4 ends with a null cache type; 0xB levels SMT then core */
	unsigned n;
	for (n = 0; n < 8; n++) {
		cpuid_insn(&e, 4, n, r);
		if (!(r[0] & 0x1f))
			break;
		CHECK_EQ(r[1] & 0xfff, 63);             /* 64-byte lines */
	}
	CHECK(n >= 3 && n < 8);
	cpuid_insn(&e, 0xb, 0, r);
	CHECK_EQ(r[2] >> 8 & 0xff, 1);
	CHECK_EQ(r[1], 1);
	cpuid_insn(&e, 0xb, 2, r);
	CHECK_EQ(r[2] >> 8 & 0xff, 0);                  /* invalid level */

	cpuid_insn(&e, 0x80000000, 0, r);
	CHECK(r[0] >= 0x80000008);
	cpuid_insn(&e, 0x80000001, 0, r);
	CHECK(r[3] & (1u << 29));                       /* LM */
	CHECK(r[3] & (1u << 20));                       /* NX */
	CHECK(r[3] & (1u << 27));                       /* RDTSCP */
	CHECK(!(r[3] & (1u << 11)));                    /* SYSCALL: Intel, not long mode */
	CHECK(r[2] & 1);                                /* LAHF/SAHF */
	cpuid_insn(&e, 0x80000008, 0, r);
	CHECK_EQ(r[0] & 0xffff, 0x3028);                /* 40 physical, 48 linear */
	cpuid_insn(&e, 0x80000002, 0, r);
	CHECK(!memcmp(r, "qvm", 3));

	/* beyond the highest leaf: the highest basic leaf's data */
	uint32_t top[4];
	cpuid_insn(&e, max, 0, top);
	cpuid_insn(&e, max + 1, 0, r);
	CHECK(!memcmp(r, top, sizeof(r)));

	/* SYSCALL shows in long mode */
	mode_long64(&e, 0);
	cpuid_insn(&e, 0x80000001, 0, r);
	CHECK(r[3] & (1u << 11));
	tcg_env_free(&e);
}

TEST(tcg_cpuid_apic_bit_follows_apic_base)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	uint32_t r[4];
	e.c->s.apic_base &= ~(1ULL << 11);
	tcg_cpuid(e.c, 1, 0, r);
	CHECK(!(r[3] & (1u << 9)));
	e.c->s.apic_base |= 1ULL << 11;
	tcg_cpuid(e.c, 1, 0, r);
	CHECK(r[3] & (1u << 9));
	tcg_env_free(&e);
}

/* -cpu max,-FEAT hides a feature; +FEAT of one TCG lacks: a warning,
 * with enforce an error; +FEAT of one it has: nothing to do */
TEST(tcg_cpuid_cpu_option_features)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct config cfg = { 0 };
	char arg[] = "max,-sse4.2,-x2apic,-arch-capabilities,+rtm";
	CHECK_EQ(cpu_option_parse(arg, &cfg.cpu_model, &cfg.cpu_features), 0);
	e.m->cfg = &cfg;
	uint32_t r[4];
	tcg_cpuid(e.c, 1, 0, r);
	CHECK(!(r[2] & (1u << 20)) && !(r[2] & (1u << 21)));
	CHECK(r[2] & (1u << 19));                       /* SSE4.1 stays */
	tcg_cpuid(e.c, 7, 0, r);
	CHECK_EQ(r[3], 1u << 26);                       /* no ARCH_CAPABILITIES */
	CHECK(!(r[1] & (1u << 11)));                   /* no RTM */
	CHECK_EQ(tcg_cpuid_check_features(&cfg.cpu_features), 0);
	cfg.cpu_features.enforce = true;
	CHECK_EQ(tcg_cpuid_check_features(&cfg.cpu_features), -1);
	char arg2[] = "qemu64,+sse4.2,+x2apic,+invtsc,+bhi-ctrl,enforce";
	CHECK_EQ(cpu_option_parse(arg2, &cfg.cpu_model, &cfg.cpu_features), 0);
	CHECK_EQ(tcg_cpuid_check_features(&cfg.cpu_features), 0);
	e.m->cfg = NULL;
	tcg_env_free(&e);
}

/* The vendor string of leaf 0 (EBX EDX ECX) and the brand string */
static void vendor_of(struct tcg_cpu *c, char v[13])
{
	uint32_t r[4];
	tcg_cpuid(c, 0, 0, r);
	memcpy(v, &r[1], 4);
	memcpy(v + 4, &r[3], 4);
	memcpy(v + 8, &r[2], 4);
	v[12] = 0;
}

static void brand_of(struct tcg_cpu *c, char b[49])
{
	for (uint32_t k = 0; k < 3; k++)
		tcg_cpuid(c, 0x80000002 + k, 0, (uint32_t *)(void *)(b + 16 * k));
	b[48] = 0;
}

/* -cpu Haswell: QEMU's Haswell (family 6 model 60 stepping 4, level 0xD,
 * xlevel 0x80000008) with what TCG has of its features; bits TCG
 * implements but Haswell lacks (1 GiB pages, XSAVEC, ARCH_CAPABILITIES)
 * are gone, and a +FEAT brings one back. */
TEST(tcg_cpuid_model_haswell)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	CHECK_EQ(tcg_xsave_offer(e.c, XSAVE_OFFER_TCG), 0);
	struct config cfg = { 0 };
	char arg[] = "Haswell";
	CHECK_EQ(cpu_option_parse(arg, &cfg.cpu_model, &cfg.cpu_features), 0);
	e.m->cfg = &cfg;
	uint32_t r[4];
	char v[13], b[49];
	vendor_of(e.c, v);
	CHECK(!strcmp(v, "GenuineIntel"));
	tcg_cpuid(e.c, 0, 0, r);
	CHECK_EQ(r[0], 0xd);
	tcg_cpuid(e.c, 1, 0, r);
	CHECK_EQ(r[0], 0x306c4);
	CHECK_EQ(r[2] & (1u << 20 | 1u << 23 | 1u << 22), 1u << 20 | 1u << 23 | 1u << 22);
	CHECK(r[2] & (1u << 31));                       /* hypervisor, the engine's */
	CHECK(!(r[2] & (1u << 3)));                     /* no MONITOR */
	CHECK(!(r[3] & (1u << 1)));                     /* VME: TCG has none */
	brand_of(e.c, b);
	CHECK(!strcmp(b, "Intel Core Processor (Haswell)"));
	tcg_cpuid(e.c, 0x80000000, 0, r);
	CHECK_EQ(r[0], 0x80000008);
	tcg_cpuid(e.c, 0x80000001, 0, r);
	CHECK_EQ(r[0], 0);
	CHECK(r[3] & (1u << 29 | 1u << 20));            /* LM NX */
	CHECK(!(r[3] & (1u << 26)));                    /* no 1 GiB pages */
	CHECK(!(r[3] & 1));                             /* no AMD copies */
	CHECK(!(r[3] & (1u << 11)));                    /* SYSCALL: long mode only */
	tcg_cpuid(e.c, 7, 0, r);
	CHECK(!(r[1] & (1u << 4 | 1u << 11)));          /* no HLE, RTM */
	CHECK_EQ(r[3], 0);                              /* no ARCH_CAPABILITIES */
	tcg_cpuid(e.c, 0xd, 1, r);
	CHECK_EQ(r[0], 1);                              /* XSAVEOPT, no XSAVEC */
	tcg_cpuid(e.c, 0x16, 0, r);                     /* beyond level 0xD */
	uint32_t top[4];
	tcg_cpuid(e.c, 0xd, 0, top);
	CHECK(!memcmp(r, top, sizeof(r)));
	CHECK_EQ(tcg_cpuid_xsave_offer(&cfg, 7), 7);    /* Haswell has AVX */

	char arg2[] = "Haswell,+pdpe1gb,-popcnt,-hypervisor,model-id=Mine,vendor=AuthenticAMD";
	CHECK_EQ(cpu_option_parse(arg2, &cfg.cpu_model, &cfg.cpu_features), 0);
	tcg_cpuid(e.c, 0x80000001, 0, r);
	CHECK(r[3] & (1u << 26));
	CHECK(r[3] & 1);                                /* AMD copies leaf 1 EDX */
	CHECK_EQ(r[0], 0x306c4);
	tcg_cpuid(e.c, 1, 0, r);
	CHECK(!(r[2] & (1u << 23 | 1u << 31)));
	brand_of(e.c, b);
	CHECK(!strcmp(b, "Mine"));
	vendor_of(e.c, v);
	CHECK(!strcmp(v, "AuthenticAMD"));
	e.m->cfg = NULL;
	tcg_env_free(&e);
}

/* -cpu EPYC: AuthenticAMD family 0x17 (base 0xF + extended 8) model 1
 * stepping 2; SYSCALL reported in every mode; leaf 0x80000001 EDX
 * repeats leaf 1 EDX's FPU..FXSR bits and EAX the signature (AMD APM
 * Vol. 3, E.4.2); no x2APIC, ERMS or AVX-512 (EPYC has none) */
TEST(tcg_cpuid_model_epyc)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	CHECK_EQ(tcg_xsave_offer(e.c, XSAVE_OFFER_TCG), 0);
	struct config cfg = { 0 };
	char arg[] = "EPYC";
	CHECK_EQ(cpu_option_parse(arg, &cfg.cpu_model, &cfg.cpu_features), 0);
	e.m->cfg = &cfg;
	uint32_t r[4], l1[4];
	char v[13], b[49];
	vendor_of(e.c, v);
	CHECK(!strcmp(v, "AuthenticAMD"));
	tcg_cpuid(e.c, 1, 0, l1);
	CHECK_EQ(l1[0], 0x800f12);
	CHECK_EQ((l1[0] >> 8 & 0xf) + (l1[0] >> 20 & 0xff), 0x17);
	CHECK(!(l1[2] & (1u << 21)));                   /* no x2APIC */
	CHECK(l1[2] & (1u << 20));                      /* SSE4.2 */
	brand_of(e.c, b);
	CHECK(!strcmp(b, "AMD EPYC Processor"));
	tcg_cpuid(e.c, 0x80000000, 0, r);
	CHECK_EQ(r[0], 0x8000001e);
	CHECK(!memcmp(&r[1], "Auth", 4));
	tcg_cpuid(e.c, 0x80000001, 0, r);
	CHECK_EQ(r[0], l1[0]);
	CHECK(r[3] & (1u << 11));                       /* SYSCALL outside long mode */
	CHECK_EQ(r[3] & 0x0183f3ffu, l1[3] & 0x0183f3ffu);
	CHECK(r[3] & (1u << 0 | 1u << 15 | 1u << 23 | 1u << 24));
	CHECK(r[3] & (1u << 26));                       /* EPYC has 1 GiB pages */
	CHECK(r[2] & (1u << 0 | 1u << 5));              /* LAHF, ABM */
	tcg_cpuid(e.c, 0x8000001e, 0, r);               /* in range, nothing there */
	CHECK(!r[0] && !r[1] && !r[2] && !r[3]);
	tcg_cpuid(e.c, 7, 0, r);
	CHECK(!(r[1] & (1u << 9 | 1u << 16)));
	tcg_cpuid(e.c, 0xd, 1, r);
	CHECK_EQ(r[0], 7);                              /* XSAVEOPT XSAVEC XGETBV1 */
	CHECK_EQ(tcg_cpuid_check_model("EPYC", &cfg.cpu_features), 0);    /* a warning */
	cfg.cpu_features.enforce = true;
	CHECK_EQ(tcg_cpuid_check_model("EPYC", &cfg.cpu_features), -1);
	char arg2[] = "qemu64,-mca,-svm,enforce";     /* all there: no line */
	CHECK_EQ(cpu_option_parse(arg2, &cfg.cpu_model, &cfg.cpu_features), 0);
	CHECK_EQ(tcg_cpuid_check_model("qemu64", &cfg.cpu_features), 0);
	CHECK_EQ(tcg_cpuid_xsave_offer(&cfg, 7), 3);    /* qemu64: no AVX */
	vendor_of(e.c, v);
	CHECK(!strcmp(v, "AuthenticAMD"));              /* QEMU's qemu64 is AMD's */
	tcg_cpuid(e.c, 1, 0, r);
	CHECK_EQ(r[0], 0x60fb1);                        /* family 15 model 107 */
	CHECK(!(r[2] & (1u << 26)));                    /* qemu64 has no XSAVE */
	e.m->cfg = NULL;
	tcg_env_free(&e);
}

TEST(tcg_cpuid_topology)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct config cfg = { .smp_cpus = 8, .sockets = 2, .cores = 2, .threads = 2 };
	struct vcpu v = { .m = e.m, .index = 5 };
	v.apic_id = topo_apic_id(&cfg, 5);              /* socket 1 core 0 thread 1 */
	e.m->cfg = &cfg;
	e.c->v = &v;
	uint32_t r[4];
	tcg_cpuid(e.c, 1, 0, r);
	CHECK_EQ(r[1] >> 24, 5);
	CHECK_EQ(r[1] >> 16 & 0xff, 4);                 /* logical per package */
	CHECK(r[3] & (1u << 28));                       /* HTT */
	tcg_cpuid(e.c, 0xb, 0, r);
	CHECK_EQ(r[0], 1);
	CHECK_EQ(r[1], 2);
	CHECK_EQ(r[3], 5);
	tcg_cpuid(e.c, 0xb, 1, r);
	CHECK_EQ(r[0], 2);
	CHECK_EQ(r[1], 4);
	CHECK_EQ(r[2] >> 8 & 0xff, 2);
	tcg_cpuid(e.c, 4, 0, r);                        /* L1d: per core */
	CHECK_EQ(r[0] >> 14 & 0xfff, 1);
	CHECK_EQ(r[0] >> 26, 1);
	tcg_cpuid(e.c, 4, 3, r);                        /* L3: per package */
	CHECK_EQ(r[0] >> 5 & 7, 3);
	CHECK_EQ(r[0] >> 14 & 0xfff, 3);
	e.c->v = NULL;
	e.m->cfg = NULL;
	tcg_env_free(&e);
}

TEST(tcg_cpuid_tsc_frequency)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	uint32_t r[4];
	tcg_cpuid(e.c, 0x15, 0, r);
	uint64_t hz = tsc_hz();
	if (r[0] && r[1]) {
		/* Linux's 32-bit crystal_kHz * numerator doesn't overflow, and
		 * crystal * numerator / denominator is the TSC as closely as
		 * any numerator within that bound gives it (searched here;
		 * about 1 ppm, depending on the host's rate) */
		uint32_t max_num = UINT32_MAX / (r[2] / 1000);
		CHECK(r[1] <= max_num);
		double x = (double)hz / r[2], best = x;
		for (uint32_t q = 1; q <= max_num / x + 1; q++) {
			double p = __builtin_round(x * q);
			if (p >= 1 && p <= max_num && __builtin_fabs(p / q - x) < best)
				best = __builtin_fabs(p / q - x);
		}
		double err = __builtin_fabs((double)r[1] / r[0] - x);
		CHECK(err <= best * (1 + 1e-9) + 1e-15);
		CHECK(err / x < 5e-6);
	}
	tcg_cpuid(e.c, 0x16, 0, r);
	CHECK_EQ(r[0], hz / 1000000);
	tcg_env_free(&e);
}

/* ------------------------------------------------------------------ */
/* MSRs                                                                */

static int wrmsr(struct tcg_env *e, uint32_t msr, uint64_t v)
{
	e->c->s.regs[R_RCX] = msr;
	e->c->s.regs[R_RAX] = (uint32_t)v;
	e->c->s.regs[R_RDX] = v >> 32;
	return STEP(e, 0x0f, 0x30);
}

static int rdmsr(struct tcg_env *e, uint32_t msr, uint64_t *v)
{
	e->c->s.regs[R_RCX] = msr;
	e->c->s.regs[R_RAX] = e->c->s.regs[R_RDX] = 0xdeadbeefdeadbeefULL;
	int r = STEP(e, 0x0f, 0x32);
	*v = (uint32_t)e->c->s.regs[R_RAX] | e->c->s.regs[R_RDX] << 32;
	return r;
}

TEST(tcg_msr_round_trips)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	static const struct { uint32_t msr; uint64_t v; } cases[] = {
		{ 0x174, 0x10 }, { 0x175, 0xffff800000001000ULL }, { 0x176, 0x12345678 },
		{ 0xc0000081, 0x0023001000000000ULL }, { 0xc0000082, 0xffffffff81000000ULL },
		{ 0xc0000083, 0x1000 }, { 0xc0000084, 0x47700 },
		{ 0xc0000100, 0x7fff00001000ULL }, { 0xc0000101, 0xffff888000000000ULL },
		{ 0xc0000102, 0x2000 }, { 0xc0000103, 3 },
		{ 0x277, 0x0007010600070106ULL },       /* PAT with WC */
		{ 0x2ff, 0xc06 },                       /* MTRRs on, default WB */
		{ 0x250, 0x0606060606060606ULL }, { 0x26f, 0x0505050505050505ULL },
		{ 0x200, 0x80000000 }, { 0x201, 0xff80000800ULL },
	};
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		uint64_t v;
		CHECK_EQ(wrmsr(&e, cases[k].msr, cases[k].v), -1);
		CHECK_EQ(rdmsr(&e, cases[k].msr, &v), -1);
		CHECK_EQ(v, cases[k].v);
	}
	uint64_t v;
	CHECK_EQ(e.c->s.seg[S_GS].base, 0xffff888000000000ULL);
	CHECK_EQ(rdmsr(&e, 0xfe, &v), -1);              /* MTRRCAP */
	CHECK_EQ(v & 0xff, 8);
	CHECK(v & (1 << 8));
	CHECK_EQ(rdmsr(&e, 0x1a0, &v), -1);             /* MISC_ENABLE */
	CHECK(v & 1);
	CHECK_EQ(rdmsr(&e, 0x3a, &v), -1);              /* locked */
	CHECK_EQ(v & 1, 1);
	CHECK_EQ(wrmsr(&e, 0x3a, 5), EXC_GP);
	CHECK_EQ(rdmsr(&e, 0x1b, &v), -1);
	CHECK_EQ(v, 0xfee00900);                        /* BSP, enabled */

	/* TSC: a write moves the guest's TSC */
	CHECK_EQ(wrmsr(&e, 0x10, 1ULL << 50), -1);
	CHECK_EQ(rdmsr(&e, 0x10, &v), -1);
	CHECK(v >= 1ULL << 50 && v < (1ULL << 50) + (1ULL << 40));
	STEP(&e, 0x0f, 0x31);                           /* RDTSC */
	CHECK_EQ(e.c->s.regs[R_RDX] >> 18, 1);
	tcg_env_free(&e);
}

/* Not affected by transient-execution attacks, said the architectural
 * way (cpuid.c): what Linux reads to skip PTI, VERW, retpolines, ... */
TEST(tcg_msr_speculation_controls)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	uint64_t v;
	CHECK_EQ(rdmsr(&e, 0x10a, &v), -1);             /* ARCH_CAPABILITIES */
	uint64_t need = 1ULL << 0 | 1ULL << 1 | 1ULL << 4 | 1ULL << 5 | 1ULL << 6 |
			1ULL << 8 | 1ULL << 13 | 1ULL << 14 | 1ULL << 15 | 1ULL << 20 |
			1ULL << 24 | 1ULL << 26 | 1ULL << 27 | 1ULL << 62;
	CHECK_EQ(v, need);      /* the _NO bits and IBRS_ALL; no RSBA, TSX_CTRL, ... */
	CHECK_EQ(wrmsr(&e, 0x10a, v), EXC_GP);          /* read-only */

	CHECK_EQ(rdmsr(&e, 0x48, &v), -1);              /* SPEC_CTRL */
	CHECK_EQ(v, 0);
	CHECK_EQ(wrmsr(&e, 0x48, 1 | 1 << 10), -1);     /* IBRS, BHI_DIS_S */
	CHECK_EQ(rdmsr(&e, 0x48, &v), -1);
	CHECK_EQ(v, 1 | 1 << 10);
	CHECK_EQ(wrmsr(&e, 0x48, 2), EXC_GP);           /* STIBP: not enumerated */
	CHECK_EQ(wrmsr(&e, 0x48, 4), EXC_GP);           /* SSBD: not enumerated */

	CHECK_EQ(wrmsr(&e, 0x49, 1), -1);               /* PRED_CMD: IBPB */
	CHECK_EQ(wrmsr(&e, 0x49, 2), EXC_GP);
	CHECK_EQ(rdmsr(&e, 0x49, &v), EXC_GP);          /* write-only */
	tcg_env_free(&e);
}

TEST(tcg_msr_gp_cases)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	uint64_t v;
	CHECK_EQ(rdmsr(&e, 0x12345, &v), EXC_GP);       /* unknown */
	CHECK_EQ(e.c->test_errcode, 0);
	CHECK_EQ(wrmsr(&e, 0x12345, 0), EXC_GP);
	CHECK_EQ(rdmsr(&e, 0x3b, &v), EXC_GP);          /* TSC_ADJUST: not advertised */
	CHECK_EQ(rdmsr(&e, 0xc0010000, &v), EXC_GP);    /* AMD */
	CHECK_EQ(wrmsr(&e, 0xc0000082, 0x0000800000000000ULL), EXC_GP); /* non-canonical */
	CHECK_EQ(wrmsr(&e, 0xc0000100, 0x8000000000000000ULL), EXC_GP);
	CHECK_EQ(wrmsr(&e, 0x277, 0x0007040600070402ULL), EXC_GP); /* PAT type 2 */
	CHECK_EQ(wrmsr(&e, 0x277, 0x0007040600070408ULL), EXC_GP);
	CHECK_EQ(wrmsr(&e, 0x2ff, 0x1006), EXC_GP);     /* reserved bit 12 */
	CHECK_EQ(wrmsr(&e, 0x2ff, 0xc07), EXC_GP);      /* UC- isn't an MTRR type */
	CHECK_EQ(wrmsr(&e, 0x250, 0x0606060606060602ULL), EXC_GP);
	CHECK_EQ(wrmsr(&e, 0x201, 0x800 | 1), EXC_GP);  /* reserved mask bit */
	CHECK_EQ(wrmsr(&e, 0x210, 0), EXC_GP);          /* only 8 variable ranges */
	CHECK_EQ(wrmsr(&e, 0xc0000080, 1ULL << 9), EXC_GP); /* EFER reserved */
	CHECK_EQ(wrmsr(&e, 0xc0000103, 1ULL << 32), EXC_GP);
	CHECK_EQ(rdmsr(&e, 0x802, &v), EXC_GP);         /* x2APIC without a LAPIC */

	/* EFER: LMA is read-only, NXE and SCE writable */
	CHECK_EQ(wrmsr(&e, 0xc0000080, EFER_NXE | EFER_SCE | EFER_LMA), -1);
	CHECK_EQ(rdmsr(&e, 0xc0000080, &v), -1);
	CHECK_EQ(v, EFER_NXE | EFER_SCE);

	/* CPL 3: #GP whatever the MSR */
	mode_prot32(&e, 3);
	CHECK_EQ(rdmsr(&e, 0xc0000080, &v), EXC_GP);
	CHECK_EQ(wrmsr(&e, 0xc0000081, 0), EXC_GP);
	tcg_env_free(&e);
}

/* ------------------------------------------------------------------ */
/* Control registers                                                   */

/* mov crN, eax / mov eax, crN in 32-bit code: 0F 22 / 0F 20, modrm C0|N<<3 */
static int mov_to_cr(struct tcg_env *e, unsigned n, uint64_t v)
{
	e->c->s.regs[R_RAX] = v;
	if (n == 8)
		return STEP(e, 0x44, 0x0f, 0x22, 0xc0);
	return STEP(e, 0x0f, 0x22, 0xc0 | n << 3);
}

static uint64_t mov_from_cr(struct tcg_env *e, unsigned n)
{
	e->c->s.regs[R_RBX] = 0x5a5a;
	if (n == 8)
		STEP(e, 0x44, 0x0f, 0x20, 0xc3);
	else
		STEP(e, 0x0f, 0x20, 0xc3 | n << 3);
	return e->c->s.regs[R_RBX];
}

TEST(tcg_cr0_cr4_checks)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	/* real mode: the reset CR0 reads back with ET */
	CHECK_EQ(mov_from_cr(&e, 0), 0x60000010);
	CHECK_EQ(mov_to_cr(&e, 0, CR0_PG), EXC_GP);             /* PG without PE */
	CHECK_EQ(mov_to_cr(&e, 0, CR0_NW), EXC_GP);             /* NW without CD */
	CHECK_EQ(mov_to_cr(&e, 0, CR0_PE | 0x100), -1);         /* reserved bit ignored */
	CHECK_EQ(c->s.cr0, CR0_PE | CR0_ET);
	CHECK(c->stop == false);                                /* the loop cleared it */
	CHECK_EQ(mov_to_cr(&e, 1, 0), EXC_UD);
	CHECK_EQ(mov_to_cr(&e, 5, 0), EXC_UD);
	CHECK_EQ(mov_to_cr(&e, 4, CR4_VME), EXC_GP);            /* not advertised */
	CHECK_EQ(mov_to_cr(&e, 4, CR4_OSXSAVE), EXC_GP);
	CHECK_EQ(mov_to_cr(&e, 4, 1ULL << 22), EXC_GP);          /* PKE */
	CHECK_EQ(mov_to_cr(&e, 4, CR4_PCIDE), EXC_GP);          /* outside IA-32e mode */
	CHECK_EQ(mov_to_cr(&e, 4, CR4_PSE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT), -1);
	CHECK_EQ(mov_from_cr(&e, 4), CR4_PSE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT);
	CHECK_EQ(mov_to_cr(&e, 2, 0x12345678), -1);
	CHECK_EQ(mov_from_cr(&e, 2), 0x12345678);
	/* CR8 (REX.R) is tested in 64-bit mode: tcg_long_mode_activation */

	/* CPL 3 */
	mode_prot32(&e, 3);
	CHECK_EQ(mov_to_cr(&e, 0, CR0_PE), EXC_GP);
	CHECK_EQ(c->test_errcode, 0);
	c->s.regs[R_RBX] = 0;
	CHECK_EQ(STEP(&e, 0x0f, 0x20, 0xc3), EXC_GP);
	tcg_env_free(&e);
}

TEST(tcg_long_mode_activation)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	tcg_env_identity_map(&e);
	mode_prot32(&e, 0);
	uint64_t v;
	CHECK_EQ(wrmsr(&e, 0xc0000080, EFER_LME), -1);
	CHECK_EQ(mov_to_cr(&e, 3, PML4), -1);
	/* paging with LME but without PAE */
	CHECK_EQ(mov_to_cr(&e, 0, CR0_PE | CR0_PG), EXC_GP);
	CHECK(!(c->s.efer & EFER_LMA));
	CHECK_EQ(mov_to_cr(&e, 4, CR4_PAE), -1);
	CHECK_EQ(mov_to_cr(&e, 0, CR0_PE | CR0_PG), -1);
	CHECK(c->s.efer & EFER_LMA);                            /* IA-32e, compatibility */
	CHECK(tcg_long_mode(c) && !tcg_code64(c));
	/* LME can't change with paging on; PAE can't go in IA-32e mode */
	CHECK_EQ(wrmsr(&e, 0xc0000080, 0), EXC_GP);
	CHECK_EQ(rdmsr(&e, 0xc0000080, &v), -1);
	CHECK_EQ(v, EFER_LME | EFER_LMA);
	CHECK_EQ(mov_to_cr(&e, 4, 0), EXC_GP);
	/* 64-bit mode: CR3 reserved bits, CR8, no clearing PG */
	tcg_env_flat_segs(c, 0, true);
	CHECK_EQ(mov_to_cr(&e, 3, 1ULL << 40 | PML4), EXC_GP);
	CHECK_EQ(mov_to_cr(&e, 3, PML4 | 0x18), -1);            /* PWT PCD */
	CHECK_EQ(mov_to_cr(&e, 0, 1ULL << 32 | CR0_PE | CR0_PG), EXC_GP);
	CHECK_EQ(mov_to_cr(&e, 8, 0x10), EXC_GP);
	CHECK_EQ(mov_to_cr(&e, 8, 0x9), -1);
	CHECK_EQ(mov_from_cr(&e, 8), 9);
	CHECK_EQ(mov_to_cr(&e, 0, CR0_PE), EXC_GP);
	/* leaving from compatibility mode clears LMA */
	tcg_env_flat_segs(c, 0, false);
	CHECK_EQ(mov_to_cr(&e, 0, CR0_PE), -1);
	CHECK(!(c->s.efer & EFER_LMA));
	CHECK(c->s.efer & EFER_LME);
	tcg_env_free(&e);
}

TEST(tcg_pae_pdpte_check)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_prot32(&e, 0);
	uint64_t pdpt[4] = { (PML4 + 0x2000) | 1 | (1 << 5), 0, 0, 0 };
	guest_write(e.m, 0x40000, pdpt, sizeof(pdpt));
	tcg_env_identity_map(&e);
	CHECK_EQ(mov_to_cr(&e, 4, CR4_PAE), -1);
	CHECK_EQ(mov_to_cr(&e, 3, 0x40000), -1);               /* paging off: no load */
	/* turning PAE paging on loads the PDPTEs: reserved bit 5 */
	CHECK_EQ(mov_to_cr(&e, 0, CR0_PE | CR0_PG), EXC_GP);
	CHECK(!(c->s.cr0 & CR0_PG));
	pdpt[0] = (PML4 + 0x2000) | 1;
	guest_write(e.m, 0x40000, pdpt, sizeof(pdpt));
	CHECK_EQ(mov_to_cr(&e, 0, CR0_PE | CR0_PG), -1);
	CHECK(!(c->s.efer & EFER_LMA));
	/* with paging on, a CR3 load checks the new PDPT */
	pdpt[1] = 1ULL << 63 | 1;                               /* XD is reserved here */
	guest_write(e.m, 0x41000, pdpt, sizeof(pdpt));
	CHECK_EQ(mov_to_cr(&e, 3, 0x41000), EXC_GP);
	CHECK_EQ(c->s.cr3, 0x40000);
	CHECK_EQ(mov_to_cr(&e, 3, 0x40000), -1);
	tcg_env_free(&e);
}

TEST(tcg_debug_registers)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_prot32(&e, 0);
	c->s.regs[R_RAX] = 0x12345678;
	CHECK_EQ(STEP(&e, 0x0f, 0x23, 0xc0), -1);               /* mov dr0, eax */
	CHECK_EQ(c->s.dr[0], 0x12345678);
	c->s.regs[R_RAX] = 0;
	CHECK_EQ(STEP(&e, 0x0f, 0x23, 0xf8), -1);               /* mov dr7, eax */
	CHECK_EQ(c->s.dr[7], 0x400);
	CHECK_EQ(STEP(&e, 0x0f, 0x21, 0xe3), -1);               /* mov ebx, dr4 = dr6 */
	CHECK_EQ(c->s.regs[R_RBX], 0xffff0ff0);
	c->s.cr4 = CR4_DE;
	CHECK_EQ(STEP(&e, 0x0f, 0x21, 0xe3), EXC_UD);
	/* general detect */
	c->s.dr[7] = 0x400 | (1 << 13);
	CHECK_EQ(STEP(&e, 0x0f, 0x21, 0xc3), EXC_DB);
	CHECK(c->s.dr[6] & (1 << 13));
	CHECK(!(c->s.dr[7] & (1 << 13)));
	mode_prot32(&e, 3);
	CHECK_EQ(STEP(&e, 0x0f, 0x21, 0xc3), EXC_GP);
	tcg_env_free(&e);
}

/* ------------------------------------------------------------------ */
/* Port I/O                                                            */

struct test_port {
	uint8_t written[64];
	unsigned nwritten;
	unsigned reads;
};

static uint64_t port_read(void *opaque, uint64_t off, unsigned size)
{
	struct test_port *p = opaque;
	p->reads++;
	return (0x40 + off) * 0x01010101ULL & size_mask(size);
}

static void port_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	struct test_port *p = opaque;
	(void)off;
	for (unsigned k = 0; k < size && p->nwritten < sizeof(p->written); k++)
		p->written[p->nwritten++] = v >> (8 * k);
}

static const struct io_ops port_ops = { port_read, port_write };

/* A 32-bit TSS at TSS with a bit map at +0x68 for ports 0-0x3ff that
 * allows only 0x80 and 0x81. */
static void setup_tss(struct tcg_env *e)
{
	uint8_t tss[0x68 + 128 + 1];
	memset(tss, 0, sizeof(tss));
	tss[0x66] = 0x68;
	memset(tss + 0x68, 0xff, 129);
	tss[0x68 + 0x10] = 0xfc;
	guest_write(e->m, TSS, tss, sizeof(tss));
	e->c->s.tr = (struct x86_segment){ .base = TSS, .limit = sizeof(tss) - 1,
					   .selector = 0x28, .type = 0xb, .present = 1 };
}

TEST(tcg_io_permission_bitmap)
{
	struct tcg_env e;
	struct test_port port = { 0 };
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	CHECK_EQ(machine_add_pio(e.m, 0x80, 8, &port_ops, &port, "test"), 0);
	setup_tss(&e);
	mode_prot32(&e, 3);
	CHECK_EQ(STEP(&e, 0xe4, 0x80), -1);                     /* in al, 0x80 */
	CHECK_EQ(c->s.regs[R_RAX] & 0xff, 0x40);
	CHECK_EQ(STEP(&e, 0xe4, 0x82), EXC_GP);
	CHECK_EQ(c->test_errcode, 0);
	CHECK_EQ(STEP(&e, 0x66, 0xe5, 0x80), -1);               /* in ax, 0x80 */
	CHECK_EQ(c->s.regs[R_RAX] & 0xffff, 0x4040);
	CHECK_EQ(STEP(&e, 0x66, 0xe5, 0x81), EXC_GP);           /* 0x82 denied */
	CHECK_EQ(STEP(&e, 0xe5, 0x80), EXC_GP);                 /* in eax: 0x82, 0x83 */
	c->s.regs[R_RDX] = 0x81;
	c->s.regs[R_RAX] = 0x99;
	CHECK_EQ(STEP(&e, 0xee), -1);                           /* out dx, al */
	CHECK_EQ(port.nwritten, 1);
	CHECK_EQ(port.written[0], 0x99);
	c->s.regs[R_RDX] = 0x500;                               /* beyond the TSS */
	CHECK_EQ(STEP(&e, 0xec), EXC_GP);
	unsigned reads = port.reads;
	c->s.regs[R_RDX] = 0x84;
	CHECK_EQ(STEP(&e, 0xec), EXC_GP);
	CHECK_EQ(port.reads, reads);                            /* the device never saw it */

	/* IOPL 3 at CPL 3: no bit map */
	set_iopl(c, 3);
	CHECK_EQ(STEP(&e, 0xec), -1);
	CHECK_EQ(c->s.regs[R_RAX] & 0xff, 0x44);
	/* CPL 0: no bit map; an unassigned port reads all ones */
	mode_prot32(&e, 0);
	c->s.regs[R_RDX] = 0x300;
	CHECK_EQ(STEP(&e, 0xed), -1);
	CHECK_EQ(c->s.regs[R_RAX], 0xffffffff);
	/* a 16-bit TSS has no bit map */
	mode_prot32(&e, 3);
	c->s.tr.type = 3;
	CHECK_EQ(STEP(&e, 0xe4, 0x80), EXC_GP);
	/* virtual-8086 mode consults the bit map even with IOPL 3 */
	setup_tss(&e);
	c->s.rflags = 2 | FL_VM | FL_IOPL;
	for (int k = 0; k < S_NR; k++)
		c->s.seg[k] = (struct x86_segment){ .limit = 0xffff, .type = k == S_CS ? 0xb : 3,
						    .s = 1, .dpl = 3, .present = 1 };
	CHECK_EQ(STEP(&e, 0xe4, 0x80), -1);
	CHECK_EQ(STEP(&e, 0xe4, 0x82), EXC_GP);
	tcg_env_free(&e);
}

TEST(tcg_rep_ins_outs)
{
	struct tcg_env e;
	struct test_port port = { 0 };
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	CHECK_EQ(machine_add_pio(e.m, 0x80, 8, &port_ops, &port, "test"), 0);
	guest_write(e.m, DATA, "abcd", 4);
	/* real mode: rep outsb from DS:SI, 4 bytes */
	c->s.regs[R_RSI] = DATA;
	c->s.regs[R_RCX] = 4;
	c->s.regs[R_RDX] = 0x80;
	CHECK_EQ(STEP(&e, 0xf3, 0x6e), -1);
	CHECK_EQ(port.nwritten, 4);
	CHECK(!memcmp(port.written, "abcd", 4));
	CHECK_EQ(c->s.regs[R_RSI], DATA + 4);
	CHECK_EQ(c->s.regs[R_RCX], 0);
	/* rep insw into ES:DI, backwards */
	c->s.regs[R_RDI] = DATA + 0x100;
	c->s.regs[R_RCX] = 3;
	c->s.regs[R_RDX] = 0x82;
	tcg_set_rflags(c, FL_DF, FL_DF);
	CHECK_EQ(STEP(&e, 0xf3, 0x6d), -1);                     /* rep insw */
	CHECK_EQ(c->s.regs[R_RDI], DATA + 0x100 - 6);
	CHECK_EQ(c->s.regs[R_RCX], 0);
	uint16_t w[4];
	guest_read(e.m, DATA + 0xfc, w, sizeof(w));
	CHECK_EQ(w[0], 0x4242);
	CHECK_EQ(w[2], 0x4242);
	/* rep with rCX = 0 does nothing */
	unsigned reads = port.reads;
	CHECK_EQ(STEP(&e, 0xf3, 0x6c), -1);
	CHECK_EQ(port.reads, reads);
	/* one insb without rep */
	tcg_set_rflags(c, 0, FL_DF);
	c->s.regs[R_RDI] = DATA + 0x200;
	CHECK_EQ(STEP(&e, 0x6c), -1);
	CHECK_EQ(c->s.regs[R_RDI], DATA + 0x201);
	tcg_env_free(&e);
}

/* ------------------------------------------------------------------ */
/* Flags privileges, HLT                                               */

TEST(tcg_cli_sti_popf_privileges)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	/* real mode: anything goes */
	CHECK_EQ(STEP(&e, 0xfb), -1);                           /* sti */
	CHECK(c->s.rflags & FL_IF);
	CHECK(c->inhibit_irq);
	CHECK_EQ(STEP(&e, 0xfa), -1);                           /* cli */
	CHECK(!(c->s.rflags & FL_IF));

	/* CPL 3, IOPL 0 */
	mode_prot32(&e, 3);
	CHECK_EQ(STEP(&e, 0xfa), EXC_GP);
	CHECK_EQ(STEP(&e, 0xfb), EXC_GP);
	uint32_t img = FL_IF | FL_IOPL | FL_CF | FL_ZF | FL_DF | FL_AC | FL_RF;
	guest_write(e.m, STACK_TOP - 4, &img, 4);
	c->s.regs[R_RSP] = STACK_TOP - 4;
	CHECK_EQ(STEP(&e, 0x9d), -1);                           /* popf */
	uint64_t f = tcg_rflags(c);
	CHECK_EQ(f & (FL_IF | FL_IOPL | FL_RF), 0);             /* kept / cleared */
	CHECK_EQ(f & (FL_CF | FL_ZF | FL_DF | FL_AC), FL_CF | FL_ZF | FL_DF | FL_AC);
	CHECK_EQ(c->s.regs[R_RSP], STACK_TOP);

	/* CPL 3, IOPL 3: IF yes, IOPL no */
	set_iopl(c, 3);
	CHECK_EQ(STEP(&e, 0xfb), -1);
	CHECK(c->s.rflags & FL_IF);
	img = 0;
	guest_write(e.m, STACK_TOP - 4, &img, 4);
	c->s.regs[R_RSP] = STACK_TOP - 4;
	CHECK_EQ(STEP(&e, 0x9d), -1);
	f = tcg_rflags(c);
	CHECK_EQ(f & FL_IOPL, FL_IOPL);
	CHECK(!(f & FL_IF));

	/* CPL 0: IOPL changes too, VM never */
	mode_prot32(&e, 0);
	img = FL_IOPL | FL_VM | FL_IF;
	guest_write(e.m, STACK_TOP - 4, &img, 4);
	c->s.regs[R_RSP] = STACK_TOP - 4;
	CHECK_EQ(STEP(&e, 0x9d), -1);
	f = tcg_rflags(c);
	CHECK_EQ(f & (FL_IOPL | FL_IF | FL_VM), FL_IOPL | FL_IF);

	/* pushf: 16-bit form, the high half stays on the stack */
	c->s.regs[R_RSP] = STACK_TOP;
	CHECK_EQ(STEP(&e, 0x66, 0x9c), -1);
	CHECK_EQ(c->s.regs[R_RSP], STACK_TOP - 2);
	uint16_t w;
	guest_read(e.m, STACK_TOP - 2, &w, 2);
	CHECK_EQ(w, (uint16_t)tcg_rflags(c));

	/* virtual-8086 mode with IOPL < 3: PUSHF, POPF, CLI are #GP */
	c->s.rflags = 2 | FL_VM;
	for (int k = 0; k < S_NR; k++)
		c->s.seg[k] = (struct x86_segment){ .limit = 0xffff, .type = k == S_CS ? 0xb : 3,
						    .s = 1, .dpl = 3, .present = 1 };
	CHECK_EQ(STEP(&e, 0x9c), EXC_GP);
	CHECK_EQ(STEP(&e, 0x9d), EXC_GP);
	CHECK_EQ(STEP(&e, 0xfa), EXC_GP);
	tcg_env_free(&e);
}

TEST(tcg_pushf_long_mode)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_long64(&e, 0);
	tcg_set_rflags(c, FL_RF | FL_CF | FL_IF, FL_RF | FL_CF | FL_IF);
	c->s.regs[R_RSP] = STACK_TOP;
	CHECK_EQ(STEP(&e, 0x9c), -1);
	CHECK_EQ(c->s.regs[R_RSP], STACK_TOP - 8);
	uint64_t q;
	guest_read(e.m, STACK_TOP - 8, &q, 8);
	CHECK_EQ(q, 2 | FL_CF | FL_IF);                         /* RF cleared in the image */
	tcg_env_free(&e);
}

TEST(tcg_hlt)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	uint64_t at = e.code;
	CHECK_EQ(STEP(&e, 0xf4), -1);
	CHECK(c->halted);
	CHECK_EQ(c->s.rip, at + 1);
	c->halted = false;
	mode_prot32(&e, 3);
	CHECK_EQ(STEP(&e, 0xf4), EXC_GP);
	CHECK(!c->halted);
	tcg_env_free(&e);
}

/* ------------------------------------------------------------------ */
/* Group 7 and friends                                                 */

TEST(tcg_group7)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	/* real mode LGDT: 16-bit operand size keeps 24 bits of base */
	uint8_t desc[10] = { 0xff, 0x00, 0x78, 0x56, 0x34, 0x12 };
	guest_write(e.m, DATA, desc, 6);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0x16, DATA & 0xff, DATA >> 8), -1); /* lgdt [DATA] */
	CHECK_EQ(c->s.gdt.limit, 0xff);
	CHECK_EQ(c->s.gdt.base, 0x345678);
	/* 32-bit: LIDT full base, SIDT stores 6 bytes */
	mode_prot32(&e, 0);
	c->s.regs[R_RAX] = DATA;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0x18), -1);               /* lidt [eax] */
	CHECK_EQ(c->s.idt.base, 0x12345678);
	c->s.regs[R_RAX] = DATA + 0x20;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0x08), -1);               /* sidt [eax] */
	guest_read(e.m, DATA + 0x20, desc, 6);
	CHECK(!memcmp(desc, "\xff\x00\x78\x56\x34\x12", 6));
	/* SMSW, LMSW: PE stays, the low four bits change */
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xe3), -1);               /* smsw ebx */
	CHECK_EQ(c->s.regs[R_RBX], c->s.cr0);
	c->s.regs[R_RAX] = CR0_TS | CR0_MP;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xf0), -1);               /* lmsw ax */
	CHECK_EQ(c->s.cr0 & 0xf, CR0_PE | CR0_TS | CR0_MP);
	CHECK_EQ(STEP(&e, 0x0f, 0x06), -1);                     /* clts */
	CHECK(!(c->s.cr0 & CR0_TS));
	/* not advertised: MONITOR, XGETBV, VMCALL; SWAPGS outside 64-bit */
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xc8), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xd0), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xc1), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xf8), EXC_UD);
	CHECK_EQ(STEP(&e, 0x0f, 0x0b), EXC_UD);                 /* ud2 */
	CHECK_EQ(STEP(&e, 0x0f, 0xaa), EXC_UD);                 /* rsm */
	CHECK_EQ(STEP(&e, 0x0f, 0x09), -1);                     /* wbinvd */
	c->s.regs[R_RAX] = DATA;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0x38), -1);               /* invlpg [eax] */
	/* CPL 3: LGDT, LMSW, INVLPG, CLTS #GP; SGDT, SMSW allowed (no UMIP) */
	mode_prot32(&e, 3);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0x10), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xf0), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0x38), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0x06), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0x09), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0x00), -1);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xe3), -1);
	tcg_env_free(&e);
}

TEST(tcg_swapgs_rdtscp_long_mode)
{
	struct tcg_env e;
	CHECK(env_init(&e));
	struct tcg_cpu *c = e.c;
	mode_long64(&e, 0);
	c->s.seg[S_GS].base = 0x1111;
	c->s.kernel_gs_base = 0xffff888000002222ULL;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xf8), -1);
	CHECK_EQ(c->s.seg[S_GS].base, 0xffff888000002222ULL);
	CHECK_EQ(c->s.kernel_gs_base, 0x1111);
	/* SGDT stores 10 bytes in 64-bit mode */
	c->s.gdt.base = 0xffffffff81234567ULL;
	c->s.gdt.limit = 0x7f;
	c->s.regs[R_RAX] = DATA;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0x00), -1);
	uint8_t buf[10];
	guest_read(e.m, DATA, buf, 10);
	uint64_t base;
	memcpy(&base, buf + 2, 8);
	CHECK_EQ(base, 0xffffffff81234567ULL);
	/* RDTSCP: TSC_AUX in ECX */
	c->s.tsc_aux = 7;
	c->s.regs[R_RCX] = ~0ULL;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xf9), -1);
	CHECK_EQ(c->s.regs[R_RCX], 7);
	CHECK(c->s.regs[R_RAX] >> 32 == 0 && c->s.regs[R_RDX] >> 32 == 0);
	/* INVLPG of a non-canonical address is a no-op */
	c->s.regs[R_RAX] = 0x8000000000000000ULL;
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0x38), -1);
	/* CR4.TSD: RDTSC/RDTSCP privileged; SWAPGS at CPL 3 #GP */
	c->s.cr4 |= CR4_TSD;
	tcg_env_flat_segs(c, 3, true);
	CHECK_EQ(STEP(&e, 0x0f, 0x31), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xf9), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0x01, 0xf8), EXC_GP);
	CHECK_EQ(STEP(&e, 0x0f, 0x33), EXC_GP);                 /* rdpmc */
	tcg_env_free(&e);
}
