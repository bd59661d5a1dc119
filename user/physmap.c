/*
 * The physical map, published with RCU.  Readers (vCPU threads on every
 * exit) take urcu_memb_read_lock and binary-search an immutable sorted
 * array; writers (main thread) copy it, insert or remove one region,
 * publish the copy and free the old one after a grace period.
 */
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "rcu.h"
#include "accel.h"

static __thread bool rcu_registered;

void rcu_thread_online(void)
{
	if (!rcu_registered) {
		urcu_memb_register_thread();
		rcu_registered = true;
	}
}

void rcu_thread_offline(void)
{
	if (rcu_registered) {
		urcu_memb_unregister_thread();
		rcu_registered = false;
	}
}

/* Port I/O is its own address space; RAM, ROM and MMIO share one. */
static int space_of(enum region_kind k)
{
	return k == REGION_PIO;
}

static int region_cmp(const struct region *a, int space, uint64_t base)
{
	int sa = space_of(a->kind);
	if (sa != space)
		return sa < space ? -1 : 1;
	if (a->base != base)
		return a->base < base ? -1 : 1;
	return 0;
}

/* A snapshot with the RCU head that frees it after a grace period. */
struct physmap_node {
	struct physmap map;
	struct rcu_head rcu;
};

struct physmap *physmap_new(void)
{
	struct physmap_node *node = calloc(1, sizeof(*node));
	return node ? &node->map : NULL;
}

void physmap_free(struct physmap *map)
{
	if (!map)
		return;
	free(map->regions);
	free(caa_container_of(map, struct physmap_node, map));
}

/* An empty snapshot with room for n regions; NULL (message printed) when
 * memory runs out. */
static struct physmap *physmap_with_room(unsigned n)
{
	struct physmap *map = physmap_new();
	if (map && !(map->regions = malloc(n * sizeof(struct region)))) {
		physmap_free(map);
		map = NULL;
	}
	if (!map)
		qvm_error("out of memory");
	return map;
}

/* The region of space containing addr, or NULL.  Caller holds the read
 * lock (or is the writer). */
