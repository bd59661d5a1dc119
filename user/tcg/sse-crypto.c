/*
 * AES-NI, PCLMULQDQ and the SHA extensions as operations of the SSE
 * table (sse.h), written from the SDM Vol. 2 pseudocode of each
 * instruction and FIPS-197 (AES) / FIPS-180-4 (SHA):
 *
 *   66 0F 38 DB        AESIMC         66 0F 3A 44 ib  PCLMULQDQ
 *   66 0F 38 DC / DD   AESENC / LAST  66 0F 3A DF ib  AESKEYGENASSIST
 *   66 0F 38 DE / DF   AESDEC / LAST     0F 3A CC ib  SHA1RNDS4
 *      0F 38 C8-CD     SHA1NEXTE SHA1MSG1 SHA1MSG2 SHA256RNDS2
 *                      SHA256MSG1 SHA256MSG2
 *
 * They are table entries so that their VEX.128 forms (VAESENC ...,
 * AVX + AES) can run through the generic VEX path of the table.  The
 * slots get op_crypto, not sse_generic itself: the JIT compiles table
 * entries of sse_generic into the host instruction (jit/gen-sse.c),
 * which a host without AES-NI or SHA lacks; it asks sse_crypto_kind()
 * which extension an op_crypto entry belongs to and compiles it only
 * where the host has that (AES-NI and PCLMULQDQ; SHA always calls the
 * interpreter).  SHA256RNDS2 reads XMM0 as a third operand and has
 * a handler of its own.  All are legacy SSE (exception type 4): a
 * 16-byte memory operand must be aligned.
 */
#include "tcg/sse.h"

/* ------------------------------------------------------------------ */
/* AES (FIPS-197): the state is column-major, byte r + 4c of the
 * register is row r of column c (SDM Vol. 1, 12.13 "AESNI")          */

static uint8_t sbox[256], inv_sbox[256];

/* Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 */
static uint8_t gmul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;

	while (b) {
		if (b & 1)
			r ^= a;
		a = (uint8_t)(a << 1 ^ (a & 0x80 ? 0x1b : 0));
		b >>= 1;
	}
	return r;
}

static uint8_t rol8(uint8_t v, unsigned n)
{
	return (uint8_t)(v << n | v >> (8 - n));
}

/* FIPS-197 5.1.1: the multiplicative inverse (0 for 0), then the affine
 * transformation b ^ b<<<1 ^ b<<<2 ^ b<<<3 ^ b<<<4 ^ 0x63. */
static void aes_init(void)
{
	for (unsigned x = 0; x < 256; x++) {
		uint8_t inv = 0;

		for (unsigned y = 1; y < 256 && x; y++)
			if (gmul((uint8_t)x, (uint8_t)y) == 1) {
				inv = (uint8_t)y;
				break;
			}
		uint8_t s = inv ^ rol8(inv, 1) ^ rol8(inv, 2) ^ rol8(inv, 3) ^ rol8(inv, 4) ^ 0x63;
		sbox[x] = s;
		inv_sbox[s] = (uint8_t)x;
	}
}

static void shift_rows(union xmm *st, bool inverse)
{
	union xmm t = *st;

	for (unsigned r = 0; r < 4; r++)
		for (unsigned c = 0; c < 4; c++) {
			unsigned from = inverse ? (c + 4 - r) % 4 : (c + r) % 4;
			st->b[r + 4 * c] = t.b[r + 4 * from];
		}
}

static void sub_bytes(union xmm *st, const uint8_t box[256])
{
	for (unsigned k = 0; k < 16; k++)
		st->b[k] = box[st->b[k]];
}

/* MixColumns with the circulant row m (02 03 01 01; the inverse
 * 0E 0B 0D 09) */
static void mix_columns(union xmm *st, const uint8_t m[4])
{
	for (unsigned c = 0; c < 4; c++) {
		uint8_t a[4];

		memcpy(a, &st->b[4 * c], 4);
		for (unsigned r = 0; r < 4; r++)
			st->b[4 * c + r] = gmul(a[0], m[(4 - r) % 4]) ^ gmul(a[1], m[(5 - r) % 4]) ^
					   gmul(a[2], m[(6 - r) % 4]) ^ gmul(a[3], m[(7 - r) % 4]);
	}
}

static const uint8_t mix[4] = { 2, 3, 1, 1 }, inv_mix[4] = { 14, 11, 13, 9 };

static void xor128(union xmm *d, const union xmm *s)
{
	d->q[0] ^= s->q[0];
	d->q[1] ^= s->q[1];
}

/* AESENC / AESENCLAST: one round of encryption of the state d with the
 * round key s (SDM Vol. 2, "AESENC") */
static void op_aesenc(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	shift_rows(d, false);
	sub_bytes(d, sbox);
	mix_columns(d, mix);
	xor128(d, s);
}

