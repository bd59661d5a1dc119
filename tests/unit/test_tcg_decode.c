/* The TCG instruction decoder (user/tcg/decode.c) and handler table. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "tcg/tcg.h"

static void fake_handler(struct tcg_cpu *c, const struct insn *i)
{
	(void)c;
	(void)i;
}

/* Every slot gets a handler, so fn == tcg_op_ud means the decoder itself
 * found the encoding invalid.  Each test runs in its own process. */
static void fill_ops(void)
{
	for (int m = 0; m < MAP_NR; m++)
		for (int o = 0; o < 256; o++)
			tcg_ops[m][o] = tcg_vex_ops[m][o] = fake_handler;
}

static int dec(struct insn *i, int bits, const uint8_t *b, unsigned n)
{
	fill_ops();
	return tcg_decode(i, b, n, bits);
}

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define DEC(i, bits, ...) \
	dec(i, bits, BYTES(__VA_ARGS__), sizeof(BYTES(__VA_ARGS__)))
#define IS_UD(i) ((i).fn == tcg_op_ud)

TEST(tcg_decode_one_byte_plain)
{
	struct insn i;
	CHECK_EQ(DEC(&i, 32, 0x90), 1);
	CHECK_EQ(i.len, 1);
	CHECK_EQ(i.map, MAP_1B);
	CHECK_EQ(i.op, 0x90);
	CHECK_EQ(i.osz, 4);
	CHECK_EQ(i.asz, 4);
	CHECK(!i.has_modrm && !i.mem && !i.lock && !i.ends_block);
	CHECK_EQ(i.imm_size, 0);
	CHECK_EQ(i.rex, 0);
	CHECK_EQ(i.seg, S_DS);
	CHECK(!i.seg_override);
	CHECK_EQ(i.pfx, PFX_NONE);
	CHECK_EQ(i.base, NO_REG);
	CHECK_EQ(i.index, NO_REG);
	CHECK(i.fn == fake_handler);

	CHECK_EQ(DEC(&i, 16, 0x90), 1);
	CHECK_EQ(i.osz, 2);
	CHECK_EQ(i.asz, 2);
	CHECK_EQ(DEC(&i, 64, 0x90), 1);
	CHECK_EQ(i.osz, 4);
	CHECK_EQ(i.asz, 8);
	/* 40-4F are INC/DEC outside 64-bit mode */
	CHECK_EQ(DEC(&i, 32, 0x41), 1);
	CHECK_EQ(i.op, 0x41);
	CHECK_EQ(i.opreg, 1);
	CHECK_EQ(i.rex, 0);
}

TEST(tcg_decode_modrm32)
{
	struct insn i;
	/* mov eax, [esp+8] */
	CHECK_EQ(DEC(&i, 32, 0x8b, 0x44, 0x24, 0x08), 4);
	CHECK(i.has_modrm && i.mem);
	CHECK_EQ(i.mod, 1);
	CHECK_EQ(i.reg, 0);
	CHECK_EQ(i.rm, 4);
	CHECK_EQ(i.base, R_RSP);
	CHECK_EQ(i.index, NO_REG);
	CHECK_EQ(i.disp, 8);
	CHECK_EQ(i.seg, S_SS);
	/* mov eax, [ecx*4 + 0x10]: SIB base 101 with mod 00 is disp32 */
	CHECK_EQ(DEC(&i, 32, 0x8b, 0x04, 0x8d, 0x10, 0, 0, 0), 7);
	CHECK_EQ(i.base, NO_REG);
	CHECK_EQ(i.index, R_RCX);
	CHECK_EQ(i.scale, 2);
	CHECK_EQ(i.disp, 0x10);
	CHECK_EQ(i.seg, S_DS);
	/* mov edx, [ebp + esi*8 - 0x80]: SS from the rBP base */
	CHECK_EQ(DEC(&i, 32, 0x8b, 0x54, 0xf5, 0x80), 4);
	CHECK_EQ(i.reg, R_RDX);
	CHECK_EQ(i.base, R_RBP);
	CHECK_EQ(i.index, R_RSI);
	CHECK_EQ(i.scale, 3);
	CHECK_EQ(i.disp, -0x80);
	CHECK_EQ(i.seg, S_SS);
	/* mov eax, [disp32] in 32-bit mode: absolute, not RIP-relative */
	CHECK_EQ(DEC(&i, 32, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), 6);
	CHECK_EQ(i.base, NO_REG);
	CHECK(!i.rip_rel);
	CHECK_EQ(i.disp, 0x12345678);
	/* mov [ebx + disp32], ecx with a negative disp32 */
	CHECK_EQ(DEC(&i, 32, 0x89, 0x8b, 0xfc, 0xff, 0xff, 0xff), 6);
	CHECK_EQ(i.base, R_RBX);
	CHECK_EQ(i.reg, R_RCX);
	CHECK_EQ(i.disp, -4);
	/* register form */
	CHECK_EQ(DEC(&i, 32, 0x01, 0xd8), 2);      /* add eax, ebx */
	CHECK(!i.mem);
	CHECK_EQ(i.mod, 3);
	CHECK_EQ(i.rm, R_RAX);
	CHECK_EQ(i.reg, R_RBX);
	CHECK_EQ(i.base, NO_REG);
}

TEST(tcg_decode_modrm64_rex)
{
	struct insn i;
	/* mov rax, [rsp + 0x88] */
	CHECK_EQ(DEC(&i, 64, 0x48, 0x8b, 0x84, 0x24, 0x88, 0, 0, 0), 8);
	CHECK_EQ(i.rex, 0x48);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(i.base, R_RSP);
	CHECK_EQ(i.disp, 0x88);
	CHECK_EQ(i.seg, S_SS);
	/* mov r13, [rsp - 8] */
	CHECK_EQ(DEC(&i, 64, 0x4c, 0x8b, 0x6c, 0x24, 0xf8), 5);
	CHECK_EQ(i.reg, 13);
	CHECK_EQ(i.disp, -8);
	/* mov eax, [r12 + r13]: REX.B and REX.X */
	CHECK_EQ(DEC(&i, 64, 0x43, 0x8b, 0x04, 0x2c), 4);
	CHECK_EQ(i.base, 12);
	CHECK_EQ(i.index, 13);
	CHECK_EQ(i.seg, S_DS);
	/* REX.X makes index 100 r12 */
	CHECK_EQ(DEC(&i, 64, 0x42, 0x8b, 0x04, 0x24), 4);
	CHECK_EQ(i.base, R_RSP);
	CHECK_EQ(i.index, 12);
	CHECK_EQ(i.seg, S_SS);
	/* r13 base needs a displacement and is not rBP: DS */
	CHECK_EQ(DEC(&i, 64, 0x41, 0x8b, 0x45, 0x00), 4);
	CHECK_EQ(i.base, 13);
	CHECK_EQ(i.seg, S_DS);
	/* SIB base 101, mod 00 with REX.B: still no base */
	CHECK_EQ(DEC(&i, 64, 0x41, 0x8b, 0x04, 0x25, 1, 0, 0, 0), 8);
	CHECK_EQ(i.base, NO_REG);
	CHECK_EQ(i.index, NO_REG);
	CHECK_EQ(i.disp, 1);
	/* mod 00 rm 101 with REX.B: RIP-relative too */
	CHECK_EQ(DEC(&i, 64, 0x41, 0x8b, 0x05, 0x10, 0, 0, 0), 7);
	CHECK(i.rip_rel);
	CHECK_EQ(i.base, NO_REG);
	/* rm 100 with REX.B: SIB follows (r12 base) */
	CHECK_EQ(DEC(&i, 64, 0x41, 0x8b, 0x04, 0x24), 4);
	CHECK_EQ(i.base, 12);
	CHECK_EQ(i.seg, S_DS);
	/* register operand with REX.B, REX.R */
	CHECK_EQ(DEC(&i, 64, 0x4d, 0x01, 0xc8), 3); /* add r8, r9 */
	CHECK_EQ(i.rm, 8);
	CHECK_EQ(i.reg, 9);
	CHECK_EQ(i.osz, 8);
}

