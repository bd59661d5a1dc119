/*
 * The host's TSC rate (apic.h: tsc_hz), measured once and cached.
 *
 * Sources, best first: the kernel's own figure in
 * /sys/devices/system/cpu/cpu0/tsc_freq_khz (present on some kernels);
 * else a calibration against CLOCK_MONOTONIC over about 20 ms, replaced
 * by the exact rate from CPUID leaf 0x15 (crystal clock times the
 * TSC/crystal ratio) or the nominal one from leaf 0x16 when they agree
 * with it (a hypervisor may report leaves that don't describe the TSC it
 * gives us).  The TSC is assumed invariant (SDM Vol. 3, 18.17.1), as on
 * every host qvm runs on.
 */
#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include "hw/apic.h"

#define CALIBRATE_NS 20000000ULL
#define AGREE_PPM 5000          /* a CPUID rate within 0.5 % wins */

static pthread_once_t tsc_once = PTHREAD_ONCE_INIT;
static uint64_t tsc_rate;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t sysfs_hz(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/cpu0/tsc_freq_khz", "r");
	unsigned long long khz = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &khz) != 1)
		khz = 0;
	fclose(f);
	return khz * 1000;
}

/* A (TSC, clock) pair read as close together as we can: the narrowest
 * of a few brackets of the clock read by two TSC reads. */
static void sample(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 16; i++) {
		uint64_t t0 = host_rdtsc(), n = mono_ns(), t1 = host_rdtsc();
		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*ns = n;
		}
	}
}

static uint64_t calibrate_hz(void)
{
	uint64_t tsc0, ns0, tsc1, ns1;
	sample(&tsc0, &ns0);
	struct timespec nap = { 0, CALIBRATE_NS };
	while (nanosleep(&nap, &nap) != 0)
		;
	sample(&tsc1, &ns1);
	if (ns1 <= ns0 || tsc1 <= tsc0)
		return 1000000000ULL; /* no usable clock: a guess */
	return (uint64_t)((unsigned __int128)(tsc1 - tsc0) * 1000000000ULL / (ns1 - ns0));
}

/* CPUID 0x15: TSC = crystal * EBX / EAX; 0x16: base MHz in EAX. */
static uint64_t cpuid_hz(unsigned leaf)
{
	unsigned a, b, c, d;
	if ((unsigned)__get_cpuid_max(0, NULL) < leaf || !__get_cpuid_count(leaf, 0, &a, &b, &c, &d))
		return 0;
	if (leaf == 0x15)
		return a && b && c ? (uint64_t)c * b / a : 0;
	return (uint64_t)(a & 0xffff) * 1000000;
}

static bool agrees(uint64_t hz, uint64_t ref)
{
	uint64_t diff = hz > ref ? hz - ref : ref - hz;
	return hz && diff <= ref / 1000000 * AGREE_PPM;
}

static void tsc_measure(void)
{
	uint64_t hz = sysfs_hz();
	if (!hz) {
		uint64_t cal = calibrate_hz();
		uint64_t crystal = cpuid_hz(0x15), nominal = cpuid_hz(0x16);
		hz = agrees(crystal, cal) ? crystal : agrees(nominal, cal) ? nominal : cal;
	}
	__atomic_store_n(&tsc_rate, hz, __ATOMIC_RELEASE);
}

uint64_t tsc_hz(void)
{
	uint64_t hz = __atomic_load_n(&tsc_rate, __ATOMIC_ACQUIRE);
	if (hz)
		return hz;
	pthread_once(&tsc_once, tsc_measure);
	return __atomic_load_n(&tsc_rate, __ATOMIC_ACQUIRE);
}
