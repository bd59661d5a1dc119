/*
 * The kqemu engine's logic without a real backend: the native rule, the
 * hole check, the mapping table, and the exits handled against a fake
 * backend that returns scripted exits and records what it was asked.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "tcgtest.h"
#include "kqemu/engine.h"
#include "accel.h"

/* ---- the rule ---- */

static void seg_user(struct x86_segment *s, uint16_t sel, uint8_t type, bool l)
{
	*s = (struct x86_segment){ .limit = 0xffffffff, .selector = sel, .type = type, .s = 1,
				   .dpl = 3, .present = 1, .l = l, .db = !l, .g = 1 };
}

/* CPL 3 in 64-bit code with Linux's selectors, IF=1 */
static void linux_user(struct tcg_cpu *c)
{
	for (int k = 0; k < S_NR; k++)
		seg_user(&c->s.seg[k], 0x2b, 3, false);
	seg_user(&c->s.seg[S_CS], 0x33, 0xb, true);
	c->s.seg[S_FS].selector = c->s.seg[S_GS].selector = 0;
	c->s.seg[S_DS].selector = c->s.seg[S_ES].selector = 0;
	c->s.rflags = FL_IF | 2;
	c->s.cr4 |= CR4_OSFXSR;
}

TEST(kqemu_rule_cpu)
{
	struct tcg_env e;
	CHECK(tcg_env_init(&e, 0x100000));
	struct tcg_cpu *c = e.c;
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_MODE);         /* real mode at reset */
	tcg_env_long_mode(&e);
	tcg_env_flat_segs(c, 0, true);
	c->s.cr4 |= CR4_OSFXSR;
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_CPL);
	linux_user(c);
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_NONE);
	c->s.seg[S_DS].selector = 0x2b;
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_NONE);
	c->s.seg[S_FS].selector = 0x63;                 /* a TLS selector */
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_SEGMENTS);
	c->s.seg[S_FS].selector = 0;
	c->s.seg[S_CS].selector = 0x23;                 /* another 64-bit CS */
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_SEGMENTS);
	c->s.seg[S_CS].selector = 0x33;
	c->s.seg[S_CS].l = 0;
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_CODE32);
	c->s.seg[S_CS].l = 1;
	c->s.rflags &= ~FL_IF;
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_IF);
	c->s.rflags |= FL_IF | FL_TF;
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_TF);
	c->s.rflags &= ~FL_TF;
	c->inhibit_irq = true;
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_SHADOW);
	c->inhibit_irq = false;
	c->s.dr[7] = 0x400 | 2;                         /* G0 */
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_DR7);
	c->s.dr[7] = 0x400;
	c->s.cr0 |= CR0_TS;
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_FPU);
	c->s.cr0 &= ~CR0_TS;
	CHECK_EQ(kq_rule_cpu(c), KQ_STAY_NONE);
	tcg_env_free(&e);
}

/* page tables in a small array "memory" at physical 0 */
static uint64_t fake_mem[8 * 512];

static uint64_t fake_read(void *opaque, uint64_t pa)
{
	(void)opaque;
	return pa / 8 < ARRAY_SIZE(fake_mem) ? fake_mem[pa / 8] : 0;
}

TEST(kqemu_hole_mapped)
{
	const uint64_t hole = 0x3fffffe00000ULL, hole_end = 0x400000000000ULL;
	memset(fake_mem, 0, sizeof(fake_mem));
	/* PML4 at 0, PDPT at 0x1000, PD at 0x2000 */
	CHECK(!kq_hole_mapped(0, hole, hole_end, fake_read, NULL));
	unsigned l4 = (hole >> 39) & 511, l3 = (hole >> 30) & 511, l2 = (hole >> 21) & 511;
	fake_mem[l4] = 0x1000 | 7;
	CHECK(!kq_hole_mapped(0, hole, hole_end, fake_read, NULL));
	fake_mem[512 + l3] = 0x2000 | 7;
	CHECK(!kq_hole_mapped(0, hole, hole_end, fake_read, NULL));
	fake_mem[1024 + l2 - 1] = 0x3000 | 7;           /* the 2 MiB below the hole */
	CHECK(!kq_hole_mapped(0, hole, hole_end, fake_read, NULL));
	CHECK(kq_hole_mapped(0, hole - 4096, hole_end, fake_read, NULL));
	fake_mem[1024 + l2] = 0x3000 | 7;
	CHECK(kq_hole_mapped(0, hole, hole_end, fake_read, NULL));
	/* a 1 GiB page covering it */
	memset(fake_mem + 512, 0, 4096);
	fake_mem[512 + l3] = 0x40000000 | 0x87;
	CHECK(kq_hole_mapped(0, hole, hole_end, fake_read, NULL));
	CHECK(!kq_hole_mapped(0, hole, hole, fake_read, NULL));
}

/* ---- the mapping table ---- */

TEST(kqemu_maps)
{
	struct kq_maps *t = calloc(1, sizeof(*t));
	CHECK(t);
	for (uint64_t i = 0; i < KQ_MAPS_MAX; i++)
		CHECK(kq_maps_set(t, 0x400000 + i * 4096, i * 4096, KQEMU_PROT_READ, i == 7 ? 21 : 12));
	CHECK_EQ(t->n, KQ_MAPS_MAX);
	CHECK_EQ(t->nr_large, 1);
	CHECK(!kq_maps_set(t, 0x10000000, 0, KQEMU_PROT_READ, 12));  /* full */
	CHECK(kq_maps_set(t, 0x400000, 0x5000, KQEMU_PROT_WRITE, 12)); /* replace */
	CHECK_EQ(kq_maps_find(t, 0x400123)->phys, 0x5000);
	/* remove every other one; the rest must still be found */
	for (uint64_t i = 0; i < KQ_MAPS_MAX; i += 2)
		CHECK(kq_maps_remove(t, 0x400000 + i * 4096));
	CHECK(!kq_maps_remove(t, 0x400000));
	for (uint64_t i = 0; i < KQ_MAPS_MAX; i++) {
		struct kq_map_entry *m = kq_maps_find(t, 0x400000 + i * 4096);
		CHECK(i % 2 ? m && m->phys == i * 4096 : !m);
	}
	CHECK_EQ(t->n, KQ_MAPS_MAX / 2);
	CHECK_EQ(t->nr_large, 1);
	CHECK(kq_maps_remove(t, 0x400000 + 7 * 4096));
	CHECK_EQ(t->nr_large, 0);
	kq_maps_clear(t);
	CHECK(!kq_maps_find(t, 0x401000));
	CHECK(!t->e);
	CHECK(kq_maps_set(t, 0x401000, 0x1000, KQEMU_PROT_READ, 12));
	CHECK_EQ(t->slots, KQ_MAPS_MIN_SLOTS);
	kq_maps_clear(t);
	free(t);
}

