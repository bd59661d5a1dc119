/*
 * Firmware tables: the Intel MultiProcessor table (MP spec 1.4, chapter
 * 4) and ACPI (ACPI 6.4: RSDP 5.2.5, RSDT/XSDT 5.2.7-8, FADT 5.2.9, FACS
 * 5.2.10, DSDT 5.2.11.1, MADT 5.2.12).  Both describe the processors and
 * interrupt routing alike: every vCPU's LAPIC, one IOAPIC at GSI 0, the
 * ISA IRQs as the board's routing table wires them (irq-routes.c: IRQ 0
 * on pin 2, the SCI on IRQ 9 level and active high), LINT0 ExtINT and
 * LINT1 NMI.  ACPI adds the fixed hardware of hw/acpi_pm.c, reset through
 * port 0xcf9, and a DSDT with \_S5, the PCI root bridge with its _PRT and
 * the ISA devices (its AML is built in acpi-dsdt.c).
 *
 * Everything lies in [PC_TABLES_ADDR, PC_EBDA_ADDR), the RSDP and the MP
 * floating pointer in the EBDA (and, for -kernel boots, a copy of the RSDP
 * at PC_BIOS_RSDP_ADDR and smbios.c's SMBIOS tables after it); writing
 * them again (on reset) gives the same bytes.
 */
#include <stdlib.h>
#include <string.h>
#include "pc/acpi-aml.h"
#include "bytes.h"
#include "config.h"
#include "cpu.h"
#include "hw/hw.h"
#include "machine.h"
#include "pc/pc.h"

struct table_buf {
	uint8_t *base;
	size_t len, cap;
	bool overflow;
};

/* n bytes, zeroed.  Past the end, a scratch buffer takes the writes and
 * t->overflow fails the whole build: n must not exceed its size (larger
 * blocks go through tb_copy). */
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

static void tb_copy(struct table_buf *t, const void *src, size_t n)
{
	if (t->len + n > t->cap) {
		t->overflow = true;
		return;
	}
	memcpy(t->base + t->len, src, n);
	t->len += n;
}

/* Pad to a multiple of align bytes from the area's start (which is page
 * aligned). */
static void tb_align(struct table_buf *t, size_t align)
{
	size_t pad = (align - t->len % align) % align;
	if (pad)
		tb_alloc(t, pad);
}


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

/* I/O interrupt assignment (MP spec 4.3.4): the flags have the MADT's
 * encoding. */
static void mp_isa_irq(struct table_buf *t, uint8_t irq, uint8_t apic, uint8_t pin,
		       uint16_t flags)
{
	uint8_t *e = tb_alloc(t, 8);
	e[0] = 3;        /* I/O interrupt assignment */
	e[1] = 0;        /* INT */
	wr16(e + 2, flags);
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
	wr32(h + 36, PC_LAPIC_ADDR);
	for (unsigned i = 0; i < cfg->smp_cpus; i++, entries++) {
		uint8_t *e = tb_alloc(t, 20);
		e[0] = 0;            /* processor */
		e[1] = topo_apic_id(cfg, i);
		e[2] = 0x14;         /* LAPIC version */
		e[3] = 1 | (i == 0 ? 2 : 0); /* enabled, BSP */
		wr32(e + 4, 0x600); /* signature: family 6 */
		wr32(e + 8, 0x201); /* features: FPU, APIC */
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
	wr32(io + 4, PC_IOAPIC_ADDR);
	entries += 3;
	for (unsigned irq = 0; irq < IRQ_ISA_LINES; irq++) {
		const struct irq_route *r = &pc_irq_routing.isa[irq];
		if (r->gsi == IRQ_ROUTE_NONE)
			continue;
		mp_isa_irq(t, irq, ioapic_id(m), r->gsi, irq_isa_inti_flags(r));
		entries++;
	}
	mp_local_int(t, 3, 0);
	mp_local_int(t, 1, 1);
	entries += 2;
	h = t->base + start;
	wr16(h + 4, t->len - start);
	wr16(h + 34, entries);
	h[7] = checksum(h, t->len - start);
	return base_gpa + start;
}

static void mp_floating_pointer(uint8_t *p, uint32_t config_gpa)
{
	memset(p, 0, 16);
	memcpy(p, "_MP_", 4);
	wr32(p + 4, config_gpa);
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
	wr32(h + 24, 1);
	memcpy(h + 28, "QVM ", 4);
	wr32(h + 32, 1);
	return h;
}

static void acpi_finish(struct table_buf *t, size_t start)
{
	if (t->overflow)
		return; /* the header may lie past the area */
	uint8_t *h = t->base + start;
	wr32(h + 4, t->len - start);
	h[9] = 0;
	h[9] = checksum(h, t->len - start);
}

/* --- FACS and FADT (5.2.10, 5.2.9) --- */

#define ACPI_HDR_LEN 36
#define FACS_LEN 64
#define FADT_LEN 276             /* revision 6, through the hypervisor ID */
#define FADT_REV 6
#define FADT_MINOR 4             /* ACPI 6.4 */

/* FADT fixed feature flags [5.2.9, Table 5.10] */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_SLP_BUTTON (1u << 5)     /* 1: no fixed-feature sleep button */
#define FADT_FIX_RTC (1u << 6)        /* 1: no RTC wake status in PM1 */
#define FADT_RESET_REG_SUP (1u << 10)
/* PWR_BUTTON (bit 4) is 0: acpi_pm.c has the fixed-feature power button.
 * TMR_VAL_EXT (bit 8) is 0: the PM timer is 24 bits. */
#define FADT_FLAGS (FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC | \
		    FADT_RESET_REG_SUP)

