/* -cpu MODEL,+FEAT,-FEAT,FEAT=on|off (user/cpu-model.c). */
#include <stdio.h>
#include <string.h>
#include "unit.h"
#include "qvm.h"
#include "cpu.h"
#include "cpu-model.h"

static int parse(const char *s, char *buf, size_t n, const char **model,
		 struct cpu_features *f)
{
	snprintf(buf, n, "%s", s);
	return cpu_option_parse(buf, model, f);
}

#define AVX2 (1u << 5)          /* CPUID.07H:EBX */
#define X2APIC (1u << 21)       /* CPUID.01H:ECX */
#define SSE41 (1u << 19)
#define SSE42 (1u << 20)
#define SSE3 (1u << 0)
#define NX (1u << 20)           /* CPUID.80000001H:EDX */
#define LAHF (1u << 0)          /* CPUID.80000001H:ECX */

TEST(cpu_model_name_alone)
{
	char buf[128];
	const char *model = NULL;
	struct cpu_features f;
	CHECK_EQ(parse("qemu64", buf, sizeof(buf), &model, &f), 0);
	CHECK(!strcmp(model, "qemu64"));
	for (unsigned w = 0; w < CPUID_WORDS; w++)
		CHECK(!f.on[w] && !f.off[w]);
	CHECK(!f.enforce);
}

TEST(cpu_model_plus_minus_on_off)
{
	char buf[128];
	const char *model = NULL;
	struct cpu_features f;
	CHECK_EQ(parse("qemu64,+avx2,-x2apic,sse4.1=off,nx=on,lahf_lm", buf, sizeof(buf),
		       &model, &f), 0);
	CHECK(!strcmp(model, "qemu64"));
	CHECK_EQ(f.on[CPUID_7_0_EBX], AVX2);
	CHECK_EQ(f.off[CPUID_1_ECX], X2APIC | SSE41);
	CHECK_EQ(f.on[CPUID_8000_0001_EDX], NX);
	CHECK_EQ(f.on[CPUID_8000_0001_ECX], LAHF);      /* bare name: on; _ is - */
	CHECK_EQ(f.on[CPUID_1_ECX], 0);
}

TEST(cpu_model_aliases_and_last_wins)
{
	char buf[128];
	const char *model = NULL;
	struct cpu_features f;
	CHECK_EQ(parse("max,+sse4_2,-sse4-2,+sse3,avx2=no,avx2=yes,enforce", buf,
		       sizeof(buf), &model, &f), 0);
	CHECK(!strcmp(model, "max"));
	CHECK_EQ(f.off[CPUID_1_ECX], SSE42);            /* the later -sse4-2 */
	CHECK_EQ(f.on[CPUID_1_ECX], SSE3);              /* sse3 is pni */
	CHECK_EQ(f.on[CPUID_7_0_EBX], AVX2);
	CHECK_EQ(f.off[CPUID_7_0_EBX], 0);
	CHECK(f.enforce);
	CHECK_EQ(parse("max,enforce=off,check", buf, sizeof(buf), &model, &f), 0);
	CHECK(!f.enforce);
}

TEST(cpu_model_bad_strings)
{
	static const char *const bad[] = {
		"qemu64,+foo", "qemu64,foo=on", "qemu64,avx2=maybe", "qemu64,+",
		"qemu64,,+avx2", "qemu64,+avx2=on", ",+avx2", "", "qemu64,-",
		"qemu64,+avx2,", "qemu64,+this-name-is-far-too-long-to-be-a-feature",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char buf[128];
		const char *model = NULL;
		struct cpu_features f;
		if (parse(bad[i], buf, sizeof(buf), &model, &f) != -1) {
			printf("    accepted: -cpu '%s'\n", bad[i]);
			CHECK(0);
		}
	}
}

TEST(cpu_model_words)
{
	CHECK_EQ(cpuid_word_of(1, 0, 3), CPUID_1_EDX);
	CHECK_EQ(cpuid_word_of(1, 5, 2), CPUID_1_ECX);  /* leaf 1 has no subleaves */
	CHECK_EQ(cpuid_word_of(7, 0, 1), CPUID_7_0_EBX);
	CHECK_EQ(cpuid_word_of(7, 2, 3), CPUID_7_2_EDX);
	CHECK_EQ(cpuid_word_of(7, 1, 1), -1);
	CHECK_EQ(cpuid_word_of(1, 0, 0), -1);           /* the signature */
	CHECK_EQ(cpuid_word_of(0x80000001, 0, 3), CPUID_8000_0001_EDX);
}