TEST(tcg_decode_rip_relative)
{
	struct insn i;
	CHECK_EQ(DEC(&i, 64, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff), 6);
	CHECK(i.rip_rel && i.mem);
	CHECK_EQ(i.base, NO_REG);
	CHECK_EQ(i.index, NO_REG);
	CHECK_EQ(i.disp, -16);
	CHECK_EQ(i.seg, S_DS);
	/* with 67: [eip + disp32] */
	CHECK_EQ(DEC(&i, 64, 0x67, 0x8b, 0x05, 1, 0, 0, 0), 7);
	CHECK(i.rip_rel);
	CHECK_EQ(i.asz, 4);
	/* RIP-relative with an immediate after the displacement */
	CHECK_EQ(DEC(&i, 64, 0xc7, 0x05, 1, 0, 0, 0, 0x78, 0x56, 0x34, 0x12), 10);
	CHECK(i.rip_rel);
	CHECK_EQ(i.disp, 1);
	CHECK_EQ(i.imm, 0x12345678);
	CHECK_EQ(i.imm_size, 4);
}

TEST(tcg_decode_modrm16)
{
	struct insn i;
	/* mov ax, [bp+si+0x10] */
	CHECK_EQ(DEC(&i, 16, 0x8b, 0x42, 0x10), 3);
	CHECK_EQ(i.osz, 2);
	CHECK_EQ(i.asz, 2);
	CHECK_EQ(i.base, R_RBP);
	CHECK_EQ(i.index, R_RSI);
	CHECK_EQ(i.scale, 0);
	CHECK_EQ(i.disp, 0x10);
	CHECK_EQ(i.seg, S_SS);
	/* [bx+si] [bx+di] [bp+di] [si] [di] [bx] */
	CHECK_EQ(DEC(&i, 16, 0x8b, 0x00), 2);
	CHECK(i.base == R_RBX && i.index == R_RSI && i.seg == S_DS);
	CHECK_EQ(DEC(&i, 16, 0x8b, 0x01), 2);
	CHECK(i.base == R_RBX && i.index == R_RDI && i.seg == S_DS);
	CHECK_EQ(DEC(&i, 16, 0x8b, 0x03), 2);
	CHECK(i.base == R_RBP && i.index == R_RDI && i.seg == S_SS);
	CHECK_EQ(DEC(&i, 16, 0x8b, 0x04), 2);
	CHECK(i.base == R_RSI && i.index == NO_REG);
	CHECK_EQ(DEC(&i, 16, 0x8b, 0x05), 2);
	CHECK(i.base == R_RDI && i.index == NO_REG);
	CHECK_EQ(DEC(&i, 16, 0x8b, 0x07), 2);
	CHECK(i.base == R_RBX && i.index == NO_REG && i.seg == S_DS);
	/* [disp16]: mod 00 rm 110 */
	CHECK_EQ(DEC(&i, 16, 0x8b, 0x06, 0x34, 0x12), 4);
	CHECK(i.base == NO_REG && i.index == NO_REG);
	CHECK_EQ(i.disp, 0x1234);
	CHECK_EQ(i.seg, S_DS);
	/* [bp-2] */
	CHECK_EQ(DEC(&i, 16, 0x8b, 0x46, 0xfe), 3);
	CHECK_EQ(i.base, R_RBP);
	CHECK_EQ(i.disp, -2);
	CHECK_EQ(i.seg, S_SS);
	/* [bx + disp16], disp16 sign-extended */
	CHECK_EQ(DEC(&i, 16, 0x8b, 0x87, 0x00, 0x80), 4);
	CHECK_EQ(i.disp, -0x8000);
	/* 32-bit forms in 16-bit code with 66 67 */
	CHECK_EQ(DEC(&i, 16, 0x66, 0x67, 0x8b, 0x44, 0x24, 0x04), 6);
	CHECK_EQ(i.osz, 4);
	CHECK_EQ(i.asz, 4);
	CHECK_EQ(i.base, R_RSP);
	/* 16-bit forms in 32-bit code with 67 */
	CHECK_EQ(DEC(&i, 32, 0x67, 0x8b, 0x00), 3);
	CHECK_EQ(i.asz, 2);
	CHECK(i.base == R_RBX && i.index == R_RSI);
	CHECK_EQ(DEC(&i, 32, 0x67, 0x8b, 0x06, 0x00, 0x10), 5);
	CHECK_EQ(i.disp, 0x1000);
}

TEST(tcg_decode_segment_overrides)
{
	struct insn i;
	CHECK_EQ(DEC(&i, 32, 0x26, 0x8b, 0x45, 0x00), 4);  /* es: [ebp] */
	CHECK_EQ(i.seg, S_ES);
	CHECK(i.seg_override);
	CHECK_EQ(DEC(&i, 32, 0x3e, 0x8b, 0x04, 0x24), 4);  /* ds: [esp] */
	CHECK_EQ(i.seg, S_DS);
	CHECK(i.seg_override);
	CHECK_EQ(DEC(&i, 16, 0x2e, 0x8b, 0x46, 0x00), 4);  /* cs: [bp] */
	CHECK_EQ(i.seg, S_CS);
	CHECK_EQ(DEC(&i, 32, 0x64, 0x26, 0x8b, 0x00), 4);  /* last wins */
	CHECK_EQ(i.seg, S_ES);
	/* string instructions take the override for the source */
	CHECK_EQ(DEC(&i, 32, 0x65, 0xa4), 2);
	CHECK_EQ(i.seg, S_GS);
	CHECK_EQ(DEC(&i, 32, 0xa4), 1);
	CHECK_EQ(i.seg, S_DS);
	/* 64-bit mode ignores ES CS SS DS, honours FS GS */
	CHECK_EQ(DEC(&i, 64, 0x26, 0x8b, 0x45, 0x00), 4);
	CHECK_EQ(i.seg, S_SS);
	CHECK(!i.seg_override);
	CHECK_EQ(DEC(&i, 64, 0x2e, 0x8b, 0x00), 3);
	CHECK_EQ(i.seg, S_DS);
	CHECK(!i.seg_override);
	CHECK_EQ(DEC(&i, 64, 0x64, 0x8b, 0x04, 0x24), 4);
	CHECK_EQ(i.seg, S_FS);
	CHECK(i.seg_override);
	CHECK_EQ(DEC(&i, 64, 0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0), 9);
	CHECK_EQ(i.seg, S_GS);
	CHECK_EQ(i.disp, 0x28);
}

