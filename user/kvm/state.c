/* Moving vCPU state between KVM and the engine-neutral x86_cpu_state. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm/kvm.h"
#include "x86/msr.h"


static const uint32_t state_msrs[] = {
	MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
	MSR_PAT, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
	MSR_KERNEL_GS_BASE, MSR_TSC_AUX, MSR_TSC,
};

static uint64_t *msr_field(struct x86_cpu_state *s, uint32_t index)
{
	switch (index) {
	case MSR_SYSENTER_CS: return &s->sysenter_cs;
	case MSR_SYSENTER_ESP: return &s->sysenter_esp;
	case MSR_SYSENTER_EIP: return &s->sysenter_eip;
	case MSR_PAT: return &s->pat;
	case MSR_STAR: return &s->star;
	case MSR_LSTAR: return &s->lstar;
	case MSR_CSTAR: return &s->cstar;
	case MSR_SFMASK: return &s->sfmask;
	case MSR_KERNEL_GS_BASE: return &s->kernel_gs_base;
	case MSR_TSC_AUX: return &s->tsc_aux;
	default: return &s->tsc;
	}
}

static void seg_from_kvm(struct x86_segment *d, const struct kvm_segment *k)
{
	*d = (struct x86_segment){
		.base = k->base, .limit = k->limit, .selector = k->selector,
		.type = k->type, .s = k->s, .dpl = k->dpl, .present = k->present,
		.avl = k->avl, .l = k->l, .db = k->db, .g = k->g,
		.unusable = k->unusable,
	};
}

static void seg_to_kvm(struct kvm_segment *k, const struct x86_segment *d)
{
	*k = (struct kvm_segment){
		.base = d->base, .limit = d->limit, .selector = d->selector,
		.type = d->type, .s = d->s, .dpl = d->dpl, .present = d->present,
		.avl = d->avl, .l = d->l, .db = d->db, .g = d->g,
		.unusable = d->unusable,
	};
}

static void regs_from_kvm(struct x86_cpu_state *s, const struct kvm_regs *r)
{
	const uint64_t v[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi,
				 r->rdi, r->r8, r->r9, r->r10, r->r11, r->r12, r->r13,
				 r->r14, r->r15 };
	memcpy(s->regs, v, sizeof(v));
	s->rip = r->rip;
	s->rflags = r->rflags;
}

static void regs_to_kvm(struct kvm_regs *r, const struct x86_cpu_state *s)
{
	const uint64_t *g = s->regs;
	*r = (struct kvm_regs){
		.rax = g[R_RAX], .rcx = g[R_RCX], .rdx = g[R_RDX], .rbx = g[R_RBX],
		.rsp = g[R_RSP], .rbp = g[R_RBP], .rsi = g[R_RSI], .rdi = g[R_RDI],
		.r8 = g[R_R8], .r9 = g[R_R9], .r10 = g[R_R10], .r11 = g[R_R11],
		.r12 = g[R_R12], .r13 = g[R_R13], .r14 = g[R_R14], .r15 = g[R_R15],
		.rip = s->rip, .rflags = s->rflags,
	};
}

static void sregs_from_kvm(struct x86_cpu_state *s, const struct kvm_sregs *k)
{
	const struct kvm_segment *segs[S_NR] = { &k->es, &k->cs, &k->ss, &k->ds, &k->fs, &k->gs };
	for (int i = 0; i < S_NR; i++)
		seg_from_kvm(&s->seg[i], segs[i]);
	seg_from_kvm(&s->tr, &k->tr);
	seg_from_kvm(&s->ldt, &k->ldt);
	s->gdt = (struct x86_dtable){ k->gdt.base, k->gdt.limit };
	s->idt = (struct x86_dtable){ k->idt.base, k->idt.limit };
	s->cr0 = k->cr0, s->cr2 = k->cr2, s->cr3 = k->cr3, s->cr4 = k->cr4;
	s->cr8 = k->cr8, s->efer = k->efer, s->apic_base = k->apic_base;
	s->pending_irq = -1;
	for (int i = 0; i < 256; i++)
		if (k->interrupt_bitmap[i / 64] >> (i % 64) & 1)
			s->pending_irq = i;
}

static void sregs_to_kvm(struct kvm_sregs *k, const struct x86_cpu_state *s)
{
	struct kvm_segment *segs[S_NR] = { &k->es, &k->cs, &k->ss, &k->ds, &k->fs, &k->gs };
	memset(k, 0, sizeof(*k));
	for (int i = 0; i < S_NR; i++)
		seg_to_kvm(segs[i], &s->seg[i]);
	seg_to_kvm(&k->tr, &s->tr);
	seg_to_kvm(&k->ldt, &s->ldt);
	k->gdt.base = s->gdt.base, k->gdt.limit = s->gdt.limit;
	k->idt.base = s->idt.base, k->idt.limit = s->idt.limit;
	k->cr0 = s->cr0, k->cr2 = s->cr2, k->cr3 = s->cr3, k->cr4 = s->cr4;
	k->cr8 = s->cr8, k->efer = s->efer, k->apic_base = s->apic_base;
	if (s->pending_irq >= 0 && s->pending_irq < 256)
		k->interrupt_bitmap[s->pending_irq / 64] |= 1ULL << (s->pending_irq % 64);
}

static int msrs_io(struct vcpu *v, struct x86_cpu_state *s, bool set)
{
	size_t n = ARRAY_SIZE(state_msrs);
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(struct kvm_msr_entry));
	if (!msrs)
		return -1;
	msrs->nmsrs = n;
	for (size_t i = 0; i < n; i++) {
		msrs->entries[i].index = state_msrs[i];
		msrs->entries[i].data = *msr_field(s, state_msrs[i]);
	}
	int r = ioctl(kvm_vcpu_of(v)->fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, msrs);
	for (int i = 0; !set && i < r; i++)
		*msr_field(s, msrs->entries[i].index) = msrs->entries[i].data;
	free(msrs);
	if (r != (int)n) {
		/* a backend without one of them processes fewer: not fatal */
		qvm_log(LOG_UNIMP, "cpu %u: KVM_%s_MSRS handled %d of %zu", v->index,
			set ? "SET" : "GET", r, n);
	}
	return 0;
}

