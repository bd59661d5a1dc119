/*
 * Guest registers held in host registers across a block.  The guest
 * registers a block uses most (twice or more) live in the host's
 * callee-saved rbx, rbp, r12, r13 and r14 from the block's entry to its
 * exits: loaded after the entry checks, written back before every exit
 * and before every call of an interpreter handler (which reads and writes
 * c->s.regs), and loaded again after such a call.  The C functions the
 * generated code calls preserve these registers (SysV ABI), so nothing
 * else has to be saved around calls.
 *
 * A register read or written as AH-BH in the block is not held: those
 * bytes have no host encoding in rbp or r12-r14.
 */
#include "tcg/jit/gen.h"

static const int8_t cache_hosts[REGCACHE_MAX] = { H_RBX, H_RBP, H_R12, H_R13, H_R14 };

static void count_mem(const struct insn *i, unsigned *use)
{
	if (!i->mem || i->rip_rel)
		return;
	if (i->base != NO_REG)
		use[i->base & 15] += 1;
	if (i->index != NO_REG)
		use[i->index & 15] += 1;
}

/* Registers 0-3 used as AH-BH by i (no REX, a byte operand in 4-7). */
static void mark_high_bytes(const struct insn *i, const struct mirror *m, bool mirrored,
			    bool *nocache)
{
	if (i->rex)
		return;
	if (mirrored) {
		if (m->size == 1 && (m->r_read || m->r_write) && i->reg >= 4 && i->reg < 8)
			nocache[i->reg - 4] = true;
		if ((m->size == 1 || m->msize == 1) && i->has_modrm && !i->mem &&
		    i->rm >= 4 && i->rm < 8)
			nocache[i->rm - 4] = true;
	}
	if (i->map == MAP_1B && i->op >= 0xb4 && i->op <= 0xb7)
		nocache[i->opreg - 4] = true;
}

static void count_other(const struct insn *i, unsigned *use)
{
	unsigned op = i->op;
	if (i->map == MAP_0F) {
		if (op >= 0xc8 && op <= 0xcf)
			use[i->opreg & 15] += 1;
		return;
	}
	if (i->map != MAP_1B)
		return;
	if ((op >= 0x50 && op <= 0x5f) || (op >= 0xb0 && op <= 0xbf) || (op >= 0x91 && op <= 0x97))
		use[i->opreg & 15] += 1;
	if (op >= 0x50 && op <= 0x5f)
		use[R_RSP] += 2;
	switch (op) {
	case 0x68: case 0x6a: case 0xc2: case 0xc3: case 0xe8:
		use[R_RSP] += 2;
		break;
	case 0x98: case 0x99:
		use[R_RAX] += 1;
		break;
	case 0xc9:
		use[R_RSP] += 1;
		use[R_RBP] += 2;
		break;
	case 0x8d:
		use[i->reg & 15] += 1;
		break;
	case 0xff:
		if ((i->reg & 7) == 2 || (i->reg & 7) == 6)
			use[R_RSP] += 2;
		if (!i->mem)
			use[i->rm & 15] += 1;
		break;
	}
}

/* Does the block end in a direct jump (JMP or Jcc rel) back to its own
 * start?  Then its registers stay in host registers around the loop
 * (translate.c, tr_exit_self), and one use a round pays for holding
 * (regcache_choose). */
bool jit_block_loops(const struct tr *t)
{
	const struct tcg_block *b = t->b;
	uint64_t next = b->rip;
	for (unsigned k = 0; k < t->n; k++)
		next = (next + b->insns[k].len) & t->rip_mask;
	const struct insn *i = &b->insns[t->n - 1];
	bool rel = (i->map == MAP_1B && (i->op == 0xeb || i->op == 0xe9 ||
					 (i->op >= 0x70 && i->op <= 0x7f))) ||
		   (i->map == MAP_0F && i->op >= 0x80 && i->op <= 0x8f);
	if (!rel || i->lock)
		return false;
	uint64_t target = next + (uint64_t)tcg_simm(i);
	if (b->code_bits != 64)
		target &= size_mask(i->osz);
	return target == b->rip;
}

void regcache_choose(struct tr *t, const struct gen_info *gi)
{
	unsigned use[16] = { 0 };
	bool nocache[16] = { false };
	for (unsigned k = 0; k < t->n; k++) {
		const struct insn *i = &t->b->insns[k];
		struct mirror m;
		bool mirrored = mirror_of(t, i, &m);
		mark_high_bytes(i, &m, mirrored, nocache);
		if (!gi[k].gen)
			continue;
		count_mem(i, use);
		if (!mirrored) {
			count_other(i, use);
			continue;
		}
		if (m.r_read || m.r_write)
			use[i->reg & 15] += 1;
		if (!i->has_modrm)
			use[R_RAX] += 1;
		else if (!i->mem)
			use[i->rm & 15] += 1;
		if (m.implicit_ax)
			use[R_RAX] += 1;
		if (m.dx_out)
			use[R_RDX] += 1;
		if (m.cl_count)
			use[R_RCX] += 1;
	}
	memset(t->cache_host, -1, sizeof(t->cache_host));
	t->ncached = 0;
	if (t->no_regcache)
		return;
	/* a single instruction (jit_step: the differential tester) holds
	 * every register it names, so the tester covers the held forms */
	unsigned min_uses = t->n == 1 || t->loops ? 1 : 2;
	while (t->ncached < REGCACHE_MAX) {
		int best = -1;
		for (int r = 0; r < 16; r++)
			if (!nocache[r] && t->cache_host[r] < 0 && use[r] >= min_uses &&
			    (best < 0 || use[r] > use[best]))
				best = r;
		if (best < 0)
			break;
		t->cache_host[best] = cache_hosts[t->ncached];
		t->cached[t->ncached++] = (uint8_t)best;
	}
}

static struct hrm slot(unsigned r)
{
	return rm_mem(R_CPU, CPU_OFF(s.regs[0]) + (int32_t)r * 8);
}

void regcache_load(const struct tr *t, struct emit *e)
{
	for (unsigned k = 0; k < t->ncached; k++)
		emit_load(e, 8, t->cache_host[t->cached[k]], slot(t->cached[k]));
}

void regcache_store(const struct tr *t, struct emit *e)
{
	for (unsigned k = 0; k < t->ncached; k++)
		emit_store(e, 8, slot(t->cached[k]), t->cache_host[t->cached[k]]);
}