TEST(tcg_decode_prefixes)
{
	struct insn i;
	CHECK_EQ(DEC(&i, 32, 0x66, 0x0f, 0x6f, 0xc1), 4);  /* movdqa */
	CHECK_EQ(i.pfx, PFX_66);
	CHECK(i.opsize_prefix);
	CHECK_EQ(i.osz, 2);
	CHECK_EQ(i.map, MAP_0F);
	CHECK_EQ(i.op, 0x6f);
	CHECK_EQ(DEC(&i, 32, 0xf3, 0x66, 0x0f, 0x6f, 0xc1), 5);
	CHECK_EQ(i.pfx, PFX_F3);
	CHECK_EQ(i.rep, 0xf3);
	CHECK_EQ(DEC(&i, 32, 0x66, 0xf2, 0x0f, 0x58, 0xc1), 5);
	CHECK_EQ(i.pfx, PFX_F2);
	CHECK_EQ(i.rep, 0xf2);
	CHECK_EQ(DEC(&i, 32, 0xf2, 0xf3, 0xa4), 3);        /* last wins */
	CHECK_EQ(i.rep, 0xf3);
	CHECK_EQ(i.pfx, PFX_F3);
	CHECK_EQ(DEC(&i, 32, 0xf3, 0xf2, 0xa6), 3);
	CHECK_EQ(i.rep, 0xf2);
	CHECK_EQ(DEC(&i, 32, 0x66, 0x66, 0x66, 0x90), 4);  /* repeated */
	CHECK_EQ(i.osz, 2);
	/* REX right before the opcode counts */
	CHECK_EQ(DEC(&i, 64, 0x66, 0x48, 0x89, 0xc0), 4);
	CHECK_EQ(i.rex, 0x48);
	CHECK_EQ(i.osz, 8);                                 /* W beats 66 */
	/* a REX followed by another prefix is ignored */
	CHECK_EQ(DEC(&i, 64, 0x48, 0x66, 0x89, 0xc0), 4);
	CHECK_EQ(i.rex, 0);
	CHECK_EQ(i.osz, 2);
	CHECK_EQ(DEC(&i, 64, 0x41, 0x64, 0x58), 3);
	CHECK_EQ(i.rex, 0);
	CHECK_EQ(i.opreg, 0);
	/* of two REX bytes the last counts */
	CHECK_EQ(DEC(&i, 64, 0x48, 0x41, 0x58), 3);
	CHECK_EQ(i.rex, 0x41);
	CHECK_EQ(i.opreg, 8);
	/* REX.B extends the opcode register */
	CHECK_EQ(DEC(&i, 64, 0x41, 0x0f, 0xc9), 3);        /* bswap r9d */
	CHECK_EQ(i.opreg, 9);
	/* 67 */
	CHECK_EQ(DEC(&i, 64, 0x67, 0xac), 2);
	CHECK_EQ(i.asz, 4);
	CHECK_EQ(DEC(&i, 16, 0x67, 0xac), 2);
	CHECK_EQ(i.asz, 4);
	CHECK_EQ(DEC(&i, 32, 0x67, 0xac), 2);
	CHECK_EQ(i.asz, 2);
	/* LOCK flag */
	CHECK_EQ(DEC(&i, 32, 0xf0, 0x01, 0x00), 3);
	CHECK(i.lock);
}

TEST(tcg_decode_operand_size_64)
{
	struct insn i;
	/* d64: push/pop default to 64, 66 gives 16 */
	CHECK_EQ(DEC(&i, 64, 0x50), 1);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0x66, 0x50), 2);
	CHECK_EQ(i.osz, 2);
	CHECK_EQ(DEC(&i, 64, 0x48, 0x5f), 2);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0xff, 0x30), 2);              /* push [rax] */
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0x8f, 0x00), 2);              /* pop [rax] */
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0x9c), 1);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0xc9), 1);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0x0f, 0xa0), 2);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0x6a, 0x01), 2);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0x68, 1, 0, 0, 0), 5);        /* push Iz: imm32 */
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(i.imm_size, 4);
	CHECK_EQ(DEC(&i, 64, 0x66, 0x68, 1, 0), 4);
	CHECK_EQ(i.osz, 2);
	CHECK_EQ(i.imm_size, 2);
	/* f64: near branches are 64-bit, 66 ignored (Intel) */
	CHECK_EQ(DEC(&i, 64, 0xe8, 1, 0, 0, 0), 5);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0x66, 0xe8, 1, 0, 0, 0), 6);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(i.imm_size, 4);
	CHECK_EQ(DEC(&i, 64, 0x66, 0x0f, 0x84, 1, 0, 0, 0), 7);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0x66, 0xc3), 2);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0x66, 0xff, 0xd0), 3);        /* call rax */
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 64, 0x66, 0xff, 0x20), 3);        /* jmp [rax] */
	CHECK_EQ(i.osz, 8);
	/* far jmp [rax] keeps the ordinary rule */
	CHECK_EQ(DEC(&i, 64, 0xff, 0x28), 2);
	CHECK_EQ(i.osz, 4);
	CHECK_EQ(DEC(&i, 64, 0x48, 0xff, 0x28), 3);
	CHECK_EQ(i.osz, 8);
	/* other instructions default to 32 */
	CHECK_EQ(DEC(&i, 64, 0x01, 0xc0), 2);
	CHECK_EQ(i.osz, 4);
	CHECK_EQ(DEC(&i, 64, 0x66, 0x01, 0xc0), 3);
	CHECK_EQ(i.osz, 2);
	CHECK_EQ(DEC(&i, 64, 0x88, 0xc0), 2);              /* byte op */
	CHECK_EQ(i.osz, 4);
	/* outside 64-bit mode the same opcodes follow the D bit and 66 */
	CHECK_EQ(DEC(&i, 32, 0x66, 0xe8, 1, 0), 4);
	CHECK_EQ(i.osz, 2);
	CHECK_EQ(i.imm_size, 2);
	CHECK_EQ(DEC(&i, 16, 0x50), 1);
	CHECK_EQ(i.osz, 2);
	CHECK_EQ(DEC(&i, 16, 0xe8, 1, 0), 3);
	CHECK_EQ(i.osz, 2);
	/* MOV CR/DR: 32 bits (64 in 64-bit mode), 66 ignored, no memory */
	CHECK_EQ(DEC(&i, 32, 0x66, 0x0f, 0x20, 0xc0), 4);
	CHECK_EQ(i.osz, 4);
	CHECK_EQ(DEC(&i, 64, 0x0f, 0x22, 0xd8), 3);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0x22, 0x18, 0x11, 0x22), 3); /* mod ignored */
	CHECK(!i.mem);
	CHECK_EQ(i.rm, 0);
	CHECK_EQ(i.reg, 3);
}

