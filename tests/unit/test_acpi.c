/* ACPI tables (user/pc/tables.c) and the AML encoder (user/pc/acpi-aml.c): the
 * FADT and FACS fields, the MADT's SCI override, and the DSDT parsed back
 * by a small AML reader of our own; then, where iasl is installed, the
 * tables disassembled and the DSDT recompiled by ACPICA.  Set
 * QVM_ACPI_DUMP=DIR to keep the binary tables and iasl's output in DIR. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "pc/acpi-aml.h"
#include "config.h"
#include "hw/hw.h"
#include "machine.h"
#include "pc/pc.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	memcpy(&v, p, n);
	return v;
}

static struct machine *acpi_machine(struct config *c, unsigned cpus, uint64_t ram)
{
	memset(c, 0, sizeof(*c));
	c->smp_cpus = c->smp_max_cpus = c->sockets = cpus;
	c->cores = c->threads = 1;
	struct machine *m = machine_new(ram);
	if (!m)
		return NULL;
	m->cfg = c;
	machine_add_memory(m, REGION_RAM, 0, PC_LOW_RAM_END, m->ram, "low");
	return m;
}

/* The tables as a guest finds them: RSDP in the EBDA, XSDT, FADT. */
struct tables {
	const uint8_t *rsdp, *rsdt, *xsdt, *fadt, *facs, *dsdt, *madt;
};

static const uint8_t *table_at(struct machine *m, uint64_t gpa)
{
	const uint8_t *h = gpa ? gpa_to_host(m, gpa, 36) : NULL;
	if (!h || rd(h + 4, 4) < 36 || !gpa_to_host(m, gpa, rd(h + 4, 4)))
		return NULL;
	return h;
}

static bool find_tables(struct machine *m, struct tables *t)
{
	memset(t, 0, sizeof(*t));
	const uint8_t *ebda = gpa_to_host(m, rd(gpa_to_host(m, 0x40e, 2), 2) << 4, 1024);
	for (int off = 0; ebda && off < 1024 && !t->rsdp; off += 16)
		if (!memcmp(ebda + off, "RSD PTR ", 8))
			t->rsdp = ebda + off;
	if (!t->rsdp)
		return false;
	t->rsdt = table_at(m, rd(t->rsdp + 16, 4));
	t->xsdt = table_at(m, rd(t->rsdp + 24, 8));
	if (!t->xsdt)
		return false;
	for (uint32_t off = 36; off + 8 <= rd(t->xsdt + 4, 4); off += 8) {
		const uint8_t *h = table_at(m, rd(t->xsdt + off, 8));
		if (h && !memcmp(h, "FACP", 4))
			t->fadt = h;
		if (h && !memcmp(h, "APIC", 4))
			t->madt = h;
	}
	if (!t->fadt)
		return false;
	t->dsdt = table_at(m, rd(t->fadt + 140, 8));
	t->facs = gpa_to_host(m, rd(t->fadt + 36, 4), 64);
	return t->dsdt && t->facs && t->madt;
}

TEST(acpi_tables_checksums_and_roots)
{
	struct config c;
	struct machine *m = acpi_machine(&c, 2, 64 * MiB);
	struct tables t;
	CHECK(m && pc_write_tables(m) == 0 && find_tables(m, &t));
	CHECK_EQ(sum(t.rsdp, 20), 0);
	CHECK_EQ(sum(t.rsdp, 36), 0);
	const uint8_t *sdts[] = { t.rsdt, t.xsdt, t.fadt, t.dsdt, t.madt };
	for (unsigned i = 0; i < ARRAY_SIZE(sdts); i++) {
		CHECK(sdts[i]);
		CHECK_EQ(sum(sdts[i], rd(sdts[i] + 4, 4)), 0);
	}
	CHECK_EQ(rd(t.rsdt + 4, 4), 36 + 2 * 4);      /* FADT and MADT */
	CHECK_EQ(rd(t.xsdt + 4, 4), 36 + 2 * 8);
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(rd(t.rsdt + 36 + 4 * i, 4), rd(t.xsdt + 36 + 8 * i, 8));
	CHECK_EQ(rd(t.xsdt + 36, 8), (uint64_t)(t.fadt - (const uint8_t *)m->ram));
	CHECK(!memcmp(t.facs, "FACS", 4));
	CHECK_EQ(rd(t.facs + 4, 4), 64);
	CHECK_EQ(rd(t.fadt + 36, 4) % 64, 0);          /* FACS 64-byte aligned */
	CHECK_EQ(t.dsdt[8], 2);                        /* 64-bit AML integers */
	machine_free(m);
}

/* GAS: system I/O at port, bit width, access size. */
static bool gas_is(const uint8_t *g, uint16_t port, uint8_t bits, uint8_t access)
{
	return g[0] == 1 && g[1] == bits && g[2] == 0 && g[3] == access && rd(g + 4, 8) == port;
}

