/* -cpu MODEL,+FEAT,-FEAT,FEAT=on|off (user/cpu-model.c). */
#include <stdio.h>
#include <string.h>
#include "unit.h"
#include "qvm.h"
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
