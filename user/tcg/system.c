/*
 * System instructions: control and debug registers, the descriptor-table
 * registers (group 7), port I/O with the I/O permission bit map, the
 * privilege rules of CLI/STI/PUSHF/POPF, HLT, and the RDMSR/WRMSR, RDTSC
 * and CPUID instructions (their bodies are in msr.c and cpuid.c).
 *
 * tcg_set_cr0/cr3/cr4/efer apply a value that is already known to be
 * valid (the MOV CR / WRMSR / LMSW handlers check first, tcg_set_state and
 * INIT call them with the state as it is): they keep EFER.LMA in step with
 * CR0.PG, flush the TLB where the SDM says cached translations change, and
 * end the block.  They never raise.
 *
 * Hardware breakpoints: MOV DR here, the breakpoints in debug.c.
 * Not implemented: VME/PVI (not advertised, so CR4.VME/PVI are reserved), MONITOR/MWAIT,
 * VMX/SVM (all #UD or reserved bits).  PKU: CR4.PKE, RDPKRU and WRPKRU
 * here; PKS: CR4.PKS here, IA32_PKRS in msr.c; the keys in mmu.c's walk.
 *
 * SMEP, SMAP, UMIP and PCID (SDM Vol. 3, 2.5, 4.6, 4.10) exist where the
 * vCPU's CPUID advertises them (tcg_sys_features): their CR4 bits, STAC
 * and CLAC, INVPCID.  The TLB is not tagged with PCIDs: every MOV to CR3
 * drops the non-global translations, its bit 63 ("keep the new PCID's")
 * included, and INVPCID drops at least what its type names.  Keeping
 * translations is never required (4.10.4.4), so that is correct, and
 * no switch of address space can find the previous one's entries.
 */
#include "tcg/tcg.h"
#include "hw/apic.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* MAXPHYADDR as CPUID 0x80000008 reports it (cpuid.c) */
#define PHYS_BITS 40
#define PHYS_RSVD (~0ULL << PHYS_BITS)

/* CR0 bits that exist; the others are ignored on write (SDM Vol. 3, 2.5) */
#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | \
		   CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)
/* CR4 bits this engine implements (and CPUID advertises) */
#define CR4_VALID (CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | \
		   CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE)
/* Changes of these flush every translation, global ones included */
#define CR0_FLUSH (CR0_PG | CR0_WP | CR0_PE | CR0_CD | CR0_NW)
#define CR4_FLUSH (CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP | CR4_SMAP | CR4_PCIDE | CR4_PKE | \
		   CR4_PKS)
/* CR3 with CR4.PCIDE: the PCID, and MOV's "no invalidation" bit */
#define CR3_PCID 0xfffULL
#define CR3_NOFLUSH (1ULL << 63)

#define DR6_BD (1ULL << 13)
#define DR7_GD (1ULL << 13)

static inline bool is_canonical(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

static inline unsigned iopl(const struct tcg_cpu *c)
{
	return (c->s.rflags & FL_IOPL) >> 12;
}

static inline void gp0(struct tcg_cpu *c)
{
	tcg_raise(c, EXC_GP, 0);
}

static inline void require_cpl0(struct tcg_cpu *c)
{
	if (tcg_cpl(c) != 0)
		gp0(c);
}

static inline unsigned cpu_index(const struct tcg_cpu *c)
{
	return c->v ? c->v->index : 0;
}

/* EDX:EAX = v, the upper halves of RAX/RDX cleared (RDTSC, RDMSR ...) */
static void set_edx_eax(struct tcg_cpu *c, uint64_t v)
{
	c->s.regs[R_RAX] = (uint32_t)v;
	c->s.regs[R_RDX] = v >> 32;
}

/* ------------------------------------------------------------------ */
/* Control registers                                                   */

void tcg_set_cr0(struct tcg_cpu *c, uint64_t v)
{
	uint64_t old = c->s.cr0;
	v |= CR0_ET;                    /* hardwired to 1 since the P6 */
	c->s.cr0 = v;
	/* SDM Vol. 3, 9.8.5: IA-32e mode is active while LME and PG are set */
	if ((v & CR0_PG) && (c->s.efer & EFER_LME))
		c->s.efer |= EFER_LMA;
	else
		c->s.efer &= ~EFER_LMA;
	if ((old ^ v) & CR0_FLUSH)
		tcg_tlb_flush_all(c);
	c->stop = true;
}

void tcg_set_cr3(struct tcg_cpu *c, uint64_t v)
{
	tcg_set_cr3_keep(c, v, false);
}

void tcg_set_cr3_keep(struct tcg_cpu *c, uint64_t v, bool keep_pcid)
{
	c->s.cr3 = v;
	/* SDM Vol. 3, 4.10.4.1: not global ones, and with CR4.PCIDE only
	 * the new PCID's, none with bit 63 set.  TCG's untagged TLB drops
	 * every non-global entry anyway; kqemu hears the architectural
	 * flush (TCG_FLUSH_NONE for keep_pcid). */
	if (keep_pcid)
		tcg_tlb_flush_kept(c, tcg_pcid(c));
	else
		tcg_tlb_flush_pcid(c, tcg_pcid(c));
	c->stop = true;
}

void tcg_set_cr4(struct tcg_cpu *c, uint64_t v)
{
	uint64_t old = c->s.cr4;
	c->s.cr4 = v;
	if ((old ^ v) & CR4_FLUSH)
		tcg_tlb_flush_all(c);
	c->stop = true;
}

void tcg_set_efer(struct tcg_cpu *c, uint64_t v)
{
	uint64_t old = c->s.efer;
	c->s.efer = v;
	/* NXE changes what a present entry means; LMA the page-table format */
	if ((old ^ v) & (EFER_NXE | EFER_LMA | EFER_LME))
		tcg_tlb_flush_all(c);
	c->stop = true;
}

/* SDM Vol. 3, 4.4.1: with PAE paging (not IA-32e), MOV to CR0/CR3/CR4
 * loads the four PDPTEs; a present one with a reserved bit set (2:1, 8:5,
 * 63:MAXPHYADDR) makes the MOV fail with #GP(0). */
static void check_pdptes(struct tcg_cpu *c, uint64_t cr0, uint64_t cr3, uint64_t cr4)
{
	if (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE) || (c->s.efer & EFER_LME))
		return;
	uint64_t pdpte[4];
	if (guest_read(c->m, (cr3 & 0xffffffe0) & c->a20_mask, pdpte, sizeof(pdpte)) < 0)
		return;                 /* not RAM: the walk will fault later */
	for (unsigned k = 0; k < 4; k++)
		if ((pdpte[k] & 1) && (pdpte[k] & (0x1e6ULL | PHYS_RSVD)))
			gp0(c);
}