/* INVLPG: the entries of the guest page holding the address, all of a
 * 2 MiB one; everything (-1) with a 1 GiB page mapped */
TEST(kqemu_maps_invalidate)
{
	struct kq_maps *t = calloc(1, sizeof(*t));
	uint64_t gone[KQ_INVALIDATE_MAX];
	CHECK(t);
	for (uint64_t i = 0; i < 4; i++) {
		/* three pieces of the 2 MiB page at 0x600000, 4 KiB pages around */
		CHECK(kq_maps_set(t, 0x600000 + i * 0x80000, 0x1000000 + i * 0x80000,
				  KQEMU_PROT_READ, i < 3 ? 21 : 12));
		CHECK(kq_maps_set(t, 0x400000 + i * 4096, i * 4096, KQEMU_PROT_READ, 12));
		CHECK(kq_maps_set(t, 0x800000 + i * 4096, i * 4096, KQEMU_PROT_READ, 12));
	}
	CHECK_EQ(kq_maps_invalidate(t, 0x401234, gone), 1);
	CHECK_EQ(gone[0], 0x401000);
	CHECK_EQ(kq_maps_invalidate(t, 0x401000, gone), 0);
	/* an address in the large page: its three pieces go, and the 4 KiB
	 * entry of the address itself (here in the same 2 MiB) */
	CHECK_EQ(kq_maps_invalidate(t, 0x780000, gone), 4);
	CHECK(!kq_maps_find(t, 0x600000) && !kq_maps_find(t, 0x700000) && !kq_maps_find(t, 0x780000));
	CHECK(kq_maps_find(t, 0x402000) && kq_maps_find(t, 0x800000));
	CHECK_EQ(t->nr_large, 0);
	CHECK(kq_maps_set(t, 0x40000000, 0, KQEMU_PROT_READ, 30));
	CHECK_EQ(kq_maps_invalidate(t, 0x402000, gone), -1);
	CHECK(kq_maps_find(t, 0x402000));
	kq_maps_clear(t);
	free(t);
}

/* ---- the engine against a scripted backend ---- */

#define FAKE_STEPS 40
static struct fake {
	struct kqemu_run want[FAKE_STEPS];      /* exit fields (and state edits) */
	void (*edit[FAKE_STEPS])(struct kqemu_run *run);
	unsigned n, at;
	struct kqemu_run seen[FAKE_STEPS];      /* requests as they came in */
	unsigned kicks;
	bool opened;
	uint32_t info_flags;                    /* kqemu_backend_info.flags */
	uint32_t version;                       /* 0: KQEMU_VERSION */
} fake;

static bool fake_available(char *why, size_t n) { (void)why, (void)n; return true; }
static void *fake_open(const struct kqemu_ram *ram, char *err, size_t n)
{
	(void)ram, (void)err, (void)n;
	fake.opened = true;
	return &fake;
}
static void fake_info(void *b, struct kqemu_backend_info *in)
{
	(void)b;
	*in = (struct kqemu_backend_info){ .version = fake.version ? fake.version : KQEMU_VERSION,
					   .user_start = 0x1000,
					   .user_end = 1ULL << 47, .hole_start = 0x3fffffe00000ULL,
					   .hole_end = 0x400000000000ULL, .xcr0 = 7,
					   .xsave_size = 832, .flags = fake.info_flags,
					   .description = "fake" };
}
static int fake_exec(void *b, struct kqemu_run *run)
{
	(void)b;
	if (fake.at >= fake.n) {
		run->exit_class = KQEMU_EXIT_ERROR;
		strcpy(run->message, "script ended");
		return 0;
	}
	unsigned k = fake.at++;
	memcpy(&fake.seen[k], run, sizeof(*run));
	if (fake.edit[k])
		fake.edit[k](run);
	run->exit_class = fake.want[k].exit_class;
	run->vector = fake.want[k].vector;
	run->error_code = fake.want[k].error_code;
	run->fault_access = fake.want[k].fault_access;
	run->fault_addr = fake.want[k].fault_addr;
	return 0;
}
static void fake_kick(void *b) { (void)b; fake.kicks++; }
static void fake_close(void *b) { (void)b; fake.opened = false; }

static const struct kqemu_backend_ops fake_ops = {
	.name = "fake", .available = fake_available, .open = fake_open,
	.get_info = fake_info, .exec = fake_exec, .kick = fake_kick, .close = fake_close,
};

static void script(unsigned k, uint32_t cls, uint64_t addr, uint32_t acc,
		   void (*edit)(struct kqemu_run *))
{
	fake.want[k] = (struct kqemu_run){ .exit_class = cls, .fault_addr = addr,
					   .fault_access = acc, .error_code = -1 };
	fake.edit[k] = edit;
	if (fake.n < k + 1)
		fake.n = k + 1;
}

/* Guest layout: 4 KiB user pages at 0x400000 (code, RW), 0x401000 (RW,
 * D clear), 0x402000 (not present), 0x403000 (read-only, NX); the kernel's
 * GDT, IDT (a #PF gate to 0x40000), TSS (RSP0 0x50000). */
#define PT_PML4 0x10000
#define U_CODE 0x400000ULL
#define K_PF 0x40000ULL

static void put64(struct tcg_env *e, uint64_t pa, uint64_t v) { guest_write(e->m, pa, &v, 8); }
static uint64_t get64(struct tcg_env *e, uint64_t pa)
{
	uint64_t v = 0;
	guest_read(e->m, pa, &v, 8);
	return v;
}

static void build_guest(struct tcg_env *e)
{
	struct tcg_cpu *c = e->c;
	tcg_env_long_mode(e);   /* identity map: kernel side */
	/* PD entry 2 (4-6 MiB) -> a page table at 0x14000 */
	put64(e, PT_PML4 + 0x2000 + 2 * 8, 0x14000 | 7);
	put64(e, 0x14000 + 0 * 8, 0x200000 | 0x67);             /* A D U W P */
	put64(e, 0x14000 + 1 * 8, 0x201000 | 0x27);             /* A U W P, D clear */
	put64(e, 0x14000 + 2 * 8, 0);
	put64(e, 0x14000 + 3 * 8, 0x203000 | 0x25 | (1ULL << 63)); /* read-only, NX */
	put64(e, 0x14000 + 4 * 8, 0x204000 | 0x07);             /* U W P, never accessed */
	c->s.efer |= EFER_NXE;
	/* GDT at 0x20000 */
	put64(e, 0x20000 + 0x10, 0x00209a0000000000ULL);
	put64(e, 0x20000 + 0x18, 0x0000920000000000ULL);
	put64(e, 0x20000 + 0x28, 0x0000f20000000000ULL);
	put64(e, 0x20000 + 0x30, 0x0020fa0000000000ULL);
	c->s.gdt = (struct x86_dtable){ .base = 0x20000, .limit = 0x3f };
	/* IDT at 0x21000: vector 14 and 0 -> K_PF, interrupt gates, DPL 0 */
	for (int v = 0; v < 32; v++) {
		uint64_t lo = (K_PF & 0xffff) | (0x10ULL << 16) | (0x8eULL << 40) |
			      ((K_PF >> 16) & 0xffff) << 48;
		put64(e, 0x21000 + v * 16, lo);
		put64(e, 0x21000 + v * 16 + 8, K_PF >> 32);
	}
	c->s.idt = (struct x86_dtable){ .base = 0x21000, .limit = 32 * 16 - 1 };
	put64(e, 0x22000 + 4, 0x50000);                         /* TSS.RSP0 */
	c->s.tr = (struct x86_segment){ .base = 0x22000, .limit = 0x67, .type = 0xb,
					.present = 1, .selector = 0x40 };
	linux_user(c);
	c->s.rip = U_CODE;
	c->s.regs[R_RSP] = U_CODE + 0x1ff0;
	tcg_tlb_flush_all(c);
}

