/*
 * The JIT's x86-64 encoder (user/tcg/jit/emit.c) against encodings worked
 * out from the SDM (Vol. 2, 2.1-2.2: REX, ModRM, SIB; the opcode tables):
 * the awkward cases are rbp/r13 as a base (they need a displacement),
 * rsp/r12 as a base (they need a SIB), a SIB without base, and byte
 * registers 4-7, which are SPL-DIL only with a REX.
 */
#include <string.h>
#include "unit.h"
#include "tcg/jit/emit.h"

struct buf {
	uint8_t b[64];
	struct emit e;
};

static struct emit *start(struct buf *b)
{
	memset(b->b, 0xcc, sizeof(b->b));
	b->e = (struct emit){ b->b, b->b + sizeof(b->b), false };
	return &b->e;
}

static bool same(struct buf *b, const uint8_t *want, size_t n)
{
	return !b->e.full && (size_t)(b->e.p - b->b) == n && !memcmp(b->b, want, n);
}

#define EXPECT(b, ...)                                                      \
	do {                                                                \
		static const uint8_t want_[] = { __VA_ARGS__ };             \
		CHECK(same(b, want_, sizeof(want_)));                       \
	} while (0)

TEST(jit_emit_modrm_bases)
{
	struct buf b;
	emit_load(start(&b), 8, H_RCX, rm_mem(H_R15, 0x10));   /* mov rcx, [r15+0x10] */
	EXPECT(&b, 0x49, 0x8b, 0x4f, 0x10);
	emit_store(start(&b), 8, rm_mem(H_R15, 0), H_RAX);     /* mov [r15], rax */
	EXPECT(&b, 0x49, 0x89, 0x07);
	emit_load(start(&b), 8, H_RAX, rm_mem(H_RSP, 8));      /* mov rax, [rsp+8] */
	EXPECT(&b, 0x48, 0x8b, 0x44, 0x24, 0x08);
	emit_load(start(&b), 8, H_RAX, rm_mem(H_R13, 0));      /* mov rax, [r13+0] */
	EXPECT(&b, 0x49, 0x8b, 0x45, 0x00);
	emit_load(start(&b), 8, H_RAX, rm_mem(H_R12, 0));      /* mov rax, [r12] */
	EXPECT(&b, 0x49, 0x8b, 0x04, 0x24);
}

TEST(jit_emit_sib_forms)
{
	struct buf b;
	emit_lea(start(&b), 8, H_RSI, (struct hmem){ H_RBX, H_RAX, 3, 0x100 });
	EXPECT(&b, 0x48, 0x8d, 0xb4, 0xc3, 0x00, 0x01, 0x00, 0x00);
	emit_lea(start(&b), 4, H_RSI, (struct hmem){ H_NONE, H_RAX, 2, 8 });   /* lea esi, [rax*4+8] */
	EXPECT(&b, 0x8d, 0x34, 0x85, 0x08, 0x00, 0x00, 0x00);
	emit_load(start(&b), 4, H_RAX, rm_mem(H_NONE, 0x1000));                /* mov eax, [0x1000] */
	EXPECT(&b, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00);
}

TEST(jit_emit_byte_registers)
{
	struct buf b;
	emit_op2(start(&b), 1, 0x95, 0, rm_reg(H_RBP));        /* setne bpl */
	EXPECT(&b, 0x40, 0x0f, 0x95, 0xc5);
	uint8_t c6 = 0xc6;
	emit_op(start(&b), 1, false, &c6, 1, 0, rm_reg(H_RBX), 0x12, 1);      /* mov bl, 0x12 */
	EXPECT(&b, 0xc6, 0xc3, 0x12);
	emit_store(start(&b), 1, rm_reg(H_RSI), H_RCX);        /* mov sil, cl */
	EXPECT(&b, 0x40, 0x88, 0xce);
	struct hrm src = rm_reg(H_RBP);
	src.byte8 = true;
	emit_op2(start(&b), 4, 0xb6, H_RCX, src);               /* movzx ecx, bpl */
	EXPECT(&b, 0x40, 0x0f, 0xb6, 0xcd);
}