/* IA-PC boot architecture flags [5.2.9.3]: ISA devices, an 8042, and
 * no VGA (nothing decodes 0xa0000-0xbffff). */
#define BOOT_LEGACY_DEVICES (1u << 0)
#define BOOT_8042 (1u << 1)
#define BOOT_VGA_NOT_PRESENT (1u << 2)

/* Generic Address Structure [5.2.3.2] */
#define GAS_SYSTEM_IO 1
enum { GAS_BYTE = 1, GAS_WORD, GAS_DWORD };

#define PC_RESET_PORT 0xcf9      /* PIIX reset control (hw/pci_host.c) */
#define PC_RESET_VALUE 0x06      /* SYS_RST | RST_CPU: hard reset */

static void gas_io(uint8_t *p, uint16_t port, uint8_t bits, uint8_t access)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = bits;
	p[2] = 0;                /* bit offset */
	p[3] = access;
	wr64(p + 4, port);
}

/* The FACS is 64-byte aligned and has no checksum [5.2.10]. */
static uint32_t acpi_facs(struct table_buf *t, gpa_t base_gpa)
{
	tb_align(t, 64);
	size_t start = t->len;
	uint8_t *f = tb_alloc(t, FACS_LEN);
	memcpy(f, "FACS", 4);
	wr32(f + 4, FACS_LEN);
	f[32] = 2;               /* version */
	return base_gpa + start;
}

/* One fixed-hardware block: the 32-bit address and length, and the same
 * as a GAS in the X_ field [5.2.9, Table 5.9]. */
static void fadt_block(uint8_t *f, unsigned addr_off, unsigned len_off, unsigned x_off,
		       uint16_t port, uint8_t len, uint8_t access)
{
	wr32(f + addr_off, port);
	f[len_off] = len;
	gas_io(f + x_off, port, len * 8, access);
}

