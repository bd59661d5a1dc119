/* longmode.bin: 64 KiB -bios image.  Reset vector -> real mode -> protected
 * mode -> long mode with 4-level paging (lib/boot-bios.S, lib/start.S); checks
 * the reset state and the ROM aliases, runs a loop of port writes at CPL3
 * (allowed by the TSS I/O bitmap, then by IOPL=3; software-backed KVM (PVM)
 * ignores the guest's IOPL, which is reported as a skip), and resets the machine
 * through port 0xcf9.  With -no-reboot the VMM must then exit with status 0.
 * A failed check exits through isa-debug-exit instead (status 3). */
#include "guest.h"

#define USER_ITERS 1000

static uint64_t user_port_loop(uint64_t n)
{
	uint64_t i;
	for (i = 0; i < n; i++)
		outb(0x80, (uint8_t)i);
	return i;
}

static uint64_t user_iopl_loop(uint64_t n)
{
	uint64_t i;
	if (FAULT_TRY("mov $0x510, %%edx; outw %%ax, %%dx") != FAULT_NONE)
		return 0;
	for (i = 1; i < n; i++)
		outw(0x510, (uint16_t)i);
	return i;
}

static uint64_t user_denied(uint64_t arg)
{
	(void)arg;
	return (uint64_t)FAULT_TRY("outb %%al, $0x70");
}

int main(void)
{
	volatile struct reset_state *rs = RESET_STATE;
	struct cpu *c = this_cpu();

	test_name = "longmode";
	printk("longmode: in long mode\n");
	note("reset: cr0 %x eflags %x edx %x cs %x efer %x", rs->cr0, rs->eflags, rs->edx,
	     rs->cs, rs->efer_lo);
	check(rs->magic == RESET_MAGIC && rs->cr0 == 0x60000010 && rs->eflags == 2 &&
	      rs->efer_lo == 0 && rs->cr4 == 0, "reset state (cr0 cr4 efer eflags)");
	check(rs->cs == 0xf000 && rs->ds == 0 && rs->ss == 0, "reset segments");
	check((rs->apic_base_lo & 0xfffff900) == 0xfee00900, "apic base msr at reset: %x",
	      rs->apic_base_lo);

	uint64_t efer = rdmsr(MSR_EFER);
	check((efer & 0x500) == 0x500 && (read_cr0() & 0x80000001) == 0x80000001 &&
	      (read_cr4() & 0x20), "long mode active (efer %lx)", efer);

	/* the ROM is at 0xF0000 and at 4 GiB - 64 KiB */
	check(!memcmp((void *)0xffff0000, (void *)0xf0000, 4096) &&
	      !memcmp((void *)0xfffffff0, (void *)0xffff0, 16), "rom aliases match");

	io_allow(c, 0x80, true);
	uint64_t n = run_user(user_port_loop, USER_ITERS, 0);
	check(n == USER_ITERS, "cpl3 loop of %d port writes (tss i/o bitmap)", USER_ITERS);
	int v = (int)run_user(user_denied, 0, 0);
	check(v == 13 && c->fault.error == 0 && (c->fault.cs & 3) == 3,
	      "cpl3 port write outside the bitmap: #GP (vector %d)", v);
	n = run_user(user_iopl_loop, USER_ITERS, RFLAGS_IOPL3);
	if (n == 0 && c->fault.vector == 13)	/* PVM hosts ignore the guest's IOPL */
		skip("cpl3 port writes with iopl 3: #GP (known on PVM hosts)");
	else
		check(n == USER_ITERS, "cpl3 loop of %d port writes (iopl 3)", USER_ITERS);

	if (test_failures())
		test_done();
	printk("PASS longmode: resetting via 0xcf9\n");
	reset_cf9();
}
