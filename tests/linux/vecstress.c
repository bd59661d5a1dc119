/*
 * vecstress: guest processes hammering their vector registers under
 * preemption (issue 13, item 4).  Run inside the Linux guest by
 * tests/linux/vector-state.  Each of NPROC processes fills every vector
 * register the CPU has (XMM0-15 with SSE; YMM0-15 with AVX; ZMM0-31 and
 * k1-k7 with AVX-512, as CPUID and XGETBV say) with its own values, spins
 * without touching them, stores them back and compares, for SECS
 * seconds.  A guest kernel that does not save and restore a component
 * across its context switches lets one process see another's values.
 * Prints one line: "vector-state: ok ..." or "vector-state: CORRUPT ...".
 * Built static with the host's gcc; the asm blocks are generated (one
 * line per register) and need no -m flags.
 * Usage: vecstress NPROC SECS
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum level { SSE, AVX, AVX512 };
static const char *const level_name[] = { "sse (xmm0-15)", "avx (ymm0-15)",
					  "avx-512 (zmm0-31, k1-7)" };

static enum level detect(void)
{
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	if (!(c & bit_OSXSAVE) || !(c & bit_AVX))
		return SSE;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 6) != 6)
		return SSE;
	__cpuid_count(7, 0, a, b, c, d);
	if ((b & bit_AVX512F) && (lo & 0xe6) == 0xe6)
		return AVX512;
	return AVX;
}

static uint64_t in[40];
static uint8_t out[32 * 64 + 8 * 8] __attribute__((aligned(64)));

static void round_sse(long n)
{
	__asm__ volatile(
		"movddup 0(%[in]), %%xmm0\n\t"
		"movddup 8(%[in]), %%xmm1\n\t"
		"movddup 16(%[in]), %%xmm2\n\t"
		"movddup 24(%[in]), %%xmm3\n\t"
		"movddup 32(%[in]), %%xmm4\n\t"
		"movddup 40(%[in]), %%xmm5\n\t"
		"movddup 48(%[in]), %%xmm6\n\t"
		"movddup 56(%[in]), %%xmm7\n\t"
		"movddup 64(%[in]), %%xmm8\n\t"
		"movddup 72(%[in]), %%xmm9\n\t"
		"movddup 80(%[in]), %%xmm10\n\t"
		"movddup 88(%[in]), %%xmm11\n\t"
		"movddup 96(%[in]), %%xmm12\n\t"
		"movddup 104(%[in]), %%xmm13\n\t"
		"movddup 112(%[in]), %%xmm14\n\t"
		"movddup 120(%[in]), %%xmm15\n\t"
		"1: dec %[n]\n\t"
		"jnz 1b\n\t"
		"movdqu %%xmm0, 0(%[out])\n\t"
		"movdqu %%xmm1, 64(%[out])\n\t"
		"movdqu %%xmm2, 128(%[out])\n\t"
		"movdqu %%xmm3, 192(%[out])\n\t"
		"movdqu %%xmm4, 256(%[out])\n\t"
		"movdqu %%xmm5, 320(%[out])\n\t"
		"movdqu %%xmm6, 384(%[out])\n\t"
		"movdqu %%xmm7, 448(%[out])\n\t"
		"movdqu %%xmm8, 512(%[out])\n\t"
		"movdqu %%xmm9, 576(%[out])\n\t"
		"movdqu %%xmm10, 640(%[out])\n\t"
		"movdqu %%xmm11, 704(%[out])\n\t"
		"movdqu %%xmm12, 768(%[out])\n\t"
		"movdqu %%xmm13, 832(%[out])\n\t"
		"movdqu %%xmm14, 896(%[out])\n\t"
		"movdqu %%xmm15, 960(%[out])\n\t"
		: [n] "+r"(n) : [in] "r"(in), [out] "r"(out)
		: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

/* AVX alone (CPUID.1:ECX.AVX is all detect() checks): each value
 * broadcast here, loaded with VMOVDQU */
