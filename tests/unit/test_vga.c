/*
 * The standard VGA (user/hw/vga*.c) through its ports, its window and its
 * BARs as a guest drives them, and the frames it renders (ui/display.h):
 * text with a font loaded into plane 2, the cursor, mode 12h planar writes
 * and reads, mode 13h, the VBE modes, and hostile register values.
 */
#include <string.h>
#include "unit.h"
#include "devtest.h"
#include "hw/hw.h"
#include "hw/vga.h"
#include "ui/display.h"

#define SLOT 2
#define FB_ADDR 0xe0000000u

static struct machine *vga_machine(unsigned vram_mb)
{
	struct machine *m = machine_new(16 * MiB);
	if (!m)
		return NULL;
	struct pci_host *h = pci_host_new(m);
	if (!h || !vga_pci_new(m, h, SLOT, vram_mb, NULL)) {
		machine_free(m);
		return NULL;
	}
	return m;
}

static void cfg_write(struct machine *m, unsigned reg, uint32_t v)
{
	pci_cfg_out(m, SLOT, reg, v, 4);
}

static uint32_t cfg_read(struct machine *m, unsigned reg)
{
	return pci_cfg_in(m, SLOT, reg, 4);
}

static void sr(struct machine *m, unsigned i, uint8_t v) { pio_out(m, 0x3c4, i | v << 8, 2); }
static void gr(struct machine *m, unsigned i, uint8_t v) { pio_out(m, 0x3ce, i | v << 8, 2); }
static void cr(struct machine *m, unsigned i, uint8_t v) { pio_out(m, 0x3d4, i | v << 8, 2); }

static void ar(struct machine *m, unsigned i, uint8_t v)
{
	pio_in(m, 0x3da, 1);            /* flip-flop to "index" */
	pio_out(m, 0x3c0, i, 1);
	pio_out(m, 0x3c0, v, 1);
	pio_out(m, 0x3c0, 0x20, 1);     /* screen back on */
}

static void mem_w(struct machine *m, uint32_t off, uint8_t v)
{
	uint64_t x = v;
	machine_mmio(m, 0xa0000 + off, true, &x, 1);
}

static uint8_t mem_r(struct machine *m, uint32_t off)
{
	uint64_t x = 0;
	machine_mmio(m, 0xa0000 + off, false, &x, 1);
	return x;
}

static void vbe(struct machine *m, unsigned i, uint16_t v)
{
	pio_out(m, 0x1ce, i, 2);
	pio_out(m, 0x1cf, v, 2);
}

static uint16_t vbe_get(struct machine *m, unsigned i)
{
	pio_out(m, 0x1ce, i, 2);
	return pio_in(m, 0x1cf, 2);
}

static uint32_t px(const struct display_frame *f, unsigned x, unsigned y)
{
	return f->pixels[y * (f->stride / 4) + x];
}

/* As a VGA BIOS loads a font: plane 2 alone, sequential addressing. */
static void load_glyph(struct machine *m, uint8_t ch, const uint8_t *rows, unsigned n)
{
	sr(m, 2, 0x04);
	sr(m, 4, 0x06);
	gr(m, 4, 0x02);
	gr(m, 5, 0x00);
	gr(m, 6, 0x04);
	for (unsigned l = 0; l < n; l++)
		mem_w(m, ch * 32 + l, rows[l]);
	sr(m, 2, 0x03);
	sr(m, 4, 0x02);
	gr(m, 4, 0x00);
	gr(m, 5, 0x10);
	gr(m, 6, 0x0e);
}

static const uint8_t glyph_a[16] = {
	0x00, 0x00, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe,
	0xc6, 0xc6, 0xc6, 0xc6, 0x00, 0x00, 0xff, 0x81,
};

