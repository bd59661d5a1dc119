/* bench-cpu.elf: CPU-bound loops for instructions-per-second figures.
 * Prints "start", runs iters=N iterations of a fixed 12-instruction loop
 * body at CPL0 in long mode, prints "done", a checksum line, and exits
 * through debug-exit 0.  loop=alu (the default): ALU, multiply, loads,
 * stores, a taken branch; loop=rot: rotates (by immediate, by CL, through
 * carry, 64/32/16 bits), whose flags an emulator must get right for the
 * RCL that reads CF.  bench/ times the loops between "start" and "done". */
#include "guest.h"

#include "bench-loops.h"

static uint64_t buf[64];

int main(void)
{
	test_name = "bench-cpu";
	uint64_t iters = cmdline_uint("iters", 1000000);
	printk("start\n");
	bool rot = cmdline_has("loop=rot");
	uint64_t sum = !iters ? 0 : rot ? bench_loop_rot(iters) : bench_loop_alu(iters, buf);
	printk("done\n");
	printk("checksum %llx (%d instructions per iteration)\n", (unsigned long long)sum,
	       BENCH_INSNS_PER_ITER);
	debug_exit(0);
}