TEST(acpi_fadt_fields)
{
	struct config c;
	struct machine *m = acpi_machine(&c, 1, 64 * MiB);
	struct tables t;
	CHECK(m && pc_write_tables(m) == 0 && find_tables(m, &t));
	const uint8_t *f = t.fadt;
	CHECK_EQ(rd(f + 4, 4), 276);
	CHECK_EQ(f[8], 6);                             /* revision 6 ... */
	CHECK_EQ(f[131], 4);                           /* ... minor 4: ACPI 6.4 */
	CHECK_EQ(rd(f + 40, 4), rd(f + 140, 8));       /* DSDT == X_DSDT */
	CHECK_EQ(rd(f + 132, 8), 0);                   /* the FACS is below 4 GiB */
	CHECK_EQ(rd(f + 46, 2), 9);                    /* SCI_INT */
	CHECK_EQ(rd(f + 48, 4), 0);                    /* SMI_CMD: always ACPI mode */
	CHECK_EQ(rd(f + 56, 4), 0x600);                /* PM1a_EVT_BLK */
	CHECK_EQ(rd(f + 60, 4), 0);                    /* no PM1b */
	CHECK_EQ(rd(f + 64, 4), 0x604);                /* PM1a_CNT_BLK */
	CHECK_EQ(rd(f + 72, 4), 0);                    /* no PM2 */
	CHECK_EQ(rd(f + 76, 4), 0x608);                /* PM_TMR_BLK */
	CHECK_EQ(rd(f + 80, 4), 0x60c);                /* GPE0_BLK */
	CHECK_EQ(f[88], 4);
	CHECK_EQ(f[89], 2);
	CHECK_EQ(f[90], 0);
	CHECK_EQ(f[91], 4);
	CHECK_EQ(f[92], 4);
	CHECK_EQ(f[93], 0);
	CHECK(rd(f + 96, 2) > 100 && rd(f + 98, 2) > 1000); /* no C2, C3 */
	CHECK_EQ(f[108], 0x32);                        /* CENTURY */
	CHECK_EQ(rd(f + 109, 2) & 3, 3);               /* LEGACY_DEVICES, 8042 */
	uint32_t flags = rd(f + 112, 4);
	CHECK(flags & (1 << 0));                       /* WBINVD */
	CHECK(flags & (1 << 2));                       /* PROC_C1 */
	CHECK(!(flags & (1 << 4)));                    /* fixed power button */
	CHECK(!(flags & (1 << 8)));                    /* TMR_VAL_EXT: 24 bits */
	CHECK(flags & (1 << 10));                      /* RESET_REG_SUP */
	CHECK(!(flags & (1 << 20)));                   /* not hardware-reduced */
	CHECK(gas_is(f + 116, 0xcf9, 8, 1));           /* RESET_REG */
	CHECK_EQ(f[128], 6);
	CHECK(gas_is(f + 148, 0x600, 32, 2));          /* the X_ blocks agree */
	CHECK_EQ(rd(f + 160, 8), 0);
	CHECK(gas_is(f + 172, 0x604, 16, 2));
	CHECK(gas_is(f + 208, 0x608, 32, 3));
	CHECK(gas_is(f + 220, 0x60c, 32, 1));
	CHECK_EQ(rd(f + 244, 8), 0);                   /* no sleep registers */
	machine_free(m);
}

TEST(acpi_madt_sci_is_level_active_high)
{
	struct config c;
	struct machine *m = acpi_machine(&c, 1, 64 * MiB);
	struct tables t;
	CHECK(m && pc_write_tables(m) == 0 && find_tables(m, &t));
	unsigned sci = 0;
	for (uint32_t off = 44; off < rd(t.madt + 4, 4); off += t.madt[off + 1]) {
		const uint8_t *e = t.madt + off;
		CHECK(e[1] >= 2);
		if (e[0] == 2 && e[3] == 9) {
			sci++;
			CHECK_EQ(e[2], 0);                 /* ISA */
			CHECK_EQ(rd(e + 4, 4), 9);         /* GSI 9 */
			CHECK_EQ(rd(e + 8, 2), 0x000d);    /* level, active high */
		}
	}
	CHECK_EQ(sci, 1);
	machine_free(m);
}

TEST(acpi_tables_rewrite_is_identical_and_255_cpus_fit)
{
	struct config c;
	struct machine *m = acpi_machine(&c, 255, 64 * MiB);
	struct tables t;
	CHECK(m && pc_write_tables(m) == 0 && find_tables(m, &t));
	uint8_t *area = gpa_to_host(m, PC_TABLES_ADDR, PC_LOW_RAM_END - PC_TABLES_ADDR);
	size_t used = t.xsdt + rd(t.xsdt + 4, 4) - area;  /* the XSDT comes last */
	size_t len = PC_LOW_RAM_END - PC_TABLES_ADDR;
	uint8_t *copy = malloc(len);
	CHECK(copy);
	memcpy(copy, area, len);
	memset(area, 0xa5, used);                      /* a guest scribbled */
	memset(area + (PC_EBDA_ADDR - PC_TABLES_ADDR), 0x5a, 1024);
	CHECK(pc_write_tables(m) == 0);
	CHECK(!memcmp(copy, area, len));
	free(copy);
	machine_free(m);
}

