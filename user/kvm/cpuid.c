/*
 * CPUID for KVM vCPUs: what KVM_GET_SUPPORTED_CPUID offers, cut down to
 * the -cpu model, with the -smp topology in leaves 1, 4 and 0xB, then
 * -cpu's +FEAT (what KVM offers) and -FEAT (cpu-model.c).
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

/* A base model: the feature bits it keeps (SDM Vol. 2A, CPUID). */
struct cpu_model {
	const char *name, *desc;
	bool all;                       /* host/max: everything KVM offers */
	uint32_t l1_edx, l1_ecx, x1_edx, x1_ecx;
};

/* leaf 1 EDX: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov
 * pat pse36 clflush mmx fxsr sse sse2 */
#define L1_EDX_BASE 0x0783fbffu

static const struct cpu_model cpu_models[] = {
	{ "host", "all host features KVM supports", true, 0, 0, 0, 0 },
	{ "max", "same as host under KVM", true, 0, 0, 0, 0 },
	{ "qemu64", "baseline x86-64 (SSE3, CX16, LAHF)", false, L1_EDX_BASE,
	  L1_ECX_SSE3 | L1_ECX_CX16, X1_EDX_SYSCALL | X1_EDX_NX | X1_EDX_LM, X1_ECX_LAHF },
	{ "kvm64", "baseline x86-64 for KVM (SSE3, CX16)", false, L1_EDX_BASE,
	  L1_ECX_SSE3 | L1_ECX_CX16, X1_EDX_SYSCALL | X1_EDX_NX | X1_EDX_LM, 0 },
};

static const struct cpu_model *find_model(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cpu_models); i++)
		if (!strcmp(cpu_models[i].name, name))
			return &cpu_models[i];
	return NULL;
}

void cpu_models_print(void)
{
	printf("Available CPUs:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cpu_models); i++)
		printf("  %-8s %s\n", cpu_models[i].name, cpu_models[i].desc);
	cpu_features_print();
}

bool cpu_model_known(const char *name)
{
	return find_model(name) != NULL;
}

static void entry_regs(const struct kvm_cpuid_entry2 *e, uint32_t r[4])
{
	r[0] = e->eax, r[1] = e->ebx, r[2] = e->ecx, r[3] = e->edx;
}

/* -cpu ...,+FEAT: warn about (enforce: refuse) what KVM can't offer */
static int check_features(const struct kvm_cpuid2 *sup, const struct cpu_features *f)
{
	uint32_t have[CPUID_WORDS] = { 0 };
	for (unsigned i = 0; i < sup->nent; i++) {
		uint32_t r[4];
		entry_regs(&sup->entries[i], r);
		for (unsigned reg = 0; reg < 4; reg++) {
			int w = cpuid_word_of(sup->entries[i].function, sup->entries[i].index, reg);
			if (w >= 0)
				have[w] = r[reg];
		}
	}
	return cpu_features_check(f, have, "host");
}

int kvm_cpuid_init(struct machine *m)
{
	struct kvm_vm *k = kvm_of(m);
	const char *model = m->cfg->cpu_model ? m->cfg->cpu_model : "host";
	if (!find_model(model)) {
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
	return check_features(k->supported_cpuid, &m->cfg->cpu_features);
}

static void apply_model(struct kvm_cpuid_entry2 *e, const struct cpu_model *model)
{
	if (model->all)
		return;
	switch (e->function) {
	case 1:
		e->edx &= model->l1_edx;
		e->ecx &= model->l1_ecx | L1_ECX_X2APIC | L1_ECX_HYPERVISOR;
		break;
	case 7:
	case 0xd:
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0x80000001:
		e->edx &= model->x1_edx;
		e->ecx &= model->x1_ecx;
		break;
	}
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

static void apply_features(struct kvm_cpuid_entry2 *e, const struct kvm_cpuid_entry2 *offered,
			   const struct cpu_features *f)
{
	uint32_t r[4], avail[4];
	entry_regs(e, r);
	entry_regs(offered, avail);
	cpu_features_apply(f, e->function, e->index, r, avail);
	e->eax = r[0], e->ebx = r[1], e->ecx = r[2], e->edx = r[3];
}

int kvm_cpuid_set(struct vcpu *v)
{
	struct kvm_vm *k = kvm_of(v->m);
	const struct config *cfg = v->m->cfg;
	const struct cpu_model *model =
		find_model(cfg->cpu_model ? cfg->cpu_model : "host");
	struct kvm_cpuid2 *src = k->supported_cpuid;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (src->nent + 4) * sizeof(c->entries[0]));
	if (!c)
		return -1;
	unsigned n = 0;
	bool have_b = false;
	for (unsigned i = 0; i < src->nent; i++) {
		struct kvm_cpuid_entry2 e = src->entries[i];
		if (e.function == 0x1f)
			continue; /* leaf 0xB describes the topology */
		have_b |= e.function == 0xb;
		apply_model(&e, model);
		apply_topology(&e, cfg, v->apic_id);
		apply_features(&e, &src->entries[i], &cfg->cpu_features);
		c->entries[n++] = e;
	}
	/* Leaf 0xB with subleaves 0..2 when KVM didn't list it */
	for (unsigned sub = 0; !have_b && sub < 3; sub++) {
		struct kvm_cpuid_entry2 e = { .function = 0xb, .index = sub,
					      .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
		apply_topology(&e, cfg, v->apic_id);
		c->entries[n++] = e;
	}
	c->nent = n;
	int r = ioctl(kvm_vcpu_of(v)->fd, KVM_SET_CPUID2, c);
	free(c);
	if (r < 0) {
		qvm_error("KVM_SET_CPUID2: %s", strerror(errno));
		return -1;
	}
	return 0;
}
