/*
 * fw_cfg: the firmware configuration device of QEMU's pc, which SeaBIOS
 * reads its memory map, ACPI tables, boot order and CPU count from (the
 * interface: QEMU's docs/specs/fw_cfg.rst; fw_cfg.h).
 *
 * A guest selects an item and reads it byte by byte through the data
 * port, or hands the device a DMA access structure in guest RAM.  That
 * structure and the buffer it names are guest-controlled: read with
 * guest_read(), every write through machine_ram_write() (memory.h), and a
 * range outside RAM ends the transfer with the ERROR bit.  Items are
 * read-only: a DMA write sets ERROR, a legacy data-port write is dropped.
 */
#include <endian.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "machine.h"
#include "hw/fw_cfg.h"

#define FW_CFG_STATE_VERSION 1
#define NR_ITEMS (FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)
#define DIR_ENTRY_LEN (4 + 2 + 2 + FW_CFG_NAME_MAX)
#define DMA_ACCESS_LEN 16
/* A DMA read past an item's end zero-fills; in chunks of this. */
#define ZERO_CHUNK 4096

struct fw_item {
	uint8_t *data;
	uint32_t len;
};

struct fw_file {
	char name[FW_CFG_NAME_MAX];
	uint16_t key;
};

struct fw_cfg {
	struct machine *m;
	pthread_mutex_t lock;
	/* items: generic keys below FW_CFG_FILE_FIRST, files from it, and
	 * the arch-local keys folded into the same table by item_slot() */
	struct fw_item items[NR_ITEMS];
	struct fw_item arch[16];
	struct fw_file files[FW_CFG_MAX_FILES];
	unsigned nr_files;
	/* guest-visible state */
	uint16_t selector;
	uint32_t offset;
	uint32_t dma_high;      /* the address's high half, as written */
};

/* The item a selector names (write bit ignored), or NULL. */
static struct fw_item *item_slot(struct fw_cfg *f, uint16_t key)
{
	key &= ~FW_CFG_WRITE_BIT;
	if (key & FW_CFG_ARCH_LOCAL) {
		key &= ~FW_CFG_ARCH_LOCAL;
		return key < ARRAY_SIZE(f->arch) ? &f->arch[key] : NULL;
	}
	return key < NR_ITEMS ? &f->items[key] : NULL;
}

static int set_item(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len)
{
	struct fw_item *it = item_slot(f, key);
	uint8_t *copy = malloc(len ? len : 1);
	if (!it || !copy) {
		free(copy);
		qvm_error("fw_cfg: cannot add item 0x%x", key);
		return -1;
	}
	memcpy(copy, data, len);
	pthread_mutex_lock(&f->lock);
	free(it->data);
	it->data = copy;
	it->len = len;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len)
{
	return set_item(f, key, data, len);
}

int fw_cfg_add_i16(struct fw_cfg *f, uint16_t key, uint16_t value)
{
	uint8_t b[2];
	wr16(b, htole16(value));
	return set_item(f, key, b, sizeof(b));
}

int fw_cfg_add_i32(struct fw_cfg *f, uint16_t key, uint32_t value)
{
	uint8_t b[4];
	wr32(b, htole32(value));
	return set_item(f, key, b, sizeof(b));
}

int fw_cfg_add_i64(struct fw_cfg *f, uint16_t key, uint64_t value)
{
	uint8_t b[8];
	wr64(b, htole64(value));
	return set_item(f, key, b, sizeof(b));
}

/* The directory: be32 count, then per file be32 size, be16 key, be16
 * reserved, the name in 56 bytes; sorted by name, as QEMU keeps it. */
static int rebuild_dir(struct fw_cfg *f)
{
	uint32_t len = 4 + f->nr_files * DIR_ENTRY_LEN;
	uint8_t *dir = calloc(1, len);
	if (!dir) {
		qvm_error("fw_cfg: out of memory");
		return -1;
	}
	wr32(dir, htobe32(f->nr_files));
	for (unsigned i = 0; i < f->nr_files; i++) {
		uint8_t *e = dir + 4 + i * DIR_ENTRY_LEN;
		wr32(e, htobe32(f->items[f->files[i].key].len));
		wr16(e + 4, htobe16(f->files[i].key));
		memcpy(e + 8, f->files[i].name, FW_CFG_NAME_MAX);
	}
	int r = set_item(f, FW_CFG_FILE_DIR, dir, len);
	free(dir);
	return r;
}

