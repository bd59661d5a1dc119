/*
 * The tcg engine's side of x86_cpu_state (cpu.h): everything a vCPU
 * needs to move, from struct tcg_cpu, the MSR bodies (msr.c) and qvm's
 * own LAPIC (hw/lapic.c); and back, every value checked the way a WRMSR
 * or a register write would check it, since a saved state is untrusted.
 */
#include <string.h>
#include "tcg/tcg.h"
#include "hw/apic.h"
#include "x86/msr.h"

/* XSAVE header (SDM Vol. 1, 13.4.2): XSTATE_BV, XCOMP_BV. */
static uint64_t xstate_bv(const struct x86_cpu_state *s)
{
	uint64_t bv;
	memcpy(&bv, s->xsave + XSAVE_HDR_OFFSET, 8);
	return bv;
}

static void get_msrs(struct tcg_cpu *c, struct x86_cpu_state *s)
{
	struct x86_mtrrs *t = &s->mtrr;
	tcg_rdmsr(c, MSR_MISC_ENABLE, &s->misc_enable);
	s->pkrs = c->pkrs;
	tcg_rdmsr(c, MSR_TSC, &s->tsc);
	c->tsc_got = s->tsc;
	c->tsc_got_offset = c->tsc_offset;
	c->tsc_got_valid = true;
	tcg_rdmsr(c, MSR_TSC_DEADLINE, &s->tsc_deadline);
	tcg_rdmsr(c, MSR_APIC_BASE, &s->apic_base);
	tcg_rdmsr(c, MSR_MTRRCAP, &t->cap);
	tcg_rdmsr(c, MSR_MTRR_DEF_TYPE, &t->def_type);
	for (unsigned i = 0; i < MTRR_FIXED_NR; i++)
		tcg_rdmsr(c, x86_mtrr_fixed_msrs[i], &t->fixed[i]);
	for (unsigned i = 0; i < 2 * MTRR_VAR_NR; i++)
		tcg_rdmsr(c, MSR_MTRR_PHYS_FIRST + i, &t->var[i]);
}

/* What the vCPU waits for: HLT, SIPI, or an INIT / SIPI the LAPIC holds
 * (KVM's mp_state); the interrupt shadow and NMI blocking. */
static void get_events(struct tcg_cpu *c, struct x86_cpu_state *s)
{
	uint8_t sipi = 0;
	uint32_t ev = c->lapic ? lapic_get_pending(c->lapic, &sipi) : 0;
	memset(&s->ev, 0, sizeof(s->ev));
	s->ev.shadow = c->inhibit_irq ? 1 : 0;
	s->ev.nmi_masked = c->nmi_blocked;
	s->ev.nmi_pending = ev & LAPIC_EV_NMI;
	s->mp_state = c->s.mp_state == MP_WAIT_SIPI ? MP_WAIT_SIPI :
		      c->halted ? MP_HALTED : MP_RUNNABLE;
	if (ev & LAPIC_EV_INIT) {
		s->mp_state = MP_INIT_RECEIVED;
	} else if ((ev & LAPIC_EV_SIPI) && s->mp_state == MP_WAIT_SIPI) {
		s->mp_state = MP_SIPI_RECEIVED;
		s->ev.sipi_vector = sipi;
	}
	s->halted = s->mp_state == MP_HALTED;
}

int tcg_vcpu_get_state(struct tcg_cpu *c, struct x86_cpu_state *s)
{
	tcg_get_state(c, s);
	/* every component the vCPU has, at the host's offsets (xsave.h) */
	tcg_xsave_image_get(c, s->xsave, XSAVE_AREA_SIZE, ~0ULL);
	s->xcr0 = c->xcr0 | XCR0_X87;   /* bit 0 is always set (SDM Vol. 1, 13.3) */
	get_msrs(c, s);
	get_events(c, s);
	s->has_lapic = c->lapic != NULL;
	memset(s->lapic, 0, sizeof(s->lapic));
	if (c->lapic) {
		s->cr8 = lapic_get_cr8(c->lapic);
		lapic_get_page(c->lapic, s->lapic);
	}
	return 0;
}

/* Components XSTATE_BV marks as in their initial state are loaded as
 * such (SDM Vol. 1, 13.6): x87 as after FNINIT, XMM registers zero. */
static void fx_init_components(struct x86_cpu_state *t)
{
	uint64_t bv = xstate_bv(t);
	if (!(bv & XCR0_X87)) {
		static const uint16_t fcw = 0x37f;
		memset(t->fxsave, 0, 24);
		memcpy(t->fxsave, &fcw, 2);
		memset(t->fxsave + 32, 0, 128);
	}
	if (!(bv & XCR0_SSE))
		memset(t->fxsave + 160, 0, 256);
}

