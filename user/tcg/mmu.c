/*
 * Guest memory as a vCPU sees it: segmentation checks, paging (32-bit,
 * PAE and 4-level, SDM Vol. 3 ch. 4), the software TLB, RAM/ROM/MMIO
 * and the LAPIC page, and the bookkeeping that makes self-modifying
 * code work.
 *
 * The TLB caches, per privilege kind (tcg.h: user, supervisor, and
 * supervisor with SMAP's EFLAGS.AC override), the linear page -> host
 * address of RAM pages for reads, writes and fetches separately, so a
 * hit is a compare and an add.  Everything else (misses, MMIO, ROM writes, pages
 * holding decoded code, page-crossing accesses) takes the slow path.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "tcg.h"
#include "hw/apic.h"

#define PAGE_MASK TLB_PAGE_MASK

#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_G (1ULL << 8)
#define PTE_NX (1ULL << 63)
#define MAXPHYADDR 40
#define ADDR_MASK (((1ULL << MAXPHYADDR) - 1) & PAGE_MASK)
/* bits MAXPHYADDR..51 must be zero in every entry (SDM 4.4.2, 4.5.4) */
#define RSVD_HIGH (((1ULL << 52) - 1) & ~((1ULL << MAXPHYADDR) - 1))

/* ------------------------------------------------------------------ */
/* Code pages: a word per guest-physical page.  CODE_MARKED says blocks
 * were decoded from the page (writes to it bump the generation),
 * CODE_SCANNED that every registered vCPU's TLB has been given TLB_CODE
 * for it; the bits above are a generation bumped by writes. */

#define CODE_MARKED 1u
#define CODE_SCANNED 2u
#define CODE_GEN_STEP 4u

#define CODE_MAP_PAGES (1ULL << 24)    /* 64 GiB of physical space */
static uint32_t *code_map;
uint64_t tcg_code_writes;
static pthread_once_t code_map_once = PTHREAD_ONCE_INIT;

static struct tcg_code_stats code_stats;

static inline void count(uint64_t *n)
{
	__atomic_fetch_add(n, 1, __ATOMIC_RELAXED);
}

void tcg_code_stats_get(struct tcg_code_stats *s)
{
	s->marks = __atomic_load_n(&code_stats.marks, __ATOMIC_RELAXED);
	s->bumps = __atomic_load_n(&code_stats.bumps, __ATOMIC_RELAXED);
	s->kicks = __atomic_load_n(&code_stats.kicks, __ATOMIC_RELAXED);
	s->slow_stores = __atomic_load_n(&code_stats.slow_stores, __ATOMIC_RELAXED);
}

static void code_map_alloc(void)
{
	void *p = mmap(NULL, CODE_MAP_PAGES * sizeof(uint32_t), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		qvm_die("tcg: cannot reserve the code-page map");
	__atomic_store_n(&code_map, (uint32_t *)p, __ATOMIC_RELEASE);
}

static inline uint32_t *code_word(uint64_t phys)
{
	uint32_t *map = __atomic_load_n(&code_map, __ATOMIC_ACQUIRE);
	uint64_t pfn = phys >> 12;
	return map && pfn < CODE_MAP_PAGES ? &map[pfn] : NULL;
}

uint32_t tcg_code_page_gen(uint64_t phys)
{
	uint32_t *w = code_word(phys);
	return w ? __atomic_load_n(w, __ATOMIC_ACQUIRE) : 0;
}

bool tcg_page_has_code(uint64_t phys)
{
	uint32_t *w = code_word(phys);
	return w && (__atomic_load_n(w, __ATOMIC_RELAXED) & CODE_MARKED);
}

/*
 * The registry of live vCPUs and TLB_CODE.
 *
 * A store through a TLB entry whose tag_write is the bare page does not
 * look at the code map, so every entry that can write a marked page must
 * carry TLB_CODE.  Two sides set it:
 *
 *   marker (tcg_mark_code_page, the decoder):  mark the page (atomic RMW);
 *       fence; for each vCPU's entry: load phys, load tag_write, OR in
 *       TLB_CODE if it is a RAM page of that phys.
 *   filler (tlb_set_write, the vCPU filling its own entry):  store phys;
 *       store tag_write; fence; load the mark, OR in TLB_CODE if marked.
 *
 * The two sequentially consistent fences are ordered one way or the
 * other.  Marker's first: the filler's load after its fence sees the mark.
 * Filler's first: the marker's loads see the filler's phys and tag, so
 * its OR lands after the filler's store.  Either way the entry ends up
 * with TLB_CODE (store-buffering, Dekker's pattern: neither side may miss
 * the other's write).  A marker may also OR the bit into an entry the
 * owner is just refilling for another page: a spurious slow store, never
 * a wrong one.
 *
 * A page is CODE_SCANNED once its marker has scanned every vCPU; markers
 * hold registry_lock, so a second decoder of the same page waits for the
 * scan instead of running code that a vCPU could overwrite on its fast
 * path.
 */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tcg_cpu **registry;
static unsigned registry_n, registry_cap;

void tcg_mmu_register(struct tcg_cpu *c)
{
	pthread_mutex_lock(&registry_lock);
	if (registry_n == registry_cap) {
		unsigned cap = registry_cap ? registry_cap * 2 : 16;
		struct tcg_cpu **r = realloc(registry, cap * sizeof(*r));
		if (!r)
			qvm_die("tcg: out of memory for the vCPU registry");
		registry = r;
		registry_cap = cap;
	}
	registry[registry_n++] = c;
	pthread_mutex_unlock(&registry_lock);
}

void tcg_mmu_unregister(struct tcg_cpu *c)
{
	pthread_mutex_lock(&registry_lock);
	for (unsigned k = 0; k < registry_n; k++)
		if (registry[k] == c) {
			registry[k] = registry[--registry_n];
			break;
		}
	pthread_mutex_unlock(&registry_lock);
}

static inline bool is_ram_tag(uint64_t tag)
{
	return !(tag & ~PAGE_MASK);
}

/* The filler's half: after tag_write got a writable RAM page. */
static void tlb_recheck_code(struct tlb_entry *e)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (tcg_page_has_code(e->phys))
		__atomic_fetch_or(&e->tag_write, TLB_CODE, __ATOMIC_RELAXED);
}

static void tlb_set_write(struct tlb_entry *e, uint64_t tag)
{
	__atomic_store_n(&e->tag_write, tag, __ATOMIC_RELAXED);
	if (is_ram_tag(tag))
		tlb_recheck_code(e);
}

/* The filler stores phys (both copies) before tag_write: tlb_mark_code
 * reads them in that order. */
