/*
 * cpu-native: bench-cpu's loops (tests/guest/bench-loops.h) run natively
 * on the host, for the figures that compare guest code under kqemu with
 * the host CPU itself (bench/kqemu.py).
 *
 * Usage: cpu-native ROUNDS [alu|rot]
 * Prints "ns/round T checksum C": the wall time per round (CLOCK_MONOTONIC
 * around the loop) and the loop's result, which equals the guests'.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../tests/guest/bench-loops.h"

static uint64_t buf[64];

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	char *end = NULL;
	unsigned long long rounds = argc >= 2 ? strtoull(argv[1], &end, 0) : 0;
	const char *loop = argc >= 3 ? argv[2] : "alu";
	if (argc < 2 || argc > 3 || !end || *end || !rounds ||
	    (strcmp(loop, "alu") && strcmp(loop, "rot"))) {
		fprintf(stderr, "usage: cpu-native ROUNDS [alu|rot]\n");
		return 2;
	}
	double t0 = now();
	uint64_t sum = strcmp(loop, "rot") ? bench_loop_alu(rounds, buf) : bench_loop_rot(rounds);
	double t1 = now();
	printf("ns/round %.4f checksum %" PRIx64 "\n", (t1 - t0) * 1e9 / (double)rounds, sum);
	return 0;
}