/* Field offsets from ACPI 6.4 Table 5.9. */
static void fadt_fill(uint8_t *f, uint32_t facs, uint32_t dsdt)
{
	wr32(f + 36, facs);     /* FIRMWARE_CTRL; X_FIRMWARE_CTRL (132) stays 0 */
	wr32(f + 40, dsdt);
	f[45] = 0;               /* preferred PM profile: unspecified */
	wr16(f + 46, ACPI_SCI_GSI);
	wr32(f + 48, 0);        /* SMI_CMD: none, always in ACPI mode */
	fadt_block(f, 56, 88, 148, ACPI_PM_BASE + ACPI_PM1_EVT_OFF, ACPI_PM1_EVT_LEN, GAS_WORD);
	fadt_block(f, 64, 89, 172, ACPI_PM_BASE + ACPI_PM1_CNT_OFF, ACPI_PM1_CNT_LEN, GAS_WORD);
	fadt_block(f, 76, 91, 208, ACPI_PM_BASE + ACPI_PM_TMR_OFF, ACPI_PM_TMR_LEN, GAS_DWORD);
	fadt_block(f, 80, 92, 220, ACPI_PM_BASE + ACPI_GPE0_OFF, ACPI_GPE0_LEN, GAS_BYTE);
	wr16(f + 96, 101);      /* P_LVL2_LAT > 100: no C2 */
	wr16(f + 98, 1001);     /* P_LVL3_LAT > 1000: no C3 */
	f[108] = 0x32;           /* CENTURY: the CMOS century byte (hw/rtc.c) */
	wr16(f + 109, BOOT_LEGACY_DEVICES | BOOT_8042 | BOOT_VGA_NOT_PRESENT);
	wr32(f + 112, FADT_FLAGS);
	gas_io(f + 116, PC_RESET_PORT, 8, GAS_BYTE);   /* RESET_REG [4.8.3.6] */
	f[128] = PC_RESET_VALUE;
	f[131] = FADT_MINOR;
	wr64(f + 140, dsdt);    /* X_DSDT */
	memcpy(f + 268, "QVM\0\0\0\0\0", 8); /* hypervisor vendor identity */
}

static uint32_t acpi_fadt(struct table_buf *t, gpa_t base_gpa, uint32_t facs, uint32_t dsdt)
{
	uint8_t f[FADT_LEN] = { 0 };
	size_t start;
	acpi_header(t, "FACP", FADT_REV, &start);
	fadt_fill(f, facs, dsdt);
	tb_copy(t, f + ACPI_HDR_LEN, FADT_LEN - ACPI_HDR_LEN);
	acpi_finish(t, start);
	return base_gpa + start;
}

/* --- DSDT (5.2.11.1): the header around acpi-dsdt.c's AML --- */

#define DSDT_REV 2               /* 64-bit integers */

static uint32_t acpi_dsdt(struct machine *m, struct table_buf *t, gpa_t base_gpa)
{
	struct aml a;
	size_t start;
	aml_init(&a);
	if (acpi_dsdt_build(m, &a) < 0) {
		t->overflow = true; /* out of memory; the names are ours */
		aml_free(&a);
		return 0;
	}
	acpi_header(t, "DSDT", DSDT_REV, &start);
	tb_copy(t, a.data, a.len);
	acpi_finish(t, start);
	aml_free(&a);
	return base_gpa + start;
}

/* Interrupt source override [5.2.12.5]: ISA irq is gsi, with the MPS
 * INTI flags. */
static void madt_iso(struct table_buf *t, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	uint8_t *iso = tb_alloc(t, 10);
	iso[0] = 2;
	iso[1] = 10;
	iso[2] = 0;                             /* bus: ISA */
	iso[3] = irq;
	wr32(iso + 4, gsi);
	wr16(iso + 8, flags);
}

static uint32_t acpi_madt(struct machine *m, struct table_buf *t, gpa_t base_gpa)
{
	const struct config *cfg = m->cfg;
	size_t start;
	acpi_header(t, "APIC", 3, &start);
	uint8_t *p = tb_alloc(t, 8);
	wr32(p, PC_LAPIC_ADDR);
	wr32(p + 4, 1); /* PCAT_COMPAT: dual 8259s present */
	for (unsigned i = 0; i < cfg->smp_max_cpus; i++) {
		uint8_t *e = tb_alloc(t, 8);
		e[0] = 0;
		e[1] = 8;
		e[2] = i;                       /* ACPI processor UID */
		e[3] = topo_apic_id(cfg, i);
		wr32(e + 4, i < cfg->smp_cpus ? 1 : 0); /* enabled */
	}
	uint8_t *io = tb_alloc(t, 12);
	io[0] = 1;
	io[1] = 12;
	io[2] = ioapic_id(m);
	wr32(io + 4, PC_IOAPIC_ADDR);
	wr32(io + 8, 0);                       /* GSI base */
	/* An override wherever the routing differs from the identity and the
	 * bus's edge, active high: IRQ 0 on GSI 2, and the SCI (which without
	 * one OSPM would take as level, active low; FADT SCI_INT, 5.2.9). */
	for (unsigned irq = 0; irq < IRQ_ISA_LINES; irq++) {
		const struct irq_route *r = &pc_irq_routing.isa[irq];
		uint16_t flags = irq_isa_inti_flags(r);
		if (r->gsi != IRQ_ROUTE_NONE && ((unsigned)r->gsi != irq || flags))
			madt_iso(t, irq, r->gsi, flags);
	}
	uint8_t *nmi = tb_alloc(t, 6);
	nmi[0] = 4;
	nmi[1] = 6;
	nmi[2] = 0xff;                          /* all processors */
	wr16(nmi + 3, 0);
	nmi[5] = 1;                             /* LINT1 */
	acpi_finish(t, start);
	return base_gpa + start;
}

