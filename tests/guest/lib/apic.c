/* Local APIC (xAPIC MMIO), IOAPIC and legacy PIC helpers. */
#include "guest.h"

volatile bool lapic_x2;

void lapic_enable(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_LINT0, 0x10000);
	lapic_write(LAPIC_LVT_LINT1, 0x10000);
	lapic_write(LAPIC_LVT_ERR, 0x10000);
	lapic_write(LAPIC_LVT_TIMER, 0x10000);
}

static void icr_idle(void)
{
	for (int i = 0; lapic_read(LAPIC_ICR_LO) & (1u << 12); i++) {
		if (i == 1000000)
			panic("lapic icr: delivery status stuck at 1");
		cpu_relax();
	}
}

void lapic_send_ipi(uint32_t dest, uint32_t icr_lo)
{
	icr_idle();
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	icr_idle();
}

void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

uint32_t ioapic_read(uint32_t reg)
{
	mmio_write32(IOAPIC_BASE, reg);
	return mmio_read32(IOAPIC_BASE + 0x10);
}

void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

void ioapic_route(int pin, int vector, uint32_t dest_apic, bool level, bool masked)
{
	ioapic_write(0x11 + 2 * pin, dest_apic << 24);
	ioapic_write(0x10 + 2 * pin, vector | (level ? 1u << 15 : 0) | (masked ? 1u << 16 : 0));
}
