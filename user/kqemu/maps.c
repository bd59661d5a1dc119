/*
 * What a backend instance has mapped: linear page -> guest-physical page
 * and protection, so that TLB flushes become unmaps of what is there and
 * a page that starts holding decoded code loses its writable mappings.
 * An open-addressing table with linear probing and backward-shift
 * deletion, at most half full: it doubles as pages are mapped, up to
 * KQ_MAPS_MAX entries, then the engine flushes everything.
 */
#include <stdlib.h>
#include <string.h>
#include "engine.h"

static unsigned slot_of(const struct kq_maps *t, uint64_t lin)
{
	uint64_t h = (lin >> 12) * 0x9e3779b97f4a7c15ULL;      /* Fibonacci hashing */
	return (unsigned)(h >> 40) & (t->slots - 1);
}

void kq_maps_clear(struct kq_maps *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

/* Into a table of twice the slots (KQ_MAPS_MIN_SLOTS for an empty one):
 * false when there is no memory for it. */
static bool grow(struct kq_maps *t)
{
	unsigned slots = t->slots ? t->slots * 2 : KQ_MAPS_MIN_SLOTS;
	struct kq_map_entry *e = calloc(slots, sizeof(*e));
	if (!e)
		return false;
	struct kq_maps old = *t;
	t->e = e;
	t->slots = slots;
	for (unsigned i = 0; i < old.slots; i++) {
		if (!old.e[i].used)
			continue;
		unsigned j = slot_of(t, old.e[i].lin);
		while (e[j].used)
			j = (j + 1) & (slots - 1);
		e[j] = old.e[i];
	}
	free(old.e);
	return true;
}

struct kq_map_entry *kq_maps_find(struct kq_maps *t, uint64_t lin)
{
	lin &= TLB_PAGE_MASK;
	if (!t->e)
		return NULL;
	for (unsigned i = slot_of(t, lin);; i = (i + 1) & (t->slots - 1)) {
		struct kq_map_entry *e = &t->e[i];
		if (!e->used)
			return NULL;
		if (e->lin == lin)
			return e;
	}
}

static unsigned large_bit(uint64_t lin)
{
	return (unsigned)((lin >> 21) * 0x9e3779b97f4a7c15ULL >> 52) & (KQ_LARGE_FILTER_BITS - 1);
}

struct kq_map_entry *kq_maps_set(struct kq_maps *t, uint64_t lin, uint64_t phys, uint32_t prot,
				 unsigned shift)
{
	lin &= TLB_PAGE_MASK;
	bool large = shift > 12;
	struct kq_map_entry *e = kq_maps_find(t, lin);
	if (e) {
		t->nr_large -= e->large;
		t->nr_huge -= e->shift > 21;
	} else {
		if (t->n >= KQ_MAPS_MAX)
			return NULL;
		if ((t->n + 1) * 2 > t->slots && !grow(t))
			return NULL;
		unsigned i = slot_of(t, lin);
		while (t->e[i].used)
			i = (i + 1) & (t->slots - 1);
		e = &t->e[i];
		t->n++;
	}
	*e = (struct kq_map_entry){ .lin = lin, .phys = phys & TLB_PAGE_MASK, .prot = prot,
				    .used = true, .large = large, .shift = (uint8_t)shift };
	t->nr_large += large;
	t->nr_huge += shift > 21;
	if (large) {
		unsigned b = large_bit(lin);
		t->large_filter[b / 64] |= 1ULL << (b % 64);
	}
	return e;
}

bool kq_maps_remove(struct kq_maps *t, uint64_t lin)
{
	struct kq_map_entry *e = kq_maps_find(t, lin);
	if (!e)
		return false;
	t->n--;
	t->nr_large -= e->large;
	t->nr_huge -= e->shift > 21;
	/* backward shift: move later entries of the probe run into the gap
	 * when their home slot is not between the gap and them */
	const unsigned mask = t->slots - 1;
	unsigned gap = e - t->e;
	for (unsigned i = (gap + 1) & mask; t->e[i].used; i = (i + 1) & mask) {
		unsigned home = slot_of(t, t->e[i].lin);
		unsigned d_home = (i - home) & mask;
		unsigned d_gap = (i - gap) & mask;
		if (d_home >= d_gap) {
			t->e[gap] = t->e[i];
			gap = i;
		}
	}
	memset(&t->e[gap], 0, sizeof(t->e[gap]));
	return true;
}

void kq_maps_each_writable(struct kq_maps *t, uint64_t phys,
			   void (*fn)(struct kq_map_entry *e, void *opaque), void *opaque)
{
	phys &= TLB_PAGE_MASK;
	if (!t->n)
		return;
	for (unsigned i = 0; i < t->slots; i++) {
		struct kq_map_entry *e = &t->e[i];
		if (e->used && e->phys == phys && (e->prot & KQEMU_PROT_WRITE))
			fn(e, opaque);
	}
}

/* A TLB entry of a 2 MiB page covers the whole page, so INVLPG of any of
 * its bytes drops it (SDM Vol. 3A, 4.10.4.1); its 4 KiB pieces here go
 * together.  Translations of other pages stay valid.  Pages of 1 GiB
 * would be 262144 looks: the caller drops everything then. */
int kq_maps_invalidate(struct kq_maps *t, uint64_t lin, uint64_t gone[KQ_INVALIDATE_MAX])
{
	lin &= TLB_PAGE_MASK;
	if (t->nr_huge)
		return -1;
	unsigned b = large_bit(lin);
	if (!t->nr_large || !(t->large_filter[b / 64] >> (b % 64) & 1)) {
		if (!kq_maps_remove(t, lin))
			return 0;
		gone[0] = lin;
		return 1;
	}
	int n = 0;
	const uint64_t base = lin & ~0x1fffffULL;
	for (uint64_t a = base; a < base + 0x200000; a += 4096) {
		const struct kq_map_entry *e = kq_maps_find(t, a);
		if (!e || (!e->large && a != lin))
			continue;
		kq_maps_remove(t, a);
		gone[n++] = a;
	}
	return n;
}
