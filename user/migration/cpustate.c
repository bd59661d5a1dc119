/*
 * x86_cpu_state (cpu.h) as bytes, field by field, for the CPU sections
 * of the state stream.  Loading checks what an engine could not hold as
 * given (booleans, descriptor fields of their width, a known run state,
 * the area sizes); the engine checks the rest when it is set.
 */
#include <string.h>
#include "migration/vmstate.h"

#define CPU_STATE_VERSION 2  /* 2: IA32_PKRS */

static void put_seg(struct state_buf *b, const struct x86_segment *g)
{
	state_put_u64(b, g->base);
	state_put_u32(b, g->limit);
	state_put_u16(b, g->selector);
	const uint8_t f[] = { g->type, g->s, g->dpl, g->present, g->avl, g->l, g->db, g->g,
			      g->unusable };
	state_put_bytes(b, f, sizeof(f));
}

static bool get_seg(struct state_buf *b, struct x86_segment *g)
{
	uint8_t f[9];
	g->base = state_get_u64(b);
	g->limit = state_get_u32(b);
	g->selector = state_get_u16(b);
	state_get_bytes(b, f, sizeof(f));
	*g = (struct x86_segment){ .base = g->base, .limit = g->limit, .selector = g->selector,
		.type = f[0], .s = f[1], .dpl = f[2], .present = f[3], .avl = f[4], .l = f[5],
		.db = f[6], .g = f[7], .unusable = f[8] };
	bool ok = f[0] < 16 && f[2] < 4;
	for (unsigned i = 3; i < sizeof(f); i++)
		ok = ok && f[i] <= 1;
	return ok && f[1] <= 1;
}

static void put_u64s(struct state_buf *b, const uint64_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		state_put_u64(b, v[i]);
}

static void get_u64s(struct state_buf *b, uint64_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		v[i] = state_get_u64(b);
}

static void put_events(struct state_buf *b, const struct x86_events *e)
{
	const uint8_t f[] = { e->exc_injected, e->exc_pending, e->exc_has_error, e->exc_vector,
			      e->irq_injected, e->irq_soft, e->irq_vector, e->shadow,
			      e->nmi_injected, e->nmi_pending, e->nmi_masked, e->sipi_vector };
	state_put_bytes(b, f, sizeof(f));
	state_put_u32(b, e->exc_error);
}

static bool get_events(struct state_buf *b, struct x86_events *e)
{
	uint8_t f[12];
	state_get_bytes(b, f, sizeof(f));
	*e = (struct x86_events){ .exc_injected = f[0], .exc_pending = f[1],
		.exc_has_error = f[2], .exc_vector = f[3], .irq_injected = f[4],
		.irq_soft = f[5], .irq_vector = f[6], .shadow = f[7], .nmi_injected = f[8],
		.nmi_pending = f[9], .nmi_masked = f[10], .sipi_vector = f[11],
		.exc_error = state_get_u32(b) };
	static const unsigned bools[] = { 0, 1, 2, 4, 5, 8, 9, 10 };
	for (unsigned i = 0; i < ARRAY_SIZE(bools); i++)
		if (f[bools[i]] > 1)
			return false;
	return f[3] < 32 && f[7] <= 3;
}

