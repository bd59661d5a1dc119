/*
 * The kqemu engine (-accel kqemu): TCG, with the JIT, plus a backend that
 * runs guest user code natively on the host CPU (kqemu.h).
 *
 * Every vCPU is a TCG vCPU.  Its loop (kq_vcpu_run): when the native rule
 * holds (rule.c), hand the state to the backend, run, take the exit
 * (exits.c); else run TCG, which comes back at a block boundary once the
 * guest is at CPL 3 again (tcg_kqemu_leave in tcg.h).  A CPL 3 stretch
 * the rule refuses stays in TCG until the CPL changes (kqemu_declined).
 *
 * What the backend maps follows TCG's TLB: every flush TCG makes (CR3,
 * CR0, CR4, INVLPG, a new state) unmaps for the next entry, and a page
 * TCG starts decoding loses its writable native mappings, so that writes
 * to code come back as PAGE exits and invalidate TCG's blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include "engine.h"
#include "log.h"
#include "tcg/xsave.h"
#include "accel.h"
#include "hw/apic.h"
#include "mainloop.h"
#include "physmap.h"

static struct kq_engine *engine_of(struct machine *m)
{
	return m->accel ? m->accel->kqemu : NULL;
}

static struct kq_vcpu *kv_of(struct vcpu *v)
{
	struct tcg_cpu *c = tcg_cpu_of(v);
	return c ? c->kqemu : NULL;
}

/* ------------------------------------------------------------------ */
/* Hooks from TCG                                                      */

/* TCG flushed its TLB (vCPU thread, or the main thread with the vCPU
 * paused): the backend's mappings go as the architecture says
 * (contexts.c). */
static void kq_tlb_flushed(struct tcg_cpu *c, unsigned what, uint64_t pcid, uint64_t lin)
{
	struct kq_vcpu *kv = c->kqemu;
	pthread_mutex_lock(&kv->lock);
	kq_ctx_tlb_flushed(kv, what, pcid, lin);
	pthread_mutex_unlock(&kv->lock);
}

/* A decoder (any thread) marked phys_page as code: a writable native
 * mapping of it must go before this vCPU runs on natively (the unmap at
 * its next entry; a later access maps the page read-only).  When the
 * vCPU runs natively now, it is kicked out, and TCG forgets the page's
 * blocks after that run, which may have written the page meanwhile. */
static void kq_code_marked(struct tcg_cpu *c, uint64_t phys_page)
{
	struct kq_vcpu *kv = c->kqemu;
	pthread_mutex_lock(&kv->lock);
	bool kick = kq_ctx_strip_writes(kv, phys_page);
	pthread_mutex_unlock(&kv->lock);
	void *b = __atomic_load_n(&kv->b, __ATOMIC_ACQUIRE);
	if (kick && b)
		kv->e->ops->kick(b);
}

/* ------------------------------------------------------------------ */
/* The vCPU                                                            */

/* XCR0 as the host kernel set it for every process (CPUID.1:ECX.OSXSAVE
 * says XGETBV may run; SDM Vol. 1, 13.3); x87 alone without it. */
uint64_t kq_host_xcr0(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 27)))
		return 1;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

struct kq_vcpu *kq_vcpu_new(struct kq_engine *e, struct tcg_cpu *c)
{
	struct kq_vcpu *kv = aligned_alloc(64, (sizeof(*kv) + 63) & ~(size_t)63);
	struct kqemu_run *run = aligned_alloc(64, (sizeof(*run) + 63) & ~(size_t)63);
	if (!kv || !run) {
		free(kv);
		free(run);
		return NULL;
	}
	memset(kv, 0, sizeof(*kv));
	memset(run, 0, sizeof(*run));
	kv->e = e;
	kv->c = c;
	kv->run = run;
	kv->nr_ctx = 1;
	pthread_mutex_init(&kv->lock, NULL);
	/* the guest CPU offers the XSAVE components user code gets from the
	 * host (state.c says why), but PKRU: the host's page tables carry
	 * no guest protection keys, so natively run user code could not
	 * honour them; without PKRU the guest has no PKU (tcg/README.md) */
	uint64_t offer = (kq_host_xcr0() & XSAVE_SUPPORTED & ~XCR0_PKRU) | XCR0_X87 | XCR0_SSE;
	if (tcg_xsave_offer(c, offer) < 0)
		qvm_log(LOG_UNIMP, "kqemu: XSAVE components %#llx not offered to the guest",
			(unsigned long long)offer);
	c->kqemu = kv;
	c->kqemu_blocks_refill = e->tcg_blocks_after_exit;
	c->kqemu_tlb_flushed = kq_tlb_flushed;
	c->kqemu_code_marked = kq_code_marked;
	return kv;
}