/* MOV CR0, r with the checks of SDM Vol. 2 "MOV - Move to/from Control
 * Registers" and Vol. 3, 9.8.5 (IA-32e mode activation). */
static void mov_to_cr0(struct tcg_cpu *c, uint64_t v)
{
	uint64_t old = c->s.cr0;
	if (v >> 32)
		gp0(c);                 /* only reachable in 64-bit mode */
	v = (v & CR0_VALID) | CR0_ET;
	if ((v & CR0_PG) && !(v & CR0_PE))
		gp0(c);
	if ((v & CR0_NW) && !(v & CR0_CD))
		gp0(c);
	if ((v & CR0_PG) && !(old & CR0_PG) && (c->s.efer & EFER_LME) &&
	    !(c->s.cr4 & CR4_PAE))
		gp0(c);
	/* leaving IA-32e mode is done from compatibility mode, and not
	 * with CR4.PCIDE set (SDM Vol. 2 "MOV" to CR0) */
	if (!(v & CR0_PG) && (old & CR0_PG) && (tcg_code64(c) || (c->s.cr4 & CR4_PCIDE)))
		gp0(c);
	if ((old ^ v) & (CR0_PG | CR0_CD | CR0_NW))
		check_pdptes(c, v, c->s.cr3, c->s.cr4);
	tcg_set_cr0(c, v);
}

static void mov_to_cr3(struct tcg_cpu *c, uint64_t v)
{
	/* SDM Vol. 3, 4.10.4.1: bit 63 says whether the new PCID's
	 * translations stay; it is not stored.  Ours all go anyway;
	 * kqemu's stay (tcg_set_cr3_keep). */
	bool keep = false;
	if (c->s.cr4 & CR4_PCIDE) {
		keep = v & CR3_NOFLUSH;
		v &= ~CR3_NOFLUSH;
	}
	if (tcg_long_mode(c) && (v & PHYS_RSVD))
		gp0(c);
	check_pdptes(c, c->s.cr0, v, c->s.cr4);
	tcg_set_cr3_keep(c, v, keep);
}

/* The CR4 bits of the features CPUID advertises (SDM Vol. 3, 2.5) */
static uint64_t sys_cr4_bits(struct tcg_cpu *c)
{
	unsigned f = tcg_sys_features(c);
	return (f & SYSF_PCID ? CR4_PCIDE : 0) | (f & SYSF_SMEP ? CR4_SMEP : 0) |
	       (f & SYSF_SMAP ? CR4_SMAP : 0) | (f & SYSF_UMIP ? CR4_UMIP : 0) |
	       (f & SYSF_PKU ? CR4_PKE : 0) | (f & SYSF_PKS ? CR4_PKS : 0);
}

static void mov_to_cr4(struct tcg_cpu *c, uint64_t v)
{
	uint64_t old = c->s.cr4;
	if (v & ~(CR4_VALID | tcg_xsave_cr4_bits(c) | sys_cr4_bits(c)))
		gp0(c);
	if (!(v & CR4_PAE) && tcg_long_mode(c))
		gp0(c);
	/* CR4.PCIDE goes to 1 only in IA-32e mode with PCID 0 (4.10.1) */
	if ((v & ~old & CR4_PCIDE) && (!tcg_long_mode(c) || (c->s.cr3 & CR3_PCID)))
		gp0(c);
	if ((old ^ v) & (CR4_PAE | CR4_PGE | CR4_PSE))
		check_pdptes(c, c->s.cr0, c->s.cr3, v);
	tcg_set_cr4(c, v);
}