TEST(cpu_model_apply)
{
	char buf[128];
	const char *model = NULL;
	struct cpu_features f;
	CHECK_EQ(parse("qemu64,+avx2,+x2apic,-sse4.1", buf, sizeof(buf), &model, &f), 0);
	/* removing works without avail; adding takes what avail has */
	uint32_t r[4] = { 0x306a9, 0, SSE41 | SSE42, 1 };
	cpu_features_apply(&f, 1, 0, r, NULL);
	CHECK_EQ(r[0], 0x306a9);
	CHECK_EQ(r[2], SSE42);
	CHECK_EQ(r[3], 1);
	const uint32_t avail1[4] = { 0, 0, X2APIC, 0 };
	cpu_features_apply(&f, 1, 0, r, avail1);
	CHECK_EQ(r[2], SSE42 | X2APIC);
	uint32_t r7[4] = { 0 };
	const uint32_t none[4] = { 0 };
	cpu_features_apply(&f, 7, 0, r7, none);         /* offered: nothing */
	CHECK_EQ(r7[1], 0);
	const uint32_t avx2[4] = { 0, AVX2, 0, 0 };
	cpu_features_apply(&f, 7, 1, r7, avx2);         /* another subleaf */
	CHECK_EQ(r7[1], 0);
	cpu_features_apply(&f, 7, 0, r7, avx2);
	CHECK_EQ(r7[1], AVX2);
}

TEST(cpu_model_check_warns_or_enforces)
{
	char buf[128];
	const char *model = NULL;
	struct cpu_features f;
	uint32_t sup[CPUID_WORDS] = { 0 };
	sup[CPUID_1_ECX] = X2APIC;
	CHECK_EQ(parse("qemu64,+x2apic,-avx2", buf, sizeof(buf), &model, &f), 0);
	CHECK_EQ(cpu_features_check(&f, sup, "test"), 0);
	CHECK_EQ(parse("qemu64,+x2apic,+avx2", buf, sizeof(buf), &model, &f), 0);
	CHECK_EQ(cpu_features_check(&f, sup, "test"), 0);       /* a warning */
	CHECK_EQ(parse("qemu64,+x2apic,+avx2,enforce", buf, sizeof(buf), &model, &f), 0);
	CHECK_EQ(cpu_features_check(&f, sup, "test"), -1);
	CHECK_EQ(parse("qemu64,+x2apic,enforce", buf, sizeof(buf), &model, &f), 0);
	CHECK_EQ(cpu_features_check(&f, sup, "test"), 0);
}

/* The named models (user/cpu-models.c): each resolves (its flag names
 * exist), with QEMU 7.2's identity for it */