TEST(vga_pci_identity_and_bars)
{
	struct machine *m = vga_machine(16);
	CHECK(m);
	CHECK_EQ(cfg_read(m, 0x00), 0x11111234);
	CHECK_EQ(cfg_read(m, 0x08) >> 8, 0x030000);
	cfg_write(m, 0x10, 0xffffffff);
	CHECK_EQ(cfg_read(m, 0x10), 0xff000008);        /* 16 MiB, prefetchable */
	cfg_write(m, 0x18, 0xffffffff);
	CHECK_EQ(cfg_read(m, 0x18), 0xfffff000);        /* 4 KiB MMIO */
	cfg_write(m, 0x10, FB_ADDR);
	cfg_write(m, 0x18, FB_ADDR + 0x1000000);
	CHECK(!gpa_to_host(m, FB_ADDR, 4));             /* decoding still off */
	cfg_write(m, 0x04, 0x2);
	uint8_t *fb = gpa_to_host(m, FB_ADDR, 16 << 20);
	CHECK(fb);
	fb[5] = 0x77;                   /* the guest writes the LFB as RAM */
	vbe(m, VBE_ENABLE, VBE_ENABLED | VBE_NOCLEARMEM);      /* banked window */
	CHECK_EQ(mem_r(m, 5), 0x77);
	/* BAR2: the VBE registers at 0x500 and the VGA ports at 0x400 */
	uint64_t v = 0;
	CHECK(machine_mmio(m, FB_ADDR + 0x1000000 + 0x500, false, &v, 2));
	CHECK_EQ(v, VBE_ID5);
	v = 0x3c;                       /* SR index 3 through 0x3c4 */
	machine_mmio(m, FB_ADDR + 0x1000000 + 0x404, true, &v, 1);
	CHECK_EQ(pio_in(m, 0x3c4, 1), 0x3c);
	cfg_write(m, 0x04, 0);
	CHECK(!gpa_to_host(m, FB_ADDR, 4));
	machine_free(m);
}

TEST(vga_text_mode_renders_the_loaded_font)
{
	struct machine *m = vga_machine(16);
	CHECK(m);
	load_glyph(m, 'A', glyph_a, 16);
	cr(m, 0x0a, 0x20);                              /* cursor off */
	mem_w(m, 0x18000, 'A');
	mem_w(m, 0x18001, 0x1e);                        /* yellow on blue */
	CHECK_EQ(mem_r(m, 0x18000), 'A');
	CHECK_EQ(mem_r(m, 0x18001), 0x1e);
	const struct display_frame *f = display_refresh(m);
	CHECK(f);
	CHECK_EQ(f->width, 720);
	CHECK_EQ(f->height, 400);
	for (unsigned l = 0; l < 16; l++) {
		for (unsigned x = 0; x < 9; x++) {
			bool on = x < 8 && (glyph_a[l] & (0x80 >> x));
			CHECK_EQ(px(f, x, l), on ? 0xffff55 : 0x0000aa);
		}
	}
	CHECK_EQ(px(f, 9, 0), 0);                       /* cell 1: attribute 0 */
	struct display_text t;
	CHECK(display_get_text(m, &t));
	CHECK_EQ(t.cols, 80);
	CHECK_EQ(t.rows, 25);
	CHECK_EQ(t.chars[0], 'A');
	CHECK(!t.cursor_visible);
	/* nothing changed: an empty dirty range; then one row */
	f = display_refresh(m);
	CHECK_EQ(f->dirty_y0, f->dirty_y1);
	mem_w(m, 0x18000 + 2 * 160, 'A');
	mem_w(m, 0x18001 + 2 * 160, 0x07);
	f = display_refresh(m);
	CHECK_EQ(f->dirty_y0, 32 + 2);                  /* the glyph's rows 2-15 */
	CHECK_EQ(f->dirty_y1, 32 + 16);
	machine_free(m);
}

