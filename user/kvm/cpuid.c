/*
 * CPUID for KVM vCPUs: what KVM_GET_SUPPORTED_CPUID offers, with the -smp
 * topology in leaves 1, 4 and 0xB.  -cpu host and max: all of it, with
 * -cpu's +FEAT (what KVM offers) and -FEAT (cpu-model.c).  A named model
 * (cpu-models.c): its vendor, signature, brand and highest leaves, its
 * feature bits intersected with KVM's (one warning naming what KVM
 * lacks), the XSAVE components its features allow, no PMU (leaf 0xA, as
 * QEMU's models), and AMD's leaf 0x80000001 copies for an AMD vendor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "config.h"
#include "kvm/kvm.h"
#include "x86/cpuid.h"

#define MAX_CPUID_ENTRIES 256

static void entry_regs(const struct kvm_cpuid_entry2 *e, uint32_t r[4])
{
	r[0] = e->eax, r[1] = e->ebx, r[2] = e->ecx, r[3] = e->edx;
}

/* The feature words as KVM offers them */
static void supported_words(const struct kvm_cpuid2 *sup, uint32_t have[CPUID_WORDS])
{
	memset(have, 0, CPUID_WORDS * sizeof(have[0]));
	for (unsigned i = 0; i < sup->nent; i++) {
		uint32_t r[4];
		entry_regs(&sup->entries[i], r);
		for (unsigned reg = 0; reg < 4; reg++) {
			int w = cpuid_word_of(sup->entries[i].function, sup->entries[i].index, reg);
			if (w >= 0)
				have[w] = r[reg];
		}
	}
}

/* -cpu ...,+FEAT and the model's features: warn about (enforce: refuse)
 * what KVM can't offer */
int kvm_cpuid_check(const struct kvm_cpuid2 *sup, const struct config *cfg)
{
	const char *model = cfg->cpu_model ? cfg->cpu_model : "host";
	struct cpu_def d;
	uint32_t have[CPUID_WORDS];
	if (cpu_def_init(&d, model, &cfg->cpu_features) < 0) {
		qvm_error("-cpu %s: unknown CPU model (try -cpu help)", model);
		return -1;
	}
	supported_words(sup, have);
	if (cpu_features_check(&cfg->cpu_features, have, "host") < 0)
		return -1;
	return cpu_def_check(&d, &cfg->cpu_features, have, NULL, "host");
}

int kvm_cpuid_init(struct machine *m)
{
	struct kvm_vm *k = kvm_of(m);
	const char *model = m->cfg->cpu_model ? m->cfg->cpu_model : "host";
	if (!cpu_model_known(model)) {
		qvm_error("-cpu %s: unknown CPU model (try -cpu help)", model);
		return -1;
	}
	k->supported_cpuid = calloc(1, sizeof(struct kvm_cpuid2) +
				       MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!k->supported_cpuid)
		return -1;
	k->supported_cpuid->nent = MAX_CPUID_ENTRIES;
	if (ioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, k->supported_cpuid) < 0) {
		qvm_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return -1;
	}
	return kvm_cpuid_check(k->supported_cpuid, m->cfg);
}

static void set_vendor(struct kvm_cpuid_entry2 *e, const char *v)
{
	memcpy(&e->ebx, v, 4);
	memcpy(&e->edx, v + 4, 4);
	memcpy(&e->ecx, v + 8, 4);
}

/* Does a named model have this leaf (up to its level and xlevel; the
 * hypervisor range stays KVM's) */
static bool model_has_leaf(const struct cpu_def *d, uint32_t fn)
{
	if (d->kind != CPU_MODEL_NAMED)
		return true;
	if (fn >= 0x80000000)
		return fn <= d->xlevel;
	return fn >= 0x40000000 || fn <= d->level;
}

static const struct kvm_cpuid_entry2 *find_entry(const struct kvm_cpuid2 *c, uint32_t fn,
						 uint32_t index)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

/* Leaf 0xD cut to the components xcr0 allows (SDM Vol. 1, 13.2; Vol. 2A,
 * CPUID leaf 0DH): false drops the entry.  ECX of subleaf 0 is the size
 * XSAVE needs for all of them: the end of the last one kept. */
