/*
 * The register operands that decide where a gather or a masked move
 * goes: the VSIB index vector of VPGATHERDD ... VGATHERQPD, whose
 * elements each name an address (SDM Vol. 2, 2.3.12), and the mask
 * register (VEX.vvvv) of the gathers and of VMASKMOV/VPMASKMOV, whose
 * element sign bits say which elements are accessed.  gen.c picks the
 * encoding; this file picks the values, after everything else was drawn,
 * and holds the rule main.c compares a faulting gather by.
 */
#include <string.h>
#include "difftest.h"

static unsigned rnd(unsigned n)
{
	return n ? dt_rand() % n : 0;
}

/* Bytes 0-31 of YMM register r, through the case's two halves. */
static void ymm_read(const struct dt_case *c, unsigned r, uint8_t out[32])
{
	memcpy(out, c->in.fx + FX_XMM(r), 16);
	memcpy(out + 16, c->in.ymmh[r], 16);
}

static void ymm_write(struct dt_case *c, unsigned r, const uint8_t v[32])
{
	memcpy(c->in.fx + FX_XMM(r), v, 16);
	if (dt_native_avx)
		memcpy(c->in.ymmh[r], v + 16, 16);
}

/*
 * The sign bits of the elements of mask register r: all set, none, a
 * single one, or random (the other bits keep their random values).  The
 * upper half is set too: a 128-bit form must ignore it (masked moves)
 * or zero it (gathers).
 */
void dt_mask_pattern(struct dt_case *c, unsigned r, unsigned size, bool random, unsigned combo)
{
	uint8_t v[32];
	unsigned n = 32 / size, pat = random ? rnd(8) : combo % 4, one = rnd(n);

	ymm_read(c, r, v);
	for (unsigned k = 0; k < n; k++) {
		uint8_t *msb = &v[k * size + size - 1];
		bool set = pat == 0 || (pat == 2 && k == one) || (pat >= 3 && dt_rand() & 1);

		*msb = (uint8_t)((*msb & 0x7f) | (set ? 0x80 : 0));
	}
	ymm_write(c, r, v);
}

/*
 * Where element k goes: mostly inside the data pages (naturally aligned
 * three times in four), in random cases sometimes across the end of the
 * data pages into the guard page, wholly in a guard page, at the
 * previous element's address, or (64-bit indexes, 64-bit addressing)
 * non-canonical.
 */
static uint64_t element_target(const struct dt_vsib *v, unsigned dsize, unsigned isize,
			       uint64_t prev, unsigned k)
{
	uint64_t t = DT_DATA_BASE + rnd(DT_DATA_SIZE - dsize + 1);
	unsigned r = v->random ? rnd(100) : 0;

	if (r < 75)
		t &= ~(uint64_t)(dsize - 1);
	if (r >= 80 && r < 85)
		t = DT_DATA_BASE + DT_DATA_SIZE - 1 - rnd(dsize - 1);
	else if (r >= 85 && r < 88)
		t = DT_DATA_BASE - dsize * (1 + rnd(4));
	else if (r >= 88 && r < 90)
		t = DT_DATA_BASE + DT_DATA_SIZE + rnd(64);
	else if (r >= 90 && r < 95 && k)
		t = prev;
	else if (r >= 98 && isize == 8 && v->asz == 8)
		t = 0x8000000000000000ULL + (dt_rand() & 0xffff);
	return t;
}

void dt_vsib_fill(struct dt_case *c, const struct dt_vsib *v)
{
	unsigned dsize = v->w ? 8 : 4, isize = c->d->op[2] & 1 ? 8 : 4;
	unsigned big = dsize > isize ? dsize : isize, n = (v->l ? 32 : 16) / big;
	uint64_t amask = v->asz == 4 ? 0xffffffffULL : ~0ULL, prev = 0;
	uint8_t x[32];

	for (unsigned k = 0; k < 32; k++)
		x[k] = (uint8_t)dt_rand();
	for (unsigned k = 0; k < n; k++) {
		uint64_t t = element_target(v, dsize, isize, prev, k);
		/* index << scale reaches t from the anchor, rounded down */
		int64_t idx = (int64_t)(t - v->anchor) >> v->scale;

		if (isize == 4 && idx != (int32_t)idx)
			idx = 0;
		if (isize == 8 && v->asz == 4 && dt_rand() & 1)
			idx += (int64_t)(dt_rand() << 32); /* dropped by the wrap */
		memcpy(x + k * isize, &idx, isize);
		c->vsib.addr[k] = (v->anchor + ((uint64_t)idx << v->scale)) & amask;
		prev = t;
	}
	ymm_write(c, v->index, x);
	dt_mask_pattern(c, v->mask, dsize, v->random, v->combo);
	c->vsib.on = true;
	c->vsib.dest = v->dest;
	c->vsib.mask = v->mask;
	c->vsib.n = n;
	c->vsib.dsize = dsize;
}

/* Element k (size bytes) of a YMM register kept as its low half (an
 * FXSAVE XMM slot) and its high half. */
static const uint8_t *elem(const uint8_t *lo, const uint8_t *hi, unsigned k, unsigned size)
{
	unsigned off = k * size;

	return off < 16 ? lo + off : hi + off - 16;
}

#define RES_ELEM(r, reg, k, sz) elem((r)->cpu.fx + FX_XMM(reg), (r)->cpu.ymmh[reg], k, sz)
#define IN_ELEM(c, reg, k, sz) elem((c)->in.fx + FX_XMM(reg), (c)->in.ymmh[reg], k, sz)

static bool all_zero(const uint8_t *p, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		if (p[k])
			return false;
	return true;
}

/*
 * A gather that faults (SDM Vol. 2, "VPGATHERDD/VPGATHERQD": faults are
 * delivered right to left): every element below the faulting one is
 * done, those above may or may not be.  TCG does none above its faulting
 * element, the lowest whose mask element it left non-zero.  Where the
 * host did one above it (mask element zero, destination element what
 * memory holds, or as it was when masked off) and TCG left it as it was,
 * n gets TCG's state for it; everything else is compared as usual.
 */
void dt_vsib_relax(const struct dt_case *c, struct dt_result *n, const struct dt_result *t)
{
	unsigned sz = c->vsib.dsize, mr = c->vsib.mask, dr = c->vsib.dest, p = 0;

	while (p < c->vsib.n && all_zero(RES_ELEM(t, mr, p, sz), sz))
		p++;
	for (unsigned k = p + 1; k < c->vsib.n; k++) {
		const uint8_t *im = IN_ELEM(c, mr, k, sz), *id = IN_ELEM(c, dr, k, sz);
		uint8_t *nm = (uint8_t *)RES_ELEM(n, mr, k, sz), *nd = (uint8_t *)RES_ELEM(n, dr, k, sz);
		uint64_t off = c->vsib.addr[k] - DT_DATA_BASE;
		const uint8_t *want = id;

		if (memcmp(RES_ELEM(t, mr, k, sz), im, sz) || memcmp(RES_ELEM(t, dr, k, sz), id, sz) ||
		    !all_zero(nm, sz))
			continue;
		if (im[sz - 1] & 0x80) {
			if (off > DT_DATA_SIZE - sz)
				continue;
			want = c->data + off;
		}
		if (memcmp(nd, want, sz))
			continue;
		memcpy(nm, im, sz);
		memcpy(nd, id, sz);
	}
}