TEST(vga_text_cursor_blinks_where_the_crtc_says)
{
	struct machine *m = vga_machine(16);
	CHECK(m);
	unsigned cell = 80 + 3;                         /* row 1, column 3 */
	mem_w(m, 0x18000 + 2 * cell + 1, 0x07);
	cr(m, 0x0a, 0x0e);
	cr(m, 0x0b, 0x0f);
	cr(m, 0x0e, cell >> 8);
	cr(m, 0x0f, cell & 0xff);
	struct display_text t;
	CHECK(display_get_text(m, &t));
	CHECK(t.cursor_visible);
	CHECK_EQ(t.cursor_row, 1);
	CHECK_EQ(t.cursor_col, 3);
	unsigned on = 0, off = 0;
	for (unsigned i = 0; i < 32; i++) {
		const struct display_frame *f = display_refresh(m);
		uint32_t p = px(f, 3 * 9 + 2, 16 + 14);
		on += p == 0xaaaaaa;
		off += p == 0;
		CHECK_EQ(px(f, 3 * 9 + 2, 16 + 10), 0); /* above the cursor lines */
	}
	CHECK(on >= 8 && off >= 8);
	cr(m, 0x0a, 0x2e);                              /* disabled */
	CHECK(display_get_text(m, &t));
	CHECK(!t.cursor_visible);
	machine_free(m);
}

static void crtc_table(struct machine *m, const uint8_t *t)
{
	cr(m, 0x11, t[0x11] & 0x7f);                    /* unprotect CR0-7 */
	for (unsigned i = 0; i < 0x19; i++)
		cr(m, i, t[i]);
}

static void set_mode13h(struct machine *m)
{
	static const uint8_t crt[0x19] = {
		0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff,
	};
	static const uint8_t grt[9] = { 0, 0, 0, 0, 0, 0x40, 0x05, 0x0f, 0xff };
	pio_out(m, 0x3c2, 0x63, 1);
	sr(m, 1, 0x01);
	sr(m, 2, 0x0f);
	sr(m, 3, 0x00);
	sr(m, 4, 0x0e);
	crtc_table(m, crt);
	for (unsigned i = 0; i < 9; i++)
		gr(m, i, grt[i]);
	for (unsigned i = 0; i < 16; i++)
		ar(m, i, i);
	ar(m, 0x10, 0x41);
	ar(m, 0x12, 0x0f);
}

TEST(vga_mode13h_chain4_and_the_dac)
{
	struct machine *m = vga_machine(16);
	CHECK(m);
	set_mode13h(m);
	pio_out(m, 0x3c8, 5, 1);                        /* DAC entry 5 */
	pio_out(m, 0x3c9, 63, 1);
	pio_out(m, 0x3c9, 0, 1);
	pio_out(m, 0x3c9, 32, 1);
	pio_out(m, 0x3c7, 5, 1);                        /* and read it back */
	CHECK_EQ(pio_in(m, 0x3c9, 1), 63);
	CHECK_EQ(pio_in(m, 0x3c9, 1), 0);
	CHECK_EQ(pio_in(m, 0x3c9, 1), 32);
	mem_w(m, 10 * 320 + 7, 5);
	mem_w(m, 199 * 320 + 319, 5);
	CHECK_EQ(mem_r(m, 10 * 320 + 7), 5);
	const struct display_frame *f = display_refresh(m);
	CHECK_EQ(f->width, 320);
	CHECK_EQ(f->height, 200);
	CHECK_EQ(px(f, 7, 10), 0xff0082);
	CHECK_EQ(px(f, 319, 199), 0xff0082);
	CHECK_EQ(px(f, 8, 10), 0);
	struct display_text t;
	CHECK(!display_get_text(m, &t));                /* graphics */
	machine_free(m);
}

static void set_mode12h(struct machine *m)
{
	static const uint8_t crt[0x19] = {
		0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0xea, 0x8c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff,
	};
	static const uint8_t grt[9] = { 0, 0, 0, 0, 0, 0x00, 0x05, 0x0f, 0xff };
	static const uint8_t art[0x15] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b,
		0x3c, 0x3d, 0x3e, 0x3f, 0x01, 0x00, 0x0f, 0x00, 0x00,
	};
	pio_out(m, 0x3c2, 0xe3, 1);
	sr(m, 1, 0x01);
	sr(m, 2, 0x0f);
	sr(m, 3, 0x00);
	sr(m, 4, 0x06);
	crtc_table(m, crt);
	for (unsigned i = 0; i < 9; i++)
		gr(m, i, grt[i]);
	for (unsigned i = 0; i < 0x15; i++)
		ar(m, i, art[i]);
}