int kq_vcpu_open(struct kq_vcpu *kv)
{
	struct kq_engine *e = kv->e;
	char err[256] = "";
	kv->b = e->ops->open(&e->ram, err, sizeof(err));
	if (!kv->b) {
		qvm_error("kqemu: backend %s: %s", e->ops->name, err[0] ? err : "cannot open");
		return -1;
	}
	pthread_mutex_lock(&e->lock);
	if (!e->have_info) {
		e->ops->get_info(kv->b, &e->info);
		e->have_info = true;
		if (e->info.version >> 16 != KQEMU_VERSION_MAJOR) {
			pthread_mutex_unlock(&e->lock);
			qvm_error("kqemu: backend %s speaks version %u.%u, the engine %u.%u",
				  e->ops->name, e->info.version >> 16, e->info.version & 0xffff,
				  KQEMU_VERSION_MAJOR, KQEMU_VERSION_MINOR);
			e->ops->close(kv->b);
			kv->b = NULL;
			return -1;
		}
	}
	pthread_mutex_unlock(&e->lock);
	kv->c->kqemu_exit_on_user = true;
	/* a fresh instance maps nothing; one context per address space
	 * when it keeps them, 16 (8 from a backend of minor 2);
	 * QVM_KQEMU_CONTEXTS=1..16 sets fewer, for comparisons */
	unsigned n = 1;
	if (e->info.flags & KQEMU_INFO_CONTEXTS)
		n = (e->info.version & 0xffff) >= 3 ? KQEMU_CONTEXTS : KQEMU_CONTEXTS_1_2;
	const char *want = getenv("QVM_KQEMU_CONTEXTS");
	if (want && atoi(want) >= 1 && (unsigned)atoi(want) < n)
		n = (unsigned)atoi(want);
	pthread_mutex_lock(&kv->lock);
	for (unsigned i = 0; i < KQEMU_CONTEXTS; i++)
		kq_maps_clear(&kv->ctx[i].maps);
	memset(kv->ctx, 0, sizeof(kv->ctx));
	kv->nr_ctx = n;
	kv->cur = 0;
	pthread_mutex_unlock(&kv->lock);
	return 0;
}

void kq_vcpu_free(struct kq_vcpu *kv)
{
	if (!kv)
		return;
	if (kv->b)
		kv->e->ops->close(kv->b);
	if (kv->b_failed)
		kv->e->ops->close(kv->b_failed);
	kv->c->kqemu = NULL;
	kv->c->kqemu_exit_on_user = false;
	kv->c->kqemu_tlb_flushed = NULL;
	kv->c->kqemu_code_marked = NULL;
	for (unsigned i = 0; i < KQEMU_CONTEXTS; i++)
		kq_maps_clear(&kv->ctx[i].maps);
	pthread_mutex_destroy(&kv->lock);
	free(kv->run);
	free(kv);
}

void kq_backend_failed(struct kq_vcpu *kv, const char *why)
{
	struct kq_engine *e = kv->e;
	pthread_mutex_lock(&e->lock);
	bool first = !e->broken;
	e->broken = true;
	pthread_mutex_unlock(&e->lock);
	if (first)
		fprintf(stderr, "qvm: kqemu: backend %s failed: %s; going on in TCG alone\n",
			e->ops->name, why);
	kv->c->kqemu_exit_on_user = false;
	kv->c->kqemu_stretch = false;
	/* closed with the vCPU (kq_vcpu_free): a kick from another thread
	 * may still hold the pointer */
	if (kv->b && !kv->b_failed)
		kv->b_failed = kv->b;
	__atomic_store_n(&kv->b, NULL, __ATOMIC_RELEASE);
}

