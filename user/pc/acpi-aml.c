/* The AML encoder and resource descriptors (acpi-aml.h). */
#include <stdlib.h>
#include <string.h>
#include "pc/acpi-aml.h"

/* Opcodes [ACPI 6.4 20.3 "AML Byte Stream Byte Values"] */
#define ZERO_OP 0x00
#define ONE_OP 0x01
#define NAME_OP 0x08
#define BYTE_PREFIX 0x0a
#define WORD_PREFIX 0x0b
#define DWORD_PREFIX 0x0c
#define STRING_PREFIX 0x0d
#define QWORD_PREFIX 0x0e
#define SCOPE_OP 0x10
#define BUFFER_OP 0x11
#define PACKAGE_OP 0x12
#define DUAL_NAME_PREFIX 0x2e
#define MULTI_NAME_PREFIX 0x2f
#define EXT_OP_PREFIX 0x5b
#define DEVICE_OP 0x82           /* after EXT_OP_PREFIX */
#define OP_REGION_OP 0x80        /* after EXT_OP_PREFIX */
#define FIELD_OP 0x81            /* after EXT_OP_PREFIX */
#define METHOD_OP 0x14
#define IF_OP 0xa0
#define ELSE_OP 0xa1
#define REGION_PCI_CONFIG 0x02   /* RegionSpace [19.6.100] */
#define FIELD_BYTE_ACC 0x01      /* FieldFlags: ByteAcc, NoLock, Preserve */
#define ROOT_CHAR '\\'
#define PARENT_PREFIX_CHAR '^'

/* PkgLength [20.2.4]: one byte up to 63, else a lead byte holding the
 * count of following bytes (bits 7:6) and the low nibble, then the rest
 * of the length 8 bits a byte.  The length counts its own bytes. */
#define PKG_MAX 0x0fffffffu

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->data);
	memset(a, 0, sizeof(*a));
}

static bool aml_reserve(struct aml *a, size_t n)
{
	if (a->error)
		return false;
	if (a->len + n <= a->cap)
		return true;
	size_t cap = MAX(a->cap * 2, a->len + n + 256);
	uint8_t *p = realloc(a->data, cap);
	if (!p) {
		a->error = true;
		return false;
	}
	a->data = p;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!aml_reserve(a, n))
		return;
	memcpy(a->data + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, v >> (8 * i));
}

/* ---- names [20.2.2] ---- */

static bool name_char(char c, bool lead)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

/* One NameSeg from s (up to '.' or the end), padded to 4 with '_'. */
static const char *aml_name_seg(struct aml *a, const char *s)
{
	char seg[4] = { '_', '_', '_', '_' };
	unsigned n = 0;
	for (; *s && *s != '.'; s++, n++) {
		if (n == 4 || !name_char(*s, n == 0)) {
			a->error = true;
			return s;
		}
		seg[n] = *s;
	}
	if (n == 0)
		a->error = true;
	aml_bytes(a, seg, 4);
	return *s == '.' ? s + 1 : s;
}

void aml_name_string(struct aml *a, const char *path)
{
	if (*path == ROOT_CHAR)
		aml_byte(a, *path++);
	else
		while (*path == PARENT_PREFIX_CHAR)
			aml_byte(a, *path++);
	unsigned segs = 1;
	for (const char *p = path; *p; p++)
		segs += *p == '.';
	if (segs > 255) {
		a->error = true;
		return;
	}
	if (segs == 2)
		aml_byte(a, DUAL_NAME_PREFIX);
	else if (segs > 2) {
		aml_byte(a, MULTI_NAME_PREFIX);
		aml_byte(a, segs);
	}
	for (unsigned i = 0; i < segs; i++)
		path = aml_name_seg(a, path);
}

/* ---- data objects [20.2.3] ---- */