/* The TSC of a state: the value that the last get_state read means the
 * TSC as it was then, so the offset of then comes back.  Written as a
 * value instead, a get/set round trip (pc_enter's, around the boot
 * loaders) would set the TSC back by the time in between, and this vCPU
 * alone: the bootstrap processor's TSC 20-50 us behind the APs', which
 * Linux measures as a warp between CPUs and drops the TSC clocksource. */
static int set_tsc(struct tcg_cpu *c, uint64_t tsc)
{
	if (c->tsc_got_valid && tsc == c->tsc_got) {
		c->tsc_offset = c->tsc_got_offset;
		return 0;
	}
	return tcg_wrmsr(c, MSR_TSC, tsc);
}

static int set_msrs(struct tcg_cpu *c, const struct x86_cpu_state *s)
{
	const struct x86_mtrrs *t = &s->mtrr;
	int bad = tcg_wrmsr(c, MSR_MISC_ENABLE, s->misc_enable) |
		  set_tsc(c, s->tsc) |
		  tcg_wrmsr(c, MSR_MTRR_DEF_TYPE, t->def_type);
	/* IA32_PKRS: any value with PKS, only 0 without */
	if (tcg_sys_features(c) & SYSF_PKS)
		bad |= tcg_set_pkrs(c, s->pkrs);
	else if (s->pkrs)
		bad = -1;
	for (unsigned i = 0; i < MTRR_FIXED_NR; i++)
		bad |= tcg_wrmsr(c, x86_mtrr_fixed_msrs[i], t->fixed[i]);
	for (unsigned i = 0; i < 2 * MTRR_VAR_NR; i++)
		bad |= tcg_wrmsr(c, MSR_MTRR_PHYS_FIRST + i, t->var[i]);
	return bad ? -1 : 0;
}

static int set_lapic(struct tcg_cpu *c, const struct x86_cpu_state *s)
{
	if (!c->lapic)
		return 0;
	if (s->has_lapic ? lapic_set_page(c->lapic, s->apic_base, s->lapic) < 0 :
			   lapic_set_base(c->lapic, s->apic_base) < 0)
		return -1;
	uint32_t ev = s->ev.nmi_pending ? LAPIC_EV_NMI : 0;
	if (s->mp_state == MP_INIT_RECEIVED)
		ev |= LAPIC_EV_INIT;
	if (s->mp_state == MP_SIPI_RECEIVED)
		ev |= LAPIC_EV_SIPI;
	lapic_set_pending(c->lapic, ev, s->ev.sipi_vector);
	/* after the LVT: IA32_TSC_DEADLINE counts only in TSC-deadline mode */
	return tcg_wrmsr(c, MSR_TSC_DEADLINE, s->tsc_deadline);
}

static const char *unsupported(const struct tcg_cpu *c, const struct x86_cpu_state *s)
{
	if (s->mp_state >= MP_STATE_NR)
		return "unknown run state";
	if (s->xcr0 != XCR0_X87 && !tcg_xcr0_valid(c, s->xcr0))
		return "XCR0 enables state this vCPU does not offer";
	if (xstate_bv(s) & ~(c->xs.offer | XCR0_X87 | XCR0_SSE))
		return "the XSAVE area holds state this vCPU does not offer";
	if (s->ev.exc_injected || s->ev.exc_pending || s->ev.irq_injected || s->ev.nmi_injected)
		return "an event was being injected (tcg cannot take it over)";
	return NULL;
}

int tcg_vcpu_set_state(struct tcg_cpu *c, const struct x86_cpu_state *s)
{
	const char *why = unsupported(c, s);
	if (why) {
		qvm_error("cpu %u: cannot load the state: %s", c->v ? c->v->index : 0, why);
		return -1;
	}
	struct x86_cpu_state t = *s;
	fx_init_components(&t);
	t.mp_state = s->mp_state == MP_RUNNABLE || s->mp_state == MP_HALTED ||
		     s->mp_state == MP_INIT_RECEIVED ? MP_RUNNABLE : MP_WAIT_SIPI;
	t.halted = s->mp_state == MP_HALTED;
	tcg_set_state(c, &t);
	if (tcg_xsave_image_set(c, s->xsave, XSAVE_AREA_SIZE, ~0ULL) < 0) {
		qvm_error("cpu %u: cannot load the state: an XSAVE area XRSTOR would refuse "
			  "(header or MXCSR)", c->v ? c->v->index : 0);
		return -1;
	}
	c->xcr0 = s->xcr0;
	c->inhibit_irq = s->ev.shadow != 0;
	c->nmi_blocked = s->ev.nmi_masked;
	if (set_msrs(c, s) < 0 || set_lapic(c, s) < 0) {
		qvm_error("cpu %u: cannot load the state: an MSR or LAPIC value this CPU "
			  "cannot hold", c->v ? c->v->index : 0);
		return -1;
	}
	return 0;
}