/* CR8 is the TPR's priority class (SDM Vol. 3, 11.8.6.1) */
static uint64_t get_cr8(struct tcg_cpu *c)
{
	return c->lapic ? lapic_get_cr8(c->lapic) : c->s.cr8;
}

static void mov_to_cr8(struct tcg_cpu *c, uint64_t v)
{
	if (v & ~0xfULL)
		gp0(c);
	if (c->lapic)
		lapic_set_cr8(c->lapic, v);
	else
		c->s.cr8 = v;
	c->stop = true;                 /* a lower TPR may unmask an interrupt */
}

static bool cr_exists(unsigned n)
{
	return n == 0 || n == 2 || n == 3 || n == 4 || n == 8;
}

/* 0F 20: MOV r, CRn.  ModRM.mod is ignored (the decoder gives rm). */
static void op_mov_from_cr(struct tcg_cpu *c, const struct insn *i)
{
	unsigned n = i->reg;
	require_cpl0(c);                /* before #UD, as KVM and QEMU order them */
	if (!cr_exists(n))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	uint64_t v;
	switch (n) {
	case 0: v = c->s.cr0; break;
	case 2: v = c->s.cr2; break;
	case 3: v = c->s.cr3; break;
	case 4: v = c->s.cr4; break;
	default: v = get_cr8(c); break;
	}
	tcg_reg_set(c, i, i->rm, tcg_code64(c) ? 8 : 4, v);
}

/* 0F 22: MOV CRn, r */
static void op_mov_to_cr(struct tcg_cpu *c, const struct insn *i)
{
	unsigned n = i->reg;
	require_cpl0(c);                /* before #UD, as KVM and QEMU order them */
	if (!cr_exists(n))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	uint64_t v = tcg_reg_get(c, i, i->rm, tcg_code64(c) ? 8 : 4);
	switch (n) {
	case 0: mov_to_cr0(c, v); break;
	case 2: c->s.cr2 = v; break;
	case 3: mov_to_cr3(c, v); break;
	case 4: mov_to_cr4(c, v); break;
	default: mov_to_cr8(c, v); break;
	}
	c->stop = true;
}

/* ------------------------------------------------------------------ */
/* Debug registers (SDM Vol. 3, 18.2)                                  */

/* The debug register an access names, after the checks: CPL 0, DR8-15
 * and (with CR4.DE) DR4/DR5 undefined, DR7.GD's general-detect #DB. */
static unsigned dr_index(struct tcg_cpu *c, const struct insn *i)
{
	unsigned n = i->reg;
	require_cpl0(c);
	if (n >= 8)
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (n == 4 || n == 5) {
		if (c->s.cr4 & CR4_DE)
			tcg_raise(c, EXC_UD, NO_ERRCODE);
		n += 2;                 /* aliases of DR6/DR7 */
	}
	if (c->s.dr[7] & DR7_GD) {
		/* SDM 18.2.4: a fault, with DR6.BD set and GD cleared */
		c->s.dr[6] |= DR6_BD;
		c->s.dr[7] &= ~DR7_GD;
		tcg_raise(c, EXC_DB, NO_ERRCODE);
	}
	return n;
}

/* 0F 21: MOV r, DRn */
static void op_mov_from_dr(struct tcg_cpu *c, const struct insn *i)
{
	unsigned n = dr_index(c, i);
	tcg_reg_set(c, i, i->rm, tcg_code64(c) ? 8 : 4, c->s.dr[n]);
}

/* 0F 23: MOV DRn, r.  DR6/DR7 keep their fixed bits (SDM 18.2.3, 18.2.4). */
static void op_mov_to_dr(struct tcg_cpu *c, const struct insn *i)
{
	unsigned n = dr_index(c, i);
	uint64_t v = tcg_reg_get(c, i, i->rm, tcg_code64(c) ? 8 : 4);
	switch (n) {
	case 6:
		if (v >> 32)
			gp0(c);
		c->s.dr[6] = (v & 0xe00f) | 0xffff0ff0;
		break;
	case 7:
		if (v >> 32)
			gp0(c);
		c->s.dr[7] = (v & 0xffff23ff) | 0x400;
		break;
	default:
		c->s.dr[n] = v;
		break;
	}
	if (n != 6)
		tcg_dr_update(c);
}

/* ------------------------------------------------------------------ */
/* Group 7 (0F 01)                                                     */

/* CR4.UMIP: SGDT, SIDT, SMSW (and seg.c's SLDT, STR) at CPL > 0 are
 * #GP(0) (SDM Vol. 3, 2.5) */
static void check_umip(struct tcg_cpu *c)
{
	if ((c->s.cr4 & CR4_UMIP) && tcg_cpl(c) > 0)
		gp0(c);
}