void cpu_state_put(struct state_buf *b, const struct x86_cpu_state *s)
{
	state_put_u8(b, CPU_STATE_VERSION);
	put_u64s(b, s->regs, 16);
	state_put_u64(b, s->rip);
	state_put_u64(b, s->rflags);
	for (int i = 0; i < S_NR; i++)
		put_seg(b, &s->seg[i]);
	put_seg(b, &s->tr);
	put_seg(b, &s->ldt);
	state_put_u64(b, s->gdt.base);
	state_put_u16(b, s->gdt.limit);
	state_put_u64(b, s->idt.base);
	state_put_u16(b, s->idt.limit);
	const uint64_t cr[] = { s->cr0, s->cr2, s->cr3, s->cr4, s->cr8, s->efer, s->apic_base,
				s->xcr0 };
	put_u64s(b, cr, ARRAY_SIZE(cr));
	put_u64s(b, s->dr, 8);
	const uint64_t msr[] = { s->star, s->lstar, s->cstar, s->sfmask, s->kernel_gs_base,
				 s->sysenter_cs, s->sysenter_esp, s->sysenter_eip, s->tsc,
				 s->tsc_aux, s->pat, s->misc_enable, s->tsc_deadline,
				 s->mtrr.cap, s->mtrr.def_type, s->pkrs };
	put_u64s(b, msr, ARRAY_SIZE(msr));
	put_u64s(b, s->mtrr.fixed, MTRR_FIXED_NR);
	put_u64s(b, s->mtrr.var, 2 * MTRR_VAR_NR);
	state_put_u32(b, XSAVE_AREA_SIZE);
	state_put_bytes(b, s->xsave, XSAVE_AREA_SIZE);
	put_events(b, &s->ev);
	state_put_u32(b, s->mp_state);
	state_put_u32(b, s->has_lapic ? LAPIC_PAGE_SIZE : 0);
	if (s->has_lapic)
		state_put_bytes(b, s->lapic, LAPIC_PAGE_SIZE);
}

int cpu_state_get(struct state_buf *b, struct x86_cpu_state *s)
{
	memset(s, 0, sizeof(*s));
	if (state_get_u8(b) != CPU_STATE_VERSION)
		return -1;
	get_u64s(b, s->regs, 16);
	s->rip = state_get_u64(b);
	s->rflags = state_get_u64(b);
	bool ok = true;
	for (int i = 0; i < S_NR; i++)
		ok &= get_seg(b, &s->seg[i]);
	ok &= get_seg(b, &s->tr);
	ok &= get_seg(b, &s->ldt);
	s->gdt.base = state_get_u64(b);
	s->gdt.limit = state_get_u16(b);
	s->idt.base = state_get_u64(b);
	s->idt.limit = state_get_u16(b);
	uint64_t cr[8], msr[16];
	get_u64s(b, cr, ARRAY_SIZE(cr));
	s->cr0 = cr[0], s->cr2 = cr[1], s->cr3 = cr[2], s->cr4 = cr[3], s->cr8 = cr[4];
	s->efer = cr[5], s->apic_base = cr[6], s->xcr0 = cr[7];
	get_u64s(b, s->dr, 8);
	get_u64s(b, msr, ARRAY_SIZE(msr));
	s->star = msr[0], s->lstar = msr[1], s->cstar = msr[2], s->sfmask = msr[3];
	s->kernel_gs_base = msr[4], s->sysenter_cs = msr[5], s->sysenter_esp = msr[6];
	s->sysenter_eip = msr[7], s->tsc = msr[8], s->tsc_aux = msr[9], s->pat = msr[10];
	s->misc_enable = msr[11], s->tsc_deadline = msr[12], s->mtrr.cap = msr[13];
	s->mtrr.def_type = msr[14], s->pkrs = msr[15];
	get_u64s(b, s->mtrr.fixed, MTRR_FIXED_NR);
	get_u64s(b, s->mtrr.var, 2 * MTRR_VAR_NR);
	/* a smaller area (an older or smaller host) leaves the rest zero:
	 * XSTATE_BV says those components are in their initial state */
	uint32_t xlen = state_get_u32(b);
	if (xlen < XSAVE_HDR_OFFSET + 64 || xlen > XSAVE_AREA_SIZE)
		return -1;
	state_get_bytes(b, s->xsave, xlen);
	ok &= get_events(b, &s->ev);
	s->mp_state = state_get_u32(b);
	s->halted = s->mp_state == MP_HALTED;
	uint32_t llen = state_get_u32(b);
	if (llen != 0 && llen != LAPIC_PAGE_SIZE)
		return -1;
	s->has_lapic = llen != 0;
	state_get_bytes(b, s->lapic, llen);
	if (b->error || !ok || s->mp_state >= MP_STATE_NR)
		return -1;
	return 0;
}
