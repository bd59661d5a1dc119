/*
 * The named CPU models of -cpu: QEMU 7.2's definitions (the unversioned
 * names, i.e. their v1, as "query-cpu-model-expansion" reports them), in
 * QEMU's feature names (cpu-model.c).  Vendor, family/model/stepping,
 * brand string and highest leaves as QEMU gives them; the flags are those
 * of the model, before an engine drops what it can't provide.  "hypervisor"
 * is left to the engines (always on, as QEMU sets it), and so are the
 * leaves outside the feature words (caches, topology, XSAVE sizes).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "cpu.h"
#include "cpu-model.h"
#include "log.h"
#include "qvm.h"

struct cpu_model {
	const char *name, *desc;
	enum cpu_model_kind kind;
	const char *vendor;
	unsigned family, model, stepping;
	const char *model_id;
	uint32_t level, xlevel;
	const char *flags;
};

#define INTEL "GenuineIntel"
#define AMD "AuthenticAMD"

/* Leaf 1 EDX of a P6-class processor with VME */
#define P6_EDX "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 " \
	"clflush mmx fxsr sse sse2 "
/* Leaf 1 ECX from Haswell on */
#define HSW_ECX "pni pclmulqdq ssse3 fma cx16 pcid sse4.1 sse4.2 x2apic movbe popcnt " \
	"tsc-deadline aes xsave avx f16c rdrand "
#define HSW_7 "fsgsbase bmi1 hle avx2 smep bmi2 erms invpcid rtm "
#define LM_EDX "syscall nx rdtscp lm "
#define SKX_7 HSW_7 "avx512f avx512dq rdseed adx smap clflushopt clwb avx512cd avx512bw " \
	"avx512vl pku "
#define EPYC_FLAGS P6_EDX "pni pclmulqdq monitor ssse3 fma cx16 sse4.1 sse4.2 movbe " \
	"popcnt aes xsave avx f16c rdrand arat fsgsbase bmi1 avx2 smep bmi2 rdseed adx smap " \
	"clflushopt sha-ni xsaveopt xsavec xgetbv1 syscall nx mmxext fxsr-opt pdpe1gb rdtscp " \
	"lm lahf-lm svm cr8legacy abm sse4a misalignsse 3dnowprefetch osvw topoext "