/* SGDT/SIDT: limit then base, 4 bytes of base outside 64-bit mode
 * (whatever the operand size), 8 in it (SDM Vol. 2 "SGDT"). */
static void store_dtable(struct tcg_cpu *c, const struct insn *i, const struct x86_dtable *t)
{
	uint8_t buf[10];
	check_umip(c);
	unsigned n = tcg_code64(c) ? 10 : 6;
	uint64_t base = n == 10 ? t->base : (uint32_t)t->base;
	memcpy(buf, &t->limit, 2);
	memcpy(buf + 2, &base, 8);
	tcg_st_bytes(c, i->seg, tcg_ea(c, i), buf, n);
}

/* LGDT/LIDT: 24 bits of base with a 16-bit operand, 32 with a 32-bit
 * one, 64 in 64-bit mode (SDM Vol. 2 "LGDT/LIDT"), where a non-canonical
 * base is #GP(0) as on the processor (KVM's emulator does the same). */
static void load_dtable(struct tcg_cpu *c, const struct insn *i, struct x86_dtable *t)
{
	uint8_t buf[10];
	uint16_t limit;
	uint64_t base = 0;
	bool wide = tcg_code64(c);
	require_cpl0(c);
	tcg_ld_bytes(c, i->seg, tcg_ea(c, i), buf, wide ? 10 : 6);
	memcpy(&limit, buf, 2);
	memcpy(&base, buf + 2, wide ? 8 : 4);
	if (!wide && i->osz == 2)
		base &= 0xffffff;
	if (wide && !is_canonical(base))
		gp0(c);
	t->limit = limit;
	t->base = base;
}

/* LMSW: the low four bits of CR0; PE can be set but not cleared */
static void lmsw(struct tcg_cpu *c, const struct insn *i)
{
	require_cpl0(c);
	uint64_t src = tcg_rm_get(c, i, 2);
	uint64_t v = (c->s.cr0 & ~0xfULL) | (src & 0xf) | (c->s.cr0 & CR0_PE);
	tcg_set_cr0(c, v);
}

static void smsw(struct tcg_cpu *c, const struct insn *i)
{
	check_umip(c);
	if (i->mem)
		tcg_rm_set(c, i, 2, c->s.cr0 & 0xffff);
	else
		tcg_reg_set(c, i, i->rm, i->osz, c->s.cr0);
}

/* INVLPG: no segment checks, and a no-op on a non-canonical address in
 * 64-bit mode (SDM Vol. 2 "INVLPG"). */
static void invlpg(struct tcg_cpu *c, const struct insn *i)
{
	require_cpl0(c);
	uint64_t off = tcg_ea(c, i);
	uint64_t lin;
	if (tcg_code64(c)) {
		bool based = i->seg == S_FS || i->seg == S_GS;
		lin = (based ? c->s.seg[i->seg].base : 0) + off;
		if (!is_canonical(lin))
			return;
	} else {
		lin = (uint32_t)(c->s.seg[i->seg].base + off);
	}
	tcg_tlb_flush_page(c, lin);
	c->stop = true;                 /* the code that follows may have moved */
}

static void swapgs(struct tcg_cpu *c)
{
	if (!tcg_code64(c))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	require_cpl0(c);
	uint64_t t = c->s.seg[S_GS].base;
	c->s.seg[S_GS].base = c->s.kernel_gs_base;
	c->s.kernel_gs_base = t;
}

/* CR4.TSD makes RDTSC/RDTSCP privileged (SDM Vol. 2 "RDTSC") */
static void check_tsd(struct tcg_cpu *c)
{
	if ((c->s.cr4 & CR4_TSD) && tcg_cpl(c) != 0 && tcg_protected(c))
		gp0(c);
}

static void rdtscp(struct tcg_cpu *c)
{
	check_tsd(c);
	set_edx_eax(c, tcg_rdtsc(c));
	c->s.regs[R_RCX] = (uint32_t)c->s.tsc_aux;
}

/* 0F 01 CA CLAC, 0F 01 CB STAC: EFLAGS.AC at CPL 0 with SMAP (SDM Vol.
 * 2 "CLAC", "STAC"), #UD elsewhere.  They end the block (decode.c): the
 * translation key follows AC (block.h, KEY_SMAP_AC). */
static void set_ac(struct tcg_cpu *c, bool on)
{
	if (!(tcg_sys_features(c) & SYSF_SMAP) || tcg_cpl(c) > 0)
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (on)
		c->s.rflags |= FL_AC;
	else
		c->s.rflags &= ~(uint64_t)FL_AC;
}

/* Protection keys (SDM Vol. 3, 4.6.2) */
void tcg_set_pkru(struct tcg_cpu *c, uint32_t v)
{
	if (v == c->xs.pkru)
		return;
	c->xs.pkru = v;
	/* The TLB holds rights decided under the old PKRU: hardware reads
	 * PKRU at every access, here a change drops them all, so that a
	 * hit stays one compare.  Linux writes PKRU only when a task's
	 * value differs from the one loaded. */
	if (c->s.cr4 & CR4_PKE)
		tcg_tlb_flush_all(c);
	c->stop = true;
}

