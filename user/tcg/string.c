/*
 * String instructions: MOVS, CMPS, STOS, LODS, SCAS (A4-A7, AA-AF) with
 * REP / REPE / REPNE (SDM Vol. 2 "REP/REPE/REPZ/REPNE/REPNZ").
 *
 * rSI/rDI/rCX are used at the address size; the source is seg:rSI (DS
 * unless overridden), the destination always ES:rDI.  A repeated string
 * instruction updates the registers after every iteration, so a fault in
 * the middle leaves them describing the iterations done and the
 * instruction restarts from there; every 1024 iterations a pending exit
 * request (a kick, an interrupt) interrupts it the same way.
 *
 * Forward REP MOVS and REP STOS over guest RAM take a fast path: a run of
 * elements that stays within one source page, one destination page and
 * the segment limits is done with memmove/stores on host memory.  Its
 * checks are those of the run's first element, which on hardware would
 * fault first, so faults and their register state are the same.
 */
#include "tcg.h"
#include "hw/apic.h"
#include "physmap.h"

#define REP_CHECK_EVERY 1024

struct str_op {
	unsigned size;          /* element size */
	unsigned asz;
	uint64_t amask;         /* address-size mask */
	int64_t step;           /* +size or -size (DF) */
};

static inline void str_setup(const struct tcg_cpu *c, const struct insn *i,
			     struct str_op *s)
{
	s->size = (i->op & 1) ? i->osz : 1;
	s->asz = i->asz;
	s->amask = size_mask(i->asz);
	s->step = (c->s.rflags & FL_DF) ? -(int64_t)s->size : (int64_t)s->size;
}

static inline uint64_t areg(const struct tcg_cpu *c, const struct str_op *s, unsigned r)
{
	return c->s.regs[r] & s->amask;
}

/* Write an address register at the address size (16 merges, 32 zero-
 * extends). */
static inline void areg_set(struct tcg_cpu *c, const struct str_op *s, unsigned r,
			    uint64_t v)
{
	if (s->asz == 2)
		c->s.regs[r] = (c->s.regs[r] & ~0xffffULL) | (v & 0xffff);
	else
		c->s.regs[r] = v & s->amask;
}

static inline void advance(struct tcg_cpu *c, const struct str_op *s, unsigned r)
{
	areg_set(c, s, r, areg(c, s, r) + (uint64_t)s->step);
}

static inline uint64_t acc_get(const struct tcg_cpu *c, unsigned size)
{
	return c->s.regs[R_RAX] & size_mask(size);
}

/* AL/AX/EAX/RAX write (a 32-bit write zero-extends, as tcg_reg_set) */
static inline void acc_set(struct tcg_cpu *c, const struct insn *i, unsigned size,
			   uint64_t v)
{
	tcg_reg_set(c, i, R_RAX, size, v);
}

/* One iteration of each instruction; the register updates come after the
 * memory accesses. */
static inline void movs_once(struct tcg_cpu *c, const struct insn *i, const struct str_op *s)
{
	uint64_t v = tcg_ld(c, i->seg, areg(c, s, R_RSI), s->size);

	tcg_st(c, S_ES, areg(c, s, R_RDI), s->size, v);
	advance(c, s, R_RSI);
	advance(c, s, R_RDI);
}

static inline void stos_once(struct tcg_cpu *c, const struct str_op *s)
{
	tcg_st(c, S_ES, areg(c, s, R_RDI), s->size, acc_get(c, s->size));
	advance(c, s, R_RDI);
}

static inline void lods_once(struct tcg_cpu *c, const struct insn *i, const struct str_op *s)
{
	uint64_t v = tcg_ld(c, i->seg, areg(c, s, R_RSI), s->size);

	acc_set(c, i, s->size, v);
	advance(c, s, R_RSI);
}

/* CMPS and SCAS: flags of a - b as CMP; returns ZF */
static inline bool compare(struct tcg_cpu *c, unsigned size, uint64_t a, uint64_t b)
{
	uint64_t mask = size_mask(size);

	a &= mask;
	b &= mask;
	tcg_set_cc(c, CC_OP_SUB, size, (a - b) & mask, b, 0);
	return a == b;
}

static inline bool cmps_once(struct tcg_cpu *c, const struct insn *i, const struct str_op *s)
{
	uint64_t a = tcg_ld(c, i->seg, areg(c, s, R_RSI), s->size);
	uint64_t b = tcg_ld(c, S_ES, areg(c, s, R_RDI), s->size);

	advance(c, s, R_RSI);
	advance(c, s, R_RDI);
	return compare(c, s->size, a, b);
}

static inline bool scas_once(struct tcg_cpu *c, const struct str_op *s)
{
	uint64_t b = tcg_ld(c, S_ES, areg(c, s, R_RDI), s->size);

	advance(c, s, R_RDI);
	return compare(c, s->size, acc_get(c, s->size), b);
}

/* Leave a repeated instruction unfinished when the vCPU is asked to stop:
 * rip stays on it and it resumes with the registers as they are. */