TEST(tcg_decode_immediates)
{
	struct insn i;
	CHECK_EQ(DEC(&i, 32, 0xb8, 0x78, 0x56, 0x34, 0x12), 5);
	CHECK_EQ(i.imm, 0x12345678);
	CHECK_EQ(i.imm_size, 4);
	CHECK_EQ(DEC(&i, 64, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 0x88), 10);
	CHECK_EQ(i.imm, 0x8807060504030201ULL);
	CHECK_EQ(i.imm_size, 8);
	CHECK_EQ(DEC(&i, 64, 0x49, 0xbf, 1, 2, 3, 4, 5, 6, 7, 8), 10);
	CHECK_EQ(i.opreg, 15);
	CHECK_EQ(DEC(&i, 64, 0x66, 0xb8, 0x34, 0x12), 4);
	CHECK_EQ(i.imm, 0x1234);
	CHECK_EQ(DEC(&i, 16, 0xb8, 0x34, 0x12), 3);
	CHECK_EQ(i.imm_size, 2);
	CHECK_EQ(DEC(&i, 32, 0xb0, 0xff), 2);
	CHECK_EQ(i.imm, 0xff);                              /* zero-extended */
	CHECK_EQ(DEC(&i, 32, 0x83, 0xc0, 0xff), 3);
	CHECK_EQ(i.imm, 0xff);
	CHECK_EQ(i.imm_size, 1);
	CHECK_EQ(tcg_simm(&i), -1);
	CHECK_EQ(DEC(&i, 32, 0x66, 0x81, 0xc0, 0x34, 0x12), 5);
	CHECK_EQ(i.imm_size, 2);
	CHECK_EQ(DEC(&i, 64, 0x48, 0x81, 0xc0, 0, 0, 0, 0x80), 7);
	CHECK_EQ(i.imm_size, 4);
	CHECK_EQ(tcg_simm(&i), (int64_t)(int32_t)0x80000000);
	CHECK_EQ(DEC(&i, 32, 0x69, 0xc0, 1, 0, 0, 0), 6);
	CHECK_EQ(DEC(&i, 32, 0x6b, 0xc0, 1), 3);
	CHECK_EQ(DEC(&i, 32, 0xc0, 0xe0, 4), 3);
	CHECK_EQ(DEC(&i, 32, 0xc6, 0x00, 4), 3);
	CHECK_EQ(DEC(&i, 32, 0xc7, 0x44, 0x24, 4, 1, 0, 0, 0), 8);
	CHECK_EQ(i.disp, 4);
	CHECK_EQ(i.imm, 1);
	CHECK_EQ(DEC(&i, 32, 0xa8, 1), 2);
	CHECK_EQ(DEC(&i, 32, 0xa9, 1, 0, 0, 0), 5);
	CHECK_EQ(DEC(&i, 32, 0xcd, 0x80), 2);
	CHECK_EQ(i.imm, 0x80);
	CHECK_EQ(DEC(&i, 32, 0xe4, 0x60), 2);
	CHECK_EQ(DEC(&i, 32, 0xc2, 8, 0), 3);
	CHECK_EQ(i.imm_size, 2);
	CHECK_EQ(DEC(&i, 32, 0xca, 8, 0), 3);
	CHECK_EQ(DEC(&i, 32, 0xd4, 0x0a), 2);
	/* group 3: only TEST has an immediate */
	CHECK_EQ(DEC(&i, 32, 0xf6, 0xc0, 0x12), 3);
	CHECK_EQ(i.imm, 0x12);
	CHECK_EQ(DEC(&i, 32, 0xf6, 0xc8, 0x12), 3);        /* /1 alias */
	CHECK_EQ(DEC(&i, 32, 0xf6, 0xd0), 2);              /* not */
	CHECK_EQ(i.imm_size, 0);
	CHECK_EQ(DEC(&i, 32, 0xf7, 0xc0, 1, 2, 3, 4), 6);
	CHECK_EQ(i.imm, 0x04030201);
	CHECK_EQ(DEC(&i, 32, 0x66, 0xf7, 0x00, 1, 2), 5);
	CHECK_EQ(i.imm_size, 2);
	CHECK_EQ(DEC(&i, 32, 0xf7, 0xd8), 2);              /* neg */
	CHECK_EQ(DEC(&i, 32, 0xf7, 0x30), 2);              /* div [eax] */
	CHECK_EQ(DEC(&i, 64, 0x48, 0xf7, 0xc0, 1, 0, 0, 0), 7);
	CHECK_EQ(i.imm_size, 4);
	/* two-byte and three-byte map immediates */
	CHECK_EQ(DEC(&i, 32, 0x0f, 0x70, 0xc1, 0x1b), 4);
	CHECK_EQ(i.imm, 0x1b);
	CHECK_EQ(DEC(&i, 32, 0x66, 0x0f, 0x73, 0xd8, 4), 5);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xba, 0xe0, 5), 4);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xa4, 0xc0, 5), 4);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xac, 0xc0, 5), 4);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xa5, 0xc0), 3);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xc2, 0xc1, 1), 4);
	CHECK_EQ(DEC(&i, 32, 0x66, 0x0f, 0xc4, 0xc1, 1), 5);
	CHECK_EQ(DEC(&i, 32, 0x66, 0x0f, 0xc5, 0xc1, 1), 5);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xc6, 0xc1, 1), 4);
	CHECK_EQ(DEC(&i, 32, 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 8), 6);
	CHECK_EQ(i.map, MAP_0F3A);
	CHECK_EQ(i.op, 0x0f);
	CHECK_EQ(i.pfx, PFX_66);
	CHECK_EQ(i.imm, 8);
	CHECK_EQ(DEC(&i, 32, 0x66, 0x0f, 0x38, 0x00, 0xc1), 5);
	CHECK_EQ(i.map, MAP_0F38);
	CHECK_EQ(i.op, 0);
	CHECK_EQ(i.imm_size, 0);
	CHECK_EQ(DEC(&i, 64, 0x66, 0x0f, 0x3a, 0x16, 0x44, 0x24, 8, 1), 8);
	CHECK_EQ(i.disp, 8);
	CHECK_EQ(i.imm, 1);
}

