/* ACPI (RSDP -> RSDT/XSDT -> MADT) and Intel MP table parsing. */
#include "guest.h"

struct sdt_hdr {
	char sig[4];
	uint32_t length;
	uint8_t rev, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static uint8_t sum8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	while (n--)
		s += *b++;
	return s;
}

static const void *scan(uint64_t start, uint64_t len, const char *sig, size_t siglen, size_t cklen)
{
	for (uint64_t a = start; a + 16 <= start + len; a += 16)
		if (!memcmp((const void *)a, sig, siglen) && sum8((const void *)a, cklen) == 0)
			return (const void *)a;
	return NULL;
}

static const void *find_rsdp(void)
{
	uint64_t ebda = (uint64_t)*(volatile uint16_t *)phys(0x40e) << 4;
	const void *p = NULL;
	if (ebda >= 0x80000 && ebda < 0xa0000)
		p = scan(ebda, 1024, "RSD PTR ", 8, 20);
	if (!p)
		p = scan(0xe0000, 0x20000, "RSD PTR ", 8, 20);
	return p;
}

static const char *acpi_bad;

const void *acpi_find_table(const char sig[4])
{
	const uint8_t *rsdp = find_rsdp();
	if (!rsdp)
		return NULL;
	uint8_t rev = rsdp[15];
	uint32_t rsdt = *(const uint32_t *)(rsdp + 16);
	uint64_t xsdt = rev >= 2 ? *(const uint64_t *)(rsdp + 24) : 0;
	if (rev >= 2 && sum8(rsdp, *(const uint32_t *)(rsdp + 20)) != 0)
		acpi_bad = "RSDP extended checksum";
	const struct sdt_hdr *root = (const void *)(xsdt ? xsdt : (uint64_t)rsdt);
	if (!root || memcmp(root->sig, xsdt ? "XSDT" : "RSDT", 4)) {
		acpi_bad = "root table signature";
		return NULL;
	}
	if (sum8(root, root->length))
		acpi_bad = "root table checksum";
	int esize = xsdt ? 8 : 4;
	int n = (root->length - sizeof(*root)) / esize;
	const uint8_t *ent = (const uint8_t *)(root + 1);
	for (int i = 0; i < n; i++) {
		uint64_t a = esize == 8 ? *(const uint64_t *)(ent + 8 * i) : *(const uint32_t *)(ent + 4 * i);
		const struct sdt_hdr *t = (const void *)a;
		if (!memcmp(t->sig, sig, 4)) {
			if (sum8(t, t->length))
				acpi_bad = "table checksum";
			return t;
		}
	}
	return NULL;
}

static void mp_scan(struct madt_info *m)
{
	uint64_t ebda = (uint64_t)*(volatile uint16_t *)phys(0x40e) << 4;
	const uint8_t *fp = NULL;
	if (ebda >= 0x80000 && ebda < 0xa0000)
		fp = scan(ebda, 1024, "_MP_", 4, 16);
	if (!fp)
		fp = scan(0x9fc00, 0x400, "_MP_", 4, 16);
	if (!fp)
		fp = scan(0xe0000, 0x20000, "_MP_", 4, 16);
	if (!fp)
		return;
	uint32_t cfg = *(const uint32_t *)(fp + 4);
	const uint8_t *h = (const void *)(uint64_t)cfg;
	if (!cfg || memcmp(h, "PCMP", 4)) {
		if (!m->bad)
			m->bad = "MP config table missing";
		return;
	}
	uint16_t len = *(const uint16_t *)(h + 4), count = *(const uint16_t *)(h + 34);
	if (sum8(h, len) && !m->bad)
		m->bad = "MP config table checksum";
	m->mp_found = true;
	const uint8_t *e = h + 44;
	for (int i = 0; i < count && e < h + len; i++) {
		if (e[0] == 0) {		/* processor */
			if ((e[3] & 1) && m->mp_ncpus < (int)ARRAY_SIZE(m->mp_apic_ids))
				m->mp_apic_ids[m->mp_ncpus++] = e[1];
			e += 20;
		} else {
			e += 8;
		}
	}
}

void acpi_scan(struct madt_info *m)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < 16; i++)
		m->irq_gsi[i] = i;
	m->lapic_addr = LAPIC_BASE;
	m->ioapic_addr = IOAPIC_BASE;
	const struct sdt_hdr *t = acpi_find_table("APIC");
	if (t) {
		m->found = true;
		memcpy(m->oem, t->oem, 6);
		const uint8_t *p = (const uint8_t *)(t + 1);
		m->lapic_addr = *(const uint32_t *)p;
		const uint8_t *e = p + 8, *end = (const uint8_t *)t + t->length;
		while (e + 2 <= end && e[1] >= 2) {
			switch (e[0]) {
			case 0:			/* processor local APIC */
				if ((e[4] & 1) && m->ncpus < (int)ARRAY_SIZE(m->apic_ids))
					m->apic_ids[m->ncpus++] = e[3];
				break;
			case 1:			/* IOAPIC */
				if (m->nioapics++ == 0) {
					m->ioapic_addr = *(const uint32_t *)(e + 4);
					m->ioapic_gsi_base = *(const uint32_t *)(e + 8);
				}
				break;
			case 2:			/* interrupt source override */
				if (e[2] == 0 && e[3] < 16)
					m->irq_gsi[e[3]] = *(const uint32_t *)(e + 4);
				break;
			case 9:			/* x2APIC */
				if ((e[8] & 1) && m->ncpus < (int)ARRAY_SIZE(m->apic_ids))
					m->apic_ids[m->ncpus++] = *(const uint32_t *)(e + 4);
				break;
			}
			e += e[1];
		}
	}
	m->irq0_gsi = m->irq_gsi[0];
	if (acpi_bad)
		m->bad = acpi_bad;
	mp_scan(m);
}
