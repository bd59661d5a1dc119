/*
 * The DSDT's PCI interrupt links, for a guest that takes its interrupts
 * through the 8259s rather than the IOAPIC (noapic, or an OS without
 * APIC support).  ACPI 6.4 5.8.1: the OS calls \_PIC(0) for the 8259s,
 * \_PIC(1) for the APIC model; \_SB.PCI0._PRT (acpi-dsdt.c) then names
 * the link devices LNKA-LNKD (6.2.13, source index 0) or the board's
 * GSIs.  Each link (PNP0C0F) is one PIIX3 PIRQ line: its route control
 * register PIRQRC[A-D] (hw/piix3.c; Intel 82371SB 2.3.16: bit 7 off, IRQ
 * in bits 3:0) read and written through a PCI_Config operation region of
 * the PIIX3 at 00:01.0: _STA and _CRS read it, _SRS writes the IRQ the OS
 * picked from _PRS, _DIS sets bit 7.  The IRQs are level, active low and
 * shareable (PCI 3.0 2.2.6).
 */
#include <stdio.h>
#include "machine.h"
#include "pc/acpi-aml.h"
#include "pc/pc.h"

#define PIIX3_ADR 0x00010000u           /* _ADR: device 1, function 0 */
#define PIRQRC 0x60
#define PIRQ_OFF 0x80
/* IRQ descriptor with the information byte (6.4.2.1): tag 0x23, the
 * mask, level (bit 0 clear), active low (bit 3), shared (bit 4) */
#define RES_IRQ_INFO 0x23
#define IRQ_LEVEL_LOW_SHARED 0x18
#define RES_END 0x79
#define LINK_IRQS ((1u << 5) | (1u << 10) | (1u << 11))  /* _PRS */
#define STA_PRESENT_OFF 0x09            /* present, functioning (6.3.7) */
#define STA_PRESENT_ON 0x0b             /* and enabled */

static const char *const links[4] = { "LNKA", "LNKB", "LNKC", "LNKD" };
static const char *const fields[4] = { "PRQA", "PRQB", "PRQC", "PRQD" };

const char *acpi_pci_link_path(unsigned n)
{
	static const char *const paths[4] = {
		"\\_SB.PCI0.LNKA", "\\_SB.PCI0.LNKB", "\\_SB.PCI0.LNKC", "\\_SB.PCI0.LNKD",
	};
	return paths[n % 4];
}

/* IRQ(Level, ActiveLow, Shared) { irqs } with its end tag (checksum 0:
 * "not computed", 6.4.2.9). */
static void irq_template(struct aml *a, uint16_t mask)
{
	const uint8_t t[] = { RES_IRQ_INFO, mask & 0xff, mask >> 8, IRQ_LEVEL_LOW_SHARED, RES_END, 0 };
	aml_buffer(a, t, sizeof(t));
}

/* Name(PICM, 0); Method(\_PIC, 1) { Store(Arg0, PICM) } */
void acpi_dsdt_pic(struct aml *a)
{
	aml_name(a, "\\PICM");
	aml_integer(a, 0);
	size_t m = aml_method(a, "\\_PIC", 1, false);
	aml_byte(a, AML_STORE);
	aml_byte(a, AML_ARG0);
	aml_name_string(a, "\\PICM");
	aml_end(a, m);
}

/* If (And(PRQx, 0x80)) { Return (off) } Return (on) */
static void link_sta(struct aml *a, const char *f)
{
	size_t m = aml_method(a, "_STA", 0, false);
	size_t i = aml_if(a);
	aml_byte(a, AML_AND);
	aml_name_string(a, f);
	aml_integer(a, PIRQ_OFF);
	aml_byte(a, AML_NO_TARGET);
	aml_byte(a, AML_RETURN);
	aml_integer(a, STA_PRESENT_OFF);
	aml_end(a, i);
	aml_byte(a, AML_RETURN);
	aml_integer(a, STA_PRESENT_ON);
	aml_end(a, m);
}

