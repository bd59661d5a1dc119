/*
 * Same-page groups: one TLB check for several accesses through one base
 * register.  In 64-bit code, memory operands [base + disp] of mirrored
 * instructions that follow each other, with nothing in between but
 * register-only mirrored instructions, LEA and MOV of immediates that
 * leave base alone, form a group.  The first (the leader) checks the TLB
 * once for the whole span [base + lo, base + hi] of the group's
 * displacements and sizes, for writing when any member writes (a
 * writable entry is readable), and keeps the host address of base + lo
 * in r9; each later member (a follower) is one LEA from r9.
 *
 * Why it is exact: base does not change within the group, so every
 * member's address lies in the span the leader checked, on one page;
 * r9 is caller-saved, so anything that calls (a handler, the flags
 * routine, a slow path that resumes) ends the group at translation time
 * (tr->memo_live), and a follower then checks the TLB itself.  When the
 * leader's check misses, its slow path runs the leader in the
 * interpreter (which fills the TLB for its own access) and checks the
 * span again (translate.c, memo_recheck): a hit sets r9 and goes on, a
 * miss leaves the block, so the followers never run without the check.
 * A span across pages, or a page not writable yet for a group whose
 * leader reads, only costs that exit.
 */
#include "tcg/jit/gen.h"

/* the span of a group stays well inside a page */
#define MEMO_SPAN_MAX 2048

struct member {
	bool ok;
	int base;
	int32_t lo, hi;
	bool write;
	unsigned writes[4];     /* guest registers it writes; 16 = none */
};

static void add_write(struct member *mb, unsigned *n, unsigned r, unsigned size, bool rex)
{
	if (*n < 4)
		mb->writes[(*n)++] = r & 15;
	/* a byte register without REX: 4-7 are AH-BH of 0-3 */
	if (size == 1 && !rex && r >= 4 && r < 8 && *n < 4)
		mb->writes[(*n)++] = r - 4;
}

static bool writes_reg(const struct member *mb, int r)
{
	for (unsigned k = 0; k < 4; k++)
		if (mb->writes[k] == (unsigned)r)
			return true;
	return false;
}

/* What instruction k is to a group: a member (memory through one base),
 * a safe instruction in between (ok, base -1), or neither. */
static struct member describe(const struct tr *t, const struct insn *i, const struct gen_info *gi)
{
	struct member mb = { .base = -1, .writes = { 16, 16, 16, 16 } };
	unsigned n = 0;
	struct mirror m;
	if (i->lock)
		return mb;
	if (jit_gen_is_mirror(gi)) {
		if (!mirror_of(t, i, &m))
			return mb;
		if (m.r_write)
			add_write(&mb, &n, i->reg, m.size, i->rex);
		if (m.m_write && !i->mem)
			add_write(&mb, &n, i->has_modrm ? i->rm : R_RAX, m.size, i->rex);
		if (m.ax_out)
			add_write(&mb, &n, R_RAX, 8, true);
		if (m.dx_out)
			add_write(&mb, &n, R_RDX, 8, true);
		mb.ok = true;
		if (!i->mem)
			return mb;
		if (i->rip_rel || i->base == NO_REG || i->index != NO_REG || i->asz != 8 ||
		    i->seg == S_FS || i->seg == S_GS || m.msize > 16) {
			mb.ok = false;
			return mb;
		}
		mb.base = i->base & 15;
		mb.lo = i->disp;
		mb.hi = i->disp + (int32_t)m.msize - 1;
		mb.write = m.m_write;
		return mb;
	}
	if (jit_gen_is_lea(gi) || jit_gen_is_mov_imm(gi)) {
		bool lea = jit_gen_is_lea(gi);
		add_write(&mb, &n, lea ? i->reg : i->opreg, lea ? 8 : (i->op < 0xb8 ? 1 : 8), i->rex);
		mb.ok = true;
	}
	return mb;
}

/* The group led by instruction k, if one: its roles written into the
 * plan (the followers marked as they are found, the span after). */
static unsigned plan_group(struct tr *t, const struct gen_info *gi, unsigned k)
{
	struct member lead = describe(t, &t->b->insns[k], &gi[k]);
	if (!lead.ok || lead.base < 0 || writes_reg(&lead, lead.base))
		return k + 1;
	struct memo_role span = { .role = MEMO_LEADER, .leader = (uint8_t)k,
				  .lo = lead.lo, .hi = lead.hi, .write = lead.write };
	unsigned last = k;
	for (unsigned j = k + 1; j < t->n; j++) {
		struct member mb = describe(t, &t->b->insns[j], &gi[j]);
		if (!mb.ok || (mb.base >= 0 && mb.base != lead.base))
			break;
		if (mb.base >= 0) {
			int32_t lo = mb.lo < span.lo ? mb.lo : span.lo;
			int32_t hi = mb.hi > span.hi ? mb.hi : span.hi;
			if ((int64_t)hi - lo >= MEMO_SPAN_MAX)
				break;
			span.lo = lo;
			span.hi = hi;
			span.write |= mb.write;
			t->memo[j].role = MEMO_FOLLOWER;
			last = j;
		}
		if (writes_reg(&mb, lead.base))
			break;
	}
	if (last == k)
		return k + 1;
	t->memo[k] = span;
	span.role = MEMO_FOLLOWER;
	for (unsigned j = k + 1; j <= last; j++)
		if (t->memo[j].role == MEMO_FOLLOWER)
			t->memo[j] = span;
	return last + 1;
}

void memo_plan(struct tr *t, const struct gen_info *gi)
{
	memset(t->memo, 0, sizeof(t->memo));
	if (!tr_code64(t))
		return;
	for (unsigned k = 0; k < t->n;)
		k = plan_group(t, gi, k);
}
