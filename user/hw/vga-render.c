/*
 * Rendering the VGA's picture into an XRGB8888 frame (main thread).
 *
 * Which picture: the VBE linear mode when DISPI is enabled; else text
 * when the attribute controller's mode control (AR10 bit 0) says
 * alphanumeric; else 256-colour (GR5 bit 6, mode 13h) or 16-colour planar
 * graphics (mode 12h).  Sizes come from the CRTC: horizontal display end
 * (CR1), vertical display end (CR12 with CR7 bits 1 and 6), maximum scan
 * line and double scan (CR9), offset (CR13), start address (CRC/CRD).
 *
 * The registers are copied under the device lock; VRAM is read without it
 * while the guest may be writing (a real CRTC scans out the same way).
 * Every VRAM read is checked against vram_size, so a hostile mode gives a
 * black or clipped frame.
 *
 * What changed: VBE modes compare each source line with a shadow copy of
 * the VRAM bytes last drawn and convert only the lines that differ; the
 * legacy modes draw each line and compare it with the frame's.  Either
 * way dirty_y0/dirty_y1 span the lines that changed.
 */
#include <string.h>
#include "hw/vga.h"

enum vga_kind { KIND_BLANK, KIND_TEXT, KIND_PLANAR, KIND_256, KIND_VBE };

/* The registers one refresh works from. */
struct regs {
	uint8_t misc, sr[8], gr[16], ar[0x15], ar_index, cr[0x19], pel_mask;
	uint16_t vbe[VBE_NR_REGS];
	uint32_t pal[256];      /* the DAC as XRGB8888 */
};

static void snapshot(struct vga *s, struct regs *r, bool *full)
{
	pthread_mutex_lock(&s->lock);
	r->misc = s->misc;
	memcpy(r->sr, s->sr, sizeof(r->sr));
	memcpy(r->gr, s->gr, sizeof(r->gr));
	memcpy(r->ar, s->ar, sizeof(r->ar));
	memcpy(r->cr, s->cr, sizeof(r->cr));
	memcpy(r->vbe, s->vbe, sizeof(r->vbe));
	r->ar_index = s->ar_index;
	r->pel_mask = s->dac_pel_mask;
	bool dac8 = s->vbe[VBE_ENABLE] & VBE_8BIT_DAC;
	for (unsigned i = 0; i < 256; i++) {
		const uint8_t *p = &s->palette[i * 3];
		uint32_t c = 0;
		for (unsigned k = 0; k < 3; k++) {
			uint8_t v = dac8 ? p[k] : (uint8_t)((p[k] & 0x3f) << 2 | (p[k] & 0x3f) >> 4);
			c = c << 8 | v;
		}
		r->pal[i] = c;
	}
	*full = s->full_redraw;
	s->full_redraw = false;
	pthread_mutex_unlock(&s->lock);
}

/* ---- geometry from the CRTC ---- */

static unsigned vde_lines(const struct regs *r)
{
	return (r->cr[0x12] | (r->cr[7] & 0x02) << 7 | (r->cr[7] & 0x40) << 3) + 1;
}

static uint64_t start_byte(const struct regs *r)
{
	return (uint64_t)(r->cr[0x0c] << 8 | r->cr[0x0d]) * 4;
}

static uint64_t line_bytes(const struct regs *r)
{
	return (uint64_t)r->cr[0x13] * 8;
}

/* Text geometry: cell width and height, columns, rows (clamped to the
 * frame and the text buffer). */
struct text_geom {
	unsigned cw, ch, cols, rows;
};

static struct text_geom text_geometry(const struct regs *r)
{
	struct text_geom g;
	g.cw = (r->sr[1] & 1) ? 8 : 9;
	g.ch = (r->cr[9] & 0x1f) + 1;
	g.cols = r->cr[1] + 1u;
	unsigned lines = vde_lines(r) >> ((r->cr[9] & 0x80) ? 1 : 0);
	g.rows = lines / g.ch;
	if (g.rows > 128)
		g.rows = 128;
	if (g.rows * g.ch > VGA_MAX_HEIGHT)
		g.rows = VGA_MAX_HEIGHT / g.ch;
	return g;
}