/* IA32_PKRS (SDM Vol. 3, 4.6.2; Vol. 4, table 2-2): PKRU's layout for
 * supervisor pages; bits 63:32 are reserved.  A change flushes the TLB
 * as one of PKRU does. */
int tcg_set_pkrs(struct tcg_cpu *c, uint64_t v)
{
	if (!(tcg_sys_features(c) & SYSF_PKS) || v >> 32)
		return -1;
	if (v == c->pkrs)
		return 0;
	c->pkrs = (uint32_t)v;
	if (c->s.cr4 & CR4_PKS)
		tcg_tlb_flush_all(c);
	c->stop = true;
	return 0;
}

/* 0F 01 EE RDPKRU, 0F 01 EF WRPKRU (SDM Vol. 2): #UD without CR4.PKE,
 * #GP(0) unless ECX (and, for WRPKRU, EDX) is 0.  Any CPL. */
static void pkru_insn(struct tcg_cpu *c, bool write)
{
	if (!(c->s.cr4 & CR4_PKE))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if ((uint32_t)c->s.regs[R_RCX] || (write && (uint32_t)c->s.regs[R_RDX]))
		gp0(c);
	if (write) {
		tcg_set_pkru(c, (uint32_t)c->s.regs[R_RAX]);
		return;
	}
	c->s.regs[R_RAX] = c->xs.pkru;
	c->s.regs[R_RDX] = 0;
}

/* The register forms (ModRM.mod = 3): SMSW, LMSW, SWAPGS, RDTSCP,
 * CLAC/STAC, XGETBV/XSETBV (xsave.c), RDPKRU/WRPKRU; VMX, SVM,
 * MONITOR/MWAIT ... are not advertised and are #UD. */
static void group7_reg(struct tcg_cpu *c, const struct insn *i)
{
	switch (i->reg & 7) {
	case 1:
		if ((i->rm & 7) == 2 || (i->rm & 7) == 3) {
			set_ac(c, (i->rm & 7) == 3);
			return;
		}
		break;
	case 2:
		if ((i->rm & 7) == 0) {
			tcg_xgetbv(c, i);
			return;
		}
		if ((i->rm & 7) == 1) {
			tcg_xsetbv(c, i);
			return;
		}
		break;
	case 4:
		smsw(c, i);
		return;
	case 5:
		if ((i->rm & 7) == 6 || (i->rm & 7) == 7) {
			pkru_insn(c, (i->rm & 7) == 7);
			return;
		}
		break;
	case 6:
		lmsw(c, i);
		return;
	case 7:
		if ((i->rm & 7) == 0) {
			swapgs(c);
			return;
		}
		if ((i->rm & 7) == 1) {
			rdtscp(c);
			return;
		}
		break;
	}
	tcg_raise(c, EXC_UD, NO_ERRCODE);
}

static void op_group7(struct tcg_cpu *c, const struct insn *i)
{
	if (!i->mem) {
		group7_reg(c, i);
		return;
	}
	switch (i->reg & 7) {
	case 0: store_dtable(c, i, &c->s.gdt); break;
	case 1: store_dtable(c, i, &c->s.idt); break;
	case 2: load_dtable(c, i, &c->s.gdt); break;
	case 3: load_dtable(c, i, &c->s.idt); break;
	case 4: smsw(c, i); break;
	case 6: lmsw(c, i); break;
	case 7: invlpg(c, i); break;
	default: tcg_raise(c, EXC_UD, NO_ERRCODE);
	}
}

/* ------------------------------------------------------------------ */
/* INVPCID (SDM Vol. 2 "INVPCID", Vol. 3, 4.10.4.1)                    */

enum { INVPCID_ADDR, INVPCID_SINGLE, INVPCID_ALL_GLOBAL, INVPCID_ALL };

/* 66 0F 38 82 /r: the type in the register (64 bits in 64-bit mode, else
 * 32), the 16-byte descriptor (PCID, reserved bits, linear address) in
 * memory.  Without PCID tags in the TLB, a type names a superset: the
 * page (its global translation too) or every non-global translation,
 * whatever the PCID. */
static void op_invpcid(struct tcg_cpu *c, const struct insn *i)
{
	if (i->pfx != PFX_66 || !i->mem || !(tcg_sys_features(c) & SYSF_INVPCID) || tcg_v86(c))
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	require_cpl0(c);
	uint64_t type = tcg_reg_get(c, i, i->reg, tcg_code64(c) ? 8 : 4);
	if (type > INVPCID_ALL)
		gp0(c);
	uint64_t desc[2];
	tcg_ld_bytes(c, i->seg, tcg_ea(c, i), desc, sizeof(desc));
	uint64_t pcid = desc[0] & CR3_PCID, lin = desc[1];
	if (desc[0] & ~CR3_PCID)
		gp0(c);
	bool pcide = c->s.cr4 & CR4_PCIDE;
	if (type <= INVPCID_SINGLE && !pcide && pcid)
		gp0(c);
	switch (type) {
	case INVPCID_ADDR:
		if (!is_canonical(lin))
			gp0(c);
		tcg_tlb_flush_page(c, tcg_long_mode(c) ? lin : (uint32_t)lin);
		break;
	case INVPCID_SINGLE:
		tcg_tlb_flush_pcid(c, pcid);    /* global translations stay */
		break;
	case INVPCID_ALL:
		tcg_tlb_flush(c);               /* global translations stay */
		break;
	default:
		tcg_tlb_flush_all(c);
		break;
	}
	c->stop = true;                 /* the code that follows may have moved */
}