TEST(tcg_decode_moffs_far_enter)
{
	struct insn i;
	CHECK_EQ(DEC(&i, 64, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8), 9);
	CHECK_EQ(i.imm, 0x0807060504030201ULL);
	CHECK_EQ(i.imm_size, 8);
	CHECK_EQ(DEC(&i, 64, 0x67, 0xa0, 1, 2, 3, 4), 6);
	CHECK_EQ(i.imm, 0x04030201);
	CHECK_EQ(DEC(&i, 64, 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), 10);
	CHECK_EQ(i.osz, 8);
	CHECK_EQ(DEC(&i, 32, 0xa1, 1, 2, 3, 4), 5);
	CHECK_EQ(DEC(&i, 32, 0x67, 0xa1, 1, 2), 4);
	CHECK_EQ(i.imm, 0x0201);
	CHECK_EQ(DEC(&i, 16, 0xa2, 1, 2), 3);
	CHECK_EQ(DEC(&i, 32, 0x66, 0xa1, 1, 2, 3, 4), 6);  /* 66: data, not address */
	/* far pointers: offset, then selector into imm2 */
	CHECK_EQ(DEC(&i, 32, 0x9a, 0x78, 0x56, 0x34, 0x12, 0xcd, 0xab), 7);
	CHECK_EQ(i.imm, 0x12345678);
	CHECK_EQ(i.imm_size, 4);
	CHECK_EQ(i.imm2, 0xabcd);
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 16, 0xea, 0x34, 0x12, 0x00, 0xf0), 5);
	CHECK_EQ(i.imm, 0x1234);
	CHECK_EQ(i.imm_size, 2);
	CHECK_EQ(i.imm2, 0xf000);
	CHECK_EQ(DEC(&i, 16, 0x66, 0xea, 1, 0, 0, 0, 8, 0), 8);
	CHECK_EQ(i.imm, 1);
	CHECK_EQ(i.imm2, 8);
	/* ENTER Iw, Ib */
	CHECK_EQ(DEC(&i, 32, 0xc8, 0x10, 0x00, 0x01), 4);
	CHECK_EQ(i.imm, 0x10);
	CHECK_EQ(i.imm_size, 2);
	CHECK_EQ(i.imm2, 1);
	CHECK_EQ(DEC(&i, 64, 0xc8, 0x10, 0x00, 0x00), 4);
	CHECK_EQ(i.osz, 8);
}

TEST(tcg_decode_branches_end_blocks)
{
	struct insn i;
	CHECK_EQ(DEC(&i, 32, 0xeb, 0xfe), 2);
	CHECK(i.ends_block);
	CHECK_EQ(i.imm, 0xfe);
	CHECK_EQ(tcg_simm(&i), -2);
	CHECK_EQ(DEC(&i, 32, 0x74, 0x05), 2);
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0x85, 0, 1, 0, 0), 6);
	CHECK(i.ends_block);
	CHECK_EQ(i.imm, 0x100);
	CHECK_EQ(DEC(&i, 16, 0x0f, 0x85, 0, 1), 4);
	CHECK_EQ(DEC(&i, 32, 0xe2, 0xfe), 2);              /* loop */
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0xe9, 0, 0, 0, 0), 5);
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0xff, 0xe0), 2);              /* jmp eax */
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0xff, 0x10), 2);              /* call [eax] */
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0xff, 0x18), 2);              /* call far [eax] */
	CHECK(i.ends_block);
	CHECK(!IS_UD(i));

	static const uint8_t enders_1b[] = {
		0xc3, 0xcb, 0xcc, 0xce, 0xcf, 0xf1, 0xf4, 0x9d,
		0x07, 0x17, 0x1f, 0x6c, 0x6d, 0x6e, 0x6f, 0xec, 0xed, 0xee, 0xef,
	};
	for (unsigned k = 0; k < sizeof(enders_1b); k++) {
		CHECK_EQ(dec(&i, 32, &enders_1b[k], 1), 1);
		CHECK(i.ends_block);
		CHECK(!IS_UD(i));
	}
	/* CLI and STI go on (STI stops the block itself when an interrupt
	 * waits), and so do SWAPGS and RDTSCP of group 7, unlike LGDT */
	CHECK_EQ(DEC(&i, 32, 0xfa), 1);
	CHECK(!i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0xfb), 1);
	CHECK(!i.ends_block);
	CHECK_EQ(DEC(&i, 64, 0x0f, 0x01, 0xf8), 3);        /* swapgs */
	CHECK(!i.ends_block);
	CHECK_EQ(DEC(&i, 64, 0x0f, 0x01, 0xf9), 3);        /* rdtscp */
	CHECK(!i.ends_block);
	CHECK_EQ(DEC(&i, 64, 0x0f, 0x01, 0xfa), 3);        /* monitorx: ends */
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 64, 0x0f, 0x01, 0x10), 3);        /* lgdt [rax] */
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0x8e, 0xd0), 2);              /* mov ss, ax */
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0xc4, 0x00), 2);              /* les */
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xb2, 0x00), 3);        /* lss */
	CHECK(i.ends_block);
	static const uint8_t enders_0f[] = {
		0x05, 0x06, 0x07, 0x08, 0x09, 0x30, 0x34, 0x35, 0xa1, 0xa2,
		0xa9, 0xaa,
	};
	for (unsigned k = 0; k < sizeof(enders_0f); k++) {
		uint8_t b[2] = { 0x0f, enders_0f[k] };
		CHECK_EQ(dec(&i, 32, b, 2), 2);
		CHECK(i.ends_block);
	}
	CHECK_EQ(DEC(&i, 32, 0x0f, 0x01, 0x10), 3);        /* lgdt */
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0x00, 0xd8), 3);        /* ltr */
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0x22, 0xc0), 3);        /* mov cr0 */
	CHECK(i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xae, 0x08), 3);        /* fxrstor */
	CHECK(i.ends_block);
	/* ordinary instructions do not end blocks */
	CHECK_EQ(DEC(&i, 32, 0x89, 0xc0), 2);
	CHECK(!i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0x0f, 0x20, 0xc0), 3);        /* mov eax, cr0 */
	CHECK(!i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0xff, 0x30), 2);              /* push [eax] */
	CHECK(!i.ends_block);
	CHECK_EQ(DEC(&i, 32, 0x8c, 0xd8), 2);              /* mov ax, ds */
	CHECK(!i.ends_block);
}

