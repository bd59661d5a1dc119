/* Moving vCPU state between KVM and the engine-neutral x86_cpu_state. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm/kvm.h"
#include "x86/msr.h"


/* The MSRs of x86_cpu_state KVM keeps (SDM Vol. 4, chapter 2).  Written
 * in this order, after the LAPIC: IA32_TSC_DEADLINE counts only once
 * the LVT timer is in TSC-deadline mode.  IA32_MTRRCAP is read-only. */
enum { NR_FIXED = 15, NR_STATE_MSRS = NR_FIXED + MTRR_FIXED_NR + 2 * MTRR_VAR_NR };
static const uint32_t fixed_msrs[NR_FIXED] = {
	MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
	MSR_PAT, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
	MSR_KERNEL_GS_BASE, MSR_TSC_AUX, MSR_TSC, MSR_MISC_ENABLE,
	MSR_MTRR_DEF_TYPE, MSR_TSC_DEADLINE, MSR_MTRRCAP,
};

static uint64_t *msr_field(struct x86_cpu_state *s, uint32_t index)
{
	if (index >= MSR_MTRR_PHYS_FIRST && index <= MSR_MTRR_PHYS_LAST)
		return &s->mtrr.var[index - MSR_MTRR_PHYS_FIRST];
	for (unsigned i = 0; i < MTRR_FIXED_NR; i++)
		if (index == x86_mtrr_fixed_msrs[i])
			return &s->mtrr.fixed[i];
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
	case MSR_MISC_ENABLE: return &s->misc_enable;
	case MSR_MTRR_DEF_TYPE: return &s->mtrr.def_type;
	case MSR_TSC_DEADLINE: return &s->tsc_deadline;
	case MSR_MTRRCAP: return &s->mtrr.cap;
	default: return &s->tsc;
	}
}

static uint32_t state_msr(unsigned i)
{
	if (i < NR_FIXED)
		return fixed_msrs[i];
	i -= NR_FIXED;
	if (i < MTRR_FIXED_NR)
		return x86_mtrr_fixed_msrs[i];
	return MSR_MTRR_PHYS_FIRST + (i - MTRR_FIXED_NR);
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
	/* an interrupt being injected travels in the vCPU events */
}

/* Reset writes n = NR_STATE_MSRS - 1 (all but IA32_MTRRCAP); a KVM
 * without one of them processes fewer, which a reset survives and a
 * load does not. */
static int msrs_io(struct vcpu *v, struct x86_cpu_state *s, bool set, bool strict)
{
	size_t n = set ? NR_STATE_MSRS - 1 : NR_STATE_MSRS;
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(struct kvm_msr_entry));
	if (!msrs)
		return -1;
	msrs->nmsrs = n;
	/* IA32_MTRRCAP is fixed_msrs' last: past n when writing */
	for (size_t i = 0, j = 0; j < n; i++) {
		uint32_t index = state_msr(i);
		if (set && index == MSR_MTRRCAP)
			continue;
		msrs->entries[j].index = index;
		msrs->entries[j++].data = *msr_field(s, index);
	}
	int r = ioctl(kvm_vcpu_of(v)->fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, msrs);
	for (int i = 0; !set && i < r; i++)
		*msr_field(s, msrs->entries[i].index) = msrs->entries[i].data;
	uint32_t stuck = r >= 0 && r < (int)n ? msrs->entries[r].index : 0;
	free(msrs);
	if (r == (int)n)
		return 0;
	if (strict) {
		qvm_error("cpu %u: KVM_%s_MSRS: MSR 0x%x refused", v->index,
			  set ? "SET" : "GET", stuck);
		return -1;
	}
	qvm_log(LOG_UNIMP, "cpu %u: KVM_%s_MSRS handled %d of %zu", v->index,
		set ? "SET" : "GET", r, n);
	return 0;
}

/* FPU/SSE/AVX: KVM_GET_XSAVE where the host has it, else the FXSAVE
 * part through KVM_GET_FPU with XSTATE_BV = x87 | SSE. */
static void fx_from_fpu(struct x86_cpu_state *s, const struct kvm_fpu *fpu)
{
	uint64_t bv = XCR0_X87 | XCR0_SSE;
	memcpy(s->fxsave + 0, &fpu->fcw, 2);
	memcpy(s->fxsave + 2, &fpu->fsw, 2);
	s->fxsave[4] = fpu->ftwx;
	memcpy(s->fxsave + 6, &fpu->last_opcode, 2);
	memcpy(s->fxsave + 8, &fpu->last_ip, 8);
	memcpy(s->fxsave + 16, &fpu->last_dp, 8);
	memcpy(s->fxsave + 24, &fpu->mxcsr, 4);
	memcpy(s->fxsave + 32, fpu->fpr, 128);
	memcpy(s->fxsave + 160, fpu->xmm, 256);
	memcpy(s->xsave + XSAVE_HDR_OFFSET, &bv, 8);
}

