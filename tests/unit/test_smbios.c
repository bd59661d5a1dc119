/* SMBIOS (user/pc/smbios.c, user/options-smbios.c): -smbios and -uuid
 * parsed, the structures walked as a guest walks them (DSP0134 6.1.3),
 * the entry point's checksums, the strings, the UUID's byte order and the
 * per-socket and per-16-GiB structures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "cmdline.h"
#include "bytes.h"
#include "config.h"
#include "machine.h"
#include "pc/pc.h"

/* The structure number i of the given type in the table, or NULL. */
static const uint8_t *find(const struct smbios_blob *b, uint8_t type, unsigned i)
{
	const uint8_t *p = b->tables, *end = b->tables + b->len;
	while (p + 4 <= end) {
		if (p[0] == type && i-- == 0)
			return p;
		const uint8_t *s = p + p[1];
		while (s + 1 < end && (s[0] || s[1]))
			s++;
		p = s + 2;
	}
	return NULL;
}

/* String number n of structure t ("" for 0) */
static const char *str(const uint8_t *t, uint8_t n)
{
	const char *s = (const char *)t + t[1];
	if (!n)
		return "";
	while (--n)
		s += strlen(s) + 1;
	return s;
}

static unsigned count(const struct smbios_blob *b, uint8_t type)
{
	unsigned n = 0;
	while (find(b, type, n))
		n++;
	return n;
}

static struct machine *smbios_machine(struct config *c)
{
	struct machine *m = machine_new(c->ram_size);
	if (m)
		m->cfg = c;
	return m;
}

TEST(smbios_options)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-smbios type=1,product=Box,,One,serial=S1 -uuid "
		  "12345678-9abc-def0-1234-56789abcdef0") == 0);
	CHECK(!strcmp(config_smbios(&c, 1, "product"), "Box,One"));
	CHECK(!strcmp(config_smbios(&c, 1, "serial"), "S1"));
	CHECK(config_smbios(&c, 1, "sku") == NULL);
	CHECK(c.has_uuid && c.uuid[0] == 0x12 && c.uuid[15] == 0xf0);
	CHECK(cmdline_parse(&c, "-smbios type=1,product=A -smbios type=1,product=B") == 0);
	CHECK(!strcmp(config_smbios(&c, 1, "product"), "B"));
	CHECK(cmdline_parse(&c, "-smbios type=5,product=A") < 0);
	CHECK(cmdline_parse(&c, "-smbios type=1,vendor=A") < 0);
	CHECK(cmdline_parse(&c, "-smbios product=A") < 0);
	CHECK(cmdline_parse(&c, "-smbios file=x.bin") < 0);
	CHECK(cmdline_parse(&c, "-smbios type=0,release=1.300") < 0);
	CHECK(cmdline_parse(&c, "-smbios type=4,max-speed=70000") < 0);
	CHECK(cmdline_parse(&c, "-uuid 12345678-9abc-def0-1234-56789abcdefg") < 0);
	CHECK(cmdline_parse(&c, "-uuid 12345678-9abc-def0-1234") < 0);
	CHECK(cmdline_parse(&c, "-smbios type=1,uuid=not-a-uuid") < 0);
}

TEST(smbios_tables)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-m 20G -smp 2,sockets=4,cores=1,threads=1,maxcpus=4 -uuid 12345678-9abc-def0-1234-56789abcdef0 "
		  "-smbios type=1,manufacturer=Acme,product=Box -smbios type=11,value=one "
		  "-smbios type=11,value=two -smbios type=0,release=2.5") == 0);
	struct machine *m = smbios_machine(&c);
	CHECK(m != NULL);
	struct smbios_blob b;
	CHECK(pc_smbios_build(m, false, &b) == 0);
	uint8_t ep[SMBIOS_EP_LEN];
	pc_smbios_entry(&b, 0xf0060, ep);
	uint8_t s = 0, si = 0;
	for (unsigned i = 0; i < SMBIOS_EP_LEN; i++)
		s += ep[i];
	for (unsigned i = 0x10; i < SMBIOS_EP_LEN; i++)
		si += ep[i];
	CHECK(!memcmp(ep, "_SM_", 4) && !memcmp(ep + 0x10, "_DMI_", 5));
	CHECK_EQ(s, 0);
	CHECK_EQ(si, 0);
	CHECK_EQ(rd16(ep + 0x16), b.len);
	CHECK_EQ(rd32(ep + 0x18), 0xf0060);
	CHECK_EQ(rd16(ep + 0x1c), b.count);
	/* type 0 because type=0 gave a field */
	const uint8_t *t0 = find(&b, 0, 0);
	CHECK(t0 && t0[0x14] == 2 && t0[0x15] == 5);
	const uint8_t *t1 = find(&b, 1, 0);
	CHECK(t1 != NULL);
	CHECK(!strcmp(str(t1, t1[4]), "Acme"));
	CHECK(!strcmp(str(t1, t1[5]), "Box"));
	static const uint8_t uuid[16] = { 0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde,
					  0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0 };
	CHECK(!memcmp(t1 + 8, uuid, 16));
	/* 4 vCPUs at most, one per socket: 4 type 4, 2 populated */
	CHECK_EQ(count(&b, 4), 4);
	CHECK_EQ(find(&b, 4, 1)[0x18], 0x41);
	CHECK_EQ(find(&b, 4, 2)[0x18], 0x40);
	CHECK(!strcmp(str(find(&b, 4, 3), find(&b, 4, 3)[4]), "CPU 3"));
	const uint8_t *t11 = find(&b, 11, 0);
	CHECK(t11 && t11[4] == 2 && !strcmp(str(t11, 2), "two"));
	/* 20 GiB: devices of 16 and 4 GiB, RAM below and above 4 GiB */
	CHECK_EQ(count(&b, 17), 2);
	CHECK_EQ(rd16(find(&b, 17, 0) + 12), 16384);
	CHECK_EQ(rd16(find(&b, 17, 1) + 12), 4096);
	CHECK_EQ(rd32(find(&b, 16, 0) + 7), 20u << 20);
	CHECK_EQ(count(&b, 19), 2);
	CHECK_EQ(rd32(find(&b, 19, 1) + 4), 4u << 20);
	CHECK_EQ(count(&b, 32), 1);
	CHECK_EQ(count(&b, 127), 1);
	/* every structure within the table and the largest one reported */
	unsigned n = 0, max = 0;
	for (const uint8_t *p = b.tables; p < b.tables + b.len; n++) {
		const uint8_t *q = p + p[1];
		while (q[0] || q[1])
			q++;
		max = MAX(max, (unsigned)(q + 2 - p));
		p = q + 2;
	}
	CHECK_EQ(n, b.count);
	CHECK_EQ(max, b.max_size);
	free(b.tables);
	machine_free(m);
}

TEST(smbios_default_type0)
{
	struct config c;
	CHECK(cmdline_parse(&c, "") == 0);
	struct machine *m = smbios_machine(&c);
	struct smbios_blob b;
	CHECK(pc_smbios_build(m, false, &b) == 0);
	CHECK(find(&b, 0, 0) == NULL);          /* SeaBIOS adds its own */
	free(b.tables);
	CHECK(pc_smbios_build(m, true, &b) == 0);
	const uint8_t *t0 = find(&b, 0, 0);
	CHECK(t0 && !strcmp(str(t0, t0[4]), "qvm"));
	const uint8_t *t1 = find(&b, 1, 0);
	static const uint8_t zero[16];
	CHECK(t1 && !memcmp(t1 + 8, zero, 16));
	free(b.tables);
	machine_free(m);
}