/* ------------------------------------------------------------------ */
/* Small privileged instructions                                       */

static void op_clts(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	require_cpl0(c);
	tcg_set_cr0(c, c->s.cr0 & ~CR0_TS);
}

/* INVD, WBINVD: there are no caches to write back */
static void op_invd(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	require_cpl0(c);
}

/* UD2; RSM outside SMM (which is never entered) */
static void op_ud(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	tcg_raise(c, EXC_UD, NO_ERRCODE);
}

/* HLT: the vCPU sleeps after it until an interrupt, NMI or INIT; the
 * return address is the next instruction. */
static void op_hlt(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	require_cpl0(c);
	c->halted = true;
	c->stop = true;
	/* HLT completes the instruction an STI shadows ("sti; hlt"): the
	 * interrupt that wakes it is taken */
	c->inhibit_irq = false;
}

/* ------------------------------------------------------------------ */
/* Interrupt flag and RFLAGS (SDM Vol. 2 "CLI", "STI", "POPF")         */

/* CLI/STI are allowed in real mode, with CPL <= IOPL in protected mode,
 * with IOPL 3 in virtual-8086 mode (no VME/PVI here). */
static void check_if_change(struct tcg_cpu *c)
{
	if (!tcg_protected(c))
		return;
	if (tcg_v86(c) ? iopl(c) < 3 : tcg_cpl(c) > iopl(c))
		gp0(c);
}

static void op_cli(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	check_if_change(c);
	c->s.rflags &= ~FL_IF;
}

/* STI: interrupts stay blocked until the next instruction completes
 * (SDM Vol. 2, STI).  The block ends only when an interrupt is already
 * waiting, to be taken after that instruction; one arriving later kicks
 * the vCPU, whose run loop still finds inhibit_irq set if it looks before
 * the next instruction (a Linux system call enables interrupts once on
 * its way in: leaving the block there cost a run-loop round trip). */
static void op_sti(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	check_if_change(c);
	if (c->s.rflags & FL_IF)
		return;
	c->s.rflags |= FL_IF;
	c->inhibit_irq = true;
	if (!c->lapic || lapic_events(c->lapic))
		c->stop = true;
}

/* The operand size of PUSHF/POPF: 64 by default in 64-bit mode, no
 * 32-bit form there. */
static unsigned flags_osz(const struct tcg_cpu *c, const struct insn *i)
{
	if (tcg_code64(c))
		return i->osz == 2 ? 2 : 8;
	return i->osz;
}

static void op_pushf(struct tcg_cpu *c, const struct insn *i)
{
	if (tcg_v86(c) && iopl(c) < 3)
		gp0(c);
	/* the image has VM and RF clear */
	uint64_t f = tcg_rflags(c) & ~(uint64_t)(FL_VM | FL_RF);
	unsigned osz = flags_osz(c, i);
	tcg_push(c, osz, f & size_mask(osz));
}

/* Which RFLAGS bits POPF may change: never VM, VIP, VIF; IOPL at CPL 0
 * only; IF with CPL <= IOPL; the low 16 bits with a 16-bit operand. */
static uint64_t popf_mask(const struct tcg_cpu *c, unsigned osz)
{
	uint64_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID;
	if (tcg_v86(c)) {
		mask |= FL_IF;          /* IOPL is 3 here */
	} else {
		if (tcg_cpl(c) == 0)
			mask |= FL_IOPL;
		if (tcg_cpl(c) <= iopl(c))
			mask |= FL_IF;
	}
	if (osz == 2)
		mask &= 0xffff;
	return mask;
}

static void op_popf(struct tcg_cpu *c, const struct insn *i)
{
	if (tcg_v86(c) && iopl(c) < 3)
		gp0(c);
	unsigned osz = flags_osz(c, i);
	uint64_t v = tcg_pop(c, osz);
	uint64_t mask = popf_mask(c, osz);
	if (osz != 2)
		mask |= FL_RF;          /* RF is cleared (v has it or not) */
	if (osz != 2)
		v &= ~(uint64_t)FL_RF;
	tcg_set_rflags(c, v, mask);
	c->stop = true;                 /* IF or TF may have changed */
}

/* ------------------------------------------------------------------ */
/* Port I/O                                                            */

/* SDM Vol. 1, 19.5: in protected mode with CPL > IOPL, and always in
 * virtual-8086 mode, every bit of the I/O permission bit map in the
 * 32/64-bit TSS covering the accessed bytes must be 0; a bit map (or
 * TSS) that doesn't reach the port is #GP(0). */
