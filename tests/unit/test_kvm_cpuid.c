/*
 * The KVM engine's CPUID (user/kvm/cpuid.c) without /dev/kvm: a made-up
 * KVM_GET_SUPPORTED_CPUID of an Intel host with AVX-512 and PKU but no
 * TSX, through kvm_cpuid_build for -cpu max, Haswell, EPYC and host with
 * vendor=.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "qvm.h"
#include "config.h"
#include "cpu-model.h"
#include "kvm/kvm.h"

#define IDX KVM_CPUID_FLAG_SIGNIFCANT_INDEX

static void add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t a,
		uint32_t b, uint32_t cx, uint32_t d)
{
	c->entries[c->nent++] = (struct kvm_cpuid_entry2){
		.function = fn, .index = idx, .flags = flags,
		.eax = a, .ebx = b, .ecx = cx, .edx = d,
	};
}

static void add_str(struct kvm_cpuid2 *c, uint32_t fn, const char s[16])
{
	uint32_t r[4];
	memcpy(r, s, 16);
	add(c, fn, 0, 0, r[0], r[1], r[2], r[3]);
}

/* What KVM might offer on a Skylake-SP-like host without TSX */
static struct kvm_cpuid2 *fake_supported(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 64 * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	uint32_t v[3];
	memcpy(v, "GenuineIntel", 12);
	add(c, 0, 0, 0, 0x1f, v[0], v[2], v[1]);
	/* ECX: SSE3 PCLMUL SSSE3 FMA CX16 PCID SSE4.1/4.2 x2APIC MOVBE POPCNT
	 * TSC-deadline AES XSAVE AVX F16C RDRAND hypervisor; EDX: the P6 set */
	add(c, 1, 0, 0, 0x50654, 0x800, 0xf7fa3203, 0x078bfbff);
	add(c, 4, 0, IDX, 0x121, 0x1c0003f, 0x3f, 0);
	add(c, 4, 1, IDX, 0, 0, 0, 0);
	add(c, 6, 0, 0, 4, 0, 0, 0);
	/* EBX: FSGSBASE BMI1 AVX2 SMEP BMI2 ERMS INVPCID AVX512F/DQ RDSEED ADX
	 * SMAP CLFLUSHOPT CLWB AVX512CD/BW/VL; ECX: PKU; EDX: SPEC_CTRL,
	 * ARCH_CAPABILITIES */
	add(c, 7, 0, IDX, 1, 0xd19f07a9, 1u << 3, 1u << 26 | 1u << 29);
	add(c, 7, 1, IDX, 1u << 4, 0, 0, 0);            /* AVX-VNNI */
	add(c, 0xa, 0, 0, 0x07300402, 0, 0, 0x603);
	add(c, 0xd, 0, IDX, 0x2e7, 0xa88, 0xa88, 0);
	add(c, 0xd, 1, IDX, 0xf, 0, 0x100, 0);          /* XSAVES, IA32_XSS: PT */
	add(c, 0xd, 2, IDX, 256, 576, 0, 0);
	add(c, 0xd, 5, IDX, 64, 1088, 0, 0);
	add(c, 0xd, 6, IDX, 512, 1152, 0, 0);
	add(c, 0xd, 7, IDX, 1024, 1664, 0, 0);
	add(c, 0xd, 8, IDX, 128, 0, 1, 0);
	add(c, 0xd, 9, IDX, 8, 2688, 0, 0);
	add(c, 0x14, 0, IDX, 0, 0xf, 7, 0);
	add(c, 0x1f, 0, IDX, 1, 1, 0x100, 0);
	add(c, 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(c, 0x80000000, 0, 0, 0x80000008, 1, 2, 3);  /* junk a model clears */
	/* ECX: LAHF ABM 3DNowPrefetch; EDX: SYSCALL NX 1 GiB pages RDTSCP LM */
	add(c, 0x80000001, 0, 0, 0, 0, 0x121, 0x2c100800);
	add_str(c, 0x80000002, "Intel(R) Xeon(R)");
	add_str(c, 0x80000003, " Gold 6130 CPU @");
	add_str(c, 0x80000004, " 2.10GHz\0\0\0\0\0\0\0");
	add(c, 0x80000008, 0, 0, 0x302e, 0, 0, 0);
	return c;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t fn,
					   uint32_t idx)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

/* The -cpu option as cfg holds it, on one vCPU */
static void set_cpu(struct config *cfg, char *arg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->smp_cpus = cfg->sockets = cfg->cores = cfg->threads = 1;
	if (arg)
		CHECK_EQ(cpu_option_parse(arg, &cfg->cpu_model, &cfg->cpu_features), 0);
}

static struct kvm_cpuid2 *build(const struct kvm_cpuid2 *src, const struct config *cfg)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (src->nent + 4) * sizeof(c->entries[0]));
	if (c && kvm_cpuid_build(src, cfg, 0, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

static bool vendor_is(const struct kvm_cpuid_entry2 *e, const char *v)
{
	return e && !memcmp(&e->ebx, v, 4) && !memcmp(&e->edx, v + 4, 4) &&
	       !memcmp(&e->ecx, v + 8, 4);
}

TEST(kvm_cpuid_max_and_host)
{
	struct kvm_cpuid2 *src = fake_supported();
	struct config cfg;
	CHECK(src != NULL);
	char max[] = "max,-avx2,+hle";
	set_cpu(&cfg, max);
	struct kvm_cpuid2 *c = build(src, &cfg);
	CHECK(c != NULL);
	const struct kvm_cpuid_entry2 *e = find(c, 0, 0);
	CHECK(vendor_is(e, "GenuineIntel") && e->eax == 0x1f);
	CHECK(find(c, 0x14, 0) != NULL);                /* everything KVM has */
	CHECK(find(c, 0x1f, 0) == NULL);                /* but leaf 0x1F */
	e = find(c, 7, 0);
	CHECK(e && !(e->ebx & (1u << 5)) && !(e->ebx & (1u << 4)));    /* -avx2; no HLE */
	CHECK(e && (e->ebx & (1u << 16)));
	CHECK(find(c, 0xd, 9) != NULL);
	CHECK_EQ(kvm_cpuid_check(src, &cfg), 0);        /* +hle: a warning */
	cfg.cpu_features.enforce = true;
	CHECK_EQ(kvm_cpuid_check(src, &cfg), -1);
	free(c);

	char host[] = "host,vendor=AuthenticAMD,model-id=Mine";
	set_cpu(&cfg, host);
	c = build(src, &cfg);
	CHECK(c != NULL);
	CHECK(vendor_is(find(c, 0, 0), "AuthenticAMD"));
	CHECK(vendor_is(find(c, 0x80000000, 0), "AuthenticAMD"));
	e = find(c, 1, 0);
	CHECK(e && e->eax == 0x50654);                  /* the host's signature */
	e = find(c, 0x80000002, 0);
	CHECK(e && !memcmp(&e->eax, "Mine\0", 5));
	e = find(c, 0x80000001, 0);
	CHECK(e && (e->edx & 1));                       /* AMD copies FPU ... */
	free(c);
	free(src);
}

TEST(kvm_cpuid_named_intel)
{
	struct kvm_cpuid2 *src = fake_supported();
	struct config cfg;
	CHECK(src != NULL);
	char arg[] = "Haswell";
	set_cpu(&cfg, arg);
	struct kvm_cpuid2 *c = build(src, &cfg);
	CHECK(c != NULL);
	const struct kvm_cpuid_entry2 *e = find(c, 0, 0);
	CHECK(vendor_is(e, "GenuineIntel") && e->eax == 0xd);
	for (unsigned i = 0; i < c->nent; i++)          /* no leaf above 0xD */
		CHECK(c->entries[i].function <= 0xd || c->entries[i].function >= 0x40000000);
	e = find(c, 1, 0);
	CHECK(e && e->eax == 0x306c4);
	CHECK(e && (e->ecx & (1u << 28 | 1u << 12 | 1u << 21 | 1u << 31)) ==
		   (1u << 28 | 1u << 12 | 1u << 21 | 1u << 31));
	/* leaf 7: Haswell's bits KVM has; no AVX-512, RDSEED, ADX, SMAP,
	 * PKU, SPEC_CTRL (not Haswell's), no HLE/RTM (not the host's) */
	e = find(c, 7, 0);
	CHECK(e && e->ebx == (1u << 0 | 1u << 3 | 1u << 5 | 1u << 7 | 1u << 8 | 1u << 9 |
			      1u << 10));
	CHECK(e && e->ecx == 0 && e->edx == 0);
	e = find(c, 7, 1);
	CHECK(e && !e->eax);                            /* no AVX-VNNI */
	e = find(c, 0xa, 0);
	CHECK(e && !e->eax && !e->edx);                 /* no PMU */
	/* XSAVE: x87, SSE, AVX; the size for them; XSAVEOPT only */
	e = find(c, 0xd, 0);
	CHECK(e && e->eax == 7 && e->edx == 0 && e->ecx == 832);
	e = find(c, 0xd, 1);
	CHECK(e && e->eax == 1 && e->ecx == 0);
	CHECK(find(c, 0xd, 2) != NULL);
	CHECK(!find(c, 0xd, 5) && !find(c, 0xd, 7) && !find(c, 0xd, 8) && !find(c, 0xd, 9));
	e = find(c, 0x80000000, 0);
	CHECK(e && e->eax == 0x80000008 && !e->ebx && !e->ecx && !e->edx);
	e = find(c, 0x80000001, 0);
	CHECK(e && e->edx == (1u << 11 | 1u << 20 | 1u << 27 | 1u << 29));     /* no 1G */
	CHECK(e && e->ecx == (1u << 0 | 1u << 5));      /* no 3DNowPrefetch */
	e = find(c, 0x80000002, 0);
	CHECK(e && !memcmp(&e->eax, "Intel Core Proce", 16));
	CHECK(find(c, 0x40000000, 0) != NULL);          /* KVM's own leaves stay */
	CHECK(find(c, 0xb, 0) != NULL);                 /* the topology, added */
	/* Haswell's HLE and RTM: this host lacks them, a warning; enforce: -1 */
	CHECK_EQ(kvm_cpuid_check(src, &cfg), 0);
	cfg.cpu_features.enforce = true;
	CHECK_EQ(kvm_cpuid_check(src, &cfg), -1);
	char notsx[] = "Haswell-noTSX,enforce";
	set_cpu(&cfg, notsx);
	CHECK_EQ(kvm_cpuid_check(src, &cfg), 0);
	free(c);

	/* Skylake-Server keeps AVX-512 and PKRU; the size covers PKRU */
	char skx[] = "Skylake-Server";
	set_cpu(&cfg, skx);
	c = build(src, &cfg);
	CHECK(c != NULL);
	e = find(c, 0xd, 0);
	CHECK(e && e->eax == 0x2e7 && e->ecx == 2696);
	CHECK(find(c, 0xd, 9) && !find(c, 0xd, 8));
	e = find(c, 0x80000001, 0);
	CHECK(e && (e->edx & (1u << 26)));
	free(c);

	/* On an AMD host KVM repeats leaf 1 EDX in 0x80000001 EDX (the
	 * nested test host does): an Intel model must not */
	for (unsigned i = 0; i < src->nent; i++)
		if (src->entries[i].function == 0x80000001)
			src->entries[i].edx |= CPUID_AMD_ALIASES;
	set_cpu(&cfg, arg);
	c = build(src, &cfg);
	CHECK(c != NULL);
	e = find(c, 0x80000001, 0);
	CHECK(e && e->edx == (1u << 11 | 1u << 20 | 1u << 27 | 1u << 29));
	free(c);
	free(src);
}

TEST(kvm_cpuid_named_amd)
{
	struct kvm_cpuid2 *src = fake_supported();
	struct config cfg;
	CHECK(src != NULL);
	char arg[] = "EPYC";
	set_cpu(&cfg, arg);
	struct kvm_cpuid2 *c = build(src, &cfg);
	CHECK(c != NULL);
	CHECK(vendor_is(find(c, 0, 0), "AuthenticAMD"));
	const struct kvm_cpuid_entry2 *e = find(c, 0x80000000, 0);
	CHECK(e && e->eax == 0x8000001e && vendor_is(e, "AuthenticAMD"));
	const struct kvm_cpuid_entry2 *l1 = find(c, 1, 0);
	CHECK(l1 && l1->eax == 0x800f12);
	CHECK(l1 && !(l1->ecx & (1u << 21)));           /* EPYC: no x2APIC */
	e = find(c, 0x80000001, 0);
	CHECK(e && l1 && e->eax == l1->eax);
	CHECK(e && l1 && (e->edx & CPUID_AMD_ALIASES) == (l1->edx & CPUID_AMD_ALIASES));
	CHECK(e && (e->edx & 1));
	e = find(c, 0x80000002, 0);
	CHECK(e && !memcmp(&e->eax, "AMD EPYC Process", 16));
	/* EPYC's SHA, SSE4A, ... this host lacks: a warning */
	CHECK_EQ(kvm_cpuid_check(src, &cfg), 0);
	free(c);
	free(src);
}