static enum vga_kind mode_kind(const struct vga *s, const struct regs *r)
{
	if (r->vbe[VBE_ENABLE] & VBE_ENABLED)
		return KIND_VBE;
	if (s->no_legacy)
		return KIND_BLANK;
	if (!(r->ar_index & 0x20) || (r->sr[1] & 0x20))
		return KIND_BLANK;      /* palette being programmed, screen off */
	if (!(r->ar[0x10] & 1))
		return KIND_TEXT;
	return (r->gr[5] & 0x40) ? KIND_256 : KIND_PLANAR;
}

static void mode_size(const struct regs *r, enum vga_kind k, uint32_t *w, uint32_t *h)
{
	unsigned scan = ((r->cr[9] & 0x1f) + 1) << ((r->cr[9] & 0x80) ? 1 : 0);
	switch (k) {
	case KIND_VBE:
		*w = r->vbe[VBE_XRES];
		*h = r->vbe[VBE_YRES];
		break;
	case KIND_TEXT: {
		struct text_geom g = text_geometry(r);
		*w = g.cols * g.cw;
		*h = g.rows * g.ch;
		break;
	}
	case KIND_PLANAR:
	case KIND_256:
		*w = (r->cr[1] + 1u) * 8;
		if (k == KIND_256 || (r->sr[1] & 0x08))
			*w /= 2;        /* 256 colours: 2 dots a pixel; dot clock / 2 */
		*h = vde_lines(r) / scan;
		break;
	default:
		*w = *h = 0;
	}
	if (*w > VGA_MAX_WIDTH)
		*w = VGA_MAX_WIDTH;
	if (*h > VGA_MAX_HEIGHT)
		*h = VGA_MAX_HEIGHT;
	if (!*w || !*h)
		*w = *h = 0;
}

/* A 16-colour index through the attribute controller to a DAC index. */
static uint8_t ar_colour(const struct regs *r, unsigned idx)
{
	uint8_t v = r->ar[idx & 0xf];
	if (r->ar[0x10] & 0x80)
		v = (v & 0xf) | (r->ar[0x14] & 3) << 4;
	else
		v &= 0x3f;
	return (v | (r->ar[0x14] & 0x0c) << 4) & r->pel_mask;
}

static uint8_t vram_at(const struct vga *s, uint64_t i)
{
	return i < s->vram_size ? s->vram[i] : 0;
}

/* ---- the legacy modes: one line at a time into s->line ---- */

static void draw_planar_line(const struct vga *s, const struct regs *r, unsigned y,
			     uint32_t w, uint32_t *out)
{
	uint64_t base = start_byte(r) + y * line_bytes(r);
	bool half = r->sr[1] & 0x08;
	for (uint32_t x = 0; x < w; x++) {
		uint32_t sx = half ? x * 2 : x;
		uint64_t off = base + (sx >> 3) * 4;
		unsigned bit = 7 - (sx & 7), idx = 0;
		for (unsigned p = 0; p < 4; p++)
			idx |= ((vram_at(s, off + p) >> bit) & 1) << p;
		out[x] = r->pal[ar_colour(r, idx & r->ar[0x12] & 0xf)];
	}
}

static void draw_256_line(const struct vga *s, const struct regs *r, unsigned y,
			  uint32_t w, uint32_t *out)
{
	uint64_t base = start_byte(r) + y * line_bytes(r);
	for (uint32_t x = 0; x < w; x++)
		out[x] = r->pal[vram_at(s, base + x) & r->pel_mask];
}

static uint64_t font_base(const struct regs *r, bool map_a)
{
	unsigned v = map_a ? ((r->sr[3] >> 3) & 4) | ((r->sr[3] >> 2) & 3)
			   : ((r->sr[3] >> 2) & 4) | (r->sr[3] & 3);
	return (uint64_t)((v & 3) * 16384 + (v >> 2) * 8192);
}

