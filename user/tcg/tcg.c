/*
 * The tcg engine behind the accel_ops interface: qvm's own x86 emulator,
 * one host thread per vCPU, with qvm's own LAPIC, IOAPIC, PIC and PIT
 * (user/hw/) as the irqchip.  Needs nothing from the host kernel.  With
 * -accel tcg,thread=single the vCPU threads take turns (rr.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "tcg.h"
#include "jit/jit.h"
#include "accel.h"
#include "config.h"
#include "hw/apic.h"
#include "rr.h"

/* Per-vCPU run control: HLT sleeps here until a kick. */
struct tcg_vcpu {
	struct tcg_cpu *cpu;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool kicked;
	bool woken;     /* out of a HLT sleep: its next turn is urgent */
};

static struct tcg_vcpu *tv_of(struct vcpu *v)
{
	return v->accel_state;
}

struct tcg_cpu *tcg_cpu_of(struct vcpu *v)
{
	return v->accel_state ? tv_of(v)->cpu : NULL;
}

/* thread=single: the machine's turn (NULL with thread=multi). */
static struct tcg_rr *rr_of(struct machine *m)
{
	return m->accel ? m->accel->state : NULL;
}

static bool tcg_available(char *why, size_t why_len)
{
	(void)why, (void)why_len;
	return true;
}

/* -cpu max (the default) is every feature TCG implements (cpuid.c); a
 * named model, what it has of them; host needs KVM.  -FEAT hides a
 * feature; one TCG lacks is a warning (QEMU's), with enforce an error. */
static int check_cpu_model(const struct config *cfg)
{
	const char *model = cfg ? cfg->cpu_model : NULL;
	if (!model)
		return 0;
	if (!cpu_model_known(model)) {
		qvm_error("-cpu %s: unknown CPU model (try -cpu help)", model);
		return -1;
	}
	if (!strcmp(model, "host")) {
		qvm_error("-cpu host: needs -accel kvm; tcg offers -cpu max");
		return -1;
	}
	return tcg_cpuid_check_model(model, &cfg->cpu_features);
}

static int tcg_init(struct machine *m)
{
	if (check_cpu_model(m->cfg) < 0)
		return -1;
	tcg_ops_init();
	machine_ram_hugepages(m);
	/* host-side writes into RAM (loaders, DMA) invalidate decoded code */
	if (machine_ram_listen(m, &tcg_code_listener) < 0)
		return -1;
	if (m->cfg && m->cfg->tcg.single_thread) {
		m->accel->state = tcg_rr_new(TCG_RR_SLICE_NS);
		if (!m->accel->state) {
			qvm_error("tcg: out of memory");
			return -1;
		}
	}
	return irqchip_user_init(m);
}

static int tcg_memory_changed(struct machine *m)
{
	(void)m;        /* TLBs hold RAM host addresses only; RAM never moves */
	return 0;
}

static int tcg_vcpu_init(struct vcpu *v)
{
	struct tcg_vcpu *tv = calloc(1, sizeof(*tv));
	if (!tv) {
		qvm_error("cpu %u: out of memory", v->index);
		return -1;
	}
	pthread_mutex_init(&tv->lock, NULL);
	pthread_cond_init(&tv->wake, NULL);
	tv->cpu = tcg_cpu_new(v->m, v);
	if (!tv->cpu || !lapic_new(v->m, v)) {
		qvm_error("cpu %u: cannot create the TCG vCPU", v->index);
		tcg_cpu_free(tv->cpu);
		free(tv);
		return -1;
	}
	tv->cpu->lapic = v->lapic;
	tcg_xsave_offer(tv->cpu, tcg_cpuid_xsave_offer(v->m->cfg, XSAVE_OFFER_TCG));
	/* -accel tcg,jit=on|off,tb-size=N; the JIT unless told otherwise */
	const struct config *cfg = v->m->cfg;
	tcg_set_jit(tv->cpu, !cfg || cfg->tcg.jit != 0, cfg ? cfg->tcg.tb_size_mib : 0);
	v->accel_state = tv;
	return 0;
}