static void op_aesenclast(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	shift_rows(d, false);
	sub_bytes(d, sbox);
	xor128(d, s);
}

/* AESDEC / AESDECLAST: the equivalent inverse cipher's round */
static void op_aesdec(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	shift_rows(d, true);
	sub_bytes(d, inv_sbox);
	mix_columns(d, inv_mix);
	xor128(d, s);
}

static void op_aesdeclast(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	shift_rows(d, true);
	sub_bytes(d, inv_sbox);
	xor128(d, s);
}

/* AESIMC: InvMixColumns of the round key s */
static void op_aesimc(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	*d = *s;
	mix_columns(d, inv_mix);
}

static uint32_t sub_word(uint32_t w)
{
	return (uint32_t)sbox[w & 0xff] | (uint32_t)sbox[(w >> 8) & 0xff] << 8 |
	       (uint32_t)sbox[(w >> 16) & 0xff] << 16 | (uint32_t)sbox[w >> 24] << 24;
}

static uint32_t ror32(uint32_t v, unsigned n)
{
	return v >> n | v << (32 - n);
}

/* AESKEYGENASSIST: SubWord and RotWord XOR RCON (imm8) of dwords 1 and
 * 3 of s (SDM Vol. 2, "AESKEYGENASSIST") */
static void op_aeskeygenassist(union xmm *d, const union xmm *s, unsigned imm)
{
	uint32_t x1 = sub_word(s->d[1]), x3 = sub_word(s->d[3]), rcon = imm & 0xff;

	d->d[0] = x1;
	d->d[1] = ror32(x1, 8) ^ rcon;
	d->d[2] = x3;
	d->d[3] = ror32(x3, 8) ^ rcon;
}

/* ------------------------------------------------------------------ */
/* PCLMULQDQ: the carry-less product of the quadword imm8[0] of d and
 * the quadword imm8[4] of s (SDM Vol. 2, "PCLMULQDQ")                  */

static void op_pclmulqdq(union xmm *d, const union xmm *s, unsigned imm)
{
	uint64_t a = d->q[imm & 1], b = s->q[(imm >> 4) & 1], lo = 0, hi = 0;

	for (unsigned k = 0; k < 64; k++)
		if (b >> k & 1) {
			lo ^= a << k;
			hi ^= k ? a >> (64 - k) : 0;
		}
	d->q[0] = lo;
	d->q[1] = hi;
}

/* ------------------------------------------------------------------ */
/* SHA-1 (SDM Vol. 2, "SHA1RNDS4" ...): dword 3 of a register is the
 * first word (A, W0)                                                   */

static uint32_t rol32(uint32_t v, unsigned n)
{
	return v << n | v >> (32 - n);
}

static uint32_t sha1_f(unsigned k, uint32_t b, uint32_t c, uint32_t d)
{
	switch (k) {
	case 0: return (b & c) ^ (~b & d);
	case 2: return (b & c) ^ (b & d) ^ (c & d);
	default: return b ^ c ^ d;
	}
}

/* Four rounds with the function and constant of imm8[1:0]; s holds
 * W0 + E, W1, W2, W3. */
static void op_sha1rnds4(union xmm *d, const union xmm *s, unsigned imm)
{
	static const uint32_t K[4] = { 0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6 };
	unsigned f = imm & 3;
	uint32_t a = d->d[3], b = d->d[2], c = d->d[1], dd = d->d[0], e = 0;

	for (unsigned k = 0; k < 4; k++) {
		uint32_t t = sha1_f(f, b, c, dd) + rol32(a, 5) + s->d[3 - k] + e + K[f];

		e = dd;
		dd = c;
		c = rol32(b, 30);
		b = a;
		a = t;
	}
	d->d[3] = a;
	d->d[2] = b;
	d->d[1] = c;
	d->d[0] = dd;
}

/* SHA1NEXTE: E of the next four rounds (d's A rotated by 30) added to
 * W0 of s */
static void op_sha1nexte(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	uint32_t e = rol32(d->d[3], 30);

	*d = *s;
	d->d[3] += e;
}

static void op_sha1msg1(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	union xmm r;

	r.d[3] = d->d[1] ^ d->d[3];
	r.d[2] = d->d[0] ^ d->d[2];
	r.d[1] = s->d[3] ^ d->d[1];
	r.d[0] = s->d[2] ^ d->d[0];
	*d = r;
}

static void op_sha1msg2(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	uint32_t w16 = rol32(d->d[3] ^ s->d[2], 1);
	uint32_t w17 = rol32(d->d[2] ^ s->d[1], 1);
	uint32_t w18 = rol32(d->d[1] ^ s->d[0], 1);
	uint32_t w19 = rol32(d->d[0] ^ w16, 1);

	d->d[3] = w16;
	d->d[2] = w17;
	d->d[1] = w18;
	d->d[0] = w19;
}