static void fpu_from_fx(struct kvm_fpu *fpu, const struct x86_cpu_state *s)
{
	memset(fpu, 0, sizeof(*fpu));
	memcpy(&fpu->fcw, s->fxsave + 0, 2);
	memcpy(&fpu->fsw, s->fxsave + 2, 2);
	fpu->ftwx = s->fxsave[4];
	memcpy(&fpu->last_opcode, s->fxsave + 6, 2);
	memcpy(&fpu->last_ip, s->fxsave + 8, 8);
	memcpy(&fpu->last_dp, s->fxsave + 16, 8);
	memcpy(&fpu->mxcsr, s->fxsave + 24, 4);
	memcpy(fpu->fpr, s->fxsave + 32, 128);
	memcpy(fpu->xmm, s->fxsave + 160, 256);
}

static int fpu_io(struct vcpu *v, struct x86_cpu_state *s, bool set)
{
	int fd = kvm_vcpu_of(v)->fd;
	static_assert(sizeof(struct kvm_xsave) >= XSAVE_AREA_SIZE, "kvm_xsave holds our area");
	struct kvm_xsave *x = calloc(1, sizeof(*x));
	struct kvm_fpu fpu;
	int r = -1;
	if (!x)
		return -1;
	/* a host with XSAVE refuses a state it cannot hold (AVX on a host
	 * without it): no quiet fall back to the FXSAVE part then */
	bool xsave = ioctl(kvm_of(v->m)->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	if (set && xsave) {
		memcpy(x->region, s->xsave, XSAVE_AREA_SIZE);
		r = ioctl(fd, KVM_SET_XSAVE, x);
	} else if (set) {
		fpu_from_fx(&fpu, s);
		r = ioctl(fd, KVM_SET_FPU, &fpu);
	} else if (xsave) {
		r = ioctl(fd, KVM_GET_XSAVE, x);
		if (r == 0)
			memcpy(s->xsave, x->region, XSAVE_AREA_SIZE);
	} else if ((r = ioctl(fd, KVM_GET_FPU, &fpu)) == 0) {
		fx_from_fpu(s, &fpu);
	}
	free(x);
	return r;
}

/* XCR0 (KVM_CAP_XCRS): a host without it runs x87/SSE only. */
static int xcr_io(struct vcpu *v, struct x86_cpu_state *s, bool set)
{
	struct kvm_xcrs x;
	memset(&x, 0, sizeof(x));
	if (set) {
		x.nr_xcrs = 1;
		x.xcrs[0].xcr = 0;
		x.xcrs[0].value = s->xcr0;
		if (ioctl(kvm_vcpu_of(v)->fd, KVM_SET_XCRS, &x) == 0)
			return 0;
		return s->xcr0 == XCR0_X87 || s->xcr0 == (XCR0_X87 | XCR0_SSE) ? 0 : -1;
	}
	s->xcr0 = XCR0_X87 | XCR0_SSE;
	if (ioctl(kvm_vcpu_of(v)->fd, KVM_GET_XCRS, &x) == 0)
		for (unsigned i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
			if (x.xcrs[i].xcr == 0)
				s->xcr0 = x.xcrs[i].value;
	return 0;
}

static void events_from_kvm(struct x86_cpu_state *s, const struct kvm_vcpu_events *e)
{
	struct x86_events *d = &s->ev;
	*d = (struct x86_events){
		.exc_injected = e->exception.injected, .exc_pending = e->exception.pending,
		.exc_has_error = e->exception.has_error_code, .exc_vector = e->exception.nr,
		.exc_error = e->exception.error_code,
		.irq_injected = e->interrupt.injected, .irq_soft = e->interrupt.soft,
		.irq_vector = e->interrupt.nr, .shadow = e->interrupt.shadow,
		.nmi_injected = e->nmi.injected, .nmi_pending = e->nmi.pending,
		.nmi_masked = e->nmi.masked, .sipi_vector = e->sipi_vector,
	};
}

static void events_to_kvm(struct kvm_vcpu_events *e, const struct x86_cpu_state *s)
{
	const struct x86_events *d = &s->ev;
	memset(e, 0, sizeof(*e));
	/* without KVM_CAP_EXCEPTION_PAYLOAD a pending exception is queued
	 * as injected, which KVM then delivers first the same way */
	e->exception.injected = d->exc_injected || d->exc_pending;
	e->exception.nr = d->exc_vector;
	e->exception.has_error_code = d->exc_has_error;
	e->exception.error_code = d->exc_error;
	e->interrupt.injected = d->irq_injected;
	e->interrupt.nr = d->irq_vector;
	e->interrupt.soft = d->irq_soft;
	e->interrupt.shadow = d->shadow;
	e->nmi.injected = d->nmi_injected;
	e->nmi.pending = d->nmi_pending;
	e->nmi.masked = d->nmi_masked;
	e->sipi_vector = d->sipi_vector;
	e->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
		   KVM_VCPUEVENT_VALID_SHADOW;
}

static const uint32_t mp_to_kvm[MP_STATE_NR] = {
	[MP_RUNNABLE] = KVM_MP_STATE_RUNNABLE,
	[MP_WAIT_SIPI] = KVM_MP_STATE_UNINITIALIZED,
	[MP_HALTED] = KVM_MP_STATE_HALTED,
	[MP_INIT_RECEIVED] = KVM_MP_STATE_INIT_RECEIVED,
	[MP_SIPI_RECEIVED] = KVM_MP_STATE_SIPI_RECEIVED,
};

static uint32_t mp_from_kvm(uint32_t k)
{
	for (uint32_t i = 0; i < MP_STATE_NR; i++)
		if (mp_to_kvm[i] == k)
			return i;
	return MP_RUNNABLE;
}

static int get_error(struct vcpu *v, const char *what)
{
	qvm_error("cpu %u: %s: %s", v->index, what, strerror(errno));
	return -1;
}

int kvm_get_state(struct vcpu *v, struct x86_cpu_state *s)
{
	int fd = kvm_vcpu_of(v)->fd;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events ev;
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	memset(s, 0, sizeof(*s));
	if (ioctl(fd, KVM_GET_REGS, &regs) < 0)
		return get_error(v, "KVM_GET_REGS");
	if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return get_error(v, "KVM_GET_SREGS");
	regs_from_kvm(s, &regs);
	sregs_from_kvm(s, &sregs);
	if (fpu_io(v, s, false) < 0)
		return get_error(v, "KVM_GET_XSAVE");
	xcr_io(v, s, false);
	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return get_error(v, "KVM_GET_VCPU_EVENTS");
	events_from_kvm(s, &ev);
	if (ioctl(fd, KVM_GET_DEBUGREGS, &dbg) < 0)
		return get_error(v, "KVM_GET_DEBUGREGS");
	memcpy(s->dr, dbg.db, sizeof(dbg.db));
	s->dr[6] = dbg.dr6;
	s->dr[7] = dbg.dr7;
	if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0)
		return get_error(v, "KVM_GET_LAPIC");
	static_assert(sizeof(lapic.regs) == LAPIC_PAGE_SIZE, "KVM's LAPIC page is ours");
	memcpy(s->lapic, lapic.regs, LAPIC_PAGE_SIZE);
	s->has_lapic = true;
	if (ioctl(fd, KVM_GET_MP_STATE, &mp) < 0)
		return get_error(v, "KVM_GET_MP_STATE");
	s->mp_state = mp_from_kvm(mp.mp_state);
	s->halted = s->mp_state == MP_HALTED;
	return msrs_io(v, s, false, false);
}

/* The LAPIC's IRR and ISR (SDM Vol. 3, 11.8.4): 8 registers each, 16 bytes apart */
#define APIC_ISR_FIRST 0x100
#define APIC_IRR_END 0x280

/* The state of a parked vCPU for a save: settled first (kvm_vcpu_settle:
 * a finished I/O instruction, an expired timer in the IRR), then read.
 * A timer may expire between the settle and the read; a second settle
 * shows it as a changed ISR or IRR, and the state is read again. */
int kvm_save_state(struct vcpu *v, struct x86_cpu_state *s)
{
	struct kvm_lapic_state now;
	for (int tries = 0;; tries++) {
		if (kvm_vcpu_settle(v) < 0 || kvm_get_state(v, s) < 0 || kvm_vcpu_settle(v) < 0)
			return -1;
		if (ioctl(kvm_vcpu_of(v)->fd, KVM_GET_LAPIC, &now) < 0)
			return get_error(v, "KVM_GET_LAPIC");
		if (!memcmp(now.regs + APIC_ISR_FIRST, s->lapic + APIC_ISR_FIRST,
			    APIC_IRR_END - APIC_ISR_FIRST))
			return 0;
		qvm_log(LOG_INT, "cpu %u: an interrupt came in while the state was read; reading again",
			v->index);
		if (tries == 3) {
			qvm_error("cpu %u: its LAPIC keeps changing while paused", v->index);
			return -1;
		}
	}
}

/* A part a power-on state can do without (a backend lacking the ioctl
 * keeps its own reset values): logged then, fatal for a full state. */
static bool part_failed(struct vcpu *v, int r, bool strict, const char *what)
{
	if (r >= 0)
		return false;
	if (strict)
		return true;
	qvm_log(LOG_UNIMP, "cpu %u: %s: %s (kept the backend's reset value)", v->index, what,
		strerror(errno));
	return false;
}

/* The order matters: SREGS (APIC base, CR4.OSXSAVE) before XCRS and
 * XSAVE, the LAPIC before the MSRs (TSC deadline), events after the
 * registers, mp_state last.  A state without a LAPIC page is a power-on
 * state (vcpu_reset), set leniently. */
int kvm_set_state(struct vcpu *v, const struct x86_cpu_state *s)
{
	int fd = kvm_vcpu_of(v)->fd;
	struct x86_cpu_state *w = (struct x86_cpu_state *)s; /* only read */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events ev;
	struct kvm_debugregs dbg;
	struct kvm_mp_state mp = { s->mp_state < MP_STATE_NR ? mp_to_kvm[s->mp_state] : 0 };
	const char *what = NULL;
	bool strict = s->has_lapic;
	regs_to_kvm(&regs, s);
	sregs_to_kvm(&sregs, s);
	events_to_kvm(&ev, s);
	memset(&dbg, 0, sizeof(dbg));
	memcpy(dbg.db, s->dr, sizeof(dbg.db));
	dbg.dr6 = s->dr[6];
	dbg.dr7 = s->dr[7];
	if (s->mp_state >= MP_STATE_NR)
		what = "run state";
	else if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0)
		what = "KVM_SET_SREGS";
	else if (ioctl(fd, KVM_SET_REGS, &regs) < 0)
		what = "KVM_SET_REGS";
	else if (part_failed(v, xcr_io(v, w, true), strict, "KVM_SET_XCRS"))
		what = "KVM_SET_XCRS";
	else if (fpu_io(v, w, true) < 0)
		what = "KVM_SET_XSAVE";
	else if (part_failed(v, ioctl(fd, KVM_SET_DEBUGREGS, &dbg), strict, "KVM_SET_DEBUGREGS"))
		what = "KVM_SET_DEBUGREGS";
	else if (s->has_lapic && ioctl(fd, KVM_SET_LAPIC, (const void *)s->lapic) < 0)
		what = "KVM_SET_LAPIC";
	else if (msrs_io(v, w, true, strict) < 0)
		return -1;
	else if (part_failed(v, ioctl(fd, KVM_SET_VCPU_EVENTS, &ev), strict,
			     "KVM_SET_VCPU_EVENTS"))
		what = "KVM_SET_VCPU_EVENTS";
	else if (ioctl(fd, KVM_SET_MP_STATE, &mp) < 0)
		what = "KVM_SET_MP_STATE";
	else if (kvm_pv_msrs_apply(v, !s->has_lapic) < 0)
		return -1;
	if (what) {
		qvm_error("cpu %u: setting the state: %s: %s", v->index, what, strerror(errno));
		return -1;
	}
	return 0;
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

int kvm_msr_io(struct vcpu *v, unsigned long req, uint32_t index, uint64_t *value)
{
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *msrs = (struct kvm_msrs *)buf;
	msrs->nmsrs = 1;
	msrs->entries[0].index = index;
	msrs->entries[0].data = *value;
	int r = ioctl(kvm_vcpu_of(v)->fd, req, msrs);
	if (r == 1)
		*value = msrs->entries[0].data;
	return r;
}

int kvm_msr_write(struct vcpu *v, uint32_t index, uint64_t value)
{
	int r = kvm_msr_io(v, KVM_SET_MSRS, index, &value);
	if (r != 1) {
		qvm_error("cpu %u: KVM_SET_MSRS 0x%x: %s", v->index, index,
			  r < 0 ? strerror(errno) : "refused");
		return -1;
	}
	return 0;
}
