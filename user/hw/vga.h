/*
 * The VGA core shared by the files of the standard VGA: the legacy
 * registers and the 0xA0000 window (vga.c), the Bochs VBE interface
 * (vga-vbe.c), the renderer (vga-render.c) and the PCI device with its
 * BARs (vga-pci.c).  Register names and bits follow the IBM VGA Technical
 * Reference (sequencer SR, graphics controller GR, attribute controller
 * AR, CRT controller CR) and Bochs' VBE "DISPI" interface.
 *
 * VRAM layout (as QEMU's stdvga keeps it): the four planes interleaved, so
 * that plane p of planar offset o is vram[o * 4 + p].  Chain-4 (mode 13h)
 * and the VBE modes then address VRAM bytes linearly.
 *
 * Every register value is guest-controlled: renderers and the memory
 * window bound every VRAM access by vram_size.
 */
#ifndef QVM_HW_VGA_H
#define QVM_HW_VGA_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "ui/display.h"

struct machine;
struct state_buf;

/* VBE DISPI registers (index port 0x1ce, data 0x1cf) */
enum {
	VBE_ID, VBE_XRES, VBE_YRES, VBE_BPP, VBE_ENABLE, VBE_BANK,
	VBE_VIRT_WIDTH, VBE_VIRT_HEIGHT, VBE_X_OFFSET, VBE_Y_OFFSET,
	VBE_VIDEO_MEMORY_64K, VBE_NR_REGS
};
#define VBE_ID5 0xb0c5
#define VBE_ENABLED 0x01
#define VBE_GETCAPS 0x02
#define VBE_8BIT_DAC 0x20
#define VBE_LFB_ENABLED 0x40
#define VBE_NOCLEARMEM 0x80
#define VBE_MAX_XRES 2560
#define VBE_MAX_YRES 1600
#define VBE_MAX_BPP 32

/* The largest frame any mode renders (text 132 columns of 9 dots fits). */
#define VGA_MAX_WIDTH 2560
#define VGA_MAX_HEIGHT 1600

struct vga {
	pthread_mutex_t lock;   /* registers; VRAM itself is read unlocked */
	uint8_t *vram;
	uint32_t vram_size;     /* bytes, a power of two >= 1 MiB */
	bool no_legacy;         /* bochs-display: VBE modes only, no VGA */
	/* Told of VRAM bytes the device itself wrote (the window, clears),
	 * so that the owner can report them where VRAM is mapped as guest
	 * RAM (memory.h); may be NULL. */
	void (*vram_written)(void *opaque, uint32_t offset, uint32_t len);
	void *vram_written_opaque;

	uint8_t misc;           /* misc output (0x3c2/0x3cc) */
	uint8_t feature;        /* feature control */
	uint8_t sr_index, sr[8];
	uint8_t gr_index, gr[16];
	uint8_t ar_index, ar[0x15];
	bool ar_flip;           /* 0x3c0: next write is the index */
	uint8_t cr_index, cr[0x19];
	uint8_t st01;           /* input status 1: retrace bits toggle */
	uint8_t dac_read, dac_write, dac_sub, dac_state, dac_pel_mask;
	uint8_t dac_cache[3];
	uint8_t palette[768];   /* 6-bit (8-bit with VBE_8BIT_DAC) R, G, B */
	uint32_t latch;         /* the four planes' latches */

	uint16_t vbe_index;
	uint16_t vbe[VBE_NR_REGS];
	uint32_t bank_offset;   /* VBE_BANK in bytes, for the 0xA0000 window */

	/* The renderer's (main thread). */
	uint32_t *pixels;       /* VGA_MAX_WIDTH * VGA_MAX_HEIGHT */
	uint8_t *shadow;        /* the VRAM bytes of the last rendered frame */
	uint32_t *line;         /* one line being built */
	struct display_frame frame;
	uint64_t mode_key;      /* what the last frame was drawn with */
	uint64_t refreshes;     /* for cursor and character blink */
	bool full_redraw;       /* palette or register change seen */
	struct display_text_buf {
		uint8_t chars[256 * 128];
	} text;
};

/* vga.c: init sets the state a VGA BIOS leaves after mode 3 (80x25
 * text, the default DAC palette), with VRAM zeroed; -1 out of memory. */
int vga_init(struct vga *s, uint32_t vram_size);
void vga_fini(struct vga *s);
void vga_reset(struct vga *s);
/* Tell vram_written (any thread). */
void vga_vram_written(struct vga *s, uint32_t offset, uint32_t len);
/* Ports 0x3b0-0x3df: port is the full port number; size 1, 2 or 4
 * (wider accesses are bytes to consecutive ports). */
uint64_t vga_ioport_read(struct vga *s, uint16_t port, unsigned size);
void vga_ioport_write(struct vga *s, uint16_t port, uint64_t value, unsigned size);
/* The legacy window: offset from 0xA0000 (0 .. 0x1ffff), one byte. */
uint8_t vga_mem_read(struct vga *s, uint32_t offset);
void vga_mem_write(struct vga *s, uint32_t offset, uint8_t value);
void vga_save(struct vga *s, struct state_buf *b);
int vga_load(struct vga *s, struct state_buf *b);

/* vga-vbe.c: ports 0x1ce (index) and 0x1cf (data), 16-bit. */
uint16_t vga_vbe_read(struct vga *s, bool data);
void vga_vbe_write(struct vga *s, bool data, uint16_t value);
bool vga_vbe_enabled(const struct vga *s);

/* vga-render.c, main thread: draw what changed into s->frame. */
const struct display_frame *vga_render(struct vga *s);
bool vga_text(struct vga *s, struct display_text *out);

#endif