static const struct cpu_model models[] = {
	{ .name = "max", .kind = CPU_MODEL_MAX,
	  .desc = "Enables all features supported by the accelerator in the current host" },
	{ .name = "host", .kind = CPU_MODEL_HOST,
	  .desc = "processor with all supported host features (KVM only)" },
	{ "qemu64", "QEMU Virtual CPU version 2.5+ (x86-64 baseline; AMD)",
	  CPU_MODEL_NAMED, AMD, 15, 107, 1, "QEMU Virtual CPU version 2.5+", 0xd, 0x8000000a,
	  "fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx "
	  "fxsr sse sse2 pni cx16 syscall nx lm lahf-lm svm" },
	{ "kvm64", "Common KVM processor (x86-64 baseline; Intel)",
	  CPU_MODEL_NAMED, INTEL, 15, 6, 1, "Common KVM processor", 0xd, 0x80000008,
	  P6_EDX "pni cx16 syscall nx lm" },
	{ "Haswell", "Intel Core Processor (Haswell)",
	  CPU_MODEL_NAMED, INTEL, 6, 60, 4, "Intel Core Processor (Haswell)", 0xd, 0x80000008,
	  P6_EDX HSW_ECX HSW_7 "arat xsaveopt " LM_EDX "lahf-lm abm" },
	{ "Haswell-noTSX", "Intel Core Processor (Haswell, no TSX)",
	  CPU_MODEL_NAMED, INTEL, 6, 60, 1, "Intel Core Processor (Haswell, no TSX)", 0xd,
	  0x80000008,
	  P6_EDX HSW_ECX "fsgsbase bmi1 avx2 smep bmi2 erms invpcid arat xsaveopt " LM_EDX
	  "lahf-lm abm" },
	{ "Broadwell", "Intel Core Processor (Broadwell)",
	  CPU_MODEL_NAMED, INTEL, 6, 61, 2, "Intel Core Processor (Broadwell)", 0xd, 0x80000008,
	  P6_EDX HSW_ECX HSW_7 "rdseed adx smap arat xsaveopt " LM_EDX
	  "lahf-lm abm 3dnowprefetch" },
	{ "Skylake-Client", "Intel Core Processor (Skylake)",
	  CPU_MODEL_NAMED, INTEL, 6, 94, 3, "Intel Core Processor (Skylake)", 0xd, 0x80000008,
	  P6_EDX HSW_ECX HSW_7 "rdseed adx smap arat xsaveopt xsavec xgetbv1 " LM_EDX
	  "lahf-lm abm 3dnowprefetch" },
	{ "Skylake-Server", "Intel Xeon Processor (Skylake)",
	  CPU_MODEL_NAMED, INTEL, 6, 85, 4, "Intel Xeon Processor (Skylake)", 0xd, 0x80000008,
	  P6_EDX HSW_ECX SKX_7 "arat xsaveopt xsavec xgetbv1 " LM_EDX
	  "pdpe1gb lahf-lm abm 3dnowprefetch" },
	{ "Cascadelake-Server", "Intel Xeon Processor (Cascadelake)",
	  CPU_MODEL_NAMED, INTEL, 6, 85, 6, "Intel Xeon Processor (Cascadelake)", 0xd,
	  0x80000008,
	  P6_EDX HSW_ECX SKX_7 "avx512vnni spec-ctrl ssbd arat xsaveopt xsavec xgetbv1 "
	  LM_EDX "pdpe1gb lahf-lm abm 3dnowprefetch" },
	{ "Icelake-Server", "Intel Xeon Processor (Icelake)",
	  CPU_MODEL_NAMED, INTEL, 6, 134, 0, "Intel Xeon Processor (Icelake)", 0xd, 0x80000008,
	  P6_EDX HSW_ECX SKX_7 "avx512vbmi umip avx512vbmi2 gfni vaes vpclmulqdq avx512vnni "
	  "avx512bitalg avx512-vpopcntdq la57 spec-ctrl ssbd arat xsaveopt xsavec xgetbv1 "
	  LM_EDX "pdpe1gb lahf-lm abm 3dnowprefetch wbnoinvd" },
	{ "EPYC", "AMD EPYC Processor",
	  CPU_MODEL_NAMED, AMD, 23, 1, 2, "AMD EPYC Processor", 0xd, 0x8000001e,
	  EPYC_FLAGS },
	{ "EPYC-Rome", "AMD EPYC-Rome Processor",
	  CPU_MODEL_NAMED, AMD, 23, 49, 0, "AMD EPYC-Rome Processor", 0xd, 0x8000001e,
	  EPYC_FLAGS "clwb umip rdpid xsaves perfctr-core clzero wbnoinvd ibpb amd-stibp "
	  "xsaveerptr" },
};

/* The flags as bits, once */
static uint32_t model_bits[ARRAY_SIZE(models)][CPUID_WORDS];
static pthread_once_t bits_once = PTHREAD_ONCE_INIT;

static void resolve_bits(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(models); i++)
		if (models[i].flags && cpu_feature_list(models[i].flags, model_bits[i]) < 0)
			qvm_die("cpu-models.c: model %s names an unknown flag", models[i].name);
}

static const struct cpu_model *find_model(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(models); i++)
		if (!strcmp(models[i].name, name))
			return &models[i];
	return NULL;
}

bool cpu_model_known(const char *name)
{
	return find_model(name) != NULL;
}

void cpu_models_print(void)
{
	printf("Available CPUs:\n");
	for (size_t i = 0; i < ARRAY_SIZE(models); i++)
		printf("  %-20s %s\n", models[i].name, models[i].desc);
	cpu_features_print();
}

bool cpu_vendor_is_amd(const char *vendor)
{
	return !strcmp(vendor, AMD) || !strcmp(vendor, "HygonGenuine");
}

uint32_t cpu_signature(unsigned family, unsigned model, unsigned stepping)
{
	uint32_t sig = (stepping & 0xf) | (model & 0xf) << 4 | (model >> 4 & 0xf) << 16;
	if (family > 0xf)
		return sig | 0xfu << 8 | ((family - 0xf) & 0xff) << 20;
	return sig | family << 8;
}

