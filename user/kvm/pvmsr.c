/*
 * KVM's paravirtual MSRs (the kernel's Documentation/virt/kvm/x86/msr.rst):
 * where the guest asked KVM to keep its kvmclock and wall clock, its
 * async page fault and steal time areas, its PV EOI flag and halt-poll
 * control.  They live in KVM, outside every state the generic vCPU state
 * holds, so a saved guest takes them with it in the engine's section and
 * a reset guest loses them.
 *
 * Why it matters: with PV EOI the guest skips the EOI write when it finds
 * KVM's flag set, and KVM does the EOI on its behalf at the next exit.
 * A guest loaded into a KVM that does not know PV EOI is on keeps the
 * vector in the LAPIC's ISR for ever: the timer, and everything below
 * its priority, never arrives again.  Likewise a kvmclock area nobody
 * updates, or one KVM still writes after a reset into what the next
 * kernel uses as ordinary memory.
 */
#include <string.h>
#include "kvm/kvm.h"

/* In the order they are written back: the async PF vector before the
 * enable (KVM refuses interrupt delivery without one). */
static const uint32_t pv_msr_index[KVM_PV_MSRS] = {
	0x00000011, /* MSR_KVM_WALL_CLOCK (the first kvmclock ABI) */
	0x00000012, /* MSR_KVM_SYSTEM_TIME */
	0x4b564d00, /* MSR_KVM_WALL_CLOCK_NEW */
	0x4b564d01, /* MSR_KVM_SYSTEM_TIME_NEW */
	0x4b564d06, /* MSR_KVM_ASYNC_PF_INT */
	0x4b564d02, /* MSR_KVM_ASYNC_PF_EN */
	0x4b564d03, /* MSR_KVM_STEAL_TIME */
	0x4b564d04, /* MSR_KVM_PV_EOI_EN */
	0x4b564d05, /* MSR_KVM_POLL_CONTROL */
};

/* The vCPU's PV MSRs KVM knows into the state: a count, then (index,
 * value) pairs.  An MSR this kernel lacks is left out. */
void kvm_pv_msrs_save(struct vcpu *v, struct state_buf *s)
{
	uint32_t index[KVM_PV_MSRS];
	uint64_t value[KVM_PV_MSRS];
	uint32_t n = 0;
	for (unsigned i = 0; i < KVM_PV_MSRS; i++) {
		value[n] = 0;
		if (kvm_msr_io(v, KVM_GET_MSRS, pv_msr_index[i], &value[n]) == 1)
			index[n++] = pv_msr_index[i];
	}
	state_put_u32(s, n);
	for (uint32_t i = 0; i < n; i++) {
		state_put_u32(s, index[i]);
		state_put_u64(s, value[i]);
	}
}

static int pv_msr_slot(uint32_t index)
{
	for (unsigned i = 0; i < KVM_PV_MSRS; i++)
		if (pv_msr_index[i] == index)
			return (int)i;
	return -1;
}

/* What kvm_pv_msrs_save wrote, kept for kvm_pv_msrs_apply: the engine's
 * section comes before the vCPUs' (user/migration/vmstate.c), whose
 * state must be set first.  -1 for an MSR qvm does not know or twice. */
int kvm_pv_msrs_load(struct vcpu *v, struct state_buf *s)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(v);
	uint32_t n = state_get_u32(s);
	if (s->error || n > KVM_PV_MSRS)
		return -1;
	memset(kv->pv_msr_have, 0, sizeof(kv->pv_msr_have));
	for (uint32_t i = 0; i < n; i++) {
		int slot = pv_msr_slot(state_get_u32(s));
		uint64_t value = state_get_u64(s);
		if (s->error || slot < 0 || kv->pv_msr_have[slot])
			return -1;
		kv->pv_msr_have[slot] = true;
		kv->pv_msr_value[slot] = value;
	}
	kv->pv_msr_pending = true;
	return 0;
}

/*
 * After a vCPU's state is set: a loaded state's PV MSRs (a write KVM
 * refuses fails the load, as the guest could not go on right), or, for
 * a power-on state, every PV area switched off.
 */
int kvm_pv_msrs_apply(struct vcpu *v, bool power_on)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(v);
	if (power_on) {
		kv->pv_msr_pending = false;
		for (unsigned i = 0; i < KVM_PV_MSRS; i++) {
			/* a wall clock write is KVM writing the time to that
			 * address (0: the real-mode IVT), nothing kept on */
			if (pv_msr_index[i] == 0x11 || pv_msr_index[i] == 0x4b564d00)
				continue;
			/* halt polling is allowed at reset (msr.rst) */
			uint64_t value = pv_msr_index[i] == 0x4b564d05;
			(void)kvm_msr_io(v, KVM_SET_MSRS, pv_msr_index[i], &value);
		}
		return 0;
	}
	if (!kv->pv_msr_pending)
		return 0;
	kv->pv_msr_pending = false;
	for (unsigned i = 0; i < KVM_PV_MSRS; i++) {
		uint64_t value = kv->pv_msr_value[i];
		/* KVM reads the first kvmclock MSRs back from the same field
		 * as the new ones: a guest on the new ABI stays on it */
		if (i < 2 && kv->pv_msr_have[i + 2])
			continue;
		if (kv->pv_msr_have[i] && kvm_msr_io(v, KVM_SET_MSRS, pv_msr_index[i], &value) != 1) {
			qvm_error("cpu %u: KVM refused the saved paravirtual MSR 0x%x = 0x%llx",
				  v->index, pv_msr_index[i], (unsigned long long)value);
			return -1;
		}
	}
	return 0;
}