int kvm_get_state(struct vcpu *v, struct x86_cpu_state *s)
{
	int fd = kvm_vcpu_of(v)->fd;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_mp_state mp;
	memset(s, 0, sizeof(*s));
	if (ioctl(fd, KVM_GET_REGS, &regs) < 0 || ioctl(fd, KVM_GET_SREGS, &sregs) < 0) {
		qvm_error("cpu %u: KVM_GET_REGS: %s", v->index, strerror(errno));
		return -1;
	}
	regs_from_kvm(s, &regs);
	sregs_from_kvm(s, &sregs);
	if (ioctl(fd, KVM_GET_FPU, &fpu) == 0) {
		/* FXSAVE layout: FCW, FSW, FTW (abridged), ... MXCSR at 24 */
		memcpy(s->fxsave + 0, &fpu.fcw, 2);
		memcpy(s->fxsave + 2, &fpu.fsw, 2);
		s->fxsave[4] = fpu.ftwx;
		memcpy(s->fxsave + 24, &fpu.mxcsr, 4);
		memcpy(s->fxsave + 32, fpu.fpr, 128);
		memcpy(s->fxsave + 160, fpu.xmm, 256);
	}
	if (ioctl(fd, KVM_GET_MP_STATE, &mp) == 0) {
		s->mp_state = mp.mp_state == KVM_MP_STATE_HALTED ? MP_HALTED :
			      mp.mp_state == KVM_MP_STATE_RUNNABLE ? MP_RUNNABLE : MP_WAIT_SIPI;
		s->halted = mp.mp_state == KVM_MP_STATE_HALTED;
	}
	return msrs_io(v, s, false);
}

