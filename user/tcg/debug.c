/*
 * Hardware breakpoints: DR0-DR3 with their DR7 controls (SDM Vol. 3,
 * 18.2 and 18.3).  The MOV DR instructions stay in system.c; this file
 * decides what hits.
 *
 * While any of DR7's L0-L3/G0-G3 is set (c->dbg_on) the run loop
 * interprets one instruction at a time (exec.c), the JIT idle, so that an
 * instruction breakpoint is checked before every instruction and a data
 * or I/O hit becomes a #DB trap right after the instruction that made it.
 * Data watchpoints reach the slow memory path through TLB_WATCH in the
 * tags of the pages they cover (tcg_translate asks tcg_dbg_watch_tags):
 * every change of DR0-DR3 or DR7 flushes the TLB, so with DR7 clear no
 * tag carries it and the fast paths stay one compare.
 */
#include "tcg/tcg.h"

/* DR7 fields (18.2.4): R/Wn at bit 16 + 4n, LENn at bit 18 + 4n */
enum { RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_RW = 3 };

static unsigned bp_rw(uint64_t dr7, unsigned n)
{
	return (dr7 >> (16 + 4 * n)) & 3;
}

/* LEN 00, 01, 10, 11: 1, 2, 8, 4 bytes (10 is 8 bytes in 64-bit capable
 * processors, 18.2.5) */
static uint64_t bp_len(uint64_t dr7, unsigned n)
{
	static const uint8_t len[4] = { 1, 2, 8, 4 };
	return len[(dr7 >> (18 + 4 * n)) & 3];
}

static bool bp_enabled(uint64_t dr7, unsigned n)
{
	return (dr7 >> (2 * n)) & 3;
}

/* Does [a, a + size) overlap breakpoint n's range?  The range is the
 * address with its low bits dropped to the length's alignment (18.2.5:
 * the address must be aligned; the processor ignores the low bits). */
static bool bp_overlaps(const struct tcg_cpu *c, unsigned n, uint64_t a, uint64_t size)
{
	uint64_t len = bp_len(c->s.dr[7], n);
	uint64_t lo = c->s.dr[n] & ~(len - 1);
	if (!tcg_long_mode(c))
		lo &= 0xffffffffULL;
	return a < lo + len && lo < a + size;
}

/* Is breakpoint n a data breakpoint that an access of this kind hits? */
static bool bp_watches(uint64_t dr7, unsigned n, bool write)
{
	if (!bp_enabled(dr7, n))
		return false;
	unsigned rw = bp_rw(dr7, n);
	return rw == RW_RW || (rw == RW_WRITE && write);
}

void tcg_dbg_recompute(struct tcg_cpu *c)
{
	c->dbg_on = (c->s.dr[7] & 0xff) != 0;
}

void tcg_dr_update(struct tcg_cpu *c)
{
	tcg_dbg_recompute(c);
	tcg_tlb_flush_all(c);   /* TLB_WATCH follows the new ranges */
	c->stop = true;
}

uint64_t tcg_dbg_watch_tags(const struct tcg_cpu *c, uint64_t page, bool write)
{
	if (!c->dbg_on)
		return 0;
	for (unsigned n = 0; n < 4; n++)
		if (bp_watches(c->s.dr[7], n, write) && bp_overlaps(c, n, page, 4096))
			return TLB_WATCH;
	return 0;
}

void tcg_dbg_data(struct tcg_cpu *c, uint64_t lin, unsigned size, bool write)
{
	for (unsigned n = 0; n < 4; n++)
		if (bp_watches(c->s.dr[7], n, write) && bp_overlaps(c, n, lin, size))
			c->db_hits |= 1u << n;
}

/* I/O breakpoints exist with CR4.DE alone (18.2.4: R/W 10 is undefined
 * without it); the port range is matched like a data range. */
void tcg_dbg_io(struct tcg_cpu *c, uint16_t port, unsigned size)
{
	if (!c->dbg_on || !(c->s.cr4 & CR4_DE))
		return;
	for (unsigned n = 0; n < 4; n++) {
		if (!bp_enabled(c->s.dr[7], n) || bp_rw(c->s.dr[7], n) != RW_IO)
			continue;
		uint64_t len = bp_len(c->s.dr[7], n);
		uint64_t lo = (c->s.dr[n] & 0xffff) & ~(len - 1);
		if (port < lo + len && lo < (uint64_t)port + size)
			c->db_hits |= 1u << n;
	}
}

/* Instruction breakpoints are faults, taken before the instruction
 * (18.3.1.1): DR6's B bits say which; the handler sets RF in the pushed
 * RFLAGS to go on. */
void tcg_dbg_insn(struct tcg_cpu *c)
{
	uint64_t lin = c->s.seg[S_CS].base + c->s.rip;
	if (!tcg_code64(c))
		lin &= 0xffffffffULL;
	unsigned hits = 0;
	for (unsigned n = 0; n < 4; n++)
		if (bp_enabled(c->s.dr[7], n) && bp_rw(c->s.dr[7], n) == RW_EXEC &&
		    bp_overlaps(c, n, lin, 1))
			hits |= 1u << n;
	if (!hits)
		return;
	c->s.dr[6] = (c->s.dr[6] & ~0xfULL) | hits;
	tcg_raise(c, EXC_DB, NO_ERRCODE);
}

void tcg_dbg_trap(struct tcg_cpu *c, unsigned dr6_bits)
{
	if (dr6_bits & 0xf)
		c->s.dr[6] = (c->s.dr[6] & ~0xfULL) | dr6_bits;
	else
		c->s.dr[6] |= dr6_bits;
	tcg_deliver(c, EXC_DB, NO_ERRCODE, INT_EXCEPTION, c->s.rip);
}