static const struct region *physmap_find(const struct physmap *map, int space, uint64_t addr)
{
	unsigned lo = 0, hi = map->n;
	/* find the last region with (space, base) <= (space, addr) */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (region_cmp(&map->regions[mid], space, addr) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct region *r = &map->regions[lo - 1];
	if (space_of(r->kind) != space || addr - r->base >= r->len)
		return NULL;
	return r;
}

static bool overlaps(const struct physmap *map, const struct region *n)
{
	int space = space_of(n->kind);
	for (unsigned i = 0; i < map->n; i++) {
		const struct region *r = &map->regions[i];
		if (space_of(r->kind) == space && r->base < n->base + n->len &&
		    n->base < r->base + r->len)
			return true;
	}
	return false;
}

static void free_after_grace(struct rcu_head *head)
{
	physmap_free(&caa_container_of(head, struct physmap_node, rcu)->map);
}

/* Publish a new snapshot; the old one is freed once every reader that
 * might see it has left its read section.  call_rcu rather than
 * synchronize_rcu: a writer may itself be a reader (a device remapping a
 * BAR from a vCPU's port write), and must not wait for itself. */
static void publish(struct machine *m, struct physmap *new_map)
{
	struct physmap *old = m->map;
	rcu_assign_pointer(m->map, new_map);
	urcu_memb_call_rcu(&caa_container_of(old, struct physmap_node, map)->rcu,
			   free_after_grace);
}

static int physmap_insert(struct machine *m, const struct region *n)
{
	if (n->len == 0 || n->base + n->len - 1 < n->base) {
		qvm_error("%s: empty or wrapping region 0x%llx+0x%llx", n->name,
			  (unsigned long long)n->base, (unsigned long long)n->len);
		return -1;
	}
	pthread_mutex_lock(&m->map_lock);
	struct physmap *old = m->map;
	if (overlaps(old, n)) {
		pthread_mutex_unlock(&m->map_lock);
		qvm_error("%s: region 0x%llx+0x%llx overlaps another", n->name,
			  (unsigned long long)n->base, (unsigned long long)n->len);
		return -1;
	}
	struct physmap *map = physmap_with_room(old->n + 1);
	if (!map) {
		pthread_mutex_unlock(&m->map_lock);
		return -1;
	}
	unsigned i = 0, j = 0;
	while (i < old->n && region_cmp(&old->regions[i], space_of(n->kind), n->base) < 0)
		map->regions[j++] = old->regions[i++];
	map->regions[j++] = *n;
	while (i < old->n)
		map->regions[j++] = old->regions[i++];
	map->n = j;
	publish(m, map);
	pthread_mutex_unlock(&m->map_lock);
	return 0;
}

int machine_add_pio(struct machine *m, uint16_t base, uint32_t len,
		    const struct io_ops *ops, void *opaque, const char *name)
{
	if ((uint32_t)base + len > 0x10000) {
		qvm_error("%s: port range 0x%x+0x%x past 0xffff", name, base, len);
		return -1;
	}
	struct region r = { .kind = REGION_PIO, .base = base, .len = len,
			    .name = name, .ops = ops, .opaque = opaque };
	return physmap_insert(m, &r);
}

int machine_add_mmio(struct machine *m, gpa_t base, uint64_t len,
		     const struct io_ops *ops, void *opaque, const char *name)
{
	struct region r = { .kind = REGION_MMIO, .base = base, .len = len,
			    .name = name, .ops = ops, .opaque = opaque };
	return physmap_insert(m, &r);
}

int machine_add_memory(struct machine *m, enum region_kind kind, gpa_t base,
		       uint64_t len, void *host, const char *name)
{
	struct region r = { .kind = kind, .base = base, .len = len,
			    .name = name, .host = host };
	if (physmap_insert(m, &r) < 0)
		return -1;
	/* other bytes answer at [base, base + len) now (a ROM over RAM) */
	machine_ram_written(m, base, len);
	if (m->accel && m->accel->ops->memory_changed)
		return m->accel->ops->memory_changed(m);
	return 0;
}

int machine_remove_region(struct machine *m, enum region_kind kind, gpa_t base)
{
	pthread_mutex_lock(&m->map_lock);
	struct physmap *old = m->map;
	int space = space_of(kind), found = -1;
	for (unsigned i = 0; i < old->n; i++)
		if (old->regions[i].kind == kind && region_cmp(&old->regions[i], space, base) == 0)
			found = i;
	if (found < 0) {
		pthread_mutex_unlock(&m->map_lock);
		return -1;
	}
	struct physmap *map = physmap_with_room(old->n);
	if (!map) {
		pthread_mutex_unlock(&m->map_lock);
		return -1;
	}
	for (unsigned i = 0; i < old->n; i++)
		if ((int)i != found)
			map->regions[map->n++] = old->regions[i];
	publish(m, map);
	pthread_mutex_unlock(&m->map_lock);
	if ((kind == REGION_RAM || kind == REGION_ROM) && m->accel &&
	    m->accel->ops->memory_changed)
		return m->accel->ops->memory_changed(m);
	return 0;
}

static bool dispatch(struct machine *m, int space, uint64_t addr, bool is_write,
		     uint64_t *value, unsigned size)
{
	bool hit = false;
	urcu_memb_read_lock();
	const struct physmap *map = rcu_dereference(m->map);
	const struct region *r = physmap_find(map, space, addr);
	if (r && (r->kind == REGION_PIO || r->kind == REGION_MMIO)) {
		hit = true;
		uint64_t off = addr - r->base;
		if (is_write) {
			if (r->ops->write)
				r->ops->write(r->opaque, off, *value, size);
		} else {
			*value = r->ops->read ? r->ops->read(r->opaque, off, size) : ~0ULL;
		}
	} else if (r && !is_write) {
		/* RAM/ROM reached through an MMIO exit (ROM write, engine
		 * without the slot): serve reads from memory */
		hit = true;
		*value = 0;
		memcpy(value, (uint8_t *)r->host + (addr - r->base),
		       MIN(size, r->len - (addr - r->base)));
	} else if (r) {
		hit = r->kind == REGION_ROM; /* writes to ROM are dropped */
	} else if (!is_write) {
		*value = ~0ULL;
	}
	urcu_memb_read_unlock();
	if (!is_write && size < 8)
		*value &= (1ULL << (size * 8)) - 1;
	return hit;
}

bool machine_pio(struct machine *m, uint16_t port, bool is_write, uint64_t *value, unsigned size)
{
	return dispatch(m, 1, port, is_write, value, size);
}

bool machine_mmio(struct machine *m, gpa_t addr, bool is_write, uint64_t *value, unsigned size)
{
	return dispatch(m, 0, addr, is_write, value, size);
}

void *gpa_lookup(struct machine *m, gpa_t gpa, uint64_t len, bool *writable)
{
	void *host = NULL;
	urcu_memb_read_lock();
	const struct region *r = physmap_find(rcu_dereference(m->map), 0, gpa);
	if (r && (r->kind == REGION_RAM || r->kind == REGION_ROM) &&
	    len <= r->len - (gpa - r->base)) {
		host = (uint8_t *)r->host + (gpa - r->base);
		if (writable)
			*writable = r->kind == REGION_RAM;
	}
	urcu_memb_read_unlock();
	return host;
}

void *gpa_to_host(struct machine *m, gpa_t gpa, uint64_t len)
{
	return gpa_lookup(m, gpa, len, NULL);
}

/* The host's writes go through the one write path (memory.c), which
 * tells the listeners (TCG's decoded code, dirty logging). */
int guest_write(struct machine *m, gpa_t gpa, const void *src, uint64_t len)
{
	return machine_ram_write(m, gpa, src, len);
}

int guest_read(struct machine *m, gpa_t gpa, void *dst, uint64_t len)
{
	const void *p = gpa_to_host(m, gpa, len);
	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}
