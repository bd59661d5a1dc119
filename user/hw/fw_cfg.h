/*
 * The QEMU firmware configuration device (fw_cfg.c), as SeaBIOS and OVMF
 * read it (QEMU's docs/specs/fw_cfg.rst describes the interface):
 *
 *   0x510, 16-bit   selector: the item key; offset back to 0
 *   0x511, 8-bit    data: the next byte of the item (0 past its end)
 *   0x514-0x51b     DMA address, big-endian; writing its low half (or all
 *                   8 bytes at 0x514) runs the transfer; reads "QEMU CFG"
 *
 * Items are byte strings under a 16-bit key; named files get keys from
 * FW_CFG_FILE_FIRST and appear in the directory (FW_CFG_FILE_DIR).  The
 * board fills the items once, before the guest runs; they are constant
 * after that.
 */
#ifndef QVM_HW_FW_CFG_H
#define QVM_HW_FW_CFG_H

#include "qvm.h"

struct machine;

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514

/* Item keys (the ones qvm gives) */
#define FW_CFG_SIGNATURE 0x00     /* "QEMU" */
#define FW_CFG_ID 0x01            /* le32: bit 0 traditional, bit 1 DMA */
#define FW_CFG_RAM_SIZE 0x03      /* le64 */
#define FW_CFG_NOGRAPHIC 0x04     /* le16 */
#define FW_CFG_NB_CPUS 0x05       /* le16: vCPUs at start */
#define FW_CFG_KERNEL_ADDR 0x07   /* le32: -kernel through firmware (the */
#define FW_CFG_KERNEL_SIZE 0x08   /* option ROM pc/rom/linuxboot.S): */
#define FW_CFG_INITRD_ADDR 0x0a   /* where each part goes, its size, */
#define FW_CFG_INITRD_SIZE 0x0b   /* and its bytes */
#define FW_CFG_BOOT_DEVICE 0x0c   /* le16: the first -boot letter */
#define FW_CFG_NUMA 0x0d          /* le64 node count, then per-CPU and per-node data */
#define FW_CFG_BOOT_MENU 0x0e     /* le16: -boot menu=on */
#define FW_CFG_MAX_CPUS 0x0f      /* le16 */
#define FW_CFG_KERNEL_DATA 0x11
#define FW_CFG_INITRD_DATA 0x12
#define FW_CFG_CMDLINE_ADDR 0x13
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_ADDR 0x16
#define FW_CFG_SETUP_SIZE 0x17
#define FW_CFG_SETUP_DATA 0x18
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_MAX_FILES 64
#define FW_CFG_ARCH_LOCAL 0x8000
#define FW_CFG_IRQ0_OVERRIDE 0x8002 /* le32 1: IRQ 0 is on IOAPIC pin 2 */

#define FW_CFG_WRITE_BIT 0x4000   /* in a selector: a (legacy) write */
#define FW_CFG_ID_TRADITIONAL 0x01
#define FW_CFG_ID_DMA 0x02

/* DMA access structure: be32 control, be32 length, be64 address */
#define FW_CFG_DMA_ERROR 0x01
#define FW_CFG_DMA_READ 0x02
#define FW_CFG_DMA_SKIP 0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE 0x10
#define FW_CFG_DMA_SIGNATURE 0x51454d5520434647ULL /* "QEMU CFG" */

#define FW_CFG_NAME_MAX 56        /* directory names, with the NUL */

struct fw_cfg;
/* Ports 0x510-0x511 and 0x514-0x51b of m, with the signature, the ID and
 * an empty directory.  NULL with a message on error. */
struct fw_cfg *fw_cfg_new(struct machine *m);
/* Add (copy) an item; replacing a key already given replaces its data.
 * 0, or -1 with a message (out of memory, no keys left). */
int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len);
int fw_cfg_add_i16(struct fw_cfg *f, uint16_t key, uint16_t value);
int fw_cfg_add_i32(struct fw_cfg *f, uint16_t key, uint32_t value);
int fw_cfg_add_i64(struct fw_cfg *f, uint16_t key, uint64_t value);
/* A named file (name shorter than FW_CFG_NAME_MAX), listed in the
 * directory, which is kept sorted by name. */
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len);
/* The data of a named file, or NULL (len set when found). */
const uint8_t *fw_cfg_find_file(struct fw_cfg *f, const char *name, uint32_t *len);

#endif
