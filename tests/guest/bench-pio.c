/* bench-pio.elf: "start", then N byte writes to one I/O port at CPL3
 * (allowed by the TSS I/O bitmap; IOPL 3 for ports above 0x7ff), then
 * "done" and debug-exit 0.  Command line: iters=N (default 10000), port=P
 * (default 0x520). */
#include "guest.h"

static uint16_t port;

static uint64_t loop(uint64_t n)
{
	uint16_t p = port;
	for (uint64_t i = 0; i < n; i++)
		__asm__ volatile("outb %%al, %%dx" :: "a"(0), "d"(p));
	return n;
}

int main(void)
{
	test_name = "bench-pio";
	uint64_t iters = cmdline_uint("iters", 10000);
	port = (uint16_t)cmdline_uint("port", 0x520);
	printk("start\n");
	io_allow(this_cpu(), port, true);
	run_user(loop, iters, port < IOMAP_PORTS ? 0 : RFLAGS_IOPL3);
	printk("done\n");
	debug_exit(0);
}