static void tcg_vcpu_destroy(struct vcpu *v)
{
	struct tcg_vcpu *tv = tv_of(v);
	if (!tv)
		return;
	tcg_cpu_free(tv->cpu);
	if (v->lapic)
		lapic_free(v->lapic);
	v->lapic = NULL;
	pthread_mutex_destroy(&tv->lock);
	pthread_cond_destroy(&tv->wake);
	free(tv);
	v->accel_state = NULL;
}

static int tcg_vcpu_thread_init(struct vcpu *v)
{
	(void)v;
	return 0;
}

static void tcg_kick(struct vcpu *v)
{
	struct tcg_vcpu *tv = tv_of(v);
	if (!tv)
		return;
	__atomic_store_n(&v->kicked, true, __ATOMIC_SEQ_CST);
	__atomic_store_n(&tv->cpu->exit_request, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&tv->lock);
	tv->kicked = true;
	pthread_cond_signal(&tv->wake);
	pthread_mutex_unlock(&tv->lock);
	/* waiting for its turn: the holder makes way */
	struct tcg_rr *rr = rr_of(v->m);
	if (rr)
		tcg_rr_kicked(rr, tv->cpu);
}

/* HLT, or an AP waiting for SIPI: sleep until something kicks us (a
 * LAPIC event, a pause, the end).  Timers kick through the main loop. */
static void halt_wait(struct tcg_vcpu *tv)
{
	pthread_mutex_lock(&tv->lock);
	while (!tv->kicked)
		pthread_cond_wait(&tv->wake, &tv->lock);
	tv->kicked = false;
	pthread_mutex_unlock(&tv->lock);
}

/* Whether the vCPU loop (cpu.c) has to see this vCPU: a pause, the end,
 * or its own reset or shutdown request waiting for the main thread. */
static bool vcpu_must_leave(struct vcpu *v)
{
	if (v->wait_for_main)
		return true;
	struct machine *m = v->m;
	pthread_mutex_lock(&m->run_lock);
	bool leave = m->paused || m->quitting;
	pthread_mutex_unlock(&m->run_lock);
	return leave;
}

/* thread=single: run guest code in this vCPU's turn.  A kick that only
 * brings an event (tcg_exec polls the LAPIC) keeps the turn; a waiter's
 * request, a halt or anything cpu.c must handle ends it. */
static int run_turn(struct tcg_rr *rr, struct tcg_vcpu *tv, struct vcpu *v)
{
	int r;
	tcg_rr_acquire(rr, tv->cpu, tv->woken);
	tv->woken = false;
	do {
		r = tcg_exec(tv->cpu);
	} while (r == VCPU_EXIT_AGAIN && !tv->cpu->kqemu_left &&
		 !tcg_rr_yield_asked(rr, tv->cpu) && !vcpu_must_leave(v));
	tcg_rr_release(rr, tv->cpu);
	return r;
}

static enum vcpu_exit tcg_vcpu_run(struct vcpu *v)
{
	struct tcg_vcpu *tv = tv_of(v);
	struct tcg_rr *rr = rr_of(v->m);
	int r = rr ? run_turn(rr, tv, v) : tcg_exec(tv->cpu);
	__atomic_store_n(&v->kicked, false, __ATOMIC_SEQ_CST);
	if (r == VCPU_EXIT_HALT) {
		halt_wait(tv);
		tv->woken = true;
		return VCPU_EXIT_AGAIN;
	}
	return r;
}

static int tcg_get_state_op(struct vcpu *v, struct x86_cpu_state *s)
{
	return tcg_vcpu_get_state(tv_of(v)->cpu, s);
}

static int tcg_set_state_op(struct vcpu *v, const struct x86_cpu_state *s)
{
	return tcg_vcpu_set_state(tv_of(v)->cpu, s);
}

