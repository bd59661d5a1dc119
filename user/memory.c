/*
 * The host side's write path into guest RAM and its listeners (see
 * memory.h).  The listeners are an immutable array published with RCU,
 * like the physical map: a notification is a read section and a loop, no
 * lock; (un)registering copies the array under map_lock and publishes the
 * copy.
 */
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "rcu.h"

struct ram_listeners {
	struct rcu_head rcu;
	unsigned n;
	struct ram_listener *l[];
};

static void free_after_grace(struct rcu_head *head)
{
	free(caa_container_of(head, struct ram_listeners, rcu));
}

/* A copy of old (may be NULL) with room for one more; NULL when memory
 * runs out. */
static struct ram_listeners *copy_with_room(const struct ram_listeners *old)
{
	unsigned n = old ? old->n : 0;
	struct ram_listeners *ls = calloc(1, sizeof(*ls) + (n + 1) * sizeof(ls->l[0]));
	if (!ls)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		ls->l[ls->n++] = old->l[i];
	return ls;
}

int machine_ram_listen(struct machine *m, struct ram_listener *l)
{
	pthread_mutex_lock(&m->map_lock);
	struct ram_listeners *old = m->ram_listeners, *ls = copy_with_room(old);
	if (!ls) {
		pthread_mutex_unlock(&m->map_lock);
		qvm_error("out of memory");
		return -1;
	}
	ls->l[ls->n++] = l;
	rcu_assign_pointer(m->ram_listeners, ls);
	if (old)
		urcu_memb_call_rcu(&old->rcu, free_after_grace);
	pthread_mutex_unlock(&m->map_lock);
	return 0;
}

void machine_ram_unlisten(struct machine *m, struct ram_listener *l)
{
	pthread_mutex_lock(&m->map_lock);
	struct ram_listeners *old = m->ram_listeners, *ls = NULL;
	bool found = false;
	for (unsigned i = 0; old && i < old->n; i++)
		found |= old->l[i] == l;
	if (found && old->n > 1) {
		/* room for n entries; l is left out */
		ls = calloc(1, sizeof(*ls) + old->n * sizeof(ls->l[0]));
		if (!ls)
			qvm_die("out of memory");
		for (unsigned i = 0; i < old->n; i++)
			if (old->l[i] != l)
				ls->l[ls->n++] = old->l[i];
	}
	if (found)
		rcu_assign_pointer(m->ram_listeners, ls);
	pthread_mutex_unlock(&m->map_lock);
	if (!found)
		return;
	/* wait until no notification can still be using old (and so l) */
	urcu_memb_synchronize_rcu();
	free(old);
}

void machine_ram_listeners_free(struct machine *m)
{
	free(m->ram_listeners);
	m->ram_listeners = NULL;
}

void machine_ram_written(struct machine *m, gpa_t gpa, uint64_t len)
{
	if (!len)
		return;
	urcu_memb_read_lock();
	struct ram_listeners *ls = rcu_dereference(m->ram_listeners);
	for (unsigned i = 0; ls && i < ls->n; i++)
		ls->l[i]->written(ls->l[i], gpa, len);
	urcu_memb_read_unlock();
}

int machine_ram_write(struct machine *m, gpa_t gpa, const void *src, uint64_t len)
{
	void *p = gpa_to_host(m, gpa, len);
	if (!p)
		return -1;
	memcpy(p, src, len);
	machine_ram_written(m, gpa, len);
	return 0;
}

int machine_ram_fill(struct machine *m, gpa_t gpa, int byte, uint64_t len)
{
	void *p = gpa_to_host(m, gpa, len);
	if (!p)
		return -1;
	memset(p, byte, len);
	machine_ram_written(m, gpa, len);
	return 0;
}
