/*
 * -cpu MODEL,+FEAT,-FEAT,FEAT=on|off: QEMU's feature syntax and its flag
 * names (the bits: Intel SDM Vol. 2A, CPUID, tables 3-8 to 3-10; AMD APM
 * Vol. 3, appendix E).  The engines apply the result to the model
 * (cpu-models.c): TCG gives what it implements of the model and the "on"
 * bits and warns about the rest; KVM, what KVM_GET_SUPPORTED_CPUID offers
 * of them (tcg/cpuid.c, kvm/cpuid.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "cpu.h"
#include "cpu-model.h"
#include "log.h"
#include "qvm.h"

struct word_info {
	uint32_t leaf, sub;
	bool indexed;                   /* the subleaf (ECX) selects it */
	uint8_t reg;                    /* 0 EAX, 1 EBX, 2 ECX, 3 EDX */
	const char *what;               /* as QEMU's messages name it */
};

static const struct word_info words[CPUID_WORDS] = {
	[CPUID_1_EDX] = { 1, 0, false, 3, "CPUID.01H:EDX" },
	[CPUID_1_ECX] = { 1, 0, false, 2, "CPUID.01H:ECX" },
	[CPUID_6_EAX] = { 6, 0, false, 0, "CPUID.06H:EAX" },
	[CPUID_7_0_EBX] = { 7, 0, true, 1, "CPUID.07H:EBX" },
	[CPUID_7_0_ECX] = { 7, 0, true, 2, "CPUID.07H:ECX" },
	[CPUID_7_0_EDX] = { 7, 0, true, 3, "CPUID.07H:EDX" },
	[CPUID_7_2_EDX] = { 7, 2, true, 3, "CPUID.(EAX=07H,ECX=02H):EDX" },
	[CPUID_D_1_EAX] = { 0xd, 1, true, 0, "CPUID.(EAX=0DH,ECX=01H):EAX" },
	[CPUID_8000_0001_EDX] = { 0x80000001, 0, false, 3, "CPUID.80000001H:EDX" },
	[CPUID_8000_0001_ECX] = { 0x80000001, 0, false, 2, "CPUID.80000001H:ECX" },
	[CPUID_8000_0007_EDX] = { 0x80000007, 0, false, 3, "CPUID.80000007H:EDX" },
	[CPUID_8000_0008_EBX] = { 0x80000008, 0, false, 1, "CPUID.80000008H:EBX" },
};

struct feature {
	const char *name;
	uint8_t word, bit;
};