static int tcg_vcpu_reset(struct vcpu *v)
{
	struct tcg_cpu *c = tv_of(v)->cpu;
	struct x86_cpu_state s;
	uint32_t id[4];
	x86_cpu_reset_state(&s, v->index == 0);
	tcg_cpuid(c, 1, 0, id);
	s.regs[R_RDX] = id[0];  /* processor signature (SDM Vol. 3, 10.1.2) */
	tcg_set_state(c, &s);
	/* a reset starts with no decoded code (what the board reloads is
	 * invalidated by the write path too, memory.h) */
	tcg_flush_blocks(c);
	tcg_fpu_reset(&c->fpu);
	c->tsc_offset = 0;
	c->misc_enable = TCG_MISC_ENABLE_RESET;  /* msr.c adds the fixed bits on read */
	c->spec_ctrl = 0;
	c->pkrs = 0;
	tcg_xsave_reset(c);     /* XCR0 = 1 */
	c->mtrr_def_type = 0;   /* MTRRs off (SDM Vol. 3, 12.11.2.1) */
	if (c->lapic)
		lapic_reset(c->lapic);
	return 0;
}

static int tcg_lapic_write(struct vcpu *v, uint32_t offset, uint32_t value)
{
	if (!v->lapic || offset >= 0x400 || (offset & 0xf)) {
		qvm_error("cpu %u: no LAPIC register at 0x%x", v->index, offset);
		return -1;
	}
	lapic_mmio_write(v->lapic, offset, value);
	return 0;
}

static int tcg_msr_write(struct vcpu *v, uint32_t index, uint64_t value)
{
	if (tcg_wrmsr(tv_of(v)->cpu, index, value) < 0) {
		qvm_error("cpu %u: WRMSR 0x%x, 0x%llx refused", v->index, index,
			  (unsigned long long)value);
		return -1;
	}
	return 0;
}

static int tcg_machine_reset(struct machine *m)
{
	(void)m;        /* PIC, IOAPIC, PIT reset as devices */
	return 0;
}

/* Beyond the vCPUs (save.c) tcg has nothing of its own: its interrupt
 * controllers and PIT are devices.  A version byte keeps the section. */
#define TCG_ENGINE_STATE_VERSION 1

static int tcg_save(struct machine *m, struct state_buf *s)
{
	(void)m;
	state_put_u8(s, TCG_ENGINE_STATE_VERSION);
	return s->error ? -1 : 0;
}

static int tcg_load(struct machine *m, struct state_buf *s)
{
	(void)m;
	if (state_get_u8(s) != TCG_ENGINE_STATE_VERSION || s->error) {
		qvm_error("tcg: the saved engine state has an unknown version");
		return -1;
	}
	return 0;
}

/* -accel tcg's settings as the vCPUs have them (vCPU 0 stands for all). */
static void tcg_info_config(struct machine *m, void (*print)(void *, const char *), void *opaque)
{
	char line[160];
	const struct tcg_cpu *c = m->nr_vcpus && m->vcpus[0] && tv_of(m->vcpus[0]) ?
				  tv_of(m->vcpus[0])->cpu : NULL;
	if (c) {
		snprintf(line, sizeof(line), "jit: %s\ntb-size: %u MiB per vCPU\n",
			 c->jit_on ? "on" : "off (interpreter)", c->jit_tb_mib);
		print(opaque, line);
	}
	struct tcg_rr *rr = rr_of(m);
	if (rr)
		snprintf(line, sizeof(line),
			 "thread: single (one vCPU runs at a time; %llu handoffs)\n",
			 (unsigned long long)tcg_rr_handoffs(rr));
	else
		snprintf(line, sizeof(line), "thread: multi (one host thread per vCPU)\n");
	print(opaque, line);
}

/* The JIT's counters, summed over the vCPUs */
static void tcg_info_jit(struct machine *m, void (*print)(void *, const char *), void *opaque)
{
	struct jit_stats sum = { 0 };
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		if (!m->vcpus[i] || !tv_of(m->vcpus[i]))
			continue;
		struct jit_stats s;
		jit_get_stats(tv_of(m->vcpus[i])->cpu, &s);
		const uint64_t *from = (const uint64_t *)&s;
		uint64_t *to = (uint64_t *)&sum;
		for (size_t k = 0; k < sizeof(s) / sizeof(uint64_t); k++)
			to[k] += from[k];
	}
	char line[512];
	snprintf(line, sizeof(line),
		 "jit blocks: %llu translated (%llu KiB of code), %llu left to the interpreter\n"
		 "jit instructions: %llu native, %llu through the interpreter's handlers\n"
		 "jit entries from the run loop: %llu; chains patched: %llu\n"
		 "jit indirect branches found in the block cache: %llu, missed: %llu\n"
		 "jit memory operands sharing a same-page TLB check: %llu\n",
		 (unsigned long long)sum.blocks, (unsigned long long)(sum.code_bytes >> 10),
		 (unsigned long long)sum.failed, (unsigned long long)sum.native_insns,
		 (unsigned long long)sum.helper_insns, (unsigned long long)sum.enters,
		 (unsigned long long)sum.chains, (unsigned long long)sum.indirect_hits,
		 (unsigned long long)sum.indirect_misses, (unsigned long long)sum.grouped);
	print(opaque, line);
}