void aml_integer(struct aml *a, uint64_t v)
{
	if (v <= 1) {
		aml_byte(a, v ? ONE_OP : ZERO_OP);
	} else if (v <= 0xff) {
		aml_byte(a, BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1); /* AsciiCharList NullChar */
}

/* EISAID (ASL 19.6.35): three letters of 5 bits each ('A' = 1) in bits
 * 14:0 of a big-endian word, then four hex digits, stored byte by byte
 * in that order. */
void aml_eisaid(struct aml *a, const char *id)
{
	uint8_t b[4];
	unsigned l[3], h[4];
	if (strlen(id) != 7) {
		a->error = true;
		return;
	}
	for (unsigned i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			a->error = true;
		l[i] = (id[i] - '@') & 0x1f;
	}
	for (unsigned i = 0; i < 4; i++) {
		char c = id[3 + i];
		if (c >= '0' && c <= '9')
			h[i] = c - '0';
		else if (c >= 'A' && c <= 'F')
			h[i] = c - 'A' + 10;
		else {
			a->error = true;
			h[i] = 0;
		}
	}
	b[0] = l[0] << 2 | l[1] >> 3;
	b[1] = (l[1] & 7) << 5 | l[2];
	b[2] = h[0] << 4 | h[1];
	b[3] = h[2] << 4 | h[3];
	aml_byte(a, DWORD_PREFIX);
	aml_bytes(a, b, 4);
}

/* ---- named and opened objects ---- */

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, NAME_OP);
	aml_name_string(a, name);
}

/* The PkgLength of the body [mark, len) goes in front of it. */
void aml_end(struct aml *a, size_t mark)
{
	if (a->error || mark > a->len)
		return;
	size_t body = a->len - mark;
	unsigned n = body + 1 <= 0x3f ? 1 : body + 2 <= 0xfff ? 2 : body + 3 <= 0xfffff ? 3 : 4;
	size_t total = body + n;
	if (total > PKG_MAX || !aml_reserve(a, n)) {
		a->error = true;
		return;
	}
	uint8_t *p = a->data + mark;
	memmove(p + n, p, body);
	if (n == 1) {
		p[0] = total;
	} else {
		p[0] = (n - 1) << 6 | (total & 0xf);
		for (unsigned i = 1; i < n; i++)
			p[i] = total >> (4 + 8 * (i - 1));
	}
	a->len += n;
}

size_t aml_scope(struct aml *a, const char *name)
{
	aml_byte(a, SCOPE_OP);
	size_t mark = a->len;
	aml_name_string(a, name);
	return mark;
}

size_t aml_device(struct aml *a, const char *name)
{
	aml_byte(a, EXT_OP_PREFIX);
	aml_byte(a, DEVICE_OP);
	size_t mark = a->len;
	aml_name_string(a, name);
	return mark;
}

size_t aml_package(struct aml *a, uint8_t nr_elements)
{
	aml_byte(a, PACKAGE_OP);
	size_t mark = a->len;
	aml_byte(a, nr_elements);
	return mark;
}

/* MethodFlags [20.2.5.2]: ArgCount in bits 2:0, SerializeFlag bit 3 */
size_t aml_method(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	aml_byte(a, METHOD_OP);
	size_t mark = a->len;
	aml_name_string(a, name);
	aml_byte(a, (nargs & 7) | (serialized ? 8 : 0));
	if (nargs > 7)
		a->error = true;
	return mark;
}

size_t aml_if(struct aml *a)
{
	aml_byte(a, IF_OP);
	return a->len;
}

size_t aml_else(struct aml *a)
{
	aml_byte(a, ELSE_OP);
	return a->len;
}

void aml_pci_config_region(struct aml *a, const char *name, unsigned offset, unsigned len)
{
	aml_byte(a, EXT_OP_PREFIX);
	aml_byte(a, OP_REGION_OP);
	aml_name_string(a, name);
	aml_byte(a, REGION_PCI_CONFIG);
	aml_integer(a, offset);
	aml_integer(a, len);
}

/* NamedField [20.2.5.2]: a NameSeg and its width in bits as a PkgLength
 * (one byte: 8). */
