/*
 * What firmware leaves behind when qvm plays it (no -bios): each vCPU's
 * post-firmware state, one decision for every engine, applied through the
 * engine's set_state, msr_write and lapic_write.
 *
 *  - every vCPU: the MTRRs enabled with write-back as the default type
 *    (IA32_MTRR_DEF_TYPE, SDM Vol. 3, 12.11.2.1), as a BIOS sets them on
 *    each processor; Linux turns PAT off when they are disabled;
 *  - the BSP's LAPIC in virtual-wire mode (MP spec 1.4, 3.6.2.2; SDM Vol.
 *    3, 11.5.1): software-enabled, LINT0 ExtINT (the 8259's INTR), LINT1
 *    NMI, the wiring the MP table and the MADT report; the APs' LAPICs
 *    stay as reset left them, their CPUs waiting for INIT/SIPI;
 *  - with -kernel, the BSP at the kernel's entry, as its boot protocol
 *    says (boot/linux.c, boot/multiboot.c).
 *
 * With -bios the guest's own firmware starts from the power-on state.
 */
#include "accel.h"
#include "config.h"
#include "cpu.h"
#include "machine.h"
#include "pc/pc.h"
#include "x86/msr.h"

/* LAPIC registers (SDM Vol. 3, table 11-1) and their values */
#define APIC_SVR 0xf0
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define SVR_ENABLED 0x1ff               /* APIC software enable, vector 0xff */
#define LVT_EXTINT (7u << 8)            /* delivery mode ExtINT, unmasked */
#define LVT_NMI (4u << 8)               /* delivery mode NMI, unmasked */
#define MTRR_DEF_WB_ENABLED 0xc06       /* E, FE, default type 6 (WB) */

static void add_msr(struct pc_fw_state *st, uint32_t index, uint64_t value)
{
	if (st->nr_msrs < PC_FW_WRITES)
		st->msrs[st->nr_msrs++] = (struct pc_fw_msr){ index, value };
}

static void add_lapic(struct pc_fw_state *st, uint32_t offset, uint32_t value)
{
	if (st->nr_lapic < PC_FW_WRITES)
		st->lapic[st->nr_lapic++] = (struct pc_fw_lapic){ offset, value };
}

int pc_post_firmware_state(struct machine *m, unsigned index, struct pc_fw_state *st)
{
	const struct pc_board *b = m->board;
	st->cpu_set = false;
	st->nr_msrs = st->nr_lapic = 0;
	if (m->cfg->bios || (b && b->bios_rom))
		return 0;       /* a BIOS runs from the power-on state */
	add_msr(st, MSR_MTRR_DEF_TYPE, MTRR_DEF_WB_ENABLED);
	if (index != 0)
		return 0;
	/* SVR first: while the APIC is software-disabled the LVT mask bits
	 * cannot be cleared (SDM Vol. 3, 11.4.7.2) */
	add_lapic(st, APIC_SVR, SVR_ENABLED);
	add_lapic(st, APIC_LVT_LINT0, LVT_EXTINT);
	add_lapic(st, APIC_LVT_LINT1, LVT_NMI);
	switch (b ? b->boot : BOOT_FIRMWARE) {
	case BOOT_MULTIBOOT:
		st->cpu_set = true;
		return multiboot_entry_state(m, &st->cpu);
	case BOOT_LINUX:
		st->cpu_set = true;
		return linux_entry_state(m, &st->cpu);
	default:
		return 0;
	}
}

/* The registers first (they may move IA32_APIC_BASE), then the MSRs and
 * the LAPIC, in the order given. */
static int apply(struct vcpu *v, const struct pc_fw_state *st)
{
	const struct accel_ops *ops = v->m->accel->ops;
	if (st->cpu_set && ops->set_state(v, &st->cpu) < 0)
		return -1;
	for (unsigned i = 0; i < st->nr_msrs; i++)
		if (ops->msr_write(v, st->msrs[i].index, st->msrs[i].value) < 0)
			return -1;
	for (unsigned i = 0; i < st->nr_lapic; i++)
		if (ops->lapic_write(v, st->lapic[i].offset, st->lapic[i].value) < 0)
			return -1;
	return 0;
}

int pc_enter(struct machine *m)
{
	const struct accel_ops *ops = m->accel->ops;
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = m->vcpus[i];
		struct pc_fw_state st;
		if (ops->get_state(v, &st.cpu) < 0 || pc_post_firmware_state(m, i, &st) < 0 ||
		    apply(v, &st) < 0)
			return -1;
	}
	return 0;
}
