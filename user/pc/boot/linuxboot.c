/*
 * -kernel through firmware (-bios with -kernel): qvm prepares what a boot
 * loader would have read, and the firmware's option ROM (pc/rom/
 * linuxboot.S) copies it into place and runs the kernel's real-mode setup
 * code, which asks the BIOS for the memory map itself (Linux x86 boot
 * protocol, Documentation/arch/x86/boot.rst, "Loading the rest of the
 * kernel"):
 *
 *   0x10000   the real-mode part, its setup header filled in
 *   0x1fc00   heap_end_ptr (0xfe00 - 0x200); the ROM's stack and DMA
 *             structure above 0xfe00
 *   0x20000   the command line
 *   1 MiB     the protected-mode part
 *   top       the initrd, below what the firmware keeps at the top of
 *             low RAM and below the kernel's initrd_addr_max
 *
 * fw_cfg gives each part as ADDR, SIZE and DATA items (hw/fw_cfg.h).
 */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "config.h"
#include "hw/fw_cfg.h"
#include "machine.h"
#include "pc/pc.h"
#include "pc/boot/linux-hdr.h"

#define FWL_REAL_ADDR 0x10000u
#define FWL_HEAP_END 0xfe00u            /* from the real-mode part's start */
#define FWL_CMDLINE_ADDR 0x20000u
#define FWL_KERNEL_ADDR 0x100000u
#define FWL_FW_TOP (1 * MiB)            /* SeaBIOS's tables under low RAM's top */

static int add_part(struct fw_cfg *f, uint16_t addr_key, uint32_t addr, uint16_t size_key,
		    uint16_t data_key, const void *data, uint32_t len)
{
	return fw_cfg_add_i32(f, addr_key, addr) | fw_cfg_add_i32(f, size_key, len) |
	       fw_cfg_add_bytes(f, data_key, data, len);
}

/* The end of what the kernel occupies from 1 MiB while it decompresses
 * itself (2.10+: from its preferred address, init_size bytes). */
static uint64_t kernel_end(const struct lx_image *k)
{
	uint64_t end = FWL_KERNEL_ADDR + (k->size - k->setup_size);
	if (k->version >= 0x020a)
		end = MAX(end, rd64(k->data + HDR_PREF_ADDRESS) + rd32(k->data + HDR_INIT_SIZE));
	return end;
}

static int add_initrd(struct machine *m, struct fw_cfg *f, const struct lx_image *k,
		      uint8_t *setup)
{
	const char *path = m->cfg->initrd;
	if (!path)
		return add_part(f, FW_CFG_INITRD_ADDR, 0, FW_CFG_INITRD_SIZE, FW_CFG_INITRD_DATA,
				"", 0);
	size_t size;
	uint8_t *data = load_file("-initrd", path, &size);
	if (!data)
		return -1;
	uint64_t max = rd32(k->data + HDR_INITRD_ADDR_MAX);
	uint64_t top = MIN(max + 1, m->ram_below_4g - FWL_FW_TOP);
	uint64_t addr = top > size ? (top - size) & ~0xfffULL : 0;
	int r = -1;
	if (size > UINT32_MAX || addr < kernel_end(k)) {
		qvm_error("-initrd %s: %zu bytes do not fit between the kernel (ending at "
			  "0x%llx) and 0x%llx; give more -m", path, size,
			  (unsigned long long)kernel_end(k), (unsigned long long)top);
	} else {
		wr32(setup + HDR_RAMDISK_IMAGE, addr);
		wr32(setup + HDR_RAMDISK_SIZE, size);
		r = add_part(f, FW_CFG_INITRD_ADDR, addr, FW_CFG_INITRD_SIZE, FW_CFG_INITRD_DATA,
			     data, size);
	}
	free(data);
	return r;
}

static int add_cmdline(struct machine *m, struct fw_cfg *f, const struct lx_image *k,
		       uint8_t *setup)
{
	const char *append = m->cfg->append ? m->cfg->append : "";
	size_t len = strlen(append);
	uint32_t max = rd32(k->data + HDR_CMDLINE_SIZE);   /* excludes the NUL */
	if (len > max) {
		qvm_error("-append: %zu bytes; this kernel takes at most %u", len, max);
		return -1;
	}
	wr32(setup + HDR_CMD_LINE_PTR, FWL_CMDLINE_ADDR);
	return add_part(f, FW_CFG_CMDLINE_ADDR, FWL_CMDLINE_ADDR, FW_CFG_CMDLINE_SIZE,
			FW_CFG_CMDLINE_DATA, append, len + 1);
}

int linux_fw_cfg_load(struct machine *m, struct fw_cfg *f, const uint8_t *data, size_t size)
{
	struct lx_image k = { .path = m->cfg->kernel, .data = data, .size = size };
	if (linux_check_header(&k) < 0)
		return -1;
	if (k.setup_size > FWL_HEAP_END - 0x200 || k.size - k.setup_size > UINT32_MAX) {
		qvm_error("-kernel %s: a %zu-byte real-mode part does not fit below the heap at "
			  "0x%x", k.path, k.setup_size, FWL_HEAP_END);
		return -1;
	}
	uint8_t *setup = malloc(k.setup_size);
	if (!setup) {
		qvm_error("-kernel %s: out of memory", k.path);
		return -1;
	}
	/* boot.rst, "Details of header fields": what the loader writes */
	memcpy(setup, data, k.setup_size);
	setup[HDR_TYPE_OF_LOADER] = 0xff;               /* undefined loader */
	setup[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	wr16(setup + HDR_HEAP_END_PTR, FWL_HEAP_END - 0x200);
	wr32(setup + HDR_CODE32_START, FWL_KERNEL_ADDR);
	int r = -1;
	if (add_cmdline(m, f, &k, setup) == 0 && add_initrd(m, f, &k, setup) == 0 &&
	    add_part(f, FW_CFG_KERNEL_ADDR, FWL_KERNEL_ADDR, FW_CFG_KERNEL_SIZE,
		     FW_CFG_KERNEL_DATA, data + k.setup_size, k.size - k.setup_size) == 0 &&
	    add_part(f, FW_CFG_SETUP_ADDR, FWL_REAL_ADDR, FW_CFG_SETUP_SIZE, FW_CFG_SETUP_DATA,
		     setup, k.setup_size) == 0)
		r = 0;
	free(setup);
	return r;
}
