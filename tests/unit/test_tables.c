/* MP table and ACPI tables (user/pc/tables.c), read back as a guest would. */
#include <string.h>
#include "unit.h"
#include "config.h"
#include "cpu.h"
#include "machine.h"
#include "pc/pc.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static struct machine *table_machine(struct config *c, unsigned cpus, unsigned sockets,
				     unsigned cores, unsigned threads)
{
	memset(c, 0, sizeof(*c));
	c->smp_cpus = cpus;
	c->smp_max_cpus = sockets * cores * threads;
	c->sockets = sockets, c->cores = cores, c->threads = threads;
	struct machine *m = machine_new(4 * MiB);
	m->cfg = c;
	machine_add_memory(m, REGION_RAM, 0, PC_LOW_RAM_END, m->ram, "low");
	return m;
}

/* Find the RSDP the standard way (ACPI 6.4, 5.2.5.1): the first KiB of
 * the EBDA, whose segment is at 0x40e. */
static const uint8_t *find_rsdp(struct machine *m)
{
	uint16_t seg;
	guest_read(m, 0x40e, &seg, 2);
	const uint8_t *ebda = gpa_to_host(m, (uint64_t)seg << 4, 1024);
	for (int off = 0; ebda && off < 1024; off += 16)
		if (!memcmp(ebda + off, "RSD PTR ", 8))
			return ebda + off;
	return NULL;
}

TEST(acpi_madt_lists_every_cpu_and_ioapic)
{
	struct config c;
	struct machine *m = table_machine(&c, 6, 2, 2, 2); /* 6 of 8 possible */
	CHECK(pc_write_tables(m) == 0);
	const uint8_t *rsdp = find_rsdp(m);
	CHECK(rsdp);
	CHECK_EQ(sum(rsdp, 20), 0);
	CHECK_EQ(sum(rsdp, 36), 0);
	CHECK_EQ(rsdp[15], 2);
	uint64_t xsdt_gpa;
	memcpy(&xsdt_gpa, rsdp + 24, 8);
	const uint8_t *xsdt = gpa_to_host(m, xsdt_gpa, 36);
	CHECK(xsdt && !memcmp(xsdt, "XSDT", 4));
	CHECK_EQ(sum(xsdt, rd32(xsdt + 4)), 0);
	CHECK_EQ(rd32(xsdt + 4), 36 + 2 * 8);          /* FADT, MADT */
	uint64_t madt_gpa;
	memcpy(&madt_gpa, xsdt + 36 + 8, 8);
	const uint8_t *madt = gpa_to_host(m, madt_gpa, 44);
	CHECK(madt && !memcmp(madt, "APIC", 4));
	uint32_t len = rd32(madt + 4);
	CHECK_EQ(sum(madt, len), 0);
	CHECK_EQ(rd32(madt + 36), 0xfee00000);
	unsigned enabled = 0, present = 0, ioapics = 0, overrides = 0;
	for (uint32_t off = 44; off < len; off += madt[off + 1]) {
		const uint8_t *e = madt + off;
		CHECK(e[1] >= 2);
		if (e[0] == 0) {
			CHECK_EQ(e[3], topo_apic_id(&c, e[2]));
			present++;
			enabled += rd32(e + 4) & 1;
		} else if (e[0] == 1) {
			ioapics++;
			CHECK_EQ(rd32(e + 4), 0xfec00000);
			CHECK_EQ(rd32(e + 8), 0);
		} else if (e[0] == 2) {
			overrides++;
			CHECK(e[3] == 0 || e[3] == 9); /* IRQ 0, the SCI */
			CHECK_EQ(rd32(e + 4), e[3] == 0 ? 2 : 9); /* -> GSI 2, 9 */
		}
	}
	CHECK_EQ(present, 8);
	CHECK_EQ(enabled, 6);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(overrides, 2);
	machine_free(m);
}

/* The ISA IRQs as the MADT tells them (ACPI 6.4 5.2.12.5: identity,
 * edge, active high unless overridden) and as the MP table tells them
 * (one I/O interrupt entry each), against the routing table. */
