/*
 * The block cache (block.h): decoding guest code into blocks, the hash
 * of blocks by guest-physical address, the links from a block to the one
 * that ran after it, and the code cache arena everything lives in.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include "block.h"
#include "jit/jit.h"

#define BLOCK_HASH_BITS 16     /* as many buckets as cached blocks */
#define BLOCK_HASH_SIZE (1u << BLOCK_HASH_BITS)
#define BLOCK_CACHE_MAX 65536   /* blocks per vCPU before a full flush */

struct block_cache {
	struct tcg_block *bucket[BLOCK_HASH_SIZE];
	unsigned count;
	/* a block decoded without caching: page-crossing, MMIO */
	struct tcg_block *scratch;
	/* the arena: blocks, their instructions and host code */
	uint8_t *arena;
	size_t arena_size, arena_used;
	bool arena_exec;
	uint64_t flushes;
};

static inline struct block_cache *cache_of(const struct tcg_cpu *c)
{
	return (struct block_cache *)c->blocks;
}

static struct block_cache *cache_get(struct tcg_cpu *c)
{
	if (!c->blocks) {
		struct block_cache *bc = calloc(1, sizeof(*bc));
		if (!bc)
			qvm_die("tcg: out of memory for the block cache");
		c->blocks = (struct tcg_block **)bc;
	}
	return cache_of(c);
}

static inline unsigned block_hash(uint64_t phys, uint64_t rip)
{
	uint64_t h = (phys ^ rip << 20) * 0x9e3779b97f4a7c15ULL;
	return h >> (64 - BLOCK_HASH_BITS);
}

static void arena_unmap(struct block_cache *bc)
{
	if (bc->arena)
		munmap(bc->arena, bc->arena_size);
	bc->arena = NULL;
	bc->arena_used = 0;
}

static void cache_flush(struct tcg_cpu *c, struct block_cache *bc)
{
	c->chain_epoch++;
	memset(bc->bucket, 0, sizeof(bc->bucket));
	bc->count = 0;
	bc->arena_used = 0;
	bc->flushes++;
	c->last_block = NULL;
	if (c->jit)
		jit_cache_flushed(c);
}

void tcg_flush_blocks(struct tcg_cpu *c)
{
	struct block_cache *bc = cache_get(c);
	cache_flush(c, bc);
	/* the next arena is made with the JIT setting then in force */
	if (bc->arena && bc->arena_exec != c->jit_on)
		arena_unmap(bc);
}

void tcg_blocks_free(struct tcg_cpu *c)
{
	struct block_cache *bc = cache_of(c);
	if (!bc)
		return;
	arena_unmap(bc);
	free(bc->scratch);
	free(bc);
	c->blocks = NULL;
}

uint64_t tcg_cache_flushes(const struct tcg_cpu *c)
{
	const struct block_cache *bc = cache_of(c);
	return bc ? bc->flushes : 0;
}

static void arena_map(struct tcg_cpu *c, struct block_cache *bc)
{
	size_t size = (size_t)(c->jit_tb_mib ? c->jit_tb_mib : JIT_TB_DEFAULT_MIB) << 20;
	int prot = PROT_READ | PROT_WRITE | (c->jit_on ? PROT_EXEC : 0);
	void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		qvm_die("tcg: cannot map a code cache of %zu MiB", size >> 20);
	madvise(p, size, MADV_HUGEPAGE);        /* fewer faults as it fills */
	bc->arena = p;
	bc->arena_size = size;
	bc->arena_used = 0;
	bc->arena_exec = c->jit_on;
}

void *tcg_cache_alloc(struct tcg_cpu *c, size_t size)
{
	struct block_cache *bc = cache_get(c);
	if (!bc->arena)
		arena_map(c, bc);
	size = (size + 15) & ~(size_t)15;
	if (size > bc->arena_size - bc->arena_used)
		return NULL;
	void *p = bc->arena + bc->arena_used;
	bc->arena_used += size;
	return p;
}

