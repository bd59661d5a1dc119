/* Engine selection: kvm with hardware support, else kqemu, else tcg; or
 * the one -accel names. */
#include <stdio.h>
#include <string.h>
#include "accel.h"


static const struct accel_ops *const engines[] = {
	&kvm_accel_ops,
	&tcg_accel_ops,
	&kqemu_accel_ops,
};

const struct accel_ops *accel_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(engines); i++)
		if (!strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}

const struct accel_ops *accel_pick(bool no_kqemu, char *why, size_t why_len)
{
	char reason[256] = "";
	if (kvm_accel_ops.available(reason, sizeof(reason))) {
		qvm_log(LOG_ACCEL, "accel: kvm (hardware virtualization)");
		return &kvm_accel_ops;
	}
	qvm_log(LOG_ACCEL, "accel: not kvm: %s", reason);
	if (no_kqemu) {
		qvm_log(LOG_ACCEL, "accel: not kqemu: -no-kqemu");
	} else if (kqemu_auto_ok(reason, sizeof(reason))) {
		qvm_log(LOG_ACCEL, "accel: kqemu (user code natively, the rest in TCG)");
		return &kqemu_accel_ops;
	} else {
		qvm_log(LOG_ACCEL, "accel: not kqemu: %s", reason);
	}
	/* TCG runs everywhere.  A software-backed /dev/kvm (no vmx/svm)
	 * emulates every guest kernel instruction and cannot run Linux; TCG
	 * is the better engine there too. */
	(void)why, (void)why_len;
	qvm_log(LOG_ACCEL, "accel: tcg");
	return &tcg_accel_ops;
}

const struct accel_ops *accel_choose(const char *name, bool no_kqemu)
{
	char why[256] = "";
	if (!name) {
		const struct accel_ops *ops = accel_pick(no_kqemu, why, sizeof(why));
		if (!ops)
			qvm_error("%s", why);
		return ops;
	}
	const struct accel_ops *ops = accel_find(name);
	if (!ops) {
		qvm_error("-accel %s: this engine is not built (available: kvm, kqemu, tcg)", name);
		return NULL;
	}
	if (!ops->available(why, sizeof(why))) {
		if (!ops->usable || !ops->usable()) {
			qvm_error("-accel %s: %s", name, why);
			return NULL;
		}
		qvm_log(LOG_ACCEL, "accel: %s: %s", ops->name, why);
	}
	qvm_log(LOG_ACCEL, "accel: %s (from the command line)", ops->name);
	return ops;
}