static bool model_xsave(struct kvm_cpuid_entry2 *e, const struct kvm_cpuid2 *src,
			const struct cpu_def *d)
{
	const uint32_t xsave = 1u << 26, xsaves = 1u << 3;
	uint64_t xcr0 = cpu_def_xcr0(d);
	if (!(d->want[CPUID_1_ECX] & xsave))
		return false;
	if (e->index == 0) {
		e->eax &= (uint32_t)xcr0;
		e->edx &= (uint32_t)(xcr0 >> 32);
		uint32_t size = 512 + 64;       /* legacy area and header */
		for (unsigned i = 2; i < 64; i++) {
			const struct kvm_cpuid_entry2 *c = find_entry(src, 0xd, i);
			uint64_t bit = 1ULL << i;
			if (c && (xcr0 & bit) && ((uint64_t)e->edx << 32 | e->eax) & bit)
				size = MAX(size, c->ebx + c->eax);
		}
		e->ecx = size;
		return true;
	}
	if (e->index == 1) {
		if (!(d->want[CPUID_D_1_EAX] & xsaves))
			e->ebx = e->ecx = e->edx = 0;   /* no IA32_XSS components */
		return true;
	}
	if (e->index >= 64)
		return false;
	const struct kvm_cpuid_entry2 *s1 = find_entry(src, 0xd, 1);
	uint64_t xss = s1 && (d->want[CPUID_D_1_EAX] & xsaves) ?
		       (uint64_t)s1->edx << 32 | s1->ecx : 0;
	return ((xcr0 | xss) >> e->index) & 1;
}

/* The model's identity and leaves; false drops the entry */
static bool apply_model(struct kvm_cpuid_entry2 *e, const struct kvm_cpuid2 *src,
			const struct cpu_def *d)
{
	bool named = d->kind == CPU_MODEL_NAMED;
	if (!model_has_leaf(d, e->function))
		return false;
	switch (e->function) {
	case 0:
		if (named)
			e->eax = d->level;
		if (named || d->vendor_set)
			set_vendor(e, d->vendor);
		break;
	case 1:
		if (named)
			e->eax = d->signature;
		break;
	case 7:
		if (named && e->index != 0 && e->index != 2)
			e->eax = e->ebx = e->ecx = e->edx = 0;  /* no 7.1 words here */
		if (named && e->index == 2)
			e->eax = e->ebx = e->ecx = 0;
		break;
	case 0xa:
		if (named)
			e->eax = e->ebx = e->ecx = e->edx = 0;  /* QEMU's pmu=off */
		break;
	case 0xd:
		return !named || model_xsave(e, src, d);
	case 0x80000000:
		if (named)
			e->eax = d->xlevel;
		if ((named || d->vendor_set) && d->amd)
			set_vendor(e, d->vendor);       /* AMD repeats it here */
		else if (named || d->vendor_set)
			e->ebx = e->ecx = e->edx = 0;   /* Intel: reserved */
		break;
	case 0x80000001:
		if (named && d->amd)
			e->eax = d->signature;
		break;
	case 0x80000002 ... 0x80000004:
		if (named || d->brand_set)
			memcpy(&e->eax, d->brand + (e->function - 0x80000002) * 16, 16);
		break;
	}
	return true;
}

/* The topology fields (SDM Vol. 2A, CPUID leaves 01H, 04H, 0BH). */
static void apply_topology(struct kvm_cpuid_entry2 *e, const struct config *cfg,
			   uint32_t apic_id)
{
	unsigned tb = topo_thread_bits(cfg), cb = topo_core_bits(cfg);
	unsigned per_pkg = 1u << (tb + cb);
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0xffff) | (MIN(per_pkg, 255u) << 16) | (apic_id << 24);
		if (per_pkg > 1)
			e->edx |= L1_EDX_HTT; /* the package field is valid */
		else
			e->edx &= ~L1_EDX_HTT;
		e->ecx |= L1_ECX_HYPERVISOR;
		break;
	case 4:
		if ((e->eax & 0x1f) == 0)
			break; /* no more caches */
		e->eax &= 0x3fff;
		e->eax |= ((1u << cb) - 1) << 26;
		/* L1/L2 shared by a core's threads, L3 by the package */
		e->eax |= (((e->eax >> 5 & 7) >= 3 ? per_pkg : (1u << tb)) - 1) << 14;
		break;
	case 0xb:
		e->edx = apic_id;
		if (e->index == 0) {
			e->eax = tb;
			e->ebx = cfg->threads;
			e->ecx = 0 | (1 << 8);  /* level 0: SMT */
		} else if (e->index == 1) {
			e->eax = tb + cb;
			e->ebx = cfg->threads * cfg->cores;
			e->ecx = 1 | (2 << 8);  /* level 1: core */
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;      /* invalid level ends the list */
		}
		break;
	case 0x80000008:
		/* AMD: cores per package - 1 and the APIC ID size */
		e->ecx = (e->ecx & ~0xf0ffu) | ((tb + cb) << 12) |
			 ((cfg->threads * cfg->cores - 1) & 0xff);
		break;
	}
}

