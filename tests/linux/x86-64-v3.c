/*
 * x86-64-v3: a program for the x86-64-v3 micro-architecture level (the
 * psABI's levels: AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE, XSAVE
 * on top of v2), built with
 *
 *     gcc -O2 -march=x86-64-v3 -static -o x86-64-v3 x86-64-v3.c
 *
 * and run in a guest; every line it prints must equal the host CPU's run
 * of the same binary (tests/linux/march-v3, tests/debian/run, the
 * Debian figures of bench/).  The loops are ones gcc turns into 256-bit
 * AVX2 and FMA code by itself at -O2 (fixed trip counts, so that the
 * vector code replaces the scalar loop whole); the scalar code uses the
 * BMI1/BMI2/LZCNT/MOVBE instructions -march=x86-64-v3 lets gcc pick
 * (SHLX/SARX/SHRX, RORX, MULX, ANDN, BLSR, TZCNT, LZCNT, MOVBE), and the
 * intrinsics add what gcc does not pick on its own here: gathers,
 * VPSHUFB/VPERMD/VPERMQ, masked loads, PDEP/PEXT and the F16C conversions.
 *
 * main() itself is compiled for the baseline (target("arch=x86-64")): it
 * reads CPUID and XCR0 first and, where the CPU or the kernel (XCR0: the
 * OS saves the YMM state) lacks something, prints one line
 * "x86-64-v3: not supported: missing ..." and exits with status 2 without
 * running a v3 instruction.  Otherwise it prints "x86-64-v3: supported",
 * one "NAME HASH" line per kernel and "x86-64-v3: done".
 *
 * Usage: x86-64-v3 [ROUNDS]   (default 4; the work grows linearly with it,
 * which is what the benchmark varies)
 */
#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 4096

static float fx[N], fy[N], fz[N];
static double dx[N], dy[N];
static uint32_t ua[N], ub[N], uc[N];
static int32_t ia[N], ib[N];
static uint8_t bytes[N], bout[N];
static uint16_t halves[N];

