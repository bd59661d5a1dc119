/*
 * The Bochs VBE "DISPI" interface: an index port (0x1ce) and a data port
 * (0x1cf), 16-bit, through which a guest (the VGA BIOS's VBE functions,
 * Linux's bochs DRM driver) picks a linear mode: XRES x YRES at BPP (8,
 * 15, 16, 24, 32), a virtual width for panning, X/Y offsets, and ENABLE
 * with LFB (the framebuffer BAR) and NOCLEARMEM (keep VRAM).  Banked
 * access goes through the 0xA0000 window, 64 KiB per BANK.
 *
 * Values are only stored here, within their ranges; the renderer checks
 * the whole mode against VRAM before reading a byte of it.
 */
#include <string.h>
#include "hw/vga.h"

bool vga_vbe_enabled(const struct vga *s)
{
	return s->vbe[VBE_ENABLE] & VBE_ENABLED;
}

static unsigned bytes_per_pixel(unsigned bpp)
{
	return (bpp + 7) / 8;
}

static bool valid_bpp(unsigned bpp)
{
	return bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

/* The virtual height VRAM allows at the current virtual width. */
static void update_virt_height(struct vga *s)
{
	uint32_t line = (uint32_t)s->vbe[VBE_VIRT_WIDTH] * bytes_per_pixel(s->vbe[VBE_BPP]);
	uint32_t h = line ? s->vram_size / line : 0;
	s->vbe[VBE_VIRT_HEIGHT] = h > 0xffff ? 0xffff : h;
}

static void vbe_enable(struct vga *s, uint16_t v)
{
	bool was = vga_vbe_enabled(s);
	s->vbe[VBE_ENABLE] = v & (VBE_ENABLED | VBE_GETCAPS | VBE_8BIT_DAC | VBE_LFB_ENABLED |
				  VBE_NOCLEARMEM);
	s->full_redraw = true;
	if (!(v & VBE_ENABLED)) {
		s->bank_offset = 0;
		return;
	}
	if (was)
		return;
	s->vbe[VBE_VIRT_WIDTH] = s->vbe[VBE_XRES];
	s->vbe[VBE_X_OFFSET] = s->vbe[VBE_Y_OFFSET] = s->vbe[VBE_BANK] = 0;
	s->bank_offset = 0;
	update_virt_height(s);
	if (!(v & VBE_NOCLEARMEM)) {
		uint64_t bytes = (uint64_t)s->vbe[VBE_XRES] * s->vbe[VBE_YRES] *
				 bytes_per_pixel(s->vbe[VBE_BPP]);
		if (bytes > s->vram_size)
			bytes = s->vram_size;
		memset(s->vram, 0, bytes);
		vga_vram_written(s, 0, bytes);
	}
	/* the banked window: A0000 64K, chain-4, as the VGA BIOS leaves it */
	s->gr[6] = (s->gr[6] & ~0x0c) | 0x05;
	s->sr[4] |= 0x08;
	s->sr[2] = 0x0f;
}

static void vbe_write_reg(struct vga *s, unsigned i, uint16_t v)
{
	switch (i) {
	case VBE_ID:
		if (v >= 0xb0c0 && v <= VBE_ID5)
			s->vbe[VBE_ID] = v;
		break;
	case VBE_XRES:
	case VBE_YRES:
	case VBE_BPP:
		if (vga_vbe_enabled(s))
			break;  /* as Bochs: the mode is fixed while enabled */
		if ((i == VBE_XRES && v <= VBE_MAX_XRES) || (i == VBE_YRES && v <= VBE_MAX_YRES))
			s->vbe[i] = v;
		else if (i == VBE_BPP && (valid_bpp(v) || v == 0))
			s->vbe[i] = v ? v : 8;
		break;
	case VBE_ENABLE:
		vbe_enable(s, v);
		break;
	case VBE_BANK:
		if (((uint64_t)v << 16) < s->vram_size) {
			s->vbe[VBE_BANK] = v;
			s->bank_offset = (uint32_t)v << 16;
		}
		break;
	case VBE_VIRT_WIDTH:
		if (v <= 8192 && v >= s->vbe[VBE_XRES]) {
			s->vbe[VBE_VIRT_WIDTH] = v;
			update_virt_height(s);
			s->full_redraw = true;
		}
		break;
	case VBE_X_OFFSET:
	case VBE_Y_OFFSET:
		s->vbe[i] = v;
		s->full_redraw = true;
		break;
	}
}

static uint16_t vbe_read_reg(struct vga *s, unsigned i)
{
	if (i >= VBE_NR_REGS)
		return 0;
	if (s->vbe[VBE_ENABLE] & VBE_GETCAPS) {
		if (i == VBE_XRES)
			return VBE_MAX_XRES;
		if (i == VBE_YRES)
			return VBE_MAX_YRES;
		if (i == VBE_BPP)
			return VBE_MAX_BPP;
	}
	return s->vbe[i];
}

uint16_t vga_vbe_read(struct vga *s, bool data)
{
	pthread_mutex_lock(&s->lock);
	uint16_t v = data ? vbe_read_reg(s, s->vbe_index) : s->vbe_index;
	pthread_mutex_unlock(&s->lock);
	return v;
}

void vga_vbe_write(struct vga *s, bool data, uint16_t value)
{
	pthread_mutex_lock(&s->lock);
	if (data)
		vbe_write_reg(s, s->vbe_index, value);
	else
		s->vbe_index = value;
	pthread_mutex_unlock(&s->lock);
}
