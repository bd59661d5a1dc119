/*
 * Test-case generation: encode one instruction of a table entry with
 * chosen prefixes, registers and addressing form, and choose the initial
 * state so that every memory operand lands where we want it (normally in
 * the data pages, sometimes across into a guard page or non-canonical).
 */
#include <stdio.h>
#include <string.h>
#include "difftest.h"

/* ------------------------------------------------------------------ */
/* Random numbers (splitmix64: reproducible from the seed) */

static uint64_t rng;

void dt_seed(uint64_t seed)
{
	rng = seed;
}

uint64_t dt_rand(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rnd(unsigned n)
{
	return n ? dt_rand() % n : 0;
}

static bool chance(unsigned percent)
{
	return rnd(100) < percent;
}

/* ------------------------------------------------------------------ */
/* Edge values */

static uint64_t mask_of(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

#define N_INT 9
static uint64_t int_edge(unsigned size, unsigned k)
{
	uint64_t m = mask_of(size), sign = (m >> 1) + 1;

	switch (k % N_INT) {
	case 0: return 0;
	case 1: return 1;
	case 2: return 2;
	case 3: return m;
	case 4: return sign;
	case 5: return sign - 1;
	case 6: return sign + 1;
	case 7: return m - 1;
	default: return dt_rand() & m;
	}
}

/* A random integer: half edge values, half random bits. */
static uint64_t int_rand(unsigned size)
{
	if (chance(40))
		return int_edge(size, rnd(N_INT));
	if (chance(20))
		return (dt_rand() & 0xff) * (chance(50) ? 1 : ~0ULL);
	return dt_rand();
}

#define N_COUNT 13
static uint8_t count_edge(unsigned size, unsigned k)
{
	unsigned w = size * 8;
	static const uint8_t fixed[] = { 0, 1, 2, 31, 32, 33, 63, 64, 255 };

	k %= N_COUNT;
	if (k < 9)
		return fixed[k];
	if (k == 9)
		return w - 1;
	if (k == 10)
		return w;
	if (k == 11)
		return w + 1;
	return dt_rand();
}

static const uint32_t f32_edges[] = {
	0, 0x80000000, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40490fdb,
	0x7f7fffff, 0x00800000, 0x00000001, 0x807fffff, 0x7f800000,
	0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0x4f000000,
	0xcf000000, 0x5f000000, 0x3f000000, 0x4b000001, 0xc0200000,
};
#define N_F32 (sizeof(f32_edges) / sizeof(f32_edges[0]))
static const uint64_t f64_edges[] = {
	0, 0x8000000000000000, 0x3ff0000000000000, 0xbff0000000000000,
	0x3ff8000000000000, 0x400921fb54442d18, 0x7fefffffffffffff,
	0x0010000000000000, 0x0000000000000001, 0x800fffffffffffff,
	0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000,
	0xfff8000000000001, 0x7ff0000000000001, 0x41e0000000000000,
	0xc1e0000000000000, 0x43e0000000000000, 0x3fe0000000000000,
	0x4330000000000001, 0xc004000000000000,
};
#define N_F64 (sizeof(f64_edges) / sizeof(f64_edges[0]))

static uint32_t f32_rand(void)
{
	if (chance(40))
		return f32_edges[rnd(N_F32)];
	if (chance(15))
		return dt_rand();
	/* a normal number of moderate magnitude */
	return (uint32_t)(dt_rand() & 0x807fffff) | (uint32_t)(127 - 40 + rnd(80)) << 23;
}

static uint64_t f64_rand(void)
{
	if (chance(40))
		return f64_edges[rnd(N_F64)];
	if (chance(15))
		return dt_rand();
	return (dt_rand() & 0x800fffffffffffffULL) |
	       (uint64_t)(1023 - 70 + rnd(140)) << 52;
}

/* x87 80-bit values: mantissa, sign|exponent */
struct f80 {
	uint64_t mant;
	uint16_t se;
};
static const struct f80 f80_edges[] = {
	{ 0, 0 }, { 0, 0x8000 },
	{ 1ULL << 63, 0x3fff }, { 1ULL << 63, 0xbfff },
	{ 3ULL << 62, 0x3fff }, { 0xc90fdaa22168c235ULL, 0x4000 },
	{ ~0ULL, 0x7ffe }, { 1ULL << 63, 0x0001 }, { 0x1234, 0 },
	{ 1ULL << 63, 0x7fff }, { 1ULL << 63, 0xffff },
	{ 3ULL << 62, 0x7fff }, { 5ULL << 61, 0x7fff },
	{ 1ULL << 63, 0x3fff + 63 }, { 1ULL << 63, 0xbfff + 31 },
	{ 0xb504f333f9de6484ULL, 0x3ffe }, { 1ULL << 62, 0x3fff },
	{ 1ULL << 63, 0 },
};
#define N_F80 (sizeof(f80_edges) / sizeof(f80_edges[0]))

static struct f80 f80_rand(void)
{
	struct f80 v;

	if (chance(35))
		return f80_edges[rnd(N_F80)];
	v.mant = dt_rand() | 1ULL << 63;
	v.se = (uint16_t)(0x3fff - 70 + rnd(140)) | (chance(50) ? 0x8000 : 0);
	if (chance(10))
		v.se = dt_rand();
	return v;
}

/* ------------------------------------------------------------------ */
/* State helpers */

void dt_default_fx(uint8_t fx[512])
{
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80, mask = 0xffff;

	memset(fx, 0, 512);
	memcpy(fx + FX_FCW, &fcw, 2);
	memcpy(fx + FX_MXCSR, &mxcsr, 4);
	memcpy(fx + 28, &mask, 4);
}

static uint64_t sizemask(unsigned size)
{
	return mask_of(size);
}

/* Write general register r at size with the x86 byte-register rules. */
static void set_gpr(struct dt_case *c, unsigned r, unsigned size, uint64_t v)
{
	uint64_t m = sizemask(size);

	if (size == 1 && !c->rex && r >= 4 && r < 8) {
		uint64_t *h = &c->in.regs[r - 4];

		*h = (*h & ~0xff00ULL) | (v & 0xff) << 8;
		return;
	}
	c->in.regs[r] = (c->in.regs[r] & ~m) | (v & m);
}

static uint64_t get_gpr(const struct dt_case *c, unsigned r, unsigned size)
{
	if (size == 1 && !c->rex && r >= 4 && r < 8)
		return c->in.regs[r - 4] >> 8 & 0xff;
	return c->in.regs[r] & sizemask(size);
}

static void set_mem(struct dt_case *c, uint64_t ea, const void *v, unsigned len)
{
	const uint8_t *b = v;

	for (unsigned k = 0; k < len; k++) {
		uint64_t off = ea + k - DT_DATA_BASE;

		if (off < DT_DATA_SIZE)
			c->data[off] = b[k];
	}
}

static uint64_t get_mem(const struct dt_case *c, uint64_t ea, unsigned len)
{
	uint64_t v = 0;

	for (unsigned k = 0; k < len && k < 8; k++) {
		uint64_t off = ea + k - DT_DATA_BASE;

		if (off < DT_DATA_SIZE)
			v |= (uint64_t)c->data[off] << (8 * k);
	}
	return v;
}

static void set_st(struct dt_case *c, unsigned i, struct f80 v)
{
	memcpy(c->in.fx + FX_ST(i), &v.mant, 8);
	memcpy(c->in.fx + FX_ST(i) + 8, &v.se, 2);
}

static void set_mxcsr(struct dt_case *c, uint32_t v)
{
	memcpy(c->in.fx + FX_MXCSR, &v, 4);
}

/* ------------------------------------------------------------------ */
/* Generation */

struct gen {
	struct dt_case *c;
	const struct dt_def *d;
	bool random;            /* random values, else edge combination */
	unsigned combo;
	unsigned asz;
	unsigned msz;
	bool mem;
	unsigned reg, rm;       /* register numbers (rm when !mem) */
	int base, index;        /* -1: none */
	unsigned scale;
	int disp_size;          /* 0, 1, 4 */
	int32_t disp;
	bool riprel;
	uint64_t ea;
	uint16_t reserved;      /* registers not to use for addressing */
	bool rsp_operand;       /* rSP is an operand: not a base either */
	unsigned imm_size, imm_off, disp_off;
	uint64_t imm;
	uint8_t imm2;
	unsigned vex_l, vex_w;  /* dt_def.vex: VEX.L, VEX.W */
	unsigned vvvv;          /* the register VEX.vvvv names (0: 1111b); a
				 * GPR for X_VVVV entries */
	bool bad_vex_prefix;    /* a 66/F2/F3/REX before VEX: #UD */
};

static unsigned size_count(const struct dt_def *d)
{
	return d->sizes ? __builtin_popcount(d->sizes) : 1;
}

static unsigned size_pick(const struct dt_def *d, unsigned k)
{
	if (!d->sizes)
		return d->x & (X_W | X_D64) ? 8 : 4;
	for (unsigned b = 0; b < 4; b++)
		if (d->sizes & (1u << b) && k-- == 0)
			return 1u << b;
	return 4;
}

static bool has_slot_a(const struct dt_def *d)
{
	return (d->form == F_MODRM && d->ext < 0) || d->form == F_OPREG ||
	       (d->x & X_ACC);
}

static unsigned combo_count(const struct dt_def *d)
{
	switch (d->vk) {
	case VK_INT:
		return (has_slot_a(d) && d->form != F_NONE) || d->imm != IMM_NONE ?
		       N_INT * N_INT : 3 * N_INT;
	case VK_COUNT: return N_INT * N_COUNT;
	case VK_PS: return N_F32 * N_F32;
	case VK_PD: return N_F64 * N_F64;
	case VK_X87: return d->form == F_MODRM ? N_F80 * N_F80 : 3 * N_F80;
	case VK_STR: return 64;
	default: return 8;
	}
}

unsigned dt_edge_count(const struct dt_def *d)
{
	return size_count(d) * combo_count(d);
}

static bool uses_mem(const struct dt_def *d)
{
	return d->form == F_MODRM && d->rm != RM_REG;
}

/* Register of class rc chosen at random, not in avoid. */
static unsigned pick_reg(struct gen *g, unsigned rc, uint16_t avoid)
{
	unsigned n = rc == RC_GPR || rc == RC_XMM ? 16 : 8;

	if (rc == RC_GPR && (g->d->kind == K_X87 || g->d->x & X_NOREX))
		n = 8; /* no REX prefix to reach r8-r15 */
	for (int tries = 0; tries < 64; tries++) {
		unsigned r = rnd(n);

		if (rc == RC_GPR && r == 4 && g->d->x & X_STACK)
			continue;
		if (rc != RC_GPR || !(avoid & (1u << r)))
			return r;
	}
	return 0;
}

/* The memory operand's address: usually inside the data pages and
 * naturally aligned, sometimes across an edge or non-canonical. */
static void pick_ea(struct gen *g)
{
	unsigned msz = g->msz ? g->msz : 1, al = msz >= 16 ? 16 : msz;

	if (g->d->vex && msz >= 32)
		al = 32;        /* VMOVAPS ymm and the like */
	unsigned span = msz > DT_DATA_SIZE ? 1 : DT_DATA_SIZE - msz + 1;
	unsigned r = rnd(100);

	g->ea = DT_DATA_BASE + rnd(span);
	if (!g->random || r < 75 || g->d->x & X_ALIGNED)
		g->ea &= ~(uint64_t)(al - 1);
	if (!g->random || g->d->x & X_ALIGNED)
		return;
	if (r >= 90 && r < 95 && msz > 1)
		g->ea = DT_DATA_BASE + DT_DATA_SIZE - 1 - rnd(msz - 1);
	else if (r >= 95 && r < 98)
		g->ea = DT_DATA_BASE - 1 - rnd(msz);
	else if (r >= 98 && g->asz == 8)
		g->ea = 0x8000000000000000ULL + (dt_rand() & 0xffff) +
			(chance(50) ? 0 : 0x7fff000000000000ULL);
}

static int32_t rand_disp(int size)
{
	if (size == 1)
		return (int8_t)dt_rand();
	if (chance(30))
		return (int8_t)dt_rand();
	return (int32_t)dt_rand() >> rnd(20);
}

/* Choose an addressing form and the register values that make it reach
 * g->ea.  Returns the modrm mod and rm fields and the SIB byte. */
static void pick_addressing(struct gen *g)
{
	struct dt_case *c = g->c;
	uint64_t amask = g->asz == 4 ? 0xffffffffULL : ~0ULL;
	bool canon = g->ea == (uint64_t)((int64_t)(g->ea << 16) >> 16);
	unsigned form = rnd(9);
	uint16_t avoid = g->reserved;

	if (!canon)
		form = rnd(4) + 1; /* needs a base register */
	if (g->d->x & X_STACK && form == 0)
		form = 1;
	g->base = g->index = -1;
	g->scale = 0;
	g->disp = 0;
	g->disp_size = 0;
	g->riprel = false;
	if (form == 6) {
		g->riprel = true;
		g->disp_size = 4;
		return; /* disp patched once the length is known */
	}
	if (form == 7) {
		g->disp_size = 4;
		g->disp = (int32_t)g->ea;
		return;
	}
	if (form == 3 || form == 4 || form == 5 || form == 8) {
		g->index = pick_reg(g, RC_GPR, avoid | 1u << 4);
		avoid |= 1u << g->index;
		g->scale = rnd(4);
	}
	if (form != 5) {
		/* rSP as a base keeps its value in the data pages */
		if (!(g->d->x & (X_STACK | X_CALL)) && !g->rsp_operand && chance(10))
			g->base = 4;
		else
			g->base = pick_reg(g, RC_GPR, avoid | 1u << 4);
	}
	g->disp_size = form == 1 || form == 3 ? 1 : form == 2 || form == 5 || form == 8 ? 4 : 0;
	if (g->base >= 0 && (g->base & 7) == 5 && g->disp_size == 0)
		g->disp_size = 1; /* mod 0 with rBP/r13 means no base */
	if (g->disp_size)
		g->disp = rand_disp(g->disp_size);

	uint64_t iv = 0, bv;

	if (g->index >= 0) {
		iv = chance(50) ? (uint64_t)(int64_t)(int8_t)dt_rand() : dt_rand();
		if (g->base < 0) {
			/* ea = index << scale + disp: fix disp's low bits */
			uint64_t rest = (g->ea - (uint64_t)(int64_t)g->disp) & amask;

			g->disp += rest & ((1u << g->scale) - 1);
			rest = (g->ea - (uint64_t)(int64_t)g->disp) & amask;
			iv = rest >> g->scale;
			if (g->asz == 4)
				iv = (iv & 0xffffffffULL) | (dt_rand() << 32);
			else if (g->scale && chance(50))
				iv |= dt_rand() << (64 - g->scale);
			c->in.regs[g->index] = iv;
			return;
		}
		c->in.regs[g->index] = iv;
	}
	if (g->base == 4) {
		/* rsp = a data-page address; the displacement does the rest */
		bv = DT_DATA_BASE + 0x100 + rnd(DT_DATA_SIZE - 0x200);
		int64_t d = (int64_t)((g->ea - bv - (iv << g->scale)) & amask);

		if (g->asz == 4)
			d = (int32_t)d;
		if (d != (int32_t)d || (g->disp_size == 1 && d != (int8_t)d)) {
			g->disp_size = 4;
			if (d != (int32_t)d) {
				g->index = -1;
				d = (int64_t)(g->ea - bv);
			}
		}
		g->disp = (int32_t)d;
		if (g->disp_size == 0 && d)
			g->disp_size = d == (int8_t)d ? 1 : 4;
		if (g->index >= 0)
			c->in.regs[g->index] = iv;
		if ((g->ea - bv - (g->index >= 0 ? iv << g->scale : 0) -
		     (uint64_t)(int64_t)g->disp) & amask) {
			/* cannot reach it from the stack: plain base form */
			g->base = pick_reg(g, RC_GPR, avoid | 1u << 4);
		} else {
			c->in.regs[4] = bv;
			return;
		}
	}
	bv = g->ea - (uint64_t)(int64_t)g->disp - (g->index >= 0 ? iv << g->scale : 0);
	if (g->asz == 4)
		bv = (bv & 0xffffffffULL) | (dt_rand() << 32);
	c->in.regs[g->base] = bv;
}

/*
 * A gather's VSIB operand (SDM Vol. 2, 2.3.12): a SIB byte whose index
 * names a vector register (VEX.X its bit 3), the base a GPR or none (mod
 * 00, base 101b: disp32).  g->ea is the anchor, the address of index 0;
 * dt_vsib_fill (gen-vsib.c) gives the index vector its elements later.
 * Random cases sometimes break a #UD rule: no SIB byte (RIP-relative),
 * or the destination, mask and index not all different.
 */
static void pick_vsib(struct gen *g)
{
	struct dt_case *c = g->c;
	unsigned r = g->random ? rnd(100) : 99;

	g->riprel = false;
	g->scale = rnd(4);
	g->disp_size = "\0\1\4"[rnd(3)];
	g->disp = g->disp_size ? rand_disp(g->disp_size) : 0;
	g->ea = DT_DATA_BASE + (rnd(DT_DATA_SIZE) & ~(uint64_t)(chance(75) ? 7 : 0));
	if (r < 3) {
		g->riprel = true;
		g->disp_size = 4;
		g->base = g->index = -1;
		return;
	}
	g->index = pick_reg(g, RC_XMM, 0);
	for (int tries = 0; tries < 64 && (g->index == (int)g->reg || g->index == (int)g->vvvv); tries++)
		g->index = pick_reg(g, RC_XMM, 0);
	if (r < 5)
		g->index = (int)g->reg;
	else if (r < 7)
		g->index = (int)g->vvvv;
	else if (r < 9)
		g->vvvv = g->reg;
	if (chance(15)) {
		g->base = -1;
		g->disp_size = 4;
		g->disp = (int32_t)g->ea;
		return;
	}
	g->base = pick_reg(g, RC_GPR, g->reserved);
	if ((g->base & 7) == 5 && g->disp_size == 0)
		g->disp_size = 1; /* mod 0 with rBP/r13 means no base */
	uint64_t bv = g->ea - (uint64_t)(int64_t)g->disp;

	if (g->asz == 4)
		bv = (bv & 0xffffffffULL) | (dt_rand() << 32);
	c->in.regs[g->base] = bv;
}

static void emit(struct dt_case *c, const void *p, unsigned n)
{
	if (c->len + n <= sizeof(c->code)) {
		memcpy(c->code + c->len, p, n);
		c->len += n;
	}
}

static void emit8(struct dt_case *c, uint8_t b)
{
	emit(c, &b, 1);
}

static unsigned imm_bytes(const struct dt_def *d, unsigned osz)
{
	switch (d->imm) {
	case IMM_8: case IMM_REL8: return 1;
	case IMM_16: return 2;
	case IMM_Z: return osz == 2 ? 2 : osz == 1 ? 1 : 4;
	case IMM_V: return osz;
	case IMM_REL32: return 4;
	case IMM_16_8: return 3;
	default: return 0;
	}
}

/*
 * The VEX prefix and the opcode byte (SDM Vol. 2, 2.3.5-2.3.6): R, X, B
 * and W from rex, the map from the entry's escape bytes, pp from its
 * mandatory prefix.  The two-byte form C5 when it can say everything,
 * most of the time; a 66, F2, F3 or REX before it sometimes (#UD).
 */
static void emit_vex(struct gen *g, uint8_t rex)
{
	struct dt_case *c = g->c;
	const struct dt_def *d = g->d;
	unsigned map = d->nop == 3 && d->op[1] == 0x38 ? 2 : d->nop == 3 && d->op[1] == 0x3a ? 3 : 1;
	unsigned pp = d->pfx == 0x66 ? 1 : d->pfx == 0xf3 ? 2 : d->pfx == 0xf2 ? 3 : 0;
	unsigned r = rex >> 2 & 1, x = rex >> 1 & 1, b = rex & 1, w = g->vex_w;
	unsigned tail = (~g->vvvv & 15) << 3 | g->vex_l << 2 | pp;

	if (!g->mem && chance(20))
		x = 1;          /* no index: VEX.X ignored */
	if (g->bad_vex_prefix)
		emit8(c, "\x66\xf2\xf3\x40\x48"[rnd(5)]);
	if (!x && !b && !w && map == 1 && chance(70)) {
		emit8(c, 0xc5);
		emit8(c, (!r) << 7 | tail);
	} else {
		emit8(c, 0xc4);
		emit8(c, (!r) << 7 | (!x) << 6 | (!b) << 5 | map);
		emit8(c, w << 7 | tail);
	}
	emit8(c, d->op[d->nop - 1]);
	c->rex = true;  /* no AH..BH with VEX */
}

/* X_VEX entries (VEX-encoded GPR instructions): the three-byte VEX prefix (SDM Vol. 2, 2.3.5) in place of the
 * mandatory prefix, REX and the 0F 38 / 0F 3A escape: R X B inverted,
 * the map, W, vvvv inverted, L, pp. */
static void emit_vex_gpr(struct gen *g, uint8_t rex)
{
	struct dt_case *c = g->c;
	const struct dt_def *d = g->d;
	unsigned pp = d->pfx == 0x66 ? 1 : d->pfx == 0xf3 ? 2 : d->pfx == 0xf2 ? 3 : 0;
	unsigned vvvv = d->x & X_VVVV ? g->vvvv : 0;
	unsigned map = d->op[1] == 0x3a ? 3 : 2;

	emit8(c, 0xc4);
	emit8(c, (uint8_t)((~rex & 7) << 5 | map));
	emit8(c, (uint8_t)((rex & 8) << 4 | (~vvvv & 15) << 3 | (d->x & X_VEXL ? 4 : 0) | pp));
	emit8(c, d->op[2]);
}

/* Prefixes, REX, opcode, ModRM/SIB/displacement, immediate. */
static void encode(struct gen *g)
{
	struct dt_case *c = g->c;
	const struct dt_def *d = g->d;
	uint8_t rex = 0x40;
	bool x87 = d->kind == K_X87;
	bool vex = d->x & X_VEX;

	c->len = 0;
	if (!x87 && !(d->x & X_NOSEG) && chance(4))
		emit8(c, "\x2e\x3e\x26\x36"[rnd(4)]); /* ignored in 64-bit mode */
	if (d->x & X_LOCK && g->mem && chance(30))
		emit8(c, 0xf0);
	if (d->x & X_REP && chance(70))
		emit8(c, (d->x & X_NOREP) ? 0xf3 : (chance(50) ? 0xf3 : 0xf2));
	if (c->osz == 2 && d->kind == K_INT && d->sizes != SZ8)
		emit8(c, 0x66);
	if (g->asz == 4)
		emit8(c, 0x67);
	if (d->pfx && !vex && !d->vex)
		emit8(c, d->pfx);
	if (c->osz == 8 && (d->sizes & SZ64 || d->x & X_W))
		rex |= 8;
	if (d->x & X_D64 && chance(30))
		rex |= 8;
	if (d->form == F_MODRM) {
		if (d->ext < 0 && g->reg & 8)
			rex |= 4;
		if (g->mem) {
			if (g->index >= 0 && g->index & 8)
				rex |= 2;
			if (g->base >= 0 && g->base & 8)
				rex |= 1;
			if ((g->base < 0 || g->riprel) && chance(20))
				rex |= 1; /* no base: REX.B ignored */
		} else if (g->rm & 8) {
			rex |= 1;
		}
	} else if (d->form == F_OPREG && g->reg & 8) {
		rex |= 1;
	}
	if (vex) {
		c->rex = false;
		emit_vex_gpr(g, rex);
	} else if (d->vex) {
		emit_vex(g, rex);
	} else {
		/* REX.R/B on MMX and x87 registers are ignored */
		if (!x87 && !(d->x & X_NOREX) && (rex != 0x40 || c->rex))
			emit8(c, rex);
		c->rex = !x87 && !(d->x & X_NOREX) && (rex != 0x40 || c->rex);
		emit(c, d->op, d->nop);
	}
	if (d->form == F_OPREG)
		c->code[c->len - 1] |= g->reg & 7;
	if (d->form == F_MODRM) {
		unsigned regf = d->ext >= 0 ? (unsigned)d->ext : g->reg & 7;

		if (!g->mem) {
			emit8(c, 0xc0 | regf << 3 | (g->rm & 7));
		} else if (g->riprel) {
			emit8(c, regf << 3 | 5);
			g->disp_off = c->len;
			emit(c, "\0\0\0\0", 4);
		} else {
			unsigned mod = g->disp_size == 1 ? 1 : g->disp_size == 4 && g->base >= 0 ? 2 : 0;
			bool sib = g->index >= 0 || g->base < 0 || (g->base & 7) == 4;

			if (!sib) {
				emit8(c, mod << 6 | regf << 3 | (g->base & 7));
			} else {
				emit8(c, mod << 6 | regf << 3 | 4);
				emit8(c, g->scale << 6 | (g->index >= 0 ? (g->index & 7) : 4) << 3 |
					 (g->base >= 0 ? (g->base & 7) : 5));
			}
			g->disp_off = c->len;
			if (g->disp_size == 1)
				emit8(c, (uint8_t)g->disp);
			else if (g->disp_size == 4)
				emit(c, &g->disp, 4);
		}
	}
	g->imm_off = c->len;
	g->imm_size = imm_bytes(d, c->osz);
	if (d->x & X_MOFFS)
		g->imm_size = g->asz;
	emit(c, &g->imm, g->imm_size);
	if (g->riprel) {
		int32_t disp = (int32_t)(g->ea - (DT_INSN_ADDR + c->len));

		memcpy(c->code + g->disp_off, &disp, 4);
	}
}

static void set_imm(struct gen *g, uint64_t v)
{
	g->imm = v;
	memcpy(g->c->code + g->imm_off, &v, g->imm_size);
}

/* A vector value of kind vk for an XMM/MMX operand (16 bytes). */
static void vec_value(const struct gen *g, uint8_t out[16], int edge)
{
	unsigned vk = g->d->vk;

	if (vk == VK_PS) {
		uint32_t f[4];

		for (int k = 0; k < 4; k++)
			f[k] = f32_rand();
		if (edge >= 0)
			f[0] = f32_edges[edge % N_F32];
		memcpy(out, f, 16);
	} else if (vk == VK_PD) {
		uint64_t f[2] = { f64_rand(), f64_rand() };

		if (edge >= 0)
			f[0] = f64_edges[edge % N_F64];
		memcpy(out, f, 16);
	} else if (vk == VK_STR) {
		static const uint8_t alpha[] = { 'a', 'b', 'c', 'z', 0x80, 0xff, '0', 'A' };

		for (int k = 0; k < 16; k++)
			out[k] = chance(15) ? dt_rand() : alpha[rnd(chance(50) ? 3 : 8)];
		if (chance(50))
			out[rnd(16)] = 0;
	} else {
		unsigned w = 1u << rnd(4);

		for (unsigned k = 0; k < 16; k += w) {
			uint64_t v = g->random ? int_rand(w) : int_edge(w, rnd(N_INT));

			memcpy(out + k, &v, w);
		}
	}
}

static void set_vec_reg(struct dt_case *c, unsigned rc, unsigned r, const uint8_t v[16])
{
	if (rc == RC_XMM) {
		memcpy(c->in.fx + FX_XMM(r), v, 16);
	} else {
		/* MMX register r is R[r]; TOP is 0 for MMX cases */
		memcpy(c->in.fx + FX_ST(r & 7), v, 8);
		c->in.fx[FX_ST(r & 7) + 8] = 0xff;
		c->in.fx[FX_ST(r & 7) + 9] = 0xff;
	}
}

static void x87_mem_value(struct gen *g, int edge)
{
	uint8_t b[10];
	uint64_t v;
	struct f80 e;

	switch (g->d->mfmt) {
	case MF_F32: {
		uint32_t f = edge >= 0 ? f32_edges[edge % N_F32] : f32_rand();

		set_mem(g->c, g->ea, &f, 4);
		return;
	}
	case MF_F64:
		v = edge >= 0 ? f64_edges[edge % N_F64] : f64_rand();
		set_mem(g->c, g->ea, &v, 8);
		return;
	case MF_F80:
		e = edge >= 0 ? f80_edges[edge % N_F80] : f80_rand();
		memcpy(b, &e.mant, 8);
		memcpy(b + 8, &e.se, 2);
		set_mem(g->c, g->ea, b, 10);
		return;
	case MF_I16: case MF_I32: case MF_I64: {
		unsigned s = g->d->mfmt == MF_I16 ? 2 : g->d->mfmt == MF_I32 ? 4 : 8;

		v = edge >= 0 ? int_edge(s, edge) : int_rand(s);
		set_mem(g->c, g->ea, &v, s);
		return;
	}
	case MF_BCD:
		for (int k = 0; k < 9; k++)
			b[k] = rnd(10) | rnd(10) << 4;
		b[9] = chance(50) ? 0x80 : 0;
		if (chance(10))
			b[rnd(9)] = dt_rand();
		set_mem(g->c, g->ea, b, 10);
		return;
	default:
		return;
	}
}

/* x87 stack: TOP, which registers hold values, the values. */
static void x87_state(struct gen *g, int ea, int eb)
{
	struct dt_case *c = g->c;
	unsigned top = rnd(8), nvalid = 2 + rnd(7);
	uint16_t fcw = 0x37f, fsw;
	uint8_t tags = 0;

	if (nvalid > 8 || (g->random && chance(8)))
		nvalid = g->random ? rnd(9) : 8;
	for (unsigned i = 0; i < 8; i++) {
		struct f80 v = f80_rand();

		if (i == 0 && ea >= 0)
			v = f80_edges[ea % N_F80];
		if (i == g->rm && g->d->rc_rm == RC_X87 && !g->mem && eb >= 0 && i)
			v = f80_edges[eb % N_F80];
		set_st(c, i, v);
		if (i < nvalid)
			tags |= 1u << ((top + i) & 7);
	}
	if (g->random && chance(30))
		fcw = 0x7f | (rnd(4) << 8) | (rnd(4) << 10);
	fsw = top << 11 | (dt_rand() & 0x4700);
	if (g->random && chance(20))
		fsw |= dt_rand() & 0x3f & fcw;
	memcpy(c->in.fx + FX_FCW, &fcw, 2);
	memcpy(c->in.fx + FX_FSW, &fsw, 2);
	c->in.fx[FX_FTW] = tags;
	c->x87 = true;
}

static uint64_t data_ptr(unsigned room_lo, unsigned room_hi)
{
	unsigned span = DT_DATA_SIZE - room_lo - room_hi;

	return DT_DATA_BASE + room_lo + rnd(span ? span : 1);
}

static void fill_random_state(struct gen *g)
{
	struct dt_case *c = g->c;
	uint64_t *w = (uint64_t *)c->data;

	for (unsigned k = 0; k < DT_DATA_SIZE / 8; k++)
		w[k] = dt_rand();
	for (int r = 0; r < 16; r++)
		c->in.regs[r] = int_rand(8);
	c->in.regs[4] = data_ptr(0x100, 0x100) & ~7ULL;
	c->in.rflags = 0x202 | (dt_rand() & 0xcd5);
	dt_default_fx(c->in.fx);
	if (g->d->kind == K_SSE || g->d->kind == K_MMX) {
		for (int r = 0; r < 16; r++) {
			uint8_t v[16];

			vec_value(g, v, -1);
			memcpy(c->in.fx + FX_XMM(r), v, 16);
		}
		for (int r = 0; r < 8; r++) {
			uint8_t v[16];

			vec_value(g, v, -1);
			set_vec_reg(c, RC_MMX, r, v);
		}
		c->in.fx[FX_FTW] = chance(50) ? 0xff : 0;
		if (g->random && chance(30)) {
			uint32_t mx = 0x1f80 | rnd(4) << 13;

			if (chance(20))
				mx |= 0x8040 & dt_rand(); /* FTZ, DAZ */
			if (chance(10))
				mx |= dt_rand() & 0x3f;
			if (chance(4))
				mx &= ~(0x80u << rnd(6)); /* unmask one: #XM */
			set_mxcsr(c, mx);
		}
	}
}

/* Bits 255:128 of the YMM registers: random vectors for SIMD entries,
 * random bits for the others (nothing may touch them); zero where the
 * host has no AVX to hold them (drawn all the same, so a case number
 * names the same case everywhere). */
static void fill_ymmh(struct gen *g)
{
	struct dt_case *c = g->c;

	for (int r = 0; r < 16; r++) {
		uint64_t q[2] = { dt_rand(), dt_rand() };

		if (g->d->kind == K_SSE)
			vec_value(g, c->in.ymmh[r], -1);
		else
			memcpy(c->in.ymmh[r], q, 16);
	}
	if (!dt_native_avx)
		memset(c->in.ymmh, 0, sizeof(c->in.ymmh));
}

/* The instruction's implicit registers get values that keep its memory
 * accesses in the data pages. */
static void setup_string(struct gen *g)
{
	struct dt_case *c = g->c;
	unsigned e = c->osz, maxn = 24;
	uint64_t n = rnd(maxn);
	bool down = c->in.rflags & 0x400;
	uint64_t si, di;

	if (g->random && chance(5))
		n = 3000; /* runs into a guard page */
	si = data_ptr(maxn * 8 + 8, maxn * 8 + 8);
	di = data_ptr(maxn * 8 + 8, maxn * 8 + 8);
	if (!down && chance(50))
		si = data_ptr(0, DT_DATA_SIZE / 2);
	if (chance(60)) {
		si &= ~(uint64_t)(e - 1);
		di &= ~(uint64_t)(e - 1);
	}
	/* CMPS/SCAS: mostly equal data, so REPE runs on */
	if (chance(60)) {
		for (uint64_t k = 0; k < n * e && k < 256; k++) {
			uint64_t o = down ? -k : k;

			set_mem(c, di + o, &(uint8_t){ get_mem(c, si + o, 1) }, 1);
		}
		if (chance(50)) {
			uint64_t o = rnd(n * e < 256 ? n * e + 1 : 256);

			set_mem(c, down ? di - o : di + o, &(uint8_t){ dt_rand() | 1 }, 1);
		}
	}
	if (chance(40)) {
		uint64_t acc = get_mem(c, di, e);

		set_gpr(c, 0, e, acc);
		for (uint64_t k = 0; k < n && k < 32; k++) {
			int64_t o = (int64_t)(k * e);

			set_mem(c, down ? di - o : di + o, &acc, e);
		}
		if (chance(50))
			c->data[di - DT_DATA_BASE] ^= 0x10;
	}
	if (g->asz == 4) {
		si |= dt_rand() << 32;
		di |= dt_rand() << 32;
		n |= dt_rand() << 32;
	} else if (chance(3)) {
		n = 0;
	}
	c->in.regs[1] = n;
	c->in.regs[6] = si;
	c->in.regs[7] = di;
	/* A REP with a 32-bit address size and ECX = 0 does nothing the SDM
	 * defines; whether this host then clears the upper halves of rCX,
	 * rSI and rDI varies from run to run of the same encoding, so those
	 * registers are not compared in that case. */
	if (g->asz == 4 && (uint32_t)n == 0)
		c->ignore_regs |= 1u << 1 | 1u << 6 | 1u << 7;
}

/* A landing target in the code page for a taken branch. */
static uint64_t pick_target(struct gen *g, bool rel8)
{
	uint64_t next = DT_INSN_ADDR + g->c->len;

	if (rel8) {
		if (chance(50))
			return next + DT_STUB_LEN + rnd(127 - DT_STUB_LEN);
		return DT_INSN_ADDR - DT_STUB_LEN - rnd(128 - DT_STUB_LEN - g->c->len);
	}
	if (chance(50))
		return next + DT_STUB_LEN + rnd(0x800 - 2 * DT_STUB_LEN - 16);
	return DT_CODE_BASE + rnd(0x800 - DT_STUB_LEN);
}

static uint64_t noncanonical(void)
{
	return 0x0000800000000000ULL + (dt_rand() & 0x7fffffffff00ULL);
}

static void setup_branch(struct gen *g, uint64_t *b_value)
{
	struct dt_case *c = g->c;
	const struct dt_def *d = g->d;
	uint64_t t = pick_target(g, d->imm == IMM_REL8);

	c->land[1] = t;
	c->nland = 2;
	if (d->x & X_BRANCH)
		set_imm(g, t - (DT_INSN_ADDR + c->len));
	if (d->x & X_INDBR) {
		if (g->random && chance(5))
			t = noncanonical();
		*b_value = t;
	}
	if (d->x & X_RET) {
		uint64_t sp = c->in.regs[4];

		if (g->random && chance(5))
			t = noncanonical();
		set_mem(c, sp, &t, 8);
		if (d->imm == IMM_16)
			set_imm(g, chance(50) ? rnd(64) * 8 : dt_rand() & 0xffff);
	}
	if (d->x & X_LOOP) {
		static const uint64_t cx[] = { 0, 1, 2, 0x100000000ULL, 0x100000001ULL, ~0ULL };

		c->in.regs[1] = g->random && chance(30) ? dt_rand() : cx[rnd(6)];
	}
}

/* Undefined flags and registers that depend on the operands. */
static void shift_rules(struct gen *g, uint64_t b_value)
{
	struct dt_case *c = g->c;
	const struct dt_def *d = g->d;
	unsigned w = c->osz * 8, cnt;

	(void)b_value;
	if (d->x & X_CL)
		cnt = c->in.regs[1] & 0xff;
	else if (d->imm == IMM_8)
		cnt = g->imm & 0xff;
	else
		cnt = 1;
	cnt &= c->osz == 8 ? 63 : 31;
	if (d->x & X_SHLD && c->osz == 2 && cnt > 16) {
		cnt &= 15;
		if (d->x & X_CL)
			c->in.regs[1] = (c->in.regs[1] & ~0xffULL) | cnt;
		else
			set_imm(g, cnt);
	}
	if (cnt == 0)
		return;
	if (cnt != 1)
		c->undef_flags |= 0x800;        /* OF */
	if (d->x & (X_SHIFT | X_SHLD))
		c->undef_flags |= 0x10;         /* AF */
	if (d->x & X_SHIFT && cnt >= w)
		c->undef_flags |= 0x1;          /* CF */
}

/* VEX.L, W and vvvv of an entry; random cases sometimes change one
 * (the host decides what that does, #UD mostly). */
static void pick_vex(struct gen *g)
{
	const struct dt_def *d = g->d;
	bool nds = d->vex & (DV_NDS | DV_NDD) || (d->vex & DV_NDS_REG && !g->mem);

	g->vex_l = !!(d->vex & DV_L1);
	g->vex_w = !!(d->vex & DV_W1) || (g->c->osz == 8 && d->sizes & SZ64);
	g->vvvv = nds ? pick_reg(g, RC_XMM, 0) : 0;
	if (!g->random)
		return;
	if (chance(4) && !(d->vex & DV_KEEP_L))
		g->vex_l ^= 1;
	if (chance(4))
		g->vex_w ^= 1;
	if (!nds && chance(4))
		g->vvvv = 1 + rnd(15);
	g->bad_vex_prefix = chance(1);
}

bool dt_gen(struct dt_case *c, const struct dt_def *d, int edge)
{
	struct gen g = { .c = c, .d = d, .random = edge < 0, .asz = 8 };
	unsigned ns = size_count(d);
	int ea = -1, eb = -1, ec = -1;
	uint64_t a_value, b_value, c_value;

	memset(c, 0, sizeof(*c));
	c->d = d;
	if (edge >= 0) {
		if ((unsigned)edge >= dt_edge_count(d))
			return false;
		c->osz = size_pick(d, edge % ns);
		g.combo = edge / ns;
	} else {
		c->osz = size_pick(d, rnd(ns));
		g.combo = dt_rand();
	}
	fill_random_state(&g);
	g.msz = d->msize ? d->msize : c->osz;
	if ((d->x & X_CX8) && c->osz == 8)
		g.msz = 16;
	g.reserved = 1u << 4;
	if (d->x & (X_STRING | X_LOOP | X_CL))
		g.reserved |= 1u << 1;
	if (d->x & X_STRING)
		g.reserved |= 1u << 6 | 1u << 7;
	if (d->x & (X_ACC | X_CMPXCHG | X_CX8 | X_RAXRDX))
		g.reserved |= 1u << 0;
	if (d->x & (X_RDX | X_CX8 | X_RAXRDX))
		g.reserved |= 1u << 2;
	if (d->x & (X_RBX_PTR | X_CX8))
		g.reserved |= 1u << 3;
	if (d->x & X_CX8)
		g.reserved |= 1u << 1;
	if (d->x & X_RDI_PTR)
		g.reserved |= 1u << 7;
	if (d->x & (X_RBP_PTR | X_ENTER))
		g.reserved |= 1u << 5;
	if (!(d->x & X_NO67) && (uses_mem(d) || d->x & (X_STRING | X_LOOP | X_MOFFS | X_RBX_PTR)) &&
	    chance(12))
		g.asz = 4;
	if (!(d->x & X_NOREX) && d->kind != K_X87 && chance(25))
		c->rex = true; /* a REX prefix even with no bit set */

	/* operands */
	g.mem = d->form == F_MODRM &&
		(d->rm == RM_MEM || (d->rm == RM_ANY && (g.random ? chance(50) : (g.combo & 1))));
	if (d->form == F_MODRM && d->ext < 0)
		g.reg = pick_reg(&g, d->rc_reg, 0);
	else if (d->form == F_OPREG)
		g.reg = pick_reg(&g, d->rc_reg ? d->rc_reg : RC_GPR, 0);
	if (d->form == F_MODRM && !g.mem)
		g.rm = pick_reg(&g, d->rc_rm, 0);
	if (d->rc_reg == RC_GPR && d->form == F_MODRM && d->ext < 0) {
		g.rsp_operand = g.reg == 4;
		g.reserved |= 1u << g.reg;
		if (c->osz == 1 || d->msize == 1)
			g.reserved |= 1u << (g.reg & 3); /* AH..BH */
	}
	if (d->x & X_VSIB && g.random && chance(3)) {
		g.mem = false;  /* mod 11b: #UD */
		g.rm = pick_reg(&g, RC_XMM, 0);
	}
	if (d->vex)
		pick_vex(&g);
	if (g.mem && d->x & X_VSIB) {
		pick_vsib(&g);
	} else if (g.mem) {
		pick_ea(&g);
		if (d->x & X_FXSAVE || d->x & X_FXRSTOR)
			g.ea = DT_DATA_BASE + (rnd(DT_DATA_SIZE / 16 - 32) * 16) +
			       (g.random && chance(5) ? 8 : 0);
		pick_addressing(&g);
	}
	if (d->x & X_MOFFS) {
		pick_ea(&g);
		if (g.asz == 4 || g.ea >> 32)
			g.ea &= 0xffffffffULL;
		g.imm = g.ea;
	}
	if (d->x & X_ENTER)
		g.imm = (rnd(8) * 8) | (uint64_t)(chance(60) ? 0 : rnd(4)) << 16;
	if (d->imm != IMM_NONE && !(d->x & (X_MOFFS | X_ENTER)))
		g.imm = dt_rand();
	if (d->x & X_VVVV) {
		/* any register but those that form the address */
		uint16_t avoid = g.reserved & ~(1u << g.reg);

		if (g.mem)
			avoid |= (g.base >= 0 ? 1u << g.base : 0) | (g.index >= 0 ? 1u << g.index : 0);
		g.vvvv = pick_reg(&g, RC_GPR, avoid);
	}
	encode(&g);
	c->land[0] = DT_INSN_ADDR + c->len;
	c->nland = 1;

	/* values: slot A = reg operand (or rAX / opreg / ST0), B = r/m,
	 * C = immediate or CL or rDX */
	unsigned ca = g.combo % N_INT, cb = (g.combo / N_INT) % N_INT;

	if (d->vk == VK_COUNT) {
		ca = g.combo % N_INT;
		cb = (g.combo / N_COUNT) % N_INT;
		ec = g.combo % N_COUNT;
	} else if (d->vk == VK_INT && !has_slot_a(d)) {
		cb = g.combo % N_INT;
		ec = g.combo / N_INT % N_INT;
	} else if (d->vk == VK_PS || d->vk == VK_PD || d->vk == VK_X87) {
		unsigned n = d->vk == VK_PS ? N_F32 : d->vk == VK_PD ? N_F64 : N_F80;

		ca = g.combo % n;
		cb = g.combo / n;
	}
	if (!g.random) {
		ea = ca;
		eb = cb;
		if (ec < 0)
			ec = (ca + 3 * cb) % N_INT;
	}
	unsigned bsz = (d->rc_rm == RC_GPR || d->kind == K_INT) && !d->msize ? c->osz : g.msz;

	a_value = ea >= 0 ? int_edge(c->osz, ea) : int_rand(c->osz);
	b_value = eb >= 0 ? int_edge(bsz > 8 ? 8 : bsz, eb) : int_rand(bsz > 8 ? 8 : bsz);
	if (d->vk == VK_COUNT)
		c_value = ec >= 0 ? count_edge(c->osz, ec) : (chance(60) ? count_edge(c->osz, rnd(N_COUNT)) : dt_rand());
	else if (g.imm_size)
		c_value = ec >= 0 ? int_edge(g.imm_size, ec) : int_rand(g.imm_size);
	else
		c_value = ec >= 0 ? int_edge(c->osz, ec) : int_rand(c->osz);

	if (d->kind == K_X87)
		x87_state(&g, ea, eb);
	if (d->x & (X_BRANCH | X_INDBR | X_RET | X_LOOP | X_CALL))
		setup_branch(&g, &b_value);
	if (d->x & X_STACK && g.random) {
		unsigned r = rnd(100);

		if (r < 5)
			c->in.regs[4] = DT_DATA_BASE + rnd(16);
		else if (r < 10)
			c->in.regs[4] = DT_DATA_BASE + DT_DATA_SIZE - rnd(16);
		else if (r < 15)
			c->in.regs[4] |= rnd(8);
		if (d->x & X_RET) {
			uint64_t t = c->land[1];

			set_mem(c, c->in.regs[4], &t, 8);
		}
	}

	/* slot A */
	if (d->kind == K_X87) {
		/* set by x87_state */
	} else if (d->form == F_MODRM && d->ext < 0) {
		if (d->rc_reg == RC_GPR) {
			set_gpr(c, g.reg, c->osz, a_value);
		} else {
			uint8_t v[16];

			vec_value(&g, v, ea);
			set_vec_reg(c, d->rc_reg, g.reg, v);
		}
	} else if (d->form == F_OPREG) {
		set_gpr(c, g.reg, c->osz, a_value);
	} else if (d->x & X_ACC) {
		set_gpr(c, 0, c->osz, a_value);
	}
	if (d->x & X_ACC && d->form != F_NONE && !(d->x & X_STRING))
		set_gpr(c, 0, c->osz == 1 && d->x & X_RDX ? 2 : c->osz, a_value);

	/* VEX: the NDS register takes slot A's value (the destination is
	 * only written) */
	if (d->vex && g.vvvv && d->rc_reg != RC_GPR && !(d->vex & DV_NDD)) {
		uint8_t v[16];

		vec_value(&g, v, ea);
		set_vec_reg(c, RC_XMM, g.vvvv, v);
	}

	/* slot B */
	if (d->form == F_MODRM) {
		if (d->kind == K_X87) {
			if (g.mem)
				x87_mem_value(&g, eb);
		} else if (g.mem) {
			if (d->rc_rm == RC_XMM || d->rc_rm == RC_MMX || g.msz > 8) {
				uint8_t v[16];

				vec_value(&g, v, eb);
				if (d->rc_rm == RC_GPR || d->kind == K_INT)
					memcpy(v, &b_value, 8);
				set_mem(c, g.ea, v, g.msz > 16 ? 16 : g.msz);
				if (d->vex && g.msz > 16) {
					vec_value(&g, v, -1);
					set_mem(c, g.ea + 16, v, g.msz - 16);
				}
			} else {
				set_mem(c, g.ea, &b_value, g.msz);
			}
		} else if (d->rc_rm == RC_GPR) {
			set_gpr(c, g.rm, bsz > 8 ? 8 : bsz, b_value);
		} else if (d->rc_rm == RC_XMM || d->rc_rm == RC_MMX) {
			uint8_t v[16];

			vec_value(&g, v, eb);
			set_vec_reg(c, d->rc_rm, g.rm, v);
		}
	}

	/* slot C */
	if (d->imm != IMM_NONE && !(d->x & (X_BRANCH | X_MOFFS | X_ENTER | X_RET))) {
		uint64_t v = c_value;

		if (d->imm_max)
			v %= (unsigned)d->imm_max + 1;
		else if (d->vk != VK_INT && d->vk != VK_COUNT)
			v = dt_rand();
		if (d->vex & DV_IS4)
			v = (v & 0x0f) | pick_reg(&g, RC_XMM, 0) << 4;
		set_imm(&g, v);
	} else if (d->x & X_CL) {
		c->in.regs[1] = (c->in.regs[1] & ~0xffULL) | (c_value & 0xff);
	} else if (d->x & X_RDX) {
		set_gpr(c, 2, c->osz, c_value);
	} else if (d->x & X_VVVV) {
		set_gpr(c, g.vvvv, c->osz, c_value);
	}

	/* instruction-specific rules */
	if (d->x & X_RDX && g.random && chance(60)) {
		/* divide: a dividend that often fits */
		if (c->osz == 1) {
			uint64_t al = c->in.regs[0] & 0xff;
			uint64_t ah = chance(50) ? 0 : ((int8_t)al < 0 ? 0xff : 0);

			c->in.regs[0] = (c->in.regs[0] & ~0xffffULL) | ah << 8 | al;
		} else {
			uint64_t ax = get_gpr(c, 0, c->osz);
			uint64_t sx = (uint64_t)((int64_t)(ax << (64 - 8 * c->osz)) >> 63);

			set_gpr(c, 2, c->osz, chance(50) ? 0 : sx);
		}
	}
	if (d->x & X_STRING)
		setup_string(&g);
	if (d->x & X_RBX_PTR) {
		c->in.regs[3] = data_ptr(0, 256);
		if (g.asz == 4)
			c->in.regs[3] |= dt_rand() << 32;
	}
	if (d->x & X_RDI_PTR)
		c->in.regs[7] = data_ptr(0, 16) + (g.random && chance(5) ? 0x1000 : 0);
	if (d->x & X_RBP_PTR)
		c->in.regs[5] = data_ptr(0x10, 0x10) & (chance(80) ? ~7ULL : ~0ULL);
	if (d->x & X_ENTER)
		c->in.regs[5] = data_ptr(0x100, 0x10) & ~7ULL;
	if (d->x & X_CMPXCHG && chance(50)) {
		uint64_t v = g.mem ? get_mem(c, g.ea, c->osz) : get_gpr(c, g.rm, c->osz);

		set_gpr(c, 0, c->osz, v);
	}
	if (d->x & X_CX8) {
		if (chance(50)) {
			c->in.regs[0] = get_mem(c, g.ea, 8);
			c->in.regs[2] = get_mem(c, g.ea + (c->osz == 8 ? 8 : 4), 8);
			if (c->osz != 8) {
				c->in.regs[2] = c->in.regs[0] >> 32 | (dt_rand() << 32);
				c->in.regs[0] = (uint32_t)c->in.regs[0] | (dt_rand() << 32);
			}
		}
	}
	if (d->x & X_POPF) {
		uint64_t f = (dt_rand() & 0x200cd5) | 2 | (dt_rand() & 0x4000);

		set_mem(c, c->in.regs[4], &f, 8);
	}
	if (d->x & X_MXCSR) {
		uint32_t mx = (0x1f80 | (dt_rand() & 0xe07f)) & ~(g.random && chance(10) ? 0 : 0x1f80u);

		mx |= 0x1f80;
		/* a reserved bit: #GP, unless it is one that only the
		 * host's or only TCG's CPUID supports */
		if (g.random && chance(5))
			mx |= (1u << (16 + rnd(16))) & ~dt_mxcsr_model_bits;
		set_mem(c, g.ea, &mx, 4);
	}
	if (d->x & X_FCW) {
		uint16_t cw = 0x7f | (dt_rand() & 0x0f00) | (dt_rand() & 0x1000);

		set_mem(c, g.ea, &cw, 2);
	}
	if (d->x & X_FXRSTOR) {
		struct dt_case tmp;

		memcpy(tmp.in.fx, c->in.fx, 512);
		for (int i = 0; i < 8; i++) {
			struct f80 v = f80_rand();

			memcpy(tmp.in.fx + FX_ST(i), &v.mant, 8);
			memcpy(tmp.in.fx + FX_ST(i) + 8, &v.se, 2);
		}
		tmp.in.fx[FX_FTW] = dt_rand();
		for (int i = 0; i < 16; i++) {
			uint64_t q[2] = { dt_rand(), dt_rand() };

			memcpy(tmp.in.fx + FX_XMM(i), q, 16);
		}
		uint16_t fsw = dt_rand() & 0x7f00;

		memcpy(tmp.in.fx + FX_FSW, &fsw, 2);
		set_mem(c, g.ea, tmp.in.fx, 464);
	}
	if (d->x & X_FXSAVE) {
		c->ign_off = g.ea - DT_DATA_BASE + 6;
		c->ign_len = 18;
		c->mxmask_off = g.ea - DT_DATA_BASE + FX_MXCSR_MASK;
		c->mxmask = true;
	}
	if (d->x & X_RAXRDX) {
		static const int64_t len[] = { 0, 1, 7, 8, 15, 16, 17, -1, -16, -17 };

		c->in.regs[0] = chance(70) ? (uint64_t)len[rnd(10)] : dt_rand();
		c->in.regs[2] = chance(70) ? (uint64_t)len[rnd(10)] : dt_rand();
	}
	if (d->x & (X_SHIFT | X_ROT | X_SHLD))
		shift_rules(&g, b_value);
	if (d->x & X_BSF) {
		uint64_t src = g.mem ? get_mem(c, g.ea, c->osz) : get_gpr(c, g.rm, c->osz);

		if (!src)
			c->ignore_regs |= 1u << g.reg;
	}
	if (d->x & X_BTREG && g.mem) {
		/* SDM "BT": the bit offset selects a word anywhere in memory */
		int64_t lo = -(int64_t)(g.ea - DT_DATA_BASE) * 8 + 64;
		int64_t hi = (int64_t)(DT_DATA_BASE + DT_DATA_SIZE - g.ea) * 8 - 128;
		int64_t lim = c->osz == 2 ? 32767 : 1LL << 40;

		if (lo < -lim)
			lo = -lim;
		if (hi > lim)
			hi = lim;
		set_gpr(c, g.reg, c->osz, hi > lo ? lo + (int64_t)rnd(hi - lo) : 0);
	}
	if (d->x & X_PUSHSEG) {
		/* SDM "PUSH": a segment register pushed with a 32/64-bit
		 * operand size may be written with a 16-bit move */
		c->ign2_off = c->in.regs[4] - 6 - DT_DATA_BASE;
		c->ign2_len = 6;
	}
	if (d->x & X_CALL) {
		/* a CALL that faults (#GP on the target) may already have
		 * written the return address below rSP */
		c->fault_ign_off = c->in.regs[4] - 8 - DT_DATA_BASE;
		c->fault_ign_len = 8;
	}
	if (d->x & X_RANDOM)
		c->ignore_regs |= 1u << g.rm;
	if (d->x & X_APPROX)
		c->approx = true;
	c->undef_flags |= d->undef;
	c->fsw_undef = d->fsw_undef;
	if (d->kind == K_MMX || d->kind == K_X87)
		c->x87 = true;
	c->in.rip = DT_INSN_ADDR;
	/* drawn last, so the draws above stay those of the cases before
	 * YMM was compared */
	fill_ymmh(&g);
	if (d->x & X_VSIB && g.mem && !g.riprel) {
		struct dt_vsib v = {
			.anchor = g.ea, .scale = g.scale, .asz = g.asz, .dest = g.reg,
			.mask = g.vvvv, .index = (unsigned)g.index, .w = g.vex_w, .l = g.vex_l,
			.random = g.random, .combo = g.combo,
		};

		dt_vsib_fill(c, &v);
	}
	if (d->x & X_MASKV) {
		/* VMASKMOVPD (2D 2F) and VPMASKMOVQ (8C 8E, W1): qwords */
		unsigned o = d->op[2], size = o == 0x2d || o == 0x2f || (o >= 0x8c && g.vex_w) ? 8 : 4;

		dt_mask_pattern(c, g.vvvv, size, g.random, g.combo / 2);
	}
	return true;
}