/* One scan line of text: line l of row y's cells. */
static void draw_text_line(const struct vga *s, const struct regs *r, struct text_geom g,
			   unsigned y, uint64_t refreshes, uint32_t *out)
{
	unsigned row = y / g.ch, l = y % g.ch;
	uint64_t cells = (uint64_t)(r->cr[0x0c] << 8 | r->cr[0x0d]);
	uint64_t stride = (uint64_t)r->cr[0x13] * 2;
	uint64_t cursor = (uint64_t)(r->cr[0x0e] << 8 | r->cr[0x0f]);
	unsigned cur_start = r->cr[0x0a] & 0x1f, cur_end = r->cr[0x0b] & 0x1f;
	bool cursor_on = !(r->cr[0x0a] & 0x20) && !((refreshes >> 3) & 1) &&
			 l >= cur_start && l <= cur_end;
	bool blink_off = (refreshes >> 4) & 1;
	for (unsigned c = 0; c < g.cols; c++) {
		uint64_t cell = cells + row * stride + c;
		uint8_t ch = vram_at(s, cell * 4), attr = vram_at(s, cell * 4 + 1);
		unsigned fg = attr & 0xf, bg = attr >> 4;
		if (r->ar[0x10] & 0x08) {
			bg &= 7;
			if ((attr & 0x80) && blink_off)
				fg = bg;
		}
		uint64_t glyph = font_base(r, attr & 0x08) + (uint64_t)ch * 32 + l;
		unsigned bits = vram_at(s, glyph * 4 + 2);
		if (cursor_on && cell == cursor)
			bits = 0xff;
		uint32_t fgc = r->pal[ar_colour(r, fg)], bgc = r->pal[ar_colour(r, bg)];
		uint32_t *o = out + c * g.cw;
		for (unsigned x = 0; x < 8; x++)
			o[x] = (bits & (0x80 >> x)) ? fgc : bgc;
		if (g.cw == 9) /* line graphics: C0-DF repeat the 8th dot */
			o[8] = ((r->ar[0x10] & 0x04) && ch >= 0xc0 && ch <= 0xdf && (bits & 1)) ||
			       (cursor_on && cell == cursor) ? fgc : bgc;
	}
}

static bool draw_legacy(struct vga *s, const struct regs *r, enum vga_kind k, bool full)
{
	struct display_frame *f = &s->frame;
	struct text_geom g = text_geometry(r);
	bool any = false;
	for (uint32_t y = 0; y < f->height; y++) {
		switch (k) {
		case KIND_TEXT:
			draw_text_line(s, r, g, y, s->refreshes, s->line);
			break;
		case KIND_PLANAR:
			draw_planar_line(s, r, y, f->width, s->line);
			break;
		case KIND_256:
			draw_256_line(s, r, y, f->width, s->line);
			break;
		default:
			memset(s->line, 0, f->width * 4);
		}
		uint32_t *dst = s->pixels + (size_t)y * f->width;
		if (!full && !memcmp(dst, s->line, f->width * 4))
			continue;
		memcpy(dst, s->line, f->width * 4);
		if (!any)
			f->dirty_y0 = y;
		f->dirty_y1 = y + 1;
		any = true;
	}
	return any;
}

/* ---- VBE ---- */

static void convert_vbe_line(const struct regs *r, const uint8_t *src, uint32_t w,
			     uint32_t *out)
{
	switch (r->vbe[VBE_BPP]) {
	case 8:
		for (uint32_t x = 0; x < w; x++)
			out[x] = r->pal[src[x]];
		break;
	case 15:
	case 16:
		for (uint32_t x = 0; x < w; x++) {
			unsigned p = src[2 * x] | src[2 * x + 1] << 8;
			unsigned rr, gg, bb;
			if (r->vbe[VBE_BPP] == 15)
				rr = (p >> 10) & 31, gg = ((p >> 5) & 31) << 1, bb = p & 31;
			else
				rr = p >> 11, gg = (p >> 5) & 63, bb = p & 31;
			out[x] = (rr << 3 | rr >> 2) << 16 | (gg << 2 | gg >> 4) << 8 |
				 (bb << 3 | bb >> 2);
		}
		break;
	case 24:
		for (uint32_t x = 0; x < w; x++)
			out[x] = src[3 * x] | src[3 * x + 1] << 8 | src[3 * x + 2] << 16;
		break;
	default:
		/* B, G, R, X in memory: XRGB8888 on a little-endian host */
		memcpy(out, src, (size_t)w * 4);
		for (uint32_t x = 0; x < w; x++)
			out[x] &= 0xffffff;
	}
}