struct kq_setup {
	struct tcg_env env;
	struct kq_engine eng;
	struct kq_vcpu *kv;
};

/* The engine over the fake backend, which reports info_flags and
 * version (0: KQEMU_VERSION) */
static bool setup_info(struct kq_setup *s, uint32_t info_flags, uint32_t version)
{
	memset(&fake, 0, sizeof(fake));
	fake.info_flags = info_flags;
	fake.version = version;
	memset(s, 0, sizeof(*s));
	if (!tcg_env_init(&s->env, 0x100000))
		return false;
	build_guest(&s->env);
	s->eng.ops = &fake_ops;
	s->eng.around_pages = KQ_AROUND_PAGES;
	s->eng.m = s->env.m;
	s->eng.ram = (struct kqemu_ram){ .fd = -1, .size = TCGT_RAM, .host = s->env.m->ram };
	pthread_mutex_init(&s->eng.lock, NULL);
	s->kv = kq_vcpu_new(&s->eng, s->env.c);
	return s->kv && kq_vcpu_open(s->kv) == 0;
}

static bool setup_flags(struct kq_setup *s, uint32_t info_flags)
{
	return setup_info(s, info_flags, 0);
}

static bool setup(struct kq_setup *s)
{
	return setup_flags(s, 0);
}

static void teardown(struct kq_setup *s)
{
	kq_vcpu_free(s->kv);
	tcg_env_free(&s->env);
}

static const struct kqemu_map *find_map(const struct kqemu_run *r, uint64_t lin)
{
	for (unsigned i = 0; i < r->nr_map; i++)
		if (r->map[i].lin == lin)
			return &r->map[i];
	return NULL;
}

TEST(kqemu_engine_page_exits)
{
	struct kq_setup s;
	CHECK(setup(&s));
	struct kq_vcpu *kv = s.kv;
	CHECK_EQ(kq_rule(kv), KQ_STAY_NONE);
	script(0, KQEMU_EXIT_PAGE, U_CODE + 0x10, KQEMU_ACC_EXEC, NULL);
	script(1, KQEMU_EXIT_PAGE, U_CODE + 0x1008, KQEMU_ACC_READ, NULL);
	script(2, KQEMU_EXIT_PAGE, U_CODE + 0x1008, KQEMU_ACC_WRITE, NULL);
	script(3, KQEMU_EXIT_PAGE, U_CODE + 0x3000, KQEMU_ACC_READ, NULL);
	script(4, KQEMU_EXIT_SIGNAL, 0, 0, NULL);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK(!(get64(&s.env, 0x14000 + 8) & 0x40));   /* a read sets no D */
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[0].nr_map, 0);
	/* the code page: RAM offset 0x200000, R W X (D set) */
	const struct kqemu_map *mp = find_map(&fake.seen[1], U_CODE);
	CHECK(mp && mp->ram_offset == 0x200000);
	CHECK_EQ(mp->prot, KQEMU_PROT_READ | KQEMU_PROT_WRITE | KQEMU_PROT_EXEC);
	/* D clear and a read: read-only until the first write */
	mp = find_map(&fake.seen[2], U_CODE + 0x1000);
	CHECK(mp && mp->prot == (KQEMU_PROT_READ | KQEMU_PROT_EXEC));
	mp = find_map(&fake.seen[3], U_CODE + 0x1000);
	CHECK(mp && mp->prot == (KQEMU_PROT_READ | KQEMU_PROT_WRITE | KQEMU_PROT_EXEC));
	CHECK(get64(&s.env, 0x14000 + 8) & 0x40);       /* D set by the walk */
	CHECK(get64(&s.env, PT_PML4) & 0x20);           /* A on the way down */
	/* read-only, NX */
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	mp = find_map(&fake.seen[4], U_CODE + 0x3000);
	CHECK(mp && mp->prot == KQEMU_PROT_READ);
	CHECK_EQ(kv->st.exits[KQEMU_EXIT_PAGE], 4);
	/* the first exit mapped the accessed neighbours too (read-only
	 * without D), not the page whose A is clear, and set no A */
	mp = find_map(&fake.seen[1], U_CODE + 0x1000);
	CHECK(mp && mp->prot == (KQEMU_PROT_READ | KQEMU_PROT_EXEC));
	mp = find_map(&fake.seen[1], U_CODE + 0x3000);
	CHECK(mp && mp->prot == KQEMU_PROT_READ);
	CHECK(!find_map(&fake.seen[1], U_CODE + 0x2000));
	CHECK(!find_map(&fake.seen[1], U_CODE + 0x4000));
	CHECK(!(get64(&s.env, 0x14000 + 4 * 8) & 0x20));
	CHECK_EQ(kv->st.prefaults, 2);
	CHECK_EQ(kv->st.maps, 6);
	teardown(&s);
}