#define F(n, w, b) { n, CPUID_##w, b }
static const struct feature features[] = {
	F("fpu", 1_EDX, 0), F("vme", 1_EDX, 1), F("de", 1_EDX, 2), F("pse", 1_EDX, 3),
	F("tsc", 1_EDX, 4), F("msr", 1_EDX, 5), F("pae", 1_EDX, 6), F("mce", 1_EDX, 7),
	F("cx8", 1_EDX, 8), F("apic", 1_EDX, 9), F("sep", 1_EDX, 11), F("mtrr", 1_EDX, 12),
	F("pge", 1_EDX, 13), F("mca", 1_EDX, 14), F("cmov", 1_EDX, 15), F("pat", 1_EDX, 16),
	F("pse36", 1_EDX, 17), F("pn", 1_EDX, 18), F("clflush", 1_EDX, 19), F("ds", 1_EDX, 21),
	F("acpi", 1_EDX, 22), F("mmx", 1_EDX, 23), F("fxsr", 1_EDX, 24), F("sse", 1_EDX, 25),
	F("sse2", 1_EDX, 26), F("ss", 1_EDX, 27), F("ht", 1_EDX, 28), F("tm", 1_EDX, 29),
	F("pbe", 1_EDX, 31),

	F("pni", 1_ECX, 0), F("pclmulqdq", 1_ECX, 1), F("dtes64", 1_ECX, 2),
	F("monitor", 1_ECX, 3), F("ds-cpl", 1_ECX, 4), F("vmx", 1_ECX, 5), F("smx", 1_ECX, 6),
	F("est", 1_ECX, 7), F("tm2", 1_ECX, 8), F("ssse3", 1_ECX, 9), F("cid", 1_ECX, 10),
	F("fma", 1_ECX, 12), F("cx16", 1_ECX, 13), F("xtpr", 1_ECX, 14), F("pdcm", 1_ECX, 15),
	F("pcid", 1_ECX, 17), F("dca", 1_ECX, 18), F("sse4.1", 1_ECX, 19),
	F("sse4.2", 1_ECX, 20), F("x2apic", 1_ECX, 21), F("movbe", 1_ECX, 22),
	F("popcnt", 1_ECX, 23), F("tsc-deadline", 1_ECX, 24), F("aes", 1_ECX, 25),
	F("xsave", 1_ECX, 26), F("avx", 1_ECX, 28), F("f16c", 1_ECX, 29),
	F("rdrand", 1_ECX, 30), F("hypervisor", 1_ECX, 31),

	F("arat", 6_EAX, 2),

	F("fsgsbase", 7_0_EBX, 0), F("tsc-adjust", 7_0_EBX, 1), F("sgx", 7_0_EBX, 2),
	F("bmi1", 7_0_EBX, 3), F("hle", 7_0_EBX, 4), F("avx2", 7_0_EBX, 5),
	F("smep", 7_0_EBX, 7), F("bmi2", 7_0_EBX, 8), F("erms", 7_0_EBX, 9),
	F("invpcid", 7_0_EBX, 10), F("rtm", 7_0_EBX, 11), F("mpx", 7_0_EBX, 14),
	F("avx512f", 7_0_EBX, 16), F("avx512dq", 7_0_EBX, 17), F("rdseed", 7_0_EBX, 18),
	F("adx", 7_0_EBX, 19), F("smap", 7_0_EBX, 20), F("avx512ifma", 7_0_EBX, 21),
	F("clflushopt", 7_0_EBX, 23), F("clwb", 7_0_EBX, 24), F("intel-pt", 7_0_EBX, 25),
	F("avx512pf", 7_0_EBX, 26), F("avx512er", 7_0_EBX, 27), F("avx512cd", 7_0_EBX, 28),
	F("sha-ni", 7_0_EBX, 29), F("avx512bw", 7_0_EBX, 30), F("avx512vl", 7_0_EBX, 31),

	F("avx512vbmi", 7_0_ECX, 1), F("umip", 7_0_ECX, 2), F("pku", 7_0_ECX, 3),
	F("waitpkg", 7_0_ECX, 5), F("avx512vbmi2", 7_0_ECX, 6), F("gfni", 7_0_ECX, 8),
	F("vaes", 7_0_ECX, 9), F("vpclmulqdq", 7_0_ECX, 10), F("avx512vnni", 7_0_ECX, 11),
	F("avx512bitalg", 7_0_ECX, 12), F("avx512-vpopcntdq", 7_0_ECX, 14),
	F("la57", 7_0_ECX, 16), F("rdpid", 7_0_ECX, 22), F("cldemote", 7_0_ECX, 25),
	F("movdiri", 7_0_ECX, 27), F("movdir64b", 7_0_ECX, 28), F("pks", 7_0_ECX, 31),

	F("avx512-4vnniw", 7_0_EDX, 2), F("avx512-4fmaps", 7_0_EDX, 3), F("fsrm", 7_0_EDX, 4),
	F("md-clear", 7_0_EDX, 10), F("serialize", 7_0_EDX, 14), F("tsx-ldtrk", 7_0_EDX, 16),
	F("spec-ctrl", 7_0_EDX, 26), F("stibp", 7_0_EDX, 27), F("flush-l1d", 7_0_EDX, 28),
	F("arch-capabilities", 7_0_EDX, 29), F("core-capability", 7_0_EDX, 30),
	F("ssbd", 7_0_EDX, 31),

	F("intel-psfd", 7_2_EDX, 0), F("ipred-ctrl", 7_2_EDX, 1), F("rrsba-ctrl", 7_2_EDX, 2),
	F("bhi-ctrl", 7_2_EDX, 4), F("mcdt-no", 7_2_EDX, 5),

	F("xsaveopt", D_1_EAX, 0), F("xsavec", D_1_EAX, 1), F("xgetbv1", D_1_EAX, 2),
	F("xsaves", D_1_EAX, 3),

	F("syscall", 8000_0001_EDX, 11), F("nx", 8000_0001_EDX, 20),
	F("mmxext", 8000_0001_EDX, 22), F("fxsr-opt", 8000_0001_EDX, 25),
	F("pdpe1gb", 8000_0001_EDX, 26), F("rdtscp", 8000_0001_EDX, 27),
	F("lm", 8000_0001_EDX, 29), F("3dnowext", 8000_0001_EDX, 30),
	F("3dnow", 8000_0001_EDX, 31),

	F("lahf-lm", 8000_0001_ECX, 0), F("cmp-legacy", 8000_0001_ECX, 1),
	F("svm", 8000_0001_ECX, 2), F("extapic", 8000_0001_ECX, 3),
	F("cr8legacy", 8000_0001_ECX, 4), F("abm", 8000_0001_ECX, 5),
	F("sse4a", 8000_0001_ECX, 6), F("misalignsse", 8000_0001_ECX, 7),
	F("3dnowprefetch", 8000_0001_ECX, 8), F("osvw", 8000_0001_ECX, 9),
	F("ibs", 8000_0001_ECX, 10), F("xop", 8000_0001_ECX, 11),
	F("skinit", 8000_0001_ECX, 12), F("wdt", 8000_0001_ECX, 13),
	F("lwp", 8000_0001_ECX, 15), F("fma4", 8000_0001_ECX, 16),
	F("tce", 8000_0001_ECX, 17), F("nodeid-msr", 8000_0001_ECX, 19),
	F("tbm", 8000_0001_ECX, 21), F("topoext", 8000_0001_ECX, 22),
	F("perfctr-core", 8000_0001_ECX, 23), F("perfctr-nb", 8000_0001_ECX, 24),

	F("invtsc", 8000_0007_EDX, 8),

	F("clzero", 8000_0008_EBX, 0), F("wbnoinvd", 8000_0008_EBX, 9),
	F("xsaveerptr", 8000_0008_EBX, 2), F("ibpb", 8000_0008_EBX, 12), F("ibrs", 8000_0008_EBX, 14),
	F("amd-stibp", 8000_0008_EBX, 15), F("amd-ssbd", 8000_0008_EBX, 24),
	F("virt-ssbd", 8000_0008_EBX, 25), F("amd-no-ssb", 8000_0008_EBX, 26),
};
#undef F