static void tlb_set_phys(struct tcg_cpu *c, unsigned kind, unsigned idx, uint64_t phys_page)
{
	__atomic_store_n(&c->tlb_phys_page[kind][idx], (uint32_t)(phys_page >> 12),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&c->tlb[kind][idx].phys, phys_page, __ATOMIC_RELAXED);
}

/* The marker's half, for one vCPU; registry_lock held.  The dense copy
 * of the pages is scanned, an entry only read where it matches. */
static void tlb_mark_code(struct tcg_cpu *c, uint64_t phys_page)
{
	uint32_t pn = (uint32_t)(phys_page >> 12);
	for (unsigned k = 0; k < MMU_NR; k++)
		for (unsigned i = 0; i < TLB_SIZE; i++) {
			if (__atomic_load_n(&c->tlb_phys_page[k][i], __ATOMIC_RELAXED) != pn)
				continue;
			struct tlb_entry *e = &c->tlb[k][i];
			if (__atomic_load_n(&e->phys, __ATOMIC_RELAXED) == phys_page &&
			    is_ram_tag(__atomic_load_n(&e->tag_write, __ATOMIC_RELAXED)))
				__atomic_fetch_or(&e->tag_write, TLB_CODE, __ATOMIC_RELAXED);
		}
}

uint32_t tcg_mark_code_page(uint64_t phys)
{
	pthread_once(&code_map_once, code_map_alloc);
	uint32_t *w = code_word(phys);
	if (!w)
		return 0;
	uint32_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
	if (v & CODE_SCANNED)
		return v;
	pthread_mutex_lock(&registry_lock);
	/* retried when a write bumps the generation during the scan */
	while (!((v = __atomic_load_n(w, __ATOMIC_ACQUIRE)) & CODE_SCANNED)) {
		v = __atomic_fetch_or(w, CODE_MARKED, __ATOMIC_SEQ_CST) | CODE_MARKED;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		for (unsigned k = 0; k < registry_n; k++) {
			tlb_mark_code(registry[k], phys & PAGE_MASK);
			/* kqemu: a native writable mapping of it goes */
			if (registry[k]->kqemu_code_marked)
				registry[k]->kqemu_code_marked(registry[k], phys & PAGE_MASK);
		}
		count(&code_stats.marks);
		__atomic_compare_exchange_n(w, &v, v | CODE_SCANNED, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	}
	pthread_mutex_unlock(&registry_lock);
	return v;
}

/* Every registered vCPU but self leaves its chain of blocks at the next
 * check of exit_request (the run loop, long REP instructions). */
static void kick_others(const struct tcg_cpu *self)
{
	count(&code_stats.kicks);
	pthread_mutex_lock(&registry_lock);
	for (unsigned k = 0; k < registry_n; k++)
		if (registry[k] != self)
			__atomic_store_n(&registry[k]->exit_request, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&registry_lock);
}

/* A write hit a page: if it holds decoded code, a new generation makes
 * every vCPU's blocks from it stale (checked on block lookup) and clears
 * both marks.  True when this call bumped it.  TLB entries keep their
 * TLB_CODE: the next store through each finds the page unmarked and drops
 * the bit from its own entry (tlb_drop_code), which costs one slow store
 * per entry, where clearing them here would scan every vCPU's TLB on each
 * write to code, and the page is usually marked again soon. */
static bool code_page_written(uint64_t phys)
{
	uint32_t *w = code_word(phys);
	if (!w)
		return false;
	uint32_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
	while (old & CODE_MARKED)
		if (__atomic_compare_exchange_n(w, &old, (old + CODE_GEN_STEP) & ~(CODE_GEN_STEP - 1),
						false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			count(&code_stats.bumps);
			__atomic_fetch_add(&tcg_code_writes, 1, __ATOMIC_RELEASE);
			return true;
		}
	return false;
}

/* Bytes [phys, phys + len) were written by someone else than a vCPU's
 * store path: a device's DMA, a loader, another thread of qvm.  The fence
 * orders the writer's stores before its reads of the map (the other half
 * of tcg_mark_code_page's ordering).  A vCPU in the middle of a block
 * from one of the pages finishes that block (up to BLOCK_MAX_INSNS, as
 * with cross-modifying code, SDM Vol. 3, 8.1.3), leaves its chain of
 * blocks (exit_request) and decodes again at the next lookup. */
void tcg_code_written(uint64_t phys, uint64_t len)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&code_map, __ATOMIC_ACQUIRE) || !len)
		return;
	uint64_t first = phys >> 12, last = (phys + len - 1) >> 12;
	if (phys + len - 1 < phys)
		last = ~0ULL >> 12;             /* wraps: to the top */
	last = MIN(last, CODE_MAP_PAGES - 1);
	bool bumped = false;
	for (uint64_t pfn = first; pfn <= last; pfn++)
		if (tcg_page_has_code(pfn << 12))
			bumped |= code_page_written(pfn << 12);
	if (bumped)
		kick_others(NULL);
}

static void code_listener_written(struct ram_listener *l, gpa_t gpa, uint64_t len)
{
	(void)l;
	tcg_code_written(gpa, len);
}

struct ram_listener tcg_code_listener = { code_listener_written };

/* This vCPU wrote to RAM at phys through its slow path: if the page holds
 * code, its blocks are stale, the running one included, and the other
 * vCPUs must look again.  False when the page holds no code. */
static bool check_code_write(struct tcg_cpu *c, uint64_t phys)
{
	count(&code_stats.slow_stores);
	if (!tcg_page_has_code(phys))
		return false;
	if (code_page_written(phys)) {
		c->stop = true;         /* the running block may be stale */
		kick_others(c);
	}
	return true;
}

/* A store through an entry with TLB_CODE: the slow path's bookkeeping.
 * An entry left with TLB_CODE by a bump drops it here, as a filler does
 * (store, fence, recheck the mark). */
