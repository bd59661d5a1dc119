/*
 * SMBIOS (DMTF DSP0134, version 3.x of the structures, a 2.8 entry
 * point): what guests read as the machine's identity (Linux's
 * /sys/class/dmi/id, dmidecode).  Built from the board and -smbios/-uuid
 * (options-smbios.c); firmware.c gives it to the BIOS through fw_cfg
 * (etc/smbios/smbios-tables and etc/smbios/smbios-anchor, as SeaBIOS
 * reads them) and tables.c writes it to the F segment for -kernel boots.
 *
 *   type 0    BIOS (-kernel boots, or when -smbios type=0 gives a field;
 *             else SeaBIOS adds its own, as with QEMU)
 *   type 1    system: manufacturer, product, version, serial, UUID
 *   type 2    baseboard;  type 3  enclosure
 *   type 4    one per CPU socket (-smp sockets=, maxcpus=)
 *   type 11   OEM strings (-smbios type=11,value=S), when given
 *   type 16   the memory array;  type 17  one device per 16 GiB
 *   type 19   RAM below 4 GiB, and above 4 GiB when there is some
 *   type 32   boot status;  type 127  the end
 *
 * Handles are 0x100 * type + instance.  A structure is its formatted area
 * (type, length, handle, fields) and then its strings, each ended by a
 * NUL, the set ended by another (two NULs when there are none) (DSP0134
 * 6.1.3); a string field holds a string's number from 1, 0 for none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "config.h"
#include "machine.h"
#include "pc/pc.h"

#define SMBIOS_MAJOR 2
#define SMBIOS_MINOR 8
#define QVM_BIOS_DATE "12/01/2026"      /* type 0's date for qvm as firmware */
#define DIMM_MAX (16 * GiB)             /* type 17: memory in devices of this */
#define HANDLE(type, i) ((type) << 8 | (i))
#define STRINGS_MAX (MAX_SMBIOS_FIELDS * 256 + 1024)

struct sb {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
	size_t start;                   /* the structure being built */
	char strs[STRINGS_MAX];         /* its strings */
	size_t strs_len;
	unsigned nr_strs;
	uint16_t count, max_size;
};

