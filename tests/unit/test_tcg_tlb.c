/*
 * TCG: the software TLB's victim entries (user/tcg/mmu.c).  Two linear
 * pages whose TLB index collides take turns in the main entry; the one
 * pushed out is found again among the victims without a page walk, and
 * every flush the SDM defines (INVLPG, a CR3 load, global pages kept with
 * CR4.PGE) drops a victim as it drops a main entry.  Long mode with 4 KiB
 * pages for the two test pages (a 2 MiB page would make INVLPG flush all).
 */
#include "unit.h"
#include "tcgtest.h"

#define LIN_A ((uint64_t)TLB_SIZE << 12)         /* TLB index 0 */
#define LIN_B ((uint64_t)TLB_SIZE << 13)         /* the same index */
#define PT_A 0x20000ULL         /* page tables for the 2 MiB around each */
#define PT_B 0x21000ULL
#define PHYS_1 0x300000ULL      /* three data pages */
#define PHYS_2 0x301000ULL
#define PHYS_3 0x302000ULL

static void put64(struct tcg_env *e, uint64_t gpa, uint64_t v)
{
	guest_write(e->m, gpa, &v, 8);
}

/* Map lin's 4 KiB page to phys (PTE flags: present, writable, + extra). */
static void map4k(struct tcg_env *e, uint64_t pt, uint64_t lin, uint64_t phys, uint64_t extra)
{
	put64(e, TCGT_PML4 + 0x2000 + (lin >> 21) * 8, pt | 7);
	put64(e, pt + ((lin >> 12) & 511) * 8, phys | 3 | extra);
}

static bool env(struct tcg_env *e)
{
	if (!tcg_env_init(e, 0x1000))
		return false;
	tcg_env_long_mode(e);
	tcg_env_flat_segs(e->c, 0, true);
	put64(e, PHYS_1, 0x1111);
	put64(e, PHYS_2, 0x2222);
	put64(e, PHYS_3, 0x3333);
	map4k(e, PT_A, LIN_A, PHYS_1, 0);
	map4k(e, PT_B, LIN_B, PHYS_2, 0);
	tcg_tlb_flush_all(e->c);
	return true;
}

static uint64_t ld(struct tcg_env *e, uint64_t lin)
{
	return tcg_lin_ld(e->c, lin, 8, false);
}

TEST(tcg_tlb_victim_keeps_colliding_pages)
{
	struct tcg_env e;
	CHECK(env(&e));
	CHECK_EQ(ld(&e, LIN_A), 0x1111);
	CHECK_EQ(ld(&e, LIN_B), 0x2222);        /* A becomes a victim */
	/* A's tables changed without a flush: the TLB may keep the old
	 * translation (SDM Vol. 3, 4.10.4.3), and the victim is the TLB */
	map4k(&e, PT_A, LIN_A, PHYS_3, 0);
	CHECK_EQ(ld(&e, LIN_A), 0x1111);        /* from the victim, no walk */
	CHECK_EQ(ld(&e, LIN_B), 0x2222);
	tcg_env_free(&e);
}

TEST(tcg_tlb_victim_dropped_by_invlpg)
{
	struct tcg_env e;
	CHECK(env(&e));
	CHECK_EQ(ld(&e, LIN_A), 0x1111);
	CHECK_EQ(ld(&e, LIN_B), 0x2222);        /* A is a victim now */
	map4k(&e, PT_A, LIN_A, PHYS_3, 0);
	tcg_tlb_flush_page(e.c, LIN_A);
	CHECK_EQ(ld(&e, LIN_A), 0x3333);        /* walked again */
	CHECK_EQ(ld(&e, LIN_B), 0x2222);        /* B kept (main or victim) */
	tcg_env_free(&e);
}

TEST(tcg_tlb_victim_dropped_by_cr3_load)
{
	struct tcg_env e;
	CHECK(env(&e));
	CHECK_EQ(ld(&e, LIN_A), 0x1111);
	CHECK_EQ(ld(&e, LIN_B), 0x2222);
	map4k(&e, PT_A, LIN_A, PHYS_3, 0);
	map4k(&e, PT_B, LIN_B, PHYS_1, 0);
	tcg_tlb_flush(e.c);                     /* MOV to CR3 */
	CHECK_EQ(ld(&e, LIN_A), 0x3333);
	CHECK_EQ(ld(&e, LIN_B), 0x1111);
	tcg_env_free(&e);
}

