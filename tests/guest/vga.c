/* vga.elf: the standard VGA as a driver without a VGA BIOS sees it (for
 * tests/display/run, which takes screendumps at each stop): PCI 1234:1111
 * with its framebuffer BAR, the Bochs VBE ID and VRAM size; then a text
 * screen: a font loaded into plane 2 through the 0xA0000 window (glyph
 * row l of character c is c ^ (l * 0x11)), characters at 0xB8000;
 * "text-ready", wait for 'g' on COM1; then VBE 800x600x32 through ports
 * 0x1ce/0x1cf and a pattern drawn into the linear framebuffer;
 * "vbe-ready", wait for 'g', exit. */
#include "guest.h"

#define VBE_INDEX 0x1ce
#define VBE_DATA 0x1cf

static void vbe_w(unsigned i, uint16_t v)
{
	outw(VBE_INDEX, i);
	outw(VBE_DATA, v);
}

static uint16_t vbe_r(unsigned i)
{
	outw(VBE_INDEX, i);
	return inw(VBE_DATA);
}

static void sr_w(unsigned i, uint8_t v) { outw(0x3c4, i | v << 8); }
static void gr_w(unsigned i, uint8_t v) { outw(0x3ce, i | v << 8); }

static uint8_t font_row(uint8_t c, unsigned l)
{
	return c ^ (l * 0x11);
}

/* The pattern the harness checks: red across, green down, a blue
 * checkerboard of 100-pixel squares. */
static uint32_t pattern(uint32_t x, uint32_t y)
{
	return (x * 255 / 799) << 16 | (y * 255 / 599) << 8 | (((x / 100 + y / 100) & 1) ? 0xff : 0);
}

static void wait_go(void)
{
	while (serial_getc() != 'g')
		cpu_relax();
}

static void load_font(void)
{
	volatile uint8_t *win = phys(0xa0000);
	sr_w(2, 0x04);          /* plane 2 */
	sr_w(4, 0x06);          /* sequential, no odd/even */
	gr_w(4, 0x02);
	gr_w(5, 0x00);
	gr_w(6, 0x04);          /* A0000, 64 KiB */
	for (unsigned c = 0x20; c < 0x80; c++)
		for (unsigned l = 0; l < 16; l++)
			win[c * 32 + l] = font_row(c, l);
	sr_w(2, 0x03);
	sr_w(4, 0x02);
	gr_w(4, 0x00);
	gr_w(5, 0x10);
	gr_w(6, 0x0e);          /* B8000, odd/even */
}

static void text_screen(void)
{
	static const char msg[] = "qvm VGA text";
	volatile uint8_t *tb = phys(0xb8000);
	load_font();
	outw(0x3d4, 0x200a);    /* cursor off */
	for (unsigned i = 0; i < sizeof(msg) - 1; i++) {
		tb[2 * i] = msg[i];
		tb[2 * i + 1] = 0x1e;   /* yellow on blue */
	}
	tb[2 * (24 * 80 + 79)] = 'Z';   /* the last cell */
	tb[2 * (24 * 80 + 79) + 1] = 0x4f;
	check(tb[0] == 'q' && tb[1] == 0x1e, "text buffer reads back");
}

static void vbe_screen(uint32_t fb_addr)
{
	vbe_w(4, 0);
	vbe_w(1, 800);
	vbe_w(2, 600);
	vbe_w(3, 32);
	vbe_w(4, 0x41);         /* enabled, linear framebuffer */
	check(vbe_r(1) == 800 && vbe_r(2) == 600 && vbe_r(3) == 32 && (vbe_r(4) & 1),
	      "VBE 800x600x32 enabled");
	volatile uint32_t *fb = phys(fb_addr);
	for (uint32_t y = 0; y < 600; y++)
		for (uint32_t x = 0; x < 800; x++)
			fb[y * 800 + x] = pattern(x, y);
	check(fb[123 * 800 + 456] == pattern(456, 123), "framebuffer reads back");
}

int main(void)
{
	test_name = "vga";
	struct pci_dev d;
	static const uint16_t ids[] = { 0x1111 };
	if (!check(pci_find(0x1234, ids, 1, &d), "PCI 1234:1111 present"))
		test_done();
	check(pci_read32(&d, 8) >> 8 == 0x030000, "class 0300 (VGA)");
	uint32_t bar0 = pci_read32(&d, 0x10);
	check((bar0 & 0xf) == 8 && (bar0 & ~0xfu), "BAR0: prefetchable memory at 0x%x", bar0 & ~0xfu);
	check(pci_read16(&d, 4) & 2, "memory decoding on");
	check(vbe_r(0) == 0xb0c5, "VBE ID 0xB0C5 (got 0x%x)", vbe_r(0));
	check(vbe_r(10) == 256, "VBE video memory: 256 x 64 KiB");
	text_screen();
	printk("text-ready\n");
	wait_go();
	vbe_screen(bar0 & ~0xfu);
	printk("vbe-ready\n");
	wait_go();
	test_done();
}