/* ---- an AML reader for the subset acpi-aml.c writes ---- */

struct aml_name {
	char path[64];
	const uint8_t *obj, *end;       /* the object a Name() gives */
};

struct aml_walk {
	struct aml_name names[64];
	unsigned nr_names, nr_devices;
	char methods[32][64];           /* the paths of the Method()s */
	unsigned nr_methods, nr_regions, nr_fields;
	bool bad;
};

/* PkgLength [ACPI 6.4 20.2.4]: the end of the package starting at p. */
static const uint8_t *pkg_end(const uint8_t *p, const uint8_t *limit, const uint8_t **body)
{
	unsigned n = p < limit ? p[0] >> 6 : 4;
	if (n == 4 || p + 1 + n > limit || (n && (p[0] & 0x30)))
		return NULL;
	size_t len = n ? p[0] & 0xf : p[0] & 0x3f;
	for (unsigned i = 0; i < n; i++)
		len |= (size_t)p[1 + i] << (4 + 8 * i);
	*body = p + 1 + n;
	return len >= 1 + n && p + len <= limit ? p + len : NULL;
}

static bool seg_ok(const uint8_t *s)
{
	for (int i = 0; i < 4; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || ch == '_' || (i && ch >= '0' && ch <= '9')))
			return false;
	}
	return true;
}

/* NameString [20.2.2] resolved against scope into out. */
static const uint8_t *name_string(const uint8_t *p, const uint8_t *end, const char *scope,
				  char *out)
{
	strcpy(out, scope);
	if (p < end && *p == '\\') {
		strcpy(out, "\\");
		p++;
	}
	while (p < end && *p == '^') {
		char *dot = strrchr(out, '.');
		*(dot ? dot : out + 1) = 0;
		p++;
	}
	unsigned segs = 1;
	if (p < end && *p == 0x2e)
		segs = 2, p++;
	else if (p + 1 < end && *p == 0x2f)
		segs = p[1], p += 2;
	for (unsigned i = 0; i < segs; i++, p += 4) {
		if (p + 4 > end || !seg_ok(p) || strlen(out) + 6 > 63)
			return NULL;
		if (strcmp(out, "\\"))
			strcat(out, ".");
		strncat(out, (const char *)p, 4);
	}
	return p;
}

static const uint8_t *data_object(const uint8_t *p, const uint8_t *end);

static const uint8_t *package(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *body, *pend = pkg_end(p, end, &body);
	if (!pend || body >= pend)
		return NULL;
	unsigned n = *body++;
	for (unsigned i = 0; i < n && body; i++)
		body = data_object(body, pend);
	return body == pend ? pend : NULL;
}

/* The end of the DataRefObject at p [20.2.3]. */
static const uint8_t *data_object(const uint8_t *p, const uint8_t *end)
{
	static const unsigned int_len[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8 };
	const uint8_t *body;
	if (p >= end)
		return NULL;
	switch (*p) {
	case 0x00: case 0x01: case 0xff:                /* Zero, One, Ones */
		return p + 1;
	case 0x0a: case 0x0b: case 0x0c: case 0x0e:
		return p + 1 + int_len[*p] <= end ? p + 1 + int_len[*p] : NULL;
	case 0x0d: {
		const uint8_t *nul = memchr(p + 1, 0, end - p - 1);
		return nul ? nul + 1 : NULL;
	}
	case 0x11:
		return pkg_end(p + 1, end, &body);
	case 0x12:
		return package(p + 1, end);
	}
	if (*p == '\\' || *p == '^' || *p == 0x2e || *p == 0x2f || *p == '_' ||
	    (*p >= 'A' && *p <= 'Z')) {
		char path[64];                          /* a name: a reference */
		return name_string(p, end, "\\", path);
	}
	return NULL;
}

static bool get_int(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	static const unsigned int_len[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8 };
	if (p >= end)
		return false;
	if (*p <= 1) {
		*v = *p;
		return true;
	}
	if (*p > 0x0e || !int_len[*p] || p + 1 + int_len[*p] > end)
		return false;
	*v = rd(p + 1, int_len[*p]);
	return true;
}

static void term_list(struct aml_walk *w, const uint8_t *p, const uint8_t *end,
		      const char *scope);

/* Scope or Device: PkgLength NameString TermList */
static const uint8_t *named_scope(struct aml_walk *w, const uint8_t *p, const uint8_t *end,
				  const char *scope)
{
	char path[64];
	const uint8_t *body, *pend = pkg_end(p, end, &body);
	if (!pend || !(body = name_string(body, pend, scope, path)))
		return NULL;
	term_list(w, body, pend, path);
	return pend;
}