TEST(madt_and_mp_irqs_follow_the_routing_table)
{
	struct config c;
	struct machine *m = table_machine(&c, 2, 2, 1, 1);
	CHECK(pc_write_tables(m) == 0);
	const uint8_t *rsdp = find_rsdp(m);
	CHECK(rsdp);
	uint64_t xsdt_gpa, madt_gpa;
	memcpy(&xsdt_gpa, rsdp + 24, 8);
	const uint8_t *xsdt = gpa_to_host(m, xsdt_gpa, 52);
	memcpy(&madt_gpa, xsdt + 36 + 8, 8);
	const uint8_t *madt = gpa_to_host(m, madt_gpa, 44);
	CHECK(madt && !memcmp(madt, "APIC", 4));
	unsigned gsi[16];
	uint16_t flags[16] = { 0 };
	for (unsigned irq = 0; irq < 16; irq++)
		gsi[irq] = irq;
	for (uint32_t off = 44; off < rd32(madt + 4); off += madt[off + 1]) {
		const uint8_t *e = madt + off;
		if (e[0] != 2)
			continue;
		CHECK_EQ(e[2], 0);
		CHECK(e[3] < 16);
		gsi[e[3] & 15] = rd32(e + 4);
		memcpy(&flags[e[3] & 15], e + 8, 2);
	}
	for (unsigned irq = 0; irq < 16; irq++) {
		const struct irq_route *r = &pc_irq_routing.isa[irq];
		if (r->gsi == IRQ_ROUTE_NONE)
			continue;
		CHECK_EQ(gsi[irq], (unsigned)r->gsi);
		/* polarity: 00 conforms (active high on ISA), 01 high, 11 low */
		CHECK_EQ((flags[irq] & 3) == 3, r->active_low);
		/* trigger: 00 conforms (edge on ISA), 01 edge, 11 level */
		CHECK_EQ((flags[irq] >> 2 & 3) == 3, r->level);
	}
	CHECK_EQ(gsi[0], 2);
	CHECK_EQ(flags[9], 0x000d);
	/* the MP table: the same pins and flags */
	const uint8_t *ebda = gpa_to_host(m, PC_EBDA_ADDR, 1024), *fp = NULL;
	for (int off = 0; off < 1024; off += 16)
		if (!memcmp(ebda + off, "_MP_", 4))
			fp = ebda + off;
	CHECK(fp);
	const uint8_t *mpc = gpa_to_host(m, rd32(fp + 4), 44);
	uint16_t len;
	memcpy(&len, mpc + 4, 2);
	unsigned seen = 0;
	for (const uint8_t *e = mpc + 44; e < mpc + len; e += e[0] == 0 ? 20 : 8) {
		if (e[0] != 3 || e[4] != 1)
			continue;
		const struct irq_route *r = &pc_irq_routing.isa[e[5] & 15];
		uint16_t f;
		memcpy(&f, e + 2, 2);
		CHECK_EQ(e[7], r->gsi);
		CHECK_EQ(f, flags[e[5] & 15]);
		seen++;
	}
	CHECK_EQ(seen, 15);
	machine_free(m);
}

TEST(topology_apic_ids)
{
	struct config c = { .smp_cpus = 12, .smp_max_cpus = 12, .sockets = 2, .cores = 3,
			    .threads = 2 };
	CHECK_EQ(topo_thread_bits(&c), 1);
	CHECK_EQ(topo_core_bits(&c), 2);
	CHECK_EQ(topo_apic_id(&c, 0), 0);
	CHECK_EQ(topo_apic_id(&c, 1), 1);   /* thread 1 of core 0 */
	CHECK_EQ(topo_apic_id(&c, 2), 2);   /* core 1 */
	CHECK_EQ(topo_apic_id(&c, 5), 5);   /* core 2, thread 1 */
	CHECK_EQ(topo_apic_id(&c, 6), 8);   /* socket 1 starts at 1 << 3 */
	CHECK_EQ(topo_apic_id(&c, 11), 13);
}

TEST(mp_table_checksums_and_entries)
{
	struct config c;
	struct machine *m = table_machine(&c, 4, 4, 1, 1);
	CHECK(pc_write_tables(m) == 0);
	const uint8_t *ebda = gpa_to_host(m, PC_EBDA_ADDR, 1024), *fp = NULL;
	for (int off = 0; off < 1024; off += 16)
		if (!memcmp(ebda + off, "_MP_", 4))
			fp = ebda + off;
	CHECK(fp);
	CHECK_EQ(sum(fp, 16), 0);
	const uint8_t *mpc = gpa_to_host(m, rd32(fp + 4), 44);
	CHECK(mpc && !memcmp(mpc, "PCMP", 4));
	uint16_t len, count;
	memcpy(&len, mpc + 4, 2);
	memcpy(&count, mpc + 34, 2);
	CHECK_EQ(sum(mpc, len), 0);
	unsigned cpus = 0, bsp = 0, irqs = 0, n = 0;
	for (const uint8_t *e = mpc + 44; e < mpc + len; n++) {
		if (e[0] == 0) {
			cpus++;
			bsp += (e[3] & 2) != 0;
			e += 20;
		} else {
			if (e[0] == 3 && e[5] == 0)
				CHECK_EQ(e[7], 2);  /* ISA IRQ 0 on INTIN 2 */
			irqs += e[0] == 3;
			e += 8;
		}
	}
	CHECK_EQ(n, count);
	CHECK_EQ(cpus, 4);
	CHECK_EQ(bsp, 1);
	CHECK_EQ(irqs, 15);
	machine_free(m);
}