/* FNV-1a over the bytes of a buffer: the answer a line prints */
static uint64_t hash(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

#define FNV0 0xcbf29ce484222325ull

/* xorshift64: the same inputs on every CPU */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(void)
{
	for (int i = 0; i < N; i++) {
		uint64_t r = next();
		fx[i] = (float)(int32_t)r / 65536.0f;
		fy[i] = (float)(int32_t)(r >> 32) / 1048576.0f;
		fz[i] = 0;
		dx[i] = (double)(int64_t)next() / 4294967296.0;
		dy[i] = (double)(int32_t)r / 3.0;
		ua[i] = (uint32_t)r;
		ub[i] = (uint32_t)(r >> 32);
		ia[i] = (int32_t)(r >> 16);
		ib[i] = (int32_t)next();
		bytes[i] = (uint8_t)(r >> 24);
	}
}

/* a*x + y, then a product and a sum: VFMADD.PS/VFMADD.PD ymm */
__attribute__((noinline)) static void fma_float(float a)
{
	for (int i = 0; i < N; i++)
		fy[i] = a * fx[i] + fy[i];
	for (int i = 0; i < N; i++)
		fz[i] = fx[i] * fy[i] - fz[i] * 0.5f;
}

__attribute__((noinline)) static void fma_double(double a)
{
	for (int i = 0; i < N; i++)
		dy[i] = dx[i] * a + dy[i];
	for (int i = 0; i < N; i++)
		dx[i] = dx[i] * 0.999 - dy[i] * 1e-9;
}

/* the integer AVX2 forms: VPMULLD, VPSLLVD/VPSRLVD/VPSRAVD, VPMINUD,
 * VPMAXSD, VPADDD, VPXOR, VPCMPGTD with a blend */
__attribute__((noinline)) static void int_vectors(void)
{
	for (int i = 0; i < N; i++)
		uc[i] = (ua[i] * 2654435761u) ^ (ub[i] << (ua[i] & 31)) ^ (ub[i] >> (ua[i] >> 27));
	for (int i = 0; i < N; i++)
		ua[i] = (ua[i] < uc[i] ? ua[i] : uc[i]) + (ub[i] ^ uc[i]);
	for (int i = 0; i < N; i++)
		ia[i] = (ia[i] > ib[i] ? ia[i] : ib[i]) + (ib[i] >> (ia[i] & 15));
	for (int i = 0; i < N; i++)
		ib[i] = ia[i] > 0 ? ib[i] - ia[i] : ib[i] + 7;
}

/* bytes: VPADDUSB, VPAVGB, VPMAXUB and the like */
__attribute__((noinline)) static void byte_vectors(void)
{
	for (int i = 0; i < N; i++) {
		unsigned s = (unsigned)bytes[i] + bout[i];
		bout[i] = (uint8_t)(s > 255 ? 255 : s);
	}
	for (int i = 0; i < N; i++)
		bytes[i] = (uint8_t)((bytes[i] + bout[i] + 1) >> 1) ^ (uint8_t)(i * 37);
}

/* the intrinsics: a gather, shuffles and permutes, a masked load, F16C */
__attribute__((noinline)) static uint64_t intrinsics(uint64_t h)
{
	const __m256i idx_mask = _mm256_set1_epi32(N - 1);
	const __m256i shuf = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
					      0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
	const __m256i perm = _mm256_setr_epi32(7, 0, 6, 1, 5, 2, 4, 3);
	const __m256i mask = _mm256_setr_epi32(-1, 0, -1, -1, 0, 0, -1, 0);
	for (int i = 0; i < N; i += 8) {
		__m256i v = _mm256_loadu_si256((const __m256i *)&ua[i]);
		__m256i idx = _mm256_and_si256(v, idx_mask);
		__m256i g = _mm256_i32gather_epi32((const int *)ub, idx, 4);
		__m256d gd = _mm256_i32gather_pd(dy, _mm256_castsi256_si128(idx), 8);
		__m256i m = _mm256_maskload_epi32((const int *)&uc[i], mask);
		__m256i r = _mm256_shuffle_epi8(_mm256_add_epi32(g, m), shuf);
		r = _mm256_permutevar8x32_epi32(r, perm);
		r = _mm256_permute4x64_epi64(r, 0x4e);
		r = _mm256_xor_si256(r, _mm256_castpd_si256(gd));
		_mm256_storeu_si256((__m256i *)&uc[i], r);
		/* F16C: float to half (round to nearest) and back */
		__m128i ph = _mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(&fy[i]), _mm256_set1_ps(1.0f / 65536)),
					     _MM_FROUND_TO_NEAREST_INT);
		_mm_storeu_si128((__m128i *)&halves[i], ph);
		_mm256_storeu_ps(&fz[i], _mm256_add_ps(_mm256_cvtph_ps(ph), _mm256_loadu_ps(&fz[i])));
	}
	h = hash(halves, sizeof halves, h);
	return hash(uc, sizeof uc, h);
}

/* the scalar BMI1/BMI2/LZCNT/MOVBE code: variable shifts (SHLX, SARX,
 * SHRX), a rotate (RORX), 64x64->128 multiply (MULX), ANDN, BLSR, TZCNT,
 * LZCNT, big-endian loads (MOVBE), PDEP/PEXT */
__attribute__((noinline)) static uint64_t scalar_bits(uint64_t h)
{
	uint64_t acc = 0x0123456789abcdefull;
	for (int i = 0; i < N; i++) {
		uint64_t a = ((uint64_t)ua[i] << 32) | ub[i];
		int64_t s = (int64_t)a;
		unsigned n = uc[i] & 63;
		acc += (a << n) ^ (a >> (63 - n)) ^ (uint64_t)(s >> n);
		acc = (acc >> 13) | (acc << 51);
		unsigned __int128 p = (unsigned __int128)acc * (a | 1);
		acc ^= (uint64_t)(p >> 64) + (uint64_t)p;
		acc += ~a & acc;
		uint64_t low = a & (a - 1);
		acc += (uint64_t)(low ? __builtin_ctzll(low) : 64);
		acc += (uint64_t)(a ? __builtin_clzll(a) : 64);
		acc += (uint64_t)__builtin_popcountll(a);
		uint32_t be;
		memcpy(&be, &bytes[i & ~3], 4);
		acc ^= __builtin_bswap32(be);
		acc += _pdep_u64(a, acc) ^ _pext_u64(acc, a);
	}
	return hash(&acc, sizeof acc, h);
}

