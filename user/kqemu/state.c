/*
 * The user-mode register state between TCG and a backend.
 *
 * TCG holds the x87/SSE state (struct tcg_fpu); the XSAVE components
 * beyond it (AVX, AVX-512, PKRU ...) that guest user code may touch on
 * the host CPU live in the engine between native runs, per guest address
 * space (xstate.c says why).
 * The area is in the standard format (SDM Vol. 1, 13.4): the legacy
 * region comes from tcg_fpu_to_fxsave on the way out and goes back
 * through tcg_fpu_from_fxsave; XSTATE_BV always names x87 and SSE, whose
 * values TCG supplies.
 */
#include <string.h>
#include "engine.h"
#include "log.h"

#define XSAVE_LEGACY 512
#define XSTATE_BV_OFF 512
#define XSTATE_X87_SSE 3ULL

/* RFLAGS bits user code can change (POPF at CPL 3 with IOPL < 3: SDM
 * Vol. 2, POPF); the rest stays TCG's. */
#define USER_FLAGS (FL_ARITH | FL_TF | FL_DF | FL_AC | FL_ID)

void kq_state_out(struct kq_vcpu *kv, struct kqemu_cpu_state *s)
{
	struct tcg_cpu *c = kv->c;
	const struct kq_engine *e = kv->e;
	memcpy(s->regs, c->s.regs, sizeof(s->regs));
	s->rip = c->s.rip;
	s->rflags = tcg_rflags(c);
	s->fs_base = c->s.seg[S_FS].base;
	s->gs_base = c->s.seg[S_GS].base;
	s->cs = c->s.seg[S_CS].selector;
	s->ss = c->s.seg[S_SS].selector;
	s->ds = c->s.seg[S_DS].selector;
	s->es = c->s.seg[S_ES].selector;
	s->fs = c->s.seg[S_FS].selector;
	s->gs = c->s.seg[S_GS].selector;
	s->code_bits = 64;
	s->cr0 = c->s.cr0;
	s->cr3 = c->s.cr3;
	s->cr4 = c->s.cr4;
	s->efer = c->s.efer;
	s->tsc_offset = (int64_t)c->tsc_offset;
	/* the components the host runs user code with (kqemu.h) */
	s->xcr0 = e->have_info && e->info.xcr0 ? e->info.xcr0 : XSTATE_X87_SSE;
	uint32_t size = e->have_info ? e->info.xsave_size : 0;
	if (size < XSAVE_LEGACY + 64 || size > KQEMU_XSAVE_MAX)
		size = XSAVE_LEGACY + 64;
	s->xsave_size = size;
	tcg_fpu_to_fxsave(&c->fpu, kv->xsave);
	kq_xstate_load(kv->e, c->s.cr3, kv->xsave, size);
	uint64_t bv;
	memcpy(&bv, kv->xsave + XSTATE_BV_OFF, 8);
	bv = (bv & s->xcr0) | XSTATE_X87_SSE;
	memcpy(kv->xsave + XSTATE_BV_OFF, &bv, 8);
	memset(kv->xsave + XSTATE_BV_OFF + 8, 0, 8);    /* XCOMP_BV: standard form */
	memcpy(s->xsave, kv->xsave, size);
}

/* A data selector user code loaded natively: the host's GDT has the
 * guest's descriptors at the selectors the rule allows (0, 0x2b), whose
 * cache is SS's; anything else keeps the selector and is reported. */
static void data_seg_in(struct tcg_cpu *c, int seg, uint16_t sel)
{
	struct x86_segment *d = &c->s.seg[seg];
	if (d->selector == sel)
		return;
	if (sel == c->s.seg[S_SS].selector) {
		uint64_t base = d->base;
		*d = c->s.seg[S_SS];
		if (seg == S_FS || seg == S_GS)
			d->base = base;
		return;
	}
	if (!(sel & ~3)) {
		d->selector = sel;
		d->unusable = true;
		d->present = 0;
		return;
	}
	qvm_log(LOG_UNIMP, "kqemu: user code loaded selector %#x natively", sel);
	d->selector = sel;
}

void kq_state_in(struct kq_vcpu *kv, const struct kqemu_cpu_state *s)
{
	struct tcg_cpu *c = kv->c;
	memcpy(c->s.regs, s->regs, sizeof(c->s.regs));
	c->s.rip = s->rip;
	tcg_set_rflags(c, s->rflags, USER_FLAGS);
	data_seg_in(c, S_DS, s->ds);
	data_seg_in(c, S_ES, s->es);
	data_seg_in(c, S_FS, s->fs);
	data_seg_in(c, S_GS, s->gs);
	c->s.seg[S_FS].base = s->fs_base;
	c->s.seg[S_GS].base = s->gs_base;
	uint32_t size = s->xsave_size;
	if (size < XSAVE_LEGACY || size > KQEMU_XSAVE_MAX)
		size = XSAVE_LEGACY;
	memcpy(kv->xsave, s->xsave, size);
	tcg_fpu_from_fxsave(&c->fpu, kv->xsave);
	kq_xstate_save(kv->e, c->s.cr3, kv->xsave, size);
}