TEST(kqemu_engine_page_fault_delivered)
{
	struct kq_setup s;
	CHECK(setup(&s));
	struct tcg_cpu *c = s.env.c;
	script(0, KQEMU_EXIT_PAGE, U_CODE + 0x2010, KQEMU_ACC_WRITE, NULL);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(c->s.rip, K_PF);
	CHECK_EQ(tcg_cpl(c), 0);
	CHECK_EQ(c->s.cr2, U_CODE + 0x2010);
	CHECK_EQ(c->s.regs[R_RSP], 0x50000 - 6 * 8);    /* SS RSP RFLAGS CS RIP err */
	CHECK_EQ(get64(&s.env, 0x50000 - 6 * 8), PF_U | PF_W);  /* not present */
	CHECK_EQ(get64(&s.env, 0x50000 - 5 * 8), U_CODE);
	/* a write to the read-only page: a protection fault */
	build_guest(&s.env);
	script(1, KQEMU_EXIT_PAGE, U_CODE + 0x3000, KQEMU_ACC_WRITE, NULL);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(get64(&s.env, 0x50000 - 6 * 8), PF_U | PF_W | PF_P);
	/* a fetch from the NX page */
	build_guest(&s.env);
	script(2, KQEMU_EXIT_PAGE, U_CODE + 0x3000, KQEMU_ACC_EXEC, NULL);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(get64(&s.env, 0x50000 - 6 * 8), PF_U | PF_I | PF_P);
	CHECK_EQ(s.kv->st.pf_delivered, 3);
	/* the page of a delivered #PF that the guest's handler made present
	 * (A and D set, as Linux does for a write) is mapped at the next
	 * entry, writable; one still not present is not */
	build_guest(&s.env);
	script(3, KQEMU_EXIT_PAGE, U_CODE + 0x2010, KQEMU_ACC_WRITE, NULL);
	script(4, KQEMU_EXIT_PAGE, U_CODE + 0x2010, KQEMU_ACC_WRITE, NULL);
	script(5, KQEMU_EXIT_SIGNAL, 0, 0, NULL);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	build_guest(&s.env);                    /* the handler returned ... */
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK(!find_map(&fake.seen[4], U_CODE + 0x2000));       /* ... doing nothing */
	build_guest(&s.env);
	put64(&s.env, 0x14000 + 2 * 8, 0x202000 | 0x67);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	const struct kqemu_map *mp = find_map(&fake.seen[5], U_CODE + 0x2000);
	CHECK(mp && (mp->prot & KQEMU_PROT_WRITE));
	CHECK_EQ(s.kv->st.premaps, 3);         /* and the read-only page, twice */
	teardown(&s);
}

static void edit_syscall(struct kqemu_run *run)
{
	run->state.rip = U_CODE + 0x22;                 /* after a SYSCALL at 0x20 */
	run->state.regs[R_RAX] = 60;
	run->state.rflags |= FL_CF;
}

static void edit_xmm(struct kqemu_run *run)
{
	/* xmm1 (legacy area +176) and the AVX upper half of ymm1 (+592) */
	memset(run->state.xsave + 176, 0x5a, 16);
	memset(run->state.xsave + 576 + 16, 0xa5, 16);
	uint64_t bv = 7;
	memcpy(run->state.xsave + 512, &bv, 8);
}

TEST(kqemu_engine_exits_and_state)
{
	struct kq_setup s;
	CHECK(setup(&s));
	struct tcg_cpu *c = s.env.c;
	c->fpu.xmm[0].q[0] = 0x1122334455667788ULL;
	c->s.seg[S_FS].base = 0x7f0000001000ULL;
	script(0, KQEMU_EXIT_SYSCALL, 0, 0, edit_syscall);
	script(1, KQEMU_EXIT_SOFTMMU, 0, 0, edit_xmm);
	script(2, KQEMU_EXIT_SIGNAL, 0, 0, NULL);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	const struct kqemu_cpu_state *in = &fake.seen[0].state;
	CHECK_EQ(in->rip, U_CODE);
	CHECK_EQ(in->cs, 0x33);
	CHECK_EQ(in->ss, 0x2b);
	CHECK_EQ(in->fs_base, 0x7f0000001000ULL);
	CHECK(in->rflags & FL_IF);
	uint64_t x0;
	memcpy(&x0, in->xsave + 160, 8);
	CHECK_EQ(x0, 0x1122334455667788ULL);
	CHECK_EQ(in->xsave_size, 832);
	/* SYSCALL: backed up over it, one instruction in TCG next */
	CHECK_EQ(c->s.rip, U_CODE + 0x20);
	CHECK_EQ(c->s.regs[R_RAX], 60);
	CHECK(tcg_rflags(c) & FL_CF);
	CHECK(c->kqemu_one);
	c->kqemu_one = false;
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);    /* SOFTMMU */
	CHECK(c->kqemu_one);
	CHECK_EQ(c->fpu.xmm[1].q[0], 0x5a5a5a5a5a5a5a5aULL);
	c->kqemu_one = false;
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	/* the AVX half came back in the next entry's area, untouched */
	in = &fake.seen[2].state;
	CHECK_EQ(in->xsave[576 + 16], 0xa5);
	uint64_t bv;
	memcpy(&bv, in->xsave + 512, 8);
	CHECK_EQ(bv & 6, 6);            /* SSE and AVX in use (x87 may be init) */
	/* the script's end is an ERROR: the backend goes, TCG stays */
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK(!s.kv->b);
	CHECK(fake.opened);                             /* closed with the vCPU */
	CHECK(!c->kqemu_exit_on_user);
	CHECK(s.eng.broken);
	teardown(&s);
}

static void mark_during_run(struct kqemu_run *run)
{
	(void)run;
	tcg_mark_code_page(0x201000);
}

TEST(kqemu_engine_flushes_and_code)
{
	struct kq_setup s;
	CHECK(setup(&s));
	struct tcg_cpu *c = s.env.c;
	/* SOFTMMU exits: a SIGNAL would send the requests again */
	for (unsigned k = 0; k < FAKE_STEPS; k++)
		script(k, KQEMU_EXIT_SOFTMMU, 0, 0, NULL);
	script(0, KQEMU_EXIT_PAGE, U_CODE, KQEMU_ACC_WRITE, NULL);
	script(1, KQEMU_EXIT_PAGE, U_CODE + 0x1000, KQEMU_ACC_WRITE, NULL);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	/* INVLPG of the first page: unmapped at the next entry */
	tcg_tlb_flush_page(c, U_CODE);
	fake.edit[2] = mark_during_run;
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK(!fake.seen[2].flush_all);
	CHECK_EQ(fake.seen[2].nr_unmap, 1);
	CHECK_EQ(fake.seen[2].unmap[0], U_CODE);
	CHECK(find_map(&fake.seen[2], U_CODE + 0x1000));
	/* another vCPU's decoder marks the second page as code during the
	 * run: a kick, the writable mapping goes at the next entry, and
	 * TCG's blocks of the page are dropped after the run */
	CHECK_EQ(fake.kicks, 1);
	CHECK(!tcg_page_has_code(0x201000));            /* invalidated after the run */
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[3].nr_unmap, 1);
	CHECK_EQ(fake.seen[3].unmap[0], U_CODE + 0x1000);
	CHECK_EQ(s.kv->st.code_unmaps, 1);
	/* a mark while the vCPU is in TCG: no kick, the code stays */
	tcg_mark_code_page(0x201000);
	CHECK_EQ(fake.kicks, 1);
	CHECK(tcg_page_has_code(0x201000));
	/* a read of a page holding code maps it read-only; the write fault
	 * invalidates the code and maps it writable */
	script(4, KQEMU_EXIT_PAGE, U_CODE + 0x1000, KQEMU_ACC_READ, NULL);
	script(5, KQEMU_EXIT_PAGE, U_CODE + 0x1000, KQEMU_ACC_WRITE, NULL);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	const struct kqemu_map *mp = find_map(&fake.seen[5], U_CODE + 0x1000);
	CHECK(mp && !(mp->prot & KQEMU_PROT_WRITE));
	CHECK(!tcg_page_has_code(0x201000));
	CHECK_EQ(s.kv->st.code_writes, 1);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	mp = find_map(&fake.seen[6], U_CODE + 0x1000);
	CHECK(mp && (mp->prot & KQEMU_PROT_WRITE));
	/* a CR3 load: every mapping is walked again at the next entry; the
	 * page whose PTE went is unmapped, the others stay */
	unsigned before = s.kv->ctx[0].maps.n;
	CHECK(before >= 2);
	put64(&s.env, 0x14000 + 1 * 8, 0);
	tcg_set_cr3(c, c->s.cr3);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK(!fake.seen[7].flush_all);
	CHECK_EQ(fake.seen[7].nr_map, 0);
	CHECK_EQ(fake.seen[7].nr_unmap, 1);
	CHECK_EQ(fake.seen[7].unmap[0], U_CODE + 0x1000);
	CHECK_EQ(s.kv->ctx[0].maps.n, before - 1);
	CHECK_EQ(s.kv->st.revalidations, 1);
	CHECK_EQ(s.kv->st.reval_dropped, 1);
	/* a CR4 change (PGE here): everything goes at once */
	tcg_set_cr4(c, c->s.cr4 ^ CR4_PGE);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK(fake.seen[8].flush_all);
	CHECK_EQ(s.kv->ctx[0].maps.n, 0);
	teardown(&s);
}

