/*
 * The one write path into guest RAM from the host side.
 *
 * Whatever qvm itself writes into guest memory -- the loaders (at start
 * and again at every reset), the firmware tables, guest_write(), virtio
 * DMA, later the monitor and loadvm -- goes through machine_ram_write()
 * (a copy) or, when the bytes were put in place some other way (a
 * structure built in place, an iovec filled by the block layer),
 * machine_ram_written() once they are there.  Both tell every registered
 * ram_listener which guest-physical range changed:
 *
 *   - TCG drops the blocks it decoded from those pages (tcg.c);
 *   - later, dirty logging for migration marks the pages, and kqemu
 *     re-protects what it write-protects.
 *
 * Guest stores made by an engine (TCG's store path, KVM's hardware) are
 * not reported here: each engine tracks its own (tcg: mmu.c's code-page
 * map; kvm: the dirty log).
 */
#ifndef QVM_MEMORY_H
#define QVM_MEMORY_H

#include "qvm.h"

struct machine;

struct ram_listener {
	/* [gpa, gpa + len) changed; len > 0.  Called on the writer's thread
	 * (main, vCPU, ...), possibly with a device lock held and beside
	 * other calls: quick, never blocking, taking no lock a writer may
	 * hold, never (un)registering a listener. */
	void (*written)(struct ram_listener *l, gpa_t gpa, uint64_t len);
};

/* Register l with m (the same l may listen to several machines), from
 * any thread but a listener's callback.  0, or -1 when memory runs out. */
int machine_ram_listen(struct machine *m, struct ram_listener *l);
/* Unregister l; on return no thread is still inside l->written() for m,
 * so l may be freed.  It waits for an RCU grace period: call it outside
 * any read section (the main thread; not a callback, not a device's I/O
 * handler).  A no-op for an l that is not registered. */
void machine_ram_unlisten(struct machine *m, struct ram_listener *l);
/* machine_free(): drop what is left. */
void machine_ram_listeners_free(struct machine *m);

/* Copy len bytes into guest memory at gpa (RAM, or ROM contents as a
 * loader sets them), then notify.  -1, writing and notifying nothing,
 * when any byte is outside one RAM/ROM region. */
int machine_ram_write(struct machine *m, gpa_t gpa, const void *src, uint64_t len);
/* The same with len copies of byte (a loader's bss, a zeroed table). */
int machine_ram_fill(struct machine *m, gpa_t gpa, int byte, uint64_t len);
/* The bytes of [gpa, gpa + len) were already written in place: notify.
 * Call it after the last byte is there, before the guest can learn that
 * it is (a used-ring entry, an interrupt, the vCPU resumed).  Any
 * thread registered with rcu_thread_online(); lock-free. */
void machine_ram_written(struct machine *m, gpa_t gpa, uint64_t len);

#endif
