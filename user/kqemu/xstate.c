/*
 * The XSAVE components beyond x87 and SSE (AVX, AVX-512, PKRU ...) that
 * guest user code uses on the host CPU, kept per guest address space.
 *
 * User code runs natively with the host's XCR0 and sees the host's CPUID
 * (no CPUID faulting), so a guest process uses AVX and AVX-512 where the
 * guest CPU model has none, and the guest kernel saves only the x87/SSE
 * state (in TCG) across its context switches.  One area per vCPU would
 * let every process on a vCPU clobber the others' YMM/ZMM upper halves,
 * ZMM16-31 and opmasks whenever the kernel preempts one in the middle of
 * vector code.  Until the guest CPU model offers these components and the
 * guest kernel saves them itself (issue 13, item 4), the engine keeps
 * them per CR3, machine-wide, so that a process finds its own wherever
 * it runs.  Threads of one process share one area: they can still
 * clobber each other's (the limit of this stopgap).
 */
#include <stdlib.h>
#include <string.h>
#include "engine.h"

#define XSAVE_EXT 512           /* the legacy region ends here */
#define XSTATE_BV_OFF 512

struct kq_xstate_slot {
	uint64_t cr3;
	uint64_t used;          /* LRU clock; 0: free */
	uint8_t area[KQEMU_XSAVE_MAX - XSAVE_EXT];
};

static uint64_t key(uint64_t cr3)
{
	return cr3 & ~0xfffULL;
}

int kq_xstate_init(struct kq_engine *e)
{
	e->xstates = calloc(KQ_XSTATE_SLOTS, sizeof(*e->xstates));
	return e->xstates ? 0 : -1;
}

void kq_xstate_free(struct kq_engine *e)
{
	free(e->xstates);
	e->xstates = NULL;
}

static struct kq_xstate_slot *find(struct kq_engine *e, uint64_t cr3)
{
	for (unsigned i = 0; i < KQ_XSTATE_SLOTS; i++)
		if (e->xstates[i].used && e->xstates[i].cr3 == cr3)
			return &e->xstates[i];
	return NULL;
}

void kq_xstate_load(struct kq_engine *e, uint64_t cr3, uint8_t *xsave, uint32_t size)
{
	if (!e->xstates || size <= XSAVE_EXT)
		return;
	pthread_mutex_lock(&e->lock);
	struct kq_xstate_slot *s = find(e, key(cr3));
	if (s) {
		s->used = ++e->xstate_clock;
		memcpy(xsave + XSAVE_EXT, s->area, size - XSAVE_EXT);
	} else {
		/* a new address space: every extended component in its
		 * initial state (XSTATE_BV clear, SDM Vol. 1, 13.6) */
		memset(xsave + XSAVE_EXT, 0, size - XSAVE_EXT);
	}
	pthread_mutex_unlock(&e->lock);
}

void kq_xstate_save(struct kq_engine *e, uint64_t cr3, const uint8_t *xsave, uint32_t size)
{
	if (!e->xstates || size <= XSAVE_EXT)
		return;
	pthread_mutex_lock(&e->lock);
	struct kq_xstate_slot *s = find(e, key(cr3));
	if (!s) {
		s = &e->xstates[0];
		for (unsigned i = 1; i < KQ_XSTATE_SLOTS && s->used; i++)
			if (e->xstates[i].used < s->used)
				s = &e->xstates[i];
		s->cr3 = key(cr3);
	}
	s->used = ++e->xstate_clock;
	memcpy(s->area, xsave + XSAVE_EXT, size - XSAVE_EXT);
	pthread_mutex_unlock(&e->lock);
}