TEST(vga_mode12h_write_and_read_modes)
{
	struct machine *m = vga_machine(16);
	CHECK(m);
	set_mode12h(m);
	/* write mode 2: colour 12 into pixel 0 only (bit mask 0x80) */
	gr(m, 5, 0x02);
	gr(m, 8, 0x80);
	mem_r(m, 0);
	mem_w(m, 0, 0x0c);
	/* write mode 0 with set/reset on all planes: colour 9, pixels 4-7 */
	gr(m, 5, 0x00);
	gr(m, 0, 0x09);
	gr(m, 1, 0x0f);
	gr(m, 8, 0x0f);
	mem_r(m, 0);
	mem_w(m, 0, 0xff);
	/* write mode 3: colour 14 where the rotated value has ones */
	gr(m, 5, 0x03);
	gr(m, 0, 0x0e);
	gr(m, 8, 0xff);
	mem_r(m, 1);
	mem_w(m, 1, 0xf0);
	/* write mode 1: the latches of byte 0 copied to byte 2 */
	gr(m, 5, 0x01);
	mem_r(m, 0);
	mem_w(m, 2, 0);
	/* read mode 0 plane 3 / read mode 1 colour compare */
	gr(m, 5, 0x00);
	gr(m, 4, 3);
	CHECK_EQ(mem_r(m, 0), 0x8f);                    /* 12 and 9 have bit 3 */
	gr(m, 5, 0x08);
	gr(m, 2, 0x0c);
	gr(m, 7, 0x0f);
	CHECK_EQ(mem_r(m, 0), 0x80);
	gr(m, 7, 0x00);                                 /* compare nothing: all match */
	CHECK_EQ(mem_r(m, 0), 0xff);
	const struct display_frame *f = display_refresh(m);
	CHECK_EQ(f->width, 640);
	CHECK_EQ(f->height, 480);
	CHECK_EQ(px(f, 0, 0), 0xff5555);                /* 12: light red */
	CHECK_EQ(px(f, 1, 0), 0);
	CHECK_EQ(px(f, 4, 0), 0x5555ff);                /* 9: light blue */
	CHECK_EQ(px(f, 8, 0), 0xffff55);                /* 14: yellow */
	CHECK_EQ(px(f, 12, 0), 0);
	CHECK_EQ(px(f, 16, 0), 0xff5555);               /* the copy */
	CHECK_EQ(px(f, 20, 0), 0x5555ff);
	/* the colour plane enable register masks planes out */
	ar(m, 0x12, 0x03);
	f = display_refresh(m);
	CHECK_EQ(px(f, 0, 0), 0);                       /* 12 & 3 = 0 */
	CHECK_EQ(px(f, 4, 0), 0x0000aa);                /* 9 & 3 = 1: blue */
	machine_free(m);
}

static void vbe_mode(struct machine *m, unsigned w, unsigned h, unsigned bpp, uint16_t flags)
{
	vbe(m, VBE_ENABLE, 0);
	vbe(m, VBE_XRES, w);
	vbe(m, VBE_YRES, h);
	vbe(m, VBE_BPP, bpp);
	vbe(m, VBE_ENABLE, VBE_ENABLED | flags);
}