/* The guest's address space: PCID pcid (CR4.PCIDE) of the same tables */
static void load_cr3(struct tcg_cpu *c, uint64_t pcid, bool keep)
{
	tcg_set_cr3_keep(c, (c->s.cr3 & ~0xfffULL) | pcid, keep);
}

/* Another process: a PML4 at root with the same entries as PT_PML4's */
static uint64_t clone_root(struct tcg_env *e, uint64_t root)
{
	for (uint64_t i = 0; i < 4096; i += 8)
		put64(e, root + i, get64(e, PT_PML4 + i));
	return root;
}

/* Its tables under PCID pcid */
static void load_as(struct tcg_cpu *c, uint64_t root, uint64_t pcid, bool keep)
{
	tcg_set_cr3_keep(c, root | pcid, keep);
}

/* With a backend that keeps contexts, mappings are per PCID and only the
 * architecture's flushes drop them (SDM Vol. 3A, 4.10.4.1). */
TEST(kqemu_engine_contexts)
{
	struct kq_setup s;
	CHECK(setup_flags(&s, KQEMU_INFO_CONTEXTS));
	struct kq_vcpu *kv = s.kv;
	struct tcg_cpu *c = s.env.c;
	CHECK_EQ(kv->nr_ctx, KQEMU_CONTEXTS);
	c->s.cr4 |= CR4_PCIDE;
	load_cr3(c, 1, false);
	for (unsigned k = 0; k < FAKE_STEPS; k++)
		script(k, KQEMU_EXIT_SOFTMMU, 0, 0, NULL);
	/* PCID 1 maps the code page (writable: A and D set) */
	script(0, KQEMU_EXIT_PAGE, U_CODE, KQEMU_ACC_WRITE, NULL);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[0].context, 0);
	/* a switch to another process's tables under PCID 2 without bit
	 * 63: PCID 2's translations go (it has none); another context,
	 * PCID 1's mapping untouched */
	const uint64_t root_b = clone_root(&s.env, 0x80000);
	load_as(c, root_b, 2, false);
	script(1, KQEMU_EXIT_PAGE, U_CODE + 0x1000, KQEMU_ACC_READ, NULL);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[1].context, 1);
	CHECK(!fake.seen[1].flush_all);
	CHECK_EQ(fake.seen[1].nr_unmap, 0);
	CHECK_EQ(fake.seen[1].nr_map, 0);
	/* back to PCID 1 with bit 63: its mapping stays, and the maps of
	 * its PAGE exit go now (they waited for the context's entry); the
	 * page PCID 2 wanted went to context 1 */
	load_as(c, PT_PML4, 1, true);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[2].context, 0);
	CHECK(!fake.seen[2].flush_all);
	CHECK_EQ(fake.seen[2].nr_unmap, 0);
	CHECK(find_map(&fake.seen[2], U_CODE));
	CHECK(!find_map(&fake.seen[2], U_CODE + 0x1000) ||
	      !(find_map(&fake.seen[2], U_CODE + 0x1000)->prot & KQEMU_PROT_WRITE));
	CHECK(kq_maps_find(&kv->ctx[0].maps, U_CODE));
	CHECK(kq_maps_find(&kv->ctx[1].maps, U_CODE + 0x1000));
	CHECK(kq_maps_find(&kv->ctx[0].maps, U_CODE + 0x1000));  /* around U_CODE */
	CHECK_EQ(kv->st.ctx_kept, 1);
	CHECK_EQ(kv->st.ctx_switches, 2);
	/* INVLPG in PCID 1: the page goes in every context holding it */
	tcg_tlb_flush_page(c, U_CODE + 0x1000);
	CHECK(!kq_maps_find(&kv->ctx[1].maps, U_CODE + 0x1000));
	CHECK(!kq_maps_find(&kv->ctx[0].maps, U_CODE + 0x1000));
	CHECK_EQ(kv->ctx[1].nr_unmap, 1);
	CHECK_EQ(kv->ctx[0].nr_unmap, 1);
	/* a code mark strips the writable mapping of context 0 while the
	 * vCPU is in TCG: no kick, an unmap at its next entry */
	tcg_mark_code_page(0x200000);
	CHECK_EQ(fake.kicks, 0);
	const struct kq_map_entry *me = kq_maps_find(&kv->ctx[0].maps, U_CODE);
	CHECK(me && !(me->prot & KQEMU_PROT_WRITE));
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[3].context, 0);
	CHECK_EQ(fake.seen[3].nr_unmap, 2);
	CHECK_EQ(fake.seen[3].unmap[0], U_CODE + 0x1000);
	CHECK_EQ(fake.seen[3].unmap[1], U_CODE);
	/* MOV to CR3 without bit 63: PCID 1's mappings are walked again at
	 * its next entry (the tables did not change: all stay); PCID 2's
	 * are not touched */
	unsigned n0 = kv->ctx[0].maps.n;
	load_cr3(c, 1, false);
	CHECK(kv->ctx[0].revalidate);
	CHECK(!kv->ctx[1].revalidate);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[4].context, 0);
	CHECK(!fake.seen[4].flush_all);
	CHECK_EQ(fake.seen[4].nr_unmap, 0);
	CHECK_EQ(kv->ctx[0].maps.n, n0);
	CHECK_EQ(kv->st.ctx_flushes, 1);
	CHECK_EQ(kv->st.reval_kept, n0);
	CHECK_EQ(kv->ctx[1].nr_unmap, 2);       /* INVLPG and code mark, pending for PCID 2 */
	/* INVPCID type 1 is the same for the PCID it names: tcg_tlb_flush_pcid */
	script(5, KQEMU_EXIT_PAGE, U_CODE + 0x10, KQEMU_ACC_EXEC, NULL);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK(kq_maps_find(&kv->ctx[0].maps, U_CODE));
	tcg_tlb_flush_pcid(c, 2);
	CHECK(!kv->ctx[0].revalidate);
	CHECK(kv->ctx[1].revalidate);
	/* every PCID's non-global ones (INVPCID 3): walked again, each at
	 * its context's next entry */
	tcg_tlb_flush(c);
	CHECK(kv->ctx[0].revalidate);
	/* more stale mappings than one request unmaps: the context is
	 * flushed (pages the guest does not map, entered by hand) */
	for (uint64_t i = 0; i < KQEMU_MAX_UNMAPS + 1; i++)
		CHECK(kq_maps_set(&kv->ctx[0].maps, 0x10000000 + i * 4096, 0x300000, KQEMU_PROT_READ,
				  12));
	kq_ctx_enter(kv, 1, c->s.cr3 & KQ_CR3_ROOT);
	CHECK(kv->ctx[0].flush_all);
	CHECK_EQ(kv->ctx[0].maps.n, 0);
	/* everything (INVPCID 2, CR4, CR0): every context at once */
	tcg_tlb_flush_all(c);
	CHECK_EQ(kv->ctx[1].maps.n, 0);
	CHECK(kv->ctx[1].flush_all);
	/* more PCIDs than contexts: the least recently run one is reused,
	 * flushed (an eviction when it held mappings) */
	unsigned k = 6;
	for (uint64_t pcid = 10; pcid < 12 + KQEMU_CONTEXTS; pcid++, k++) {
		load_as(c, clone_root(&s.env, 0x80000 + pcid * 0x1000), pcid, true);
		script(k, KQEMU_EXIT_PAGE, U_CODE + 0x10, KQEMU_ACC_EXEC, NULL);
		CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	}
	/* PCIDs 10-17 took the 8 contexts (PCID 1's and 2's, empty, were
	 * reused), 18 and 19 evicted 10's and 11's */
	CHECK_EQ(kv->st.ctx_evictions, 2);
	load_as(c, 0x80000 + 12 * 0x1000, 12, true);    /* still there */
	uint64_t ev = kv->st.ctx_evictions;
	fake.n = k + 1;
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK(!fake.seen[k].flush_all);
	CHECK_EQ(kv->st.ctx_evictions, ev);
	teardown(&s);
}

