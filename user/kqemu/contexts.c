/*
 * The mapping contexts of a vCPU: what the backend has mapped for each
 * guest address space (page-table root), tagged with the guest's PCID the
 * way a TLB tags its translations (SDM Vol. 3A, 4.10.1), so that a
 * process's pages stay mapped across the guest's CR3 switches and only
 * the flushes the architecture defines drop them (4.10.4.1):
 *
 *   MOV to CR3            the new PCID's translations, unless CR4.PCIDE
 *                         and bit 63 (with PCIDE=0 every CR3 write:
 *                         all of PCID 0 is all there is)
 *   INVPCID 1             that PCID's
 *   INVPCID 3             every PCID's non-global ones
 *   INVLPG, INVPCID 0     the page (here: in every context; all of a
 *                         2 MiB guest page; everything of a context
 *                         holding a 1 GiB one)
 *   CR0, CR4, EFER,       everything
 *   INVPCID 2
 *
 * Dropping more than that is always allowed (a TLB may lose entries at
 * any time); keeping more is not.  A flush of a PCID's (or every PCID's)
 * non-global translations does not drop the context's mappings at once:
 * at the context's next entry each is walked again in the guest's
 * tables as they are then (exits.c, kq_ctx_revalidate) and kept only
 * when the walk gives the same page with at least its permissions, A
 * (and D for a writable one) set already.  That is what the CPU may do
 * itself after the flush, caching a translation from a walk before the
 * access that needs it (4.10.2.3), so nothing the guest can see differs,
 * and Linux, which reloads CR3 without bit 63 for any flush of its own
 * address space and at every reuse of an ASID, keeps the pages that did
 * not change mapped.  With a backend that keeps one set
 * (no KQEMU_INFO_CONTEXTS) there is one context, flushed whenever the
 * PCID it holds changes: the behaviour before contexts.
 */
#include <string.h>
#include "engine.h"

static void filter_clear(struct kq_ctx *x)
{
	memset(x->wfilter, 0, sizeof(x->wfilter));
}

static unsigned filter_bit(uint64_t phys)
{
	return (unsigned)((phys >> 12) * 0x9e3779b97f4a7c15ULL >> 48) & (KQ_WFILTER_BITS - 1);
}

void kq_ctx_note_writable(struct kq_ctx *x, uint64_t phys)
{
	unsigned b = filter_bit(phys);
	x->wfilter[b / 64] |= 1ULL << (b % 64);
}

static bool filter_has(const struct kq_ctx *x, uint64_t phys)
{
	unsigned b = filter_bit(phys);
	return x->wfilter[b / 64] >> (b % 64) & 1;
}

void kq_ctx_flush(struct kq_vcpu *kv, struct kq_ctx *x)
{
	(void)kv;
	if (!x->maps.n && !x->nr_map)
		return;         /* nothing there, or a flush pending already */
	kq_maps_clear(&x->maps);
	filter_clear(x);
	x->revalidate = false;
	x->flush_all = true;
	x->nr_unmap = x->nr_map = 0;
}

void kq_ctx_queue_unmap(struct kq_vcpu *kv, struct kq_ctx *x, uint64_t lin)
{
	if (x->flush_all)
		return;         /* the pending flush covers it (the maps sent
				 * after it are the entries as they are then) */
	if (x->nr_unmap == KQEMU_MAX_UNMAPS) {
		kq_count(&kv->st.full_flushes, 1);
		kq_ctx_flush(kv, x);
		x->flush_all = true;
		x->nr_unmap = 0;
		return;
	}
	x->unmap[x->nr_unmap++] = lin & TLB_PAGE_MASK;
}

static void flush_page(struct kq_vcpu *kv, struct kq_ctx *x, uint64_t lin)
{
	uint64_t gone[KQ_INVALIDATE_MAX];
	int n = kq_maps_invalidate(&x->maps, lin, gone);
	if (n < 0) {
		/* a 1 GiB guest page mapped: everything goes */
		kq_count(&kv->st.large_flushes, 1);
		kq_ctx_flush(kv, x);
		return;
	}
	for (int i = 0; i < n; i++)
		kq_ctx_queue_unmap(kv, x, gone[i]);
}

void kq_ctx_tlb_flushed(struct kq_vcpu *kv, unsigned what, uint64_t pcid, uint64_t lin)
{
	if (what == TCG_FLUSH_NONE) {
		kq_count(&kv->st.ctx_kept, 1);
		return;
	}
	if (what == TCG_FLUSH_EVERYTHING)
		kq_count(&kv->st.all_flushes, 1);
	for (unsigned i = 0; i < kv->nr_ctx; i++) {
		struct kq_ctx *x = &kv->ctx[i];
		switch (what) {
		case TCG_FLUSH_PCID:
			if (!x->tagged || x->pcid != pcid)
				break;
			if (x->maps.n) {
				kq_count(&kv->st.ctx_flushes, 1);
				x->revalidate = true;
			}
			break;
		case TCG_FLUSH_NONGLOBAL:
			if (x->maps.n)
				x->revalidate = true;
			break;
		case TCG_FLUSH_PAGE:
			/* a global translation of the page goes in every
			 * PCID; the others' non-global ones need not, but
			 * the page is rarely in more than one */
			flush_page(kv, x, lin);
			break;
		default:        /* every PCID's */
			kq_ctx_flush(kv, x);
			break;
		}
	}
}