void tcg_cache_trim(struct tcg_cpu *c, void *p, size_t cap, size_t used)
{
	struct block_cache *bc = cache_of(c);
	cap = (cap + 15) & ~(size_t)15;
	used = (used + 15) & ~(size_t)15;
	if (bc && (uint8_t *)p + cap == bc->arena + bc->arena_used && used <= cap)
		bc->arena_used -= cap - used;
}

size_t tcg_cache_room(const struct tcg_cpu *c)
{
	const struct block_cache *bc = cache_of(c);
	if (!bc || !bc->arena)
		return (size_t)(c->jit_tb_mib ? c->jit_tb_mib : JIT_TB_DEFAULT_MIB) << 20;
	return bc->arena_size - bc->arena_used;
}

/* ------------------------------------------------------------------ */
/* The translation key                                                 */

/* A data segment is flat when an access through it needs no check but
 * the 4 GiB wrap: base 0, limit 4 GiB, present and usable, writable
 * expand-up data (SDM Vol. 3, 5.3 and 5.4). */
static bool seg_flat(const struct x86_segment *s)
{
	return !s->unusable && s->present && s->s && s->base == 0 && s->limit == 0xffffffff &&
	       (s->type & 0xe) == 2;
}

uint32_t tcg_block_key(const struct tcg_cpu *c)
{
	int bits = tcg_code_bits(c);
	uint32_t key = bits == 64 ? 2 : bits == 32 ? 1 : 0;
	key |= tcg_cpl(c) << KEY_CPL_SHIFT;
	if (!(c->s.cr0 & (CR0_EM | CR0_TS)) && (c->s.cr4 & CR4_OSFXSR))
		key |= KEY_SSE;
	if (tcg_data_kind(c) == MMU_SUPER_AC)
		key |= KEY_SMAP_AC;
	if (c->kqemu_stretch && tcg_cpl(c) == 3)
		key |= KEY_KQEMU_STRETCH;
	if (bits == 64)
		return key;
	if (c->s.seg[S_SS].db)
		key |= KEY_SS32;
	if (!tcg_protected(c) || tcg_v86(c))
		return key;     /* real and v86 segments are never flat */
	static const int data_segs[] = { S_ES, S_SS, S_DS, S_FS, S_GS };
	for (unsigned k = 0; k < ARRAY_SIZE(data_segs); k++)
		if (seg_flat(&c->s.seg[data_segs[k]]))
			key |= KEY_FLAT(data_segs[k]);
	return key;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

static void op_gp_too_long(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	tcg_raise(c, EXC_GP, 0);        /* more than 15 bytes (SDM Vol. 2, 2.3.11) */
}

static void too_long(struct insn *i)
{
	memset(i, 0, sizeof(*i));
	i->fn = op_gp_too_long;
	i->len = 15;
	i->ends_block = true;
}

static inline uint64_t pc_linear(const struct tcg_cpu *c)
{
	uint64_t lin = c->s.seg[S_CS].base + c->s.rip;
	return tcg_code64(c) ? lin : lin & 0xffffffffULL;
}

/* Decode the instruction at lin that does not fit in the rest of its
 * page (or lies in MMIO): gather up to 15 bytes across the boundary. */
static void decode_gathered(struct tcg_cpu *c, uint64_t lin, const uint8_t *host,
			    uint64_t phys, struct insn *i, int bits)
{
	uint8_t buf[16];
	unsigned first = 4096 - (lin & 0xfff);
	if (first > 15)
		first = 15;
	if (host)
		memcpy(buf, host, first);
	else
		tcg_fetch_bytes_io(c, phys, buf, first);
	unsigned have = first;
	int n = tcg_decode(i, buf, have, bits);
	if (n == 0 && have < 15) {
		/* the instruction continues on the next page: fetching it may
		 * fault, which is right since the instruction needs it */
		uint64_t phys2;
		uint64_t lin2 = (lin + first) & (tcg_code64(c) ? ~0ULL : 0xffffffffULL);
		const uint8_t *h2 = tcg_fetch_page(c, lin2, &phys2);
		unsigned more = 15 - first;
		if (h2)
			memcpy(buf + first, h2, more);
		else
			tcg_fetch_bytes_io(c, phys2, buf + first, more);
		have = 15;
		n = tcg_decode(i, buf, have, bits);
	}
	if (n <= 0)
		too_long(i);
}

static void block_place(struct tcg_block *b, const struct tcg_cpu *c, uint64_t phys,
			int bits, uint32_t key)
{
	b->phys = phys;
	b->rip = c->s.rip;
	b->cs_base = c->s.seg[S_CS].base;
	b->cs_limit = c->s.seg[S_CS].limit;
	b->key = key;
	b->code_bits = bits;
	b->jit_failed = false;
	b->code = NULL;
	memset(b->succ, 0, sizeof(b->succ));
}

static struct tcg_block *scratch_block(struct tcg_cpu *c)
{
	struct block_cache *bc = cache_get(c);
	if (!bc->scratch) {
		bc->scratch = malloc(sizeof(struct tcg_block) + sizeof(struct insn));
		if (!bc->scratch)
			qvm_die("tcg: out of memory for code blocks");
	}
	bc->scratch->n = 1;
	bc->scratch->cached = false;
	return bc->scratch;
}

static struct tcg_block *gathered_block(struct tcg_cpu *c, uint64_t lin, const uint8_t *host,
					uint64_t phys, int bits, uint32_t key)
{
	struct tcg_block *b = scratch_block(c);
	decode_gathered(c, lin, host, phys, &b->insns[0], bits);
	block_place(b, c, phys, bits, key);
	b->jit_failed = true;
	return b;
}

static struct tcg_block *cache_block(struct tcg_cpu *c, const struct insn *insns, unsigned n)
{
	struct block_cache *bc = cache_get(c);
	size_t size = sizeof(struct tcg_block) + n * sizeof(struct insn);
	if (bc->count >= BLOCK_CACHE_MAX)
		cache_flush(c, bc);
	struct tcg_block *b = tcg_cache_alloc(c, size);
	if (!b) {
		cache_flush(c, bc);
		b = tcg_cache_alloc(c, size);
		if (!b)
			qvm_die("tcg: the code cache cannot hold one block");
	}
	memcpy(b->insns, insns, n * sizeof(struct insn));
	b->n = n;
	b->cached = true;
	return b;
}

static struct tcg_block *decode_block(struct tcg_cpu *c, uint64_t lin, const uint8_t *host,
				      uint64_t phys, int bits, uint32_t key)
{
	struct insn insns[BLOCK_MAX_INSNS];
	unsigned avail = 4096 - (lin & 0xfff), off = 0, n = 0;
	uint32_t gen = tcg_mark_code_page(phys);
	while (n < BLOCK_MAX_INSNS && off < avail) {
		struct insn *i = &insns[n];
		int len = tcg_decode(i, host + off, avail - off, bits);
		if (len == 0)
			break;          /* crosses the page: its own block */
		if (len < 0) {
			too_long(i);
			len = 15;
		} else {
			tcg_specialise(i);
		}
		off += len;
		n++;
		if (i->ends_block)
			break;
	}
	if (n == 0)
		return gathered_block(c, lin, host, phys, bits, key);
	struct tcg_block *b = cache_block(c, insns, n);
	block_place(b, c, phys, bits, key);
	b->gen = gen;
	struct block_cache *bc = cache_of(c);
	unsigned h = block_hash(phys, b->rip);
	b->next = bc->bucket[h];
	bc->bucket[h] = b;
	bc->count++;
	return b;
}

static inline bool block_matches(const struct tcg_block *b, const struct tcg_cpu *c, uint32_t key)
{
	return b->rip == c->s.rip && b->key == key && b->cs_base == c->s.seg[S_CS].base &&
	       b->cs_limit == c->s.seg[S_CS].limit;
}

static inline bool block_fresh(const struct tcg_block *b)
{
	return b->gen == tcg_code_page_gen(b->phys);
}

static struct tcg_block *lookup_block(struct tcg_cpu *c, uint64_t lin, int bits, uint32_t key)
{
	uint64_t phys;
	const uint8_t *host = tcg_fetch_page(c, lin, &phys);
	if (!host)
		return gathered_block(c, lin, NULL, phys, bits, key);
	struct block_cache *bc = cache_get(c);
	struct tcg_block **link = &bc->bucket[block_hash(phys, c->s.rip)];
	struct tcg_block **head = link;
	for (struct tcg_block *b = *link; b; link = &b->next, b = b->next) {
		if (b->phys != phys || !block_matches(b, c, key))
			continue;
		*link = b->next;
		if (block_fresh(b)) {
			b->next = *head;        /* move to the front: loops hit at once */
			*head = b;
			return b;
		}
		/* stale: the page was written; its space comes back at the
		 * next flush (block.h) */
		c->chain_epoch++;
		bc->count--;
		break;
	}
	return decode_block(c, lin, host, phys, bits, key);
}

/* The block that followed the last one the previous times, if the link
 * still holds: this skips the code fetch translation and the hash lookup
 * (the two were a third of the interpreter's time booting Linux). */
static struct tcg_block *follow_link(struct tcg_cpu *c, uint32_t key)
{
	struct tcg_block *p = c->last_block;
	if (!p || c->last_epoch != c->chain_epoch)
		return NULL;
	for (int k = 0; k < 2; k++) {
		struct block_link *l = &p->succ[k];
		if (l->to && l->epoch == c->chain_epoch && block_matches(l->to, c, key) &&
		    block_fresh(l->to))
			return l->to;
	}
	return NULL;
}

static void add_link(struct tcg_cpu *c, struct tcg_block *to)
{
	struct tcg_block *p = c->last_block;
	if (!p || c->last_epoch != c->chain_epoch || !to->cached)
		return;
	p->succ[1] = p->succ[0];
	p->succ[0] = (struct block_link){ to, c->chain_epoch };
}

struct tcg_block *tcg_find_block(struct tcg_cpu *c)
{
	int bits = tcg_code_bits(c);
	uint32_t key = tcg_block_key(c);
	if (!tcg_code64(c) && c->s.rip > c->s.seg[S_CS].limit)
		tcg_raise(c, EXC_GP, 0);
	struct tcg_block *b = follow_link(c, key);
	if (!b) {
		uint32_t epoch = c->chain_epoch;
		b = lookup_block(c, pc_linear(c), bits, key);
		if (epoch == c->chain_epoch)    /* nothing dropped on the way */
			add_link(c, b);
	}
	c->last_block = b->cached ? b : NULL;
	c->last_epoch = c->chain_epoch;
	return b;
}

struct tcg_block *tcg_probe_block(struct tcg_cpu *c, uint32_t key, bool fill_tlb)
{
	if (!tcg_code64(c) && c->s.rip > c->s.seg[S_CS].limit)
		return NULL;
	uint64_t lin = pc_linear(c);
	bool user = tcg_cpl(c) == 3;
	const struct tlb_entry *e = &c->tlb[user ? MMU_USER : MMU_SUPER][(lin >> 12) & (TLB_SIZE - 1)];
	if (e->tag_code != (lin & ~0xfffULL)) {
		uint64_t phys;
		if (!fill_tlb || !tcg_fetch_page(c, lin, &phys))
			return NULL;
	}
	uint64_t phys = e->phys | (lin & 0xfff);
	struct block_cache *bc = cache_of(c);
	for (struct tcg_block *b = bc->bucket[block_hash(phys, c->s.rip)]; b; b = b->next)
		if (b->phys == phys && block_matches(b, c, key))
			return b->code && block_fresh(b) ? b : NULL;
	return NULL;
}
