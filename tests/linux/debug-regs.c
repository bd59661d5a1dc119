/* A program for the default Linux guest (tests/linux/debug-regs), built
 * static on the host: the guest kernel's own use of the debug registers
 * and of protection keys.
 *  - perf_event_open(PERF_TYPE_BREAKPOINT) with HW_BREAKPOINT_W on a
 *    variable and HW_BREAKPOINT_X on a function: Linux programs DR0-DR3
 *    and DR7 for this task and counts the #DB traps and faults;
 *  - pkey_alloc + pkey_mprotect + pkey_set(PKEY_DISABLE_WRITE): a write
 *    to the page must raise SIGSEGV with si_code SEGV_PKUERR and the key
 *    in si_pkey; reading it still works, and after pkey_set(0) the write
 *    goes through.
 * Prints one line per result and "debug-regs: done"; exit status 0 when
 * every check passed, 1 otherwise.  Without PKU (pkey_alloc fails) it
 * prints "pkey: unsupported (errno)" and the pkey checks are not run.
 * "debug-regs hwbp" or "debug-regs pkey" runs one half. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif
#define ROUNDS 100

static volatile uint32_t watched;
static int failures;

static void result(int ok, const char *fmt, long a, long b)
{
	printf(fmt, a, b);
	printf(" %s\n", ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
}

__attribute__((noinline)) static int traced(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3 + 1;
}

static int bp_open(uint32_t type, uint64_t addr, uint64_t len)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof(a);
	a.bp_type = type;
	a.bp_addr = addr;
	a.bp_len = len;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	a.disabled = 1;
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static long bp_count(int fd)
{
	long long n = -1;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return -1;
	return (long)n;
}

static void hw_breakpoints(void)
{
	int w = bp_open(HW_BREAKPOINT_W, (uintptr_t)&watched, HW_BREAKPOINT_LEN_4);
	int x = bp_open(HW_BREAKPOINT_X, (uintptr_t)traced, sizeof(long));
	if (w < 0 || x < 0) {
		result(0, "hwbp: perf_event_open failed (errno %ld, %ld)", errno, 0);
		return;
	}
	ioctl(w, PERF_EVENT_IOC_ENABLE, 0);
	ioctl(x, PERF_EVENT_IOC_ENABLE, 0);
	int sum = 0;
	for (int k = 0; k < ROUNDS; k++) {
		watched = (uint32_t)k;          /* a write: hit */
		sum += (int)watched;            /* a read: no hit */
		if (k % 2)
			sum += traced(k);       /* a call: hit */
	}
	ioctl(w, PERF_EVENT_IOC_DISABLE, 0);
	ioctl(x, PERF_EVENT_IOC_DISABLE, 0);
	watched = 1;                            /* disabled: not counted */
	traced(1);
	long nw = bp_count(w), nx = bp_count(x);
	result(nw == ROUNDS, "hwbp: write breakpoint count %ld (want %ld)", nw, ROUNDS);
	result(nx == ROUNDS / 2, "hwbp: exec breakpoint count %ld (want %ld)", nx, ROUNDS / 2);
	printf("hwbp: sum %d\n", sum);
	close(w);
	close(x);
}

static sigjmp_buf segv_jmp;
static volatile int segv_code, segv_pkey;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	segv_code = si->si_code;
#ifdef si_pkey
	segv_pkey = (int)si->si_pkey;
#else
	segv_pkey = -1;
#endif
	siglongjmp(segv_jmp, 1);
}

static void protection_keys(void)
{
	int key = pkey_alloc(0, 0);
	if (key < 0) {
		printf("pkey: unsupported (%s)\n", strerror(errno));
		return;
	}
	volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || pkey_mprotect((void *)p, 4096, PROT_READ | PROT_WRITE, key) < 0) {
		result(0, "pkey: pkey_mprotect failed (errno %ld, key %ld)", errno, key);
		return;
	}
	p[0] = 1;                               /* the TLB has it writable */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	pkey_set(key, PKEY_DISABLE_WRITE);
	int faulted = 0;
	if (sigsetjmp(segv_jmp, 1) == 0)
		p[0] = 2;
	else
		faulted = 1;
	result(faulted && segv_code == SEGV_PKUERR && segv_pkey == key,
	       "pkey: write with PKEY_DISABLE_WRITE: SIGSEGV code %ld key %ld", faulted ? segv_code : -1,
	       segv_pkey);
	/* the handler ran with the default PKRU (every key but 0 access
	 * disabled) and siglongjmp kept it: this key's rights again */
	pkey_set(key, PKEY_DISABLE_WRITE);
	result(p[0] == 1, "pkey: read with PKEY_DISABLE_WRITE gives %ld (want %ld)", p[0], 1);
	pkey_set(key, PKEY_DISABLE_ACCESS);
	faulted = 0;
	segv_code = 0;
	if (sigsetjmp(segv_jmp, 1) == 0)
		(void)p[0];
	else
		faulted = 1;
	result(faulted && segv_code == SEGV_PKUERR, "pkey: read with PKEY_DISABLE_ACCESS: SIGSEGV code %ld (key %ld)",
	       faulted ? segv_code : -1, key);
	pkey_set(key, 0);               /* after siglongjmp, as above */
	p[0] = 3;
	result(p[0] == 3, "pkey: write after pkey_set(0) gives %ld (want %ld)", p[0], 3);
	pkey_free(key);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(only, "pkey"))
		hw_breakpoints();
	if (strcmp(only, "hwbp"))
		protection_keys();
	printf("debug-regs: done\n");
	return failures ? 1 : 0;
}