TEST(cpu_model_named_models)
{
	static const struct {
		const char *name, *vendor, *brand;
		uint32_t sig, xlevel;
	} want[] = {
		{ "qemu64", "AuthenticAMD", "QEMU Virtual CPU version 2.5+", 0x60fb1, 0x8000000a },
		{ "kvm64", "GenuineIntel", "Common KVM processor", 0xf61, 0x80000008 },
		{ "Haswell", "GenuineIntel", "Intel Core Processor (Haswell)", 0x306c4, 0x80000008 },
		{ "Haswell-noTSX", "GenuineIntel", "Intel Core Processor (Haswell, no TSX)", 0x306c1,
		  0x80000008 },
		{ "Broadwell", "GenuineIntel", "Intel Core Processor (Broadwell)", 0x306d2, 0x80000008 },
		{ "Skylake-Client", "GenuineIntel", "Intel Core Processor (Skylake)", 0x506e3,
		  0x80000008 },
		{ "Skylake-Server", "GenuineIntel", "Intel Xeon Processor (Skylake)", 0x50654,
		  0x80000008 },
		{ "Cascadelake-Server", "GenuineIntel", "Intel Xeon Processor (Cascadelake)", 0x50656,
		  0x80000008 },
		{ "Icelake-Server", "GenuineIntel", "Intel Xeon Processor (Icelake)", 0x80660,
		  0x80000008 },
		{ "EPYC", "AuthenticAMD", "AMD EPYC Processor", 0x800f12, 0x8000001e },
		{ "EPYC-Rome", "AuthenticAMD", "AMD EPYC-Rome Processor", 0x830f10, 0x8000001e },
	};
	struct cpu_def d;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		CHECK_EQ(cpu_def_init(&d, want[i].name, NULL), 0);
		CHECK_EQ(d.kind, CPU_MODEL_NAMED);
		CHECK(!strcmp(d.vendor, want[i].vendor));
		CHECK(!strncmp(d.brand, want[i].brand, sizeof(d.brand)));
		CHECK_EQ(d.signature, want[i].sig);
		CHECK_EQ(d.level, 0xd);
		CHECK_EQ(d.xlevel, want[i].xlevel);
		CHECK_EQ(d.amd, want[i].vendor[0] == 'A');
		CHECK_EQ(cpu_model_amd(want[i].name, NULL), d.amd);
		/* every model has the x86-64 baseline: FPU CX8 CMOV FXSR SSE2, LM */
		CHECK_EQ(d.want[CPUID_1_EDX] & 0x05008101u, 0x05008101u);
		CHECK(d.want[CPUID_8000_0001_EDX] & (1u << 29));
	}
	CHECK_EQ(cpu_def_init(&d, "max", NULL), 0);
	CHECK_EQ(d.kind, CPU_MODEL_MAX);
	CHECK_EQ(cpu_def_init(&d, NULL, NULL), 0);       /* the default */
	CHECK_EQ(d.kind, CPU_MODEL_MAX);
	CHECK_EQ(cpu_def_init(&d, "host", NULL), 0);
	CHECK_EQ(d.kind, CPU_MODEL_HOST);
	CHECK_EQ(cpu_def_init(&d, "Nehalem", NULL), -1);
	CHECK(!cpu_model_known("haswell"));              /* names are exact */
}

/* Feature sets that tell the models apart (QEMU's definitions) */
TEST(cpu_model_named_features)
{
	struct cpu_def hsw, notsx, bdw, skx, icx, epyc, rome;
	CHECK_EQ(cpu_def_init(&hsw, "Haswell", NULL), 0);
	CHECK_EQ(cpu_def_init(&notsx, "Haswell-noTSX", NULL), 0);
	CHECK_EQ(cpu_def_init(&bdw, "Broadwell", NULL), 0);
	CHECK_EQ(cpu_def_init(&skx, "Skylake-Server", NULL), 0);
	CHECK_EQ(cpu_def_init(&icx, "Icelake-Server", NULL), 0);
	CHECK_EQ(cpu_def_init(&epyc, "EPYC", NULL), 0);
	CHECK_EQ(cpu_def_init(&rome, "EPYC-Rome", NULL), 0);
	const uint32_t hle_rtm = 1u << 4 | 1u << 11, avx2 = 1u << 5, avx512f = 1u << 16;
	/* x86-64-v3: AVX AVX2 BMI1 BMI2 F16C FMA LZCNT MOVBE XSAVE */
	const uint32_t v3_ecx = 1u << 28 | 1u << 29 | 1u << 12 | 1u << 22 | 1u << 26;
	const uint32_t v3_7 = avx2 | 1u << 3 | 1u << 8;
	const struct cpu_def *v3[] = { &hsw, &notsx, &bdw, &skx, &icx, &epyc, &rome };
	for (size_t i = 0; i < ARRAY_SIZE(v3); i++) {
		CHECK_EQ(v3[i]->want[CPUID_1_ECX] & v3_ecx, v3_ecx);
		CHECK_EQ(v3[i]->want[CPUID_7_0_EBX] & v3_7, v3_7);
		CHECK(v3[i]->want[CPUID_8000_0001_ECX] & (1u << 5));    /* abm: LZCNT */
	}
	CHECK_EQ(hsw.want[CPUID_7_0_EBX] & hle_rtm, hle_rtm);
	CHECK_EQ(notsx.want[CPUID_7_0_EBX] & hle_rtm, 0);
	CHECK(!(hsw.want[CPUID_7_0_EBX] & (1u << 19)));              /* ADX from Broadwell */
	CHECK(bdw.want[CPUID_7_0_EBX] & (1u << 19));
	CHECK(!(bdw.want[CPUID_7_0_EBX] & avx512f));
	CHECK(skx.want[CPUID_7_0_EBX] & avx512f);
	CHECK(icx.want[CPUID_7_0_ECX] & (1u << 16));                  /* la57 */
	CHECK(epyc.want[CPUID_7_0_EBX] & (1u << 29));                 /* sha-ni */
	CHECK(!(epyc.want[CPUID_1_ECX] & (1u << 21)));                /* no x2apic */
	CHECK(epyc.want[CPUID_8000_0001_ECX] & (1u << 6));            /* sse4a */
	CHECK(rome.want[CPUID_7_0_ECX] & (1u << 22));                 /* rdpid */
	CHECK(rome.want[CPUID_8000_0008_EBX] & (1u << 2));            /* xsaveerptr */
	/* the XSAVE components their features allow */
	CHECK_EQ(cpu_def_xcr0(&hsw), 0x7);
	CHECK_EQ(cpu_def_xcr0(&skx), 0x2e7);                          /* AVX-512, PKRU */
	CHECK_EQ(cpu_def_xcr0(&epyc), 0x7);
	struct cpu_def q;
	CHECK_EQ(cpu_def_init(&q, "qemu64", NULL), 0);
	CHECK_EQ(cpu_def_xcr0(&q), 0x3);
	CHECK_EQ(cpu_def_init(&q, "max", NULL), 0);
	CHECK_EQ(cpu_def_xcr0(&q), ~0ULL);
}

