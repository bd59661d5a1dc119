/* bench-cpu.elf: CPU-bound loops for instructions-per-second figures.
 * Prints "start", runs iters=N iterations of a fixed 12-instruction loop
 * body at CPL0 in long mode, prints "done", a checksum line, and exits
 * through debug-exit 0.  loop=alu (the default): ALU, multiply, loads,
 * stores, a taken branch; loop=rot: rotates (by immediate, by CL, through
 * carry, 64/32/16 bits), whose flags an emulator must get right for the
 * RCL that reads CF.  bench/ times the loops between "start" and "done". */
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

/* 10 rotates and the loop's DEC/JNZ.  RCL reads the CF that the ADD
 * before it wrote, so the flags are live through the chain. */
static uint64_t loop_rot(uint64_t n)
{
	uint64_t a = 0x0123456789abcdefULL, b = 0xfedcba9876543210ULL, d = 0x5a5a5a5a;
	uint64_t cnt = 9;
	__asm__ volatile(
		"1:\n\t"
		"rol $7, %[a]\n\t"            /* 1 */
		"ror $3, %[b]\n\t"            /* 2 */
		"xor %[a], %[b]\n\t"          /* 3 */
		"rol %%cl, %[a]\n\t"          /* 4 */
		"rorl $5, %k[d]\n\t"          /* 5 */
		"add %[b], %[a]\n\t"          /* 6 */
		"rcl $1, %[b]\n\t"            /* 7 */
		"rol $13, %[d]\n\t"           /* 8 */
		"ror %%cl, %[b]\n\t"          /* 9 */
		"rolw $1, %w[d]\n\t"          /* 10 */
		"dec %[n]\n\t"                /* 11 */
		"jnz 1b\n\t"                  /* 12 */
		: [a] "+r"(a), [b] "+r"(b), [d] "+r"(d), [n] "+r"(n)
		: "c"(cnt)
		: "cc");
	return a ^ b ^ d;
}

int main(void)
{
	test_name = "bench-cpu";
	uint64_t iters = cmdline_uint("iters", 1000000);
	printk("start\n");
	bool rot = cmdline_has("loop=rot");
	uint64_t sum = !iters ? 0 : rot ? loop_rot(iters) : loop(iters);
	printk("done\n");
	printk("checksum %llx (%d instructions per iteration)\n", (unsigned long long)sum,
	       INSNS_PER_ITER);
	debug_exit(0);
}