static void check_io(struct tcg_cpu *c, uint16_t port, unsigned size)
{
	if (!tcg_protected(c) || (!tcg_v86(c) && tcg_cpl(c) <= iopl(c)))
		return;
	const struct x86_segment *tr = &c->s.tr;
	if (tr->s || (tr->type & 0xd) != 9 || tr->limit < 0x67)
		gp0(c);                 /* no 32-bit TSS: no bit map */
	uint64_t base = tr->base;
	uint32_t map = (uint32_t)tcg_lin_ld(c, base + 0x66, 2, true);
	uint32_t off = map + port / 8;
	if (off + 1 > tr->limit)
		gp0(c);
	uint32_t bits = (uint32_t)tcg_lin_ld(c, base + off, 2, true);
	if ((bits >> (port & 7)) & ((1u << size) - 1))
		gp0(c);
}

/* Log a port access as the KVM engine's handle_io does */
static void log_pio(struct tcg_cpu *c, uint16_t port, bool is_write, unsigned size,
		    uint64_t v, bool hit)
{
	if (!hit)
		qvm_log(LOG_UNIMP, "cpu %u: %s unassigned port 0x%x size %u%s", cpu_index(c),
			is_write ? "write to" : "read from", port, size,
			is_write ? "" : " (reads all ones)");
	else
		qvm_log(LOG_IOPORT, "cpu %u: %s port 0x%x size %u value 0x%llx", cpu_index(c),
			is_write ? "out" : "in", port, size, (unsigned long long)v);
}

static uint64_t pio_in(struct tcg_cpu *c, uint16_t port, unsigned size)
{
	uint64_t v = 0;
	bool hit = machine_pio(c->m, port, false, &v, size);
	if (c->v)
		c->v->pio_exits++;
	if (__builtin_expect(log_mask & (LOG_UNIMP | LOG_IOPORT), 0))
		log_pio(c, port, false, size, v, hit);
	return v;
}

static void pio_out(struct tcg_cpu *c, uint16_t port, unsigned size, uint64_t v)
{
	v &= size_mask(size);
	bool hit = machine_pio(c->m, port, true, &v, size);
	if (c->v)
		c->v->pio_exits++;
	if (__builtin_expect(log_mask & (LOG_UNIMP | LOG_IOPORT), 0))
		log_pio(c, port, true, size, v, hit);
}

/* Byte for even opcodes, else 2 or 4 bytes (REX.W doesn't make 8) */
static inline unsigned io_size(const struct insn *i)
{
	if (!(i->op & 1))
		return 1;
	return i->osz == 2 ? 2 : 4;
}

/* E4 E5 EC ED: IN AL/eAX, imm8/DX */
static void op_in(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = io_size(i);
	uint16_t port = i->op >= 0xec ? (uint16_t)c->s.regs[R_RDX] : (uint8_t)i->imm;
	check_io(c, port, size);
	tcg_dbg_io(c, port, size);
	uint64_t v = pio_in(c, port, size);
	tcg_reg_set(c, i, R_RAX, size, v);
}

/* E6 E7 EE EF: OUT imm8/DX, AL/eAX */
static void op_out(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = io_size(i);
	uint16_t port = i->op >= 0xec ? (uint16_t)c->s.regs[R_RDX] : (uint8_t)i->imm;
	check_io(c, port, size);
	tcg_dbg_io(c, port, size);
	pio_out(c, port, size, c->s.regs[R_RAX]);
	c->stop = true;                 /* the device may raise an interrupt now */
}

/* One INS element: the destination is probed first so that a fault
 * doesn't lose data the port has already given. */
static void ins_once(struct tcg_cpu *c, const struct insn *i, uint16_t port,
		     unsigned size, int64_t step)
{
	uint64_t di = tcg_reg_get(c, i, R_RDI, i->asz);
	tcg_probe_write(c, S_ES, di, size);
	uint64_t v = pio_in(c, port, size);
	tcg_st(c, S_ES, di, size, v);
	tcg_reg_set(c, i, R_RDI, i->asz, di + step);
}

static void outs_once(struct tcg_cpu *c, const struct insn *i, uint16_t port,
		      unsigned size, int64_t step)
{
	uint64_t si = tcg_reg_get(c, i, R_RSI, i->asz);
	uint64_t v = tcg_ld(c, i->seg, si, size);
	pio_out(c, port, size, v);
	tcg_reg_set(c, i, R_RSI, i->asz, si + step);
}

/* 6C-6F: INS/OUTS with REP (F2 and F3 alike).  rCX counts down at the
 * address size; every 256 elements a pending exit request ends the
 * instruction early, to be restarted where it stopped. */