/* The TLB invalidations the guests asked for, summed over the vCPUs */
static void tcg_info_tlb(struct machine *m, void (*print)(void *, const char *), void *opaque)
{
	uint64_t n[5] = { 0 };
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		if (m->vcpus[i] && tv_of(m->vcpus[i]))
			for (unsigned k = 0; k < 5; k++)
				n[k] += __atomic_load_n(&tv_of(m->vcpus[i])->cpu->tlb_asked[k],
							__ATOMIC_RELAXED);
	char line[320];
	snprintf(line, sizeof(line),
		 "tlb flushes: %llu of everything, %llu of the non-global entries, "
		 "%llu for one PCID, %llu of one page; %llu for CR3 loads that keep "
		 "their PCID's (untagged: every non-global entry goes)\n",
		 (unsigned long long)n[TCG_FLUSH_EVERYTHING], (unsigned long long)n[TCG_FLUSH_NONGLOBAL],
		 (unsigned long long)n[TCG_FLUSH_PCID], (unsigned long long)n[TCG_FLUSH_PAGE],
		 (unsigned long long)n[TCG_FLUSH_NONE]);
	print(opaque, line);
}

static void tcg_info(struct machine *m, void (*print)(void *, const char *), void *opaque)
{
	char line[256];
	uint64_t insns = 0;
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		if (m->vcpus[i] && tv_of(m->vcpus[i]))
			insns += __atomic_load_n(&tv_of(m->vcpus[i])->cpu->insns,
						 __ATOMIC_RELAXED);  /* counting on */
	bool jit = m->nr_vcpus && m->vcpus[0] && tv_of(m->vcpus[0]) &&
		   tv_of(m->vcpus[0])->cpu->jit_on;
	snprintf(line, sizeof(line),
		 "tcg: x86-64 %s\n"
		 "irqchip: qvm's own LAPIC, IOAPIC, 8259 PIC; PIT: 8254\n"
		 "instructions retired: %llu\n",
		 jit ? "JIT (host code per block, the interpreter for the rest)"
		     : "interpreter (decoded blocks, lazy flags, software TLB)",
		 (unsigned long long)insns);
	print(opaque, line);
	tcg_info_config(m, print, opaque);
	if (jit)
		tcg_info_jit(m, print, opaque);
	tcg_info_tlb(m, print, opaque);
}

static void tcg_destroy(struct machine *m)
{
	machine_ram_unlisten(m, &tcg_code_listener);
	tcg_rr_free(rr_of(m));
	if (m->accel)
		m->accel->state = NULL;
}

const struct accel_ops tcg_accel_ops = {
	.name = "tcg",
	.available = tcg_available,
	.init = tcg_init,
	.memory_changed = tcg_memory_changed,
	.vcpu_init = tcg_vcpu_init,
	.vcpu_thread_init = tcg_vcpu_thread_init,
	.vcpu_run = tcg_vcpu_run,
	.get_state = tcg_get_state_op,
	.set_state = tcg_set_state_op,
	.vcpu_reset = tcg_vcpu_reset,
	.lapic_write = tcg_lapic_write,
	.msr_write = tcg_msr_write,
	.machine_reset = tcg_machine_reset,
	.save = tcg_save,
	.load = tcg_load,
	.kick = tcg_kick,
	.info = tcg_info,
	.vcpu_destroy = tcg_vcpu_destroy,
	.destroy = tcg_destroy,
};
