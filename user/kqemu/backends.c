/*
 * The native-execution backends built into this qvm, best first: the
 * module (/dev/kqemu, a world switch) where it is loaded, else the
 * process backend.  Each is referenced weakly, so that a qvm built
 * without one (its directory absent) links and reports it as not built.
 */
#include <stdio.h>
#include <string.h>
#include "engine.h"
#include "accel.h"

#pragma weak kqemu_module_ops
#pragma weak kqemu_process_ops

static const struct kqemu_backend_ops *backend(int i)
{
	switch (i) {
	case 0: return &kqemu_module_ops;
	case 1: return &kqemu_process_ops;
	default: return NULL;
	}
}

static const char *const backend_names[] = { "module", "process" };
#define NR_BACKENDS 2

const struct kqemu_backend_ops *kq_backend_pick(char *why, size_t why_len)
{
	size_t len = 0;
	bool built = false;
	if (why_len)
		why[0] = 0;
	for (int i = 0; i < NR_BACKENDS; i++) {
		const struct kqemu_backend_ops *ops = backend(i);
		if (!ops)
			continue;
		built = true;
		char r[200] = "";
		if (ops->available(r, sizeof(r)))
			return ops;
		if (len < why_len)
			len += snprintf(why + len, why_len - len, "%s%s: %s", len ? "; " : "",
					ops->name, r[0] ? r : "not available");
	}
	if (!built)
		snprintf(why, why_len, "no kqemu backend available here (none is built into "
			 "this qvm)");
	else if (len < why_len)
		snprintf(why + len, why_len - len, " (no kqemu backend available here)");
	return NULL;
}

/* The automatic choice takes kqemu only with a backend whose exits are
 * cheap enough for whole guests to gain.  The process backend's cost
 * about 25 us each here (two processes hand over control through
 * futexes and a signal: user/kqemu/proc/README.md), against about 1 us
 * for a whole guest system call in TCG's JIT, so a Linux guest boots and
 * runs slower than under tcg; it is there for -accel kqemu.  The module's
 * exit is a world switch inside the vCPU thread's own ioctl: about 4x
 * cheaper than the process backend's in the nested test host, where QEMU
 * emulates the switch (kqemu-kmod/README.md); not measured on real
 * hardware yet. */
bool kqemu_auto_ok(char *why, size_t why_len)
{
	const struct kqemu_backend_ops *ops = kq_backend_pick(why, why_len);
	if (!ops)
		return false;
	if (!strcmp(ops->name, "process")) {
		snprintf(why, why_len, "only the process backend is available, whose exits "
			 "(about 25 us each here) make whole guests slower than tcg; "
			 "-accel kqemu chooses it");
		return false;
	}
	return true;
}

void kqemu_backends_report(void (*print)(void *, const char *), void *opaque)
{
	char line[320];
	for (int i = 0; i < NR_BACKENDS; i++) {
		const struct kqemu_backend_ops *ops = backend(i);
		char r[200] = "";
		if (!ops)
			snprintf(line, sizeof(line), "kqemu backend %s: not built into this qvm\n",
				 backend_names[i]);
		else if (ops->available(r, sizeof(r)))
			snprintf(line, sizeof(line), "kqemu backend %s: available\n", ops->name);
		else
			snprintf(line, sizeof(line), "kqemu backend %s: not available: %s\n",
				 ops->name, r[0] ? r : "no reason given");
		print(opaque, line);
	}
}