/* The context tagged with (pcid, root); else one holding root's
 * mappings under another PCID; else nr_ctx. */
static unsigned find_ctx(const struct kq_vcpu *kv, uint64_t pcid, uint64_t root)
{
	unsigned by_root = kv->nr_ctx;
	for (unsigned i = 0; i < kv->nr_ctx; i++) {
		const struct kq_ctx *x = &kv->ctx[i];
		if (!x->tagged || x->root != root)
			continue;
		if (x->pcid == pcid)
			return i;
		if (by_root == kv->nr_ctx)
			by_root = i;
	}
	return by_root;
}

/* An untagged context, else the least recently run, flushed. */
static unsigned evict_ctx(struct kq_vcpu *kv)
{
	unsigned pick = 0;
	for (unsigned i = 0; i < kv->nr_ctx; i++) {
		if (!kv->ctx[i].tagged) {
			pick = i;
			break;
		}
		if (kv->ctx[i].last_entry < kv->ctx[pick].last_entry)
			pick = i;
	}
	struct kq_ctx *x = &kv->ctx[pick];
	if (x->tagged && (x->maps.n || x->nr_map))
		kq_count(&kv->st.ctx_evictions, 1);
	kq_ctx_flush(kv, x);
	return pick;
}

/*
 * The context of the address space at root under pcid.  Linux has a few
 * ASIDs per CPU (6) and hands them round to whichever process runs, with
 * a flush at each reuse, so a PCID names one process after another and a
 * process that comes back often has another PCID: a context found by
 * the PCID alone would be walked in the wrong tables and lose nearly
 * everything.  So contexts are found by the table root too:
 *
 *  - tagged (pcid, root): its mappings are translations the TLB may hold
 *    for pcid (every flush of pcid since they were made has reached it);
 *  - root's context under another PCID: its mappings are no translations
 *    of pcid, but they came from root's tables, so it is retagged and
 *    walked again before it runs; what the walk gives now the CPU may
 *    cache right after this CR3 load itself (4.10.2.3), and the pages of
 *    the process that did not change meanwhile stay mapped;
 *  - else an untagged or the least recently run context, flushed.
 *
 * Leaving a context tagged (pcid, other root) unused is dropping
 * translations, which a TLB may do at any time.
 */
struct kq_ctx *kq_ctx_enter(struct kq_vcpu *kv, uint64_t pcid, uint64_t root)
{
	unsigned pick = find_ctx(kv, pcid, root);
	if (pick == kv->nr_ctx) {
		pick = evict_ctx(kv);
	} else if (kv->ctx[pick].pcid != pcid) {
		kq_count(&kv->st.ctx_retags, 1);
		if (kv->ctx[pick].maps.n)
			kv->ctx[pick].revalidate = true;
	}
	struct kq_ctx *x = &kv->ctx[pick];
	x->tagged = true;
	x->pcid = pcid;
	x->root = root;
	if (pick != kv->cur)
		kq_count(&kv->st.ctx_switches, 1);
	kv->cur = pick;
	if (x->revalidate)
		kq_ctx_revalidate(kv, x);
	x->last_entry = ++kv->entry_stamp;
	return x;
}

struct strip {
	struct kq_vcpu *kv;
	struct kq_ctx *x;
	bool running;           /* x is the context in native execution now */
	bool changed;
};

static void strip_write(struct kq_map_entry *e, void *opaque)
{
	struct strip *s = opaque;
	struct kq_vcpu *kv = s->kv;
	e->prot &= ~KQEMU_PROT_WRITE;
	kq_ctx_queue_unmap(kv, s->x, e->lin);
	kq_count(&kv->st.code_unmaps, 1);
	if (!s->running)
		return;         /* the unmap comes before the next write */
	s->changed = true;
	if (kv->nr_code < KQEMU_MAX_UNMAPS)
		kv->code[kv->nr_code++] = e->phys;
	else
		kv->code_all = true;
}

bool kq_ctx_strip_writes(struct kq_vcpu *kv, uint64_t phys)
{
	bool changed = false;
	for (unsigned i = 0; i < kv->nr_ctx; i++) {
		struct kq_ctx *x = &kv->ctx[i];
		if (!x->maps.n || !filter_has(x, phys))
			continue;
		struct strip s = { kv, x, kv->in_native && i == kv->cur, false };
		kq_maps_each_writable(&x->maps, phys, strip_write, &s);
		changed |= s.changed;
	}
	return changed;
}
