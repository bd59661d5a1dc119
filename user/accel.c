/* Engine selection: kvm with hardware support, else kqemu, else tcg. */
#include <stdio.h>
#include <string.h>
#include "accel.h"

bool kvm_device_usable(void);

static const struct accel_ops *const engines[] = {
	&kvm_accel_ops,
};

const struct accel_ops *accel_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(engines); i++)
		if (!strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}

const struct accel_ops *accel_pick(char *why, size_t why_len)
{
	char reason[256] = "";
	if (kvm_accel_ops.available(reason, sizeof(reason))) {
		qvm_log(LOG_ACCEL, "accel: kvm (hardware virtualization)");
		return &kvm_accel_ops;
	}
	qvm_log(LOG_ACCEL, "accel: not kvm: %s", reason);
	qvm_log(LOG_ACCEL, "accel: not kqemu: engine not built yet");
	qvm_log(LOG_ACCEL, "accel: not tcg: engine not built yet");
	/* Until TCG exists, a software-backed KVM is the only engine that can
	 * run guests on such a host: slow for kernel code, but correct. */
	if (kvm_device_usable()) {
		qvm_log(LOG_ACCEL, "accel: kvm (software-backed; kernel code is emulated)");
		return &kvm_accel_ops;
	}
	snprintf(why, why_len, "no accelerator can run here (%s; tcg and kqemu are not built yet)",
		 reason);
	return NULL;
}