TEST(jit_emit_immediates)
{
	struct buf b;
	emit_alu_imm(start(&b), 4, 0, rm_reg(H_RAX), 5);       /* add eax, 5 */
	EXPECT(&b, 0x83, 0xc0, 0x05);
	emit_alu_imm(start(&b), 8, 4, rm_reg(H_RDX), -4096);   /* and rdx, -4096 */
	EXPECT(&b, 0x48, 0x81, 0xe2, 0x00, 0xf0, 0xff, 0xff);
	emit_alu_imm(start(&b), 4, 7, rm_mem(H_R15, 0x20), 0x12345678);
	EXPECT(&b, 0x41, 0x81, 0x7f, 0x20, 0x78, 0x56, 0x34, 0x12);
	uint8_t c7 = 0xc7;
	emit_op(start(&b), 2, false, &c7, 1, 0, rm_mem(H_R15, 2), 0x1234, 2);
	EXPECT(&b, 0x66, 0x41, 0xc7, 0x47, 0x02, 0x34, 0x12);
	emit_mov_imm(start(&b), H_RAX, 0x7fffffff);
	EXPECT(&b, 0xb8, 0xff, 0xff, 0xff, 0x7f);
	emit_mov_imm(start(&b), H_RAX, ~0ULL);                  /* sign-extended imm32 */
	EXPECT(&b, 0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff);
	emit_mov_imm(start(&b), H_R9, 0x123456789ULL);          /* movabs */
	EXPECT(&b, 0x49, 0xb9, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00);
}

TEST(jit_emit_misc)
{
	struct buf b;
	struct emit *e = start(&b);
	emit_push(e, H_R15);
	emit_pop(e, H_RBX);
	EXPECT(&b, 0x41, 0x57, 0x5b);
	uint8_t add = 0x01;
	emit_op(start(&b), 4, true, &add, 1, H_RCX, rm_mem(H_RSI, 0), 0, 0);   /* lock add [rsi], ecx */
	EXPECT(&b, 0xf0, 0x01, 0x0e);
	e = start(&b);
	uint8_t *f = emit_jmp_rel32(e);
	emit_patch_rel32(f, b.b + 40);                          /* rel = 40 - 5 */
	EXPECT(&b, 0xe9, 35, 0, 0, 0);
}

TEST(jit_emit_full_buffer)
{
	uint8_t small[3];
	struct emit e = { small, small + sizeof(small), false };
	emit_mov_imm(&e, H_R9, 0x123456789ULL);
	CHECK(e.full);
	CHECK(e.p <= small + sizeof(small));
}

/* RORX (BMI2, VEX.LZ.F2.0F3A.W0 F0 /r ib): the VEX R and B bits are
 * inverted extensions of ModRM.reg and ModRM.rm; checked against GNU as */
TEST(jit_emit_rorx)
{
	struct buf b;
	emit_rorx32(start(&b), H_RAX, H_RSI, 6);
	EXPECT(&b, 0xc4, 0xe3, 0x7b, 0xf0, 0xc6, 0x06);
	emit_rorx32(start(&b), H_R10, H_R9, 6);
	EXPECT(&b, 0xc4, 0x43, 0x7b, 0xf0, 0xd1, 0x06);
	emit_rorx32(start(&b), H_RDX, H_RCX, 7);
	EXPECT(&b, 0xc4, 0xe3, 0x7b, 0xf0, 0xd1, 0x07);
}

TEST(jit_emit_rorx64)
{
	struct buf b;
	emit_rorx64(start(&b), H_RDX, H_RDX, 32);
	EXPECT(&b, 0xc4, 0xe3, 0xfb, 0xf0, 0xd2, 0x20);
	emit_rorx64(start(&b), H_R10, H_R9, 5);
	EXPECT(&b, 0xc4, 0x43, 0xfb, 0xf0, 0xd1, 0x05);
}