static int file_index(struct fw_cfg *f, const char *name)
{
	for (unsigned i = 0; i < f->nr_files; i++)
		if (!strcmp(f->files[i].name, name))
			return i;
	return -1;
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len)
{
	if (strlen(name) >= FW_CFG_NAME_MAX) {
		qvm_error("fw_cfg: file name too long: %s", name);
		return -1;
	}
	int i = file_index(f, name);
	if (i >= 0)
		return set_item(f, f->files[i].key, data, len) < 0 ? -1 : rebuild_dir(f);
	if (f->nr_files == FW_CFG_MAX_FILES) {
		qvm_error("fw_cfg: more than %d files", FW_CFG_MAX_FILES);
		return -1;
	}
	uint16_t key = FW_CFG_FILE_FIRST + f->nr_files;
	if (set_item(f, key, data, len) < 0)
		return -1;
	unsigned at = f->nr_files;
	while (at > 0 && strcmp(f->files[at - 1].name, name) > 0) {
		f->files[at] = f->files[at - 1];
		at--;
	}
	memset(f->files[at].name, 0, FW_CFG_NAME_MAX);
	strcpy(f->files[at].name, name);
	f->files[at].key = key;
	f->nr_files++;
	return rebuild_dir(f);
}

const uint8_t *fw_cfg_find_file(struct fw_cfg *f, const char *name, uint32_t *len)
{
	int i = file_index(f, name);
	if (i < 0)
		return NULL;
	struct fw_item *it = &f->items[f->files[i].key];
	*len = it->len;
	return it->data;
}

/* ---- the selector and data ports ---- */

static void select_item(struct fw_cfg *f, uint16_t key)
{
	f->selector = key;
	f->offset = 0;
}

/* The next byte of the selected item; 0 past its end (or none). */
static uint8_t data_byte(struct fw_cfg *f)
{
	struct fw_item *it = item_slot(f, f->selector);
	if (!it || f->offset >= it->len)
		return 0;
	return it->data[f->offset++];
}

/* ---- DMA ---- */

/* Copy the selected item from the offset into guest [gpa, gpa + len),
 * zeros past its end.  false when the range is not all RAM. */
static bool dma_read(struct fw_cfg *f, uint64_t gpa, uint32_t len)
{
	struct fw_item *it = item_slot(f, f->selector);
	uint32_t avail = it && f->offset < it->len ? it->len - f->offset : 0;
	uint32_t n = MIN(avail, len);
	if (n && machine_ram_write(f->m, gpa, it->data + f->offset, n) < 0)
		return false;
	if (len > n && machine_ram_fill(f->m, gpa + n, 0, len - n) < 0)
		return false;
	f->offset += n;
	return true;
}

/* Run the access structure at gpa (fw_cfg.rst, "FW_CFG_DMA"): select,
 * then read, write (refused: items are read-only) or skip; control back
 * to 0, or to ERROR. */
static void dma_run(struct fw_cfg *f, uint64_t gpa)
{
	uint8_t acc[DMA_ACCESS_LEN];
	if (gpa + DMA_ACCESS_LEN < gpa || guest_read(f->m, gpa, acc, sizeof(acc)) < 0) {
		qvm_log(LOG_GUEST_ERRORS, "fw_cfg: DMA access structure at 0x%llx is not in RAM",
			(unsigned long long)gpa);
		return;
	}
	uint32_t control = be32toh(rd32(acc)), len = be32toh(rd32(acc + 4));
	uint64_t addr = be64toh(rd64(acc + 8));
	bool ok = true;
	if (control & FW_CFG_DMA_SELECT)
		select_item(f, control >> 16);
	if (control & FW_CFG_DMA_READ)
		ok = addr + len >= addr && dma_read(f, addr, len);
	else if (control & FW_CFG_DMA_WRITE)
		ok = false;
	else if (control & FW_CFG_DMA_SKIP)
		f->offset = f->offset + len < f->offset ? UINT32_MAX : f->offset + len;
	uint8_t done[4];
	wr32(done, htobe32(ok ? 0 : FW_CFG_DMA_ERROR));
	if (!ok)
		qvm_log(LOG_GUEST_ERRORS, "fw_cfg: DMA control 0x%x to 0x%llx+0x%x failed", control,
			(unsigned long long)addr, len);
	machine_ram_write(f->m, gpa, done, sizeof(done));
}

/* ---- port I/O ---- */

/* 0x510-0x511: byte lanes of a wider access are the ports in turn. */
static uint64_t fw_cfg_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fw_cfg *f = opaque;
	uint64_t v = 0;
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t b = offset + i == 1 ? data_byte(f) : 0xff;
		v |= b << (8 * i);
	}
	pthread_mutex_unlock(&f->lock);
	return v;
}