/* Or(PRQx, 0x80, PRQx) */
static void link_dis(struct aml *a, const char *f)
{
	size_t m = aml_method(a, "_DIS", 0, false);
	aml_byte(a, AML_OR);
	aml_name_string(a, f);
	aml_integer(a, PIRQ_OFF);
	aml_name_string(a, f);
	aml_end(a, m);
}

/* Name(RTPL, template with no IRQ); CreateWordField(RTPL, 1, IRQW);
 * If (LLess(PRQx, 0x80)) { ShiftLeft(1, PRQx, IRQW) } Return (RTPL) */
static void link_crs(struct aml *a, const char *f)
{
	size_t m = aml_method(a, "_CRS", 0, true);
	aml_name(a, "RTPL");
	irq_template(a, 0);
	aml_byte(a, AML_CREATE_WORD_FIELD);
	aml_name_string(a, "RTPL");
	aml_integer(a, 1);
	aml_name_string(a, "IRQW");
	size_t i = aml_if(a);
	aml_byte(a, AML_LLESS);
	aml_name_string(a, f);
	aml_integer(a, PIRQ_OFF);
	aml_byte(a, AML_SHIFT_LEFT);
	aml_integer(a, 1);
	aml_name_string(a, f);
	aml_name_string(a, "IRQW");
	aml_end(a, i);
	aml_byte(a, AML_RETURN);
	aml_name_string(a, "RTPL");
	aml_end(a, m);
}

/* CreateWordField(Arg0, 1, IRQW); FindSetRightBit(IRQW, Local0);
 * If (Local0) { Subtract(Local0, 1, PRQx) } Else { Or(PRQx, 0x80, PRQx) } */
static void link_srs(struct aml *a, const char *f)
{
	size_t m = aml_method(a, "_SRS", 1, true);
	aml_byte(a, AML_CREATE_WORD_FIELD);
	aml_byte(a, AML_ARG0);
	aml_integer(a, 1);
	aml_name_string(a, "IRQW");
	aml_byte(a, AML_FIND_SET_RIGHT_BIT);
	aml_name_string(a, "IRQW");
	aml_byte(a, AML_LOCAL0);
	size_t i = aml_if(a);
	aml_byte(a, AML_LOCAL0);
	aml_byte(a, AML_SUBTRACT);
	aml_byte(a, AML_LOCAL0);
	aml_integer(a, 1);
	aml_name_string(a, f);
	aml_end(a, i);
	size_t e = aml_else(a);
	aml_byte(a, AML_OR);
	aml_name_string(a, f);
	aml_integer(a, PIRQ_OFF);
	aml_name_string(a, f);
	aml_end(a, e);
	aml_end(a, m);
}

/* Inside \_SB.PCI0: the PIIX3 (for its config space) and the links. */
void acpi_dsdt_pci_links(struct aml *a)
{
	size_t isa = aml_device(a, "ISA");
	aml_name(a, "_ADR");
	aml_integer(a, PIIX3_ADR);
	aml_pci_config_region(a, "PIRQ", PIRQRC, 4);
	aml_byte_fields(a, "PIRQ", fields, 4);
	aml_end(a, isa);
	for (unsigned n = 0; n < 4; n++) {
		char f[32];
		snprintf(f, sizeof(f), "\\_SB.PCI0.ISA.%s", fields[n]);
		size_t dev = aml_device(a, links[n]);
		aml_name(a, "_HID");
		aml_eisaid(a, "PNP0C0F");
		aml_name(a, "_UID");
		aml_integer(a, n + 1);
		aml_name(a, "_PRS");
		irq_template(a, LINK_IRQS);
		link_sta(a, f);
		link_dis(a, f);
		link_crs(a, f);
		link_srs(a, f);
		aml_end(a, dev);
	}
}
