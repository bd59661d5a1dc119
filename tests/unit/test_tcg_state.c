/* The tcg engine's whole-vCPU state (user/tcg/save.c): everything it
 * fills moves into a second CPU with its own LAPIC and reads back the
 * same; what tcg cannot hold is refused. */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "accel.h"
#include "hw/apic.h"
#include "pc/pc.h"
#include "tcg/tcg.h"
#include "x86/msr.h"

static void no_kick(struct vcpu *v)
{
	(void)v;
}

static const struct accel_ops quiet_ops = { .name = "quiet", .kick = no_kick };
static struct accel quiet = { .ops = &quiet_ops };

struct box {
	struct machine *m;
	struct vcpu *v;
	struct tcg_cpu *c;
};

static bool box_init(struct box *b)
{
	memset(b, 0, sizeof(*b));
	b->m = machine_new(16 << 20);
	if (!b->m)
		return false;
	b->m->accel = &quiet;
	b->m->nr_vcpus = 1;
	b->m->vcpus = calloc(1, sizeof(*b->m->vcpus));
	b->m->irq_routing = &pc_irq_routing;
	if (irqchip_user_init(b->m) < 0)
		return false;
	b->v = calloc(1, sizeof(*b->v));
	b->v->m = b->m;
	b->m->vcpus[0] = b->v;
	if (!lapic_new(b->m, b->v))
		return false;
	b->c = tcg_cpu_new(b->m, b->v);
	if (!b->c)
		return false;
	b->c->lapic = b->v->lapic;
	return tcg_xsave_offer(b->c, XSAVE_OFFER_TCG) == 0;
}

static void box_free(struct box *b)
{
	tcg_cpu_free(b->c);
	lapic_free(b->v->lapic);
	free(b->v);
	machine_free(b->m);
}

static uint32_t page32(const struct x86_cpu_state *s, unsigned off)
{
	uint32_t v;
	memcpy(&v, s->lapic + off, 4);
	return v;
}

/* A CPU in a state far from reset: MTRRs, MISC_ENABLE, TSC, XCR0, SSE
 * registers, an interrupt shadow, NMIs blocked, halted; its LAPIC
 * enabled with a TPR, a running one-shot timer and a pending vector. */
static void busy_state(struct box *b)
{
	struct tcg_cpu *c = b->c;
	struct lapic *a = b->v->lapic;
	tcg_wrmsr(c, MSR_MTRR_DEF_TYPE, 0xc06);
	tcg_wrmsr(c, MSR_MTRR_FIX64K_00000, 0x0606060606060606ULL);
	tcg_wrmsr(c, MSR_MTRR_PHYS_FIRST, 0x80000006ULL);
	tcg_wrmsr(c, MSR_MTRR_PHYS_FIRST + 1, 0xff80000800ULL);
	tcg_wrmsr(c, MSR_MISC_ENABLE, 1ULL << 16);
	tcg_wrmsr(c, MSR_TSC, 1000000000000ULL);
	tcg_wrmsr(c, MSR_PAT, 0x0007040600070406ULL);
	c->xcr0 = XCR0_X87 | XCR0_SSE;
	c->fpu.xmm[3].q[0] = 0x1122334455667788ULL;
	c->fpu.mxcsr = 0x1f00;
	c->s.regs[R_RBX] = 0xabcdef;
	c->inhibit_irq = true;
	c->nmi_blocked = true;
	c->halted = true;
	lapic_mmio_write(a, 0xf0, 0x1ff);               /* SVR: enabled */
	lapic_mmio_write(a, 0x80, 0x20);                /* TPR */
	lapic_mmio_write(a, 0x3e0, 0xb);                /* divide by 1 */
	lapic_mmio_write(a, 0x320, 0x40);               /* one-shot, vector 0x40 */
	lapic_mmio_write(a, 0x380, 1000000000);         /* 1 s */
	lapic_mmio_write(a, 0x300, 0x40050);            /* self IPI, vector 0x50 */
}