static void term_list(struct aml_walk *w, const uint8_t *p, const uint8_t *end,
		      const char *scope)
{
	while (p && p < end && !w->bad) {
		if (*p == 0x08 && w->nr_names < ARRAY_SIZE(w->names)) {
			struct aml_name *n = &w->names[w->nr_names++];
			n->obj = name_string(p + 1, end, scope, n->path);
			p = n->end = n->obj ? data_object(n->obj, end) : NULL;
		} else if (*p == 0x10) {
			p = named_scope(w, p + 1, end, scope);
		} else if (*p == 0x5b && p + 1 < end && p[1] == 0x82) {
			w->nr_devices++;
			p = named_scope(w, p + 2, end, scope);
		} else if (*p == 0x14 && w->nr_methods < ARRAY_SIZE(w->methods)) {
			/* Method: PkgLength NameString flags body, not read */
			const uint8_t *body, *pend = pkg_end(p + 1, end, &body);
			p = pend && name_string(body, pend, scope, w->methods[w->nr_methods++]) ?
				pend : NULL;
		} else if (*p == 0x5b && p + 1 < end && p[1] == 0x80) {
			/* OperationRegion: NameString space offset length */
			char path[64];
			const uint8_t *q = name_string(p + 2, end, scope, path);
			q = q && q < end ? data_object(q + 1, end) : NULL;
			p = q ? data_object(q, end) : NULL;
			w->nr_regions++;
		} else if (*p == 0x5b && p + 1 < end && p[1] == 0x81) {
			const uint8_t *body;                /* Field: skipped whole */
			p = pkg_end(p + 2, end, &body);
			w->nr_fields++;
		} else {
			p = NULL;
		}
	}
	if (p != end)
		w->bad = true;
}

static bool aml_has_method(const struct aml_walk *w, const char *path)
{
	for (unsigned i = 0; i < w->nr_methods; i++)
		if (!strcmp(w->methods[i], path))
			return true;
	return false;
}

static const struct aml_name *aml_find(const struct aml_walk *w, const char *path)
{
	for (unsigned i = 0; i < w->nr_names; i++)
		if (!strcmp(w->names[i].path, path))
			return &w->names[i];
	return NULL;
}

/* A Buffer's bytes; NULL unless BufferSize matches them exactly. */
static const uint8_t *buffer_bytes(const struct aml_name *n, size_t *len)
{
	const uint8_t *body, *pend;
	uint64_t size;
	if (!n || n->obj[0] != 0x11 || !(pend = pkg_end(n->obj + 1, n->end, &body)) ||
	    !get_int(body, pend, &size))
		return NULL;
	const uint8_t *bytes = data_object(body, pend);
	*len = pend - bytes;
	return size == *len ? bytes : NULL;
}

/* Walk a resource template [6.4]: descriptors back to back, ending with
 * an end tag whose checksum zeroes the sum; count those equal to want
 * (its first want_len bytes). */
static int res_count(const uint8_t *r, size_t len, const uint8_t *want, size_t want_len)
{
	int hits = 0;
	for (size_t off = 0; off < len;) {
		size_t n = 1 + (r[off] & 7u);          /* small item */
		if (r[off] & 0x80)                     /* large item */
			n = 3 + (off + 2 < len ? rd(r + off + 1, 2) : len);
		if (off + n > len)
			return -1;
		if (n >= want_len && (!want_len || !memcmp(r + off, want, want_len)))
			hits++;
		if (r[off] == 0x79)                    /* end tag; checksum 0: none (6.4.2.9) */
			return off + n == len && (sum(r, len) == 0 || r[off + 1] == 0) ? hits : -1;
		off += n;
	}
	return -1;
}

static bool walk_dsdt(const uint8_t *dsdt, struct aml_walk *w)
{
	memset(w, 0, sizeof(*w));
	term_list(w, dsdt + 36, dsdt + rd(dsdt + 4, 4), "\\");
	return !w->bad;
}

