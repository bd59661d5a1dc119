/*
 * When guest code may run natively: kqemu's rule for 64-bit guests.
 *
 * The host runs the code at its own CPL 3 with its own descriptor tables,
 * so the guest must be in user mode (CPL 3) of long mode with paging, in
 * 64-bit code, with the selectors a Linux host gives its processes
 * (CS 0x33, SS 0x2b, DS/ES 0 or 0x2b, FS/GS 0: the host's GDT has the same
 * descriptors there, and in 64-bit mode their bases and limits do not
 * matter but FS's and GS's, which the backend sets).  Interrupts must be
 * enabled and none pending (the guest's interrupt comes back through TCG
 * at once), no single-step, no hardware breakpoints, and nothing mapped
 * where the backend lives.
 */
#include "engine.h"

static const char *const stay_names[KQ_STAY_NR] = {
	[KQ_STAY_NONE] = "native",
	[KQ_STAY_MODE] = "not long mode with paging",
	[KQ_STAY_CPL] = "CPL 0-2 (guest kernel)",
	[KQ_STAY_CODE32] = "32-bit user code",
	[KQ_STAY_FPU] = "CR0.TS/EM or no CR4.OSFXSR",
	[KQ_STAY_SEGMENTS] = "selectors not the host's",
	[KQ_STAY_IF] = "interrupts disabled",
	[KQ_STAY_TF] = "single-step (TF)",
	[KQ_STAY_SHADOW] = "interrupt shadow",
	[KQ_STAY_EVENT] = "interrupt pending",
	[KQ_STAY_DR7] = "hardware breakpoints",
	[KQ_STAY_HOLE] = "guest maps the backend's hole",
	[KQ_STAY_TSC] = "TSC offset or CR4.TSD the backend cannot trap",
	[KQ_STAY_AFTER_EXIT] = "instruction of an exit",
};

const char *kq_stay_name(enum kq_stay why)
{
	return why < KQ_STAY_NR && stay_names[why] ? stay_names[why] : "?";
}

#define SEL_USER_CS 0x33
#define SEL_USER_DS 0x2b

static bool data_sel_ok(uint16_t sel)
{
	return sel == 0 || sel == SEL_USER_DS;
}

enum kq_stay kq_rule_cpu(const struct tcg_cpu *c)
{
	const struct x86_cpu_state *s = &c->s;
	if ((s->cr0 & (CR0_PE | CR0_PG)) != (CR0_PE | CR0_PG) || !(s->efer & EFER_LMA))
		return KQ_STAY_MODE;
	if (tcg_cpl(c) != 3)
		return KQ_STAY_CPL;
	if (!tcg_code64(c))
		return KQ_STAY_CODE32;
	if ((s->cr0 & (CR0_TS | CR0_EM)) || !(s->cr4 & CR4_OSFXSR))
		return KQ_STAY_FPU;
	if (s->seg[S_CS].selector != SEL_USER_CS || s->seg[S_SS].selector != SEL_USER_DS ||
	    !data_sel_ok(s->seg[S_DS].selector) || !data_sel_ok(s->seg[S_ES].selector) ||
	    s->seg[S_FS].selector || s->seg[S_GS].selector)
		return KQ_STAY_SEGMENTS;
	if (!(s->rflags & FL_IF))
		return KQ_STAY_IF;
	if (s->rflags & FL_TF)
		return KQ_STAY_TF;
	if (c->inhibit_irq)
		return KQ_STAY_SHADOW;
	/* L0-L3 and G0-G3 (SDM Vol. 3, 18.2.4) */
	if (s->dr[7] & 0xff)
		return KQ_STAY_DR7;
	return KQ_STAY_NONE;
}

#define PTE_P 1ULL
#define PTE_PS (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL

/* Entries of one table level covering [start, end) (end exclusive,
 * within the table's span): any present one maps something there, but
 * at the PD level we stop (a present PD entry may hold only page tables
 * outside the hole's pages: counted as mapped all the same). */
static bool level_mapped(uint64_t table, unsigned shift, uint64_t start, uint64_t end,
			 int level, uint64_t (*read)(void *, uint64_t), void *opaque)
{
	uint64_t span = 1ULL << shift;
	for (uint64_t a = start; a < end;) {
		unsigned idx = (a >> shift) & 511;
		uint64_t entry = read(opaque, table + idx * 8);
		uint64_t next = (a & ~(span - 1)) + span;
		uint64_t sub_end = next < end && next ? next : end;
		if (entry & PTE_P) {
			if (level == 2 || (entry & PTE_PS))
				return true;
			if (level_mapped(entry & PTE_ADDR, shift - 9, a, sub_end, level - 1,
					 read, opaque))
				return true;
		}
		if (!next || next >= end)
			break;
		a = next;
	}
	return false;
}

bool kq_hole_mapped(uint64_t cr3, uint64_t start, uint64_t end,
		    uint64_t (*read)(void *opaque, uint64_t pa), void *opaque)
{
	if (start >= end)
		return false;
	return level_mapped(cr3 & PTE_ADDR, 39, start, end, 4, read, opaque);
}