static uint64_t yin[16][4] __attribute__((aligned(32)));

/* plain code: no target attribute, so the compiler's own vector code
 * here stays SSE2 */
static __attribute__((noinline)) void fill_yin(void)
{
	for (int r = 0; r < 16; r++)
		for (int k = 0; k < 4; k++)
			yin[r][k] = in[r];
}

static void round_avx(long n)
{
	fill_yin();
	__asm__ volatile(
		"vmovdqu 0(%[yin]), %%ymm0\n\t"
		"vmovdqu 32(%[yin]), %%ymm1\n\t"
		"vmovdqu 64(%[yin]), %%ymm2\n\t"
		"vmovdqu 96(%[yin]), %%ymm3\n\t"
		"vmovdqu 128(%[yin]), %%ymm4\n\t"
		"vmovdqu 160(%[yin]), %%ymm5\n\t"
		"vmovdqu 192(%[yin]), %%ymm6\n\t"
		"vmovdqu 224(%[yin]), %%ymm7\n\t"
		"vmovdqu 256(%[yin]), %%ymm8\n\t"
		"vmovdqu 288(%[yin]), %%ymm9\n\t"
		"vmovdqu 320(%[yin]), %%ymm10\n\t"
		"vmovdqu 352(%[yin]), %%ymm11\n\t"
		"vmovdqu 384(%[yin]), %%ymm12\n\t"
		"vmovdqu 416(%[yin]), %%ymm13\n\t"
		"vmovdqu 448(%[yin]), %%ymm14\n\t"
		"vmovdqu 480(%[yin]), %%ymm15\n\t"
		"1: dec %[n]\n\t"
		"jnz 1b\n\t"
		"vmovdqu %%ymm0, 0(%[out])\n\t"
		"vmovdqu %%ymm1, 64(%[out])\n\t"
		"vmovdqu %%ymm2, 128(%[out])\n\t"
		"vmovdqu %%ymm3, 192(%[out])\n\t"
		"vmovdqu %%ymm4, 256(%[out])\n\t"
		"vmovdqu %%ymm5, 320(%[out])\n\t"
		"vmovdqu %%ymm6, 384(%[out])\n\t"
		"vmovdqu %%ymm7, 448(%[out])\n\t"
		"vmovdqu %%ymm8, 512(%[out])\n\t"
		"vmovdqu %%ymm9, 576(%[out])\n\t"
		"vmovdqu %%ymm10, 640(%[out])\n\t"
		"vmovdqu %%ymm11, 704(%[out])\n\t"
		"vmovdqu %%ymm12, 768(%[out])\n\t"
		"vmovdqu %%ymm13, 832(%[out])\n\t"
		"vmovdqu %%ymm14, 896(%[out])\n\t"
		"vmovdqu %%ymm15, 960(%[out])\n\t"
		: [n] "+r"(n) : [yin] "r"(yin), [out] "r"(out)
		: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

__attribute__((target("avx512f")))
static void round_avx512(long n)
{
	__asm__ volatile(
		"vpbroadcastq 0(%[in]), %%zmm0\n\t"
		"vpbroadcastq 8(%[in]), %%zmm1\n\t"
		"vpbroadcastq 16(%[in]), %%zmm2\n\t"
		"vpbroadcastq 24(%[in]), %%zmm3\n\t"
		"vpbroadcastq 32(%[in]), %%zmm4\n\t"
		"vpbroadcastq 40(%[in]), %%zmm5\n\t"
		"vpbroadcastq 48(%[in]), %%zmm6\n\t"
		"vpbroadcastq 56(%[in]), %%zmm7\n\t"
		"vpbroadcastq 64(%[in]), %%zmm8\n\t"
		"vpbroadcastq 72(%[in]), %%zmm9\n\t"
		"vpbroadcastq 80(%[in]), %%zmm10\n\t"
		"vpbroadcastq 88(%[in]), %%zmm11\n\t"
		"vpbroadcastq 96(%[in]), %%zmm12\n\t"
		"vpbroadcastq 104(%[in]), %%zmm13\n\t"
		"vpbroadcastq 112(%[in]), %%zmm14\n\t"
		"vpbroadcastq 120(%[in]), %%zmm15\n\t"
		"vpbroadcastq 128(%[in]), %%zmm16\n\t"
		"vpbroadcastq 136(%[in]), %%zmm17\n\t"
		"vpbroadcastq 144(%[in]), %%zmm18\n\t"
		"vpbroadcastq 152(%[in]), %%zmm19\n\t"
		"vpbroadcastq 160(%[in]), %%zmm20\n\t"
		"vpbroadcastq 168(%[in]), %%zmm21\n\t"
		"vpbroadcastq 176(%[in]), %%zmm22\n\t"
		"vpbroadcastq 184(%[in]), %%zmm23\n\t"
		"vpbroadcastq 192(%[in]), %%zmm24\n\t"
		"vpbroadcastq 200(%[in]), %%zmm25\n\t"
		"vpbroadcastq 208(%[in]), %%zmm26\n\t"
		"vpbroadcastq 216(%[in]), %%zmm27\n\t"
		"vpbroadcastq 224(%[in]), %%zmm28\n\t"
		"vpbroadcastq 232(%[in]), %%zmm29\n\t"
		"vpbroadcastq 240(%[in]), %%zmm30\n\t"
		"vpbroadcastq 248(%[in]), %%zmm31\n\t"
		"kmovw 256(%[in]), %%k1\n\t"
		"kmovw 264(%[in]), %%k2\n\t"
		"kmovw 272(%[in]), %%k3\n\t"
		"kmovw 280(%[in]), %%k4\n\t"
		"kmovw 288(%[in]), %%k5\n\t"
		"kmovw 296(%[in]), %%k6\n\t"
		"kmovw 304(%[in]), %%k7\n\t"
		"1: dec %[n]\n\t"
		"jnz 1b\n\t"
		"vmovdqu64 %%zmm0, 0(%[out])\n\t"
		"vmovdqu64 %%zmm1, 64(%[out])\n\t"
		"vmovdqu64 %%zmm2, 128(%[out])\n\t"
		"vmovdqu64 %%zmm3, 192(%[out])\n\t"
		"vmovdqu64 %%zmm4, 256(%[out])\n\t"
		"vmovdqu64 %%zmm5, 320(%[out])\n\t"
		"vmovdqu64 %%zmm6, 384(%[out])\n\t"
		"vmovdqu64 %%zmm7, 448(%[out])\n\t"
		"vmovdqu64 %%zmm8, 512(%[out])\n\t"
		"vmovdqu64 %%zmm9, 576(%[out])\n\t"
		"vmovdqu64 %%zmm10, 640(%[out])\n\t"
		"vmovdqu64 %%zmm11, 704(%[out])\n\t"
		"vmovdqu64 %%zmm12, 768(%[out])\n\t"
		"vmovdqu64 %%zmm13, 832(%[out])\n\t"
		"vmovdqu64 %%zmm14, 896(%[out])\n\t"
		"vmovdqu64 %%zmm15, 960(%[out])\n\t"
		"vmovdqu64 %%zmm16, 1024(%[out])\n\t"
		"vmovdqu64 %%zmm17, 1088(%[out])\n\t"
		"vmovdqu64 %%zmm18, 1152(%[out])\n\t"
		"vmovdqu64 %%zmm19, 1216(%[out])\n\t"
		"vmovdqu64 %%zmm20, 1280(%[out])\n\t"
		"vmovdqu64 %%zmm21, 1344(%[out])\n\t"
		"vmovdqu64 %%zmm22, 1408(%[out])\n\t"
		"vmovdqu64 %%zmm23, 1472(%[out])\n\t"
		"vmovdqu64 %%zmm24, 1536(%[out])\n\t"
		"vmovdqu64 %%zmm25, 1600(%[out])\n\t"
		"vmovdqu64 %%zmm26, 1664(%[out])\n\t"
		"vmovdqu64 %%zmm27, 1728(%[out])\n\t"
		"vmovdqu64 %%zmm28, 1792(%[out])\n\t"
		"vmovdqu64 %%zmm29, 1856(%[out])\n\t"
		"vmovdqu64 %%zmm30, 1920(%[out])\n\t"
		"vmovdqu64 %%zmm31, 1984(%[out])\n\t"
		"kmovw %%k1, 2048(%[out])\n\t"
		"kmovw %%k2, 2056(%[out])\n\t"
		"kmovw %%k3, 2064(%[out])\n\t"
		"kmovw %%k4, 2072(%[out])\n\t"
		"kmovw %%k5, 2080(%[out])\n\t"
		"kmovw %%k6, 2088(%[out])\n\t"
		"kmovw %%k7, 2096(%[out])\n\t"
		: [n] "+r"(n) : [in] "r"(in), [out] "r"(out)
		: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

/* register i of width bytes must hold in[i] in every 8 bytes; k regs
 * their low 16 bits */
static int check(enum level lv, long round)
{
	unsigned nregs = lv == AVX512 ? 32 : 16, width = lv == SSE ? 16 : lv == AVX ? 32 : 64;
	for (unsigned i = 0; i < nregs; i++)
		for (unsigned q = 0; q < width / 8; q++) {
			uint64_t v;
			memcpy(&v, out + 64 * i + 8 * q, 8);
			if (v != in[i]) {
				printf("vector-state: CORRUPT pid %d round %ld: register %u quad %u "
				       "is %016llx, expected %016llx\n", (int)getpid(), round, i, q,
				       (unsigned long long)v, (unsigned long long)in[i]);
				return 1;
			}
		}
	if (lv == AVX512)
		for (unsigned k = 0; k < 7; k++) {
			uint16_t v;
			memcpy(&v, out + 64 * 32 + 8 * k, 2);
			if (v != (uint16_t)in[32 + k]) {
				printf("vector-state: CORRUPT pid %d round %ld: k%u is %04x, expected "
				       "%04x\n", (int)getpid(), round, k + 1, v, (uint16_t)in[32 + k]);
				return 1;
			}
		}
	return 0;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int child(enum level lv, double secs, long spins)
{
	uint64_t x = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL;
	double end = now() + secs;
	long round = 0;
	do {
		for (unsigned i = 0; i < 40; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			in[i] = x;
		}
		memset(out, 0, sizeof(out));
		if (lv == AVX512)
			round_avx512(spins);
		else if (lv == AVX)
			round_avx(spins);
		else
			round_sse(spins);
		if (check(lv, round))
			return 1;
		if (++round % 8 == 0)
			sched_yield();
	} while (now() < end);
	printf("R rounds %d %ld\n", (int)getpid(), round);
	return 0;
}

int main(int argc, char **argv)
{
	int nproc = argc > 1 ? atoi(argv[1]) : 4;
	double secs = argc > 2 ? atof(argv[2]) : 3;
	long spins = argc > 3 ? atol(argv[3]) : 2000000;
	if (nproc < 1 || nproc > 64 || secs <= 0 || spins < 1) {
		fprintf(stderr, "usage: vecstress NPROC SECS [SPINS]\n");
		return 2;
	}
	enum level lv = detect();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int p = 0; p < nproc; p++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0)
			_exit(child(lv, secs, spins));
	}
	int bad = 0;
	for (int p = 0; p < nproc; p++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	if (bad)
		printf("vector-state: CORRUPT (%d of %d processes saw another's registers or died) "
		       "with %s\n", bad, nproc, level_name[lv]);
	else
		printf("vector-state: ok (%d processes, %.1f s, %s)\n", nproc, secs, level_name[lv]);
	return bad ? 1 : 0;
}