TEST(acpi_dsdt_parses_back)
{
	struct config c;
	struct machine *m = acpi_machine(&c, 1, 256 * MiB);
	struct tables t;
	struct aml_walk w;
	uint64_t v;
	CHECK(m && pc_write_tables(m) == 0 && find_tables(m, &t));
	CHECK(walk_dsdt(t.dsdt, &w));
	CHECK_EQ(w.nr_devices, 13);                    /* PCI0, ISA, 4 links, 6 ISA, MBRS */
	const struct aml_name *s5 = aml_find(&w, "\\_S5_");
	CHECK(s5 && s5->obj[0] == 0x12);
	const uint8_t *body;
	CHECK(pkg_end(s5->obj + 1, s5->end, &body) == s5->end);
	CHECK_EQ(body[0], 4);                          /* 4 elements */
	CHECK(get_int(body + 1, s5->end, &v));
	CHECK_EQ(v, ACPI_SLP_TYP_S5);                  /* SLP_TYPa */
	const struct aml_name *hid = aml_find(&w, "\\_SB_.PCI0._HID");
	CHECK(hid && get_int(hid->obj, hid->end, &v));
	CHECK_EQ(v, 0x030ad041);                       /* EISAID("PNP0A03") */
	CHECK(aml_find(&w, "\\_SB_.PCI0._BBN"));
	CHECK(!aml_find(&w, "\\_SB_.PCI0._ADR"));
	hid = aml_find(&w, "\\_SB_.PCI0.COM1._HID");
	CHECK(hid && get_int(hid->obj, hid->end, &v));
	CHECK_EQ(v, 0x0105d041);                       /* PNP0501 */
	unsigned crs = 0;
	for (unsigned i = 0; i < w.nr_names; i++) {
		size_t len;
		if (!strstr(w.names[i].path, "._CRS"))
			continue;
		crs++;
		CHECK(buffer_bytes(&w.names[i], &len));
		CHECK(res_count(buffer_bytes(&w.names[i], &len), len, NULL, 0) > 0);
	}
	CHECK_EQ(crs, 8);                              /* the links' _CRS are methods */
	size_t len;
	const uint8_t *r = buffer_bytes(aml_find(&w, "\\_SB_.PCI0.COM1._CRS"), &len);
	static const uint8_t com1_io[] = { 0x47, 1, 0xf8, 3, 0xf8, 3, 1, 8 };
	static const uint8_t com1_irq[] = { 0x22, 0x10, 0 };
	CHECK(r);
	CHECK_EQ(res_count(r, len, com1_io, sizeof(com1_io)), 1);
	CHECK_EQ(res_count(r, len, com1_irq, sizeof(com1_irq)), 1);
	r = buffer_bytes(aml_find(&w, "\\_SB_.PCI0._CRS"), &len);
	/* DWordMemory window from the top of low RAM to the IOAPIC */
	static const uint8_t hole[] = { 0x87, 23, 0, 0, 0x0c, 0x01, 0, 0, 0, 0,
					0, 0, 0, 0x10, 0xff, 0xff, 0xbf, 0xfe };
	static const uint8_t bus[] = { 0x88, 13, 0, 2, 0x0c, 0, 0, 0, 0, 0, 0xff, 0 };
	static const uint8_t cf8[] = { 0x47, 1, 0xf8, 0xc, 0xf8, 0xc, 1, 8 };
	CHECK(r);
	CHECK_EQ(res_count(r, len, hole, sizeof(hole)), 1);
	CHECK_EQ(res_count(r, len, bus, sizeof(bus)), 1);
	CHECK_EQ(res_count(r, len, cf8, sizeof(cf8)), 1);
	machine_free(m);
}

/* The _PRT is a method choosing by \\_PIC between two packages of one
 * entry per slot 1-31 and pin.  PRTA (the APIC): (address, pin, 0, GSI)
 * with the GSI the routing table wires that pin to; the global-interrupt
 * form means level and active low, which the table must say too.  PRTP
 * (the 8259s): (address, pin, the link of the pin's PIRQ line, 0); the
 * links are devices with _STA, _CRS, _SRS and _DIS over the PIIX3's
 * config region. */
