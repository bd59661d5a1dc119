/*
 * The instruction generators' shared declarations (gen-*.c).
 */
#ifndef QVM_TCG_JIT_GEN_H
#define QVM_TCG_JIT_GEN_H

#include "tcg/jit/tr.h"

/* A ModRM instruction run as the same host instruction (gen-mirror.c). */
struct mirror {
	uint8_t map, op;        /* host opcode (MAP_1B, MAP_0F or MAP_0F38) */
	uint8_t pfx;            /* a mandatory prefix (F3: TZCNT, LZCNT), or 0 */
	uint8_t group;          /* ModRM.reg when there is no register operand */
	uint8_t size;           /* operand size: 1 for byte forms, else osz */
	uint8_t msize;          /* bytes of the r/m operand */
	bool r_read, r_write;   /* the register operand (host rcx) */
	bool m_write;           /* the r/m operand is written (else read) */
	bool cl_count;          /* the guest's CL into the host's */
	bool implicit_ax;       /* the guest's rAX into the host's first */
	uint8_t ax_out, dx_out; /* store rAX / rDX after, at this size */
	bool lock;
	bool fmay;              /* the host instruction may change flags */
	unsigned freads, fwrites;
	bool fmaybe;            /* gen_info.fmaybe */
	uint64_t imm;
	uint8_t imm_size;
};

bool mirror_of(const struct tr *t, const struct insn *i, struct mirror *m);
bool gen_mirror(struct tr *t, const struct mirror *m);

/* gen-sse.c: a generator for instruction i, if it has one there
 * (filled into gi) */
bool jit_classify_sse(const struct tr *t, const struct insn *i, struct gen_info *gi);
/* gen-sse.c: SIMD floating point under the guest MXCSR.  jit_fp_check:
 * the slow path unless the guest masks every exception (host flags
 * change: save live guest flags first); jit_fp_begin/end: the guest
 * MXCSR in the host's around the instruction, its new flags kept. */
void jit_fp_check(struct tr *t);
void jit_fp_begin(struct emit *e);
void jit_fp_end(struct emit *e);
/* gen-vex.c: the same for VEX-encoded instructions */
bool jit_classify_vex(const struct tr *t, const struct insn *i, struct gen_info *gi);
/* gen-vex.c: the AVX checks the translation key leaves out (CR4.OSXSAVE,
 * XCR0's SSE and AVX), once per block; live guest flags saved first */
void jit_avx_check(struct tr *t);
/* gen-gather.c: the AVX2 gathers, element by element with TLB checks */
bool jit_gather_ok(const struct tr *t, const struct insn *i);
bool jit_gen_gather(struct tr *t);
/* gen-div.c: the same for DIV and IDIV */
bool jit_classify_div(const struct tr *t, const struct insn *i, struct gen_info *gi);

/* gen-system.c: SWAPGS, RDTSC, RDTSCP and CLI at CPL 0 */
bool jit_classify_system(const struct tr *t, const struct insn *i, struct gen_info *gi);

/* The flags condition code cc (0-15) reads. */
unsigned cc_flags(unsigned cc);

#endif
