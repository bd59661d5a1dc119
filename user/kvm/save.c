/*
 * The KVM engine's own state for savevm and migration: the in-kernel
 * 8259 pair and IOAPIC (KVM_GET_IRQCHIP), the PIT (KVM_GET_PIT2), the
 * kvmclock base (KVM_GET_CLOCK) and, since version 2, each vCPU's
 * paravirtual MSRs (pvmsr.c).  The structures are the kernel's x86
 * ABI, stable across hosts, and are kept as their bytes; the kernel
 * checks what it is given back.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm/kvm.h"

#define KVM_ENGINE_STATE_VERSION 2

static int fail(const char *what)
{
	qvm_error("kvm: %s: %s", what, strerror(errno));
	return -1;
}

int kvm_engine_save(struct machine *m, struct state_buf *s)
{
	struct kvm_vm *k = kvm_of(m);
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	state_put_u8(s, KVM_ENGINE_STATE_VERSION);
	for (uint32_t id = 0; id < 3; id++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = id;
		if (ioctl(k->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			return fail("KVM_GET_IRQCHIP");
		state_put_u32(s, sizeof(chip.chip));
		state_put_bytes(s, &chip.chip, sizeof(chip.chip));
	}
	memset(&pit, 0, sizeof(pit));
	if (ioctl(k->vm_fd, KVM_GET_PIT2, &pit) < 0)
		return fail("KVM_GET_PIT2");
	state_put_u32(s, sizeof(pit));
	state_put_bytes(s, &pit, sizeof(pit));
	memset(&clock, 0, sizeof(clock));
	if (ioctl(k->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return fail("KVM_GET_CLOCK");
	state_put_u64(s, clock.clock);
	state_put_u32(s, m->nr_vcpus);
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		kvm_pv_msrs_save(m->vcpus[i], s);
	return s->error ? -1 : 0;
}

/* Each block is preceded by its length, which must be this kernel's. */
static bool get_block(struct state_buf *s, void *p, size_t n)
{
	if (state_get_u32(s) != n || s->error)
		return false;
	state_get_bytes(s, p, n);
	return !s->error;
}

int kvm_engine_load(struct machine *m, struct state_buf *s)
{
	struct kvm_vm *k = kvm_of(m);
	struct kvm_irqchip chip[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	memset(chip, 0, sizeof(chip));
	memset(&pit, 0, sizeof(pit));
	memset(&clock, 0, sizeof(clock));
	/* version 1 had no PV MSRs: a guest of an older qvm loads without */
	uint8_t version = state_get_u8(s);
	bool ok = version == 1 || version == KVM_ENGINE_STATE_VERSION;
	for (uint32_t id = 0; ok && id < 3; id++) {
		chip[id].chip_id = id;
		ok = get_block(s, &chip[id].chip, sizeof(chip[id].chip));
	}
	ok = ok && get_block(s, &pit, sizeof(pit));
	clock.clock = state_get_u64(s);
	if (ok && version >= 2) {
		ok = state_get_u32(s) == m->nr_vcpus;
		for (unsigned i = 0; ok && i < m->nr_vcpus; i++)
			ok = kvm_pv_msrs_load(m->vcpus[i], s) == 0;
	}
	if (!ok || s->error) {
		qvm_error("kvm: the saved engine state is not this engine's (version or sizes)");
		return -1;
	}
	for (uint32_t id = 0; id < 3; id++)
		if (ioctl(k->vm_fd, KVM_SET_IRQCHIP, &chip[id]) < 0)
			return fail("KVM_SET_IRQCHIP");
	if (ioctl(k->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return fail("KVM_SET_PIT2");
	if (ioctl(k->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return fail("KVM_SET_CLOCK");
	return 0;
}