/* The feature words: a named model's bits and the engine's; for host and
 * max, -cpu's +FEAT where KVM offers it and -FEAT */
static void apply_features(struct kvm_cpuid_entry2 *e, const struct kvm_cpuid_entry2 *offered,
			   const struct cpu_def *d, const struct cpu_features *f)
{
	uint32_t r[4], avail[4];
	entry_regs(e, r);
	entry_regs(offered, avail);
	if (d->kind != CPU_MODEL_NAMED) {
		cpu_features_apply(f, e->function, e->index, r, avail);
	} else {
		for (unsigned reg = 0; reg < 4; reg++) {
			int w = cpuid_word_of(e->function, e->index, reg);
			if (w >= 0)
				r[reg] &= cpu_def_mask(d, f, (unsigned)w);
		}
		/* An AMD host's KVM repeats leaf 1 EDX in 0x80000001 EDX; a
		 * model has those bits only as AMD (amd_aliases() below) */
		if (e->function == 0x80000001)
			r[3] &= ~CPUID_AMD_ALIASES;
	}
	e->eax = r[0], e->ebx = r[1], e->ecx = r[2], e->edx = r[3];
}

/* AMD's leaf 0x80000001 EDX repeats leaf 1 EDX's FPU..FXSR bits */
static void amd_aliases(struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *l1 = find_entry(c, 1, 0);
	for (unsigned i = 0; l1 && i < c->nent; i++)
		if (c->entries[i].function == 0x80000001)
			c->entries[i].edx |= l1->edx & CPUID_AMD_ALIASES;
}

int kvm_cpuid_build(const struct kvm_cpuid2 *src, const struct config *cfg,
		    uint32_t apic_id, struct kvm_cpuid2 *c)
{
	struct cpu_def d;
	if (cpu_def_init(&d, cfg->cpu_model ? cfg->cpu_model : "host", &cfg->cpu_features) < 0)
		return -1;
	unsigned n = 0;
	bool have_b = false;
	for (unsigned i = 0; i < src->nent; i++) {
		struct kvm_cpuid_entry2 e = src->entries[i];
		if (e.function == 0x1f)
			continue; /* leaf 0xB describes the topology */
		if (!apply_model(&e, src, &d))
			continue;
		have_b |= e.function == 0xb;
		apply_topology(&e, cfg, apic_id);
		apply_features(&e, &src->entries[i], &d, &cfg->cpu_features);
		c->entries[n++] = e;
	}
	/* Leaf 0xB with subleaves 0..2 when KVM didn't list it */
	for (unsigned sub = 0; !have_b && sub < 3; sub++) {
		struct kvm_cpuid_entry2 e = { .function = 0xb, .index = sub,
					      .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
		apply_topology(&e, cfg, apic_id);
		c->entries[n++] = e;
	}
	c->nent = n;
	if (d.amd)
		amd_aliases(c);
	return 0;
}

int kvm_cpuid_set(struct vcpu *v)
{
	struct kvm_vm *k = kvm_of(v->m);
	struct kvm_cpuid2 *src = k->supported_cpuid;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (src->nent + 4) * sizeof(c->entries[0]));
	if (!c)
		return -1;
	int r = kvm_cpuid_build(src, v->m->cfg, v->apic_id, c);
	if (r == 0)
		r = ioctl(kvm_vcpu_of(v)->fd, KVM_SET_CPUID2, c);
	free(c);
	if (r < 0) {
		qvm_error("KVM_SET_CPUID2: %s", strerror(errno));
		return -1;
	}
	return 0;
}