TEST(acpi_prt_follows_the_routing_table)
{
	struct config c;
	struct machine *m = acpi_machine(&c, 1, 64 * MiB);
	struct tables t;
	struct aml_walk w;
	const uint8_t *body;
	CHECK(m && pc_write_tables(m) == 0 && find_tables(m, &t));
	CHECK(walk_dsdt(t.dsdt, &w));
	CHECK(aml_has_method(&w, "\\_SB_.PCI0._PRT"));
	CHECK(aml_has_method(&w, "\\_PIC"));
	CHECK(aml_find(&w, "\\PICM"));
	static const char *const lm[] = { "_STA", "_CRS", "_SRS", "_DIS" };
	for (unsigned l = 0; l < 4; l++) {
		char path[64];
		for (unsigned k = 0; k < 4; k++) {
			snprintf(path, sizeof(path), "\\_SB_.PCI0.LNK%c.%s", 'A' + l, lm[k]);
			CHECK(aml_has_method(&w, path));
		}
		snprintf(path, sizeof(path), "\\_SB_.PCI0.LNK%c._PRS", 'A' + l);
		size_t len;
		const uint8_t *prs = buffer_bytes(aml_find(&w, path), &len);
		static const uint8_t irqs[] = { 0x23, 0x20, 0x0c, 0x18 };  /* 5, 10, 11 */
		CHECK(prs && res_count(prs, len, irqs, sizeof(irqs)) == 1);
	}
	CHECK_EQ(w.nr_regions, 1);
	CHECK_EQ(w.nr_fields, 1);
	const struct aml_name *prtp = aml_find(&w, "\\_SB_.PCI0.PRTP");
	CHECK(prtp && prtp->obj[0] == 0x12);
	const uint8_t *pend = prtp ? pkg_end(prtp->obj + 1, prtp->end, &body) : NULL;
	CHECK(pend == (prtp ? prtp->end : NULL));
	unsigned np = pend ? *body++ : 0;
	CHECK_EQ(np, 31 * 4);
	for (unsigned i = 0; i < np && body && body < pend; i++) {
		const uint8_t *e, *eend = body[0] == 0x12 ? pkg_end(body + 1, pend, &e) : NULL;
		uint64_t addr, pin, zero;
		char link[64];
		CHECK(eend && e[0] == 4);
		if (!eend)
			break;
		e++;
		CHECK(get_int(e, eend, &addr));
		e = data_object(e, eend);
		CHECK(e && get_int(e, eend, &pin));
		e = e ? data_object(e, eend) : NULL;
		const uint8_t *z = e ? name_string(e, eend, "\\", link) : NULL;
		CHECK(z && get_int(z, eend, &zero) && zero == 0);
		const char *want = acpi_pci_link_path(irq_pci_index(addr >> 16, pin));
		/* the walker pads to 4 characters: \_SB_.PCI0.LNKx */
		CHECK(z && !strcmp(link + strlen(link) - 4, want + strlen(want) - 4));
		body = eend;
	}
	const struct aml_name *prt = aml_find(&w, "\\_SB_.PCI0.PRTA");
	CHECK(prt && prt->obj[0] == 0x12);
	const uint8_t *end = pkg_end(prt->obj + 1, prt->end, &body);
	CHECK(end == prt->end);
	unsigned n = *body++, seen = 0;
	CHECK_EQ(n, 31 * 4);
	for (unsigned i = 0; i < n && body && body < end; i++, seen++) {
		const uint8_t *e, *eend;
		uint64_t f[4];
		CHECK_EQ(body[0], 0x12);
		eend = pkg_end(body + 1, end, &e);
		CHECK(eend && e[0] == 4);
		if (!eend)
			break;
		e++;
		for (unsigned k = 0; k < 4; k++) {
			CHECK(get_int(e, eend, &f[k]));
			e = data_object(e, eend);
		}
		unsigned slot = f[0] >> 16;
		CHECK_EQ(f[0] & 0xffff, 0xffff);
		CHECK(slot >= 1 && slot < 32 && f[1] < 4);
		CHECK_EQ(f[2], 0);
		CHECK_EQ(f[3], (uint64_t)irq_pci_line(&pc_irq_routing, slot, f[1]));
		const struct irq_route *r = irq_route_of_line(&pc_irq_routing, f[3]);
		CHECK(r && r->level && r->active_low && r->pic_pin == IRQ_ROUTE_NONE);
		body = eend;
	}
	CHECK_EQ(seen, 31 * 4);
	machine_free(m);
}

/* ACPI 6.4 5.2.5.1: the RSDP is found in the EBDA's first KiB or on a
 * 16-byte boundary in 0xE0000-0xFFFFF.  For -kernel boots (qvm is the
 * firmware) both hold it; with -bios the ROM owns the BIOS area. */
TEST(acpi_rsdp_in_bios_area)
{
	struct config c;
	struct machine *m = acpi_machine(&c, 1, 256 * MiB);
	struct tables t;
	CHECK(m);
	CHECK(machine_add_memory(m, REGION_RAM, PC_ISA_HOLE_END, 0x100000 - PC_ISA_HOLE_END,
				 (uint8_t *)m->ram + PC_ISA_HOLE_END, "isa") == 0);
	struct pc_board board = { .qvm_firmware = true };
	m->board = &board;
	CHECK(pc_write_tables(m) == 0 && find_tables(m, &t));
	const uint8_t *bios = gpa_to_host(m, 0xe0000, 0x20000), *found = NULL;
	CHECK(bios);
	for (unsigned off = 0; off < 0x20000 && !found; off += 16)
		if (!memcmp(bios + off, "RSD PTR ", 8))
			found = bios + off;
	CHECK(found);
	CHECK_EQ(sum(found, 20), 0);                   /* ACPI 1.0 checksum */
	CHECK_EQ(sum(found, rd(found + 20, 4)), 0);    /* extended checksum */
	CHECK(!memcmp(found, t.rsdp, 36));             /* the same RSDT and XSDT */
	CHECK_EQ(rd(found + 24, 8), rd(t.rsdp + 24, 8));
	/* the e820 map keeps it from the OS */
	struct e820_entry map[PC_E820_MAX];
	int n = pc_e820(m, map);
	uint64_t at = 0xe0000 + (uint64_t)(found - bios);
	bool reserved = false;
	for (int i = 0; i < n; i++)
		if (map[i].addr <= at && at + 36 <= map[i].addr + map[i].size)
			reserved = map[i].type == E820_RESERVED;
	CHECK(reserved);
	machine_free(m);

	/* -bios: qvm leaves 0xE0000-0xFFFFF to the ROM */
	m = acpi_machine(&c, 1, 256 * MiB);
	CHECK(m);
	CHECK(machine_add_memory(m, REGION_RAM, PC_ISA_HOLE_END, 0x100000 - PC_ISA_HOLE_END,
				 (uint8_t *)m->ram + PC_ISA_HOLE_END, "isa") == 0);
	board.qvm_firmware = false;                     /* -bios */
	m->board = &board;
	CHECK(pc_write_tables(m) == 0 && find_tables(m, &t));
	bios = gpa_to_host(m, 0xe0000, 0x20000);
	for (unsigned off = 0; off < 0x20000; off += 16)
		CHECK(memcmp(bios + off, "RSD PTR ", 8));
	machine_free(m);
}