/* Other names QEMU accepts for the same flags (after '_' became '-') */
static const struct { const char *alias, *name; } aliases[] = {
	{ "sse3", "pni" }, { "sse4-1", "sse4.1" }, { "sse4-2", "sse4.2" },
	{ "pclmuldq", "pclmulqdq" }, { "xd", "nx" }, { "i64", "lm" },
	{ "ffxsr", "fxsr-opt" }, { "tsc-deadline-timer", "tsc-deadline" },
};

static const struct feature *find_feature(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (!strcmp(name, aliases[i].alias))
			name = aliases[i].name;
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		if (!strcmp(name, features[i].name))
			return &features[i];
	return NULL;
}

const char *cpu_feature_name(unsigned w, unsigned bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		if (features[i].word == w && features[i].bit == bit)
			return features[i].name;
	return NULL;
}

static const char *feature_name(unsigned word, unsigned bit)
{
	const char *n = cpu_feature_name(word, bit);
	return n ? n : "?";
}

/* The named bits of every word, once (CPUID of a named model masks with
 * them on every execution) */
static uint32_t named_bits[CPUID_WORDS];
static pthread_once_t named_once = PTHREAD_ONCE_INIT;

static void find_named(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		named_bits[features[i].word] |= 1u << features[i].bit;
}

uint32_t cpu_feature_named(unsigned w)
{
	pthread_once(&named_once, find_named);
	return w < CPUID_WORDS ? named_bits[w] : 0;
}

int cpu_feature_list(const char *names, uint32_t bits[CPUID_WORDS])
{
	memset(bits, 0, CPUID_WORDS * sizeof(bits[0]));
	while (*names) {
		char name[32];
		size_t len = strcspn(names, " ");
		if (len && len < sizeof(name)) {
			memcpy(name, names, len);
			name[len] = 0;
			const struct feature *ft = find_feature(name);
			if (!ft)
				return -1;
			bits[ft->word] |= 1u << ft->bit;
		} else if (len) {
			return -1;
		}
		names += len;
		names += strspn(names, " ");
	}
	return 0;
}

/* vendor=NAME (12 characters, as QEMU wants) and model-id=STRING */
static int parse_string_prop(const char *model, const char *key, const char *v,
			     struct cpu_features *f)
{
	if (!strcmp(key, "vendor")) {
		if (strlen(v) != 12) {
			qvm_error("-cpu %s: vendor=%s: the vendor is 12 characters "
				  "(GenuineIntel, AuthenticAMD)", model, v);
			return -1;
		}
		memcpy(f->vendor, v, 13);
		return 1;
	}
	if (!strcmp(key, "model-id") || !strcmp(key, "model_id")) {
		if (strlen(v) > 48) {
			qvm_error("-cpu %s: model-id: at most 48 characters", model);
			return -1;
		}
		snprintf(f->model_id, sizeof(f->model_id), "%s", v);
		return 1;
	}
	return 0;
}

/* on/off and their QEMU synonyms: 1, 0, or -1 */
static int parse_bool(const char *v)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
		return 1;
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
		return 0;
	return -1;
}

