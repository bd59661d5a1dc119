/*
 * The exits of native execution (kqemu.h's classes) and the mapping
 * requests that follow from them.
 *
 *   EXCEPTION  delivered through the guest's IDT by TCG (#PF with CR2)
 *   SOFTMMU    the instruction runs in TCG, which does what the guest
 *              CPU would (I/O, CLI, HLT, INT n, #GP ...)
 *   SYSCALL    the same, rip backed up over the 2-byte instruction
 *   PAGE       the guest's page tables say: a #PF for the guest, a page
 *              of RAM to map, or something else (MMIO, ROM, the LAPIC
 *              page) that TCG accesses for the instruction
 *   SIGNAL     nothing: the loop polls interrupts and pauses
 *   ERROR      the backend is dropped; TCG goes on alone
 */
#include <stdio.h>
#include "engine.h"
#include "accel.h"
#include "hw/apic.h"
#include "physmap.h"

/* The next instruction (and the user code until tcg_blocks_after_exit
 * blocks pass without a kernel entry) in TCG. */
static int to_tcg(struct kq_vcpu *kv)
{
	kv->c->kqemu_one = true;
	kv->c->kqemu_blocks = kv->e->tcg_blocks_after_exit;
	return VCPU_EXIT_AGAIN;
}

static int exception_exit(struct kq_vcpu *kv, const struct kqemu_run *run)
{
	struct tcg_cpu *c = kv->c;
	if (run->vector > 31) {
		kq_backend_failed(kv, "exception exit with a vector above 31");
		return VCPU_EXIT_AGAIN;
	}
	if (run->vector == EXC_PF)
		c->s.cr2 = run->fault_addr;
	c->kqemu_blocks = kv->e->tcg_blocks_after_exit;
	return tcg_deliver_event(c, run->vector, run->error_code, INT_EXCEPTION, c->s.rip);
}

/* Guest RAM's offset in the RAM file for guest-physical page phys, or -1
 * for anything else (ROM, MMIO, the LAPIC page); *writable: not ROM. */
static int64_t ram_offset(struct kq_vcpu *kv, uint64_t phys, bool *writable)
{
	struct tcg_cpu *c = kv->c;
	const struct kqemu_ram *ram = &kv->e->ram;
	if (c->lapic && lapic_mmio_hit(c->lapic, phys))
		return -1;
	uint8_t *host = gpa_lookup(kv->e->m, phys, 4096, writable);
	uint8_t *base = ram->host;
	if (!host || host < base || host - base > (int64_t)(ram->size - 4096))
		return -1;
	return host - base;
}

/* Queue lin's mapping for the next entry (lock held); false when the
 * table or the request is full (everything is flushed: the caller's
 * access faults again and maps into the empty table). */
static bool queue_map(struct kq_vcpu *kv, uint64_t lin, uint64_t phys, uint32_t prot,
		      unsigned shift)
{
	struct kq_ctx *x = kq_cur(kv);
	if (x->nr_map == KQEMU_MAX_MAPS || !kq_maps_set(&x->maps, lin, phys, prot, shift)) {
		kq_count(&kv->st.full_flushes, 1);
		kq_ctx_flush(kv, x);
		x->flush_all = true;
		if (!kq_maps_set(&x->maps, lin, phys, prot, shift))
			return false;
	}
	if (prot & KQEMU_PROT_WRITE)
		kq_ctx_note_writable(x, phys);
	x->map_lin[x->nr_map++] = lin & TLB_PAGE_MASK;
	return true;
}

/* Is lin a page the backend may map (its user range, not its hole)? */
static bool backend_may_map(const struct kq_vcpu *kv, uint64_t lin)
{
	const struct kqemu_backend_info *in = &kv->e->info;
	if (!kv->e->have_info)
		return true;
	return lin >= in->user_start && lin < in->user_end &&
	       !(lin >= in->hole_start && lin < in->hole_end);
}

/* Fault-around: the other pages of lin's aligned window that the guest
 * maps and has accessed already (A set: mapping them natively changes
 * nothing the guest can see; writable only with D set) go with it, the
 * nearest first, as many as one request carries, which saves an exit per
 * page that code walking through memory would take.  Linux makes its
 * PTEs with A set (x86's protections include it), also those its own
 * fault-around maps.  Lock held. */
/* Map page a as a walk that writes nothing gives it: 1 when mapped, 0
 * when not (mapped already, not present or accessed, not RAM), -1 when
 * the request or the table has no room. */
