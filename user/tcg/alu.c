/*
 * Integer instructions: the eight ALU operations, INC/DEC, moves, stack
 * pushes and pops, shifts and rotates, multiply and divide, bit tests and
 * scans, BCD adjustments, CMPXCHG/XADD and the other 0F integer opcodes.
 * Semantics follow the Intel SDM Vol. 2 entry of each instruction; where
 * the SDM leaves a flag undefined we give what the Intel host gives.
 *
 * Read-modify-write operands go through rm_rmw()/mem_rmw(): the new value
 * is stored before any flag or register changes, so a faulting store
 * leaves the instruction restartable.  With LOCK (or XCHG with memory) the
 * operand is updated with a host atomic on guest RAM, else under
 * tcg_atomic_lock().
 */
#include <sys/random.h>
#include "alu.h"

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static _Noreturn void raise_ud(struct tcg_cpu *c)
{
	tcg_raise(c, EXC_UD, NO_ERRCODE);
}

static _Noreturn void raise_de(struct tcg_cpu *c)
{
	tcg_raise(c, EXC_DE, NO_ERRCODE);
}

/* LOCK is #UD on anything but a memory-destination RMW (SDM Vol. 2,
 * "LOCK"). */
static inline void no_lock(struct tcg_cpu *c, const struct insn *i)
{
	if (__builtin_expect(i->lock, 0))
		raise_ud(c);
}

static inline void lock_needs_mem(struct tcg_cpu *c, const struct insn *i)
{
	if (__builtin_expect(i->lock && !i->mem, 0))
		raise_ud(c);
}

/* Opcodes that are invalid in 64-bit mode (PUSHA, BOUND, BCD ...). */
static inline void not_64(struct tcg_cpu *c)
{
	if (tcg_code64(c))
		raise_ud(c);
}

static inline void need_mem(struct tcg_cpu *c, const struct insn *i)
{
	if (!i->mem)
		raise_ud(c);
}

/* Size of the classic byte/full pairs: even opcode byte, odd full. */
static inline unsigned op_size(const struct insn *i)
{
	return (i->op & 1) ? i->osz : 1;
}

/* Operand size of PUSH/POP and other stack ops: 64 bits in 64-bit mode
 * unless 66 selects 16 (SDM Vol. 1, 3.6.1). */
static inline unsigned stack_osz(const struct tcg_cpu *c, const struct insn *i)
{
	if (tcg_code64(c))
		return i->osz == 2 ? 2 : 8;
	return i->osz;
}

/* Near branches in 64-bit mode are 64-bit; Intel CPUs ignore 66 there. */
static inline unsigned branch_osz(const struct tcg_cpu *c, const struct insn *i)
{
	return tcg_code64(c) ? 8 : i->osz;
}

/* Replace the arithmetic flags in mask with those of f. */
static inline void update_flags(struct tcg_cpu *c, uint64_t mask, uint64_t f)
{
	uint64_t cur = tcg_arith_flags(c);

	tcg_set_arith_flags(c, (cur & ~mask) | (f & mask));
}

/* ------------------------------------------------------------------ */
/* Atomic read-modify-write on guest memory                            */

enum rmw_kind { RMW_CAS, RMW_XCHG, RMW_ADD, RMW_SUB, RMW_OR, RMW_AND, RMW_XOR };

typedef uint64_t (*rmw_fn)(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
			   uint64_t old, uint64_t arg, unsigned sel);

/* x86 hosts do locked operations on any alignment; elsewhere only
 * naturally aligned ones are atomic, the rest take the global lock. */
static inline bool host_atomic_ok(const void *p, unsigned size)
{
#if defined(__x86_64__) || defined(__i386__)
	(void)p;
	(void)size;
	return true;
#else
	return ((uintptr_t)p & (size - 1)) == 0;
#endif
}

#define SEQ __ATOMIC_SEQ_CST

#define FETCH_KIND(T, p, kind, arg)                                         \
	do {                                                                \
		T *p_ = (T *)(p);                                           \
		T a_ = (T)(arg);                                            \
		switch (kind) {                                             \
		case RMW_XCHG: return __atomic_exchange_n(p_, a_, SEQ);     \
		case RMW_ADD: return __atomic_fetch_add(p_, a_, SEQ);       \
		case RMW_SUB: return __atomic_fetch_sub(p_, a_, SEQ);       \
		case RMW_OR: return __atomic_fetch_or(p_, a_, SEQ);         \
		case RMW_AND: return __atomic_fetch_and(p_, a_, SEQ);       \
		default: return __atomic_fetch_xor(p_, a_, SEQ);            \
		}                                                           \
	} while (0)

static uint64_t atomic_fetch_kind(void *p, unsigned size, enum rmw_kind kind, uint64_t arg)
{
	switch (size) {
	case 1: FETCH_KIND(uint8_t, p, kind, arg);
	case 2: FETCH_KIND(uint16_t, p, kind, arg);
	case 4: FETCH_KIND(uint32_t, p, kind, arg);
	default: FETCH_KIND(uint64_t, p, kind, arg);
	}
}

static uint64_t atomic_load_sz(void *p, unsigned size)
{
	switch (size) {
	case 1: return __atomic_load_n((uint8_t *)p, SEQ);
	case 2: return __atomic_load_n((uint16_t *)p, SEQ);
	case 4: return __atomic_load_n((uint32_t *)p, SEQ);
	default: return __atomic_load_n((uint64_t *)p, SEQ);
	}
}

#define CAS_SIZED(T, p, expected, desired)                                  \
	do {                                                                \
		T e_ = (T)*(expected);                                      \
		bool ok_ = __atomic_compare_exchange_n((T *)(p), &e_, (T)(desired), \
						       false, SEQ, SEQ);    \
		*(expected) = e_;                                           \
		return ok_;                                                 \
	} while (0)

/* Compare-exchange: true when *p held *expected; else *expected gets *p. */
static bool atomic_cas(void *p, unsigned size, uint64_t *expected, uint64_t desired)
{
	switch (size) {
	case 1: CAS_SIZED(uint8_t, p, expected, desired);
	case 2: CAS_SIZED(uint16_t, p, expected, desired);
	case 4: CAS_SIZED(uint32_t, p, expected, desired);
	default: CAS_SIZED(uint64_t, p, expected, desired);
	}
}