/* Contexts are found by the page-table root too: a process that comes
 * back under another PCID (Linux hands its few ASIDs round, flushing at
 * each reuse) finds its mappings, walked again in its tables. */
TEST(kqemu_engine_context_by_root)
{
	struct kq_setup s;
	CHECK(setup_flags(&s, KQEMU_INFO_CONTEXTS));
	struct kq_vcpu *kv = s.kv;
	struct tcg_cpu *c = s.env.c;
	c->s.cr4 |= CR4_PCIDE;
	for (unsigned k = 0; k < FAKE_STEPS; k++)
		script(k, KQEMU_EXIT_SOFTMMU, 0, 0, NULL);
	/* process A under PCID 1 maps U_CODE and its neighbours */
	load_as(c, PT_PML4, 1, false);
	script(0, KQEMU_EXIT_PAGE, U_CODE, KQEMU_ACC_WRITE, NULL);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	unsigned n0 = kv->ctx[0].maps.n;
	CHECK(n0 >= 2);
	CHECK(kq_maps_find(&kv->ctx[0].maps, U_CODE + 0x1000));
	/* process B gets PCID 1 (flushed): another context, A's stays */
	const uint64_t root_b = clone_root(&s.env, 0x80000);
	load_as(c, root_b, 1, false);
	CHECK(kv->ctx[0].revalidate);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[1].context, 1);
	CHECK_EQ(kv->ctx[0].maps.n, n0);
	CHECK_EQ(kv->st.ctx_evictions, 0);
	/* meanwhile a page of A's goes (A runs on no CPU: no INVLPG) */
	put64(&s.env, 0x14000 + 1 * 8, 0);
	/* A comes back under PCID 2: its context, retagged and walked
	 * again; what the walk gives stays, the page that went goes */
	load_as(c, PT_PML4, 2, false);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[2].context, 0);
	CHECK(!fake.seen[2].flush_all);
	CHECK_EQ(fake.seen[2].nr_unmap, 1);
	CHECK_EQ(fake.seen[2].unmap[0], U_CODE + 0x1000);
	CHECK_EQ(kv->ctx[0].maps.n, n0 - 1);
	CHECK(kq_maps_find(&kv->ctx[0].maps, U_CODE));
	CHECK_EQ(kv->st.ctx_retags, 1);
	CHECK_EQ(kv->st.reval_kept, n0 - 1);
	CHECK_EQ(kv->st.reval_dropped, 1);
	/* B again under PCID 1 with bit 63: its context as it was */
	load_as(c, root_b, 1, true);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[3].context, 1);
	CHECK_EQ(kv->st.ctx_retags, 1);
	CHECK_EQ(kv->st.revalidations, 1);
	/* a flush of PCID 2 reaches A's context, now tagged with it */
	tcg_tlb_flush_pcid(c, 2);
	CHECK(kv->ctx[0].revalidate);
	CHECK(!kv->ctx[1].revalidate);
	teardown(&s);
}

/* A backend of minor 2 keeps 8 contexts, one of minor 3 16 */
TEST(kqemu_engine_contexts_by_version)
{
	struct kq_setup s;
	CHECK(setup_info(&s, KQEMU_INFO_CONTEXTS, 0));
	CHECK_EQ(s.kv->nr_ctx, 16);
	teardown(&s);
	CHECK(setup_info(&s, KQEMU_INFO_CONTEXTS, KQEMU_VERSION_MAJOR << 16 | 2));
	CHECK_EQ(s.kv->nr_ctx, KQEMU_CONTEXTS_1_2);
	teardown(&s);
}

/* Without KQEMU_INFO_CONTEXTS: one context, flushed when another
 * address space runs, walked again when its own comes under another PCID */