/* Each -serial is a port, COM1-COM4 (0x3f8/4, 0x2f8/3, 0x3e8/4, 0x2e8/3),
 * "none" leaves one out; the DSDT lists those that exist. */
TEST(acpi_dsdt_serial_ports)
{
	struct config c;
	struct machine *m = acpi_machine(&c, 1, 256 * MiB);
	struct tables t;
	struct aml_walk w;
	CHECK(m);
	c.serials[0] = "null", c.serials[1] = "null", c.serials[2] = "none";
	c.serials[3] = "null";
	c.nr_serials = 4;
	CHECK(pc_write_tables(m) == 0 && find_tables(m, &t) && walk_dsdt(t.dsdt, &w));
	CHECK_EQ(w.nr_devices, 15);      /* PCI0, PIIX3, 4 links, 5 ISA, 3 COM, MBRS */
	CHECK(aml_find(&w, "\\_SB_.PCI0.COM1._HID") && aml_find(&w, "\\_SB_.PCI0.COM2._HID"));
	CHECK(!aml_find(&w, "\\_SB_.PCI0.COM3._HID") && aml_find(&w, "\\_SB_.PCI0.COM4._HID"));
	static const struct { const char *crs; uint8_t io[8], irq[3]; } want[] = {
		{ "\\_SB_.PCI0.COM2._CRS", { 0x47, 1, 0xf8, 2, 0xf8, 2, 1, 8 }, { 0x22, 0x08, 0 } },
		{ "\\_SB_.PCI0.COM4._CRS", { 0x47, 1, 0xe8, 2, 0xe8, 2, 1, 8 }, { 0x22, 0x08, 0 } },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
		size_t len;
		const uint8_t *r = buffer_bytes(aml_find(&w, want[i].crs), &len);
		CHECK(r);
		CHECK_EQ(res_count(r, len, want[i].io, sizeof(want[i].io)), 1);
		CHECK_EQ(res_count(r, len, want[i].irq, sizeof(want[i].irq)), 1);
	}
	const struct aml_name *uid = aml_find(&w, "\\_SB_.PCI0.COM4._UID");
	uint64_t v;
	CHECK(uid && get_int(uid->obj, uid->end, &v));
	CHECK_EQ(v, 4);
	machine_free(m);

	/* -serial none alone: no COM1 either (as in QEMU) */
	m = acpi_machine(&c, 1, 256 * MiB);
	CHECK(m);
	c.serials[0] = "none";
	c.nr_serials = 1;
	CHECK(pc_write_tables(m) == 0 && find_tables(m, &t) && walk_dsdt(t.dsdt, &w));
	CHECK(!aml_find(&w, "\\_SB_.PCI0.COM1._HID"));
	CHECK(!config_serial_present(&c, 0));
	machine_free(m);
}

/* ---- the encoder's corner cases ---- */

TEST(aml_pkglength_and_names)
{
	struct aml a;
	aml_init(&a);
	size_t p = aml_package(&a, 0);                 /* body 1 + 61 bytes: 1-byte length */
	for (int i = 0; i < 61; i++)
		aml_byte(&a, 0);
	aml_end(&a, p);
	CHECK_EQ(a.len, 1 + 63);
	CHECK_EQ(a.data[1], 63);
	aml_free(&a);
	p = aml_package(&a, 0);                        /* 63 body bytes: 2-byte length */
	for (int i = 0; i < 62; i++)
		aml_byte(&a, 0);
	aml_end(&a, p);
	CHECK_EQ(a.len, 1 + 65);
	CHECK_EQ(a.data[1], 0x40 | (65 & 0xf));
	CHECK_EQ(a.data[2], 65 >> 4);
	aml_free(&a);
	p = aml_package(&a, 0);                        /* 0x1000 bytes: 3-byte length */
	for (int i = 0; i < 0xfff; i++)
		aml_byte(&a, 0);
	aml_end(&a, p);
	CHECK_EQ(a.len, 1 + 0x1003);
	CHECK_EQ(a.data[1], 0x80 | 3);
	CHECK_EQ(rd(a.data + 2, 2), 0x100);
	aml_free(&a);
	aml_name_string(&a, "\\_SB.PCI0.COM1");
	aml_name_string(&a, "^^AB");
	aml_name_string(&a, "X.Y");
	static const uint8_t want[] = "\\\x2f\x03_SB_PCI0COM1^^AB__\x2eX___Y___";
	CHECK_EQ(a.len, sizeof(want) - 1);
	CHECK(!memcmp(a.data, want, a.len));
	CHECK(!a.error);
	aml_name_string(&a, "lower");
	CHECK(a.error);
	aml_free(&a);
	aml_name_string(&a, "TOOLONG");
	CHECK(a.error);
	aml_free(&a);
	aml_eisaid(&a, "PNP0A0G");
	CHECK(a.error);
	aml_free(&a);
}

