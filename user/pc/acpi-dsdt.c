/*
 * The DSDT's AML (ACPI 6.4 5.2.11.1, built with acpi-aml.c): \_S5 for
 * the power-off of hw/acpi_pm.c, and \_SB.PCI0, the PCI root bridge with
 * its windows, the fixed ISA devices and the motherboard resources below
 * it.  tables.c puts the table header around it.
 */
#include <stdio.h>
#include "pc/acpi-aml.h"
#include "config.h"
#include "hw/hw.h"
#include "machine.h"
#include "pc/pc.h"

/* A fixed-port ISA device, described by _HID and _CRS (6.1.5, 6.2.2). */
struct isa_dev {
	const char *name, *hid;
	uint8_t uid;             /* 0: no _UID */
	uint16_t port[2];
	uint8_t len[2];          /* 0: no such range */
	int irq;                 /* -1: none */
};

static const struct isa_dev isa_devs[] = {
	{ "PIC", "PNP0000", 0, { 0x20, 0xa0 }, { 2, 2 }, 2 },  /* 8259s */
	{ "TMR", "PNP0100", 0, { 0x40 }, { 4 }, 0 },           /* 8254 */
	{ "RTC", "PNP0B00", 0, { 0x70 }, { 2 }, 8 },
	{ "KBD", "PNP0303", 0, { 0x60, 0x64 }, { 1, 1 }, 1 },  /* i8042 */
	{ "MOU", "PNP0F13", 0, { 0 }, { 0 }, 12 },             /* its aux port */
};

/* Name(_CRS, ResourceTemplate() { r }) */
static void dsdt_crs(struct aml *a, struct aml *r)
{
	aml_res_end(r);
	aml_name(a, "_CRS");
	aml_buffer(a, r->data, r->len);
	a->error |= r->error;
	aml_free(r);
}

static void dsdt_isa_dev(struct aml *a, const struct isa_dev *d)
{
	struct aml r;
	size_t dev = aml_device(a, d->name);
	aml_name(a, "_HID");
	aml_eisaid(a, d->hid);
	if (d->uid) {
		aml_name(a, "_UID");
		aml_integer(a, d->uid);
	}
	aml_init(&r);
	for (unsigned i = 0; i < ARRAY_SIZE(d->port); i++)
		if (d->len[i])
			aml_res_io(&r, d->port[i], d->port[i], 1, d->len[i]);
	if (d->irq >= 0)
		aml_res_irq(&r, d->irq);
	dsdt_crs(a, &r);
	aml_end(a, dev);
}

/* COM1-COM4 that exist (16550A, PNP0501), _UID 1-4. */
static void dsdt_serials(struct machine *m, struct aml *a)
{
	for (unsigned i = 0; i < MAX_SERIALS; i++) {
		if (!config_serial_present(m->cfg, i))
			continue;
		char name[8];
		snprintf(name, sizeof(name), "COM%u", i + 1);
		struct isa_dev d = { name, "PNP0501", (uint8_t)(i + 1),
				     { pc_com_ports[i].iobase }, { 8 }, pc_com_ports[i].irq };
		dsdt_isa_dev(a, &d);
	}
}

/* Motherboard resources (PNP0C02): fixed ports no other device claims,
 * the ELCR and the isa-debug-exit ports. */
static void dsdt_motherboard(struct machine *m, struct aml *a)
{
	const struct config *cfg = m->cfg;
	struct aml r;
	size_t dev = aml_device(a, "MBRS");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_init(&r);
	aml_res_io(&r, 0x4d0, 0x4d0, 1, 2);
	for (unsigned i = 0; i < cfg->nr_debug_exits; i++)
		aml_res_io(&r, cfg->debug_exit[i].iobase, cfg->debug_exit[i].iobase, 1,
			   cfg->debug_exit[i].iosize);
	dsdt_crs(a, &r);
	aml_end(a, dev);
}

/* The root bridge's windows: every bus, the I/O ports but the config
 * ports (which it consumes), the legacy VGA window and the memory between
 * low RAM and the IOAPIC. */