static void sb_append(struct sb *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		size_t cap = (s->len + n) * 2;
		uint8_t *nb = realloc(s->buf, cap);
		if (!nb) {
			s->oom = true;
			return;
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

/* Start a structure with a zeroed formatted area of len bytes. */
static void sb_begin(struct sb *s, uint8_t type, uint8_t len, uint16_t handle)
{
	uint8_t hdr[256] = { type, len };
	wr16(hdr + 2, handle);
	s->start = s->len;
	s->strs_len = s->nr_strs = 0;
	sb_append(s, hdr, len);
}

/* The formatted area of the current structure (valid until sb_end). */
static uint8_t *sb_fmt(struct sb *s)
{
	static uint8_t scratch[256];
	return s->oom ? scratch : s->buf + s->start;
}

/* Add a string; its number for the field, 0 for NULL or "". */
static uint8_t sb_str(struct sb *s, const char *str)
{
	size_t n = str ? strlen(str) + 1 : 1;
	if (n == 1 || s->strs_len + n > sizeof(s->strs) || s->nr_strs == 255)
		return 0;
	memcpy(s->strs + s->strs_len, str, n);
	s->strs_len += n;
	return ++s->nr_strs;
}

static void sb_end(struct sb *s)
{
	static const uint8_t nul[2];
	sb_append(s, s->strs, s->strs_len);
	sb_append(s, nul, s->nr_strs ? 1 : 2);
	size_t size = s->len - s->start;
	s->count++;
	if (size > s->max_size)
		s->max_size = size > 0xffff ? 0xffff : size;
}

/* -smbios type=TYPE,NAME=, else def */
static const char *opt(struct machine *m, unsigned type, const char *name, const char *def)
{
	const char *v = config_smbios(m->cfg, type, name);
	return v ? v : def;
}

static unsigned opt_num(struct machine *m, unsigned type, const char *name, unsigned def)
{
	const char *v = config_smbios(m->cfg, type, name);
	return v ? (unsigned)strtoul(v, NULL, 10) : def;   /* checked when parsed */
}

static bool type_given(const struct config *c, unsigned type)
{
	for (unsigned i = 0; i < c->nr_smbios; i++)
		if (c->smbios[i].type == type)
			return true;
	return false;
}

/* Type 0, BIOS information (DSP0134 7.1) */
static void type0(struct sb *s, struct machine *m)
{
	sb_begin(s, 0, 0x18, HANDLE(0, 0));
	uint8_t *f = sb_fmt(s);
	f[4] = sb_str(s, opt(m, 0, "vendor", "qvm"));
	f[5] = sb_str(s, opt(m, 0, "version", QVM_VERSION));
	wr16(f + 6, 0xe800);                    /* starting segment */
	f[8] = sb_str(s, opt(m, 0, "date", QVM_BIOS_DATE));
	f[9] = 0;                               /* ROM size: 64 KiB */
	wr64(f + 10, 1u << 3);                  /* characteristics not supported */
	bool uefi = !strcmp(opt(m, 0, "uefi", "off"), "on");
	f[0x13] = 1u << 4 | 1u << 2 | (uefi ? 1u << 3 : 0); /* a VM, TCD, UEFI */
	const char *rel = config_smbios(m->cfg, 0, "release");
	f[0x14] = f[0x15] = 0xff;               /* release: not given */
	if (rel) {
		f[0x14] = strtoul(rel, NULL, 10);
		f[0x15] = strtoul(strchr(rel, '.') + 1, NULL, 10);
	}
	f[0x16] = f[0x17] = 0xff;               /* no embedded controller */
	sb_end(s);
}

/* The UUID field (7.2.1): since SMBIOS 2.6 its first three fields are
 * little-endian, so the text form's bytes 0-3, 4-5 and 6-7 reversed. */
static void put_uuid(uint8_t *p, const uint8_t u[16])
{
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	for (unsigned i = 0; i < 16; i++)
		p[i] = u[order[i]];
}

/* Type 1, system information (7.2) */
static void type1(struct sb *s, struct machine *m)
{
	sb_begin(s, 1, 0x1b, HANDLE(1, 0));
	uint8_t *f = sb_fmt(s);
	f[4] = sb_str(s, opt(m, 1, "manufacturer", "qvm"));
	f[5] = sb_str(s, opt(m, 1, "product", pc_board_ops.desc));
	f[6] = sb_str(s, opt(m, 1, "version", pc_board_ops.name));
	f[7] = sb_str(s, opt(m, 1, "serial", NULL));
	if (m->cfg->has_uuid)
		put_uuid(f + 8, m->cfg->uuid);
	f[0x18] = 6;                            /* wake-up: power switch */
	f[0x19] = sb_str(s, opt(m, 1, "sku", NULL));
	f[0x1a] = sb_str(s, opt(m, 1, "family", NULL));
	sb_end(s);
}

/* Type 2, baseboard (7.3), with no contained objects */
static void type2(struct sb *s, struct machine *m)
{
	sb_begin(s, 2, 0x0f, HANDLE(2, 0));
	uint8_t *f = sb_fmt(s);
	f[4] = sb_str(s, opt(m, 2, "manufacturer", "qvm"));
	f[5] = sb_str(s, opt(m, 2, "product", pc_board_ops.desc));
	f[6] = sb_str(s, opt(m, 2, "version", pc_board_ops.name));
	f[7] = sb_str(s, opt(m, 2, "serial", NULL));
	f[8] = sb_str(s, opt(m, 2, "asset", NULL));
	f[9] = 1;                               /* a hosting board */
	f[10] = sb_str(s, opt(m, 2, "location", NULL));
	wr16(f + 11, HANDLE(3, 0));             /* in the enclosure */
	f[13] = 0x0a;                           /* motherboard */
	sb_end(s);
}

/* Type 3, system enclosure (7.4), no contained elements, with the SKU */
static void type3(struct sb *s, struct machine *m)
{
	sb_begin(s, 3, 0x16, HANDLE(3, 0));
	uint8_t *f = sb_fmt(s);
	f[4] = sb_str(s, opt(m, 3, "manufacturer", "qvm"));
	f[5] = 1;                               /* other */
	f[6] = sb_str(s, opt(m, 3, "version", pc_board_ops.name));
	f[7] = sb_str(s, opt(m, 3, "serial", NULL));
	f[8] = sb_str(s, opt(m, 3, "asset", NULL));
	f[9] = f[10] = f[11] = 3;               /* boot-up, power, thermal: safe */
	f[12] = 2;                              /* security: unknown */
	f[0x15] = sb_str(s, opt(m, 3, "sku", NULL));
	sb_end(s);
}

/* Type 4, processor (7.5): one per socket, the sockets that hold vCPUs
 * at start populated and enabled. */
static void type4(struct sb *s, struct machine *m, unsigned socket)
{
	const struct config *c = m->cfg;
	unsigned per_socket = c->cores * c->threads;
	char name[280];
	snprintf(name, sizeof(name), "%s %u", opt(m, 4, "sock_pfx", "CPU"), socket);
	sb_begin(s, 4, 0x2a, HANDLE(4, socket));
	uint8_t *f = sb_fmt(s);
	f[4] = sb_str(s, name);
	f[5] = 3;                               /* central processor */
	f[6] = 1;                               /* family: other */
	f[7] = sb_str(s, opt(m, 4, "manufacturer", "qvm"));
	f[0x10] = sb_str(s, opt(m, 4, "version", c->cpu_model));
	wr16(f + 0x14, opt_num(m, 4, "max-speed", 2000));
	wr16(f + 0x16, opt_num(m, 4, "current-speed", 2000));
	f[0x18] = socket * per_socket < c->smp_cpus ? 0x41 : 0x40; /* populated, enabled */
	f[0x19] = 1;                            /* upgrade: other */
	wr16(f + 0x1a, 0xffff);                 /* no cache structures */
	wr16(f + 0x1c, 0xffff);
	wr16(f + 0x1e, 0xffff);
	f[0x20] = sb_str(s, opt(m, 4, "serial", NULL));
	f[0x21] = sb_str(s, opt(m, 4, "asset", NULL));
	f[0x22] = sb_str(s, opt(m, 4, "part", NULL));
	f[0x23] = f[0x24] = c->cores > 255 ? 255 : c->cores;
	f[0x25] = per_socket > 255 ? 255 : per_socket;
	wr16(f + 0x26, 1u << 2 | (c->cores > 1 ? 1u << 3 : 0) | (c->threads > 1 ? 1u << 4 : 0));
	wr16(f + 0x28, 1);                      /* family 2: other */
	sb_end(s);
}

/* Type 11, OEM strings (7.12): every value= in order */
static void type11(struct sb *s, struct machine *m)
{
	const struct config *c = m->cfg;
	if (!type_given(c, 11))
		return;
	sb_begin(s, 11, 5, HANDLE(11, 0));
	uint8_t n = 0;
	for (unsigned i = 0; i < c->nr_smbios; i++)
		if (c->smbios[i].type == 11 && sb_str(s, c->smbios[i].value))
			n++;
	sb_fmt(s)[4] = n;
	sb_end(s);
}

static unsigned nr_dimms(const struct machine *m)
{
	return (m->ram_size + DIMM_MAX - 1) / DIMM_MAX;
}

/* Type 16, physical memory array (7.17): capacity in KiB, or in the
 * extended field (bytes) from 2 TiB */
static void type16(struct sb *s, struct machine *m)
{
	sb_begin(s, 16, 0x17, HANDLE(16, 0));
	uint8_t *f = sb_fmt(s);
	uint64_t kib = m->ram_size / KiB;
	f[4] = 1;                               /* location: other */
	f[5] = 3;                               /* system memory */
	f[6] = 6;                               /* multi-bit ECC */
	wr32(f + 7, kib < 0x80000000u ? kib : 0x80000000u);
	wr16(f + 11, 0xfffe);                   /* no error information */
	wr16(f + 13, nr_dimms(m));
	if (kib >= 0x80000000u)
		wr64(f + 15, m->ram_size);
	sb_end(s);
}

/* Type 17, memory device (7.18): size in MiB (from 32 GiB in the
 * extended field) */
static void type17(struct sb *s, struct machine *m, unsigned i)
{
	uint64_t size = m->ram_size - (uint64_t)i * DIMM_MAX;
	uint64_t mib = ((size < DIMM_MAX ? size : DIMM_MAX) + MiB - 1) / MiB;
	char loc[280];
	snprintf(loc, sizeof(loc), "%s %u", opt(m, 17, "loc_pfx", "DIMM"), i);
	sb_begin(s, 17, 0x28, HANDLE(17, i));
	uint8_t *f = sb_fmt(s);
	wr16(f + 4, HANDLE(16, 0));
	wr16(f + 6, 0xfffe);
	wr16(f + 8, 0xffff);                    /* widths unknown */
	wr16(f + 10, 0xffff);
	wr16(f + 12, mib < 0x7fff ? mib : 0x7fff);
	f[14] = 9;                              /* DIMM */
	f[16] = sb_str(s, loc);
	f[17] = sb_str(s, opt(m, 17, "bank", NULL));
	f[18] = 7;                              /* RAM */
	wr16(f + 19, 1u << 1);                  /* detail: other */
	wr16(f + 21, opt_num(m, 17, "speed", 0));
	f[23] = sb_str(s, opt(m, 17, "manufacturer", "qvm"));
	f[24] = sb_str(s, opt(m, 17, "serial", NULL));
	f[25] = sb_str(s, opt(m, 17, "asset", NULL));
	f[26] = sb_str(s, opt(m, 17, "part", NULL));
	if (mib >= 0x7fff)
		wr32(f + 28, mib);
	wr16(f + 32, opt_num(m, 17, "speed", 0));
	sb_end(s);
}

/* Type 19, memory array mapped address (7.20): [start, end] in KiB, or
 * in bytes in the extended fields from 4 TiB */
static void type19(struct sb *s, unsigned i, uint64_t start, uint64_t size)
{
	uint64_t end = start + size - 1;
	sb_begin(s, 19, 0x1f, HANDLE(19, i));
	uint8_t *f = sb_fmt(s);
	if (end / KiB < 0xffffffffu) {
		wr32(f + 4, start / KiB);
		wr32(f + 8, end / KiB);
	} else {
		wr32(f + 4, 0xffffffffu);
		wr32(f + 8, 0xffffffffu);
		wr64(f + 15, start);
		wr64(f + 23, end);
	}
	wr16(f + 12, HANDLE(16, 0));
	f[14] = 1;                              /* partition width */
	sb_end(s);
}

int pc_smbios_build(struct machine *m, bool with_type0, struct smbios_blob *b)
{
	const struct config *c = m->cfg;
	struct sb *s = calloc(1, sizeof(*s));
	if (!s) {
		qvm_error("SMBIOS tables: out of memory");
		return -1;
	}
	if (with_type0 || type_given(c, 0))
		type0(s, m);
	type1(s, m);
	type2(s, m);
	type3(s, m);
	unsigned per_socket = c->cores * c->threads;
	if (!per_socket)
		per_socket = 1;
	unsigned sockets = (c->smp_max_cpus + per_socket - 1) / per_socket;
	for (unsigned i = 0; i < sockets; i++)
		type4(s, m, i);
	type11(s, m);
	type16(s, m);
	for (unsigned i = 0; i < nr_dimms(m); i++)
		type17(s, m, i);
	type19(s, 0, 0, m->ram_below_4g);
	if (m->ram_size > m->ram_below_4g)
		type19(s, 1, PC_HIGH_RAM, m->ram_size - m->ram_below_4g);
	sb_begin(s, 32, 0x0b, HANDLE(32, 0));  /* 7.33: no errors */
	sb_end(s);
	sb_begin(s, 127, 4, HANDLE(127, 0));    /* 7.46 */
	sb_end(s);
	if (s->oom || s->len > 0xffff) {
		qvm_error("SMBIOS tables: %s", s->oom ? "out of memory" : "larger than 64 KiB");
		free(s->buf);
		free(s);
		return -1;
	}
	*b = (struct smbios_blob){ s->buf, s->len, s->count, s->max_size };
	free(s);
	return 0;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t v = 0;
	while (n--)
		v += *p++;
	return v;
}

/* The 2.1-style entry point (5.2.1): "_SM_", its checksum over all 31
 * bytes, and the "_DMI_" intermediate part with its own over 15. */
void pc_smbios_entry(const struct smbios_blob *b, uint32_t table_addr,
		     uint8_t ep[SMBIOS_EP_LEN])
{
	memset(ep, 0, SMBIOS_EP_LEN);
	memcpy(ep, "_SM_", 4);
	ep[5] = SMBIOS_EP_LEN;
	ep[6] = SMBIOS_MAJOR;
	ep[7] = SMBIOS_MINOR;
	wr16(ep + 8, b->max_size);
	memcpy(ep + 0x10, "_DMI_", 5);
	wr16(ep + 0x16, b->len);
	wr32(ep + 0x18, table_addr);
	wr16(ep + 0x1c, b->count);
	ep[0x1e] = SMBIOS_MAJOR << 4 | SMBIOS_MINOR;
	ep[0x15] = -sum(ep + 0x10, 15);
	ep[4] = -sum(ep, SMBIOS_EP_LEN);
}