/* Plain (unlocked) access to a host pointer from tcg_rmw_ptr(). */
static ALWAYS_INLINE uint64_t host_ld_sz(const void *p, unsigned size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

static ALWAYS_INLINE void host_st_sz(void *p, unsigned size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = v; break;
	case 2: { uint16_t x = v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

/* Locked RMW on something that is not plain RAM (MMIO, split across
 * pages): the global lock serialises it with other such accesses.  The
 * probe makes every fault happen before the lock is taken. */
static uint64_t locked_slow(struct tcg_cpu *c, int seg, uint64_t off, unsigned size,
			    rmw_fn fn, uint64_t arg, unsigned sel, struct cc_rec *cc)
{
	uint64_t old, new;

	tcg_probe_write(c, seg, off, size);
	tcg_atomic_lock();
	old = tcg_ld(c, seg, off, size);
	new = fn(c, cc, size, old, arg, sel);
	tcg_st(c, seg, off, size, new);
	tcg_atomic_unlock();
	return old;
}

/* Read-modify-write of size bytes at seg:off: returns the old value; fn
 * computes the new one and the flag record (committed by the caller). */
static ALWAYS_INLINE uint64_t mem_rmw(struct tcg_cpu *c, int seg, uint64_t off,
				      unsigned size, bool locked, enum rmw_kind kind,
				      rmw_fn fn, uint64_t arg, unsigned sel,
				      struct cc_rec *cc)
{
	uint64_t old, new;
	void *p;

	/* translated for a write first: a fault reports W in its error
	 * code, as the hardware's read-modify-write cycle does */
	p = tcg_rmw_ptr(c, seg, off, size);
	if (!locked) {
		if (p) {
			old = host_ld_sz(p, size);
			host_st_sz(p, size, fn(c, cc, size, old, arg, sel));
			return old;
		}
		old = tcg_ld(c, seg, off, size);
		tcg_st(c, seg, off, size, fn(c, cc, size, old, arg, sel));
		return old;
	}
	if (!p || !host_atomic_ok(p, size))
		return locked_slow(c, seg, off, size, fn, arg, sel, cc);
	if (kind != RMW_CAS) {
		old = atomic_fetch_kind(p, size, kind, arg);
		fn(c, cc, size, old, arg, sel);
		return old;
	}
	old = atomic_load_sz(p, size);
	do {
		new = fn(c, cc, size, old, arg, sel);
	} while (!atomic_cas(p, size, &old, new));
	return old;
}

/* RMW of the r/m operand (register, or memory honouring LOCK). */
static ALWAYS_INLINE uint64_t rm_rmw(struct tcg_cpu *c, const struct insn *i,
				     unsigned size, enum rmw_kind kind, rmw_fn fn,
				     uint64_t arg, unsigned sel, struct cc_rec *cc)
{
	uint64_t old;

	if (!i->mem) {
		old = tcg_reg_get(c, i, i->rm, size);
		tcg_reg_set(c, i, i->rm, size, fn(c, cc, size, old, arg, sel));
		return old;
	}
	return mem_rmw(c, i->seg, tcg_ea(c, i), size, i->lock, kind, fn, arg, sel, cc);
}

/* ------------------------------------------------------------------ */
/* ADD OR ADC SBB AND SUB XOR CMP                                      */


static const uint8_t alu_rmw_kind[8] = {
	RMW_ADD, RMW_OR, RMW_CAS, RMW_CAS, RMW_AND, RMW_SUB, RMW_XOR, RMW_CAS,
};

static uint64_t alu_fn(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
		       uint64_t old, uint64_t arg, unsigned sel)
{
	return alu_calc(c, cc, size, old, arg, sel);
}

/* op r/m, src (ADD Eb,Gb ... and group 1): CMP only reads. */
static ALWAYS_INLINE void alu_rm(struct tcg_cpu *c, const struct insn *i,
				 unsigned op, unsigned size, uint64_t src)
{
	struct cc_rec cc;

	if (op == ALU_CMP) {
		no_lock(c, i);
		alu_calc(c, &cc, size, tcg_rm_get(c, i, size), src, op);
	} else {
		lock_needs_mem(c, i);
		rm_rmw(c, i, size, alu_rmw_kind[op], alu_fn, src, op, &cc);
	}
	cc_commit(c, &cc, size);
}

/* 00-3D: the six encodings of each ALU operation. */
static void op_alu(struct tcg_cpu *c, const struct insn *i)
{
	unsigned op = (i->op >> 3) & 7, size = op_size(i);
	struct cc_rec cc;
	uint64_t r;

	switch (i->op & 7) {
	case 0:
	case 1:
		alu_rm(c, i, op, size, tcg_modreg_get(c, i, size));
		return;
	case 2:
	case 3:
		no_lock(c, i);
		r = alu_calc(c, &cc, size, tcg_modreg_get(c, i, size),
			     tcg_rm_get(c, i, size), op);
		if (op != ALU_CMP)
			tcg_modreg_set(c, i, size, r);
		break;
	default:
		no_lock(c, i);
		r = alu_calc(c, &cc, size, tcg_reg_get(c, i, R_RAX, size), tcg_simm(i), op);
		if (op != ALU_CMP)
			tcg_reg_set(c, i, R_RAX, size, r);
		break;
	}
	cc_commit(c, &cc, size);
}

/* 80-83: group 1, op r/m, imm. */
static void op_grp1(struct tcg_cpu *c, const struct insn *i)
{
	if (i->op == 0x82)
		not_64(c);
	alu_rm(c, i, i->reg & 7, op_size(i), tcg_simm(i));
}

/* 84/85 TEST r/m, reg; A8/A9 TEST rAX, imm (test_calc in alu.h). */

static void op_test_rm(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = op_size(i);

	no_lock(c, i);
	test_calc(c, size, tcg_rm_get(c, i, size), tcg_modreg_get(c, i, size));
}

static void op_test_acc(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = op_size(i);

	no_lock(c, i);
	test_calc(c, size, tcg_reg_get(c, i, R_RAX, size), tcg_simm(i));
}

/* ------------------------------------------------------------------ */
/* INC DEC NOT NEG                                                      */

static uint64_t incdec_fn(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
			  uint64_t old, uint64_t arg, unsigned dec)
{
	uint64_t r = (dec ? old - 1 : old + 1) & size_mask(size);

	(void)arg;
	cc_put(cc, dec ? CC_OP_DEC : CC_OP_INC, r, 0, tcg_cf(c));
	return r;
}

static void incdec_rm(struct tcg_cpu *c, const struct insn *i, unsigned size, bool dec)
{
	struct cc_rec cc;

	lock_needs_mem(c, i);
	rm_rmw(c, i, size, RMW_CAS, incdec_fn, 0, dec, &cc);
	cc_commit(c, &cc, size);
}

/* 40-4F outside 64-bit mode */
static void op_incdec_reg(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz, r = i->op & 7;
	struct cc_rec cc;

	no_lock(c, i);
	tcg_reg_set(c, i, r, size, incdec_fn(c, &cc, size, tcg_reg_get(c, i, r, size), 0,
					 i->op & 8));
	cc_commit(c, &cc, size);
}

static uint64_t not_fn(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
		       uint64_t old, uint64_t arg, unsigned sel)
{
	(void)c;
	(void)arg;
	(void)sel;
	cc->op = CC_KEEP;
	return ~old & size_mask(size);
}

static uint64_t neg_fn(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
		       uint64_t old, uint64_t arg, unsigned sel)
{
	uint64_t r = -old & size_mask(size);

	(void)c;
	(void)arg;
	(void)sel;
	cc_put(cc, CC_OP_SUB, r, old & size_mask(size), 0); /* 0 - old */
	return r;
}

/* ------------------------------------------------------------------ */
/* Shifts and rotates: C0 C1 D0-D3                                      */

static uint64_t rotate_carry(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
			     uint64_t v, unsigned count, bool left)
{
	unsigned bits = size * 8, w = bits + 1;
	unsigned n = size < 4 ? count % w : count;
	unsigned __int128 x, wmask = ((unsigned __int128)1 << w) - 1;
	uint64_t cf = tcg_cf(c), of;

	if (n == 0) {
		/* SDM: RCL/RCR count mod 9/17 of 0 changes no flag */
		cc->op = CC_KEEP;
		return v;
	}
	x = ((unsigned __int128)cf << bits) | v;
	if (left) {
		x = ((x << n) | (x >> (w - n))) & wmask;
		/* OF of the first step: the two top bits differed */
		of = (v ^ (v << 1)) & sign_bit(size);
	} else {
		x = ((x >> n) | (x << (w - n))) & wmask;
		of = ((v & sign_bit(size)) != 0) != cf;
	}
	cc_put(cc, CC_OP_EFLAGS, 0, (tcg_arith_flags(c) & ~(uint64_t)(FL_CF | FL_OF)) |
	       ((uint64_t)(x >> bits) & 1 ? FL_CF : 0) | (of ? FL_OF : 0), 0);
	return (uint64_t)x & size_mask(size);
}

/* ROL/ROR: CF is the bit rotated last; OF is defined for a count of 1
 * (SDM Vol. 2 "RCL/RCR/ROL/ROR").  For other counts the host gives OF of
 * the first one-bit step, except that a register operand rotated by an
 * immediate count keeps OF (keep_of). */
static uint64_t rotate(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
		       uint64_t v, unsigned count, bool left, bool keep_of)
{
	unsigned bits = size * 8, n = count & (bits - 1);
	uint64_t mask = size_mask(size), r = v, f, cur = tcg_arith_flags(c);

	if (left) {
		if (n)
			r = ((v << n) | (v >> (bits - n))) & mask;
		f = (r & 1) ? FL_CF : 0;
		if ((v ^ (v << 1)) & sign_bit(size))
			f |= FL_OF;
	} else {
		if (n)
			r = ((v >> n) | (v << (bits - n))) & mask;
		f = (r & sign_bit(size)) ? FL_CF : 0;
		if (((v & sign_bit(size)) != 0) != (v & 1))
			f |= FL_OF;
	}
	if (keep_of && count != 1)
		f = (f & ~(uint64_t)FL_OF) | (cur & FL_OF);
	cc_put(cc, CC_OP_EFLAGS, 0, (cur & ~(uint64_t)(FL_CF | FL_OF)) | f, 0);
	return r;
}

/* SH_IMM in sel: the count came from an immediate */
#define SH_IMM 0x10u

/* count is already masked and nonzero */
static uint64_t shift_fn(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
			 uint64_t v, uint64_t count, unsigned sel)
{
	v &= size_mask(size);
	switch (sel & 7) {
	case SH_ROL:
		return rotate(c, cc, size, v, count, true, sel & SH_IMM);
	case SH_ROR:
		return rotate(c, cc, size, v, count, false, sel & SH_IMM);
	case SH_RCL:
		return rotate_carry(c, cc, size, v, count, true);
	case SH_RCR:
		return rotate_carry(c, cc, size, v, count, false);
	default:
		return shift_calc(cc, size, v, count, sel & 7);
	}
}

/* A masked count of 0: nothing changes, but the operand is still read
 * and a 32-bit register written (zero-extended), and a memory operand
 * faults as a write would (its #PF error code has W), as on the host. */
static void shift_count_zero(struct tcg_cpu *c, const struct insn *i, unsigned size)
{
	if (!i->mem) {
		tcg_reg_set(c, i, i->rm, size, tcg_reg_get(c, i, i->rm, size));
		return;
	}
	uint64_t off = tcg_ea(c, i);
	tcg_probe_write(c, i->seg, off, size);
	tcg_ld(c, i->seg, off, size);
}

/* SDM: the count is masked to 5 bits (6 with REX.W). */
static void shift_rm(struct tcg_cpu *c, const struct insn *i, uint64_t count,
		     unsigned imm)
{
	unsigned size = op_size(i);
	struct cc_rec cc;

	no_lock(c, i);
	count &= size == 8 ? 63 : 31;
	if (count == 0) {
		shift_count_zero(c, i, size);
		return;
	}
	rm_rmw(c, i, size, RMW_CAS, shift_fn, count, (i->reg & 7) | (i->mem ? 0 : imm), &cc);
	cc_commit(c, &cc, size);
}

static void op_shift_imm(struct tcg_cpu *c, const struct insn *i)
{
	shift_rm(c, i, i->imm & 0xff, SH_IMM);
}

static void op_shift_1(struct tcg_cpu *c, const struct insn *i)
{
	shift_rm(c, i, 1, 0);
}

static void op_shift_cl(struct tcg_cpu *c, const struct insn *i)
{
	shift_rm(c, i, c->s.regs[R_RCX] & 0xff, 0);
}

/*
 * SHLD/SHRD (0F A4 A5 AC AD).  sel holds the count and SHXD_LEFT; arg
 * the source register.  A 16-bit operand with a count above 16 has an
 * undefined result: Intel CPUs shift the 48-bit value dest:src:dest,
 * which this reproduces.  OF is that of the first one-bit step, AF 0
 * (both checked on the host).
 */
#define SHXD_LEFT 0x100u

static uint64_t shxd_fn(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
			uint64_t dest, uint64_t src, unsigned sel)
{
	unsigned count = sel & 0xff, bits = size * 8;
	unsigned wide = size == 2 ? 48 : 2 * bits;
	uint64_t mask = size_mask(size), r, f;
	unsigned __int128 x;

	(void)c;
	dest &= mask;
	src &= mask;
	if (size == 2)
		x = (dest << 32) | (src << 16) | dest;
	else if (sel & SHXD_LEFT)
		x = ((unsigned __int128)dest << bits) | src;
	else
		x = ((unsigned __int128)src << bits) | dest;
	if (sel & SHXD_LEFT) {
		r = (uint64_t)(x >> (wide - bits - count)) & mask;
		f = (uint64_t)(x >> (wide - count)) & 1 ? FL_CF : 0;
		if ((dest ^ (dest << 1)) & sign_bit(size))
			f |= FL_OF;
	} else {
		r = (uint64_t)(x >> count) & mask;
		f = (uint64_t)(x >> (count - 1)) & 1 ? FL_CF : 0;
		if (((dest & sign_bit(size)) != 0) != (src & 1))
			f |= FL_OF;
	}
	cc_put(cc, CC_OP_EFLAGS, 0, f | zsp_flags(r, size), 0);
	return r;
}

static void shxd(struct tcg_cpu *c, const struct insn *i, uint64_t count, bool left)
{
	unsigned size = i->osz;
	struct cc_rec cc;

	no_lock(c, i);
	count &= size == 8 ? 63 : 31;
	if (count == 0) {
		shift_count_zero(c, i, size);
		return;
	}
	rm_rmw(c, i, size, RMW_CAS, shxd_fn, tcg_modreg_get(c, i, size),
	       count | (left ? SHXD_LEFT : 0), &cc);
	cc_commit(c, &cc, size);
}

static void op_shld_imm(struct tcg_cpu *c, const struct insn *i)
{
	shxd(c, i, i->imm & 0xff, true);
}

static void op_shld_cl(struct tcg_cpu *c, const struct insn *i)
{
	shxd(c, i, c->s.regs[R_RCX] & 0xff, true);
}

static void op_shrd_imm(struct tcg_cpu *c, const struct insn *i)
{
	shxd(c, i, i->imm & 0xff, false);
}

static void op_shrd_cl(struct tcg_cpu *c, const struct insn *i)
{
	shxd(c, i, c->s.regs[R_RCX] & 0xff, false);
}

/* ------------------------------------------------------------------ */
/* Multiply and divide                                                  */

/* Signed product truncated to size; *wide: it did not fit. */
static uint64_t imul_trunc(unsigned size, uint64_t a, uint64_t b, bool *wide)
{
	if (size == 8) {
		__int128 p = (__int128)(int64_t)a * (int64_t)b;

		*wide = p != (int64_t)p;
		return (uint64_t)p;
	}
	int64_t p = sext(a, size) * sext(b, size);

	*wide = p != sext(p, size);
	return (uint64_t)p & size_mask(size);
}

/* 69, 6B: IMUL reg, r/m, imm */
static void op_imul_imm(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz;
	bool wide;
	uint64_t r;

	no_lock(c, i);
	r = imul_trunc(size, tcg_rm_get(c, i, size), tcg_simm(i), &wide);
	tcg_modreg_set(c, i, size, r);
	tcg_set_cc(c, CC_OP_MUL, size, r, wide, 0);
}

/* 0F AF: IMUL reg, r/m */
static void op_imul_rm(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz;
	bool wide;
	uint64_t r;

	no_lock(c, i);
	r = imul_trunc(size, tcg_modreg_get(c, i, size), tcg_rm_get(c, i, size), &wide);
	tcg_modreg_set(c, i, size, r);
	tcg_set_cc(c, CC_OP_MUL, size, r, wide, 0);
}

/* Write a double-size result: AH:AL for bytes, else rDX:rAX. */
static void put_acc_pair(struct tcg_cpu *c, const struct insn *i, unsigned size,
			 uint64_t lo, uint64_t hi)
{
	if (size == 1) {
		tcg_reg_set(c, i, R_RAX, 2, (hi & 0xff) << 8 | (lo & 0xff));
		return;
	}
	tcg_reg_set(c, i, R_RAX, size, lo);
	tcg_reg_set(c, i, R_RDX, size, hi);
}

/* F6/F7 /4 MUL, /5 IMUL: rDX:rAX = rAX * r/m */
static void mul_acc(struct tcg_cpu *c, const struct insn *i, unsigned size, bool sign)
{
	uint64_t src = tcg_rm_get(c, i, size), a = tcg_reg_get(c, i, R_RAX, size);
	uint64_t mask = size_mask(size), lo, hi;
	unsigned bits = size * 8;
	bool wide;

	if (size == 8 && sign) {
		__int128 p = (__int128)(int64_t)a * (int64_t)src;

		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
		wide = p != (int64_t)lo;
	} else if (size == 8) {
		unsigned __int128 p = (unsigned __int128)a * src;

		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
		wide = hi != 0;
	} else if (sign) {
		int64_t p = sext(a, size) * sext(src, size);

		lo = (uint64_t)p & mask;
		hi = (uint64_t)(p >> bits) & mask;
		wide = p != sext(lo, size);
	} else {
		uint64_t p = a * src;

		lo = p & mask;
		hi = p >> bits;
		wide = hi != 0;
	}
	put_acc_pair(c, i, size, lo, hi);
	tcg_set_cc(c, CC_OP_MUL, size, lo, wide, 0);
}

/* F6/F7 /6 DIV: #DE on a zero divisor or a quotient that does not fit
 * (SDM Vol. 2 "DIV").  Flags are undefined; the host leaves them. */
static void div_acc(struct tcg_cpu *c, const struct insn *i, unsigned size)
{
	uint64_t d = tcg_rm_get(c, i, size), mask = size_mask(size), q, r;

	if (d == 0)
		raise_de(c);
	if (size == 8) {
		uint64_t hi = c->s.regs[R_RDX], lo = c->s.regs[R_RAX];
		unsigned __int128 n = (unsigned __int128)hi << 64 | lo;

		if (hi >= d)
			raise_de(c);
		q = (uint64_t)(n / d);
		r = (uint64_t)(n % d);
	} else {
		uint64_t n;

		if (size == 1)
			n = tcg_reg_get(c, i, R_RAX, 2);
		else
			n = tcg_reg_get(c, i, R_RDX, size) << (size * 8) |
			    tcg_reg_get(c, i, R_RAX, size);
		q = n / d;
		r = n % d;
		if (q > mask)
			raise_de(c);
	}
	put_acc_pair(c, i, size, q, r);
}

/* F6/F7 /7 IDIV: also #DE for INT_MIN / -1, never a host trap. */
static void idiv_acc(struct tcg_cpu *c, const struct insn *i, unsigned size)
{
	int64_t d = sext(tcg_rm_get(c, i, size), size), q, r;

	if (d == 0)
		raise_de(c);
	if (size == 8) {
		unsigned __int128 u = (unsigned __int128)c->s.regs[R_RDX] << 64 |
				      c->s.regs[R_RAX];
		__int128 n = (__int128)u, q128;

		if (d == -1) {
			if (u == (unsigned __int128)1 << 127)
				raise_de(c);
			q128 = -n;
			r = 0;
		} else {
			q128 = n / d;
			r = (int64_t)(n % d);
		}
		if (q128 != (int64_t)q128)
			raise_de(c);
		q = (int64_t)q128;
	} else {
		int64_t n;

		if (size == 1)
			n = sext(tcg_reg_get(c, i, R_RAX, 2), 2);
		else
			n = sext(tcg_reg_get(c, i, R_RDX, size) << (size * 8) |
				 tcg_reg_get(c, i, R_RAX, size), size * 2);
		if (d == -1 && n == INT64_MIN)
			raise_de(c);
		q = n / d;
		r = n % d;
		if (q != sext((uint64_t)q, size))
			raise_de(c);
	}
	put_acc_pair(c, i, size, (uint64_t)q, (uint64_t)r);
}

/* F6/F7: group 3 */
static void op_grp3(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = op_size(i);
	struct cc_rec cc;

	switch (i->reg & 7) {
	case 0:
	case 1:
		no_lock(c, i);
		test_calc(c, size, tcg_rm_get(c, i, size), tcg_simm(i));
		return;
	case 2:
		lock_needs_mem(c, i);
		rm_rmw(c, i, size, RMW_XOR, not_fn, size_mask(size), 0, &cc);
		return;
	case 3:
		lock_needs_mem(c, i);
		rm_rmw(c, i, size, RMW_CAS, neg_fn, 0, 0, &cc);
		cc_commit(c, &cc, size);
		return;
	}
	no_lock(c, i);
	switch (i->reg & 7) {
	case 4: mul_acc(c, i, size, false); break;
	case 5: mul_acc(c, i, size, true); break;
	case 6: div_acc(c, i, size); break;
	default: idiv_acc(c, i, size); break;
	}
}

/* ------------------------------------------------------------------ */
/* Stack                                                                */

/* Register of 50+r, 90+r, B0+r, 0F C8+r: low opcode bits and REX.B. */
static inline unsigned opcode_reg(const struct insn *i)
{
	return (i->op & 7) | ((i->rex & 1) << 3);
}

static void op_push_reg(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = stack_osz(c, i);

	no_lock(c, i);
	tcg_push(c, size, tcg_reg_get(c, i, opcode_reg(i), size));
}

static void op_pop_reg(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = stack_osz(c, i);
	uint64_t v;

	no_lock(c, i);
	v = tcg_pop(c, size);
	tcg_reg_set(c, i, opcode_reg(i), size, v);
}

/* 68, 6A */
static void op_push_imm(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = stack_osz(c, i);

	no_lock(c, i);
	tcg_push(c, size, (uint64_t)tcg_simm(i) & size_mask(size));
}

/* 8F /0: POP r/m.  SDM: an rSP base addresses the operand with rSP
 * already incremented; the store happens before rSP changes. */
static void op_pop_rm(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = stack_osz(c, i);
	uint64_t v, off;

	no_lock(c, i);
	if (i->reg & 7)
		raise_ud(c);
	if (!i->mem) {
		v = tcg_pop(c, size);
		tcg_reg_set(c, i, i->rm, size, v);
		return;
	}
	v = tcg_stack_peek(c, size, 0);
	off = tcg_ea(c, i);
	if (i->base == R_RSP)
		off = (off + size) & size_mask(i->asz);
	tcg_st(c, i->seg, off, size, v);
	tcg_sp_add(c, size);
}

/* 60 PUSHA: all stores first, then rSP (restartable). */
static void op_pusha(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz, r;
	uint64_t smask = size_mask(tcg_stack_size(c)), sp = c->s.regs[R_RSP];

	not_64(c);
	no_lock(c, i);
	for (r = 0; r < 8; r++)
		tcg_st(c, S_SS, (sp - (r + 1) * size) & smask, size,
		       r == R_RSP ? sp & size_mask(size) : tcg_reg_get(c, i, r, size));
	tcg_sp_add(c, -8 * (int64_t)size);
}

/* 61 POPA: the stored rSP is skipped. */
static void op_popa(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz, k;
	uint64_t v[8];

	not_64(c);
	no_lock(c, i);
	for (k = 0; k < 8; k++)
		v[k] = tcg_stack_peek(c, size, k * size);
	for (k = 0; k < 8; k++)
		if (7 - k != R_RSP)
			tcg_reg_set(c, i, 7 - k, size, v[k]);
	tcg_sp_add(c, 8 * size);
}

/* ------------------------------------------------------------------ */
/* Moves and exchanges                                                  */

static void op_mov_rm_reg(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = op_size(i);

	no_lock(c, i);
	tcg_rm_set(c, i, size, tcg_modreg_get(c, i, size));
}

static void op_mov_reg_rm(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = op_size(i);

	no_lock(c, i);
	tcg_modreg_set(c, i, size, tcg_rm_get(c, i, size));
}

/* C6/C7 /0 */
static void op_mov_rm_imm(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = op_size(i);

	no_lock(c, i);
	if (i->reg & 7)
		raise_ud(c);
	tcg_rm_set(c, i, size, (uint64_t)tcg_simm(i) & size_mask(size));
}

/* B0-BF */
static void op_mov_reg_imm(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	tcg_reg_set(c, i, opcode_reg(i), (i->op & 8) ? i->osz : 1, i->imm);
}

/* A0-A3: MOV with a moffs of the address size */
static void op_mov_moffs(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = op_size(i);
	uint64_t off = i->imm & size_mask(i->asz);

	no_lock(c, i);
	if (i->op & 2)
		tcg_st(c, i->seg, off, size, tcg_reg_get(c, i, R_RAX, size));
	else
		tcg_reg_set(c, i, R_RAX, size, tcg_ld(c, i->seg, off, size));
}

/* 8D LEA: the register form is #UD. */
static void op_lea(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	need_mem(c, i);
	tcg_modreg_set(c, i, i->osz, tcg_ea(c, i));
}

static uint64_t xchg_fn(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
			uint64_t old, uint64_t arg, unsigned sel)
{
	(void)c;
	(void)size;
	(void)old;
	(void)sel;
	cc->op = CC_KEEP;
	return arg;
}

/* 86/87: XCHG with memory is always locked (SDM Vol. 2 "XCHG"). */
static void op_xchg_rm(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = op_size(i);
	uint64_t src = tcg_modreg_get(c, i, size), old;
	struct cc_rec cc;

	if (!i->mem) {
		no_lock(c, i);
		old = tcg_reg_get(c, i, i->rm, size);
		tcg_reg_set(c, i, i->rm, size, src);
		tcg_modreg_set(c, i, size, old);
		return;
	}
	old = mem_rmw(c, i->seg, tcg_ea(c, i), size, true, RMW_XCHG, xchg_fn, src, 0, &cc);
	tcg_modreg_set(c, i, size, old);
}

/* 90-97: XCHG rAX, reg.  90 itself is NOP (and F3 90 PAUSE): it does
 * not zero-extend EAX in 64-bit mode (SDM Vol. 2 "NOP", "XCHG"). */
static void op_xchg_acc(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz, r = opcode_reg(i);
	uint64_t a, b;

	no_lock(c, i);
	if (r == R_RAX)
		return;
	a = tcg_reg_get(c, i, R_RAX, size);
	b = tcg_reg_get(c, i, r, size);
	tcg_reg_set(c, i, R_RAX, size, b);
	tcg_reg_set(c, i, r, size, a);
}

/* 98: CBW/CWDE/CDQE */
static void op_cbw(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz;

	no_lock(c, i);
	tcg_reg_set(c, i, R_RAX, size, (uint64_t)sext(tcg_reg_get(c, i, R_RAX, size / 2), size / 2));
}

/* 99: CWD/CDQ/CQO */
static void op_cwd(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz;

	no_lock(c, i);
	tcg_reg_set(c, i, R_RDX, size, (tcg_reg_get(c, i, R_RAX, size) & sign_bit(size)) ? ~0ULL : 0);
}

/* 63: MOVSXD in 64-bit mode (without REX.W a plain 32- or 16-bit move,
 * as the host does), ARPL elsewhere (#UD in real and v86 mode). */
static void op_63(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t dest, src;

	no_lock(c, i);
	if (tcg_code64(c)) {
		if (i->osz == 8)
			tcg_modreg_set(c, i, 8, (uint64_t)sext(tcg_rm_get(c, i, 4), 4));
		else
			tcg_modreg_set(c, i, i->osz, tcg_rm_get(c, i, i->osz));
		return;
	}
	if (!tcg_protected(c) || tcg_v86(c))
		raise_ud(c);
	dest = tcg_rm_get(c, i, 2);
	src = tcg_modreg_get(c, i, 2);
	if ((dest & 3) < (src & 3)) {
		tcg_rm_set(c, i, 2, (dest & ~3ULL) | (src & 3));
		update_flags(c, FL_ZF, FL_ZF);
	} else {
		update_flags(c, FL_ZF, 0);
	}
}

/* 62: BOUND (#BR when the signed index is out of [lower, upper]) */
static void op_bound(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz;
	uint64_t off;
	int64_t idx, lo, hi;

	not_64(c);
	no_lock(c, i);
	need_mem(c, i);
	off = tcg_ea(c, i);
	lo = sext(tcg_ld(c, i->seg, off, size), size);
	hi = sext(tcg_ld(c, i->seg, (off + size) & size_mask(i->asz), size), size);
	idx = sext(tcg_modreg_get(c, i, size), size);
	if (idx < lo || idx > hi)
		tcg_raise(c, EXC_BR, NO_ERRCODE);
}

/* D7: XLAT: AL = [seg:rBX + AL] */
static void op_xlat(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t off = tcg_reg_get(c, i, R_RBX, i->asz) + (c->s.regs[R_RAX] & 0xff);

	no_lock(c, i);
	tcg_reg_set(c, i, R_RAX, 1, tcg_ld8(c, i->seg, off & size_mask(i->asz)));
}

/* ------------------------------------------------------------------ */
/* Flag instructions                                                    */

#define SAHF_MASK (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)

static void op_sahf(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	update_flags(c, SAHF_MASK, (c->s.regs[R_RAX] >> 8) & SAHF_MASK);
}

static void op_lahf(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	tcg_reg_set(c, i, R_RAX, 8, (c->s.regs[R_RAX] & ~0xff00ULL) |
		((tcg_arith_flags(c) & SAHF_MASK) | 2) << 8);
}

static void op_cmc(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	update_flags(c, FL_CF, tcg_cf(c) ? 0 : FL_CF);
}

static void op_clc(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	update_flags(c, FL_CF, 0);
}

static void op_stc(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	update_flags(c, FL_CF, FL_CF);
}

static void op_cld(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	c->s.rflags &= ~(uint64_t)FL_DF;
}

static void op_std(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
	c->s.rflags |= FL_DF;
}

/* D6: SALC (undocumented): AL = CF ? FF : 0 */
static void op_salc(struct tcg_cpu *c, const struct insn *i)
{
	not_64(c);
	no_lock(c, i);
	tcg_reg_set(c, i, R_RAX, 1, tcg_cf(c) ? 0xff : 0);
}

/* ------------------------------------------------------------------ */
/* BCD (SDM Vol. 2 "DAA", "DAS", "AAA", "AAS", "AAM", "AAD"); invalid   */
/* in 64-bit mode.  Undefined flags: OF 0, SF ZF PF of AL.              */

static void op_daa(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t f = tcg_arith_flags(c), al = c->s.regs[R_RAX] & 0xff, r = al, nf = 0;

	not_64(c);
	no_lock(c, i);
	if ((al & 0xf) > 9 || (f & FL_AF)) {
		r = (r + 6) & 0xff;
		nf |= FL_AF;
	}
	if (al > 0x99 || (f & FL_CF)) {
		r = (r + 0x60) & 0xff;
		nf |= FL_CF;
	}
	tcg_reg_set(c, i, R_RAX, 1, r);
	tcg_set_arith_flags(c, nf | zsp_flags(r, 1));
}

static void op_das(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t f = tcg_arith_flags(c), al = c->s.regs[R_RAX] & 0xff, r = al, nf = 0;

	not_64(c);
	no_lock(c, i);
	if ((al & 0xf) > 9 || (f & FL_AF)) {
		r = (r - 6) & 0xff;
		nf |= FL_AF;
		if ((f & FL_CF) || al < 6)
			nf |= FL_CF;
	}
	if (al > 0x99 || (f & FL_CF)) {
		r = (r - 0x60) & 0xff;
		nf |= FL_CF;
	}
	tcg_reg_set(c, i, R_RAX, 1, r);
	tcg_set_arith_flags(c, nf | zsp_flags(r, 1));
}

/* AAA (sub = false) and AAS (sub = true) */
static void ascii_adjust(struct tcg_cpu *c, const struct insn *i, bool sub)
{
	uint64_t ax = c->s.regs[R_RAX] & 0xffff, nf = 0;

	not_64(c);
	no_lock(c, i);
	if ((ax & 0xf) > 9 || (tcg_arith_flags(c) & FL_AF)) {
		ax = sub ? ax - 6 - 0x100 : ax + 0x106;
		nf = FL_AF | FL_CF;
	}
	ax &= 0xff0f;
	tcg_reg_set(c, i, R_RAX, 2, ax);
	tcg_set_arith_flags(c, nf | zsp_flags(ax & 0xff, 1));
}

static void op_aaa(struct tcg_cpu *c, const struct insn *i)
{
	ascii_adjust(c, i, false);
}

static void op_aas(struct tcg_cpu *c, const struct insn *i)
{
	ascii_adjust(c, i, true);
}

/* D4 ib: AAM (#DE for base 0) */
static void op_aam(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t base = i->imm & 0xff, al = c->s.regs[R_RAX] & 0xff;

	not_64(c);
	no_lock(c, i);
	if (base == 0)
		raise_de(c);
	tcg_reg_set(c, i, R_RAX, 2, (al / base) << 8 | (al % base));
	tcg_set_arith_flags(c, zsp_flags(al % base, 1));
}

/* D5 ib: AAD */
static void op_aad(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t base = i->imm & 0xff, ax = c->s.regs[R_RAX];
	uint64_t al = ((ax & 0xff) + ((ax >> 8) & 0xff) * base) & 0xff;

	not_64(c);
	no_lock(c, i);
	tcg_reg_set(c, i, R_RAX, 2, al);
	tcg_set_arith_flags(c, zsp_flags(al, 1));
}

/* ------------------------------------------------------------------ */
/* Groups 4 and 5: FE, FF                                               */

static void op_grp4(struct tcg_cpu *c, const struct insn *i)
{
	if ((i->reg & 7) > 1)
		raise_ud(c);
	incdec_rm(c, i, 1, i->reg & 1);
}

/* FF /3, /5: far CALL/JMP through m16:16/32/64 (offset, then selector) */
static void far_indirect(struct tcg_cpu *c, const struct insn *i, bool call)
{
	unsigned size = i->osz;
	uint64_t off, target;
	uint16_t sel;

	need_mem(c, i);
	off = tcg_ea(c, i);
	target = tcg_ld(c, i->seg, off, size);
	sel = tcg_ld16(c, i->seg, (off + size) & size_mask(i->asz));
	if (call)
		tcg_far_call(c, sel, target, size);
	else
		tcg_far_jmp(c, sel, target, size);
}

static void op_grp5(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size;
	uint64_t target, ret;

	switch (i->reg & 7) {
	case 0:
	case 1:
		incdec_rm(c, i, i->osz, i->reg & 1);
		return;
	}
	no_lock(c, i);
	switch (i->reg & 7) {
	case 2: /* CALL near: the return-address slot faults (#PF) before
		 * the target check (#GP), as on the host; rSP changes last */
		size = branch_osz(c, i);
		target = tcg_rm_get(c, i, size);
		ret = c->next_rip;
		tcg_probe_write(c, S_SS, (c->s.regs[R_RSP] - size) &
				size_mask(tcg_stack_size(c)), size);
		tcg_jump(c, target, size);
		tcg_push(c, size, ret);
		break;
	case 3:
		far_indirect(c, i, true);
		break;
	case 4:
		size = branch_osz(c, i);
		tcg_jump(c, tcg_rm_get(c, i, size), size);
		break;
	case 5:
		far_indirect(c, i, false);
		break;
	case 6:
		size = stack_osz(c, i);
		tcg_push(c, size, tcg_rm_get(c, i, size));
		break;
	default:
		raise_ud(c);
	}
}

/* ------------------------------------------------------------------ */
/* 0F: hints, CMOVcc, MOVZX/MOVSX                                       */

/* 0F 0D, 0F 18-1F: prefetches and hint NOPs with a ModRM operand */
static void op_nop_modrm(struct tcg_cpu *c, const struct insn *i)
{
	no_lock(c, i);
}

/* 0F 40-4F: the source is read (and can fault) whatever the condition;
 * a 32-bit destination is zero-extended even when nothing moves. */
static void op_cmov(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz;
	uint64_t v;

	no_lock(c, i);
	v = tcg_rm_get(c, i, size);
	if (tcg_cond(c, i->op & 15))
		tcg_modreg_set(c, i, size, v);
	else if (size == 4)
		tcg_modreg_set(c, i, 4, tcg_modreg_get(c, i, 4));
}

/* 0F B6 B7 BE BF */
static void op_movx(struct tcg_cpu *c, const struct insn *i)
{
	unsigned src_size = (i->op & 1) ? 2 : 1;
	uint64_t v;

	no_lock(c, i);
	v = tcg_rm_get(c, i, src_size);
	if (i->op & 8)
		v = (uint64_t)sext(v, src_size);
	tcg_modreg_set(c, i, i->osz, v);
}

/* ------------------------------------------------------------------ */
/* Bit test and scan                                                    */

enum { BT_TEST, BT_SET, BT_RESET, BT_COMP };

/* arg: the bit mask (its complement for BTR, the AND operand).  CF gets
 * the old bit; the other flags are kept, as on the host. */
static uint64_t bt_fn(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
		      uint64_t old, uint64_t arg, unsigned kind)
{
	uint64_t m = kind == BT_RESET ? ~arg : arg, r;

	(void)size;
	switch (kind) {
	case BT_SET: r = old | m; break;
	case BT_RESET: r = old & ~m; break;
	case BT_COMP: r = old ^ m; break;
	default: r = old; break;
	}
	cc_put(cc, CC_OP_EFLAGS, 0, (tcg_arith_flags(c) & ~(uint64_t)FL_CF) |
	       ((old & m) ? FL_CF : 0), 0);
	return r;
}

static const uint8_t bt_rmw_kind[4] = { RMW_CAS, RMW_OR, RMW_AND, RMW_XOR };

/* A register bit offset is signed and reaches memory beyond the operand:
 * the operand-size unit at ea + (offset / bits) * size (SDM Vol. 2 "BT"). */
static void bt_common(struct tcg_cpu *c, const struct insn *i, uint64_t bitoff,
		      bool reg_offset, unsigned kind)
{
	unsigned size = i->osz, bits = size * 8, shift = size == 8 ? 6 : size == 4 ? 5 : 4;
	uint64_t m, arg, old, off;
	struct cc_rec cc;

	if (kind == BT_TEST)
		no_lock(c, i);
	else
		lock_needs_mem(c, i);
	if (!i->mem) {
		m = 1ULL << (bitoff & (bits - 1));
		arg = kind == BT_RESET ? ~m : m;
		old = tcg_reg_get(c, i, i->rm, size);
		old = bt_fn(c, &cc, size, old, arg, kind);
		if (kind != BT_TEST)
			tcg_reg_set(c, i, i->rm, size, old);
		cc_commit(c, &cc, size);
		return;
	}
	off = tcg_ea(c, i);
	if (reg_offset) {
		int64_t s = sext(bitoff, size);

		off = (off + (uint64_t)((s >> shift) * (int64_t)size)) & size_mask(i->asz);
	}
	m = 1ULL << (bitoff & (bits - 1));
	arg = kind == BT_RESET ? ~m & size_mask(size) : m;
	if (kind == BT_TEST)
		bt_fn(c, &cc, size, tcg_ld(c, i->seg, off, size), arg, kind);
	else
		mem_rmw(c, i->seg, off, size, i->lock, bt_rmw_kind[kind], bt_fn, arg, kind, &cc);
	cc_commit(c, &cc, size);
}

/* 0F A3 BT, AB BTS, B3 BTR, BB BTC with a register offset */
static void op_bt_reg(struct tcg_cpu *c, const struct insn *i)
{
	bt_common(c, i, tcg_modreg_get(c, i, i->osz), true, (i->op >> 3) & 3);
}

/* 0F BA /4-/7 ib: the immediate is taken modulo the operand size */
static void op_bt_imm(struct tcg_cpu *c, const struct insn *i)
{
	if ((i->reg & 7) < 4)
		raise_ud(c);
	bt_common(c, i, i->imm & 0xff, false, (i->reg & 7) - 4);
}

/* 0F BC BSF / BD BSR; with F3: TZCNT / LZCNT.  BSF/BSR of 0: ZF, the
 * destination untouched (not even zero-extended), as on the host; the
 * undefined flags read CF OF SF AF 0 and PF of the result. */
static void op_bitscan(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz, bits = size * 8;
	bool reverse = i->op & 1;
	uint64_t v, r;

	no_lock(c, i);
	v = tcg_rm_get(c, i, size);
	if (i->pfx == PFX_F3) {
		if (!v)
			r = bits;
		else
			r = reverse ? (uint64_t)__builtin_clzll(v) - (64 - bits)
				    : (uint64_t)__builtin_ctzll(v);
		tcg_modreg_set(c, i, size, r);
		tcg_set_arith_flags(c, (v ? 0 : FL_CF) | (r ? 0 : FL_ZF));
		return;
	}
	if (!v) {
		tcg_set_arith_flags(c, FL_ZF | FL_PF);
		return;
	}
	r = reverse ? 63 - (uint64_t)__builtin_clzll(v) : (uint64_t)__builtin_ctzll(v);
	tcg_modreg_set(c, i, size, r);
	tcg_set_arith_flags(c, parity_flag(r));
}

/* F3 0F B8: POPCNT (0F B8 without F3 is #UD) */
static void op_popcnt(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->osz;
	uint64_t v;

	no_lock(c, i);
	if (i->pfx != PFX_F3)
		raise_ud(c);
	v = tcg_rm_get(c, i, size);
	tcg_modreg_set(c, i, size, __builtin_popcountll(v));
	tcg_set_arith_flags(c, v ? 0 : FL_ZF);
}

/* 0F C8-CF: BSWAP; the 16-bit form is undefined, Intel CPUs zero the
 * low word (checked on the host). */
static void op_bswap(struct tcg_cpu *c, const struct insn *i)
{
	unsigned r = opcode_reg(i);

	no_lock(c, i);
	switch (i->osz) {
	case 2:
		tcg_reg_set(c, i, r, 2, 0);
		break;
	case 4:
		tcg_reg_set(c, i, r, 4, __builtin_bswap32((uint32_t)c->s.regs[r]));
		break;
	default:
		tcg_reg_set(c, i, r, 8, __builtin_bswap64(c->s.regs[r]));
		break;
	}
}

/* ------------------------------------------------------------------ */
/* CMPXCHG, XADD, CMPXCHG8B/16B                                         */

/* 0F B0/B1.  Equal: the destination gets the source; else the
 * accumulator gets the destination, which memory gets back unchanged
 * (SDM Vol. 2 "CMPXCHG": the processor always writes).  A register
 * destination is written only on success, as on the host. */
static void op_cmpxchg(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = op_size(i);
	uint64_t acc = tcg_reg_get(c, i, R_RAX, size), src = tcg_modreg_get(c, i, size);
	uint64_t dest, off;
	struct cc_rec cc;
	void *p;

	lock_needs_mem(c, i);
	if (!i->mem) {
		dest = tcg_reg_get(c, i, i->rm, size);
		if (dest == acc)
			tcg_reg_set(c, i, i->rm, size, src);
	} else {
		off = tcg_ea(c, i);
		p = i->lock ? tcg_rmw_ptr(c, i->seg, off, size) : NULL;
		if (p && host_atomic_ok(p, size)) {
			dest = acc;
			atomic_cas(p, size, &dest, src);
		} else {
			/* a write cycle even when the compare fails: W in a #PF */
			tcg_probe_write(c, i->seg, off, size);
			if (i->lock)
				tcg_atomic_lock();
			dest = tcg_ld(c, i->seg, off, size);
			tcg_st(c, i->seg, off, size, dest == acc ? src : dest);
			if (i->lock)
				tcg_atomic_unlock();
		}
	}
	alu_calc(c, &cc, size, acc, dest, ALU_CMP);
	cc_commit(c, &cc, size);
	if (dest != acc)
		tcg_reg_set(c, i, R_RAX, size, dest);
}

static uint64_t xadd_fn(struct tcg_cpu *c, struct cc_rec *cc, unsigned size,
			uint64_t old, uint64_t arg, unsigned sel)
{
	(void)sel;
	return alu_calc(c, cc, size, old, arg, ALU_ADD);
}

/* 0F C0/C1: XADD: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP */
static void op_xadd(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = op_size(i);
	uint64_t src = tcg_modreg_get(c, i, size), old, sum;
	struct cc_rec cc;

	lock_needs_mem(c, i);
	if (!i->mem) {
		old = tcg_reg_get(c, i, i->rm, size);
		sum = alu_calc(c, &cc, size, old, src, ALU_ADD);
		tcg_modreg_set(c, i, size, old);
		tcg_reg_set(c, i, i->rm, size, sum);
	} else {
		old = mem_rmw(c, i->seg, tcg_ea(c, i), size, i->lock, RMW_ADD,
			      xadd_fn, src, 0, &cc);
		tcg_modreg_set(c, i, size, old);
	}
	cc_commit(c, &cc, size);
}

static void cmpxchg8b(struct tcg_cpu *c, const struct insn *i, uint64_t off)
{
	uint64_t *r = c->s.regs;
	uint64_t expect = (r[R_RDX] & 0xffffffff) << 32 | (r[R_RAX] & 0xffffffff);
	uint64_t desired = (r[R_RCX] & 0xffffffff) << 32 | (r[R_RBX] & 0xffffffff);
	uint64_t cur = expect;
	void *p = i->lock ? tcg_rmw_ptr(c, i->seg, off, 8) : NULL;

	if (p && host_atomic_ok(p, 8)) {
		atomic_cas(p, 8, &cur, desired);
	} else {
		/* a write cycle even when the compare fails: W in a #PF */
		tcg_probe_write(c, i->seg, off, 8);
		if (i->lock)
			tcg_atomic_lock();
		cur = tcg_ld64(c, i->seg, off);
		tcg_st64(c, i->seg, off, cur == expect ? desired : cur);
		if (i->lock)
			tcg_atomic_unlock();
	}
	update_flags(c, FL_ZF, cur == expect ? FL_ZF : 0);
	if (cur != expect) {
		tcg_reg_set(c, i, R_RAX, 4, cur & 0xffffffff);
		tcg_reg_set(c, i, R_RDX, 4, cur >> 32);
	}
}

#if defined(__x86_64__)
static bool host_cas16(void *p, uint64_t cmp[2], const uint64_t val[2])
{
	bool ok;

	__asm__ volatile("lock cmpxchg16b %1"
			 : "=@ccz"(ok), "+m"(*(volatile unsigned __int128 *)p),
			   "+a"(cmp[0]), "+d"(cmp[1])
			 : "b"(val[0]), "c"(val[1])
			 : "memory");
	return ok;
}
#endif

/* CMPXCHG16B: a 16-byte aligned m128 or #GP(0) (SDM Vol. 2). */
static void cmpxchg16b(struct tcg_cpu *c, const struct insn *i, uint64_t off)
{
	uint64_t *r = c->s.regs;
	uint64_t expect[2] = { r[R_RAX], r[R_RDX] }, val[2] = { r[R_RBX], r[R_RCX] };
	uint64_t cur[2] = { expect[0], expect[1] };
	bool eq;
	void *p = NULL;

	if (off & 15)
		tcg_raise(c, EXC_GP, 0);
#if defined(__x86_64__)
	p = i->lock ? tcg_rmw_ptr(c, i->seg, off, 16) : NULL;
	if (p && !((uintptr_t)p & 15)) {
		eq = host_cas16(p, cur, val);
	} else
#endif
	{
		(void)p;
		/* a write cycle even when the compare fails: W in a #PF */
		tcg_probe_write(c, i->seg, off, 16);
		if (i->lock)
			tcg_atomic_lock();
		tcg_ld_bytes(c, i->seg, off, cur, 16);
		eq = cur[0] == expect[0] && cur[1] == expect[1];
		tcg_st_bytes(c, i->seg, off, eq ? val : cur, 16);
		if (i->lock)
			tcg_atomic_unlock();
	}
	update_flags(c, FL_ZF, eq ? FL_ZF : 0);
	if (!eq) {
		r[R_RAX] = cur[0];
		r[R_RDX] = cur[1];
	}
}

/* 0F C7: group 9; /1 (CMPXCHG8B, with REX.W CMPXCHG16B) here, /3 /4 /5
 * (XRSTORS, XSAVEC, XSAVES) in xsave.c. */
/* 0F C7 /6 RDRAND, /7 RDSEED with a register operand (SDM Vol. 2,
 * "RDRAND", "RDSEED"): random bits from the host's getrandom() and CF =
 * 1, or CF = 0 and 0 when it has none at hand; OF SF ZF AF PF cleared.
 * F2 and F3 are #UD, except F3 /7: RDPID, IA32_TSC_AUX in a 64-bit
 * register in 64-bit mode, else a 32-bit one; flags unchanged. */
static void rand_rdpid(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t v = 0;

	if (i->pfx == PFX_F3 && (i->reg & 7) == 7) {
		tcg_reg_set(c, i, i->rm, tcg_code64(c) ? 8 : 4, c->s.tsc_aux);
		return;
	}
	if (i->pfx == PFX_F2 || i->pfx == PFX_F3)
		raise_ud(c);
	bool ok = getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v);
	tcg_reg_set(c, i, i->rm, i->osz, ok ? v : 0);
	tcg_set_arith_flags(c, ok ? FL_CF : 0);
}

static void op_grp9(struct tcg_cpu *c, const struct insn *i)
{
	uint64_t off;

	if ((i->reg & 7) >= 6 && !i->mem) {
		rand_rdpid(c, i);
		return;
	}
	if ((i->reg & 7) >= 3 && (i->reg & 7) <= 5 && i->mem) {
		tcg_xsave_op(c, i);
		return;
	}
	if ((i->reg & 7) != 1 || !i->mem)
		raise_ud(c);
	off = tcg_ea(c, i);
	if (i->osz == 8)
		cmpxchg16b(c, i, off);
	else
		cmpxchg8b(c, i, off);
}

/* ------------------------------------------------------------------ */
/* 0F 38 F0/F1: MOVBE, and CRC32 with F2                                */

static uint32_t crc32c_table[256];

/* CRC-32C (Castagnoli, polynomial 0x1EDC6F41), bit-reflected as the
 * SSE4.2 CRC32 instruction computes it (SDM Vol. 2 "CRC32"). */
static void crc32c_init(void)
{
	unsigned n, k;

	for (n = 0; n < 256; n++) {
		uint32_t crc = n;

		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & -(crc & 1));
		crc32c_table[n] = crc;
	}
}

static uint64_t bswap_size(uint64_t v, unsigned size)
{
	switch (size) {
	case 2: return __builtin_bswap16((uint16_t)v);
	case 4: return __builtin_bswap32((uint32_t)v);
	default: return __builtin_bswap64(v);
	}
}

static void op_movbe_crc32(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size, k;
	uint64_t v;
	uint32_t crc;

	no_lock(c, i);
	if (i->pfx == PFX_F2) {
		size = i->op == 0xf0 ? 1 : i->osz;
		v = tcg_rm_get(c, i, size);
		crc = (uint32_t)tcg_modreg_get(c, i, 4);
		for (k = 0; k < size; k++, v >>= 8)
			crc = crc32c_table[(crc ^ v) & 0xff] ^ (crc >> 8);
		tcg_modreg_set(c, i, 4, crc);
		return;
	}
	if (i->pfx == PFX_F3 || !i->mem)
		raise_ud(c);
	size = i->osz;
	if (i->op == 0xf0)
		tcg_modreg_set(c, i, size, bswap_size(tcg_rm_get(c, i, size), size));
	else
		tcg_rm_set(c, i, size, bswap_size(tcg_modreg_get(c, i, size), size));
}

/* ------------------------------------------------------------------ */

static void set_range(unsigned map, unsigned first, unsigned last, tcg_handler fn)
{
	unsigned op;

	for (op = first; op <= last; op++)
		tcg_ops[map][op] = fn;
}

void tcg_register_alu(void)
{
	tcg_handler *m1 = tcg_ops[MAP_1B], *m2 = tcg_ops[MAP_0F];
	unsigned op;

	crc32c_init();
	for (op = 0; op < 0x40; op++)
		if ((op & 7) < 6)
			m1[op] = op_alu;
	m1[0x27] = op_daa;
	m1[0x2f] = op_das;
	m1[0x37] = op_aaa;
	m1[0x3f] = op_aas;
	set_range(MAP_1B, 0x40, 0x4f, op_incdec_reg);
	set_range(MAP_1B, 0x50, 0x57, op_push_reg);
	set_range(MAP_1B, 0x58, 0x5f, op_pop_reg);
	m1[0x60] = op_pusha;
	m1[0x61] = op_popa;
	m1[0x62] = op_bound;
	m1[0x63] = op_63;
	m1[0x68] = op_push_imm;
	m1[0x69] = op_imul_imm;
	m1[0x6a] = op_push_imm;
	m1[0x6b] = op_imul_imm;
	set_range(MAP_1B, 0x80, 0x83, op_grp1);
	m1[0x84] = op_test_rm;
	m1[0x85] = op_test_rm;
	m1[0x86] = op_xchg_rm;
	m1[0x87] = op_xchg_rm;
	m1[0x88] = op_mov_rm_reg;
	m1[0x89] = op_mov_rm_reg;
	m1[0x8a] = op_mov_reg_rm;
	m1[0x8b] = op_mov_reg_rm;
	m1[0x8d] = op_lea;
	m1[0x8f] = op_pop_rm;
	set_range(MAP_1B, 0x90, 0x97, op_xchg_acc);
	m1[0x98] = op_cbw;
	m1[0x99] = op_cwd;
	m1[0x9e] = op_sahf;
	m1[0x9f] = op_lahf;
	set_range(MAP_1B, 0xa0, 0xa3, op_mov_moffs);
	m1[0xa8] = op_test_acc;
	m1[0xa9] = op_test_acc;
	set_range(MAP_1B, 0xb0, 0xbf, op_mov_reg_imm);
	m1[0xc0] = op_shift_imm;
	m1[0xc1] = op_shift_imm;
	m1[0xc6] = op_mov_rm_imm;
	m1[0xc7] = op_mov_rm_imm;
	m1[0xd0] = op_shift_1;
	m1[0xd1] = op_shift_1;
	m1[0xd2] = op_shift_cl;
	m1[0xd3] = op_shift_cl;
	m1[0xd4] = op_aam;
	m1[0xd5] = op_aad;
	m1[0xd6] = op_salc;
	m1[0xd7] = op_xlat;
	m1[0xf5] = op_cmc;
	m1[0xf6] = op_grp3;
	m1[0xf7] = op_grp3;
	m1[0xf8] = op_clc;
	m1[0xf9] = op_stc;
	m1[0xfc] = op_cld;
	m1[0xfd] = op_std;
	m1[0xfe] = op_grp4;
	m1[0xff] = op_grp5;

	m2[0x0d] = op_nop_modrm;
	set_range(MAP_0F, 0x18, 0x1f, op_nop_modrm);
	set_range(MAP_0F, 0x40, 0x4f, op_cmov);
	m2[0xa3] = op_bt_reg;
	m2[0xab] = op_bt_reg;
	m2[0xb3] = op_bt_reg;
	m2[0xbb] = op_bt_reg;
	m2[0xba] = op_bt_imm;
	m2[0xa4] = op_shld_imm;
	m2[0xa5] = op_shld_cl;
	m2[0xac] = op_shrd_imm;
	m2[0xad] = op_shrd_cl;
	m2[0xaf] = op_imul_rm;
	m2[0xb0] = op_cmpxchg;
	m2[0xb1] = op_cmpxchg;
	m2[0xb6] = op_movx;
	m2[0xb7] = op_movx;
	m2[0xbe] = op_movx;
	m2[0xbf] = op_movx;
	m2[0xb8] = op_popcnt;
	m2[0xbc] = op_bitscan;
	m2[0xbd] = op_bitscan;
	m2[0xc0] = op_xadd;
	m2[0xc1] = op_xadd;
	m2[0xc7] = op_grp9;
	set_range(MAP_0F, 0xc8, 0xcf, op_bswap);

	tcg_ops[MAP_0F38][0xf0] = op_movbe_crc32;
	tcg_ops[MAP_0F38][0xf1] = op_movbe_crc32;
}