void aml_byte_fields(struct aml *a, const char *region, const char *const *names, unsigned n)
{
	aml_byte(a, EXT_OP_PREFIX);
	aml_byte(a, FIELD_OP);
	size_t mark = a->len;
	aml_name_string(a, region);
	aml_byte(a, FIELD_BYTE_ACC);
	for (unsigned i = 0; i < n; i++) {
		if (strlen(names[i]) != 4) {
			a->error = true;
			return;
		}
		aml_bytes(a, names[i], 4);
		aml_byte(a, 8);
	}
	aml_end(a, mark);
}

void aml_buffer(struct aml *a, const uint8_t *bytes, size_t n)
{
	aml_byte(a, BUFFER_OP);
	size_t mark = a->len;
	aml_integer(a, n); /* BufferSize */
	aml_bytes(a, bytes, n);
	aml_end(a, mark);
}

/* ---- resource descriptors [6.4] ---- */

/* Small items [6.4.2]: tag = type << 3 | length */
#define RES_IRQ 0x22             /* IRQ, 2 bytes: no information byte */
#define RES_IO 0x47              /* I/O port, 7 bytes */
#define RES_END 0x79             /* end tag, 1 byte */
/* Large items [6.4.3]: 0x80 | type, then a 16-bit length */
#define RES_DWORD_ADDR 0x87
#define RES_WORD_ADDR 0x88

/* Address space descriptors [6.4.3.5, Table 6.41]: resource type, and the
 * general flags _MAF | _MIF (fixed window), positive decode, producer. */
#define ADDR_MEM 0
#define ADDR_IO 1
#define ADDR_BUS 2
#define ADDR_FIXED_PRODUCER 0x0c
#define IO_RNG_ENTIRE 0x03       /* _RNG: ISA and non-ISA ranges */
#define MEM_RW 0x01              /* _RW */
#define MEM_CACHEABLE 0x02       /* _MEM = 1 */

void aml_res_io(struct aml *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_byte(r, RES_IO);
	aml_byte(r, 0x01); /* _DEC: 16-bit decode */
	aml_le(r, min, 2);
	aml_le(r, max, 2);
	aml_byte(r, align);
	aml_byte(r, len);
}

void aml_res_irq(struct aml *r, unsigned irq)
{
	aml_byte(r, RES_IRQ);
	aml_le(r, irq < 16 ? 1u << irq : 0, 2);
	if (irq >= 16)
		r->error = true;
}

/* WORD Address Space Descriptor [6.4.3.5.3]: granularity, min, max,
 * translation offset, length. */
static void res_word(struct aml *r, uint8_t type, uint8_t type_flags, uint16_t min,
		     uint16_t max)
{
	aml_byte(r, RES_WORD_ADDR);
	aml_le(r, 13, 2);
	aml_byte(r, type);
	aml_byte(r, ADDR_FIXED_PRODUCER);
	aml_byte(r, type_flags);
	aml_le(r, 0, 2);
	aml_le(r, min, 2);
	aml_le(r, max, 2);
	aml_le(r, 0, 2);
	aml_le(r, max - min + 1, 2);
	if (max < min)
		r->error = true;
}

void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max)
{
	res_word(r, ADDR_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max)
{
	res_word(r, ADDR_IO, IO_RNG_ENTIRE, min, max);
}

/* DWORD Address Space Descriptor [6.4.3.5.2] */
void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max, bool cacheable)
{
	aml_byte(r, RES_DWORD_ADDR);
	aml_le(r, 23, 2);
	aml_byte(r, ADDR_MEM);
	aml_byte(r, ADDR_FIXED_PRODUCER);
	aml_byte(r, MEM_RW | (cacheable ? MEM_CACHEABLE : 0));
	aml_le(r, 0, 4);
	aml_le(r, min, 4);
	aml_le(r, max, 4);
	aml_le(r, 0, 4);
	aml_le(r, (uint64_t)max - min + 1, 4);
	if (max < min)
		r->error = true;
}

/* End tag [6.4.2.9]: the checksum makes the template's bytes sum to 0. */
void aml_res_end(struct aml *r)
{
	aml_byte(r, RES_END);
	uint8_t sum = 0;
	for (size_t i = 0; i < r->len; i++)
		sum += r->data ? r->data[i] : 0;
	aml_byte(r, -sum);
}
