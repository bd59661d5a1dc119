/* Application processor start-up: INIT-SIPI-SIPI (targeted from the MADT,
 * or broadcast), real-mode trampoline at TRAMP_BASE -> long mode -> ap_entry. */
#include "guest.h"

extern char tramp_start[], tramp_end[], tramp_count[], tramp_gdtr[], tramp_cr3[];
extern char tramp_stack_base[], tramp_entry[];
extern char gdt_desc[], kstacks[];
void (*volatile ap_main_fn)(struct cpu *c);
volatile int ap_started;		/* APs that ran the trampoline */

#define TRAMP(sym) phys(TRAMP_BASE + ((sym) - tramp_start))

void ap_entry(int index)
{
	struct cpu *c = &cpus[index];
	uint32_t r[4];

	c->index = index;
	cpu_setup(c);
	lapic_enable();
	c->apic_id = lapic_id();
	cpuid(1, 0, r);
	c->cpuid_apic_id = r[1] >> 24;
	c->online = 1;
	__atomic_add_fetch(&ncpus_online, 1, __ATOMIC_SEQ_CST);
	while (!ap_main_fn)
		cpu_relax();
	ap_main_fn(c);
	for (;;)
		sti_hlt();
}

static void idle(struct cpu *c)
{
	(void)c;
}

int smp_boot(const struct madt_info *m, int expected, const char **method)
{
	uint32_t me = lapic_id();
	int n = 0;

	if (!ap_main_fn)
		ap_main_fn = idle;
	memcpy(phys(TRAMP_BASE), tramp_start, tramp_end - tramp_start);
	*(volatile uint16_t *)TRAMP(tramp_count) = 0;
	memcpy(TRAMP(tramp_gdtr), gdt_desc, 6);
	*(volatile uint64_t *)TRAMP(tramp_cr3) = (uint64_t)pml4;
	*(volatile uint64_t *)TRAMP(tramp_stack_base) = (uint64_t)kstacks;
	*(volatile uint64_t *)TRAMP(tramp_entry) = (uint64_t)ap_entry;
	__asm__ volatile("mfence" ::: "memory");

	uint32_t sipi = 0x4600 | (TRAMP_BASE >> 12);
	if (m && m->found) {
		*method = "madt";
		for (int i = 0; i < m->ncpus; i++)
			if (m->apic_ids[i] != me)
				lapic_send_ipi(m->apic_ids[i], 0x4500);	/* INIT */
		delay_us(10000);
		for (int k = 0; k < 2; k++) {
			for (int i = 0; i < m->ncpus; i++)
				if (m->apic_ids[i] != me)
					lapic_send_ipi(m->apic_ids[i], sipi);
			delay_us(200);
		}
		if (expected <= 0)
			expected = m->ncpus;
	} else {
		*method = "broadcast";
		lapic_send_ipi(0, 0xc4500);	/* INIT, all excluding self */
		delay_us(10000);
		lapic_send_ipi(0, 0xc0000 | sipi);
		delay_us(200);
		lapic_send_ipi(0, 0xc0000 | sipi);
	}

	/* Wait for check-ins: until the expected count, or (count unknown)
	 * until nothing changed for 300 ms; 15 s at most (a busy host
	 * can leave vCPU threads waiting long). */
	uint64_t start = now_us(), last_change = start;
	int seen = 1;
	for (;;) {
		n = READ_ONCE(ncpus_online);
		uint64_t t = now_us();
		if (n != seen) {
			seen = n;
			last_change = t;
		}
		if (expected > 0 && n >= expected)
			break;
		if (expected <= 0 && t - last_change > 300000)
			break;
		if (t - start > 15000000)
			break;
		cpu_relax();
	}
	ap_started = *(volatile uint16_t *)TRAMP(tramp_count);
	return n;
}