/* ------------------------------------------------------------------ */
/* SHA-256 (FIPS-180-4 4.1.2; SDM Vol. 2, "SHA256RNDS2" ...)            */

static uint32_t sigma0(uint32_t w)
{
	return ror32(w, 7) ^ ror32(w, 18) ^ w >> 3;
}

static uint32_t sigma1(uint32_t w)
{
	return ror32(w, 17) ^ ror32(w, 19) ^ w >> 10;
}

static void op_sha256msg1(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	d->d[0] += sigma0(d->d[1]);
	d->d[1] += sigma0(d->d[2]);
	d->d[2] += sigma0(d->d[3]);
	d->d[3] += sigma0(s->d[0]);
}

static void op_sha256msg2(union xmm *d, const union xmm *s, unsigned imm)
{
	(void)imm;
	d->d[0] += sigma1(s->d[2]);
	d->d[1] += sigma1(s->d[3]);
	d->d[2] += sigma1(d->d[0]);
	d->d[3] += sigma1(d->d[1]);
}

/* Two rounds: d holds C D G H, s A B E F, wk the two W+K words
 * (XMM0's low quadword); the result is A B E F of two rounds later. */
static void sha256_rounds2(union xmm *d, const union xmm *s, const union xmm *wk)
{
	uint32_t a = s->d[3], b = s->d[2], c = d->d[3], dd = d->d[2];
	uint32_t e = s->d[1], f = s->d[0], g = d->d[1], h = d->d[0];

	for (unsigned k = 0; k < 2; k++) {
		uint32_t ch = (e & f) ^ (~e & g), maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t1 = ch + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + wk->d[k] + h;
		uint32_t t2 = maj + (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22));

		h = g;
		g = f;
		f = e;
		e = dd + t1;
		dd = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	d->d[3] = a;
	d->d[2] = b;
	d->d[1] = e;
	d->d[0] = f;
}

/* 0F 38 CB: SHA256RNDS2 xmm1, xmm2/m128, <XMM0> */
static void op_sha256rnds2(struct tcg_cpu *c, const struct insn *i)
{
	union xmm d, s, wk;

	if (i->pfx != PFX_NONE)
		sse_ud(c);
	sse_check(c);
	sse_src(c, i, &s, 16, true);
	xmm_get(c, i->reg, &d);
	xmm_get(c, 0, &wk);
	sha256_rounds2(&d, &s, &wk);
	xmm_set(c, i->reg, &d);
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */

/* The table's handler under another name: see the comment at the top */
static void op_crypto(struct tcg_cpu *c, const struct insn *i)
{
	sse_generic(c, i);
}

unsigned sse_crypto_kind(const struct insn *i)
{
	if (i->vex || i->fn != op_crypto)
		return CRYPTO_NONE;
	if (i->map == MAP_0F3A && i->op == 0x44)
		return CRYPTO_PCLMUL;
	return i->pfx == PFX_66 ? CRYPTO_AES : CRYPTO_SHA;
}

static void def(unsigned map, unsigned op, unsigned pfx, sse_fn fn)
{
	sse_def(map, op, pfx, fn, SK_XMM, 16, SF_ALIGN);
	tcg_ops[map][op] = op_crypto;
}

/* After tcg_register_sse (ops.c), which points every 0F 38 and 0F 3A
 * slot at sse_generic. */
void tcg_register_crypto(void)
{
	aes_init();
	def(MAP_0F38, 0xdb, PFX_66, op_aesimc);
	def(MAP_0F38, 0xdc, PFX_66, op_aesenc);
	def(MAP_0F38, 0xdd, PFX_66, op_aesenclast);
	def(MAP_0F38, 0xde, PFX_66, op_aesdec);
	def(MAP_0F38, 0xdf, PFX_66, op_aesdeclast);
	def(MAP_0F3A, 0xdf, PFX_66, op_aeskeygenassist);
	def(MAP_0F3A, 0x44, PFX_66, op_pclmulqdq);
	def(MAP_0F3A, 0xcc, PFX_NONE, op_sha1rnds4);
	def(MAP_0F38, 0xc8, PFX_NONE, op_sha1nexte);
	def(MAP_0F38, 0xc9, PFX_NONE, op_sha1msg1);
	def(MAP_0F38, 0xca, PFX_NONE, op_sha1msg2);
	def(MAP_0F38, 0xcc, PFX_NONE, op_sha256msg1);
	def(MAP_0F38, 0xcd, PFX_NONE, op_sha256msg2);
	tcg_ops[MAP_0F38][0xcb] = op_sha256rnds2;
}