static int map_one_around(struct kq_vcpu *kv, struct kq_ctx *x, uint64_t a)
{
	if (kq_maps_find(&x->maps, a))
		return 0;
	if (x->nr_map >= KQEMU_MAX_MAPS - 1 || x->maps.n >= KQ_MAPS_MAX - 1)
		return -1;
	struct tcg_user_page pg;
	bool ram_writable = false;
	if (!backend_may_map(kv, a) || !tcg_peek_user(kv->c, a, &pg) ||
	    ram_offset(kv, pg.phys, &ram_writable) < 0)
		return 0;
	uint32_t prot = KQEMU_PROT_READ | (pg.exec ? KQEMU_PROT_EXEC : 0);
	if (pg.writable && ram_writable && !tcg_page_has_code(pg.phys))
		prot |= KQEMU_PROT_WRITE;
	if (!kq_maps_set(&x->maps, a, pg.phys, prot, pg.shift))
		return -1;
	if (prot & KQEMU_PROT_WRITE)
		kq_ctx_note_writable(x, pg.phys);
	x->map_lin[x->nr_map++] = a;
	return 1;
}

/* map_one_around for a neighbour: false when there is no more room */
static bool map_neighbour(struct kq_vcpu *kv, struct kq_ctx *x, uint64_t a)
{
	int r = map_one_around(kv, x, a);
	if (r > 0)
		kq_count(&kv->st.prefaults, 1);
	return r >= 0;
}

static void map_around(struct kq_vcpu *kv, uint64_t lin)
{
	struct kq_ctx *x = kq_cur(kv);
	const uint64_t span = kv->e->around_pages * 4096ULL;
	uint64_t page = lin & TLB_PAGE_MASK, first = lin & ~(span - 1);
	for (uint64_t d = 4096; d < span; d += 4096) {
		if (page + d < first + span && !map_neighbour(kv, x, page + d))
			return;
		if (page >= first + d && !map_neighbour(kv, x, page - d))
			return;
	}
}

/* The guest's #PF handler has run (the next native entry after it):
 * the page it made present would come back as a PAGE exit at once, so it
 * is mapped now, as a walk finds it (A set, D for writable: Linux sets
 * both for the access that faulted), with its neighbours. */
void kq_premap(struct kq_vcpu *kv)
{
	if (!kv->premap || kv->premap_ctx != kv->cur)
		return;
	kv->premap = false;
	if (map_one_around(kv, kq_cur(kv), kv->premap_lin) <= 0)
		return;         /* not present, not RAM, mapped already, no room */
	kq_count(&kv->st.premaps, 1);
	map_around(kv, kv->premap_lin);
}

static enum access access_of(uint32_t a)
{
	return a == KQEMU_ACC_WRITE ? ACC_WRITE : a == KQEMU_ACC_EXEC ? ACC_CODE : ACC_READ;
}

static int page_exit(struct kq_vcpu *kv, const struct kqemu_run *run)
{
	struct tcg_cpu *c = kv->c;
	uint64_t lin = run->fault_addr;
	enum access acc = access_of(run->fault_access);
	struct tcg_user_page pg;
	uint32_t err;
	if (!tcg_walk_user(c, lin, acc, &pg, &err)) {
		kq_count(&kv->st.pf_delivered, 1);
		pthread_mutex_lock(&kv->lock);
		kv->premap = true;
		kv->premap_ctx = kv->cur;
		kv->premap_lin = lin & TLB_PAGE_MASK;
		pthread_mutex_unlock(&kv->lock);
		c->s.cr2 = lin;
		c->kqemu_blocks = kv->e->tcg_blocks_after_exit;
		return tcg_deliver_event(c, EXC_PF, err, INT_EXCEPTION, c->s.rip);
	}
	bool ram_writable = false;
	int64_t off = ram_offset(kv, pg.phys, &ram_writable);
	bool outside = !backend_may_map(kv, lin);
	if (off < 0 || outside || (acc == ACC_WRITE && !ram_writable)) {
		kq_count(&kv->st.not_ram, 1);
		return to_tcg(kv);
	}
	uint32_t prot = KQEMU_PROT_READ | (pg.exec ? KQEMU_PROT_EXEC : 0);
	bool want_write = pg.writable && ram_writable;
	if (want_write && tcg_page_has_code(pg.phys)) {
		if (acc == ACC_WRITE) {
			/* the write the guest makes to its code: TCG forgets
			 * the blocks, then the page is writable natively */
			kq_count(&kv->st.code_writes, 1);
			tcg_code_written(pg.phys, 4096);
		} else {
			want_write = false;     /* the first write comes back */
		}
	}
	pthread_mutex_lock(&kv->lock);
	if (want_write)
		prot |= KQEMU_PROT_WRITE;
	bool ok = queue_map(kv, lin, pg.phys, prot, pg.shift);
	if (ok)
		map_around(kv, lin);
	/* a decoder that marked the page meanwhile found no entry to strip
	 * (we had none yet) or strips it after us (kq_code_marked) */
	if (ok && want_write && tcg_page_has_code(pg.phys)) {
		struct kq_map_entry *e = kq_maps_find(&kq_cur(kv)->maps, lin);
		if (e)
			e->prot &= ~KQEMU_PROT_WRITE;
	}
	pthread_mutex_unlock(&kv->lock);
	return ok ? VCPU_EXIT_AGAIN : to_tcg(kv);
}

