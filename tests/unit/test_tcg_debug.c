/*
 * TCG: data breakpoints and the TLB (user/tcg/debug.c, mmu.c; SDM Vol. 3,
 * 18.2).  A write breakpoint in DR1 gives its page's write tag TLB_WATCH,
 * so stores to the page take the slow path, which notes the hit in
 * db_hits; reads and the other pages keep the one-compare tags; clearing
 * DR7 gives the page its bare tag back.  Instructions run one at a time
 * through tcg_step, which leaves a trap's hits in db_hits.
 */
#include "unit.h"
#include "tcgtest.h"

#define CODE 0x100000ULL
#define DATA 0x200000ULL
#define OTHER 0x300000ULL

/* mov rax, imm64 */
static int mov_rax(struct tcg_env *e, uint64_t v)
{
	uint8_t b[10] = { 0x48, 0xb8 };
	memcpy(b + 2, &v, 8);
	return tcg_env_step(e, b, sizeof(b));
}

static uint64_t write_tag(struct tcg_env *e, uint64_t lin)
{
	return e->c->tlb[MMU_SUPER][(lin >> 12) & (TLB_SIZE - 1)].tag_write;
}

static uint64_t read_tag(struct tcg_env *e, uint64_t lin)
{
	return e->c->tlb[MMU_SUPER][(lin >> 12) & (TLB_SIZE - 1)].tag_read;
}

/* mov [rbx], rax / mov rax, [rbx] at rbx = at */
static int store(struct tcg_env *e, uint64_t at)
{
	e->c->s.regs[R_RBX] = at;
	e->c->db_hits = 0;
	return STEP(e, 0x48, 0x89, 0x03);
}

static int load(struct tcg_env *e, uint64_t at)
{
	e->c->s.regs[R_RBX] = at;
	e->c->db_hits = 0;
	return STEP(e, 0x48, 0x8b, 0x03);
}

TEST(tcg_debug_watch_tags)
{
	struct tcg_env a, *e = &a;
	CHECK(tcg_env_init(e, CODE));
	tcg_env_identity_map(e);
	tcg_env_long_mode(e);
	tcg_env_flat_segs(e->c, 0, true);
	e->c->s.regs[R_RSP] = 0x380000;

	CHECK_EQ(store(e, DATA + 8), -1);
	CHECK_EQ(write_tag(e, DATA), DATA);             /* DR7 clear: bare tag */

	/* DR1 = DATA + 8, 4 bytes, write (R/W1 01, LEN1 11), L1 */
	CHECK_EQ(mov_rax(e, DATA + 8), -1);
	CHECK_EQ(STEP(e, 0x0f, 0x23, 0xc8), -1);        /* mov dr1, rax */
	CHECK_EQ(mov_rax(e, (1u << 2) | (1u << 20) | (3u << 22)), -1);
	CHECK_EQ(STEP(e, 0x0f, 0x23, 0xf8), -1);        /* mov dr7, rax */
	CHECK(e->c->dbg_on);

	CHECK_EQ(store(e, DATA + 10), -1);
	CHECK_EQ(e->c->db_hits, 2);                     /* B1 */
	CHECK_EQ(write_tag(e, DATA), DATA | TLB_WATCH);
	CHECK_EQ(store(e, DATA + 4), -1);               /* 8 bytes over +8 */
	CHECK_EQ(e->c->db_hits, 2);
	CHECK_EQ(store(e, DATA + 12), -1);              /* just after */
	CHECK_EQ(e->c->db_hits, 0);
	CHECK_EQ(load(e, DATA + 8), -1);                /* a write breakpoint */
	CHECK_EQ(e->c->db_hits, 0);
	CHECK_EQ(read_tag(e, DATA), DATA);
	CHECK_EQ(store(e, OTHER), -1);
	CHECK_EQ(write_tag(e, OTHER), OTHER);           /* another page: bare */
	/* the watched store landed (rax holds the DR7 value written last) */
	CHECK_EQ(tcg_env_get64(e, DATA + 4), (1u << 2) | (1u << 20) | (3u << 22));

	/* R/W1 11: reads too */
	CHECK_EQ(mov_rax(e, (1u << 2) | (3u << 20) | (3u << 22)), -1);
	CHECK_EQ(STEP(e, 0x0f, 0x23, 0xf8), -1);
	CHECK_EQ(load(e, DATA + 8), -1);
	CHECK_EQ(e->c->db_hits, 2);
	CHECK_EQ(read_tag(e, DATA), DATA | TLB_WATCH);

	/* DR7 clear: the page's tags are bare again, no hits */
	CHECK_EQ(mov_rax(e, 0), -1);
	CHECK_EQ(STEP(e, 0x0f, 0x23, 0xf8), -1);
	CHECK(!e->c->dbg_on);
	CHECK_EQ(store(e, DATA + 8), -1);
	CHECK_EQ(load(e, DATA + 8), -1);
	CHECK_EQ(e->c->db_hits, 0);
	CHECK_EQ(write_tag(e, DATA), DATA);
	CHECK_EQ(read_tag(e, DATA), DATA);
	tcg_env_free(e);
}