static uint64_t read_pte(void *opaque, uint64_t pa)
{
	struct machine *m = opaque;
	uint64_t *p = gpa_to_host(m, pa, 8);
	return p ? __atomic_load_n(p, __ATOMIC_RELAXED) : 0;
}

/* Native RDTSC reads the host's TSC; TCG's guest TSC is host + offset.
 * A backend that cannot trap RDTSC (KQEMU_INFO_TSC_TRAP) runs only a
 * guest whose offset is 0: an offset below 0 (the guest's TSC behind the
 * host's, as a state set after reset or a load leaves it) is dropped, the
 * guest's TSC leaping forward once as after a pause; one above 0 (it
 * would go backwards) or CR4.TSD keeps the guest in TCG. */
static enum kq_stay tsc_rule(struct kq_vcpu *kv)
{
	struct tcg_cpu *c = kv->c;
	if (!kv->e->have_info || (kv->e->info.flags & KQEMU_INFO_TSC_TRAP))
		return KQ_STAY_NONE;
	if (c->s.cr4 & CR4_TSD)
		return KQ_STAY_TSC;
	if (!c->tsc_offset)
		return KQ_STAY_NONE;
	if ((int64_t)c->tsc_offset > 0)
		return KQ_STAY_TSC;
	c->tsc_offset = 0;
	kq_count(&kv->st.tsc_catchups, 1);
	return KQ_STAY_NONE;
}

enum kq_stay kq_rule(struct kq_vcpu *kv)
{
	struct tcg_cpu *c = kv->c;
	enum kq_stay why = kq_rule_cpu(c);
	if (why != KQ_STAY_NONE)
		return why;
	if (c->lapic && lapic_events(c->lapic))
		return KQ_STAY_EVENT;
	why = tsc_rule(kv);
	if (why != KQ_STAY_NONE)
		return why;
	const struct kqemu_backend_info *in = &kv->e->info;
	if (kv->e->have_info && in->hole_start < in->hole_end &&
	    kq_hole_mapped(c->s.cr3, in->hole_start, in->hole_end, read_pte, kv->e->m))
		return KQ_STAY_HOLE;
	return KQ_STAY_NONE;
}

/* Pages marked as code while mapped writable here: the run that just
 * ended may have written them, so TCG's blocks from them go. */
static void invalidate_code(struct kq_vcpu *kv)
{
	uint64_t pages[KQEMU_MAX_UNMAPS];
	pthread_mutex_lock(&kv->lock);
	unsigned n = kv->nr_code;
	bool all = kv->code_all;
	for (unsigned i = 0; i < n; i++)
		pages[i] = kv->code[i];
	kv->nr_code = 0;
	kv->code_all = false;
	pthread_mutex_unlock(&kv->lock);
	/* outside the lock: it takes TCG's registry lock, which the marker
	 * holds while it takes ours */
	if (all)
		tcg_code_written(0, kv->e->ram.size);   /* rare: everything */
	for (unsigned i = 0; i < n && !all; i++)
		tcg_code_written(pages[i], 4096);
}

static const char *const exit_names[KQEMU_EXIT_NR] = {
	[KQEMU_EXIT_NONE] = "none", [KQEMU_EXIT_EXCEPTION] = "exception",
	[KQEMU_EXIT_SOFTMMU] = "softmmu", [KQEMU_EXIT_PAGE] = "page",
	[KQEMU_EXIT_SIGNAL] = "signal", [KQEMU_EXIT_SYSCALL] = "syscall",
	[KQEMU_EXIT_ERROR] = "error",
};