TEST(tcg_decode_length_limit)
{
	struct insn i;
	uint8_t b[32];

	memset(b, 0x66, sizeof(b));
	b[14] = 0x90;                                   /* 14 prefixes + nop */
	CHECK_EQ(dec(&i, 32, b, sizeof(b)), 15);
	CHECK_EQ(i.len, 15);
	b[14] = 0x66;
	b[15] = 0x90;                                   /* 16 bytes */
	CHECK_EQ(dec(&i, 32, b, sizeof(b)), -1);
	CHECK_EQ(dec(&i, 64, b, sizeof(b)), -1);
	/* an endless prefix run is cut at 15 bytes, even with more data */
	memset(b, 0x2e, sizeof(b));
	CHECK_EQ(dec(&i, 16, b, sizeof(b)), -1);
	memset(b, 0x48, sizeof(b));                     /* REX run */
	CHECK_EQ(dec(&i, 64, b, sizeof(b)), -1);
	/* too long by its displacement and immediate, even with avail short */
	memset(b, 0x3e, sizeof(b));
	static const uint8_t tail[] = { 0x81, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8 };
	memcpy(b + 4, tail, sizeof(tail));              /* 15 bytes: fits */
	CHECK_EQ(dec(&i, 32, b, 15), 15);
	CHECK_EQ(i.disp, 0x04030201);
	CHECK_EQ(i.imm, 0x08070605);
	memset(b, 0x3e, sizeof(b));
	memcpy(b + 5, tail, sizeof(tail));              /* 16 bytes */
	CHECK_EQ(dec(&i, 32, b, 16), -1);
	CHECK_EQ(dec(&i, 32, b, 9), -1);
	/* still just fetching: not yet known to be too long */
	CHECK_EQ(dec(&i, 32, b, 7), 0);
}

TEST(tcg_decode_avail_short)
{
	struct insn i;
	/* the length, then the bytes */
	static const uint8_t insns[][16] = {
		{ 8, 0x66, 0x0f, 0x3a, 0x0f, 0x44, 0x24, 0x08, 0x08 },
		{ 10, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 },
		{ 11, 0xc7, 0x84, 0x24, 1, 0, 0, 0, 2, 0, 0, 0 },
		{ 7, 0x9a, 1, 2, 3, 4, 5, 6 },
		{ 4, 0xc8, 1, 0, 2 },
		{ 3, 0xf6, 0x00, 1 },
		{ 4, 0x0f, 0x85, 0, 0 },
		{ 14, 0xf0, 0x65, 0x48, 0x81, 0x84, 0x24, 1, 0, 0, 0, 2, 0, 0, 0 },
	};
	static const int bits[] = { 32, 64, 32, 32, 32, 32, 16, 64 };
	for (unsigned k = 0; k < sizeof(insns) / sizeof(insns[0]); k++) {
		unsigned len = insns[k][0];
		for (unsigned n = 0; n < len; n++)
			CHECK_EQ(dec(&i, bits[k], insns[k] + 1, n), 0);
		CHECK_EQ(dec(&i, bits[k], insns[k] + 1, len), len);
		CHECK_EQ(i.len, len);
	}
}

/* Bytes at the very end of a page followed by an unmapped page: the
 * decoder must stay within avail whatever the bytes are. */
TEST(tcg_decode_never_reads_past_avail)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(map != MAP_FAILED);
	CHECK(mprotect(map + page, page, PROT_NONE) == 0);
	uint32_t seed = 12345;
	struct insn i;
	fill_ops();
	for (int iter = 0; iter < 200000; iter++) {
		unsigned n = iter % 16;
		uint8_t *b = map + page - n;
		for (unsigned k = 0; k < n; k++) {
			seed = seed * 1103515245 + 12345;
			b[k] = seed >> 16;
		}
		int bits = iter % 3 == 0 ? 16 : iter % 3 == 1 ? 32 : 64;
		int r = tcg_decode(&i, b, n, bits);
		CHECK(r >= -1 && r <= (int)n);
		if (r > 0) {
			CHECK_EQ(i.len, r);
			CHECK(i.fn != NULL);
		}
	}
	munmap(map, 2 * page);
}

/* Random bytes: with fewer bytes than the length the answer is 0 (or -1
 * once the instruction is known to be too long), with exactly the length
 * the same instruction. */
TEST(tcg_decode_prefix_consistent)
{
	uint32_t seed = 777;
	uint8_t b[16];
	struct insn full, part;
	fill_ops();
	for (int iter = 0; iter < 30000; iter++) {
		for (unsigned k = 0; k < sizeof(b); k++) {
			seed = seed * 1103515245 + 12345;
			b[k] = seed >> 16;
		}
		int bits = iter % 3 == 0 ? 16 : iter % 3 == 1 ? 32 : 64;
		int r = tcg_decode(&full, b, sizeof(b), bits);
		CHECK(r == -1 || (r >= 1 && r <= 15));
		if (r < 0) {
			for (unsigned n = 0; n < sizeof(b); n++)
				CHECK(tcg_decode(&part, b, n, bits) <= 0);
			continue;
		}
		for (int n = 0; n < r; n++)
			CHECK_EQ(tcg_decode(&part, b, n, bits), 0);
		CHECK_EQ(tcg_decode(&part, b, r, bits), r);
		CHECK(part.fn == full.fn && part.len == full.len);
		CHECK(part.map == full.map && part.op == full.op);
		CHECK(part.osz == full.osz && part.asz == full.asz);
		CHECK(part.mem == full.mem && part.base == full.base);
		CHECK(part.index == full.index && part.disp == full.disp);
		CHECK(part.imm == full.imm && part.imm2 == full.imm2);
		CHECK(part.seg == full.seg && part.ends_block == full.ends_block);
	}
}