TEST(kqemu_engine_one_context)
{
	struct kq_setup s;
	CHECK(setup(&s));
	struct kq_vcpu *kv = s.kv;
	struct tcg_cpu *c = s.env.c;
	CHECK_EQ(kv->nr_ctx, 1);
	c->s.cr4 |= CR4_PCIDE;
	load_cr3(c, 1, false);
	for (unsigned k = 0; k < FAKE_STEPS; k++)
		script(k, KQEMU_EXIT_SOFTMMU, 0, 0, NULL);
	script(0, KQEMU_EXIT_PAGE, U_CODE + 0x10, KQEMU_ACC_EXEC, NULL);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	/* the same tables under PCID 2: walked again, the page stays */
	load_cr3(c, 2, true);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[1].context, 0);
	CHECK(!fake.seen[1].flush_all);
	CHECK_EQ(fake.seen[1].nr_unmap, 0);
	CHECK_EQ(kv->st.ctx_retags, 1);
	CHECK(kq_maps_find(&kv->ctx[0].maps, U_CODE));
	/* another process's tables under PCID 2 with bit 63: flushed */
	script(2, KQEMU_EXIT_PAGE, U_CODE + 0x10, KQEMU_ACC_EXEC, NULL);
	load_as(c, clone_root(&s.env, 0x80000), 2, true);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(fake.seen[2].context, 0);
	CHECK(fake.seen[2].flush_all);          /* the only context */
	load_cr3(c, 2, true);                   /* the same PCID and tables, kept */
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK(!fake.seen[3].flush_all);
	CHECK_EQ(kv->st.revalidations, 1);
	/* CR4.PCIDE clear: PCID 0 only; a new state flushes everything */
	c->s.cr4 &= ~CR4_PCIDE;
	c->s.cr3 &= ~0xfffULL;
	tcg_tlb_flush_all(c);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK(fake.seen[4].flush_all);
	script(5, KQEMU_EXIT_PAGE, U_CODE + 0x10, KQEMU_ACC_EXEC, NULL);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	/* a CR3 write walks the mappings again: U_CODE's PTE went */
	put64(&s.env, 0x14000, 0);
	tcg_set_cr3(c, c->s.cr3);
	CHECK_EQ(kq_native(kv), VCPU_EXIT_AGAIN);
	CHECK(!fake.seen[6].flush_all);
	CHECK_EQ(fake.seen[6].nr_unmap, 1);
	CHECK_EQ(fake.seen[6].unmap[0], U_CODE);
	teardown(&s);
}

TEST(kqemu_choose_without_backend)
{
	char why[256];
	if (kq_backend_pick(why, sizeof(why)))
		SKIP("a kqemu backend is built in and available here");
	CHECK(strstr(why, "no kqemu backend available here"));
	CHECK(!kqemu_accel_ops.available(why, sizeof(why)));
}

/* ---- the loop: a backend that "runs" nothing itself ----
 * It applies the mapping requests, asks for the page of rip when it has
 * no executable mapping, reports SYSCALL for 0F 05 and SOFTMMU for every
 * other instruction, so that TCG runs each instruction between native
 * entries: the engine's loop and TCG's CPL 3 exit are what is tested. */
static struct interp {
	struct kqemu_ram ram;
	unsigned n;
	uint64_t lin[64], off[64];
	uint32_t prot[64];
} interp;

static void *interp_open(const struct kqemu_ram *ram, char *err, size_t n)
{
	(void)err, (void)n;
	memset(&interp, 0, sizeof(interp));
	interp.ram = *ram;
	return &interp;
}

static int interp_find(uint64_t lin)
{
	for (unsigned i = 0; i < interp.n; i++)
		if (interp.lin[i] == (lin & ~0xfffULL))
			return i;
	return -1;
}

static int interp_exec(void *b, struct kqemu_run *run)
{
	(void)b;
	if (run->flush_all)
		interp.n = 0;
	for (unsigned i = 0; i < run->nr_unmap; i++) {
		int k = interp_find(run->unmap[i]);
		if (k >= 0) {
			interp.n--;
			interp.lin[k] = interp.lin[interp.n];
			interp.off[k] = interp.off[interp.n];
			interp.prot[k] = interp.prot[interp.n];
		}
	}
	for (unsigned i = 0; i < run->nr_map; i++) {
		int k = interp_find(run->map[i].lin);
		if (k < 0) {
			if (interp.n == 64)
				return -1;
			k = interp.n++;
		}
		interp.lin[k] = run->map[i].lin;
		interp.off[k] = run->map[i].ram_offset;
		interp.prot[k] = run->map[i].prot;
	}
	uint64_t rip = run->state.rip;
	int k = interp_find(rip);
	if (k < 0 || !(interp.prot[k] & KQEMU_PROT_EXEC)) {
		run->exit_class = KQEMU_EXIT_PAGE;
		run->fault_addr = rip;
		run->fault_access = KQEMU_ACC_EXEC;
		return 0;
	}
	const uint8_t *p = (const uint8_t *)interp.ram.host + interp.off[k] + (rip & 0xfff);
	if (p[0] == 0x0f && p[1] == 0x05) {
		run->state.rip += 2;
		run->exit_class = KQEMU_EXIT_SYSCALL;
		run->vector = 0;
	} else {
		run->exit_class = KQEMU_EXIT_SOFTMMU;
	}
	return 0;
}

static const struct kqemu_backend_ops interp_ops = {
	.name = "interp", .available = fake_available, .open = interp_open,
	.get_info = fake_info, .exec = interp_exec, .kick = fake_kick, .close = fake_close,
};

static int run_tcg(void *c)
{
	return tcg_exec(c);
}