/* A SIGNAL exit may come before the backend applied the requests (the
 * process backend answers a kick that came before exec() at once):
 * they go again with the next entry, where applying them twice does no
 * harm.  Requests queued since come after them; a map goes with the
 * entry's protection as it is then (kq_fill_requests). */
static void requeue_requests(struct kq_vcpu *kv, const struct kqemu_run *run)
{
	pthread_mutex_lock(&kv->lock);
	struct kq_ctx *x = kq_cur(kv);  /* the context that was to run */
	if (run->flush_all && !x->flush_all) {
		/* the unmaps queued since are covered by it */
		x->flush_all = true;
		x->nr_unmap = 0;
	}
	for (unsigned i = 0; i < run->nr_unmap; i++)
		kq_ctx_queue_unmap(kv, x, run->unmap[i]);
	for (unsigned i = 0; i < run->nr_map && x->nr_map < KQEMU_MAX_MAPS; i++)
		x->map_lin[x->nr_map++] = run->map[i].lin;
	pthread_mutex_unlock(&kv->lock);
}

int kq_native(struct kq_vcpu *kv)
{
	struct kq_engine *e = kv->e;
	struct tcg_cpu *c = kv->c;
	struct kqemu_run *run = kv->run;
	/* a kick from now on makes exec() return at once (kqemu.h) */
	__atomic_store_n(&c->exit_request, 0, __ATOMIC_RELAXED);
	if (c->v)
		__atomic_store_n(&c->v->kicked, false, __ATOMIC_SEQ_CST);
	run->version = KQEMU_VERSION;
	kq_state_out(kv, &run->state);
	run->exit_class = KQEMU_EXIT_NONE;
	run->message[0] = 0;
	run->host_ns = 0;
	/* in_native under the lock with the requests taken: a code mark
	 * after this sees it (kq_code_marked) */
	pthread_mutex_lock(&kv->lock);
	kq_ctx_enter(kv, tcg_pcid(c), c->s.cr3 & KQ_CR3_ROOT);
	kq_premap(kv);
	kq_fill_requests(kv, run);
	kv->in_native = true;
	pthread_mutex_unlock(&kv->lock);
	uint64_t t0 = clock_ns();
	int r = e->ops->exec(kv->b, run);
	uint64_t t1 = clock_ns();
	pthread_mutex_lock(&kv->lock);
	kv->in_native = false;
	pthread_mutex_unlock(&kv->lock);
	uint64_t ns = run->host_ns ? run->host_ns : t1 - t0;
	kq_count(&kv->st.entries, 1);
	kq_count(&kv->st.native_ns, ns);
	if (r >= 0 && run->exit_class == KQEMU_EXIT_SYSCALL)
		kq_count(&kv->st.syscall_runs[ns < 50000 ? 0 : ns < 200000 ? 1 : 2], 1);
	invalidate_code(kv);
	if (r < 0) {
		run->message[sizeof(run->message) - 1] = 0;
		kq_backend_failed(kv, run->message[0] ? run->message : "exec failed");
		return VCPU_EXIT_AGAIN;
	}
	if (run->exit_class < KQEMU_EXIT_NR)
		kq_count(&kv->st.exits[run->exit_class], 1);
	if (run->exit_class == KQEMU_EXIT_SIGNAL)
		requeue_requests(kv, run);
	if (log_enabled(LOG_EXEC))
		qvm_log(LOG_EXEC, "cpu %u: kqemu exit %s at %#llx: vector %u error %#x addr %#llx "
			"access %u", c->v ? c->v->index : 0,
			run->exit_class < KQEMU_EXIT_NR ? exit_names[run->exit_class] : "?",
			(unsigned long long)run->state.rip, run->vector, (unsigned)run->error_code,
			(unsigned long long)run->fault_addr, run->fault_access);
	if (run->exit_class == KQEMU_EXIT_ERROR) {
		run->message[sizeof(run->message) - 1] = 0;
		return kq_handle_exit(kv, run);
	}
	kq_state_in(kv, &run->state);
	return kq_handle_exit(kv, run);
}