static bool draw_vbe(struct vga *s, const struct regs *r, bool full)
{
	struct display_frame *f = &s->frame;
	unsigned bpp = r->vbe[VBE_BPP], bytes = (bpp + 7) / 8;
	uint64_t stride = (uint64_t)r->vbe[VBE_VIRT_WIDTH] * bytes;
	uint64_t start = (uint64_t)r->vbe[VBE_Y_OFFSET] * stride + (uint64_t)r->vbe[VBE_X_OFFSET] * bytes;
	uint64_t len = (uint64_t)f->width * bytes;
	bool ok_mode = bpp >= 8 && bytes <= 4 && r->vbe[VBE_VIRT_WIDTH] >= f->width;
	bool any = false;
	for (uint32_t y = 0; y < f->height; y++) {
		uint64_t off = start + y * stride;
		uint32_t *dst = s->pixels + (size_t)y * f->width;
		if (!ok_mode || off + len > s->vram_size) {
			/* outside VRAM: black */
			if (!full && dst[0] == 0 && !memcmp(dst, dst + 1, (f->width - 1) * 4))
				continue;
			memset(dst, 0, f->width * 4);
		} else {
			const uint8_t *src = s->vram + off;
			if (!full && !memcmp(src, s->shadow + off, len))
				continue;
			memcpy(s->shadow + off, src, len);
			convert_vbe_line(r, s->shadow + off, f->width, dst);
		}
		if (!any)
			f->dirty_y0 = y;
		f->dirty_y1 = y + 1;
		any = true;
	}
	return any;
}

const struct display_frame *vga_render(struct vga *s)
{
	struct regs r;
	bool full;
	snapshot(s, &r, &full);
	s->refreshes++;
	enum vga_kind k = mode_kind(s, &r);
	uint32_t w, h;
	mode_size(&r, k, &w, &h);
	struct display_frame *f = &s->frame;
	uint64_t key = (uint64_t)k << 48 | (uint64_t)w << 24 | h |
		       (k == KIND_VBE ? (uint64_t)r.vbe[VBE_BPP] << 56 : 0);
	if (key != s->mode_key || f->pixels == NULL) {
		s->mode_key = key;
		f->width = w;
		f->height = h;
		f->stride = w * 4;
		f->pixels = s->pixels;
		f->mode_generation++;
		full = true;
	}
	f->dirty_y0 = f->dirty_y1 = 0;
	if (k == KIND_VBE)
		draw_vbe(s, &r, full);
	else
		draw_legacy(s, &r, k, full);
	return f;
}

bool vga_text(struct vga *s, struct display_text *out)
{
	struct regs r;
	bool full;
	snapshot(s, &r, &full);
	pthread_mutex_lock(&s->lock);
	s->full_redraw |= full;         /* a peek must not eat a redraw */
	pthread_mutex_unlock(&s->lock);
	if (mode_kind(s, &r) != KIND_TEXT)
		return false;
	struct text_geom g = text_geometry(&r);
	uint64_t cells = (uint64_t)(r.cr[0x0c] << 8 | r.cr[0x0d]);
	uint64_t stride = (uint64_t)r.cr[0x13] * 2;
	for (unsigned y = 0; y < g.rows; y++)
		for (unsigned x = 0; x < g.cols; x++)
			s->text.chars[y * g.cols + x] = vram_at(s, (cells + y * stride + x) * 4);
	uint64_t cursor = (uint64_t)(r.cr[0x0e] << 8 | r.cr[0x0f]);
	out->cols = g.cols;
	out->rows = g.rows;
	out->chars = s->text.chars;
	out->cursor_visible = false;
	out->cursor_col = out->cursor_row = 0;
	if (cursor >= cells && stride) {
		uint64_t rel = cursor - cells;
		if (rel / stride < g.rows && rel % stride < g.cols) {
			out->cursor_row = rel / stride;
			out->cursor_col = rel % stride;
			out->cursor_visible = !(r.cr[0x0a] & 0x20);
		}
	}
	return true;
}