TEST(tcg_tlb_victim_global_kept_by_cr3_load)
{
	struct tcg_env e;
	CHECK(env(&e));
	e.c->s.cr4 |= CR4_PGE;
	map4k(&e, PT_A, LIN_A, PHYS_1, 0x100);  /* G */
	tcg_tlb_flush_all(e.c);
	CHECK_EQ(ld(&e, LIN_A), 0x1111);
	CHECK_EQ(ld(&e, LIN_B), 0x2222);        /* global A is a victim */
	map4k(&e, PT_A, LIN_A, PHYS_3, 0x100);
	tcg_tlb_flush(e.c);                     /* keeps global pages */
	CHECK_EQ(ld(&e, LIN_A), 0x1111);        /* SDM Vol. 3, 4.10.4.1 */
	tcg_tlb_flush_all(e.c);                 /* CR4.PGE toggled */
	CHECK_EQ(ld(&e, LIN_A), 0x3333);
	tcg_env_free(&e);
}

TEST(tcg_tlb_victim_write_after_read)
{
	struct tcg_env e;
	CHECK(env(&e));
	CHECK_EQ(ld(&e, LIN_A), 0x1111);        /* filled for a read: D clear */
	CHECK_EQ(ld(&e, LIN_B), 0x2222);        /* A is a victim */
	tcg_lin_st(e.c, LIN_A + 8, 8, 0xabcd, false);
	uint64_t pte = 0, v = 0;
	guest_read(e.m, PT_A + ((LIN_A >> 12) & 511) * 8, &pte, 8);
	CHECK(pte & (1u << 6));                 /* the write set D */
	guest_read(e.m, PHYS_1 + 8, &v, 8);
	CHECK_EQ(v, 0xabcd);
	tcg_env_free(&e);
}

/* A flush visits the entries filled since the last one (tlb_used), or
 * all of them past TLB_USED_MAX fills: either way every translation
 * goes, and a global page stays (with CR4.PGE) through two flushes,
 * kept on the list. */
static void fill_pages(struct tcg_env *e, unsigned n)
{
	/* the identity map's 2 MiB pages below 16 MiB, one load each 4 KiB */
	for (unsigned i = 0; i < n; i++)
		(void)ld(e, 0x100000 + (uint64_t)i * 4096 % 0xe00000);
}

static void flush_sees_new_mapping(unsigned fills)
{
	/* G: a global page whose index collides with neither A nor B, so
	 * it stays in the main TLB */
	const uint64_t lin_g = LIN_B + 4096;
	struct tcg_env e;
	CHECK(env(&e));
	e.c->s.cr4 |= CR4_PGE;
	map4k(&e, PT_B, lin_g, PHYS_2, 0x100);
	tcg_tlb_flush_all(e.c);
	CHECK_EQ(ld(&e, LIN_A), 0x1111);
	CHECK_EQ(ld(&e, lin_g), 0x2222);
	fill_pages(&e, fills);
	map4k(&e, PT_A, LIN_A, PHYS_3, 0);
	map4k(&e, PT_B, lin_g, PHYS_1, 0x100);
	for (int round = 0; round < 2; round++) {
		tcg_tlb_flush(e.c);                     /* MOV to CR3 */
		CHECK_EQ(ld(&e, LIN_A), 0x3333);
		CHECK_EQ(ld(&e, lin_g), 0x2222);        /* global: kept */
		fill_pages(&e, fills);
	}
	tcg_tlb_flush_all(e.c);                         /* CR4.PGE toggled */
	CHECK_EQ(ld(&e, lin_g), 0x1111);
	tcg_env_free(&e);
}

TEST(tcg_tlb_flush_of_few_fills)
{
	flush_sees_new_mapping(10);
}

TEST(tcg_tlb_flush_past_the_fill_list)
{
	flush_sees_new_mapping(TLB_USED_MAX + 50);
}