static uint32_t acpi_rsdt(struct table_buf *t, gpa_t base_gpa, const uint32_t *tables, int n)
{
	size_t start;
	acpi_header(t, "RSDT", 1, &start);
	for (int i = 0; i < n; i++)
		wr32(tb_alloc(t, 4), tables[i]);
	acpi_finish(t, start);
	return base_gpa + start;
}

static uint32_t acpi_xsdt(struct table_buf *t, gpa_t base_gpa, const uint32_t *tables, int n)
{
	size_t start;
	acpi_header(t, "XSDT", 1, &start);
	for (int i = 0; i < n; i++)
		wr64(tb_alloc(t, 8), tables[i]);
	acpi_finish(t, start);
	return base_gpa + start;
}

static void acpi_rsdp(uint8_t *p, uint32_t rsdt, uint32_t xsdt)
{
	memset(p, 0, 36);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "QVM   ", 6);
	p[15] = 2; /* ACPI 2.0+ */
	wr32(p + 16, rsdt);
	wr32(p + 20, 36);
	wr64(p + 24, xsdt);
	p[8] = checksum(p, 20);
	p[32] = checksum(p, 36);
}

/* ACPI 6.4 5.2.5.1: on IA-PC systems the OS looks for the RSDP in the
 * first KiB of the EBDA and then in the BIOS read-only area 0xE0000-
 * 0xFFFFF, which is where firmware usually keeps it and where simple
 * guests look only.  With -bios the ROM owns that area; with -kernel qvm
 * is the firmware, the area is RAM (e820-reserved from PC_BIOS_AREA) and
 * gets a copy. */
static int bios_area_rsdp(struct machine *m, const uint8_t *rsdp)
{
	bool writable = false;
	if (!gpa_lookup(m, PC_BIOS_RSDP_ADDR, 36, &writable) || !writable ||
	    guest_write(m, PC_BIOS_RSDP_ADDR, rsdp, 36) < 0) {
		qvm_error("firmware tables: 0x%llx is not RAM",
			  (unsigned long long)PC_BIOS_RSDP_ADDR);
		return -1;
	}
	return 0;
}

/* -kernel: the SMBIOS entry point where guests without EFI look for it,
 * on a 16-byte boundary in 0xF0000-0xFFFFF (DSP0134 5.2.1), the
 * structures after it. */
