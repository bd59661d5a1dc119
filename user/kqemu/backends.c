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

/* The automatic choice takes kqemu with either backend (kvm first, tcg
 * last: user/accel.c).  The process backend's exit is a hand-off between
 * two processes bound to one CPU, about 8-9 us here (bench/kqemu-exit),
 * against about 1 us for a whole guest system call in TCG's JIT; with the
 * mappings kept per address space a Debian 12 boot takes 37 s against
 * QEMU TCG's 50 s and qvm TCG's 57 s, and its programs run 2-11x faster
 * than under QEMU's TCG (bench/run debian, user/kqemu/README.md).  Only a
 * short boot of a small kernel-bound guest is a little slower (3.95 s
 * against 3.63 s for the default Linux guest): -accel tcg for those.
 * The module's exit is a world switch inside the vCPU thread's ioctl. */
bool kqemu_auto_ok(char *why, size_t why_len)
{
	return kq_backend_pick(why, why_len) != NULL;
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
