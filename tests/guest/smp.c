/* smp.elf: brings up every vCPU with INIT-SIPI-SIPI (to each LAPIC the MADT
 * lists, or broadcast when there is no MADT); APs go real mode -> long mode
 * through the trampoline, report their APIC IDs (LAPIC ID register and
 * CPUID), run CPL3 work in parallel, and exchange IPIs with the BSP.
 * Command line: "cpus=N" is the number of CPUs expected; "broadcast" starts
 * the APs with broadcast IPIs even when there is a MADT; "qemu" (QEMU with
 * SeaBIOS as the peer) skips the MP-table CPU count, which SeaBIOS
 * builds with the BSP only. */
#include "guest.h"

#define VEC_IPI		0x50	/* AP i -> BSP uses VEC_IPI + i: no coalescing */
#define WORK_ITERS	400000

static struct madt_info madt;
static volatile int go, done_count;
static volatile uint32_t ipi_from;	/* BSP: bit i = IPI from AP i seen */
extern volatile int ap_started;

static uint64_t work(uint64_t idx)
{
	uint64_t x = idx * 0x9e3779b97f4a7c15ull + 1, sum = 0;
	for (int i = 0; i < WORK_ITERS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		sum += x;
	}
	return sum;
}

static void on_ipi(struct frame *f)
{
	struct cpu *c = this_cpu();
	__atomic_add_fetch(&c->ipi_count, 1, __ATOMIC_SEQ_CST);
	if (c->index == 0)
		__atomic_or_fetch(&ipi_from, 1u << (f->vector - VEC_IPI), __ATOMIC_SEQ_CST);
	lapic_eoi();
}

static void ap_main(struct cpu *c)
{
	printk("cpu %d: apic id %u, cpuid apic id %u\n", c->index, c->apic_id, c->cpuid_apic_id);
	while (!READ_ONCE(go))
		cpu_relax();
	c->work_result = run_user(work, c->index, 0);
	__atomic_add_fetch(&done_count, 1, __ATOMIC_SEQ_CST);
	lapic_send_ipi(cpus[0].apic_id, 0x4000 | (VEC_IPI + c->index));
}

static bool wait_until(volatile int *v, int n, uint64_t timeout_us)
{
	uint64_t t0 = now_us();
	while (READ_ONCE(*v) < n && now_us() - t0 < timeout_us)
		cpu_relax();
	return READ_ONCE(*v) >= n;
}

int main(void)
{
	uint32_t r[4];
	const char *method = "?";
	struct cpu *me = this_cpu();

	test_name = "smp";
	int expected = (int)cmdline_uint("cpus", 0);
	printk("smp: start, expecting %d cpus\n", expected);
	acpi_scan(&madt);
	note("madt: %s, %d cpus; mp table: %s, %d cpus%s%s", madt.found ? "yes" : "no", madt.ncpus,
	     madt.mp_found ? "yes" : "no", madt.mp_ncpus, madt.bad ? "; bad: " : "", madt.bad ? madt.bad : "");
	check(!madt.bad, "firmware tables well-formed%s%s", madt.bad ? ": " : "", madt.bad ? madt.bad : "");

	lapic_enable();
	me->apic_id = lapic_id();
	cpuid(1, 0, r);
	me->cpuid_apic_id = r[1] >> 24;
	printk("cpu 0: apic id %u, cpuid apic id %u\n", me->apic_id, me->cpuid_apic_id);
	for (int i = 0; i < MAX_CPUS; i++)
		set_irq_handler(VEC_IPI + i, on_ipi);
	ap_main_fn = ap_main;

	uint64_t t0 = now_us();
	/* "broadcast" on the command line: ignore the MADT, INIT-SIPI-SIPI to all */
	int n = smp_boot(cmdline_has("broadcast") ? NULL : &madt, expected, &method);
	note("%d cpus online after %lu ms (INIT-SIPI-SIPI %s), %d ran the trampoline",
	     n, (now_us() - t0) / 1000, method, ap_started);

	if (expected)
		check(n == expected, "cpus online: %d, expected %d", n, expected);
	if (madt.found)
		check(n == madt.ncpus, "cpus online match the madt (%d)", madt.ncpus);
	if (madt.mp_found && madt.found && !cmdline_has("qemu"))
		check(madt.mp_ncpus == madt.ncpus, "mp table lists as many cpus as the madt (%d)", madt.mp_ncpus);
	check(ap_started == n - 1, "no stray cpus in the trampoline (%d)", ap_started);

	bool ids_ok = true, unique = true, in_madt = true;
	for (int i = 0; i < n; i++) {
		if (cpus[i].apic_id != cpus[i].cpuid_apic_id)
			ids_ok = false;
		for (int j = 0; j < i; j++)
			if (cpus[i].apic_id == cpus[j].apic_id)
				unique = false;
		if (madt.found) {
			bool f = false;
			for (int k = 0; k < madt.ncpus; k++)
				f |= madt.apic_ids[k] == cpus[i].apic_id;
			in_madt &= f;
		}
	}
	check(ids_ok, "lapic id register matches cpuid.1 ebx[31:24] on every cpu");
	check(unique, "apic ids are unique");
	if (madt.found)
		check(in_madt, "every apic id is listed in the madt");

	/* parallel CPL3 work, then each AP sends the BSP an IPI */
	t0 = now_us();
	go = 1;
	me->work_result = run_user(work, 0, 0);
	bool all_done = wait_until(&done_count, n - 1, 20000000);
	uint64_t dt = now_us() - t0;
	uint32_t want = ((1u << n) - 1) & ~1u;
	sti();
	for (uint64_t t1 = now_us(); READ_ONCE(ipi_from) != want && now_us() - t1 < 10000000;)
		cpu_relax();
	cli();
	check(all_done, "%d cpus finished their cpl3 work in %lu ms", done_count + 1, dt / 1000);
	bool results_ok = true;
	for (int i = 0; i < n; i++)
		if (cpus[i].work_result != run_user(work, i, 0))
			results_ok = false;
	check(results_ok, "cpl3 results of every cpu are right");
	check(ipi_from == want, "bsp received an ipi from each ap (%x)", ipi_from);

	/* BSP -> each AP */
	for (int i = 1; i < n; i++)
		lapic_send_ipi(cpus[i].apic_id, 0x4000 | VEC_IPI);
	bool got = true;
	for (int i = 1; i < n; i++)
		got &= wait_until(&cpus[i].ipi_count, 1, 10000000);
	check(got, "each ap received an ipi from the bsp");
	return 0;
}