TEST(vga_vbe_32bpp_lfb_and_dirty_lines)
{
	struct machine *m = vga_machine(16);
	CHECK(m);
	CHECK_EQ(vbe_get(m, VBE_ID), VBE_ID5);
	CHECK_EQ(vbe_get(m, VBE_VIDEO_MEMORY_64K), 256);
	vbe(m, VBE_ENABLE, VBE_GETCAPS);
	CHECK_EQ(vbe_get(m, VBE_XRES), VBE_MAX_XRES);
	CHECK_EQ(vbe_get(m, VBE_BPP), 32);
	vbe_mode(m, 800, 600, 32, VBE_LFB_ENABLED);
	CHECK_EQ(vbe_get(m, VBE_XRES), 800);
	CHECK_EQ(vbe_get(m, VBE_VIRT_WIDTH), 800);
	CHECK_EQ(vbe_get(m, VBE_VIRT_HEIGHT), (16 << 20) / (800 * 4));
	cfg_write(m, 0x10, FB_ADDR);
	cfg_write(m, 0x04, 0x2);
	for (uint32_t y = 0; y < 600; y += 7)
		for (uint32_t x = 0; x < 800; x += 5) {
			uint32_t p = x << 16 | y << 4 | 0xff000000u;
			CHECK(guest_write(m, FB_ADDR + (y * 800 + x) * 4, &p, 4) == 0);
		}
	const struct display_frame *f = display_refresh(m);
	CHECK_EQ(f->width, 800);
	CHECK_EQ(f->height, 600);
	CHECK_EQ(f->dirty_y0, 0);
	CHECK_EQ(f->dirty_y1, 600);
	CHECK_EQ(px(f, 795, 595), ((795u << 16) | (595u << 4)) & 0xffffff);
	CHECK_EQ(px(f, 796, 595), 0);
	uint64_t gen = f->mode_generation;
	f = display_refresh(m);
	CHECK_EQ(f->dirty_y0, f->dirty_y1);
	uint32_t p = 0x123456;
	guest_write(m, FB_ADDR + (300 * 800 + 10) * 4, &p, 4);
	f = display_refresh(m);
	CHECK_EQ(f->dirty_y0, 300);
	CHECK_EQ(f->dirty_y1, 301);
	CHECK_EQ(px(f, 10, 300), 0x123456);
	CHECK_EQ(f->mode_generation, gen);
	/* panning: a wider virtual screen and an offset */
	vbe(m, VBE_VIRT_WIDTH, 1000);
	vbe(m, VBE_X_OFFSET, 10);
	vbe(m, VBE_Y_OFFSET, 2);
	p = 0xabcdef;
	guest_write(m, FB_ADDR + ((2 + 5) * 1000 + 10 + 3) * 4, &p, 4);
	f = display_refresh(m);
	CHECK_EQ(px(f, 3, 5), 0xabcdef);
	/* another mode: a new generation */
	vbe_mode(m, 640, 480, 32, VBE_LFB_ENABLED);
	f = display_refresh(m);
	CHECK(f->mode_generation != gen);
	CHECK_EQ(f->width, 640);
	CHECK_EQ(px(f, 10, 300), 0);                    /* VRAM was cleared */
	machine_free(m);
}

TEST(vga_vbe_8_16_24bpp_and_banks)
{
	struct machine *m = vga_machine(16);
	CHECK(m);
	vbe_mode(m, 320, 200, 16, 0);
	mem_w(m, 0, 0x00);
	mem_w(m, 1, 0xf8);                      /* 0xf800: red in 5:6:5 */
	vbe(m, VBE_BANK, 1);                    /* byte 0x10000: pixel 32768 */
	mem_w(m, 0, 0xe0);
	mem_w(m, 1, 0x07);                      /* green */
	const struct display_frame *f = display_refresh(m);
	CHECK_EQ(px(f, 0, 0), 0xff0000);
	CHECK_EQ(px(f, 32768 % 320, 32768 / 320), 0x00ff00);
	vbe_mode(m, 320, 200, 24, VBE_NOCLEARMEM);
	f = display_refresh(m);
	/* bytes 00 f8 00: blue 0, green f8, red 0; then the next pixel */
	CHECK_EQ(px(f, 0, 0), 0x00f800);
	vbe_mode(m, 320, 200, 15, VBE_NOCLEARMEM);
	f = display_refresh(m);
	CHECK_EQ(px(f, 0, 0), 0xf70000);                /* 0xf800: red 30 of 31 */
	vbe_mode(m, 320, 200, 8, 0);
	pio_out(m, 0x3c8, 7, 1);
	pio_out(m, 0x3c9, 0, 1);
	pio_out(m, 0x3c9, 63, 1);
	pio_out(m, 0x3c9, 63, 1);
	mem_w(m, 1, 7);
	f = display_refresh(m);
	CHECK_EQ(px(f, 1, 0), 0x00ffff);
	machine_free(m);
}