TEST(tcg_state_moves_to_another_cpu)
{
	struct box a, b;
	CHECK(box_init(&a) && box_init(&b));
	busy_state(&a);
	CHECK_EQ(tcg_wrmsr(a.c, MSR_PKRS, 0x12345678), 0);      /* -cpu max has PKS */
	struct x86_cpu_state sa, sb;
	CHECK_EQ(tcg_vcpu_get_state(a.c, &sa), 0);
	CHECK_EQ(sa.pkrs, 0x12345678);
	CHECK_EQ(sa.mtrr.def_type, 0xc06);
	CHECK_EQ(sa.mtrr.var[1], 0xff80000800ULL);
	CHECK(sa.misc_enable & (1ULL << 16));
	CHECK_EQ(sa.xcr0, 3);
	CHECK_EQ(sa.xsave[XSAVE_HDR_OFFSET], 2);        /* XSTATE_BV: SSE (x87 initial) */
	CHECK(sa.ev.shadow && sa.ev.nmi_masked && sa.mp_state == MP_HALTED && sa.halted);
	CHECK(sa.has_lapic);
	CHECK_EQ(page32(&sa, 0x80), 0x20);
	CHECK(page32(&sa, 0x200 + 0x50 / 32 * 16) & 1u << (0x50 % 32));
	CHECK(page32(&sa, 0x390) > 0 && page32(&sa, 0x390) <= 1000000000);

	CHECK_EQ(tcg_vcpu_set_state(b.c, &sa), 0);
	CHECK_EQ(tcg_vcpu_get_state(b.c, &sb), 0);
	CHECK(!memcmp(&sa.mtrr, &sb.mtrr, sizeof(sa.mtrr)));
	CHECK_EQ(sb.misc_enable, sa.misc_enable);
	CHECK_EQ(b.c->pkrs, 0x12345678);
	CHECK_EQ(sb.xcr0, sa.xcr0);
	CHECK_EQ(sb.regs[R_RBX], 0xabcdef);
	CHECK(!memcmp(sa.fxsave, sb.fxsave, 512));
	CHECK(!memcmp(&sa.ev, &sb.ev, sizeof(sa.ev)));
	CHECK_EQ(sb.mp_state, MP_HALTED);
	CHECK(b.c->inhibit_irq && b.c->nmi_blocked && b.c->halted);
	CHECK(sb.tsc >= sa.tsc && sb.tsc - sa.tsc < 100000000000ULL);
	for (unsigned off = 0; off < LAPIC_PAGE_SIZE; off += 16)
		if (off != 0x390)
			CHECK_EQ(page32(&sb, off), page32(&sa, off));
	/* the timer goes on from where it was, not from the start */
	CHECK(page32(&sb, 0x390) <= page32(&sa, 0x390) && page32(&sb, 0x390) > 0);
	box_free(&a);
	box_free(&b);
}

TEST(tcg_state_pending_sipi_and_nmi_move)
{
	struct box a, b;
	CHECK(box_init(&a) && box_init(&b));
	struct x86_cpu_state s;
	CHECK_EQ(tcg_vcpu_get_state(a.c, &s), 0);
	s.mp_state = MP_SIPI_RECEIVED;
	s.ev.sipi_vector = 0x9a;
	s.ev.nmi_pending = true;
	CHECK_EQ(tcg_vcpu_set_state(b.c, &s), 0);
	uint8_t sipi = 0;
	uint32_t ev = lapic_get_pending(b.v->lapic, &sipi);
	CHECK_EQ(ev, LAPIC_EV_NMI | LAPIC_EV_SIPI);
	CHECK_EQ(sipi, 0x9a);
	CHECK_EQ(b.c->s.mp_state, MP_WAIT_SIPI);
	struct x86_cpu_state t;
	CHECK_EQ(tcg_vcpu_get_state(b.c, &t), 0);
	CHECK_EQ(t.mp_state, MP_SIPI_RECEIVED);
	CHECK(t.ev.nmi_pending && t.ev.sipi_vector == 0x9a);
	box_free(&a);
	box_free(&b);
}

TEST(tcg_state_refuses_what_tcg_cannot_hold)
{
	struct box a, b;
	CHECK(box_init(&a) && box_init(&b));
	busy_state(&a);
	struct x86_cpu_state s, t;
	CHECK_EQ(tcg_vcpu_get_state(a.c, &s), 0);
	t = s;
	t.xcr0 = 0xe7;                                  /* AVX-512: not offered */
	CHECK_EQ(tcg_vcpu_set_state(b.c, &t), -1);
	t = s;
	t.ev.exc_injected = true;                       /* mid-delivery */
	CHECK_EQ(tcg_vcpu_set_state(b.c, &t), -1);
	t = s;
	t.mtrr.var[1] |= 1;                             /* PHYSMASK reserved bit */
	CHECK_EQ(tcg_vcpu_set_state(b.c, &t), -1);
	t = s;
	uint32_t lvt = 0x40 | 1u << 20;                 /* LVT timer reserved bit */
	memcpy(t.lapic + 0x320, &lvt, 4);
	CHECK_EQ(tcg_vcpu_set_state(b.c, &t), -1);
	t = s;
	t.mp_state = MP_STATE_NR;
	CHECK_EQ(tcg_vcpu_set_state(b.c, &t), -1);
	CHECK_EQ(tcg_vcpu_set_state(b.c, &s), 0);
	box_free(&a);
	box_free(&b);
}
