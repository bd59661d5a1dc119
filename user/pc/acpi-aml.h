/*
 * A small AML encoder (ACPI 6.4 chapter 20, "ACPI Machine Language
 * Specification") and ACPI resource descriptors (section 6.4) for the
 * DSDT that acpi-dsdt.c builds.  Bytes go into a growable buffer; an error
 * (out of memory, a malformed name, a package too long) sets a flag
 * that the caller checks once at the end.
 *
 * Objects with a PkgLength (Scope, Device, Package) are opened by a call
 * that returns a mark and closed by aml_end(mark), which inserts the
 * PkgLength once the body's size is known:
 *
 *     size_t dev = aml_device(a, "COM1");
 *     aml_name(a, "_HID"); aml_eisaid(a, "PNP0501");
 *     aml_end(a, dev);
 */
#ifndef QVM_ACPI_AML_H
#define QVM_ACPI_AML_H

#include "qvm.h"

struct aml {
	uint8_t *data;
	size_t len, cap;
	bool error;
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* A NameString (20.2.2): "\\_SB_.PCI0", "_HID", "^FOO"; segments shorter
 * than four characters are padded with '_'. */
void aml_name_string(struct aml *a, const char *path);
/* Data objects: the shortest integer encoding (ZeroOp, OneOp, Byte- to
 * QWordPrefix; 64-bit needs a DSDT of revision 2), a string, and the
 * compressed EISA ID of a 7-character PNP ID ("PNP0A03") as a DWord. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id);
/* Buffer(n) { bytes } (20.2.5.4, DefBuffer). */
void aml_buffer(struct aml *a, const uint8_t *bytes, size_t n);

/* Name(name, ...): the caller appends the object. */
void aml_name(struct aml *a, const char *name);
/* Opened objects, closed by aml_end(). */
size_t aml_scope(struct aml *a, const char *name);
size_t aml_device(struct aml *a, const char *name);
size_t aml_package(struct aml *a, uint8_t nr_elements);
void aml_end(struct aml *a, size_t mark);

/* Control methods and the expressions in them (20.2.5).  Method(name,
 * nargs[, Serialized]), If (predicate) and Else open objects closed by
 * aml_end(); after aml_if() the caller emits the predicate, then the
 * body.  Expressions are opcodes in prefix order, written with
 * aml_byte(): Store(Arg0, PICM) is AML_STORE, AML_ARG0, then the name;
 * a Target that is not wanted is AML_NO_TARGET. */
#define AML_NO_TARGET 0x00
#define AML_LOCAL0 0x60
#define AML_ARG0 0x68
#define AML_STORE 0x70
#define AML_SUBTRACT 0x74
#define AML_SHIFT_LEFT 0x79
#define AML_AND 0x7b
#define AML_OR 0x7d
#define AML_FIND_SET_RIGHT_BIT 0x82
#define AML_CREATE_WORD_FIELD 0x8b
#define AML_LLESS 0x95
#define AML_RETURN 0xa4
size_t aml_method(struct aml *a, const char *name, unsigned nargs, bool serialized);
size_t aml_if(struct aml *a);
size_t aml_else(struct aml *a);
/* OperationRegion(name, PCI_Config, offset, len) (19.6.100), and
 * Field(region, ByteAcc, NoLock, Preserve) { names[0], 8, ... }: n
 * byte-wide fields from the region's start (19.6.48). */
void aml_pci_config_region(struct aml *a, const char *name, unsigned offset, unsigned len);
void aml_byte_fields(struct aml *a, const char *region, const char *const *names, unsigned n);

/* Resource templates (6.4), built in their own struct aml and then
 * wrapped with aml_buffer(): */
/* IO(Decode16, min, max, align, len) (6.4.2.5) */
void aml_res_io(struct aml *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags() { irq } (6.4.2.1): edge, active high, exclusive */
void aml_res_irq(struct aml *r, unsigned irq);
/* Producer windows of a bridge (6.4.3.5): WordBusNumber, WordIO and
 * DWordMemory with fixed min and max, positive decode. */
void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max, bool cacheable);
/* The end tag with the checksum of the whole template (6.4.2.9). */
void aml_res_end(struct aml *r);

#endif
