/* vCPU threads and engine-neutral x86 state helpers. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "accel.h"
#include "cpu.h"
#include "machine.h"
#include "rcu.h"
#include "x86/msr.h"

const uint32_t x86_mtrr_fixed_msrs[MTRR_FIXED_NR] = {
	MSR_MTRR_FIX64K_00000, MSR_MTRR_FIX16K_80000, MSR_MTRR_FIX16K_A0000,
	MSR_MTRR_FIX4K_C0000, MSR_MTRR_FIX4K_C0000 + 1, MSR_MTRR_FIX4K_C0000 + 2,
	MSR_MTRR_FIX4K_C0000 + 3, MSR_MTRR_FIX4K_C0000 + 4, MSR_MTRR_FIX4K_C0000 + 5,
	MSR_MTRR_FIX4K_C0000 + 6, MSR_MTRR_FIX4K_F8000,
};

static void seg_real(struct x86_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct x86_segment){ .base = (uint64_t)sel << 4, .limit = 0xffff,
				   .selector = sel, .type = type, .s = 1, .present = 1 };
}

/* Power-on state (SDM Vol. 3, 10.1.1, table 10-1): real mode, CS.base
 * 0xffff0000 so the first fetch is at 0xfffffff0, the reset vector. */
void x86_cpu_reset_state(struct x86_cpu_state *s, bool bsp)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < S_NR; i++)
		seg_real(&s->seg[i], 0, 3);
	seg_real(&s->seg[S_CS], 0xf000, 0xb);
	s->seg[S_CS].base = 0xffff0000;
	s->tr = (struct x86_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s->ldt = (struct x86_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	s->gdt.limit = s->idt.limit = 0xffff;
	s->rip = 0xfff0;
	s->rflags = 0x2;
	s->regs[R_RDX] = 0x600; /* family 6: what the SDM's DX holds at reset */
	s->cr0 = 0x60000010;    /* CD, NW, ET */
	s->apic_base = 0xfee00000 | (1 << 11) | (bsp ? 1 << 8 : 0);
	s->pat = 0x0007040600070406ULL;
	s->dr[6] = 0xffff0ff0;
	s->dr[7] = 0x400;
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(s->fxsave, &fcw, 2);
	memcpy(s->fxsave + 24, &mxcsr, 4);
	s->xcr0 = XCR0_X87;
	s->mp_state = bsp ? MP_RUNNABLE : MP_WAIT_SIPI;
}

static void print_stderr(void *opaque, const char *line)
{
	(void)opaque;
	fputs(line, stderr);
}

static void dump_seg(char *buf, size_t n, const char *name, const struct x86_segment *s)
{
	snprintf(buf, n, "%-3s=%04x %016llx %08x %02x%s%s%s\n", name, s->selector,
		 (unsigned long long)s->base, s->limit,
		 s->type | s->s << 4 | s->dpl << 5 | s->present << 7,
		 s->l ? " L" : "", s->db ? " DB" : "", s->unusable ? " unusable" : "");
}

void x86_cpu_dump(const struct x86_cpu_state *s, void (*print)(void *, const char *),
		  void *opaque)
{
	static const char *const names[16] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP",
		"RSI", "RDI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15" };
	static const char *const seg_names[S_NR] = { "ES", "CS", "SS", "DS", "FS", "GS" };
	char line[160];
	if (!print)
		print = print_stderr;
	for (int i = 0; i < 16; i += 4) {
		snprintf(line, sizeof(line), "%-3s=%016llx %-3s=%016llx %-3s=%016llx %-3s=%016llx\n",
			 names[i], (unsigned long long)s->regs[i], names[i + 1],
			 (unsigned long long)s->regs[i + 1], names[i + 2],
			 (unsigned long long)s->regs[i + 2], names[i + 3],
			 (unsigned long long)s->regs[i + 3]);
		print(opaque, line);
	}
	unsigned cpl = s->seg[S_CS].dpl;
	snprintf(line, sizeof(line), "RIP=%016llx RFL=%08llx CPL=%u %s\n",
		 (unsigned long long)s->rip, (unsigned long long)s->rflags, cpl,
		 s->halted ? "HLT=1" : "HLT=0");
	print(opaque, line);
	for (int i = 0; i < S_NR; i++) {
		dump_seg(line, sizeof(line), seg_names[i], &s->seg[i]);
		print(opaque, line);
	}
	dump_seg(line, sizeof(line), "LDT", &s->ldt);
	print(opaque, line);
	dump_seg(line, sizeof(line), "TR", &s->tr);
	print(opaque, line);
	snprintf(line, sizeof(line), "GDT=%016llx %04x IDT=%016llx %04x\n",
		 (unsigned long long)s->gdt.base, s->gdt.limit,
		 (unsigned long long)s->idt.base, s->idt.limit);
	print(opaque, line);
	snprintf(line, sizeof(line), "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx\n",
		 (unsigned long long)s->cr0, (unsigned long long)s->cr2,
		 (unsigned long long)s->cr3, (unsigned long long)s->cr4);
	print(opaque, line);
	snprintf(line, sizeof(line), "EFER=%016llx APIC_BASE=%016llx CR8=%llx\n",
		 (unsigned long long)s->efer, (unsigned long long)s->apic_base,
		 (unsigned long long)s->cr8);
	print(opaque, line);
}

