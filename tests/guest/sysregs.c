/* sysregs.elf: system registers a kernel writes at boot.
 * IA32_MISC_ENABLE (SDM Vol. 4, tables 2-2/2-3): the bits a kernel may
 * toggle (fast strings, automatic thermal control, EIST, limit CPUID
 * maxval, xTPR disable, XD disable) read back what was written; limit
 * CPUID caps leaf 0 at 2; XD disable hides CPUID NX and is refused while
 * EFER.NXE is set; reserved bits are #GP.  In 64-bit mode a
 * non-canonical base is #GP: LGDT and LIDT (#GP(0)), LLDT and LTR
 * (#GP(selector)), the tables left as they were.
 * Command line: "tcg" checks TCG's values of the read-only bits (BTS and
 * PEBS unavailable 1, performance monitoring available 0); "qemu tcg"
 * skips what QEMU's TCG does not do (the CPUID limit, reserved
 * MISC_ENABLE bits, XD disable, non-canonical bases). */
#include "guest.h"

#define MSR_MISC_ENABLE	0x1a0
#define ME_FAST_STRINGS	(1ull << 0)
#define ME_TCC		(1ull << 3)
#define ME_PERF_MON	(1ull << 7)
#define ME_BTS_UNAVAIL	(1ull << 11)
#define ME_PEBS_UNAVAIL	(1ull << 12)
#define ME_EIST		(1ull << 16)
#define ME_MWAIT	(1ull << 18)
#define ME_LIMIT_CPUID	(1ull << 22)
#define ME_XTPR_DISABLE	(1ull << 23)
#define ME_XD_DISABLE	(1ull << 34)
#define V_GP	13
#define SEL_SPARE	0x30	/* a free 16-byte slot of the lib's GDT */

extern uint64_t gdt[];
static bool qemu_tcg, qvm_tcg;

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static int wrmsr_try(uint32_t msr, uint64_t v)
{
	return FAULT_TRY("mov %[lo], %%eax; mov %[hi], %%edx; wrmsr", "c"(msr),
			 [lo] "S"((uint32_t)v), [hi] "D"((uint32_t)(v >> 32)));
}

static void toggle(uint64_t bit, const char *name)
{
	uint64_t old = rdmsr(MSR_MISC_ENABLE);
	int v = wrmsr_try(MSR_MISC_ENABLE, old ^ bit);
	uint64_t now = rdmsr(MSR_MISC_ENABLE);
	check(v == FAULT_NONE && now == (old ^ bit), "misc_enable: %s toggles (vector %d, %lx -> %lx)",
	      name, v, old, now);
	wrmsr(MSR_MISC_ENABLE, old);
}

static void misc_enable_tests(void)
{
	uint32_t r[4];
	uint64_t me = rdmsr(MSR_MISC_ENABLE);

	check(me & ME_FAST_STRINGS, "misc_enable: fast strings on at reset (%lx)", me);
	if (qvm_tcg)
		check((me & (ME_BTS_UNAVAIL | ME_PEBS_UNAVAIL)) == (ME_BTS_UNAVAIL | ME_PEBS_UNAVAIL) &&
		      !(me & ME_PERF_MON), "misc_enable: BTS/PEBS unavailable, no perfmon (%lx)", me);
	toggle(ME_FAST_STRINGS, "fast strings");
	toggle(ME_TCC, "automatic thermal control");
	toggle(ME_EIST, "enhanced speedstep");
	toggle(ME_XTPR_DISABLE, "xtpr disable");

	if (qemu_tcg) {
		skip("misc_enable checks past the toggles: QEMU's TCG has no CPUID limit, takes anything");
		return;
	}
	cpuid(0, 0, r);
	uint32_t max = r[0];
	wrmsr(MSR_MISC_ENABLE, me | ME_LIMIT_CPUID);
	cpuid(0, 0, r);
	check(r[0] == 2, "misc_enable: limit cpuid maxval makes leaf 0 eax 2 (%u)", r[0]);
	wrmsr(MSR_MISC_ENABLE, me);
	cpuid(0, 0, r);
	check(r[0] == max, "misc_enable: leaf 0 eax %u again", r[0]);

	static const uint64_t reserved[] = { 1ull << 1, 1ull << 40, 1ull << 63 };
	for (unsigned k = 0; k < ARRAY_SIZE(reserved); k++) {
		int v = wrmsr_try(MSR_MISC_ENABLE, me | reserved[k]);
		check(v == V_GP, "misc_enable: reserved bit %lx is #GP (vector %d)", reserved[k], v);
	}
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 3))) {
		int v = wrmsr_try(MSR_MISC_ENABLE, me | ME_MWAIT);
		check(v == V_GP, "misc_enable: monitor enable without cpuid monitor is #GP (vector %d)", v);
	}
	check(rdmsr(MSR_MISC_ENABLE) == me, "misc_enable unchanged by the refused writes");

	cpuid(0x80000001, 0, r);
	if (!(r[3] & (1u << 20))) {
		skip("xd disable: no NX");
		return;
	}
	uint64_t efer = rdmsr(MSR_EFER);
	if (efer & EFER_NXE) {
		int v = wrmsr_try(MSR_MISC_ENABLE, me | ME_XD_DISABLE);
		check(v == V_GP, "misc_enable: xd disable while efer.nxe is #GP (vector %d)", v);
	}
	/* the lib's own page tables have no NX bit: NXE can go for a while */
	wrmsr(MSR_EFER, efer & ~(uint64_t)EFER_NXE);
	int v = wrmsr_try(MSR_MISC_ENABLE, me | ME_XD_DISABLE);
	cpuid(0x80000001, 0, r);
	int v2 = wrmsr_try(MSR_EFER, efer | EFER_NXE);
	wrmsr(MSR_MISC_ENABLE, me);
	wrmsr(MSR_EFER, efer);
	check(v == FAULT_NONE && !(r[3] & (1u << 20)),
	      "misc_enable: xd disable hides cpuid nx (vector %d, edx %x)", v, r[3]);
	check(v2 == V_GP, "efer.nxe with xd disable is #GP (vector %d)", v2);
	cpuid(0x80000001, 0, r);
	check(r[3] & (1u << 20), "cpuid nx back after xd disable is cleared");
}

