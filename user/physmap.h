/*
 * The guest's physical map: RAM and ROM (host memory), MMIO and port-I/O
 * regions (device callbacks).  The map is an immutable snapshot published
 * with RCU: vCPU threads look regions up on every exit without a lock, a
 * change builds a new snapshot and publishes it (liburcu, memb flavour).
 */
#ifndef QVM_PHYSMAP_H
#define QVM_PHYSMAP_H

#include "qvm.h"

struct machine;

/* Device callbacks.  offset is relative to the region base; size is 1, 2, 4
 * or 8.  Either callback may be NULL (reads then return all ones, writes are
 * dropped).  Called from vCPU threads: a device that shares state with the
 * main loop takes its own lock. */
struct io_ops {
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
};

enum region_kind { REGION_RAM, REGION_ROM, REGION_MMIO, REGION_PIO };

struct region {
	enum region_kind kind;
	uint64_t base, len;
	const char *name;
	/* RAM and ROM */
	void *host;
	/* MMIO and PIO */
	const struct io_ops *ops;
	void *opaque;
};

struct physmap {
	unsigned n;             /* regions sorted by (kind == PIO, base) */
	struct region *regions;
};

struct physmap *physmap_new(void);
void physmap_free(struct physmap *map);

/* Registration, from the main thread.  Return 0, or -1 when the range is
 * empty, wraps, or overlaps a region of the same space (message printed). */
int machine_add_pio(struct machine *m, uint16_t base, uint32_t len,
		    const struct io_ops *ops, void *opaque, const char *name);
int machine_add_mmio(struct machine *m, gpa_t base, uint64_t len,
		     const struct io_ops *ops, void *opaque, const char *name);
/* RAM/ROM backed by host memory the caller owns. */
int machine_add_memory(struct machine *m, enum region_kind kind, gpa_t base,
		       uint64_t len, void *host, const char *name);
/* Remove the region of that space starting at base; 0 or -1 if none. */
int machine_remove_region(struct machine *m, enum region_kind kind, gpa_t base);

/* Dispatch from a vCPU thread.  Return false when nothing is mapped there
 * (reads then give all ones); the caller decides whether to log it. */
bool machine_pio(struct machine *m, uint16_t port, bool is_write,
		 uint64_t *value, unsigned size);
bool machine_mmio(struct machine *m, gpa_t addr, bool is_write,
		  uint64_t *value, unsigned size);

/* Host pointer for [gpa, gpa+len) when it lies wholly inside one RAM or ROM
 * region, else NULL.  The pointer stays valid while the region is mapped
 * (RAM never moves).  Guest addresses are untrusted: always check NULL. */
void *gpa_to_host(struct machine *m, gpa_t gpa, uint64_t len);
/* The same, telling whether the memory is RAM (writable) or ROM. */
void *gpa_lookup(struct machine *m, gpa_t gpa, uint64_t len, bool *writable);
/* Copy to/from guest memory; -1 when any byte is outside RAM/ROM.
 * guest_write is machine_ram_write (memory.h): listeners are told. */
int guest_write(struct machine *m, gpa_t gpa, const void *src, uint64_t len);
int guest_read(struct machine *m, gpa_t gpa, void *dst, uint64_t len);

#endif