static inline bool rep_interrupted(struct tcg_cpu *c)
{
	if (!__atomic_load_n(&c->exit_request, __ATOMIC_RELAXED))
		return false;
	c->next_rip = c->s.rip;
	c->stop = true;
	return true;
}

/* A REP with a 32-bit address size and ECX = 0 in 64-bit mode still
 * writes rCX and (all but SCAS) the index registers it uses at 32 bits, clearing their upper halves (what
 * Intel CPUs do; the SDM leaves it unspecified). */
static void rep_zero_count_a32(struct tcg_cpu *c, bool uses_rsi, bool uses_rdi)
{
	c->s.regs[R_RCX] = (uint32_t)c->s.regs[R_RCX];
	if (uses_rsi)
		c->s.regs[R_RSI] = (uint32_t)c->s.regs[R_RSI];
	if (uses_rdi)
		c->s.regs[R_RDI] = (uint32_t)c->s.regs[R_RDI];
}

static inline void rep_count_dec(struct tcg_cpu *c, const struct str_op *s, uint64_t cnt)
{
	areg_set(c, s, R_RCX, cnt - 1);
}

/* ------------------------------------------------------------------ */
/* Fast path                                                           */

#define PAGE_SIZE 4096ULL

/* Elements from seg:off on that stay within one page, the segment limit
 * and the address-size wrap: 0 when there is no such run to speed up.
 * Checks the segment for the first element (raising what it would). */
static uint64_t run_span(struct tcg_cpu *c, int seg, uint64_t off,
			 const struct str_op *s, enum access acc, uint64_t *lin)
{
	const struct x86_segment *sg = &c->s.seg[seg];
	uint64_t n;

	*lin = tcg_seg_linear(c, seg, off, s->size, acc);
	n = (PAGE_SIZE - (*lin & (PAGE_SIZE - 1))) / s->size;
	if (s->asz != 8 && n > (s->amask - off) / s->size + 1)
		n = (s->amask - off) / s->size + 1;
	if (!tcg_code64(c)) {
		if ((sg->type & 4) || off > sg->limit)  /* expand-down: slow */
			return 0;
		if (n > ((uint64_t)sg->limit - off + 1) / s->size)
			n = ((uint64_t)sg->limit - off + 1) / s->size;
	}
	return n;
}

#define FILL_LOOP(T, p, v, n)                                              \
	do {                                                               \
		T v_ = (T)(v);                                             \
		for (uint64_t k_ = 0; k_ < (n); k_++)                      \
			memcpy((p) + k_ * sizeof(T), &v_, sizeof(T));      \
	} while (0)

static void fill(uint8_t *p, uint64_t v, unsigned size, uint64_t n)
{
	switch (size) {
	case 1: memset(p, (int)v, n); break;
	case 2: FILL_LOOP(uint16_t, p, v, n); break;
	case 4: FILL_LOOP(uint32_t, p, v, n); break;
	default: FILL_LOOP(uint64_t, p, v, n); break;
	}
}

/* A run of REP STOS: the elements done, 0 to take the slow path. */
static uint64_t stos_run(struct tcg_cpu *c, const struct str_op *s, uint64_t cnt)
{
	uint64_t off = areg(c, s, R_RDI), lin, n;
	uint8_t *p;

	n = run_span(c, S_ES, off, s, ACC_WRITE, &lin);
	if (n > cnt)
		n = cnt;
	if (n < 2)
		return 0;
	/* the first element's write fault, before tcg_rmw_ptr's read check */
	tcg_probe_write(c, S_ES, off, s->size);
	p = tcg_rmw_ptr(c, S_ES, off, n * s->size);
	if (!p)
		return 0;
	fill(p, acc_get(c, s->size), s->size, n);
	areg_set(c, s, R_RDI, off + n * s->size);
	areg_set(c, s, R_RCX, cnt - n);
	return n;
}

/* Host pointer to len bytes of guest RAM at the linear address lin for
 * reading (translating it: #PF as a read), NULL if not plain RAM. */
static const uint8_t *read_ptr(struct tcg_cpu *c, uint64_t lin, uint64_t len)
{
	uint64_t phys = tcg_translate(c, lin, ACC_READ, tcg_data_kind(c));
	bool writable;

	if (c->lapic && lapic_mmio_hit(c->lapic, phys))
		return NULL;
	return gpa_lookup(c->m, phys, len, &writable);
}

/* A run of REP MOVS, checked in the order of the first element: source
 * segment and page, then destination segment and page. */
static uint64_t movs_run(struct tcg_cpu *c, const struct insn *i,
			 const struct str_op *s, uint64_t cnt)
{
	uint64_t soff = areg(c, s, R_RSI), doff = areg(c, s, R_RDI);
	uint64_t slin, dlin, n, nd, bytes;
	const uint8_t *src;
	uint8_t *dst;

	n = run_span(c, i->seg, soff, s, ACC_READ, &slin);
	if (n > cnt)
		n = cnt;
	if (n < 2)
		return 0;
	src = read_ptr(c, slin, n * s->size);
	nd = run_span(c, S_ES, doff, s, ACC_WRITE, &dlin);
	if (n > nd)
		n = nd;
	if (!src || n < 2)
		return 0;
	bytes = n * s->size;
	tcg_probe_write(c, S_ES, doff, s->size);
	dst = tcg_rmw_ptr(c, S_ES, doff, bytes);
	/* an overlap where the destination starts inside the source copies
	 * a pattern element by element: slow path */
	if (!dst || (dst > src && dst < src + bytes))
		return 0;
	memmove(dst, src, bytes);
	areg_set(c, s, R_RSI, soff + bytes);
	areg_set(c, s, R_RDI, doff + bytes);
	areg_set(c, s, R_RCX, cnt - n);
	return n;
}

