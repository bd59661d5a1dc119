/*
 * Firmware tables that describe the processors and interrupt routing:
 * the Intel MultiProcessor table (MP spec 1.4, chapter 4) and ACPI
 * (ACPI 6.4: RSDP 5.2.5, RSDT/XSDT 5.2.7-8, MADT 5.2.12).  Both say the
 * same: every vCPU's LAPIC, one IOAPIC with 24 pins at GSI 0, ISA IRQ 0
 * on pin 2, LINT0 ExtINT and LINT1 NMI.
 */
#include <string.h>
#include "config.h"
#include "cpu.h"
#include "machine.h"
#include "pc.h"

struct table_buf {
	uint8_t *base;
	size_t len, cap;
	bool overflow;
};

static uint8_t *tb_alloc(struct table_buf *t, size_t n)
{
	static uint8_t dummy[64];
	if (t->len + n > t->cap) {
		t->overflow = true;
		return dummy;
	}
	uint8_t *p = t->base + t->len;
	memset(p, 0, n);
	t->len += n;
	return p;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return -sum;
}

static uint8_t ioapic_id(const struct machine *m)
{
	return m->cfg->smp_cpus; /* the ID the engine gives the IOAPIC */
}

/* --- MP table --- */

static void mp_isa_irq(struct table_buf *t, uint8_t irq, uint8_t apic, uint8_t pin)
{
	uint8_t *e = tb_alloc(t, 8);
	e[0] = 3;        /* I/O interrupt assignment */
	e[1] = 0;        /* INT */
	put16(e + 2, 0); /* polarity/trigger: conform to the bus */
	e[4] = 1;        /* source bus: ISA */
	e[5] = irq;
	e[6] = apic;
	e[7] = pin;
}

static void mp_local_int(struct table_buf *t, uint8_t type, uint8_t lint)
{
	uint8_t *e = tb_alloc(t, 8);
	e[0] = 4;        /* local interrupt assignment */
	e[1] = type;     /* 3 = ExtINT, 1 = NMI */
	e[4] = 1;        /* from the ISA bus */
	e[6] = 0xff;     /* every local APIC */
	e[7] = lint;
}

static uint32_t mp_config_table(struct machine *m, struct table_buf *t, gpa_t base_gpa)
{
	const struct config *cfg = m->cfg;
	size_t start = t->len;
	uint8_t *h = tb_alloc(t, 44);
	unsigned entries = 0;
	memcpy(h, "PCMP", 4);
	h[6] = 4; /* spec 1.4 */
	memcpy(h + 8, "QVM     ", 8);
	memcpy(h + 16, "QVM PC      ", 12);
	put32(h + 36, PC_LAPIC_ADDR);
	for (unsigned i = 0; i < cfg->smp_cpus; i++, entries++) {
		uint8_t *e = tb_alloc(t, 20);
		e[0] = 0;            /* processor */
		e[1] = topo_apic_id(cfg, i);
		e[2] = 0x14;         /* LAPIC version */
		e[3] = 1 | (i == 0 ? 2 : 0); /* enabled, BSP */
		put32(e + 4, 0x600); /* signature: family 6 */
		put32(e + 8, 0x201); /* features: FPU, APIC */
	}
	uint8_t *bus = tb_alloc(t, 8);
	bus[0] = 1;          /* bus entry, bus 0 */
	memcpy(bus + 2, "PCI   ", 6);
	bus = tb_alloc(t, 8);
	bus[0] = 1;
	bus[1] = 1;
	memcpy(bus + 2, "ISA   ", 6);
	uint8_t *io = tb_alloc(t, 8);
	io[0] = 2;
	io[1] = ioapic_id(m);
	io[2] = 0x11;
	io[3] = 1;
	put32(io + 4, PC_IOAPIC_ADDR);
	entries += 3;
	for (unsigned irq = 0; irq < 16; irq++, entries++)
		if (irq != 2)
			mp_isa_irq(t, irq, ioapic_id(m), irq == 0 ? 2 : irq);
		else
			entries--;
	mp_local_int(t, 3, 0);
	mp_local_int(t, 1, 1);
	entries += 2;
	h = t->base + start;
	put16(h + 4, t->len - start);
	put16(h + 34, entries);
	h[7] = checksum(h, t->len - start);
	return base_gpa + start;
}

static void mp_floating_pointer(uint8_t *p, uint32_t config_gpa)
{
	memset(p, 0, 16);
	memcpy(p, "_MP_", 4);
	put32(p + 4, config_gpa);
	p[8] = 1; /* length in 16-byte units */
	p[9] = 4;
	p[10] = checksum(p, 16);
}

/* --- ACPI --- */

static uint8_t *acpi_header(struct table_buf *t, const char *sig, uint8_t rev, size_t *start)
{
	*start = t->len;
	uint8_t *h = tb_alloc(t, 36);
	memcpy(h, sig, 4);
	h[8] = rev;
	memcpy(h + 10, "QVM   ", 6);
	memcpy(h + 16, "QVMPC   ", 8);
	put32(h + 24, 1);
	memcpy(h + 28, "QVM ", 4);
	put32(h + 32, 1);
	return h;
}

