/*
 * The user-mode register state between TCG and a backend.
 *
 * The XSAVE area is in the standard format (SDM Vol. 1, 13.4) and holds
 * every component the host runs user code with (its XCR0: x87, SSE, AVX,
 * AVX-512 here).  User code sees the host's CPUID (no CPUID faulting), so
 * the guest CPU offers the same components (kq_xsave_offer): the guest
 * kernel then saves and restores them across its context switches with
 * XSAVE, XSAVEC and XRSTOR in TCG, which holds them (tcg/xsave.h), and guest
 * processes keep their own YMM/ZMM/opmask registers.
 */
#include <string.h>
#include "engine.h"
#include "tcg/xsave.h"
#include "log.h"

#define XSAVE_LEGACY 512
#define XSTATE_BV_OFF 512
#define XSTATE_X87_SSE 3ULL

/* The components both the host runs user code with and TCG can hold;
 * never PKRU, which the guest is not offered (engine.c) and the host's
 * process keeps. */
static uint64_t xsave_mask(const struct kq_engine *e)
{
	uint64_t host = e->have_info && e->info.xcr0 ? e->info.xcr0 : kq_host_xcr0();
	return (host & XSAVE_SUPPORTED & ~XCR0_PKRU) | XSTATE_X87_SSE;
}

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
	s->xcr0 = xsave_mask(e);
	uint32_t size = e->have_info ? e->info.xsave_size : 0;
	if (size < XSAVE_LEGACY + 64 || size > KQEMU_XSAVE_MAX)
		size = XSAVE_LEGACY + 64;
	s->xsave_size = size;
	tcg_xsave_image_get(c, s->xsave, size, s->xcr0);
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
	if (size < XSAVE_LEGACY + 64 || size > KQEMU_XSAVE_MAX)
		size = XSAVE_LEGACY + 64;
	/* a component the host has and TCG cannot hold is dropped (none on
	 * hosts with x87/SSE/AVX/AVX-512 only) */
	uint64_t mask = xsave_mask(kv->e), bv;
	memcpy(kv->xsave, s->xsave, size);
	memcpy(&bv, kv->xsave + XSTATE_BV_OFF, 8);
	bv &= mask;
	memcpy(kv->xsave + XSTATE_BV_OFF, &bv, 8);
	if (tcg_xsave_image_set(c, kv->xsave, size, mask) < 0) {
		qvm_log(LOG_UNIMP, "kqemu: an XSAVE image from the backend was refused; "
			"x87/SSE taken alone");
		tcg_fpu_from_fxsave(&c->fpu, kv->xsave);
	}
}
