/*
 * The legacy VGA: registers behind ports 0x3b0-0x3df and the memory window
 * at 0xA0000-0xBFFFF with its four planes (IBM VGA Technical Reference:
 * "Sequencer Registers", "Graphics Controller Registers", "Attribute
 * Controller Registers", "CRT Controller Registers", "Video DAC").
 *
 * The window: GR6 bits 3:2 select where it decodes (A0000 128K, A0000
 * 64K, B0000 32K, B8000 32K).  Reads and writes go one of three ways:
 *   chain-4 (SR4 bit 3): byte addresses map straight onto VRAM (mode 13h,
 *     and the VBE banked window, offset by the bank);
 *   odd/even (SR4 bit 2 clear): address bit 0 selects plane 0/1 (or 2/3
 *     with GR4 bit 1), the text modes' characters and attributes;
 *   planar: all four planes at one offset through the latches, write
 *     modes 0-3 (GR5 bits 1:0) with set/reset, rotate, the logical
 *     operation and the bit mask, and read modes 0 (plane GR4) and 1
 *     (colour compare).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "hw/vga.h"
#include "state.h"

#define VGA_STATE_VERSION 1

/* What a VGA BIOS leaves after setting mode 3 (80x25, 9x16 cells). */
static const uint8_t mode3_sr[5] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t mode3_gr[9] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff };
static const uint8_t mode3_cr[0x19] = {
	0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00,
	0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
};
static const uint8_t mode3_ar[0x15] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b,
	0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00,
};

/* The DAC's first 64 entries as the BIOS loads them for 16-colour modes:
 * the EGA palette, bits 2/1/0 primary red/green/blue (2/3 intensity),
 * bits 5/4/3 secondary (1/3). */