/* ------------------------------------------------------------------ */
/* The engine behind accel_ops: TCG's, with the native runs added      */

static bool kq_available(char *why, size_t why_len)
{
	return kq_backend_pick(why, why_len) != NULL;
}

static int kq_init(struct machine *m)
{
	char why[256] = "";
	const struct kqemu_backend_ops *ops = kq_backend_pick(why, sizeof(why));
	if (!ops) {
		qvm_error("-accel kqemu: %s", why);
		return -1;
	}
	struct kq_engine *e = calloc(1, sizeof(*e));
	if (!e) {
		qvm_error("kqemu: out of memory");
		return -1;
	}
	if (machine_ram_share(m) < 0) {
		free(e);
		return -1;
	}
	e->ops = ops;
	e->m = m;
	e->ram = (struct kqemu_ram){ .fd = m->ram_fd, .size = m->ram_size, .host = m->ram };
	/* After an exit into the guest's kernel (a system call, an
	 * exception, SOFTMMU), TCG runs the user code until 64 blocks
	 * pass at CPL 3 without a kernel entry, interpreted (README.md,
	 * "Exits": measured against 0, 16 and 256). */
	e->tcg_blocks_after_exit = KQ_BLOCKS_AFTER_EXIT;
	/* QVM_KQEMU_STRETCH=1..65536: another stretch, for comparisons */
	const char *stretch = getenv("QVM_KQEMU_STRETCH");
	if (stretch && atoi(stretch) >= 1 && atoi(stretch) <= 65536)
		e->tcg_blocks_after_exit = (unsigned)atoi(stretch);
	/* QVM_KQEMU_AROUND=1..64 (a power of two): another fault-around
	 * window, for comparisons (README.md, "Exits") */
	e->around_pages = KQ_AROUND_PAGES;
	const char *around = getenv("QVM_KQEMU_AROUND");
	if (around) {
		unsigned n = (unsigned)atoi(around);
		if (n >= 1 && n <= 64 && !(n & (n - 1)))
			e->around_pages = n;
	}
	pthread_mutex_init(&e->lock, NULL);
	m->accel->kqemu = e;
	qvm_log(LOG_ACCEL, "kqemu: backend %s", ops->name);
	return tcg_accel_ops.init(m);
}

static int kq_vcpu_init(struct vcpu *v)
{
	if (tcg_accel_ops.vcpu_init(v) < 0)
		return -1;
	if (!kq_vcpu_new(engine_of(v->m), tcg_cpu_of(v))) {
		qvm_error("cpu %u: out of memory", v->index);
		return -1;
	}
	return 0;
}

static int kq_vcpu_thread_init(struct vcpu *v)
{
	if (tcg_accel_ops.vcpu_thread_init(v) < 0)
		return -1;
	return kq_vcpu_open(kv_of(v));
}

static void kq_kick(struct vcpu *v)
{
	tcg_accel_ops.kick(v);
	struct kq_vcpu *kv = kv_of(v);
	void *b = kv ? __atomic_load_n(&kv->b, __ATOMIC_ACQUIRE) : NULL;
	if (b)
		kv->e->ops->kick(b);
}

int kq_run(struct kq_vcpu *kv, int (*tcg_run)(void *opaque), void *opaque)
{
	struct tcg_cpu *c = kv->c;
	if (kv->b) {
		enum kq_stay why = c->kqemu_one || c->kqemu_blocks ? KQ_STAY_AFTER_EXIT :
				   kq_rule(kv);
		if (why == KQ_STAY_NONE)
			return kq_native(kv);
		kq_count(&kv->st.stay[why], 1);
		if (why != KQ_STAY_AFTER_EXIT && tcg_cpl(c) == 3)
			c->kqemu_declined = true;
	}
	uint64_t t0 = clock_ns();
	c->kqemu_left = false;
	int r = tcg_run(opaque);
	kq_count(&kv->st.tcg_ns, clock_ns() - t0);
	if (c->kqemu_native) {
		c->kqemu_native = false;
		kq_count(&kv->st.handed_native, 1);
	}
	return r;
}

