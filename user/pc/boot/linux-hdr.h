/* The Linux x86 boot protocol's setup header and boot_params fields
 * (Documentation/arch/x86/boot.rst), shared by the direct loader
 * (linux.c) and the one through firmware (linuxboot.c). */
#ifndef QVM_PC_BOOT_LINUX_HDR_H
#define QVM_PC_BOOT_LINUX_HDR_H

#include <stddef.h>
#include <stdint.h>

/* Setup header fields: offsets into the file and into boot_params. */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4       /* protected-mode code, 16-byte units */
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_END_MAX 0x290       /* boot_params' header ends here */

/* boot_params fields outside the setup header. */
#define BP_ACPI_RSDP 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 0x1000

#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define MIN_VERSION 0x0206      /* 2.06: cmdline_size; older kernels are from 2008 */

struct lx_image {
	const char *path;
	const uint8_t *data;
	size_t size;
	uint16_t version;
	size_t setup_size;       /* real-mode part: (setup_sects + 1) * 512 */
	uint64_t load_addr;      /* where the protected-mode part goes */
	uint64_t load_end;       /* load_addr + the memory it needs to run */
};

/* Read k->version and k->setup_size from the header and check what a
 * boot loader must before trusting it: 0, or -1 with one line. */
int linux_check_header(struct lx_image *k);

#endif