/* +FEAT/-FEAT on a model, vendor= and model-id=, and the mask engines
 * apply: the model's bits, the engine's (ht, hypervisor, unnamed ones) */
TEST(cpu_model_def_options)
{
	char buf[160];
	const char *model = NULL;
	struct cpu_features f;
	struct cpu_def d;
	CHECK_EQ(parse("Haswell,-avx2,+sha-ni,vendor=AuthenticAMD,model-id=My CPU,-hypervisor",
		       buf, sizeof(buf), &model, &f), 0);
	CHECK_EQ(cpu_def_init(&d, model, &f), 0);
	CHECK(!(d.want[CPUID_7_0_EBX] & AVX2));
	CHECK(d.want[CPUID_7_0_EBX] & (1u << 29));
	CHECK(!strcmp(d.vendor, "AuthenticAMD") && d.vendor_set && d.amd);
	CHECK(!strcmp(d.brand, "My CPU") && d.brand_set);
	CHECK_EQ(d.signature, 0x306c4);                 /* the rest stays Haswell's */
	CHECK(cpu_model_amd(model, &f));
	uint32_t m = cpu_def_mask(&d, &f, CPUID_1_ECX);
	CHECK(m & SSE42);                               /* Haswell's */
	CHECK(!(m & (1u << 3)));                        /* monitor: not Haswell's */
	CHECK(m & (1u << 27));                          /* OSXSAVE has no name */
	CHECK(!(m & (1u << 31)));                       /* -hypervisor */
	CHECK(cpu_def_mask(&d, &f, CPUID_1_EDX) & (1u << 28));  /* ht */
	CHECK(!(cpu_def_mask(&d, &f, CPUID_7_0_EBX) & AVX2));
	/* max: only -FEAT counts */
	CHECK_EQ(parse("max,-x2apic,+avx2", buf, sizeof(buf), &model, &f), 0);
	CHECK_EQ(cpu_def_init(&d, model, &f), 0);
	CHECK_EQ(cpu_def_mask(&d, &f, CPUID_1_ECX), ~X2APIC);
	CHECK_EQ(cpu_def_mask(&d, &f, CPUID_7_0_EBX), ~0u);
	CHECK(!d.amd && !d.vendor[0]);
	/* bad ones */
	static const char *const bad[] = {
		"Nehalem", "haswell,+avx2", "max,vendor=Intel", "max,vendor=",
		"max,model-id=0123456789012345678901234567890123456789012345678",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (parse(bad[i], buf, sizeof(buf), &model, &f) != -1) {
			printf("    accepted: -cpu '%s'\n", bad[i]);
			CHECK(0);
		}
	}
}

TEST(cpu_model_signature)
{
	CHECK_EQ(cpu_signature(6, 0x3a, 9), 0x306a9);
	CHECK_EQ(cpu_signature(0x17, 0x31, 0), 0x830f10);
	CHECK_EQ(cpu_signature(0x19, 0x01, 1), 0xa00f11);
	CHECK_EQ(cpu_signature(15, 6, 1), 0xf61);
}