TEST(tcg_decode_lock)
{
	struct insn i;
	/* lockable with a memory destination */
	CHECK_EQ(DEC(&i, 32, 0xf0, 0x01, 0x00), 3);
	CHECK(!IS_UD(i));
	static const uint8_t ok[][8] = {
		{ 3, 0xf0, 0x00, 0x00 }, { 3, 0xf0, 0x09, 0x00 },
		{ 3, 0xf0, 0x10, 0x00 }, { 3, 0xf0, 0x19, 0x00 },
		{ 3, 0xf0, 0x20, 0x00 }, { 3, 0xf0, 0x29, 0x00 },
		{ 3, 0xf0, 0x30, 0x00 }, { 3, 0xf0, 0x31, 0x00 },
		{ 4, 0xf0, 0x80, 0x30, 1 }, { 4, 0xf0, 0x83, 0x28, 1 },
		{ 7, 0xf0, 0x81, 0x00, 1, 0, 0, 0 },
		{ 3, 0xf0, 0x86, 0x00 }, { 3, 0xf0, 0x87, 0x00 },
		{ 3, 0xf0, 0xf6, 0x10 }, { 3, 0xf0, 0xf7, 0x18 },
		{ 3, 0xf0, 0xfe, 0x00 }, { 3, 0xf0, 0xff, 0x08 },
		{ 4, 0xf0, 0x0f, 0xab, 0x00 }, { 4, 0xf0, 0x0f, 0xb3, 0x00 },
		{ 4, 0xf0, 0x0f, 0xbb, 0x00 },
		{ 5, 0xf0, 0x0f, 0xba, 0x28, 1 }, { 5, 0xf0, 0x0f, 0xba, 0x30, 1 },
		{ 5, 0xf0, 0x0f, 0xba, 0x38, 1 },
		{ 4, 0xf0, 0x0f, 0xb0, 0x00 }, { 4, 0xf0, 0x0f, 0xb1, 0x00 },
		{ 4, 0xf0, 0x0f, 0xc0, 0x00 }, { 4, 0xf0, 0x0f, 0xc1, 0x00 },
		{ 4, 0xf0, 0x0f, 0xc7, 0x08 },
	};
	for (unsigned k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
		CHECK_EQ(dec(&i, 32, ok[k] + 1, ok[k][0]), ok[k][0]);
		CHECK(i.lock);
		CHECK(!IS_UD(i));
	}
	static const uint8_t bad[][8] = {
		{ 3, 0xf0, 0x01, 0xc0 },        /* register destination */
		{ 3, 0xf0, 0x03, 0x00 },        /* add reg, mem */
		{ 3, 0xf0, 0x39, 0x00 },        /* cmp */
		{ 3, 0xf0, 0x8b, 0x00 },        /* mov */
		{ 3, 0xf0, 0x89, 0x00 },
		{ 4, 0xf0, 0x80, 0x38, 1 },     /* cmp Ib */
		{ 4, 0xf0, 0x80, 0xc0, 1 },     /* add al, Ib */
		{ 4, 0xf0, 0xf6, 0x00, 1 },     /* test */
		{ 3, 0xf0, 0xf7, 0x20 },        /* mul */
		{ 3, 0xf0, 0xff, 0x30 },        /* push */
		{ 3, 0xf0, 0xfe, 0xc0 },        /* inc al */
		{ 2, 0xf0, 0x90 },
		{ 2, 0xf0, 0xa4 },              /* movs */
		{ 4, 0xf0, 0x0f, 0xa3, 0x00 },  /* bt */
		{ 5, 0xf0, 0x0f, 0xba, 0x20, 1 }, /* bt Ib */
		{ 4, 0xf0, 0x0f, 0xc7, 0x30 },  /* vmptrld */
		{ 4, 0xf0, 0x0f, 0xc1, 0xc0 },  /* xadd reg */
		{ 4, 0xf0, 0x0f, 0x20, 0xc0 },  /* mov cr (AMD's CR8 alias) */
		{ 5, 0xf0, 0x0f, 0x38, 0xf0, 0x00 },
		{ 3, 0xf0, 0xd0, 0x00 },        /* shifts */
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		CHECK_EQ(dec(&i, 32, bad[k] + 1, bad[k][0]), bad[k][0]);
		CHECK(IS_UD(i));
		CHECK(i.ends_block);
	}
	/* in 64-bit mode too, with REX */
	CHECK_EQ(DEC(&i, 64, 0xf0, 0x48, 0x0f, 0xc7, 0x0e), 5); /* cmpxchg16b */
	CHECK(!IS_UD(i));
	CHECK_EQ(DEC(&i, 64, 0xf0, 0x48, 0x01, 0xc0), 4);
	CHECK(IS_UD(i));
}

TEST(tcg_decode_invalid_in_64bit)
{
	struct insn i;
	static const uint8_t ops[] = {
		0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37,
		0x3f, 0x60, 0x61, 0x62, 0x82, 0x9a, 0xce, 0xd4,
		0xd5, 0xd6, 0xea,
	};  /* C4 and C5 (LES, LDS) are VEX prefixes there: tcg_decode_vex */
	for (unsigned k = 0; k < sizeof(ops); k++) {
		/* a memory-form ModRM and enough bytes for any immediate */
		uint8_t b[15] = { ops[k], 0x00, 0, 0, 0, 0, 0, 0 };
		int r = dec(&i, 64, b, sizeof(b));
		CHECK(r > 0);
		CHECK(IS_UD(i));
		CHECK(i.ends_block);
		r = dec(&i, 32, b, sizeof(b));
		CHECK(r > 0);
		CHECK(!IS_UD(i));
	}
	/* VEX (C4 C5) and EVEX (62) are ModRM.mod 11 outside 64-bit mode:
	 * vzeroupper, vbroadcastss xmm0, [eax]; EVEX is #UD */
	CHECK_EQ(DEC(&i, 32, 0xc5, 0xf8, 0x77), 3);
	CHECK(i.vex && !IS_UD(i));
	CHECK_EQ(DEC(&i, 16, 0xc4, 0xe2, 0x79, 0x18, 0x00), 5);
	CHECK(i.vex && !IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0x62, 0xf1, 0x7c, 0x48, 0x28, 0xc1), 2);
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0xc5, 0x06, 0x34, 0x12), 2);  /* lds eax, [0x1234] */
	CHECK(!IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0x62, 0x00), 2);              /* bound */
	CHECK(!IS_UD(i));
	/* 8F /1-/7 is XOP */
	CHECK_EQ(DEC(&i, 32, 0x8f, 0xc0), 2);
	CHECK(!IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0x8f, 0xe8, 0x78, 0xc2, 0xc1, 0x01), 2);
	CHECK(IS_UD(i));
	/* but 63 (MOVSXD) is fine in 64-bit mode */
	CHECK_EQ(DEC(&i, 64, 0x48, 0x63, 0xc1), 3);
	CHECK(!IS_UD(i));
}