static void dsdt_pci0_crs(struct machine *m, struct aml *a)
{
	struct aml r;
	aml_init(&r);
	aml_res_word_bus(&r, 0, 0xff);
	aml_res_io(&r, 0xcf8, 0xcf8, 1, 8);
	aml_res_word_io(&r, 0x0000, 0x0cf7);
	aml_res_word_io(&r, 0x0d00, 0xffff);
	aml_res_dword_mem(&r, PC_LOW_RAM_END, PC_ISA_HOLE_END - 1, true);
	if (m->ram_below_4g < PC_IOAPIC_ADDR)
		aml_res_dword_mem(&r, m->ram_below_4g, PC_IOAPIC_ADDR - 1, false);
	dsdt_crs(a, &r);
}

/* The _PRT packages (6.2.13): INTA#-INTD# of every slot, rotating with
 * the slot.  PRTA, for the APIC model: source 0, the fourth field a GSI
 * of the board's routing table (irq-routes.c), which the OS programs
 * level-triggered, active low (the global interrupt form).  PRTP, for the
 * 8259s: the source is the link device of the PIIX3 PIRQ line the pin
 * drives (acpi-links.c). */
static void dsdt_prt_package(struct aml *a, const char *name, bool links)
{
	aml_name(a, name);
	size_t prt = aml_package(a, (PCI_SLOTS - 1) * 4);
	for (unsigned slot = 1; slot < PCI_SLOTS; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			size_t e = aml_package(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			if (links) {
				aml_name_string(a, acpi_pci_link_path(irq_pci_index(slot, pin)));
				aml_integer(a, 0);
			} else {
				aml_integer(a, 0);
				aml_integer(a, irq_pci_line(&pc_irq_routing, slot, pin));
			}
			aml_end(a, e);
		}
	}
	aml_end(a, prt);
}

/* Method(_PRT) { If (PICM) { Return (PRTA) } Return (PRTP) }: PICM is
 * what the OS told \_PIC (acpi-links.c; 0, the 8259s, until it does). */
static void dsdt_prt(struct aml *a)
{
	dsdt_prt_package(a, "PRTA", false);
	dsdt_prt_package(a, "PRTP", true);
	size_t m = aml_method(a, "_PRT", 0, false);
	size_t i = aml_if(a);
	aml_name_string(a, "\\PICM");
	aml_byte(a, AML_RETURN);
	aml_name_string(a, "PRTA");
	aml_end(a, i);
	aml_byte(a, AML_RETURN);
	aml_name_string(a, "PRTP");
	aml_end(a, m);
}

/* \_SB.PCI0: the host bridge (PNP0A03, 6.1.5), with the ISA devices
 * below it.  No _ADR beside the _HID: a device has one or the other
 * (6.1). */
static void dsdt_pci0(struct machine *m, struct aml *a)
{
	size_t dev = aml_device(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	dsdt_pci0_crs(m, a);
	dsdt_prt(a);
	acpi_dsdt_pci_links(a);
	for (unsigned i = 0; i < ARRAY_SIZE(isa_devs); i++)
		dsdt_isa_dev(a, &isa_devs[i]);
	dsdt_serials(m, a);
	dsdt_motherboard(m, a);
	aml_end(a, dev);
}

/* \_S5: SLP_TYPa, SLP_TYPb and two reserved bytes (7.4.2); writing
 * SLP_TYPa with SLP_EN to PM1a_CNT powers off (hw/acpi_pm.c). */
static void dsdt_s5(struct aml *a)
{
	aml_name(a, "\\_S5");
	size_t pkg = aml_package(a, 4);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a, pkg);
}

int acpi_dsdt_build(struct machine *m, struct aml *a)
{
	dsdt_s5(a);
	acpi_dsdt_pic(a);
	size_t sb = aml_scope(a, "\\_SB");
	dsdt_pci0(m, a);
	aml_end(a, sb);
	return a->error ? -1 : 0;
}