static void engine_loop(bool jit)
{
	struct kq_setup s;
	CHECK(setup(&s));
	struct tcg_cpu *c = s.env.c;
	struct kq_vcpu *kv = s.kv;
	kq_vcpu_free(kv);
	s.eng.ops = &interp_ops;
	s.eng.have_info = false;
	kv = s.kv = kq_vcpu_new(&s.eng, c);
	CHECK(kv && kq_vcpu_open(kv) == 0);
	tcg_set_jit(c, jit, 4);
	/* the user's loop: add $1,%rbx; syscall; jmp back */
	static const uint8_t user[] = { 0x48, 0x83, 0xc3, 0x01, 0x0f, 0x05, 0xeb, 0xf8 };
	/* the kernel's: inc %rdx; cmp $50,%rdx; je 1f; sysretq; 1: hlt */
	static const uint8_t kernel[] = { 0x48, 0xff, 0xc2, 0x48, 0x83, 0xfa, 0x32, 0x74, 0x03,
					  0x48, 0x0f, 0x07, 0xf4 };
	guest_write(s.env.m, 0x200000, user, sizeof(user));
	guest_write(s.env.m, 0x30000, kernel, sizeof(kernel));
	c->s.efer |= 1;                                 /* SCE */
	c->s.star = 0x23ULL << 48 | 0x10ULL << 32;
	c->s.lstar = 0x30000;
	c->s.sfmask = FL_IF;
	c->s.regs[R_RBX] = c->s.regs[R_RDX] = 0;
	int r = VCPU_EXIT_AGAIN;
	for (int guard = 0; guard < 100000 && r == VCPU_EXIT_AGAIN; guard++)
		r = kq_run(kv, run_tcg, c);
	CHECK_EQ(r, VCPU_EXIT_HALT);
	CHECK_EQ(c->s.regs[R_RDX], 50);
	CHECK_EQ(c->s.regs[R_RBX], 50);
	CHECK_EQ(c->s.rip, 0x30000 + sizeof(kernel));
	CHECK_EQ(kv->st.exits[KQEMU_EXIT_SYSCALL], 50);
	/* mapped writable first; TCG's decoder takes the write away once */
	CHECK_EQ(kv->st.exits[KQEMU_EXIT_PAGE], 2);
	CHECK_EQ(kv->st.code_unmaps, 1);
	CHECK_EQ(kv->st.exits[KQEMU_EXIT_SOFTMMU], 99); /* add and jmp, the last jmp aside */
	CHECK(kv->st.stay[KQ_STAY_AFTER_EXIT] >= 149);
	teardown(&s);
}

TEST(kqemu_engine_loop_interpreter)
{
	engine_loop(false);
}

TEST(kqemu_engine_loop_jit)
{
	engine_loop(true);
}

/* The stretch after an exit: the user code after SYSRET runs in TCG,
 * which hands CPUID and an instruction it lacks (EVEX VPADDQ zmm) back
 * to the backend with rip at them.  The interp backend "cannot run"
 * either (SOFTMMU): TCG then runs CPUID alone, and raises a real #UD for
 * the EVEX instruction, delivered to the kernel (no loop). */
static void engine_stretch(bool jit)
{
	struct kq_setup s;
	CHECK(setup(&s));
	struct tcg_cpu *c = s.env.c;
	struct kq_vcpu *kv = s.kv;
	kq_vcpu_free(kv);
	s.eng.ops = &interp_ops;
	s.eng.have_info = false;
	s.eng.tcg_blocks_after_exit = 64;
	s.eng.around_pages = KQ_AROUND_PAGES;
	kv = s.kv = kq_vcpu_new(&s.eng, c);
	CHECK(kv && kq_vcpu_open(kv) == 0);
	tcg_set_jit(c, jit, 4);
	/* syscall; cpuid; vpaddq %zmm1,%zmm0,%zmm0 */
	static const uint8_t user[] = { 0x0f, 0x05, 0x0f, 0xa2,
					0x62, 0xf1, 0xfd, 0x48, 0xd4, 0xc1 };
	static const uint8_t sysret[] = { 0x48, 0x0f, 0x07 };
	static const uint8_t hlt = 0xf4;
	guest_write(s.env.m, 0x200000, user, sizeof(user));
	guest_write(s.env.m, 0x30000, sysret, sizeof(sysret));
	guest_write(s.env.m, K_PF, &hlt, 1);           /* every vector's gate */
	c->s.efer |= 1;                                 /* SCE */
	c->s.star = 0x23ULL << 48 | 0x10ULL << 32;
	c->s.lstar = 0x30000;
	c->s.sfmask = FL_IF;
	c->s.regs[R_RAX] = 0;
	uint64_t rips[8];
	unsigned n = 0;
	int r = VCPU_EXIT_AGAIN;
	for (int guard = 0; guard < 1000 && r == VCPU_EXIT_AGAIN; guard++) {
		uint64_t before = kv->st.handed_native;
		r = kq_run(kv, run_tcg, c);
		if (kv->st.handed_native != before && n < 8)
			rips[n++] = c->s.rip;
	}
	CHECK_EQ(r, VCPU_EXIT_HALT);
	CHECK_EQ(n, 2);
	CHECK_EQ(rips[0], U_CODE + 2);                  /* CPUID, not run */
	CHECK_EQ(rips[1], U_CODE + 4);                  /* EVEX */
	CHECK_EQ(kv->st.exits[KQEMU_EXIT_SOFTMMU], 2);
	CHECK(c->s.regs[R_RAX] != 0);                   /* TCG ran CPUID alone */
	/* the #UD delivered: the frame's rip is the EVEX instruction */
	CHECK_EQ(c->s.rip, K_PF + 1);
	CHECK_EQ(get64(&s.env, 0x50000 - 40), U_CODE + 4);
	teardown(&s);
}

TEST(kqemu_engine_stretch_interpreter)
{
	engine_stretch(false);
}

TEST(kqemu_engine_stretch_jit)
{
	engine_stretch(true);
}

/* A SIGNAL exit may come before the backend applied the requests: the
 * engine sends them again. */
TEST(kqemu_engine_signal_requeues)
{
	struct kq_setup s;
	CHECK(setup(&s));
	script(0, KQEMU_EXIT_PAGE, U_CODE, KQEMU_ACC_READ, NULL);
	for (unsigned k = 1; k < 5; k++)
		script(k, KQEMU_EXIT_SIGNAL, 0, 0, NULL);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);     /* the map, then SIGNAL */
	CHECK(find_map(&fake.seen[1], U_CODE));
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK(find_map(&fake.seen[2], U_CODE));         /* sent again */
	tcg_tlb_flush_all(s.env.c);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK(fake.seen[3].flush_all);                  /* the flush, no map */
	CHECK_EQ(fake.seen[3].nr_map, 0);
	CHECK_EQ(kq_native(s.kv), VCPU_EXIT_AGAIN);
	CHECK(fake.seen[4].flush_all);                  /* the flush again */
	teardown(&s);
}

/* ---- the module backend on a host without /dev/kqemu ---- */

/* Without the device (this host cannot load modules), available() and
 * open() say so in one line that names the fix; with it (a host with
 * kqemu.ko loaded: tests/nested), available() is true or says why not. */
TEST(kqemu_module_backend_without_device)
{
	char why[200] = "";
	bool ok = kqemu_module_ops.available(why, sizeof(why));
	if (access("/dev/kqemu", F_OK) == 0) {
		CHECK(ok || why[0]);
		return;
	}
	CHECK(!ok);
	CHECK(strstr(why, "no /dev/kqemu (load kqemu-kmod/") != NULL);
	CHECK(!strchr(why, '\n'));
	char err[200] = "";
	struct kqemu_ram ram = { -1, 4096, NULL };
	CHECK(kqemu_module_ops.open(&ram, err, sizeof(err)) == NULL);
	CHECK(strncmp(err, "module backend: no /dev/kqemu", 29) == 0);
}