static void fw_cfg_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct fw_cfg *f = opaque;
	pthread_mutex_lock(&f->lock);
	if (offset == 0 && size == 2)
		select_item(f, value);
	/* data port writes (the legacy write interface) are dropped */
	pthread_mutex_unlock(&f->lock);
}

static const struct io_ops fw_cfg_io_ops = {
	.read = fw_cfg_io_read,
	.write = fw_cfg_io_write,
};

/* 0x514-0x51b: the signature reads back big-endian, byte by byte. */
static uint64_t fw_cfg_dma_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	uint64_t v = 0;
	for (unsigned i = 0; i < size && offset + i < 8; i++)
		v |= (FW_CFG_DMA_SIGNATURE >> (8 * (7 - (offset + i))) & 0xff) << (8 * i);
	return v;
}

/* The guest writes the address big-endian: the port's bytes in memory
 * order are the address's from the most significant. */
static void fw_cfg_dma_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct fw_cfg *f = opaque;
	pthread_mutex_lock(&f->lock);
	if (offset == 0 && size == 4) {
		f->dma_high = be32toh(value);
	} else if (offset == 4 && size == 4) {
		dma_run(f, (uint64_t)f->dma_high << 32 | be32toh(value));
		f->dma_high = 0;
	} else if (offset == 0 && size == 8) {
		dma_run(f, be64toh(value));
	}
	pthread_mutex_unlock(&f->lock);
}

static const struct io_ops fw_cfg_dma_ops = {
	.read = fw_cfg_dma_read,
	.write = fw_cfg_dma_write,
};

/* ---- device ops ---- */

static void fw_cfg_reset(void *dev)
{
	struct fw_cfg *f = dev;
	pthread_mutex_lock(&f->lock);
	select_item(f, 0);
	f->dma_high = 0;
	pthread_mutex_unlock(&f->lock);
}

static void fw_cfg_save(void *dev, struct state_buf *s)
{
	struct fw_cfg *f = dev;
	pthread_mutex_lock(&f->lock);
	state_put_u8(s, FW_CFG_STATE_VERSION);
	state_put_u16(s, f->selector);
	state_put_u32(s, f->offset);
	state_put_u32(s, f->dma_high);
	pthread_mutex_unlock(&f->lock);
}

/* The items come from the command line, the same on both sides. */
static int fw_cfg_load(void *dev, struct state_buf *s)
{
	struct fw_cfg *f = dev;
	uint8_t version = state_get_u8(s);
	uint16_t selector = state_get_u16(s);
	uint32_t offset = state_get_u32(s), high = state_get_u32(s);
	if (s->error || version != FW_CFG_STATE_VERSION)
		return -1;
	pthread_mutex_lock(&f->lock);
	f->selector = selector;
	f->offset = offset;
	f->dma_high = high;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void fw_cfg_destroy(void *dev)
{
	struct fw_cfg *f = dev;
	for (unsigned i = 0; i < ARRAY_SIZE(f->items); i++)
		free(f->items[i].data);
	for (unsigned i = 0; i < ARRAY_SIZE(f->arch); i++)
		free(f->arch[i].data);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static const struct device_ops fw_cfg_device_ops = {
	.name = "fw_cfg",
	.reset = fw_cfg_reset,
	.save = fw_cfg_save,
	.load = fw_cfg_load,
	.destroy = fw_cfg_destroy,
};

struct fw_cfg *fw_cfg_new(struct machine *m)
{
	struct fw_cfg *f = calloc(1, sizeof(*f));
	if (!f) {
		qvm_error("fw_cfg: out of memory");
		return NULL;
	}
	f->m = m;
	pthread_mutex_init(&f->lock, NULL);
	if (fw_cfg_add_bytes(f, FW_CFG_SIGNATURE, "QEMU", 4) < 0 ||
	    fw_cfg_add_i32(f, FW_CFG_ID, FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA) < 0 ||
	    rebuild_dir(f) < 0 ||
	    machine_add_pio(m, FW_CFG_PORT_SEL, 2, &fw_cfg_io_ops, f, "fw_cfg") < 0 ||
	    machine_add_pio(m, FW_CFG_PORT_DMA, 8, &fw_cfg_dma_ops, f, "fw_cfg-dma") < 0) {
		fw_cfg_destroy(f);
		return NULL;
	}
	machine_add_device(m, &fw_cfg_device_ops, f);
	return f;
}