static __thread struct vcpu *current_vcpu;

struct vcpu *vcpu_current(void)
{
	return current_vcpu;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->m->accel && v->m->accel->ops->kick)
		v->m->accel->ops->kick(v);
}

/* Park while the machine is paused.  Returns false when quitting. */
static bool vcpu_wait_runnable(struct vcpu *v)
{
	struct machine *m = v->m;
	pthread_mutex_lock(&m->run_lock);
	while (m->paused && !m->quitting) {
		m->parked++;
		pthread_cond_broadcast(&m->run_cond);
		pthread_cond_wait(&m->run_cond, &m->run_lock);
		m->parked--;
	}
	bool run = !m->quitting;
	pthread_mutex_unlock(&m->run_lock);
	return run;
}

/* After asking for a reset or reporting an error, stay out of the guest
 * until the main thread has acted (reset done, or pausing/quitting). */
static void vcpu_wait_for_main(struct vcpu *v, uint64_t reset_count)
{
	struct machine *m = v->m;
	pthread_mutex_lock(&m->run_lock);
	while (m->reset_count == reset_count && !m->quitting) {
		if (m->paused) {
			m->parked++;
			pthread_cond_broadcast(&m->run_cond);
			pthread_cond_wait(&m->run_cond, &m->run_lock);
			m->parked--;
		} else {
			pthread_cond_wait(&m->run_cond, &m->run_lock);
		}
	}
	pthread_mutex_unlock(&m->run_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct machine *m = v->m;
	const struct accel_ops *ops = m->accel->ops;
	char name[16];
	snprintf(name, sizeof(name), "CPU %u/%s", v->index, ops->name);
	pthread_setname_np(pthread_self(), name);
	__atomic_store_n(&v->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELAXED); /* info cpus reads it */
	current_vcpu = v;
	rcu_thread_online();
	if (ops->vcpu_thread_init && ops->vcpu_thread_init(v) < 0) {
		machine_request(m, REQ_SHUTDOWN, 1);
		return NULL;
	}
	while (vcpu_wait_runnable(v)) {
		uint64_t resets = __atomic_load_n(&m->reset_count, __ATOMIC_SEQ_CST);
		switch (ops->vcpu_run(v)) {
		case VCPU_EXIT_AGAIN:
		case VCPU_EXIT_HALT:
			break;
		case VCPU_EXIT_RESET:   /* sets wait_for_main: this thread */
			machine_request(m, REQ_RESET, 0);
			break;
		case VCPU_EXIT_ERROR:
			machine_request(m, REQ_SHUTDOWN, 1);
			break;
		}
		if (v->wait_for_main) {
			v->wait_for_main = false;
			vcpu_wait_for_main(v, resets);
		}
	}
	rcu_thread_offline();
	return NULL;
}

int vcpus_start(struct machine *m)
{
	/* vCPU threads unblock the kick signal themselves */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = m->vcpus[i];
		v->thread_started = true;
		int err = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (err) {
			v->thread_started = false;
			qvm_error("cannot start vCPU thread %u: %s", i, strerror(err));
			return -1;
		}
	}
	return 0;
}

void vcpus_join(struct machine *m)
{
	pthread_mutex_lock(&m->run_lock);
	m->quitting = true;
	pthread_cond_broadcast(&m->run_cond);
	pthread_mutex_unlock(&m->run_lock);
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = m->vcpus[i];
		if (v && v->thread_started) {
			vcpu_kick(v);
			pthread_join(v->thread, NULL);
			v->thread_started = false;
		}
	}
}