static int tcg_run_vcpu(void *v)
{
	return tcg_accel_ops.vcpu_run(v);
}

static enum vcpu_exit kq_vcpu_run(struct vcpu *v)
{
	return kq_run(kv_of(v), tcg_run_vcpu, v);
}

static void kq_vcpu_destroy(struct vcpu *v)
{
	kq_vcpu_free(kv_of(v));
	tcg_accel_ops.vcpu_destroy(v);
}

static void kq_destroy(struct machine *m)
{
	struct kq_engine *e = engine_of(m);
	tcg_accel_ops.destroy(m);
	if (e) {
		pthread_mutex_destroy(&e->lock);
		free(e);
		m->accel->kqemu = NULL;
	}
}

/* Pause, save, migration: a paused vCPU has left native execution (a
 * kick ends it), so the whole state is TCG's and goes through TCG's
 * save; every native write is in the RAM file already.  The mappings are
 * rebuilt on demand after a load (its new state flushes them). */

static void sum_stats(struct machine *m, struct kq_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct kq_vcpu *kv = m->vcpus[i] ? kv_of(m->vcpus[i]) : NULL;
		if (!kv)
			continue;
		const uint64_t *from = (const uint64_t *)&kv->st;
		uint64_t *to = (uint64_t *)sum;
		for (size_t k = 0; k < sizeof(*sum) / sizeof(uint64_t); k++)
			to[k] += __atomic_load_n(&from[k], __ATOMIC_RELAXED);
	}
}


static void kq_info_kqemu(struct machine *m, void (*print)(void *, const char *), void *opaque)
{
	struct kq_engine *e = engine_of(m);
	char line[512];
	if (!e) {
		print(opaque, "kqemu support: disabled\n");
		return;
	}
	snprintf(line, sizeof(line), "kqemu support: %s for user code\nbackend: %s, version %u.%u "
		 "(engine %u.%u)\ndescription: %s\n",
		 e->broken ? "failed, TCG alone now," : "enabled", e->ops->name,
		 e->info.version >> 16, e->info.version & 0xffff, KQEMU_VERSION_MAJOR,
		 KQEMU_VERSION_MINOR, e->have_info ? e->info.description : "(not opened yet)");
	print(opaque, line);
	struct kq_stats s;
	sum_stats(m, &s);
	snprintf(line, sizeof(line), "native entries: %llu\nexits:",
		 (unsigned long long)s.entries);
	print(opaque, line);
	for (int k = 1; k < KQEMU_EXIT_NR; k++) {
		snprintf(line, sizeof(line), " %s %llu", exit_names[k],
			 (unsigned long long)s.exits[k]);
		print(opaque, line);
	}
	snprintf(line, sizeof(line),
		 "\npage exits: %llu guest #PF (%llu of their pages mapped at the next entry), "
		 "%llu not RAM, %llu writes to code; %llu pages mapped around them\n"
		 "mapping requests: %llu maps, %llu unmaps, %llu flushes; %llu writable "
		 "mappings dropped for code; %llu TSC catch-ups; %llu instructions TCG handed back",
		 (unsigned long long)s.pf_delivered, (unsigned long long)s.premaps,
		 (unsigned long long)s.not_ram,
		 (unsigned long long)s.code_writes, (unsigned long long)s.prefaults, (unsigned long long)s.maps,
		 (unsigned long long)s.unmaps, (unsigned long long)s.flushes,
		 (unsigned long long)s.code_unmaps, (unsigned long long)s.tsc_catchups,
		 (unsigned long long)s.handed_native);
	print(opaque, line);
	struct kq_vcpu *kv0 = m->nr_vcpus && m->vcpus[0] ? kv_of(m->vcpus[0]) : NULL;
	snprintf(line, sizeof(line),
		 "\ncontexts: %u per vCPU (by page-table root and PCID); %llu switches, %llu CR3 "
		 "writes kept them, %llu found under another PCID; "
		 "flushed: %llu for their PCID, %llu all at once, %llu evicted, %llu full, "
		 "%llu for a large page; %llu walked again after a guest flush: "
		 "%llu pages kept, %llu dropped",
		 kv0 ? kv0->nr_ctx : 0, (unsigned long long)s.ctx_switches,
		 (unsigned long long)s.ctx_kept, (unsigned long long)s.ctx_retags,
		 (unsigned long long)s.ctx_flushes,
		 (unsigned long long)s.all_flushes, (unsigned long long)s.ctx_evictions,
		 (unsigned long long)s.full_flushes, (unsigned long long)s.large_flushes,
		 (unsigned long long)s.revalidations, (unsigned long long)s.reval_kept,
		 (unsigned long long)s.reval_dropped);
	print(opaque, line);
	print(opaque, "\nstayed in TCG:");
	for (int k = 1; k < KQ_STAY_NR; k++) {
		if (!s.stay[k])
			continue;
		snprintf(line, sizeof(line), " %s %llu;", kq_stay_name(k),
			 (unsigned long long)s.stay[k]);
		print(opaque, line);
	}
	snprintf(line, sizeof(line),
		 "\nnative runs ending in a system call: %llu under 50 us, %llu under 200 us, "
		 "%llu longer (hand-off included)"
		 "\ntime: %.3f s native, %.3f s in TCG (HLT waits included)\n",
		 (unsigned long long)s.syscall_runs[0], (unsigned long long)s.syscall_runs[1],
		 (unsigned long long)s.syscall_runs[2], s.native_ns / 1e9, s.tcg_ns / 1e9);
	print(opaque, line);
}