TEST(vga_hostile_vbe_modes_stay_inside_vram)
{
	struct machine *m = vga_machine(1);                     /* 1 MiB */
	CHECK(m);
	vbe(m, VBE_XRES, 65535);                                /* refused */
	CHECK_EQ(vbe_get(m, VBE_XRES), 0);
	vbe(m, VBE_BPP, 31);
	CHECK_EQ(vbe_get(m, VBE_BPP), 8);
	vbe_mode(m, 2560, 1600, 32, VBE_LFB_ENABLED);           /* 16 MiB needed */
	const struct display_frame *f = display_refresh(m);
	CHECK_EQ(f->width, 2560);
	CHECK_EQ(f->height, 1600);
	CHECK_EQ(px(f, 0, 1599), 0);                            /* clipped: black */
	vbe(m, VBE_BANK, 0xffff);                               /* past VRAM: refused */
	CHECK_EQ(vbe_get(m, VBE_BANK), 0);
	vbe(m, VBE_BANK, 15);
	mem_w(m, 0xffff, 0x5a);                                 /* the last VRAM byte */
	CHECK_EQ(mem_r(m, 0xffff), 0x5a);
	vbe(m, VBE_X_OFFSET, 0xffff);
	vbe(m, VBE_Y_OFFSET, 0xffff);
	f = display_refresh(m);
	CHECK_EQ(px(f, 2559, 1599), 0);
	vbe(m, VBE_VIRT_WIDTH, 100);                            /* < XRES: refused */
	CHECK_EQ(vbe_get(m, VBE_VIRT_WIDTH), 2560);
	machine_free(m);
}

TEST(vga_hostile_legacy_registers_stay_inside_vram)
{
	struct machine *m = vga_machine(1);
	CHECK(m);
	cr(m, 0x11, 0);
	for (unsigned i = 0; i < 0x19; i++)
		cr(m, i, 0xff);                                 /* everything at its maximum */
	sr(m, 3, 0xff);
	sr(m, 1, 0x00);
	const struct display_frame *f = display_refresh(m);
	CHECK(f->width <= VGA_MAX_WIDTH && f->height <= VGA_MAX_HEIGHT);
	struct display_text t;
	if (display_get_text(m, &t))
		CHECK(t.cols * t.rows <= 256 * 128);
	/* random writes to every port and the window, rendering between */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < 40000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		switch (x % 4) {
		case 0:
			pio_out(m, 0x3b0 + (x >> 8) % 0x30, x >> 16, 1);
			break;
		case 1:
			pio_out(m, 0x1ce + ((x >> 8) & 1), x >> 16, 2);
			break;
		case 2:
			mem_w(m, (x >> 8) % 0x20000, x >> 32);
			break;
		default:
			mem_r(m, (x >> 8) % 0x20000);
		}
		if (i % 1000 == 0) {
			f = display_refresh(m);
			CHECK(f->width <= VGA_MAX_WIDTH && f->height <= VGA_MAX_HEIGHT);
			display_get_text(m, &t);
		}
	}
	machine_free(m);
}