/* Would a walk now give e's mapping (the same page, at least e's
 * permissions, A and for a writable one D set already)? */
static bool still_mapped(struct kq_vcpu *kv, const struct kq_map_entry *e)
{
	struct tcg_user_page pg;
	if (!tcg_peek_user(kv->c, e->lin, &pg) || pg.phys != e->phys || pg.shift != e->shift)
		return false;
	if ((e->prot & KQEMU_PROT_EXEC) && !pg.exec)
		return false;
	if (!(e->prot & KQEMU_PROT_WRITE))
		return true;
	bool ram_writable = false;
	return pg.writable && ram_offset(kv, pg.phys, &ram_writable) >= 0 && ram_writable &&
	       !tcg_page_has_code(pg.phys);
}

void kq_ctx_revalidate(struct kq_vcpu *kv, struct kq_ctx *x)
{
	uint64_t stale[KQEMU_MAX_UNMAPS];
	unsigned room = KQEMU_MAX_UNMAPS - x->nr_unmap, n = 0;
	x->revalidate = false;
	kq_count(&kv->st.revalidations, 1);
	unsigned seen = 0;
	for (unsigned i = 0; i < x->maps.slots && seen < x->maps.n; i++) {
		const struct kq_map_entry *e = &x->maps.e[i];
		if (!e->used)
			continue;
		seen++;
		if (still_mapped(kv, e))
			continue;
		if (n == room || x->flush_all) {
			/* too many for one request (or a flush pending
			 * anyway): all of them go */
			kq_count(&kv->st.reval_dropped, x->maps.n);
			kq_ctx_flush(kv, x);
			return;
		}
		stale[n++] = e->lin;
	}
	kq_count(&kv->st.reval_kept, x->maps.n - n);
	kq_count(&kv->st.reval_dropped, n);
	for (unsigned i = 0; i < n; i++) {
		kq_maps_remove(&x->maps, stale[i]);
		kq_ctx_queue_unmap(kv, x, stale[i]);
	}
}

void kq_fill_requests(struct kq_vcpu *kv, struct kqemu_run *run)
{
	struct kq_ctx *x = kq_cur(kv);
	run->context = (uint16_t)(kv->nr_ctx > 1 ? kv->cur : 0);
	run->flush_all = x->flush_all;
	run->nr_unmap = x->nr_unmap;
	for (unsigned i = 0; i < x->nr_unmap; i++)
		run->unmap[i] = x->unmap[i];
	unsigned n = 0;
	for (unsigned i = 0; i < x->nr_map; i++) {
		/* the entry as it is now: a flush or a code mark since the
		 * exit may have dropped it or its write permission */
		const struct kq_map_entry *e = kq_maps_find(&x->maps, x->map_lin[i]);
		if (!e)
			continue;
		bool w = false;
		int64_t off = ram_offset(kv, e->phys, &w);
		if (off < 0)
			continue;
		run->map[n++] = (struct kqemu_map){ .lin = e->lin, .ram_offset = (uint64_t)off,
						    .prot = e->prot };
	}
	run->nr_map = n;
	kq_count(&kv->st.maps, n);
	kq_count(&kv->st.unmaps, x->nr_unmap);
	kq_count(&kv->st.flushes, x->flush_all);
	x->flush_all = false;
	x->nr_unmap = x->nr_map = 0;
}

int kq_handle_exit(struct kq_vcpu *kv, struct kqemu_run *run)
{
	struct tcg_cpu *c = kv->c;
	switch (run->exit_class) {
	case KQEMU_EXIT_EXCEPTION:
		return exception_exit(kv, run);
	case KQEMU_EXIT_SOFTMMU:
		return to_tcg(kv);
	case KQEMU_EXIT_SYSCALL:
		c->s.rip -= 2;  /* SYSCALL, SYSENTER, INT 0x80: 2 bytes each */
		return to_tcg(kv);
	case KQEMU_EXIT_PAGE:
		return page_exit(kv, run);
	case KQEMU_EXIT_SIGNAL:
		return VCPU_EXIT_AGAIN;
	case KQEMU_EXIT_ERROR:
		kq_backend_failed(kv, run->message[0] ? run->message : "unknown error");
		return VCPU_EXIT_AGAIN;
	default:
		kq_backend_failed(kv, "unknown exit class");
		return VCPU_EXIT_AGAIN;
	}
}
