/* bench-gather.elf: what an AVX2 gather costs an engine.  Prints "start",
 * runs iters=N rounds of a 5-instruction loop at CPL0 in long mode, prints
 * "done" and a checksum, and exits through debug-exit 0.  loop=gather (the
 * default): VPGATHERDD ymm0 of eight dwords of one 4 KiB page (all mask
 * bits set: VPCMPEQD makes them), then VPADDD into an accumulator;
 * loop=load: the same with VMOVDQU ymm0 of 32 bytes in place of the
 * gather, an instruction the JIT runs natively; the difference per round
 * is the gather's cost beyond a plain 256-bit load.  loop=maskload:
 * VPMASKMOVD ymm0 of the same 32 bytes, all mask bits set.  Needs AVX2 (CPUID),
 * turns on CR4.OSFXSR, CR4.OSXSAVE and XCR0 x87|SSE|AVX itself; without AVX2 it says
 * so and exits 0 at once. */
#include "guest.h"

#define CR4_OSFXSR (1ull << 9)         /* as an OS sets it: the JIT's SSE key */
#define CR4_OSXSAVE (1ull << 18)

static uint32_t table[1024] __attribute__((aligned(4096)));
static const int32_t idx[8] __attribute__((aligned(32))) = { 7, 100, 3, 511, 42, 900, 0, 1023 };

enum loop { GATHER, LOAD, MASKLOAD };

static uint64_t run(uint64_t iters, enum loop loop)
{
	uint32_t out[8] __attribute__((aligned(32)));

	__asm__ volatile("vmovdqu (%0), %%ymm1; vpxor %%ymm3, %%ymm3, %%ymm3" :: "r"(idx));
	if (loop == GATHER)
		__asm__ volatile("1: vpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t"
				 "vpgatherdd %%ymm2, (%1, %%ymm1, 4), %%ymm0\n\t"
				 "vpaddd %%ymm0, %%ymm3, %%ymm3\n\t"
				 "dec %0\n\t"
				 "jnz 1b"
				 : "+r"(iters) : "r"(table) : "memory", "cc");
	else if (loop == MASKLOAD)
		__asm__ volatile("1: vpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t"
				 "vpmaskmovd (%1), %%ymm2, %%ymm0\n\t"
				 "vpaddd %%ymm0, %%ymm3, %%ymm3\n\t"
				 "dec %0\n\t"
				 "jnz 1b"
				 : "+r"(iters) : "r"(table) : "memory", "cc");
	else
		__asm__ volatile("1: vpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t"
				 "vmovdqu (%1), %%ymm0\n\t"
				 "vpaddd %%ymm0, %%ymm3, %%ymm3\n\t"
				 "dec %0\n\t"
				 "jnz 1b"
				 : "+r"(iters) : "r"(table) : "memory", "cc");
	__asm__ volatile("vmovdqu %%ymm3, (%0)" :: "r"(out) : "memory");
	uint64_t sum = 0;
	for (int k = 0; k < 8; k++)
		sum = sum * 31 + out[k];
	return sum;
}

int main(void)
{
	uint32_t r[4];

	test_name = "bench-gather";
	cpuid(7, 0, r);
	if (!(r[1] & (1u << 5))) {
		printk("no AVX2\n");
		debug_exit(0);
	}
	for (unsigned k = 0; k < 1024; k++)
		table[k] = k * 2654435761u;
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXSAVE);
	__asm__ volatile("xsetbv" :: "a"(7), "d"(0), "c"(0));
	uint64_t iters = cmdline_uint("iters", 1000000);
	enum loop loop = cmdline_has("loop=load") ? LOAD : cmdline_has("loop=maskload") ? MASKLOAD : GATHER;
	static const char *const names[] = { "gather", "load", "maskload" };
	printk("start\n");
	uint64_t sum = iters ? run(iters, loop) : 0;
	printk("done\n");
	printk("checksum %llx (%s)\n", (unsigned long long)sum, names[loop]);
	debug_exit(0);
}
