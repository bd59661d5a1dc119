/* Internals shared by the KVM engine's files (kvm*.c). */
#ifndef QVM_KVM_H
#define QVM_KVM_H

#include <linux/kvm.h>
#include "accel.h"
#include "machine.h"

#define KVM_MAX_SLOTS 64

struct kvm_slot {
	bool used;
	uint32_t flags;
	uint64_t gpa, size;
	void *host;
};

struct kvm_vm {
	int kvm_fd, vm_fd;
	int run_size;
	int max_vcpus;
	struct kvm_cpuid2 *supported_cpuid;
	struct kvm_slot slots[KVM_MAX_SLOTS];
	/* power-on state of the in-kernel devices, restored on reset */
	struct kvm_irqchip chip_init[3];
	struct kvm_pit_state2 pit_init;
	bool hw_virt; /* the CPU has VT-x/AMD-V (not a software backend) */
	/* irqchip.c: the board's table, each line's level, and the 8259
	 * input each PCI line's PIRQ route sends it to, under irq_lock */
	const struct irq_routing *routing;
	pthread_mutex_t irq_lock;
	uint8_t line_level[IRQCHIP_NR_GSIS];
	int8_t pirq_pic[IRQ_PCI_LINES];
};

/* kvmclock (old and new), async PF (vector, enable), steal time, PV
 * EOI, poll control: pvmsr.c */
#define KVM_PV_MSRS 9

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;
	/* PV MSRs of a loaded state, set after the vCPU's state (pvmsr.c) */
	bool pv_msr_pending;
	bool pv_msr_have[KVM_PV_MSRS];
	uint64_t pv_msr_value[KVM_PV_MSRS];
};

static inline struct kvm_vm *kvm_of(struct machine *m)
{
	return m->accel->state;
}

static inline struct kvm_vcpu *kvm_vcpu_of(struct vcpu *v)
{
	return v->accel_state;
}

/* irqchip.c.  KVM GSIs KVM_PIRQ_GSI_BASE + n drive 8259 input n alone:
 * the ORed PCI lines the PIIX3's PIRQ routes send there. */
#define KVM_PIRQ_GSI_BASE IRQCHIP_NR_GSIS
#define KVM_ROUTES_MAX (2 * IRQCHIP_NR_GSIS + IRQ_ISA_LINES)
/* The KVM GSI routes of a board's routing table into r (room for
 * KVM_ROUTES_MAX entries); returns how many. */
int kvm_build_routing(const struct irq_routing *routing, struct kvm_irq_routing *r);
/* The level of 8259 input pic_pin from the PCI lines routed to it. */
int kvm_pirq_input_level(const struct irq_routing *routing, const int8_t *pirq_pic,
			 const uint8_t *line_level, int pic_pin);
int kvm_setup_routing(struct kvm_vm *k, const struct irq_routing *routing);
void kvm_irqchip_attach(struct machine *m, struct kvm_vm *k);

/* kvm/cpuid.c: the CPUID a vCPU sees, with the -smp topology and the
 * -cpu model applied.  0 or -1 with a message. */
int kvm_cpuid_init(struct machine *m);
int kvm_cpuid_set(struct vcpu *v);
/* The parts without ioctls, for the unit tests: -cpu's features and the
 * model's against what KVM offers (sup); the CPUID of the vCPU with
 * apic_id from src into c (room for src->nent + 3 entries). */
struct config;
int kvm_cpuid_check(const struct kvm_cpuid2 *sup, const struct config *cfg);
int kvm_cpuid_build(const struct kvm_cpuid2 *src, const struct config *cfg,
		    uint32_t apic_id, struct kvm_cpuid2 *c);

/* state.c */
int kvm_get_state(struct vcpu *v, struct x86_cpu_state *s);
int kvm_save_state(struct vcpu *v, struct x86_cpu_state *s);
int kvm_set_state(struct vcpu *v, const struct x86_cpu_state *s);
int kvm_lapic_reset(struct vcpu *v);
int kvm_lapic_write(struct vcpu *v, uint32_t offset, uint32_t value);
int kvm_msr_write(struct vcpu *v, uint32_t index, uint64_t value);
/* One MSR through KVM_GET_MSRS or KVM_SET_MSRS (req), silently: the
 * ioctl's result (1 when KVM took it), *value read back on success. */
int kvm_msr_io(struct vcpu *v, unsigned long req, uint32_t index, uint64_t *value);

/* kvm.c: what KVM keeps of a parked vCPU until its next KVM_RUN (an I/O
 * instruction's end, an expired LAPIC timer) applied without running it */
int kvm_vcpu_settle(struct vcpu *v);

/* save.c: the in-kernel PIC, IOAPIC, PIT and clock (accel_ops save/load) */
/* pvmsr.c: KVM's paravirtual MSRs in the engine's saved state */
void kvm_pv_msrs_save(struct vcpu *v, struct state_buf *s);
int kvm_pv_msrs_load(struct vcpu *v, struct state_buf *s);
int kvm_pv_msrs_apply(struct vcpu *v, bool power_on);

int kvm_engine_save(struct machine *m, struct state_buf *s);
int kvm_engine_load(struct machine *m, struct state_buf *s);

#endif
