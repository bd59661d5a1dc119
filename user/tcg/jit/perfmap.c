/*
 * Profiling translated code: with QVM_JIT_PERFMAP=1 in the environment,
 * every translated block is listed in /tmp/perf-PID.map, the file perf
 * reads to name code it finds no symbols for (tools/perf's "JIT
 * interface" for a map file), so `perf report` shows guest_RIP_kKEY
 * instead of raw addresses.  Code cache flushes reuse addresses; perf
 * takes the last entry.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tcg/jit/tr.h"

static FILE *perfmap;
static pthread_once_t perfmap_once = PTHREAD_ONCE_INIT;

static void perfmap_open(void)
{
	const char *on = getenv("QVM_JIT_PERFMAP");
	if (!on || !*on || !strcmp(on, "0"))
		return;
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	perfmap = fopen(path, "w");
	if (!perfmap)
		qvm_error("QVM_JIT_PERFMAP: cannot write %s", path);
	else
		setvbuf(perfmap, NULL, _IOLBF, 0);
}

void jit_perfmap_add(const void *code, size_t size, uint64_t rip, uint32_t key)
{
	pthread_once(&perfmap_once, perfmap_open);
	if (perfmap)    /* stdio locks the stream: vCPU threads may race here */
		fprintf(perfmap, "%lx %zx guest_%llx_k%x\n", (unsigned long)(uintptr_t)code, size,
			(unsigned long long)rip, key);
}