int kvm_set_state(struct vcpu *v, const struct x86_cpu_state *s)
{
	int fd = kvm_vcpu_of(v)->fd;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu = { 0 };
	regs_to_kvm(&regs, s);
	sregs_to_kvm(&sregs, s);
	memcpy(&fpu.fcw, s->fxsave + 0, 2);
	memcpy(&fpu.fsw, s->fxsave + 2, 2);
	fpu.ftwx = s->fxsave[4];
	memcpy(&fpu.mxcsr, s->fxsave + 24, 4);
	memcpy(fpu.fpr, s->fxsave + 32, 128);
	memcpy(fpu.xmm, s->fxsave + 160, 256);
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(fd, KVM_SET_FPU, &fpu) < 0) {
		qvm_error("cpu %u: setting KVM registers: %s", v->index, strerror(errno));
		return -1;
	}
	return msrs_io(v, (struct x86_cpu_state *)s, true);
}

/* Local APIC register offsets (SDM Vol. 3, table 11-1). */
#define APIC_ID 0x20
#define APIC_TPR 0x80
#define APIC_LDR 0xd0
#define APIC_DFR 0xe0
#define APIC_SVR 0xf0
#define APIC_ISR 0x100
#define APIC_LVT_FIRST 0x320 /* timer, thermal, perf, LINT0, LINT1, error */
#define APIC_LVT_LAST 0x370
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_TMICT 0x380
#define APIC_TDCR 0x3e0

static void apic_set(struct kvm_lapic_state *l, unsigned reg, uint32_t v)
{
	memcpy(l->regs + reg, &v, 4);
}

/* Power-on LAPIC state (SDM Vol. 3, 11.4.7.1): masked LVTs, SVR 0xff,
 * flat DFR.  What firmware changes (the virtual wire) is the board's. */
int kvm_lapic_reset(struct vcpu *v)
{
	struct kvm_lapic_state l;
	memset(&l, 0, sizeof(l));
	apic_set(&l, APIC_ID, v->apic_id << 24);
	apic_set(&l, APIC_DFR, 0xffffffff);
	apic_set(&l, APIC_SVR, 0xff);
	for (unsigned r = APIC_LVT_FIRST; r <= APIC_LVT_LAST; r += 0x10)
		apic_set(&l, r, 1 << 16);
	if (ioctl(kvm_vcpu_of(v)->fd, KVM_SET_LAPIC, &l) < 0) {
		qvm_error("cpu %u: KVM_SET_LAPIC: %s", v->index, strerror(errno));
		return -1;
	}
	return 0;
}

/* One register of the in-kernel LAPIC: read the page, change it, write it
 * back (KVM_SET_LAPIC applies it as the APIC would, SVR and LVTs too). */
int kvm_lapic_write(struct vcpu *v, uint32_t offset, uint32_t value)
{
	int fd = kvm_vcpu_of(v)->fd;
	struct kvm_lapic_state l;
	if (offset > sizeof(l.regs) - 4 || (offset & 0xf)) {
		qvm_error("cpu %u: no LAPIC register at 0x%x", v->index, offset);
		return -1;
	}
	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0) {
		qvm_error("cpu %u: KVM_GET_LAPIC: %s", v->index, strerror(errno));
		return -1;
	}
	apic_set(&l, offset, value);
	if (ioctl(fd, KVM_SET_LAPIC, &l) < 0) {
		qvm_error("cpu %u: KVM_SET_LAPIC: %s", v->index, strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_msr_write(struct vcpu *v, uint32_t index, uint64_t value)
{
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *msrs = (struct kvm_msrs *)buf;
	msrs->nmsrs = 1;
	msrs->entries[0].index = index;
	msrs->entries[0].data = value;
	int r = ioctl(kvm_vcpu_of(v)->fd, KVM_SET_MSRS, msrs);
	if (r != 1) {
		qvm_error("cpu %u: KVM_SET_MSRS 0x%x: %s", v->index, index,
			  r < 0 ? strerror(errno) : "refused");
		return -1;
	}
	return 0;
}