static void code_store(struct tcg_cpu *c, struct tlb_entry *e, uint64_t page)
{
	if (check_code_write(c, e->phys))
		return;
	uint64_t tag = page | TLB_CODE;
	if (__atomic_compare_exchange_n(&e->tag_write, &tag, page, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		tlb_recheck_code(e);
}

/* ------------------------------------------------------------------ */
/* Segmentation (SDM Vol. 3, 5.3 limit checking, 5.4 type checking)    */

_Noreturn static void seg_fault(struct tcg_cpu *c, int seg)
{
	tcg_raise(c, seg == S_SS ? EXC_SS : EXC_GP, 0);
}

uint64_t tcg_seg_linear(struct tcg_cpu *c, int seg, uint64_t off, unsigned size, enum access acc)
{
	const struct x86_segment *s = &c->s.seg[seg];
	if (tcg_code64(c)) {
		uint64_t lin = off + (seg >= S_FS ? s->base : 0);
		if (!canonical(lin) || !canonical(lin + size - 1))
			seg_fault(c, seg);
		return lin;
	}
	if (tcg_protected(c) && !tcg_v86(c)) {
		if (s->unusable || !s->present)
			seg_fault(c, seg);
		if (acc == ACC_WRITE && ((s->type & 8) || !(s->type & 2)))
			seg_fault(c, seg);      /* code, or read-only data */
		if (acc == ACC_READ && (s->type & 0xa) == 8)
			seg_fault(c, seg);      /* execute-only code */
	}
	uint64_t last = off + size - 1;
	if ((s->type & 0xc) == 4 && s->s) {
		/* expand-down data: valid offsets are (limit, top] */
		uint64_t top = s->db ? 0xffffffffULL : 0xffff;
		if (off <= s->limit || last > top)
			seg_fault(c, seg);
	} else if (last > s->limit || last < off) {
		seg_fault(c, seg);
	}
	return (s->base + off) & 0xffffffffULL;
}

/* ------------------------------------------------------------------ */
/* Page walk                                                           */

struct walk {
	uint64_t phys;          /* physical address of the byte */
	bool writable, user, exec;
	bool large;
	uint8_t shift;          /* log2 of the page's size */
	bool global;            /* G in the leaf with CR4.PGE: kept across CR3 loads */
	bool pk_no_data;        /* AD for the page's key (PKRU, PKRS): no data access */
};

/* A paging-structure entry (4 or 8 bytes, naturally aligned): read in
 * one access, as set_bits() on another vCPU may be updating it (SDM
 * Vol. 3, 4.8: the A/D updates are locked operations). */
/* The host address of [pa, pa + len) when it lies in the board's plain
 * RAM stretch (machine.h), without the physical map; else NULL. */
static inline void *fast_ram(const struct machine *m, uint64_t pa, uint64_t len)
{
	if (pa >= m->fast_ram_start && pa + len <= m->fast_ram_end && pa + len > pa)
		return m->fast_ram_host + (pa - m->fast_ram_start);
	return NULL;
}

static uint64_t phys_ld(struct tcg_cpu *c, uint64_t pa, unsigned size, uint64_t **host)
{
	uint64_t v = 0;
	pa &= c->a20_mask;
	void *p = fast_ram(c->m, pa, size);
	if (!p)
		p = gpa_to_host(c->m, pa, size);
	*host = p;
	if (p && size == 8)
		v = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
	else if (p)
		v = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
	else
		machine_mmio(c->m, pa, false, &v, size);
	return v;
}

/* Set accessed (and dirty) bits the way the CPU does: atomically, since
 * other vCPUs walk the same tables. */
static void set_bits(uint64_t *host, unsigned size, uint64_t bits)
{
	if (!host)
		return;
	if (size == 8)
		__atomic_fetch_or(host, bits, __ATOMIC_RELAXED);
	else
		__atomic_fetch_or((uint32_t *)host, (uint32_t)bits, __ATOMIC_RELAXED);
}

/* The #PF error code of a fault of acc (SDM Vol. 3, 4.7): the walk
 * returns false with it.  I/D for a fetch with CR4.SMEP, or with PAE
 * paging and EFER.NXE. */
static bool pf_code(const struct tcg_cpu *c, enum access acc, bool user, uint32_t err,
		    uint32_t *out)
{
	if (acc == ACC_WRITE)
		err |= PF_W;
	if (user)
		err |= PF_U;
	if (acc == ACC_CODE && ((c->s.cr4 & CR4_SMEP) ||
				((c->s.cr4 & CR4_PAE) && (c->s.efer & EFER_NXE))))
		err |= PF_I;
	*out = err;
	return false;
}

#define MAX_LEVELS 4

/* SMEP and SMAP (SDM Vol. 3, 4.6.1): may a supervisor access of kind
 * (MMU_SUPER or MMU_SUPER_AC) for acc reach a user page? */
static bool super_may_touch_user(const struct tcg_cpu *c, enum access acc, unsigned kind)
{
	if (acc == ACC_CODE)
		return !(c->s.cr4 & CR4_SMEP);
	return kind == MMU_SUPER_AC || !(c->s.cr4 & CR4_SMAP);
}

/* Protection keys (SDM Vol. 3, 4.6.2): in IA-32e mode a leaf's bits
 * 62:59 name a key, whose two bits in PKRU (user-mode pages, with
 * CR4.PKE) or IA32_PKRS (supervisor-mode pages, with CR4.PKS) are the
 * rights: AD denies every data access, WD writes from user mode to user
 * pages and, with CR0.WP, any write.  Explicit and implicit data accesses from
 * any mode follow them, fetches do not.  0 where no keys apply. */
static unsigned pkey_rights(const struct tcg_cpu *c, uint64_t leaf, bool user_page)
{
	uint32_t reg;
	if (!tcg_long_mode(c))
		return 0;
	if (user_page && (c->s.cr4 & CR4_PKE))
		reg = c->xs.pkru;
	else if (!user_page && (c->s.cr4 & CR4_PKS))
		reg = c->pkrs;
	else
		return 0;
	return (reg >> (2 * ((leaf >> 59) & 15))) & 3;
}

/* The walk for an access through the TLB of kind: true with w filled,
 * A/D set; false with the #PF error code in *err, nothing raised. */
static bool walk_try(struct tcg_cpu *c, uint64_t lin, enum access acc, unsigned kind,
		     struct walk *w, uint32_t *err)
{
	bool user = kind == MMU_USER;
	bool nxe = c->s.efer & EFER_NXE;
	bool pae = c->s.cr4 & CR4_PAE;
	unsigned esize = pae ? 8 : 4;
	uint64_t *hosts[MAX_LEVELS];
	unsigned n = 0;
	uint64_t table, entry = 0;
	int level;
	w->writable = w->user = w->exec = true;
	w->large = false;
	w->shift = 12;
	w->global = false;
	w->pk_no_data = false;

	if (tcg_long_mode(c)) {
		table = c->s.cr3 & ADDR_MASK;
		level = 4;
	} else if (pae) {
		/* PDPTE (SDM 4.4.1): bits 1, 2, 5-8 and 63 are reserved */
		uint64_t *h;
		uint64_t pdpte = phys_ld(c, (c->s.cr3 & 0xffffffe0) + ((lin >> 30) & 3) * 8, 8, &h);
		if (!(pdpte & PTE_P))
			return pf_code(c, acc, user, 0, err);
		if (pdpte & (0x1e6ULL | PTE_NX | RSVD_HIGH))
			return pf_code(c, acc, user, PF_P | PF_RSVD, err);
		table = pdpte & ADDR_MASK;
		level = 2;
	} else {
		table = c->s.cr3 & 0xfffff000;
		level = 2;
	}

	for (;; level--) {
		unsigned shift = pae ? 12 + 9 * (level - 1) : 12 + 10 * (level - 1);
		unsigned idx = pae ? (lin >> shift) & 511 : (lin >> shift) & 1023;
		entry = phys_ld(c, table + idx * esize, esize, &hosts[n++]);
		if (!(entry & PTE_P))
			return pf_code(c, acc, user, 0, err);
		uint64_t rsvd = pae ? RSVD_HIGH | (nxe ? 0 : PTE_NX) : 0;
		if (tcg_long_mode(c) && level == 4)
			rsvd |= PTE_PS;
		bool leaf = level == 1 || ((entry & PTE_PS) && level < 4 &&
					   (pae || (c->s.cr4 & CR4_PSE)));
		if (leaf && level > 1 && pae) /* large page: reserved low bits */
			rsvd |= ((1ULL << (shift)) - 1) & ~0x1fffULL;
		if (entry & rsvd)
			return pf_code(c, acc, user, PF_P | PF_RSVD, err);
		w->writable &= !!(entry & PTE_W);
		w->user &= !!(entry & PTE_U);
		if (nxe && (entry & PTE_NX))
			w->exec = false;
		if (leaf) {
			uint64_t base;
			w->shift = (uint8_t)shift;
			w->global = (entry & PTE_G) && (c->s.cr4 & CR4_PGE);
			if (level == 1) {
				base = entry & (pae ? ADDR_MASK : 0xfffff000);
				w->phys = base | (lin & 0xfff);
			} else if (pae) {
				uint64_t mask = (1ULL << shift) - 1;
				base = entry & ADDR_MASK & ~mask;
				w->phys = base | (lin & mask);
				w->large = true;
			} else {
				/* 4 MiB page, PSE-36 high bits in 20:13 */
				base = (entry & 0xffc00000) | ((entry >> 13) & 0xff) << 32;
				w->phys = base | (lin & 0x3fffff);
				w->large = true;
			}
			break;
		}
		table = entry & (pae ? ADDR_MASK : 0xfffff000);
	}

	/* Permissions (SDM 4.6).  A data access its key denies has PK in
	 * the error code (4.7) whatever else denies it too. */
	unsigned pk = pkey_rights(c, entry, w->user);
	/* WD: user-mode writes to user pages, any write with CR0.WP */
	bool pk_wd = (pk & 2) && ((user && w->user) || (c->s.cr0 & CR0_WP));
	uint32_t fault = PF_P;
	if (acc != ACC_CODE && ((pk & 1) || (acc == ACC_WRITE && pk_wd)))
		fault |= PF_PK;
	if (user && !w->user)
		return pf_code(c, acc, user, fault, err);
	if (!user && w->user && !super_may_touch_user(c, acc, kind))
		return pf_code(c, acc, user, fault, err);
	if (acc == ACC_WRITE && !w->writable && (user || (c->s.cr0 & CR0_WP)))
		return pf_code(c, acc, user, fault, err);
	if (acc == ACC_CODE && !w->exec)
		return pf_code(c, acc, user, fault, err);
	if (fault & PF_PK)
		return pf_code(c, acc, user, fault, err);
	/* the TLB entry gets no data tags under AD, no write tag under WD */
	w->pk_no_data = pk & 1;
	if (pk_wd)
		w->writable = false;
	if (!user && !(c->s.cr0 & CR0_WP))
		w->writable = true;     /* supervisor writes ignore R/W */

	if (c->walk_peek) {
		/* nothing written: only a page the guest has accessed */
		if (!(entry & PTE_A))
			return pf_code(c, acc, user, PF_P, err);
		if (!(entry & PTE_D))
			w->writable = false;
		return true;
	}
	for (unsigned k = 0; k < n; k++)
		set_bits(hosts[k], esize, PTE_A | (k == n - 1 && acc == ACC_WRITE ? PTE_D : 0));
	if (!(entry & PTE_D) && acc != ACC_WRITE)
		w->writable = false;    /* the first write walks again for D */
	return true;
}

static void walk(struct tcg_cpu *c, uint64_t lin, enum access acc, unsigned kind,
		 struct walk *w)
{
	uint32_t err;
	if (!walk_try(c, lin, acc, kind, w, &err))
		tcg_raise_pf(c, lin, err);
}

bool tcg_peek_user(struct tcg_cpu *c, uint64_t lin, struct tcg_user_page *p)
{
	uint32_t err;
	c->walk_peek = true;
	bool ok = tcg_walk_user(c, lin, ACC_READ, p, &err);
	c->walk_peek = false;
	return ok;
}

bool tcg_walk_user(struct tcg_cpu *c, uint64_t lin, enum access acc, struct tcg_user_page *p,
		   uint32_t *err)
{
	struct walk w;
	if (!walk_try(c, lin, acc, MMU_USER, &w, err))
		return false;
	p->phys = (w.phys & c->a20_mask) & PAGE_MASK;
	p->writable = w.writable;
	p->exec = w.exec;
	p->large = w.large;
	p->shift = w.shift;
	return true;
}

/* ------------------------------------------------------------------ */
/* TLB                                                                 */

static inline void tlb_invalidate(struct tlb_entry *e)
{
	e->tag_read = e->tag_code = TLB_INVALID;
	__atomic_store_n(&e->tag_write, TLB_INVALID, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* Victim TLB                                                          */

/* Whether a victim entry answers acc at page as a fill would. */
static bool victim_answers(const struct tlb_entry *v, uint64_t page, enum access acc)
{
	switch (acc) {
	case ACC_READ:
		return v->tag_read == page || v->tag_read == (page | TLB_IO);
	case ACC_WRITE:
		return v->tag_write == page || v->tag_write == (page | TLB_IO);
	default:
		return v->tag_code == page;
	}
}

/* Keep the main entry e (about to be replaced) as a victim. */
static void victim_keep(struct tcg_cpu *c, unsigned kind, const struct tlb_entry *e, bool global)
{
	if (e->tag_read == TLB_INVALID)
		return;
	struct tlb_victim *v = &c->tlb_victim[kind][c->tlb_victim_next[kind]++ % TLB_VICTIMS];
	v->e = *e;
	v->e.tag_write = __atomic_load_n(&e->tag_write, __ATOMIC_RELAXED) & ~TLB_CODE;
	v->global = global;
}

/* A victim for acc at lin: swap it with the main entry e through the
 * filler's protocol (phys, then tag_write, then the code recheck: a page
 * marked as code meanwhile gets its TLB_CODE back).  True on a hit. */
static bool victim_swap(struct tcg_cpu *c, unsigned kind, struct tlb_entry *e, uint64_t lin,
			enum access acc)
{
	uint64_t page = lin & PAGE_MASK;
	unsigned idx = (lin >> 12) & (TLB_SIZE - 1);
	for (unsigned k = 0; k < TLB_VICTIMS; k++) {
		struct tlb_victim *v = &c->tlb_victim[kind][k];
		if (!victim_answers(&v->e, page, acc))
			continue;
		struct tlb_victim hit = *v;
		v->e.tag_read = v->e.tag_code = v->e.tag_write = TLB_INVALID;
		victim_keep(c, kind, e, c->tlb_global[kind][idx]);
		tlb_set_phys(c, kind, idx, hit.e.phys);
		e->addend = hit.e.addend;
		e->tag_read = hit.e.tag_read;
		e->tag_code = hit.e.tag_code;
		tlb_set_write(e, hit.e.tag_write);
		c->tlb_global[kind][idx] = hit.global;
		return true;
	}
	return false;
}

/* Drop the victims (keep_global: but the global pages'); true when a
 * global one was kept. */
static bool victims_flush(struct tcg_cpu *c, bool keep_global)
{
	bool kept = false;
	for (unsigned k = 0; k < MMU_NR; k++)
		for (unsigned i = 0; i < TLB_VICTIMS; i++) {
			struct tlb_victim *v = &c->tlb_victim[k][i];
			if (keep_global && v->global && v->e.tag_read != TLB_INVALID)
				kept = true;
			else
				v->e.tag_read = v->e.tag_code = v->e.tag_write = TLB_INVALID;
		}
	return kept;
}

static void victims_flush_page(struct tcg_cpu *c, uint64_t lin)
{
	uint64_t page = lin & PAGE_MASK;
	for (unsigned k = 0; k < MMU_NR; k++)
		for (unsigned i = 0; i < TLB_VICTIMS; i++) {
			struct tlb_victim *v = &c->tlb_victim[k][i];
			if ((v->e.tag_read & PAGE_MASK) == page || (v->e.tag_code & PAGE_MASK) == page)
				v->e.tag_read = v->e.tag_code = v->e.tag_write = TLB_INVALID;
		}
}

/* Entry idx of tlb[kind] was filled: a flush visits it (tlb_used) */
static inline void tlb_note_fill(struct tcg_cpu *c, unsigned kind, unsigned idx)
{
	unsigned n = c->tlb_nused[kind];
	if (n < TLB_USED_MAX)
		c->tlb_used[kind][n] = (uint16_t)idx;
	if (n <= TLB_USED_MAX)
		c->tlb_nused[kind] = n + 1;
}

/* Flush entry idx of tlb[kind] unless it is global and kept; true when
 * kept. */
static bool tlb_flush_one(struct tcg_cpu *c, unsigned kind, unsigned idx, bool keep_global)
{
	if (keep_global && c->tlb_global[kind][idx])
		return true;
	tlb_invalidate(&c->tlb[kind][idx]);
	c->tlb_global[kind][idx] = false;
	return false;
}

/* The entries of tlb[kind] filled since the last flush (all of them past
 * TLB_USED_MAX); the kept ones stay on the list.  True when one was kept. */
static bool tlb_flush_kind(struct tcg_cpu *c, unsigned kind, bool keep_global)
{
	unsigned n = c->tlb_nused[kind], kept = 0;
	c->tlb_nused[kind] = 0;
	if (n > TLB_USED_MAX) {
		for (unsigned e = 0; e < TLB_SIZE; e++)
			if (tlb_flush_one(c, kind, e, keep_global)) {
				tlb_note_fill(c, kind, e);
				kept++;
			}
		return kept;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned e = c->tlb_used[kind][i];
		if (tlb_flush_one(c, kind, e, keep_global)) {
			c->tlb_used[kind][kept++] = (uint16_t)e;
			c->tlb_nused[kind] = kept;
		}
	}
	return kept;
}

/* Every entry, or (keep_global) every one but the global pages' (a CR3
 * load with CR4.PGE: SDM Vol. 3, 4.10.2.4 and 4.10.4.1). */
static void tlb_flush(struct tcg_cpu *c, bool keep_global)
{
	bool kept = false;
	for (unsigned k = 0; k < MMU_NR; k++)
		if (tlb_flush_kind(c, k, keep_global))
			kept = true;
	if (victims_flush(c, keep_global))
		kept = true;
	if (!kept)
		c->tlb_large = false;   /* else it may cover a kept large page */
	c->chain_epoch++;       /* block links assumed the old translations */
	c->tlb_epoch++;
}

uint64_t tcg_pcid(const struct tcg_cpu *c)
{
	return c->s.cr4 & CR4_PCIDE ? c->s.cr3 & 0xfff : 0;
}

static void tell_kqemu(struct tcg_cpu *c, enum tcg_flush what, uint64_t pcid, uint64_t lin)
{
	if (c->kqemu_tlb_flushed)
		c->kqemu_tlb_flushed(c, what, pcid, lin);
}

/* One more of kind k (only this vCPU's thread writes; info accel reads) */
static void count_asked(struct tcg_cpu *c, enum tcg_flush k)
{
	__atomic_store_n(&c->tlb_asked[k], c->tlb_asked[k] + 1, __ATOMIC_RELAXED);
}

void tcg_tlb_flush(struct tcg_cpu *c)
{
	count_asked(c, TCG_FLUSH_NONGLOBAL);
	tlb_flush(c, c->s.cr4 & CR4_PGE);
	tell_kqemu(c, TCG_FLUSH_NONGLOBAL, 0, 0);
}

void tcg_tlb_flush_all(struct tcg_cpu *c)
{
	count_asked(c, TCG_FLUSH_EVERYTHING);
	tlb_flush(c, false);
	tell_kqemu(c, TCG_FLUSH_EVERYTHING, 0, 0);
}

void tcg_tlb_flush_kept(struct tcg_cpu *c, uint64_t pcid)
{
	count_asked(c, TCG_FLUSH_NONE);
	tlb_flush(c, c->s.cr4 & CR4_PGE);       /* no tags: ours go anyway */
	tell_kqemu(c, TCG_FLUSH_NONE, pcid, 0);
}

void tcg_tlb_flush_pcid(struct tcg_cpu *c, uint64_t pcid)
{
	count_asked(c, TCG_FLUSH_PCID);
	tlb_flush(c, c->s.cr4 & CR4_PGE);       /* no tags: every PCID's */
	tell_kqemu(c, TCG_FLUSH_PCID, pcid, 0);
}

void tcg_tlb_flush_page(struct tcg_cpu *c, uint64_t lin)
{
	count_asked(c, TCG_FLUSH_PAGE);
	if (c->tlb_large) {     /* a large page covers many 4 KiB entries */
		tlb_flush(c, false);
		/* kqemu hears of the page: its own large pages are its
		 * business */
		tell_kqemu(c, TCG_FLUSH_PAGE, tcg_pcid(c), lin);
		return;
	}
	unsigned idx = (lin >> 12) & (TLB_SIZE - 1);
	for (unsigned k = 0; k < MMU_NR; k++) {
		tlb_invalidate(&c->tlb[k][idx]);
		c->tlb_global[k][idx] = false;
	}
	victims_flush_page(c, lin);
	c->chain_epoch++;
	c->tlb_epoch++;
	tell_kqemu(c, TCG_FLUSH_PAGE, tcg_pcid(c), lin);
}

static inline bool is_lapic(struct tcg_cpu *c, uint64_t phys)
{
	return c->lapic && lapic_mmio_hit(c->lapic, phys);
}

void tcg_tlb_fill_quiet(struct tcg_cpu *c, uint64_t lin, enum access acc, unsigned kind)
{
	if (tcg_long_mode(c) && !canonical(lin))
		return;
	if (c->s.cr0 & CR0_PG) {
		struct walk w;
		uint32_t err;
		c->walk_peek = true;
		bool ok = walk_try(c, lin, acc, kind, &w, &err);
		c->walk_peek = false;
		if (!ok || (acc == ACC_WRITE && !w.writable))
			return;
	}
	tcg_translate(c, lin, acc, kind);
}

/* The tags of a supervisor entry for a user page keep out what SMEP and
 * SMAP forbid (an entry filled for one access serves the others): no
 * fetch with CR4.SMEP, nor ever through MMU_SUPER_AC; no data through
 * MMU_SUPER with CR4.SMAP.  Those accesses miss and walk, which faults. */
static void tlb_guard_user_page(const struct tcg_cpu *c, unsigned kind, uint64_t *read,
				uint64_t *write, uint64_t *code)
{
	if (kind == MMU_SUPER_AC || (c->s.cr4 & CR4_SMEP))
		*code = TLB_INVALID;
	if (kind == MMU_SUPER && (c->s.cr4 & CR4_SMAP))
		*read = *write = TLB_INVALID;
}

uint64_t tcg_translate(struct tcg_cpu *c, uint64_t lin, enum access acc, unsigned kind)
{
	unsigned idx = (lin >> 12) & (TLB_SIZE - 1);
	struct tlb_entry *e = &c->tlb[kind][idx];
	if (victim_swap(c, kind, e, lin, acc)) {
		tlb_note_fill(c, kind, idx);
		return e->phys | (lin & 0xfff);
	}
	struct walk w = { .phys = lin & 0xffffffffULL, .writable = true, .user = true,
			  .exec = true };
	if (c->s.cr0 & CR0_PG)
		walk(c, lin, acc, kind, &w);
	else if (tcg_long_mode(c))
		w.phys = lin;
	uint64_t phys = w.phys & c->a20_mask;
	uint64_t page = lin & PAGE_MASK;
	if ((e->tag_read & PAGE_MASK) != page)
		victim_keep(c, kind, e, c->tlb_global[kind][(lin >> 12) & (TLB_SIZE - 1)]);
	bool ram_writable = false;
	uint8_t *host = NULL;
	if (!is_lapic(c, phys)) {
		host = fast_ram(c->m, phys & PAGE_MASK, 4096);
		if (host)
			ram_writable = true;
		else
			host = gpa_lookup(c->m, phys & PAGE_MASK, 4096, &ram_writable);
	}
	uint64_t read, write, code;
	if (host) {
		read = page;
		code = w.exec ? page : TLB_INVALID;
		write = w.writable && ram_writable ? page : TLB_INVALID;
	} else {
		read = write = page | TLB_IO;
		code = TLB_INVALID;
	}
	if (kind != MMU_USER && (c->s.cr0 & CR0_PG) && w.user)
		tlb_guard_user_page(c, kind, &read, &write, &code);
	if (w.pk_no_data)
		read = write = TLB_INVALID;
	if (c->dbg_on) {
		if (!(read & TLB_INVALID))
			read |= tcg_dbg_watch_tags(c, page, false);
		if (!(write & TLB_INVALID))
			write |= tcg_dbg_watch_tags(c, page, true);
	}
	tlb_set_phys(c, kind, idx, phys & PAGE_MASK);
	e->addend = host ? (uintptr_t)host - (uintptr_t)page : 0;
	e->tag_read = read;
	e->tag_code = code;
	tlb_set_write(e, write);
	if (w.large)
		c->tlb_large = true;
	c->tlb_global[kind][idx] = w.global;
	tlb_note_fill(c, kind, idx);
	return phys;
}

/* ------------------------------------------------------------------ */
/* Physical accesses that are not RAM                                  */

static uint64_t io_read(struct tcg_cpu *c, uint64_t phys, unsigned size)
{
	uint64_t v = 0;
	if (is_lapic(c, phys)) {
		uint32_t off = phys & 0xfff;
		uint32_t r = lapic_mmio_read(c->lapic, off & ~3u);
		return (r >> ((off & 3) * 8)) & size_mask(size);
	}
	void *host = gpa_to_host(c->m, phys, size);
	if (host) {             /* ROM or RAM reached through an IO entry */
		memcpy(&v, host, size);
		return v;
	}
	if (!machine_mmio(c->m, phys, false, &v, size)) {
		qvm_log(LOG_UNIMP, "cpu %u: mmio read 0x%llx size %u (unassigned)",
			c->v ? c->v->index : 0, (unsigned long long)phys, size);
		v = ~0ULL;
	}
	if (c->v)
		c->v->mmio_exits++;
	return v & size_mask(size);
}

static void io_write(struct tcg_cpu *c, uint64_t phys, unsigned size, uint64_t v)
{
	if (is_lapic(c, phys)) {
		uint32_t off = phys & 0xfff;
		lapic_mmio_write(c->lapic, off & ~3u, (uint32_t)(v << ((off & 3) * 8)));
		c->stop = true;
		return;
	}
	bool writable = false;
	void *host = gpa_lookup(c->m, phys, size, &writable);
	if (host) {
		if (writable) {
			memcpy(host, &v, size);
			(void)check_code_write(c, phys);
		}
		return;         /* writes to ROM are dropped */
	}
	if (!machine_mmio(c->m, phys, true, &v, size))
		qvm_log(LOG_UNIMP, "cpu %u: mmio write 0x%llx size %u value 0x%llx (unassigned)",
			c->v ? c->v->index : 0, (unsigned long long)phys, size,
			(unsigned long long)v);
	if (c->v)
		c->v->mmio_exits++;
	c->stop = true;         /* a device may have raised an interrupt */
}

/* ------------------------------------------------------------------ */
/* Linear accesses                                                     */

static inline struct tlb_entry *tlb_of(struct tcg_cpu *c, uint64_t lin, unsigned kind)
{
	return &c->tlb[kind][(lin >> 12) & (TLB_SIZE - 1)];
}

/* One access within a page. */
static uint64_t lin_ld_page(struct tcg_cpu *c, uint64_t lin, unsigned size, unsigned kind)
{
	struct tlb_entry *e = tlb_of(c, lin, kind);
	uint64_t page = lin & PAGE_MASK, v = 0;
	if (e->tag_read != page) {
		uint64_t tag = e->tag_read;
		if ((tag & PAGE_MASK) != page || (tag & TLB_INVALID)) {
			tcg_translate(c, lin, ACC_READ, kind);
			tag = e->tag_read;
		}
		if (tag & TLB_WATCH)
			tcg_dbg_data(c, lin, size, false);
		if ((tag & ~TLB_WATCH) != page)
			return io_read(c, e->phys | (lin & 0xfff), size);
	}
	memcpy(&v, (void *)(uintptr_t)(lin + e->addend), size);
	return v;
}

static inline uint64_t write_tag(struct tlb_entry *e)
{
	return __atomic_load_n(&e->tag_write, __ATOMIC_RELAXED);
}

/* Translate for a write unless the entry has one (RAM, RAM with code,
 * MMIO), filling the TLB. */
static struct tlb_entry *prepare_write(struct tcg_cpu *c, uint64_t lin, unsigned kind)
{
	struct tlb_entry *e = tlb_of(c, lin, kind);
	uint64_t page = lin & PAGE_MASK, tag = write_tag(e);
	if ((tag & PAGE_MASK) != page || (tag & TLB_INVALID))
		tcg_translate(c, lin, ACC_WRITE, kind);
	return e;
}

static void lin_st_page(struct tcg_cpu *c, uint64_t lin, unsigned size, uint64_t v, unsigned kind)
{
	struct tlb_entry *e = prepare_write(c, lin, kind);
	uint64_t page = lin & PAGE_MASK, tag = write_tag(e);
	if (tag & TLB_WATCH) {
		tcg_dbg_data(c, lin, size, true);
		if (!(tag & TLB_IO)) {
			memcpy((void *)(uintptr_t)(lin + e->addend), &v, size);
			(void)check_code_write(c, e->phys);
			return;
		}
		tag &= ~TLB_WATCH;
	}
	if (tag == page) {
		memcpy((void *)(uintptr_t)(lin + e->addend), &v, size);
	} else if (tag == (page | TLB_CODE)) {
		memcpy((void *)(uintptr_t)(lin + e->addend), &v, size);
		code_store(c, e, page);
	} else {
		io_write(c, e->phys | (lin & 0xfff), size, v);
	}
}

static uint64_t lin_ld(struct tcg_cpu *c, uint64_t lin, unsigned size, unsigned kind)
{
	unsigned in_page = 4096 - (lin & 0xfff);
	if (size <= in_page)
		return lin_ld_page(c, lin, size, kind);
	/* split: both pages are translated before the value is assembled */
	uint64_t lo = 0, hi = 0;
	lo = lin_ld_page(c, lin, in_page, kind);
	hi = lin_ld_page(c, lin + in_page, size - in_page, kind);
	return lo | hi << (in_page * 8);
}

static void lin_st(struct tcg_cpu *c, uint64_t lin, unsigned size, uint64_t v, unsigned kind)
{
	unsigned in_page = 4096 - (lin & 0xfff);
	if (size <= in_page) {
		lin_st_page(c, lin, size, v, kind);
		return;
	}
	prepare_write(c, lin + in_page, kind);  /* fault before writing */
	lin_st_page(c, lin, in_page, v, kind);
	lin_st_page(c, lin + in_page, size - in_page, v >> (in_page * 8), kind);
}

uint64_t tcg_lin_ld(struct tcg_cpu *c, uint64_t lin, unsigned size, bool sys)
{
	if (!tcg_long_mode(c))
		lin &= 0xffffffffULL;
	return lin_ld(c, lin, size, sys ? MMU_SUPER : tcg_data_kind(c));
}

void tcg_lin_st(struct tcg_cpu *c, uint64_t lin, unsigned size, uint64_t v, bool sys)
{
	if (!tcg_long_mode(c))
		lin &= 0xffffffffULL;
	lin_st(c, lin, size, v, sys ? MMU_SUPER : tcg_data_kind(c));
}

/* ------------------------------------------------------------------ */
/* Segment:offset accesses, the handlers' interface                    */

static inline uint64_t ld_fast(struct tcg_cpu *c, int seg, uint64_t off, unsigned size)
{
	uint64_t lin = tcg_seg_linear(c, seg, off, size, ACC_READ);
	unsigned kind = tcg_data_kind(c);
	struct tlb_entry *e = tlb_of(c, lin, kind);
	if (__builtin_expect(e->tag_read == (lin & PAGE_MASK) &&
			     (lin & 0xfff) <= 4096 - size, 1)) {
		uint64_t v = 0;
		memcpy(&v, (void *)(uintptr_t)(lin + e->addend), size);
		return v;
	}
	return lin_ld(c, lin, size, kind);
}

static inline void st_fast(struct tcg_cpu *c, int seg, uint64_t off, unsigned size, uint64_t v)
{
	uint64_t lin = tcg_seg_linear(c, seg, off, size, ACC_WRITE);
	unsigned kind = tcg_data_kind(c);
	struct tlb_entry *e = tlb_of(c, lin, kind);
	if (__builtin_expect(write_tag(e) == (lin & PAGE_MASK) &&
			     (lin & 0xfff) <= 4096 - size, 1)) {
		memcpy((void *)(uintptr_t)(lin + e->addend), &v, size);
		return;
	}
	lin_st(c, lin, size, v, kind);
}

uint8_t tcg_ld8(struct tcg_cpu *c, int seg, uint64_t off) { return ld_fast(c, seg, off, 1); }
uint16_t tcg_ld16(struct tcg_cpu *c, int seg, uint64_t off) { return ld_fast(c, seg, off, 2); }
uint32_t tcg_ld32(struct tcg_cpu *c, int seg, uint64_t off) { return ld_fast(c, seg, off, 4); }
uint64_t tcg_ld64(struct tcg_cpu *c, int seg, uint64_t off) { return ld_fast(c, seg, off, 8); }
void tcg_st8(struct tcg_cpu *c, int seg, uint64_t off, uint8_t v) { st_fast(c, seg, off, 1, v); }
void tcg_st16(struct tcg_cpu *c, int seg, uint64_t off, uint16_t v) { st_fast(c, seg, off, 2, v); }
void tcg_st32(struct tcg_cpu *c, int seg, uint64_t off, uint32_t v) { st_fast(c, seg, off, 4, v); }
void tcg_st64(struct tcg_cpu *c, int seg, uint64_t off, uint64_t v) { st_fast(c, seg, off, 8, v); }

/* A switch, so that each copy has a constant size (no memcpy call). */
uint64_t tcg_ld(struct tcg_cpu *c, int seg, uint64_t off, unsigned size)
{
	switch (size) {
	case 1: return ld_fast(c, seg, off, 1);
	case 2: return ld_fast(c, seg, off, 2);
	case 4: return ld_fast(c, seg, off, 4);
	default: return ld_fast(c, seg, off, 8);
	}
}

void tcg_st(struct tcg_cpu *c, int seg, uint64_t off, unsigned size, uint64_t v)
{
	switch (size) {
	case 1: st_fast(c, seg, off, 1, v); break;
	case 2: st_fast(c, seg, off, 2, v); break;
	case 4: st_fast(c, seg, off, 4, v); break;
	default: st_fast(c, seg, off, 8, v); break;
	}
}

void tcg_probe_write(struct tcg_cpu *c, int seg, uint64_t off, unsigned size)
{
	uint64_t lin = tcg_seg_linear(c, seg, off, size, ACC_WRITE);
	unsigned kind = tcg_data_kind(c);
	for (uint64_t p = lin & PAGE_MASK; p <= ((lin + size - 1) & PAGE_MASK); p += 4096)
		prepare_write(c, p < lin ? lin : p, kind);
}

void tcg_ld_bytes(struct tcg_cpu *c, int seg, uint64_t off, void *dst, unsigned size)
{
	uint64_t lin = tcg_seg_linear(c, seg, off, size, ACC_READ);
	unsigned kind = tcg_data_kind(c);
	uint8_t *d = dst;
	/* translate every page first so a fault leaves dst untouched */
	for (uint64_t p = lin & PAGE_MASK; p <= ((lin + size - 1) & PAGE_MASK); p += 4096)
		lin_ld_page(c, p < lin ? lin : p, 1, kind);
	for (unsigned done = 0; done < size;) {
		unsigned n = MIN(size - done, 8u);
		n = MIN(n, 4096 - ((lin + done) & 0xfff));
		uint64_t v = lin_ld(c, lin + done, n, kind);
		memcpy(d + done, &v, n);
		done += n;
	}
}

void tcg_st_bytes(struct tcg_cpu *c, int seg, uint64_t off, const void *src, unsigned size)
{
	uint64_t lin = tcg_seg_linear(c, seg, off, size, ACC_WRITE);
	unsigned kind = tcg_data_kind(c);
	const uint8_t *s = src;
	for (uint64_t p = lin & PAGE_MASK; p <= ((lin + size - 1) & PAGE_MASK); p += 4096)
		prepare_write(c, p < lin ? lin : p, kind);
	for (unsigned done = 0; done < size;) {
		unsigned n = MIN(size - done, 8u);
		n = MIN(n, 4096 - ((lin + done) & 0xfff));
		uint64_t v = 0;
		memcpy(&v, s + done, n);
		lin_st(c, lin + done, n, v, kind);
		done += n;
	}
}

/* ------------------------------------------------------------------ */
/* Atomics                                                             */

static pthread_mutex_t atomic_lock = PTHREAD_MUTEX_INITIALIZER;

void tcg_atomic_lock(void)
{
	pthread_mutex_lock(&atomic_lock);
}

void tcg_atomic_unlock(void)
{
	pthread_mutex_unlock(&atomic_lock);
}

void *tcg_rmw_ptr(struct tcg_cpu *c, int seg, uint64_t off, unsigned size)
{
	uint64_t lin = tcg_seg_linear(c, seg, off, size, ACC_WRITE);
	unsigned kind = tcg_data_kind(c);
	/* a writable page is readable too: one translation for the write
	 * (its #PF error code has W, like the hardware's locked cycle) */
	struct tlb_entry *e = prepare_write(c, lin, kind);
	if ((lin & 0xfff) > 4096 - size) {
		prepare_write(c, (lin + size - 1) & PAGE_MASK, kind);
		return NULL;
	}
	uint64_t page = lin & PAGE_MASK, tag = write_tag(e);
	if (tag == (page | TLB_CODE))
		code_store(c, e, page);
	else if (tag != page)
		return NULL;
	return (void *)(uintptr_t)(lin + e->addend);
}

/* ------------------------------------------------------------------ */
/* Instruction fetch for the block builder (exec.c)                    */

/* Host pointer to the code at linear address lin (whole page from there
 * on), or NULL when the page is not RAM/ROM; *phys gets its address.
 * Raises #PF. */
const uint8_t *tcg_fetch_page(struct tcg_cpu *c, uint64_t lin, uint64_t *phys)
{
	unsigned kind = tcg_cpl(c) == 3 ? MMU_USER : MMU_SUPER;
	struct tlb_entry *e = tlb_of(c, lin, kind);
	if (e->tag_code != (lin & PAGE_MASK)) {
		tcg_translate(c, lin, ACC_CODE, kind);
		if (e->tag_code != (lin & PAGE_MASK)) {
			*phys = e->phys | (lin & 0xfff);
			return NULL;
		}
	}
	*phys = e->phys | (lin & 0xfff);
	return (const uint8_t *)(uintptr_t)(lin + e->addend);
}

/* Slow fetch of code bytes from MMIO (a guest executing from a device). */
void tcg_fetch_bytes_io(struct tcg_cpu *c, uint64_t phys, uint8_t *dst, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		dst[k] = io_read(c, phys + k, 1);
}