static void kq_info(struct machine *m, void (*print)(void *, const char *), void *opaque)
{
	struct kq_engine *e = engine_of(m);
	char line[256];
	snprintf(line, sizeof(line), "kqemu: TCG plus native user code through backend %s%s\n",
		 e ? e->ops->name : "?", e && e->broken ? " (failed: TCG alone)" : "");
	print(opaque, line);
	tcg_accel_ops.info(m, print, opaque);
}

/* The rest is TCG's as it is. */
static int kq_memory_changed(struct machine *m) { return tcg_accel_ops.memory_changed(m); }
static int kq_get_state(struct vcpu *v, struct x86_cpu_state *s) { return tcg_accel_ops.get_state(v, s); }
static int kq_set_state(struct vcpu *v, const struct x86_cpu_state *s) { return tcg_accel_ops.set_state(v, s); }
static int kq_vcpu_reset(struct vcpu *v) { return tcg_accel_ops.vcpu_reset(v); }
static int kq_lapic_write(struct vcpu *v, uint32_t off, uint32_t val)
{
	return tcg_accel_ops.lapic_write(v, off, val);
}
static int kq_msr_write(struct vcpu *v, uint32_t index, uint64_t val)
{
	return tcg_accel_ops.msr_write(v, index, val);
}
static int kq_machine_reset(struct machine *m) { return tcg_accel_ops.machine_reset(m); }
static int kq_save(struct machine *m, struct state_buf *s) { return tcg_accel_ops.save(m, s); }
static int kq_load(struct machine *m, struct state_buf *s) { return tcg_accel_ops.load(m, s); }

const struct accel_ops kqemu_accel_ops = {
	.name = "kqemu",
	.available = kq_available,
	.init = kq_init,
	.memory_changed = kq_memory_changed,
	.vcpu_init = kq_vcpu_init,
	.vcpu_thread_init = kq_vcpu_thread_init,
	.vcpu_run = kq_vcpu_run,
	.get_state = kq_get_state,
	.set_state = kq_set_state,
	.vcpu_reset = kq_vcpu_reset,
	.lapic_write = kq_lapic_write,
	.msr_write = kq_msr_write,
	.machine_reset = kq_machine_reset,
	.save = kq_save,
	.load = kq_load,
	.kick = kq_kick,
	.info = kq_info,
	.info_kqemu = kq_info_kqemu,
	.vcpu_destroy = kq_vcpu_destroy,
	.destroy = kq_destroy,
};