/* One element after the model: +name, -name, name=on|off or name */
static int parse_feature(const char *model, char *tok, struct cpu_features *f)
{
	char name[32];
	int on = 1;
	char *eq = strchr(tok, '=');
	const char *n = tok;
	if (*tok == '+' || *tok == '-') {
		on = *tok == '+';
		n = tok + 1;
	} else if (eq) {
		*eq = 0;
		int r = parse_string_prop(model, tok, eq + 1, f);
		if (r)
			return r < 0 ? -1 : 0;
		on = parse_bool(eq + 1);
		if (on < 0) {
			qvm_error("-cpu %s: %s=%s: expected on or off", model, tok, eq + 1);
			return -1;
		}
	}
	size_t len = strlen(n);
	if (len == 0 || strchr(n, '=')) {
		qvm_error("-cpu %s: '%s' is not a feature (+FEAT, -FEAT or FEAT=on|off)", model,
			  tok);
		return -1;
	}
	for (size_t i = 0; i <= len && i < sizeof(name); i++)
		name[i] = n[i] == '_' ? '-' : n[i];
	name[sizeof(name) - 1] = 0;
	if (!strcmp(name, "enforce")) {
		f->enforce = on;
		return 0;
	}
	if (!strcmp(name, "check"))
		return 0;               /* QEMU's default: warn, go on */
	const struct feature *ft = len < sizeof(name) ? find_feature(name) : NULL;
	if (!ft) {
		qvm_error("-cpu %s: unknown CPU feature '%s' (-cpu help lists them)", model, n);
		return -1;
	}
	uint32_t bit = 1u << ft->bit;
	if (on) {
		f->on[ft->word] |= bit;
		f->off[ft->word] &= ~bit;
	} else {
		f->off[ft->word] |= bit;
		f->on[ft->word] &= ~bit;
	}
	return 0;
}

int cpu_option_parse(char *arg, const char **model, struct cpu_features *f)
{
	memset(f, 0, sizeof(*f));
	char *rest = strchr(arg, ',');
	if (rest)
		*rest++ = 0;
	if (!*arg) {
		qvm_error("-cpu: no CPU model before the features (try -cpu help)");
		return -1;
	}
	if (!cpu_model_known(arg)) {
		qvm_error("-cpu %s: unknown CPU model (try -cpu help)", arg);
		return -1;
	}
	*model = arg;
	while (rest) {
		char *tok = rest;
		rest = strchr(rest, ',');
		if (rest)
			*rest++ = 0;
		if (parse_feature(arg, tok, f) < 0)
			return -1;
	}
	return 0;
}

int cpuid_word_of(uint32_t leaf, uint32_t sub, unsigned reg)
{
	for (unsigned w = 0; w < CPUID_WORDS; w++)
		if (words[w].leaf == leaf && words[w].reg == reg &&
		    (!words[w].indexed || words[w].sub == sub))
			return (int)w;
	return -1;
}

int cpu_features_check(const struct cpu_features *f, const uint32_t supported[CPUID_WORDS],
		       const char *who)
{
	for (unsigned w = 0; w < CPUID_WORDS; w++) {
		uint32_t missing = f->on[w] & ~supported[w];
		for (unsigned bit = 0; bit < 32; bit++) {
			if (!(missing & (1u << bit)))
				continue;
			qvm_error("%s%s doesn't support requested feature: %s.%s [bit %u]",
				  f->enforce ? "" : "warning: ", who, words[w].what,
				  feature_name(w, bit), bit);
			if (f->enforce)
				return -1;      /* one line, as for every error */
		}
	}
	return 0;
}

void cpu_features_apply(const struct cpu_features *f, uint32_t leaf, uint32_t sub,
			uint32_t regs[4], const uint32_t avail[4])
{
	for (unsigned reg = 0; reg < 4; reg++) {
		int w = cpuid_word_of(leaf, sub, reg);
		if (w < 0)
			continue;
		if (avail)
			regs[reg] |= f->on[w] & avail[reg];
		regs[reg] &= ~f->off[w];
	}
}

void cpu_features_print(void)
{
	size_t col = 0;
	printf("\nOptions: -cpu MODEL[,+FLAG][,-FLAG][,FLAG=on|off][,vendor=VENDOR]"
	       "[,model-id=BRAND][,enforce]\n");
	printf("\nRecognized CPUID flags:\n");
	for (size_t i = 0; i < ARRAY_SIZE(features); i++) {
		size_t len = strlen(features[i].name);
		if (col && col + 1 + len > 76) {
			printf("\n");
			col = 0;
		}
		printf("%s%s", col ? " " : "  ", features[i].name);
		col += len + (col ? 1 : 2);
	}
	printf("\n");
}