/* ------------------------------------------------------------------ */
/* The REP loop                                                        */

enum str_kind { STR_MOVS, STR_STOS, STR_LODS, STR_CMPS, STR_SCAS };

/* A fast run for MOVS/STOS going forward with 32/64-bit addresses. */
static inline uint64_t fast_run(struct tcg_cpu *c, const struct insn *i,
				const struct str_op *s, enum str_kind kind, uint64_t cnt)
{
	/* with a breakpoint enabled every element goes through the
	 * slow path, which checks the data breakpoints (debug.c) */
	if (s->step < 0 || s->asz == 2 || cnt < 2 || c->dbg_on)
		return 0;
	if (kind == STR_MOVS)
		return movs_run(c, i, s, cnt);
	if (kind == STR_STOS)
		return stos_run(c, s, cnt);
	return 0;
}

static inline bool str_once(struct tcg_cpu *c, const struct insn *i,
			    const struct str_op *s, enum str_kind kind)
{
	switch (kind) {
	case STR_MOVS:
		movs_once(c, i, s);
		return true;
	case STR_STOS:
		stos_once(c, s);
		return true;
	case STR_LODS:
		lods_once(c, i, s);
		return true;
	case STR_CMPS:
		return cmps_once(c, i, s);
	default:
		return scas_once(c, s);
	}
}

/*
 * The REP loop.  For CMPS/SCAS, REPE (F3) stops when ZF is 0, REPNE
 * (F2) when ZF is 1; for the others F2 repeats like F3.  rCX is
 * decremented after each iteration, together with rSI/rDI, so the state
 * after a fault in iteration n is that after n - 1 iterations.
 */
static inline __attribute__((always_inline)) void str_exec(struct tcg_cpu *c,
							   const struct insn *i,
							   enum str_kind kind)
{
	struct str_op s;
	unsigned long n = 0;
	bool cond = kind == STR_CMPS || kind == STR_SCAS;
	uint64_t cnt, done;

	if (__builtin_expect(i->lock, 0))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	str_setup(c, i, &s);
	if (!i->rep) {
		str_once(c, i, &s, kind);
		return;
	}
	for (;;) {
		bool zf;

		cnt = areg(c, &s, R_RCX);
		if (cnt == 0) {
			if (s.asz == 4 && tcg_code64(c))
				rep_zero_count_a32(c, kind != STR_STOS && kind != STR_SCAS,
						   kind != STR_LODS && kind != STR_SCAS);
			return;
		}
		done = fast_run(c, i, &s, kind, cnt);
		if (!done) {
			zf = str_once(c, i, &s, kind);
			rep_count_dec(c, &s, cnt);
			if (cond && zf != (i->rep == 0xf3))
				return;
			done = 1;
		}
		n += done;
		/* a data breakpoint hit: the #DB trap comes after this
		 * iteration, rip at the instruction (SDM Vol. 3, 18.3.1.2) */
		if (__builtin_expect(c->db_hits, 0) && cnt - done != 0) {
			c->next_rip = c->s.rip;
			c->stop = true;
			return;
		}
		if (n >= REP_CHECK_EVERY) {
			n = 0;
			if (cnt - done != 0 && rep_interrupted(c))
				return;
		}
	}
}

static void op_movs(struct tcg_cpu *c, const struct insn *i)
{
	str_exec(c, i, STR_MOVS);
}

static void op_stos(struct tcg_cpu *c, const struct insn *i)
{
	str_exec(c, i, STR_STOS);
}

static void op_lods(struct tcg_cpu *c, const struct insn *i)
{
	str_exec(c, i, STR_LODS);
}

static void op_cmps(struct tcg_cpu *c, const struct insn *i)
{
	str_exec(c, i, STR_CMPS);
}

static void op_scas(struct tcg_cpu *c, const struct insn *i)
{
	str_exec(c, i, STR_SCAS);
}

void tcg_register_string(void)
{
	tcg_ops[MAP_1B][0xa4] = op_movs;
	tcg_ops[MAP_1B][0xa5] = op_movs;
	tcg_ops[MAP_1B][0xa6] = op_cmps;
	tcg_ops[MAP_1B][0xa7] = op_cmps;
	tcg_ops[MAP_1B][0xaa] = op_stos;
	tcg_ops[MAP_1B][0xab] = op_stos;
	tcg_ops[MAP_1B][0xac] = op_lods;
	tcg_ops[MAP_1B][0xad] = op_lods;
	tcg_ops[MAP_1B][0xae] = op_scas;
	tcg_ops[MAP_1B][0xaf] = op_scas;
}