static void op_string_io(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = io_size(i);
	uint16_t port = (uint16_t)c->s.regs[R_RDX];
	bool in = i->op < 0x6e;
	int64_t step = (c->s.rflags & FL_DF) ? -(int64_t)size : (int64_t)size;
	check_io(c, port, size);
	tcg_dbg_io(c, port, size);
	if (!in)
		c->stop = true;
	if (!i->rep) {
		if (in)
			ins_once(c, i, port, size, step);
		else
			outs_once(c, i, port, size, step);
		return;
	}
	uint64_t count = tcg_reg_get(c, i, R_RCX, i->asz);
	for (unsigned n = 0; count; n++) {
		if (n && !(n & 255) && __atomic_load_n(&c->exit_request, __ATOMIC_RELAXED)) {
			c->next_rip = c->s.rip;
			c->stop = true;
			return;
		}
		if (in)
			ins_once(c, i, port, size, step);
		else
			outs_once(c, i, port, size, step);
		tcg_reg_set(c, i, R_RCX, i->asz, --count);
		/* a breakpoint hit (the port, or a watched buffer): the
		 * #DB trap after this element, rip at the instruction */
		if (__builtin_expect(c->db_hits, 0) && count) {
			c->next_rip = c->s.rip;
			c->stop = true;
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* TSC, MSRs, CPUID                                                    */

static void op_rdtsc(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	check_tsd(c);
	set_edx_eax(c, tcg_rdtsc(c));
}

/* No performance counters are advertised (CPUID leaf 0xA is 0), so
 * every counter number is invalid. */
static void op_rdpmc(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	gp0(c);
}

static void op_rdmsr(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	require_cpl0(c);
	uint64_t v;
	if (tcg_rdmsr(c, (uint32_t)c->s.regs[R_RCX], &v) < 0)
		gp0(c);
	set_edx_eax(c, v);
}

static void op_wrmsr(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	require_cpl0(c);
	uint64_t v = (uint32_t)c->s.regs[R_RAX] | c->s.regs[R_RDX] << 32;
	if (tcg_wrmsr(c, (uint32_t)c->s.regs[R_RCX], v) < 0)
		gp0(c);
	c->stop = true;                 /* EFER, the APIC, bases ... */
}

static void op_cpuid(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	/* kqemu: user code sees the host's CPUID natively; so here too */
	tcg_kqemu_native(c);
	uint32_t r[4];
	tcg_cpuid(c, (uint32_t)c->s.regs[R_RAX], (uint32_t)c->s.regs[R_RCX], r);
	c->s.regs[R_RAX] = r[0];
	c->s.regs[R_RBX] = r[1];
	c->s.regs[R_RCX] = r[2];
	c->s.regs[R_RDX] = r[3];
}

/* F3 0F AE /0-/3 with a register operand: RDFSBASE RDGSBASE WRFSBASE
 * WRGSBASE r32/r64 (SDM Vol. 2, "RDFSBASE/RDGSBASE", "WRFSBASE/
 * WRGSBASE"): 64-bit mode only and with CR4.FSGSBASE, else #UD; a
 * 64-bit write must be canonical, #GP(0).  sse.c's 0F AE hands them
 * over.  A new FS or GS base needs no block to end: in 64-bit mode the
 * bases are read when used. */
void tcg_fsgsbase(struct tcg_cpu *c, const struct insn *i)
{
	unsigned size = i->rex & 8 ? 8 : 4, op = i->reg & 7;
	uint64_t *base = &c->s.seg[op & 1 ? S_GS : S_FS].base;

	if (!tcg_code64(c) || !(c->s.cr4 & CR4_FSGSBASE) || op > 3)
		tcg_raise(c, EXC_UD, NO_ERRCODE);
	if (op < 2) {
		tcg_reg_set(c, i, i->rm, size, *base & size_mask(size));
		return;
	}
	uint64_t v = tcg_reg_get(c, i, i->rm, size);
	if (!canonical(v))
		gp0(c);
	*base = v;
}

/* ------------------------------------------------------------------ */

void tcg_register_system(void)
{
	tcg_handler *b = tcg_ops[MAP_1B], *x = tcg_ops[MAP_0F];

	b[0x6c] = b[0x6d] = b[0x6e] = b[0x6f] = op_string_io;
	b[0x9c] = op_pushf;
	b[0x9d] = op_popf;
	b[0xe4] = b[0xe5] = b[0xec] = b[0xed] = op_in;
	b[0xe6] = b[0xe7] = b[0xee] = b[0xef] = op_out;
	b[0xf4] = op_hlt;
	b[0xfa] = op_cli;
	b[0xfb] = op_sti;

	x[0x01] = op_group7;
	x[0x06] = op_clts;
	x[0x08] = x[0x09] = op_invd;
	x[0x0b] = op_ud;
	x[0x20] = op_mov_from_cr;
	x[0x21] = op_mov_from_dr;
	x[0x22] = op_mov_to_cr;
	x[0x23] = op_mov_to_dr;
	x[0x30] = op_wrmsr;
	x[0x31] = op_rdtsc;
	x[0x32] = op_rdmsr;
	x[0x33] = op_rdpmc;
	x[0xa2] = op_cpuid;
	x[0xaa] = op_ud;
	tcg_ops[MAP_0F38][0x82] = op_invpcid;  /* sse.c leaves it */
}