static int bios_area_smbios(struct machine *m)
{
	struct smbios_blob b;
	uint8_t ep[SMBIOS_EP_LEN];
	if (pc_smbios_build(m, true, &b) < 0)
		return -1;
	int r = 0;
	if (PC_BIOS_SMBIOS_TABLE + b.len > 0x100000) {
		qvm_error("SMBIOS tables: %u bytes do not fit below 1 MiB", b.len);
		r = -1;
	} else {
		pc_smbios_entry(&b, PC_BIOS_SMBIOS_TABLE, ep);
		r = guest_write(m, PC_BIOS_SMBIOS_ADDR, ep, sizeof(ep)) |
		    guest_write(m, PC_BIOS_SMBIOS_TABLE, b.tables, b.len);
	}
	free(b.tables);
	return r ? -1 : 0;
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
	uint32_t facs = acpi_facs(&t, PC_TABLES_ADDR);
	uint32_t dsdt = acpi_dsdt(m, &t, PC_TABLES_ADDR);
	uint32_t sdts[] = {
		acpi_fadt(&t, PC_TABLES_ADDR, facs, dsdt),
		acpi_madt(m, &t, PC_TABLES_ADDR),
	};
	uint32_t rsdt = acpi_rsdt(&t, PC_TABLES_ADDR, sdts, ARRAY_SIZE(sdts));
	uint32_t xsdt = acpi_xsdt(&t, PC_TABLES_ADDR, sdts, ARRAY_SIZE(sdts));
	if (t.overflow) {
		qvm_error("firmware tables do not fit in %zu bytes", area);
		return -1;
	}
	ebda[0] = 1; /* EBDA size in KiB */
	acpi_rsdp(ebda + 16, rsdt, xsdt);
	const struct pc_board *b = m->board;
	if (b && b->qvm_firmware && (bios_area_rsdp(m, ebda + 16) < 0 || bios_area_smbios(m) < 0))
		return -1;
	mp_floating_pointer(ebda + 64, mpc);
	/* BIOS data area: EBDA segment and base memory size in KiB */
	wr16(bda + 0x0e, PC_EBDA_ADDR >> 4);
	wr16(bda + 0x13, PC_TABLES_ADDR / KiB);
	/* all built in place: tell the RAM listeners (memory.h) */
	machine_ram_written(m, PC_TABLES_ADDR, t.len);
	machine_ram_written(m, PC_EBDA_ADDR, 1024);
	machine_ram_written(m, 0x400, 0x100);
	return 0;
}

/* --- the same ACPI tables for firmware's table loader --- */

static void blob_ptr(struct acpi_blob *b, uint32_t offset, uint8_t size)
{
	if (b->nr_ptrs < ACPI_BLOB_MAX_FIXUPS)
		b->ptrs[b->nr_ptrs++] = (typeof(b->ptrs[0])){ offset, size };
}

/* The checksum of the table at start (its length from its header). */
static void blob_sum(struct acpi_blob *b, uint32_t start)
{
	if (b->nr_sums < ACPI_BLOB_MAX_FIXUPS)
		b->sums[b->nr_sums++] = (typeof(b->sums[0])){ start + 9, start,
							      rd32(b->tables + start + 4) };
}

/* Built at base 0, every pointer is the offset of its target in the blob:
 * the loader adds the blob's address (ADD_POINTER) and fixes the
 * checksums (ADD_CHECKSUM). */
int pc_acpi_blob(struct machine *m, struct acpi_blob *b)
{
	size_t cap = 64 * KiB;
	memset(b, 0, sizeof(*b));
	struct table_buf t = { .base = calloc(1, cap), .cap = cap };
	if (!t.base) {
		qvm_error("firmware tables: out of memory");
		return -1;
	}
	uint32_t facs = acpi_facs(&t, 0);
	uint32_t dsdt = acpi_dsdt(m, &t, 0);
	uint32_t sdts[] = { acpi_fadt(&t, 0, facs, dsdt), acpi_madt(m, &t, 0) };
	uint32_t rsdt = acpi_rsdt(&t, 0, sdts, ARRAY_SIZE(sdts));
	uint32_t xsdt = acpi_xsdt(&t, 0, sdts, ARRAY_SIZE(sdts));
	if (t.overflow) {
		qvm_error("firmware tables do not fit in %zu bytes", cap);
		free(t.base);
		return -1;
	}
	b->tables = t.base;
	b->tables_len = t.len;
	uint32_t fadt = sdts[0];
	blob_ptr(b, fadt + 36, 4);      /* FIRMWARE_CTRL */
	blob_ptr(b, fadt + 40, 4);      /* DSDT */
	blob_ptr(b, fadt + 140, 8);     /* X_DSDT */
	for (unsigned i = 0; i < ARRAY_SIZE(sdts); i++) {
		blob_ptr(b, rsdt + ACPI_HDR_LEN + 4 * i, 4);
		blob_ptr(b, xsdt + ACPI_HDR_LEN + 8 * i, 8);
	}
	blob_sum(b, dsdt);
	for (unsigned i = 0; i < ARRAY_SIZE(sdts); i++)
		blob_sum(b, sdts[i]);
	blob_sum(b, rsdt);
	blob_sum(b, xsdt);
	acpi_rsdp(b->rsdp, rsdt, xsdt);
	return 0;
}
