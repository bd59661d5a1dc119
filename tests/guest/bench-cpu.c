/* bench-cpu.elf: a CPU-bound loop for instructions-per-second figures.
 * Prints "start", runs iters=N iterations of a fixed 12-instruction loop
 * body (ALU, multiply, loads, stores, a taken branch) at CPL0 in long
 * mode, prints "done", a checksum line, and exits through debug-exit 0.  bench/
 * times two iteration counts and divides the difference, so boot and
 * exit costs cancel out. */
#include "guest.h"

#define INSNS_PER_ITER 12

static uint64_t buf[64];

static uint64_t loop(uint64_t n)
{
	uint64_t a = 1, b = 2, p = (uint64_t)buf;
	__asm__ volatile(
		"1:\n\t"
		"add %[a], %[b]\n\t"            /* 1 */
		"xor $0x5a5a, %[a]\n\t"         /* 2 */
		"imul $33, %[b], %[a]\n\t"      /* 3 */
		"mov (%[p]), %%rdx\n\t"         /* 4 */
		"add %%rdx, %[a]\n\t"           /* 5 */
		"mov %[a], 8(%[p])\n\t"         /* 6 */
		"shr $3, %%rdx\n\t"             /* 7 */
		"lea 1(%%rdx,%[b]), %%rdx\n\t"  /* 8 */
		"mov %%rdx, (%[p])\n\t"         /* 9 */
		"cmp %[a], %[b]\n\t"            /* 10 */
		"dec %[n]\n\t"                  /* 11 */
		"jnz 1b\n\t"                    /* 12 */
		: [a] "+r"(a), [b] "+r"(b), [n] "+r"(n)
		: [p] "r"(p)
		: "rdx", "memory", "cc");
	return a ^ b;
}

int main(void)
{
	test_name = "bench-cpu";
	uint64_t iters = cmdline_uint("iters", 1000000);
	printk("start\n");
	uint64_t sum = iters ? loop(iters) : 0;
	printk("done\n");
	printk("checksum %llx (%d instructions per iteration)\n", (unsigned long long)sum,
	       INSNS_PER_ITER);
	debug_exit(0);
}
