/* The CPU-bound loops of the benchmarks, shared by the guests that run
 * them (bench-cpu.elf at CPL 0, user.elf's bench= mode at CPL 3) and by
 * the host program that runs them natively (bench/cpu-native.c), so that
 * every figure times the very same instructions.  x86-64, GNU C. */
#ifndef QVM_BENCH_LOOPS_H
#define QVM_BENCH_LOOPS_H

#include <stdint.h>

#define BENCH_INSNS_PER_ITER 12

/* buf: 16 bytes the loop loads and stores (its memory operands) */
static inline uint64_t bench_loop_alu(uint64_t n, uint64_t *buf)
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
static inline uint64_t bench_loop_rot(uint64_t n)
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

#endif