TEST(vga_save_load_keeps_the_picture)
{
	struct machine *a = vga_machine(1), *b = vga_machine(1);
	CHECK(a && b);
	set_mode13h(a);
	mem_w(a, 321, 4);
	CHECK_EQ(copy_device_state(a, b), 0);
	const struct display_frame *f = display_refresh(b);
	CHECK_EQ(f->width, 320);
	CHECK_EQ(px(f, 1, 1), 0xaa0000);                /* DAC 4: red */
	machine_reset_devices(b);
	f = display_refresh(b);
	CHECK_EQ(f->width, 720);                        /* text again, VRAM clear */
	CHECK_EQ(mem_r(b, 0x18000), 0);
	machine_free(a);
	machine_free(b);
}

TEST(vga_load_refuses_bad_state_and_keeps_the_device)
{
	static struct vga a, b;
	CHECK_EQ(vga_init(&a, 1 << 20), 0);
	CHECK_EQ(vga_init(&b, 1 << 20), 0);
	vga_ioport_write(&a, 0x3c2, 0x42, 1);
	vga_mem_write(&a, 0x18000, 'x');
	struct state_buf s;
	state_init(&s);
	vga_save(&a, &s);
	s.data[0] = 9;                                  /* unknown version */
	state_rewind(&s);
	CHECK_EQ(vga_load(&b, &s), -1);
	s.data[0] = 1;
	s.len -= 1;                                     /* VRAM cut short */
	state_rewind(&s);
	CHECK_EQ(vga_load(&b, &s), -1);
	CHECK_EQ(vga_ioport_read(&b, 0x3cc, 1), 0x67);  /* untouched */
	s.len += 1;
	state_rewind(&s);
	CHECK_EQ(vga_load(&b, &s), 0);
	CHECK_EQ(vga_ioport_read(&b, 0x3cc, 1), 0x42);
	CHECK_EQ(vga_mem_read(&b, 0x18000), 'x');
	state_free(&s);
	vga_fini(&a);
	vga_fini(&b);
}

TEST(bochs_display_has_vbe_through_bar2_only)
{
	struct machine *m = machine_new(16 * MiB);
	CHECK(m);
	struct pci_host *h = pci_host_new(m);
	CHECK(h && bochs_display_new(m, h, SLOT, 16, NULL));
	CHECK_EQ(cfg_read(m, 0x00), 0x11111234);
	CHECK_EQ(cfg_read(m, 0x08) >> 8, 0x038000);
	uint64_t v = 0;
	CHECK(!machine_pio(m, 0x3c4, false, &v, 1));    /* no legacy ports */
	CHECK(!machine_pio(m, 0x1ce, false, &v, 2));
	CHECK(!machine_mmio(m, 0xa0000, false, &v, 1)); /* no window */
	const struct display_frame *f = display_refresh(m);
	CHECK_EQ(f->width, 0);                          /* nothing until VBE */
	struct display_text t;
	CHECK(!display_get_text(m, &t));
	cfg_write(m, 0x10, FB_ADDR);
	cfg_write(m, 0x18, FB_ADDR + 0x1000000);
	cfg_write(m, 0x04, 0x2);
	uint64_t mmio = FB_ADDR + 0x1000000;
	machine_mmio(m, mmio + 0x600, false, &v, 4);
	CHECK_EQ(v, 8);                                 /* QEMU's extension block */
	static const uint16_t regs[][2] = {
		{ VBE_XRES, 640 }, { VBE_YRES, 480 }, { VBE_BPP, 32 },
		{ VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED },
	};
	for (unsigned i = 0; i < 4; i++) {
		v = regs[i][1];
		machine_mmio(m, mmio + 0x500 + 2 * regs[i][0], true, &v, 2);
	}
	machine_mmio(m, mmio + 0x500 + 2 * VBE_XRES, false, &v, 2);
	CHECK_EQ(v, 640);
	uint32_t p = 0x00c0ffee;
	CHECK(guest_write(m, FB_ADDR + (479 * 640 + 639) * 4, &p, 4) == 0);
	f = display_refresh(m);
	CHECK_EQ(f->width, 640);
	CHECK_EQ(f->height, 480);
	CHECK_EQ(px(f, 639, 479), 0xc0ffee);
	machine_free(m);
}
