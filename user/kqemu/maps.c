/*
 * What a backend instance has mapped: linear page -> guest-physical page
 * and protection, so that TLB flushes become unmaps of what is there and
 * a page that starts holding decoded code loses its writable mappings.
 * An open-addressing table with linear probing and backward-shift
 * deletion; at most half full, then the engine flushes everything.
 */
#include <string.h>
#include "engine.h"

static unsigned slot_of(uint64_t lin)
{
	uint64_t h = (lin >> 12) * 0x9e3779b97f4a7c15ULL;      /* Fibonacci hashing */
	return (unsigned)(h >> 40) & (KQ_MAPS_SLOTS - 1);
}

void kq_maps_clear(struct kq_maps *t)
{
	memset(t, 0, sizeof(*t));
}

struct kq_map_entry *kq_maps_find(struct kq_maps *t, uint64_t lin)
{
	lin &= TLB_PAGE_MASK;
	for (unsigned i = slot_of(lin);; i = (i + 1) & (KQ_MAPS_SLOTS - 1)) {
		struct kq_map_entry *e = &t->e[i];
		if (!e->used)
			return NULL;
		if (e->lin == lin)
			return e;
	}
}

struct kq_map_entry *kq_maps_set(struct kq_maps *t, uint64_t lin, uint64_t phys, uint32_t prot,
				 bool large)
{
	lin &= TLB_PAGE_MASK;
	unsigned i = slot_of(lin);
	while (t->e[i].used && t->e[i].lin != lin)
		i = (i + 1) & (KQ_MAPS_SLOTS - 1);
	struct kq_map_entry *e = &t->e[i];
	if (!e->used) {
		if (t->n >= KQ_MAPS_MAX)
			return NULL;
		t->n++;
	} else if (e->large) {
		t->nr_large--;
	}
	*e = (struct kq_map_entry){ .lin = lin, .phys = phys & TLB_PAGE_MASK, .prot = prot,
				    .used = true, .large = large };
	t->nr_large += large;
	return e;
}

bool kq_maps_remove(struct kq_maps *t, uint64_t lin)
{
	struct kq_map_entry *e = kq_maps_find(t, lin);
	if (!e)
		return false;
	t->n--;
	t->nr_large -= e->large;
	/* backward shift: move later entries of the probe run into the gap
	 * when their home slot is not between the gap and them */
	unsigned gap = e - t->e;
	for (unsigned i = (gap + 1) & (KQ_MAPS_SLOTS - 1); t->e[i].used;
	     i = (i + 1) & (KQ_MAPS_SLOTS - 1)) {
		unsigned home = slot_of(t->e[i].lin);
		unsigned d_home = (i - home) & (KQ_MAPS_SLOTS - 1);
		unsigned d_gap = (i - gap) & (KQ_MAPS_SLOTS - 1);
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
	for (unsigned i = 0; i < KQ_MAPS_SLOTS; i++) {
		struct kq_map_entry *e = &t->e[i];
		if (e->used && e->phys == phys && (e->prot & KQEMU_PROT_WRITE))
			fn(e, opaque);
	}
}