static void acpi_finish(struct table_buf *t, size_t start)
{
	uint8_t *h = t->base + start;
	put32(h + 4, t->len - start);
	h[9] = 0;
	h[9] = checksum(h, t->len - start);
}

static uint32_t acpi_madt(struct machine *m, struct table_buf *t, gpa_t base_gpa)
{
	const struct config *cfg = m->cfg;
	size_t start;
	acpi_header(t, "APIC", 3, &start);
	uint8_t *p = tb_alloc(t, 8);
	put32(p, PC_LAPIC_ADDR);
	put32(p + 4, 1); /* PCAT_COMPAT: dual 8259s present */
	for (unsigned i = 0; i < cfg->smp_max_cpus; i++) {
		uint8_t *e = tb_alloc(t, 8);
		e[0] = 0;
		e[1] = 8;
		e[2] = i;                       /* ACPI processor UID */
		e[3] = topo_apic_id(cfg, i);
		put32(e + 4, i < cfg->smp_cpus ? 1 : 0); /* enabled */
	}
	uint8_t *io = tb_alloc(t, 12);
	io[0] = 1;
	io[1] = 12;
	io[2] = ioapic_id(m);
	put32(io + 4, PC_IOAPIC_ADDR);
	put32(io + 8, 0);                       /* GSI base */
	uint8_t *iso = tb_alloc(t, 10);
	iso[0] = 2;
	iso[1] = 10;
	iso[2] = 0;                             /* ISA */
	iso[3] = 0;                             /* IRQ 0 ... */
	put32(iso + 4, 2);                      /* ... is GSI 2 */
	put16(iso + 8, 0);                      /* conforms to the bus */
	uint8_t *nmi = tb_alloc(t, 6);
	nmi[0] = 4;
	nmi[1] = 6;
	nmi[2] = 0xff;                          /* all processors */
	put16(nmi + 3, 0);
	nmi[5] = 1;                             /* LINT1 */
	acpi_finish(t, start);
	return base_gpa + start;
}

static uint32_t acpi_rsdt(struct table_buf *t, gpa_t base_gpa, const uint32_t *tables, int n)
{
	size_t start;
	acpi_header(t, "RSDT", 1, &start);
	for (int i = 0; i < n; i++)
		put32(tb_alloc(t, 4), tables[i]);
	acpi_finish(t, start);
	return base_gpa + start;
}

static uint32_t acpi_xsdt(struct table_buf *t, gpa_t base_gpa, const uint32_t *tables, int n)
{
	size_t start;
	acpi_header(t, "XSDT", 1, &start);
	for (int i = 0; i < n; i++)
		put64(tb_alloc(t, 8), tables[i]);
	acpi_finish(t, start);
	return base_gpa + start;
}

static void acpi_rsdp(uint8_t *p, uint32_t rsdt, uint32_t xsdt)
{
	memset(p, 0, 36);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "QVM   ", 6);
	p[15] = 2; /* ACPI 2.0+ */
	put32(p + 16, rsdt);
	put32(p + 20, 36);
	put64(p + 24, xsdt);
	p[8] = checksum(p, 20);
	p[32] = checksum(p, 36);
}

int pc_write_tables(struct machine *m)
{
	size_t area = PC_EBDA_ADDR - PC_TABLES_ADDR;
	struct table_buf t = { .base = gpa_to_host(m, PC_TABLES_ADDR, area), .cap = area };
	uint8_t *ebda = gpa_to_host(m, PC_EBDA_ADDR, 1024);
	uint8_t *bda = gpa_to_host(m, 0x400, 0x100);
	if (!t.base || !ebda || !bda) {
		qvm_error("firmware tables: low memory is not RAM");
		return -1;
	}
	memset(ebda, 0, 1024);
	uint32_t mpc = mp_config_table(m, &t, PC_TABLES_ADDR);
	uint32_t madt = acpi_madt(m, &t, PC_TABLES_ADDR);
	uint32_t rsdt = acpi_rsdt(&t, PC_TABLES_ADDR, &madt, 1);
	uint32_t xsdt = acpi_xsdt(&t, PC_TABLES_ADDR, &madt, 1);
	if (t.overflow) {
		qvm_error("firmware tables do not fit in %zu bytes", area);
		return -1;
	}
	ebda[0] = 1; /* EBDA size in KiB */
	acpi_rsdp(ebda + 16, rsdt, xsdt);
	mp_floating_pointer(ebda + 64, mpc);
	/* BIOS data area: EBDA segment and base memory size in KiB */
	put16(bda + 0x0e, PC_EBDA_ADDR >> 4);
	put16(bda + 0x13, PC_TABLES_ADDR / KiB);
	return 0;
}