int cpu_def_init(struct cpu_def *d, const char *name, const struct cpu_features *f)
{
	const struct cpu_model *m = find_model(name ? name : "max");
	memset(d, 0, sizeof(*d));
	if (!m)
		return -1;
	pthread_once(&bits_once, resolve_bits);
	d->kind = m->kind;
	d->name = m->name;
	if (m->kind == CPU_MODEL_NAMED) {
		memcpy(d->want, model_bits[m - models], sizeof(d->want));
		snprintf(d->vendor, sizeof(d->vendor), "%s", m->vendor);
		memcpy(d->brand, m->model_id, strnlen(m->model_id, sizeof(d->brand)));
		d->signature = cpu_signature(m->family, m->model, m->stepping);
		d->level = m->level;
		d->xlevel = m->xlevel;
	}
	if (f) {
		for (unsigned w = 0; w < CPUID_WORDS; w++)
			d->want[w] = (d->want[w] | f->on[w]) & ~f->off[w];
		if (f->vendor[0]) {
			memcpy(d->vendor, f->vendor, sizeof(d->vendor));
			d->vendor_set = true;
		}
		if (f->model_id[0]) {
			memset(d->brand, 0, sizeof(d->brand));
			memcpy(d->brand, f->model_id, strnlen(f->model_id, sizeof(d->brand)));
			d->brand_set = true;
		}
	}
	d->amd = cpu_vendor_is_amd(d->vendor);
	return 0;
}

/* A named model decides the named bits of each word, but ht (the -smp
 * topology) and hypervisor, which stay the engine's unless -cpu removes
 * them; bits without a name are the engine's too (OSXSAVE, ...). */
uint32_t cpu_def_mask(const struct cpu_def *d, const struct cpu_features *f, unsigned w)
{
	const uint32_t htt = 1u << 28, hypervisor = 1u << 31;
	uint32_t engine = w == CPUID_1_EDX ? htt : w == CPUID_1_ECX ? hypervisor : 0;
	if (d->kind != CPU_MODEL_NAMED)
		return ~(f ? f->off[w] : 0);
	return d->want[w] | ~cpu_feature_named(w) | (engine & ~(f ? f->off[w] : 0));
}

/* SDM Vol. 1, 13.2: x87 and SSE always; AVX (bit 2) with avx; opmask,
 * ZMM_Hi256 and Hi16_ZMM (5-7) with avx512f; PKRU (9) with pku */
uint64_t cpu_def_xcr0(const struct cpu_def *d)
{
	const uint32_t avx = 1u << 28, avx512f = 1u << 16, pku = 1u << 3;
	if (d->kind != CPU_MODEL_NAMED)
		return ~0ULL;
	uint64_t xcr0 = 3;
	if (d->want[CPUID_1_ECX] & avx) {
		xcr0 |= 1u << 2;
		if (d->want[CPUID_7_0_EBX] & avx512f)
			xcr0 |= 7u << 5;
	}
	if (d->want[CPUID_7_0_ECX] & pku)
		xcr0 |= 1u << 9;
	return xcr0;
}

int cpu_def_check(const struct cpu_def *d, const struct cpu_features *f,
		  const uint32_t supported[CPUID_WORDS], const uint32_t quiet[CPUID_WORDS],
		  const char *who)
{
	char names[1024];
	size_t at = 0;
	unsigned n = 0;
	names[0] = 0;
	if (d->kind != CPU_MODEL_NAMED)
		return 0;
	for (unsigned w = 0; w < CPUID_WORDS; w++) {
		uint32_t miss = d->want[w] & ~supported[w] & ~f->on[w] & ~(quiet ? quiet[w] : 0);
		for (unsigned bit = 0; bit < 32; bit++) {
			const char *name = cpu_feature_name(w, bit);
			if (!(miss & 1u << bit) || !name)
				continue;
			int k = snprintf(names + at, sizeof(names) - at, " %s", name);
			if (k > 0 && (size_t)k < sizeof(names) - at)
				at += (size_t)k;
			n++;
		}
	}
	if (!n)
		return 0;
	qvm_error("%s%s doesn't support requested features of -cpu %s%s%s",
		  f->enforce ? "" : "warning: ", who, d->name,
		  f->enforce ? ":" : ", left out:", names);
	return f->enforce ? -1 : 0;
}

bool cpu_model_amd(const char *name, const struct cpu_features *f)
{
	if (f && f->vendor[0])
		return cpu_vendor_is_amd(f->vendor);
	const struct cpu_model *m = name ? find_model(name) : NULL;
	return m && m->vendor && cpu_vendor_is_amd(m->vendor);
}