TEST(aml_integers_and_strings)
{
	struct aml a;
	aml_init(&a);
	uint64_t vals[] = { 0, 1, 2, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 1ULL << 32 };
	for (unsigned i = 0; i < ARRAY_SIZE(vals); i++)
		aml_integer(&a, vals[i]);
	aml_string(&a, "ok");
	const uint8_t *p = a.data, *end = a.data + a.len;
	for (unsigned i = 0; i < ARRAY_SIZE(vals); i++) {
		uint64_t v;
		CHECK(get_int(p, end, &v));
		CHECK_EQ(v, vals[i]);
		p = data_object(p, end);
		CHECK(p);
	}
	CHECK_EQ(a.len, 1 + 1 + 2 + 2 + 3 + 3 + 5 + 5 + 9 + 4);
	CHECK(!memcmp(p, "\x0dok", 4));
	aml_free(&a);
}

/* ---- ACPICA's view: iasl -d on every table, the DSDT recompiled ---- */

static bool write_blob(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(p, 1, n, f) == n;
	if (f)
		fclose(f);
	return ok;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] != '.')
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Run cmd in dir, its output appended to dir/iasl.log; the exit status. */
static int run_in(const char *dir, const char *cmd)
{
	char line[1024];
	snprintf(line, sizeof(line), "cd '%s' && %s >>iasl.log 2>&1", dir, cmd);
	return system(line);
}

/* How many lines of dir/iasl.log report a what ("Error", "Warning"):
 * the compiler's lines start with it, ACPICA's say "ACPI what". */
static int log_count(const char *dir, const char *what)
{
	char path[512], line[1024], acpi[64];
	int n = 0;
	snprintf(path, sizeof(path), "%s/iasl.log", dir);
	snprintf(acpi, sizeof(acpi), "ACPI %s", what);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		n += !strncmp(line, what, strlen(what)) || strstr(line, acpi);
	if (f)
		fclose(f);
	return n;
}

/* Lines with what anywhere. */
static int log_has(const char *dir, const char *what)
{
	char path[512], line[1024];
	int n = 0;
	snprintf(path, sizeof(path), "%s/iasl.log", dir);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	if (f)
		fclose(f);
	return n;
}

TEST(acpi_tables_iasl_clean)
{
	if (system("command -v iasl >/dev/null 2>&1") != 0)
		SKIP("iasl not installed (acpica-tools; scripts/install-deps installs it)");
	const char *keep = getenv("QVM_ACPI_DUMP");
	char tmp[] = "/tmp/qvm-acpi-XXXXXX";
	const char *dir = keep && *keep ? keep : mkdtemp(tmp);
	CHECK(dir);
	struct config c;
	struct machine *m = acpi_machine(&c, 4, 512 * MiB);
	struct tables t;
	CHECK(m && pc_write_tables(m) == 0 && find_tables(m, &t));
	const uint8_t *sdts[] = { t.rsdt, t.xsdt, t.fadt, t.dsdt, t.madt };
	bool ok = write_blob(dir, "rsdp.dat", t.rsdp, 36) && write_blob(dir, "facs.dat", t.facs, 64);
	for (unsigned i = 0; ok && i < ARRAY_SIZE(sdts); i++) {
		char name[16];
		snprintf(name, sizeof(name), "%.4s.dat", (const char *)sdts[i]);
		ok = write_blob(dir, name, sdts[i], rd(sdts[i] + 4, 4));
	}
	CHECK(ok);
	/* (iasl 20200925 does not take an RSDP from a file; checked above) */
	int rc = run_in(dir, "iasl -d facs.dat RSDT.dat XSDT.dat FACP.dat DSDT.dat APIC.dat");
	rc |= run_in(dir, "iasl -p dsdt-recompiled DSDT.dsl");
	rc |= run_in(dir, "iasl -p facp-recompiled FACP.dsl");
	int errors = log_count(dir, "Error"), warnings = log_count(dir, "Warning");
	int clean = log_has(dir, "0 Errors, 0 Warnings");
	if (!keep)
		remove_dir(dir);
	CHECK_EQ(rc, 0);
	CHECK_EQ(errors, 0);
	CHECK_EQ(warnings, 0);
	CHECK_EQ(clean, 2);                            /* both compiles */
	machine_free(m);
}