/* the rounds; one line per kernel, each hash over everything so far */
__attribute__((noinline)) static void work(int rounds)
{
	fill();
	for (int r = 0; r < rounds; r++) {
		fma_float(1.0f + (float)r / 64.0f);
		fma_double(0.75 + r);
		int_vectors();
		byte_vectors();
	}
	printf("fma-float %016llx\n", (unsigned long long)hash(fy, sizeof fy, hash(fz, sizeof fz, FNV0)));
	printf("fma-double %016llx\n", (unsigned long long)hash(dx, sizeof dx, hash(dy, sizeof dy, FNV0)));
	printf("int %016llx\n", (unsigned long long)hash(ua, sizeof ua, hash(ia, sizeof ia, hash(ib, sizeof ib, FNV0))));
	printf("bytes %016llx\n", (unsigned long long)hash(bytes, sizeof bytes, hash(bout, sizeof bout, FNV0)));
	uint64_t h = FNV0;
	for (int r = 0; r < rounds; r++)
		h = intrinsics(h);
	printf("intrinsics %016llx\n", (unsigned long long)h);
	h = FNV0;
	for (int r = 0; r < rounds; r++)
		h = scalar_bits(h);
	printf("bits %016llx\n", (unsigned long long)h);
	printf("sample %a %a %a\n", (double)fy[N / 2], dy[N / 3], (double)fz[N - 1]);
}

/* CPUID bits of x86-64-v3 (SDM Vol. 2A, CPUID leaf 1 ECX, leaf 7 EBX,
 * leaf 0x80000001 ECX) and what XCR0 must enable (SDM Vol. 1, 13.3: the
 * OS has set XCR0[2:1] for the SSE and AVX state) */
__attribute__((target("arch=x86-64"))) static int missing(char *out, size_t len)
{
	unsigned a, b, c, d, l1c = 0, l7b = 0, e1c = 0, max;
	max = __get_cpuid_max(0, NULL);
	if (__get_cpuid(1, &a, &b, &c, &d))
		l1c = c;
	if (max >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		l7b = b;
	}
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		e1c = c;
	/* where: 0 leaf 1 ECX, 1 leaf 7 EBX, 2 leaf 0x80000001 ECX */
	static const struct { const char *name; int where; unsigned bit; } need[] = {
		{ "sse4.2", 0, 20 }, { "popcnt", 0, 23 }, { "fma", 0, 12 },
		{ "movbe", 0, 22 }, { "osxsave", 0, 27 }, { "avx", 0, 28 },
		{ "f16c", 0, 29 }, { "bmi1", 1, 3 }, { "avx2", 1, 5 },
		{ "bmi2", 1, 8 }, { "lzcnt", 2, 5 },
	};
	int n = 0;
	out[0] = 0;
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
		unsigned reg = need[i].where == 0 ? l1c : need[i].where == 1 ? l7b : e1c;
		if (!(reg >> need[i].bit & 1)) {
			snprintf(out + strlen(out), len - strlen(out), " %s", need[i].name);
			n++;
		}
	}
	if (l1c >> 27 & 1) {
		unsigned lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		if ((lo & 6) != 6) {
			snprintf(out + strlen(out), len - strlen(out), " xcr0.ymm");
			n++;
		}
	}
	return n;
}

__attribute__((target("arch=x86-64"))) int main(int argc, char **argv)
{
	char why[128];
	int rounds = argc > 1 ? atoi(argv[1]) : 4;
	if (rounds < 1) {
		fprintf(stderr, "usage: x86-64-v3 [ROUNDS]\n");
		return 1;
	}
	if (missing(why, sizeof why)) {
		printf("x86-64-v3: not supported: missing%s\n", why);
		return 2;
	}
	printf("x86-64-v3: supported\n");
	work(rounds);
	printf("x86-64-v3: done\n");
	return 0;
}