static void default_palette(uint8_t *pal)
{
	memset(pal, 0, 768);
	for (unsigned i = 0; i < 64; i++) {
		pal[i * 3 + 0] = ((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15;
		pal[i * 3 + 1] = ((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15;
		pal[i * 3 + 2] = (i & 1) * 0x2a + ((i >> 3) & 1) * 0x15;
	}
}

void vga_reset(struct vga *s)
{
	pthread_mutex_lock(&s->lock);
	s->misc = 0x67;
	s->feature = 0;
	s->sr_index = s->gr_index = s->cr_index = 0;
	s->ar_index = 0x20;     /* palette address source: the screen is on */
	memset(s->sr, 0, sizeof(s->sr));
	memset(s->gr, 0, sizeof(s->gr));
	memcpy(s->sr, mode3_sr, sizeof(mode3_sr));
	memcpy(s->gr, mode3_gr, sizeof(mode3_gr));
	memcpy(s->cr, mode3_cr, sizeof(mode3_cr));
	memcpy(s->ar, mode3_ar, sizeof(mode3_ar));
	s->ar_flip = false;
	s->st01 = 0;
	s->dac_read = s->dac_write = s->dac_sub = s->dac_state = 0;
	s->dac_pel_mask = 0xff;
	default_palette(s->palette);
	s->latch = 0;
	s->vbe_index = 0;
	memset(s->vbe, 0, sizeof(s->vbe));
	s->vbe[VBE_ID] = VBE_ID5;
	s->vbe[VBE_BPP] = 8;
	s->vbe[VBE_VIDEO_MEMORY_64K] = s->vram_size >> 16;
	s->bank_offset = 0;
	s->full_redraw = true;
	pthread_mutex_unlock(&s->lock);
	/* zero pages without touching them (no 16 MiB of RSS for a clear) */
	if (madvise(s->vram, s->vram_size, MADV_DONTNEED) < 0)
		memset(s->vram, 0, s->vram_size);
	vga_vram_written(s, 0, s->vram_size);
}

void vga_vram_written(struct vga *s, uint32_t offset, uint32_t len)
{
	if (s->vram_written && len)
		s->vram_written(s->vram_written_opaque, offset, len);
}

/* Page-aligned zeroed memory: VRAM becomes a KVM memory slot at BAR0. */
static uint8_t *alloc_pages(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int vga_init(struct vga *s, uint32_t vram_size)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->vram_size = vram_size;
	s->vram = alloc_pages(vram_size);
	s->shadow = alloc_pages(vram_size);
	s->pixels = calloc((size_t)VGA_MAX_WIDTH * VGA_MAX_HEIGHT, 4);
	s->line = calloc(VGA_MAX_WIDTH, 4);
	if (!s->vram || !s->shadow || !s->pixels || !s->line) {
		vga_fini(s);
		return -1;
	}
	vga_reset(s);
	return 0;
}

void vga_fini(struct vga *s)
{
	if (s->vram)
		munmap(s->vram, s->vram_size);
	if (s->shadow)
		munmap(s->shadow, s->vram_size);
	free(s->pixels);
	free(s->line);
	s->vram = s->shadow = NULL;
	s->pixels = s->line = NULL;
	pthread_mutex_destroy(&s->lock);
}

/* ---- ports ---- */

static bool crtc_port(const struct vga *s, uint16_t port, uint16_t mono, uint16_t colour)
{
	return port == ((s->misc & 1) ? colour : mono);
}

static uint8_t dac_read_data(struct vga *s)
{
	uint8_t v = s->palette[(s->dac_read * 3 + s->dac_sub) % 768];
	if (++s->dac_sub == 3) {
		s->dac_sub = 0;
		s->dac_read++;
	}
	return v;
}

static void dac_write_data(struct vga *s, uint8_t v)
{
	s->dac_cache[s->dac_sub] = v;
	if (++s->dac_sub == 3) {
		memcpy(&s->palette[s->dac_write * 3], s->dac_cache, 3);
		s->dac_sub = 0;
		s->dac_write++;
		s->full_redraw = true;
	}
}

static uint8_t ioport_read_byte(struct vga *s, uint16_t port)
{
	if (crtc_port(s, port, 0x3b4, 0x3d4))
		return s->cr_index;
	if (crtc_port(s, port, 0x3b5, 0x3d5))
		return s->cr_index < sizeof(s->cr) ? s->cr[s->cr_index] : 0;
	if (crtc_port(s, port, 0x3ba, 0x3da)) {
		/* bit 3 vertical retrace, bit 0 display disabled: toggling
		 * lets a guest that waits for either edge go on */
		s->st01 ^= 0x09;
		s->ar_flip = false;
		return s->st01;
	}
	switch (port) {
	case 0x3c0:
		return s->ar_index;
	case 0x3c1:
		return (s->ar_index & 0x1f) < sizeof(s->ar) ? s->ar[s->ar_index & 0x1f] : 0;
	case 0x3c2:
		return 0;       /* input status 0: no switch sense, no CRT interrupt */
	case 0x3c4:
		return s->sr_index;
	case 0x3c5:
		return s->sr[s->sr_index & 7];
	case 0x3c6:
		return s->dac_pel_mask;
	case 0x3c7:
		return s->dac_state;
	case 0x3c8:
		return s->dac_write;
	case 0x3c9:
		return dac_read_data(s);
	case 0x3ca:
		return s->feature;
	case 0x3cc:
		return s->misc;
	case 0x3ce:
		return s->gr_index;
	case 0x3cf:
		return s->gr[s->gr_index & 15];
	}
	return 0xff;
}

static void ar_write(struct vga *s, uint8_t v)
{
	if (!s->ar_flip) {
		s->ar_index = v & 0x3f;
	} else {
		unsigned i = s->ar_index & 0x1f;
		if (i < sizeof(s->ar))
			s->ar[i] = v;
		s->full_redraw = true;
	}
	s->ar_flip = !s->ar_flip;
}

static void cr_write(struct vga *s, uint8_t v)
{
	unsigned i = s->cr_index;
	if (i >= sizeof(s->cr))
		return;
	/* CR11 bit 7 write-protects CR0-CR7, except CR7's line compare bit 4 */
	if ((s->cr[0x11] & 0x80) && i <= 7) {
		if (i == 7)
			s->cr[7] = (s->cr[7] & ~0x10) | (v & 0x10);
		return;
	}
	s->cr[i] = v;
}

static void ioport_write_byte(struct vga *s, uint16_t port, uint8_t v)
{
	if (crtc_port(s, port, 0x3b4, 0x3d4)) {
		s->cr_index = v;
		return;
	}
	if (crtc_port(s, port, 0x3b5, 0x3d5)) {
		cr_write(s, v);
		return;
	}
	if (crtc_port(s, port, 0x3ba, 0x3da)) {
		s->feature = v;
		return;
	}
	switch (port) {
	case 0x3c0:
		ar_write(s, v);
		break;
	case 0x3c2:
		s->misc = v;
		break;
	case 0x3c4:
		s->sr_index = v;
		break;
	case 0x3c5:
		s->sr[s->sr_index & 7] = v;
		break;
	case 0x3c6:
		s->dac_pel_mask = v;
		break;
	case 0x3c7:
		s->dac_read = v;
		s->dac_sub = 0;
		s->dac_state = 3;       /* prepared for reads */
		break;
	case 0x3c8:
		s->dac_write = v;
		s->dac_sub = 0;
		s->dac_state = 0;
		break;
	case 0x3c9:
		dac_write_data(s, v);
		break;
	case 0x3ce:
		s->gr_index = v;
		break;
	case 0x3cf:
		s->gr[s->gr_index & 15] = v;
		break;
	}
}

uint64_t vga_ioport_read(struct vga *s, uint16_t port, unsigned size)
{
	uint64_t v = 0;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < size && i < 8; i++)
		v |= (uint64_t)ioport_read_byte(s, port + i) << (8 * i);
	pthread_mutex_unlock(&s->lock);
	return v;
}

void vga_ioport_write(struct vga *s, uint16_t port, uint64_t value, unsigned size)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < size && i < 8; i++)
		ioport_write_byte(s, port + i, value >> (8 * i));
	pthread_mutex_unlock(&s->lock);
}

/* ---- the memory window ---- */

/* The window offset as an address inside the selected map, or -1 when
 * the map does not decode it (GR6 bits 3:2). */
static int64_t window_addr(const struct vga *s, uint32_t offset)
{
	switch ((s->gr[6] >> 2) & 3) {
	case 0:
		return offset;
	case 1:
		return offset < 0x10000 ? (int64_t)offset + s->bank_offset : -1;
	case 2:
		return offset >= 0x10000 && offset < 0x18000 ? (int64_t)offset - 0x10000 : -1;
	default:
		return offset >= 0x18000 ? (int64_t)offset - 0x18000 : -1;
	}
}

/* Each bit of a 4-bit plane mask spread to a byte of a 32-bit word. */
static uint32_t expand4(unsigned bits)
{
	uint32_t v = 0;
	for (unsigned p = 0; p < 4; p++)
		if (bits & (1u << p))
			v |= 0xffu << (8 * p);
	return v;
}

static uint32_t load32(const struct vga *s, uint64_t planar)
{
	uint32_t v;
	memcpy(&v, s->vram + planar * 4, 4);
	return v;
}

static void store32(struct vga *s, uint64_t planar, uint32_t v)
{
	memcpy(s->vram + planar * 4, &v, 4);
}

static uint8_t read_locked(struct vga *s, uint32_t offset)
{
	int64_t a = window_addr(s, offset);
	if (a < 0)
		return 0xff;
	if (s->sr[4] & 0x08)                    /* chain-4 */
		return (uint64_t)a < s->vram_size ? s->vram[a] : 0xff;
	if (!(s->sr[4] & 0x04)) {               /* odd/even */
		unsigned plane = (s->gr[4] & 2) | (a & 1);
		uint64_t i = ((uint64_t)(a & ~1) << 1) | plane;
		return i < s->vram_size ? s->vram[i] : 0xff;
	}
	if ((uint64_t)a * 4 + 4 > s->vram_size)
		return 0xff;
	s->latch = load32(s, a);
	if (!(s->gr[5] & 0x08))                 /* read mode 0 */
		return s->latch >> (8 * (s->gr[4] & 3));
	/* read mode 1: 1 where every plane in "colour don't care" (GR7)
	 * matches "colour compare" (GR2) */
	uint32_t diff = (s->latch ^ expand4(s->gr[2] & 0xf)) & expand4(s->gr[7] & 0xf);
	uint8_t r = diff | diff >> 8 | diff >> 16 | diff >> 24;
	return ~r;
}

static uint32_t rotate_byte(uint8_t v, unsigned n)
{
	n &= 7;
	return (uint8_t)((v >> n) | (v << (8 - n)));
}

/* Write modes 0-3 and the ALU (GR3 bits 4:3), then the bit mask. */
static uint32_t planar_value(struct vga *s, uint8_t v)
{
	uint32_t val, bit_mask = s->gr[8];
	switch (s->gr[5] & 3) {
	case 0: {
		uint32_t rot = rotate_byte(v, s->gr[3]) * 0x01010101u;
		uint32_t sr_en = expand4(s->gr[1] & 0xf);
		val = (rot & ~sr_en) | (expand4(s->gr[0] & 0xf) & sr_en);
		break;
	}
	case 1:
		return s->latch;
	case 2:
		val = expand4(v & 0xf);
		break;
	default:
		bit_mask &= rotate_byte(v, s->gr[3]);
		val = expand4(s->gr[0] & 0xf);
		break;
	}
	switch ((s->gr[3] >> 3) & 3) {
	case 1:
		val &= s->latch;
		break;
	case 2:
		val |= s->latch;
		break;
	case 3:
		val ^= s->latch;
		break;
	}
	bit_mask *= 0x01010101u;
	return (val & bit_mask) | (s->latch & ~bit_mask);
}

static void write_locked(struct vga *s, uint32_t offset, uint8_t v)
{
	int64_t a = window_addr(s, offset);
	if (a < 0)
		return;
	if (s->sr[4] & 0x08) {                  /* chain-4 */
		if ((uint64_t)a < s->vram_size && (s->sr[2] & (1u << (a & 3)))) {
			s->vram[a] = v;
			vga_vram_written(s, a, 1);
		}
		return;
	}
	if (!(s->sr[4] & 0x04)) {               /* odd/even */
		unsigned plane = (s->gr[4] & 2) | (a & 1);
		uint64_t i = ((uint64_t)(a & ~1) << 1) | plane;
		if (i < s->vram_size && (s->sr[2] & (1u << plane))) {
			s->vram[i] = v;
			vga_vram_written(s, i, 1);
		}
		return;
	}
	if ((uint64_t)a * 4 + 4 > s->vram_size)
		return;
	uint32_t pmask = expand4(s->sr[2] & 0xf);
	uint32_t val = planar_value(s, v);
	store32(s, a, (load32(s, a) & ~pmask) | (val & pmask));
	vga_vram_written(s, a * 4, 4);
}

uint8_t vga_mem_read(struct vga *s, uint32_t offset)
{
	pthread_mutex_lock(&s->lock);
	uint8_t v = read_locked(s, offset);
	pthread_mutex_unlock(&s->lock);
	return v;
}

void vga_mem_write(struct vga *s, uint32_t offset, uint8_t value)
{
	pthread_mutex_lock(&s->lock);
	write_locked(s, offset, value);
	pthread_mutex_unlock(&s->lock);
}

/* ---- state ---- */

void vga_save(struct vga *s, struct state_buf *b)
{
	pthread_mutex_lock(&s->lock);
	state_put_u8(b, VGA_STATE_VERSION);
	state_put_u32(b, s->vram_size);
	state_put_u8(b, s->misc);
	state_put_u8(b, s->feature);
	state_put_u8(b, s->sr_index);
	state_put_bytes(b, s->sr, sizeof(s->sr));
	state_put_u8(b, s->gr_index);
	state_put_bytes(b, s->gr, sizeof(s->gr));
	state_put_u8(b, s->ar_index);
	state_put_bytes(b, s->ar, sizeof(s->ar));
	state_put_u8(b, s->ar_flip);
	state_put_u8(b, s->cr_index);
	state_put_bytes(b, s->cr, sizeof(s->cr));
	state_put_u8(b, s->dac_read);
	state_put_u8(b, s->dac_write);
	state_put_u8(b, s->dac_sub);
	state_put_u8(b, s->dac_state);
	state_put_u8(b, s->dac_pel_mask);
	state_put_bytes(b, s->dac_cache, sizeof(s->dac_cache));
	state_put_bytes(b, s->palette, sizeof(s->palette));
	state_put_u32(b, s->latch);
	state_put_u16(b, s->vbe_index);
	for (unsigned i = 0; i < VBE_NR_REGS; i++)
		state_put_u16(b, s->vbe[i]);
	state_put_u32(b, s->bank_offset);
	pthread_mutex_unlock(&s->lock);
	state_put_bytes(b, s->vram, s->vram_size);
}

/* The registers as saved, read into a temporary first. */
struct vga_saved {
	uint8_t misc, feature, sr_index, sr[8], gr_index, gr[16], ar_index, ar[0x15];
	uint8_t ar_flip, cr_index, cr[0x19];
	uint8_t dac_read, dac_write, dac_sub, dac_state, dac_pel_mask, dac_cache[3];
	uint8_t palette[768];
	uint32_t latch, bank_offset;
	uint16_t vbe_index, vbe[VBE_NR_REGS];
};

static void get_saved(struct state_buf *b, struct vga_saved *v)
{
	v->misc = state_get_u8(b);
	v->feature = state_get_u8(b);
	v->sr_index = state_get_u8(b);
	state_get_bytes(b, v->sr, sizeof(v->sr));
	v->gr_index = state_get_u8(b);
	state_get_bytes(b, v->gr, sizeof(v->gr));
	v->ar_index = state_get_u8(b);
	state_get_bytes(b, v->ar, sizeof(v->ar));
	v->ar_flip = state_get_u8(b);
	v->cr_index = state_get_u8(b);
	state_get_bytes(b, v->cr, sizeof(v->cr));
	v->dac_read = state_get_u8(b);
	v->dac_write = state_get_u8(b);
	v->dac_sub = state_get_u8(b);
	v->dac_state = state_get_u8(b);
	v->dac_pel_mask = state_get_u8(b);
	state_get_bytes(b, v->dac_cache, sizeof(v->dac_cache));
	state_get_bytes(b, v->palette, sizeof(v->palette));
	v->latch = state_get_u32(b);
	v->vbe_index = state_get_u16(b);
	for (unsigned i = 0; i < VBE_NR_REGS; i++)
		v->vbe[i] = state_get_u16(b);
	v->bank_offset = state_get_u32(b);
}

/* Everything is checked before the device changes: the version, the VRAM
 * size (the same -device VGA on both sides), the ranges the registers
 * code keeps (DAC sub-index, bank), and that the whole VRAM is there. */
int vga_load(struct vga *s, struct state_buf *b)
{
	uint8_t version = state_get_u8(b);
	uint32_t vram_size = state_get_u32(b);
	struct vga_saved v;
	get_saved(b, &v);
	if (b->error || version != VGA_STATE_VERSION || vram_size != s->vram_size ||
	    v.dac_sub > 2 || v.bank_offset >= s->vram_size || v.ar_flip > 1 ||
	    b->len - b->pos < s->vram_size)
		return -1;
	pthread_mutex_lock(&s->lock);
	s->misc = v.misc;
	s->feature = v.feature;
	s->sr_index = v.sr_index;
	memcpy(s->sr, v.sr, sizeof(s->sr));
	s->gr_index = v.gr_index;
	memcpy(s->gr, v.gr, sizeof(s->gr));
	s->ar_index = v.ar_index;
	memcpy(s->ar, v.ar, sizeof(s->ar));
	s->ar_flip = v.ar_flip;
	s->cr_index = v.cr_index;
	memcpy(s->cr, v.cr, sizeof(s->cr));
	s->dac_read = v.dac_read;
	s->dac_write = v.dac_write;
	s->dac_sub = v.dac_sub;
	s->dac_state = v.dac_state;
	s->dac_pel_mask = v.dac_pel_mask;
	memcpy(s->dac_cache, v.dac_cache, sizeof(s->dac_cache));
	memcpy(s->palette, v.palette, sizeof(s->palette));
	s->latch = v.latch;
	s->vbe_index = v.vbe_index;
	memcpy(s->vbe, v.vbe, sizeof(s->vbe));
	s->bank_offset = v.bank_offset;
	s->full_redraw = true;
	pthread_mutex_unlock(&s->lock);
	state_get_bytes(b, s->vram, s->vram_size);
	return 0;
}
