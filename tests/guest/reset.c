/* reset.bin: 64 KiB -bios image; run WITHOUT -no-reboot, with -smp 2.
 * Counts boots in CMOS RAM (battery-backed, survives reset) and resets
 * from long mode three ways: port 0xcf9, the i8042 (0xFE to port 0x64),
 * and a triple fault.  Every boot checks that the CPU came back in its
 * reset state (CR0 0x60000010, CR4 0, EFER 0, EFLAGS 2, CS F000, LAPIC
 * software-disabled with its timer masked, APIC base MSR) and that the
 * second CPU starts again from INIT-SIPI-SIPI.  After the fourth boot:
 * debug-exit 0 if every boot passed. */
#include "guest.h"

#define CMOS_MAGIC	0x6e	/* 0xa5 once the test has started */
#define CMOS_BOOT	0x6f	/* boots so far */
#define CMOS_FAILS	0x6d	/* failed checks in earlier boots */
#define RAM_MARK	((volatile uint32_t *)phys(0x1000))

static uint8_t cmos_get(uint8_t r) { outb(0x70, r); return inb(0x71); }
static void cmos_put(uint8_t r, uint8_t v) { outb(0x70, r); outb(0x71, v); }

static void triple_fault(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = { 0, 0 };
	__asm__ volatile("lidt %0; ud2" :: "m"(idtr));	/* #UD -> #GP -> #DF -> shutdown */
	panic("triple fault did not reset");
}

int main(void)
{
	volatile struct reset_state *rs = RESET_STATE;
	const char *method;

	test_name = "reset";
	int boot = cmos_get(CMOS_MAGIC) == 0xa5 ? cmos_get(CMOS_BOOT) + 1 : 1;
	int fails = boot > 1 ? cmos_get(CMOS_FAILS) : 0;
	cmos_put(CMOS_MAGIC, 0xa5);
	cmos_put(CMOS_BOOT, boot);
	printk("reset: boot %d\n", boot);
	if (boot > 1)
		note("ram marker %s the reset", *RAM_MARK == 0x5a5a0000u + boot - 1 ? "survived" : "did not survive");

	check(rs->magic == RESET_MAGIC && rs->cr0 == 0x60000010 && rs->cr4 == 0 && rs->eflags == 2,
	      "cpu reset state: cr0 %x cr4 %x eflags %x", rs->cr0, rs->cr4, rs->eflags);
	check(rs->efer_lo == 0 && rs->efer_hi == 0, "efer cleared: %x", rs->efer_lo);
	check(rs->cs == 0xf000 && rs->ds == 0 && rs->ss == 0 && rs->es == 0,
	      "segments: cs %x ds %x ss %x", rs->cs, rs->ds, rs->ss);
	check((rs->apic_base_lo & 0xfffffd00) == 0xfee00900 && rs->apic_base_hi == 0,
	      "apic base msr: %x", rs->apic_base_lo);
	uint32_t svr = lapic_read(LAPIC_SVR), lvt = lapic_read(LAPIC_LVT_TIMER);
	check((svr & 0x1ff) == 0xff && (lvt & 0x10000), "lapic reset: svr %x, lvt timer %x", svr, lvt);

	/* bring up the second CPU (no firmware tables in a -bios image) */
	lapic_enable();
	int n = smp_boot(NULL, 2, &method);
	check(n == 2, "second cpu started by INIT-SIPI-SIPI (%d online)", n);

	fails += test_failures();
	cmos_put(CMOS_FAILS, fails);
	if (boot >= 4) {
		cmos_put(CMOS_MAGIC, 0);
		printk("%s reset: 4 boots, %d checks failed\n", fails ? "FAIL" : "PASS", fails);
		debug_exit(fails ? 1 : 0);
	}

	/* leave state behind that a reset must clear */
	*RAM_MARK = 0x5a5a0000u + boot;
	lapic_write(LAPIC_TIMER_DCR, 0x3);
	lapic_write(LAPIC_LVT_TIMER, (1u << 17) | 0x10000 | 0x40);
	lapic_write(LAPIC_TIMER_ICR, 0x100000);
	write_cr4(read_cr4() | (1u << 9) | (1u << 7));	/* OSFXSR, PGE */
	switch (boot) {
	case 1:
		printk("reset: via port 0xcf9\n");
		reset_cf9();
	case 2:
		printk("reset: via the i8042\n");
		reset_kbd();
	default:
		printk("reset: via a triple fault\n");
		triple_fault();
	}
	return 0;
}