/* A 16-byte system descriptor of type in the spare GDT slot */
static void put_sys_desc(unsigned type, uint64_t base)
{
	gdt[SEL_SPARE / 8] = 0x67 | (base & 0xffffff) << 16 | (0x80ull | type) << 40 |
			     ((base >> 24) & 0xff) << 56;
	gdt[SEL_SPARE / 8 + 1] = base >> 32;
}

static void canonical_tests(void)
{
	struct cpu *c = this_cpu();
	struct dtr old, bad = { 0xfff, 0x0000800000000000ull }, now;
	int v;

	if (qemu_tcg) {
		skip("non-canonical descriptor-table bases: QEMU's TCG loads them");
		return;
	}
	__asm__ volatile("sgdt %0" : "=m"(old));
	v = FAULT_TRY("lgdt (%[p])", [p] "c"(&bad));
	__asm__ volatile("sgdt %0" : "=m"(now));
	check(v == V_GP && c->fault.error == 0 && now.base == old.base && now.limit == old.limit,
	      "#GP(0): lgdt with a non-canonical base, gdtr kept (vector %d)", v);
	__asm__ volatile("sidt %0" : "=m"(old));
	v = FAULT_TRY("lidt (%[p])", [p] "c"(&bad));
	__asm__ volatile("sidt %0" : "=m"(now));
	check(v == V_GP && c->fault.error == 0 && now.base == old.base,
	      "#GP(0): lidt with a non-canonical base, idtr kept (vector %d)", v);
	bad.base = 0xffff800000000000ull;       /* canonical: loads */
	__asm__ volatile("sidt %0" : "=m"(old));
	v = FAULT_TRY("lidt (%[p]); lidt (%[q])", [p] "c"(&bad), [q] "S"(&old));
	check(v == FAULT_NONE, "lidt with a canonical high base loads (vector %d)", v);

	put_sys_desc(2, 0x0000800000001000ull);           /* LDT */
	v = FAULT_TRY("lldt %w[s]", [s] "c"(SEL_SPARE));
	check(v == V_GP && c->fault.error == SEL_SPARE,
	      "#GP(sel): lldt of a non-canonical base (vector %d, error %lx)", v, c->fault.error);
	put_sys_desc(9, 0x0000800000001000ull);           /* available TSS */
	v = FAULT_TRY("ltr %w[s]", [s] "c"(SEL_SPARE));
	check(v == V_GP && c->fault.error == SEL_SPARE && !(gdt[SEL_SPARE / 8] & (2ull << 40)),
	      "#GP(sel): ltr of a non-canonical base, not marked busy (vector %d, error %lx)", v,
	      c->fault.error);
	put_sys_desc(2, 0xffff800000001000ull);
	v = FAULT_TRY("lldt %w[s]; xor %%eax, %%eax; lldt %%ax", [s] "c"(SEL_SPARE));
	check(v == FAULT_NONE, "lldt of a canonical high base loads (vector %d)", v);
	gdt[SEL_SPARE / 8] = gdt[SEL_SPARE / 8 + 1] = 0;
}

int main(void)
{
	test_name = "sysregs";
	/* under KVM, IA32_MISC_ENABLE is KVM's own emulation, with other
	 * rules than the hardware's (TCG's); nested under QEMU's TCG the
	 * descriptor-table checks are the outer emulator's too */
	if (cmdline_has("on-qemu-tcg")) {
		skip("sysregs: KVM nested under QEMU's TCG decides MISC_ENABLE and LGDT");
		test_done();
	}
	qemu_tcg = cmdline_has("qemu") && cmdline_has("tcg");
	qvm_tcg = cmdline_has("tcg") && !qemu_tcg;
	printk("sysregs: start%s\n", qemu_tcg ? " (qemu-tcg)" : "");
	if (cmdline_has("kvm"))
		skip("misc_enable: KVM emulates IA32_MISC_ENABLE with its own rules");
	else
		misc_enable_tests();
	canonical_tests();
	return 0;
}