TEST(tcg_decode_vex)
{
	struct insn i;
	/* vaddps ymm10, ymm9, [r13 + rcx*4 + 8]: C4, R=0 X=1 B=0 (inverted),
	 * map 0F, W0 vvvv=~9 L1 pp none */
	CHECK_EQ(DEC(&i, 64, 0xc4, 0x41, 0x34, 0x58, 0x54, 0x8d, 0x08), 7);
	CHECK(i.vex && !IS_UD(i));
	CHECK_EQ(i.map, MAP_0F);
	CHECK_EQ(i.op, 0x58);
	CHECK_EQ(i.pfx, PFX_NONE);
	CHECK_EQ(i.vex_l, 1);
	CHECK_EQ(i.vex_w, 0);
	CHECK_EQ(i.vvvv, 9);
	CHECK_EQ(i.reg, 10);
	CHECK(i.mem);
	CHECK_EQ(i.base, 13);
	CHECK_EQ(i.index, R_RCX);
	CHECK_EQ(i.scale, 2);
	CHECK_EQ(i.disp, 8);
	CHECK_EQ(i.osz, 4);
	/* vpxor xmm1, xmm2, xmm3 (C5, pp 66): vvvv 2, no REX bits */
	CHECK_EQ(DEC(&i, 64, 0xc5, 0xe9, 0xef, 0xcb), 4);
	CHECK(i.vex && i.map == MAP_0F && i.op == 0xef && i.pfx == PFX_66);
	CHECK(i.vvvv == 2 && i.reg == 1 && i.rm == 3 && !i.mem && i.vex_l == 0);
	/* andn rax, rbx, rcx: VEX.0F38 F2 with W1 is 64-bit */
	CHECK_EQ(DEC(&i, 64, 0xc4, 0xe2, 0xe0, 0xf2, 0xc1), 5);
	CHECK(i.map == MAP_0F38 && i.op == 0xf2 && i.osz == 8 && i.vvvv == 3);
	CHECK(i.vex_w == 1 && i.reg == 0 && i.rm == 1);
	/* W1 outside 64-bit mode: vector W stays, operand size 32, no REX */
	CHECK_EQ(DEC(&i, 32, 0xc4, 0xe2, 0xe0, 0xf2, 0xc1), 5);
	CHECK(i.osz == 4 && i.vex_w == 1 && i.rex == 0 && i.vvvv == 3);
	/* 0F3A takes an Ib: vpermq ymm0, ymm1, 0x1b */
	CHECK_EQ(DEC(&i, 64, 0xc4, 0xe3, 0xfd, 0x00, 0xc1, 0x1b), 6);
	CHECK(i.map == MAP_0F3A && i.imm == 0x1b && i.vex_l == 1);
	/* #UD: after 66, F3, LOCK or REX; reserved maps 0 and 4 */
	CHECK(DEC(&i, 64, 0x66, 0xc5, 0xe9, 0xef, 0xcb) > 0 && IS_UD(i));
	CHECK(DEC(&i, 64, 0xf3, 0xc5, 0xe9, 0xef, 0xcb) > 0 && IS_UD(i));
	CHECK(DEC(&i, 64, 0xf0, 0xc5, 0xe9, 0xef, 0xcb) > 0 && IS_UD(i));
	CHECK(DEC(&i, 64, 0x40, 0xc5, 0xe9, 0xef, 0xcb) > 0 && IS_UD(i));
	CHECK(DEC(&i, 64, 0xc4, 0xe0, 0x79, 0x00, 0xc0) > 0 && IS_UD(i));
	CHECK(DEC(&i, 64, 0xc4, 0xe4, 0x79, 0x00, 0xc0) > 0 && IS_UD(i));
	/* segment and address-size prefixes are fine */
	CHECK_EQ(DEC(&i, 64, 0x65, 0x67, 0xc5, 0xfa, 0x6f, 0x00), 6);
	CHECK(i.vex && !IS_UD(i) && i.seg == S_GS && i.asz == 4 && i.pfx == PFX_F3);
	/* an empty slot of tcg_vex_ops is #UD, whatever tcg_ops holds */
	tcg_vex_ops[MAP_0F][0x58] = NULL;
	CHECK_EQ(tcg_decode(&i, BYTES(0xc5, 0xf8, 0x58, 0xc1), 4, 64), 4);
	CHECK(IS_UD(i));
	/* outside 64-bit mode, one byte of C5 alone could be LDS or VEX */
	CHECK_EQ(tcg_decode(&i, BYTES(0xc5), 1, 32), 0);
}

TEST(tcg_decode_undefined)
{
	struct insn i;
	static const uint8_t ud_0f[] = {
		0x04, 0x0a, 0x0b, 0x0c, 0x0e, 0x25, 0x27, 0x36, 0x39,
		0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x7a, 0x7b, 0xa6, 0xa7,
	};
	for (unsigned k = 0; k < sizeof(ud_0f); k++) {
		uint8_t b[4] = { 0x0f, ud_0f[k], 0xc0, 0 };
		CHECK(dec(&i, 32, b, sizeof(b)) > 0);
		CHECK(IS_UD(i));
		CHECK(i.ends_block);
	}
	CHECK_EQ(DEC(&i, 32, 0x0f, 0x0f, 0xc1, 0x9e), 4);  /* 3DNow! pfadd */
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xb9, 0xc0), 3);        /* UD1 */
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xff, 0xc0), 3);        /* UD0 */
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0x0f, 0x24, 0xc0), 3);        /* MOV TR */
	CHECK(IS_UD(i));
	/* group members the SDM leaves undefined */
	CHECK_EQ(DEC(&i, 32, 0xfe, 0xd0), 2);
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0xff, 0x38), 2);
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xba, 0x00, 1), 4);
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0xc6, 0xf8, 1), 3);           /* XABORT: no RTM */
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0xc7, 0xf8, 0, 0, 0, 0), 6);  /* XBEGIN */
	CHECK(IS_UD(i));
	/* memory-only operands given a register */
	CHECK_EQ(DEC(&i, 32, 0x8d, 0xc0), 2);              /* lea */
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0xff, 0xd8), 2);              /* call far eax */
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0xff, 0xe8), 2);              /* jmp far eax */
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xb4, 0xc0), 3);        /* lfs */
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0x0f, 0xc7, 0xc8), 3);        /* cmpxchg8b reg */
	CHECK(IS_UD(i));
	CHECK_EQ(DEC(&i, 32, 0x8d, 0x00), 2);
	CHECK(!IS_UD(i));
}

TEST(tcg_decode_handler_lookup)
{
	struct insn i;
	uint8_t b[] = { 0x0f, 0x38, 0x2a, 0x00 };

	fill_ops();
	tcg_ops[MAP_0F38][0x2a] = NULL;                 /* no handler: #UD */
	CHECK_EQ(tcg_decode(&i, b, sizeof(b), 32), 4);
	CHECK(i.fn == tcg_op_ud);
	CHECK(i.ends_block);
	tcg_ops[MAP_0F38][0x2a] = fake_handler;
	CHECK_EQ(tcg_decode(&i, b, sizeof(b), 32), 4);
	CHECK(i.fn == fake_handler);
	CHECK(!i.ends_block);
	memset(tcg_ops, 0, sizeof(tcg_ops));
	CHECK_EQ(tcg_decode(&i, b, 1, 32), 0);
	CHECK_EQ(tcg_decode(&i, BYTES(0x90), 1, 32), 1);
	CHECK(i.fn == tcg_op_ud);
}

TEST(tcg_ops_init_fills_table)
{
	memset(tcg_ops, 0, sizeof(tcg_ops));
	tcg_ops_init();
	tcg_ops_init();                                 /* only once */
	CHECK(tcg_ops[MAP_1B][0x01] != NULL);           /* alu: add */
	CHECK(tcg_ops[MAP_1B][0x89] != NULL);           /* alu: mov */
	CHECK(tcg_ops[MAP_1B][0x74] != NULL);           /* branch: jz */
	CHECK(tcg_ops[MAP_1B][0xa4] != NULL);           /* string: movs */
	CHECK(tcg_ops[MAP_1B][0xf4] != NULL);           /* system: hlt */
	CHECK(tcg_ops[MAP_1B][0xcd] != NULL);           /* seg: int */
	CHECK(tcg_ops[MAP_1B][0xd9] != NULL);           /* fpu */
	CHECK(tcg_ops[MAP_0F][0x28] != NULL);           /* sse: movaps */
}
