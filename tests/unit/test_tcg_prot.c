/*
 * TCG: SMEP, SMAP (STAC, CLAC, EFLAGS.AC), UMIP, PCID and INVPCID
 * (user/tcg/mmu.c, system.c; SDM Vol. 3, 2.5, 4.6.1, 4.10).  Long mode
 * over the identity map, with the first 4 MiB supervisor pages (code,
 * tables, stack, supervisor data) and 4-6 MiB a user page.  Single
 * instructions run in the interpreter (tcg_step); the sequences whose
 * translation key matters also run through tcg_exec with the JIT on.
 */
#include <string.h>
#include "unit.h"
#include "config.h"
#include "cpu-model.h"
#include "tcgtest.h"

#define CODE 0x100000ULL        /* supervisor */
#define HANDLER 0x180000ULL
#define IDT 0x190000ULL
#define GDT 0x1a0000ULL
#define SDATA 0x200000ULL       /* supervisor data */
#define STACK 0x300000ULL
#define UDATA 0x400000ULL       /* user page */
#define PD (TCGT_PML4 + 0x2000)

/* 2 MiB page k of the identity map: supervisor (U clear) or user */
static void pde(struct tcg_env *e, unsigned k, bool user)
{
	tcg_env_put64(e, PD + k * 8, ((uint64_t)k << 21) | (user ? 0x87 : 0x83));
}

static void supervisor_low(struct tcg_env *e, uint64_t cr4)
{
	pde(e, 0, false);
	pde(e, 1, false);
	e->c->s.cr4 |= cr4;
	tcg_tlb_flush_all(e->c);
	tcg_env_put64(e, SDATA, 0x5d5d);
	tcg_env_put64(e, UDATA, 0xa1a1);
	tcg_env_put64(e, UDATA + 0x10, 0xa2a2);
}

/* A 64-bit CPL 0 CPU for single steps from CODE on */
static bool env(struct tcg_env *e, uint64_t cr4)
{
	if (!tcg_env_init(e, CODE))
		return false;
	tcg_env_long_mode(e);
	tcg_env_flat_segs(e->c, 0, true);
	supervisor_low(e, cr4);
	e->c->s.regs[R_RSP] = STACK;
	return true;
}

/* The same with -cpu arg (a string the test owns), set before any use */
static bool env_cpu(struct tcg_env *e, struct config *cfg, char *arg, uint64_t cr4)
{
	memset(cfg, 0, sizeof(*cfg));
	if (!env(e, cr4) || cpu_option_parse(arg, &cfg->cpu_model, &cfg->cpu_features) < 0)
		return false;
	e->m->cfg = cfg;
	return true;
}

/* CPL 3, the next steps' code in the user page */
static void to_cpl3(struct tcg_env *e)
{
	tcg_env_flat_segs(e->c, 3, true);
	e->code = UDATA + 0x8000;
}

static int err(const struct tcg_env *e)
{
	return e->c->test_errcode;
}

/* mov rax,[rbx] / mov [rbx],rax */
#define LOAD(e) STEP(e, 0x48, 0x8b, 0x03)
#define STORE(e) STEP(e, 0x48, 0x89, 0x03)
#define STAC(e) STEP(e, 0x0f, 0x01, 0xcb)
#define CLAC(e) STEP(e, 0x0f, 0x01, 0xca)
/* mov cr3, rax / mov cr4, rax / invpcid rax, [rbx] */
#define MOV_CR3(e) STEP(e, 0x0f, 0x22, 0xd8)
#define MOV_CR4(e) STEP(e, 0x0f, 0x22, 0xe0)
#define INVPCID(e) STEP(e, 0x66, 0x0f, 0x38, 0x82, 0x03)

TEST(tcg_smep_fetch_from_user_page)
{
	struct tcg_env e;
	CHECK(env(&e, CR4_SMEP));
	struct tcg_cpu *c = e.c;
	CHECK_EQ(STEP(&e, 0x90), -1);                           /* supervisor code */
	CHECK_EQ(STEP_AT(&e, UDATA + 0x100, 0x90), EXC_PF);
	CHECK_EQ(err(&e), PF_P | PF_I);                         /* supervisor, fetch */
	CHECK_EQ(c->s.cr2, UDATA + 0x100);
	/* a data read fills the supervisor entry of the user page (SMAP is
	 * off): it must not serve a fetch */
	c->s.regs[R_RBX] = UDATA;
	CHECK_EQ(LOAD(&e), -1);
	CHECK_EQ(c->s.regs[R_RAX], 0xa1a1);
	CHECK_EQ(STEP_AT(&e, UDATA + 0x200, 0x90), EXC_PF);
	CHECK_EQ(err(&e), PF_P | PF_I);
	/* CPL 3 runs it */
	tcg_env_flat_segs(c, 3, true);
	CHECK_EQ(STEP_AT(&e, UDATA + 0x300, 0x90), -1);
	/* and CPL 0 without SMEP */
	tcg_env_flat_segs(c, 0, true);
	tcg_set_cr4(c, c->s.cr4 & ~CR4_SMEP);
	CHECK_EQ(STEP_AT(&e, UDATA + 0x400, 0x90), -1);
	tcg_env_free(&e);
}

TEST(tcg_smap_data_access_and_ac)
{
	struct tcg_env e;
	CHECK(env(&e, CR4_SMAP));
	struct tcg_cpu *c = e.c;
	c->s.regs[R_RBX] = SDATA;
	CHECK_EQ(LOAD(&e), -1);
	CHECK_EQ(c->s.regs[R_RAX], 0x5d5d);
	c->s.regs[R_RBX] = UDATA;
	CHECK_EQ(LOAD(&e), EXC_PF);
	CHECK_EQ(err(&e), PF_P);
	CHECK_EQ(c->s.cr2, UDATA);
	CHECK_EQ(STORE(&e), EXC_PF);
	CHECK_EQ(err(&e), PF_P | PF_W);
	/* STAC: explicit accesses reach user pages */
	CHECK_EQ(STAC(&e), -1);
	CHECK(c->s.rflags & FL_AC);
	CHECK_EQ(LOAD(&e), -1);
	CHECK_EQ(c->s.regs[R_RAX], 0xa1a1);
	c->s.regs[R_RAX] = 0x7777;
	CHECK_EQ(STORE(&e), -1);
	CHECK_EQ(tcg_env_get64(&e, UDATA), 0x7777);
	/* CLAC: the entries filled meanwhile are not used */
	CHECK_EQ(CLAC(&e), -1);
	CHECK(!(c->s.rflags & FL_AC));
	CHECK_EQ(LOAD(&e), EXC_PF);
	CHECK_EQ(STORE(&e), EXC_PF);
	/* POPF sets and clears AC too: push 0x40002; popf */
	CHECK_EQ(STEP(&e, 0x68, 0x02, 0x00, 0x04, 0x00), -1);
	CHECK_EQ(STEP(&e, 0x9d), -1);
	CHECK_EQ(LOAD(&e), -1);
	CHECK_EQ(STEP(&e, 0x68, 0x02, 0x00, 0x00, 0x00), -1);
	CHECK_EQ(STEP(&e, 0x9d), -1);
	CHECK_EQ(LOAD(&e), EXC_PF);
	/* a fetch from the user page (no SMEP) fills its supervisor entry:
	 * the read that follows still faults */
	c->s.regs[R_RBX] = UDATA + 0x10;
	CHECK_EQ(STEP_AT(&e, UDATA + 0x800, 0x48, 0x8b, 0x03), EXC_PF);
	CHECK_EQ(err(&e), PF_P);
	CHECK_EQ(c->s.cr2, UDATA + 0x10);
	/* the JIT's quiet fill leaves the page out of the supervisor TLB */
	tcg_tlb_fill_quiet(c, UDATA, ACC_READ, MMU_SUPER);
	CHECK(c->tlb[MMU_SUPER][(UDATA >> 12) & (TLB_SIZE - 1)].tag_read != UDATA);
	tcg_tlb_fill_quiet(c, UDATA, ACC_READ, MMU_SUPER_AC);
	CHECK_EQ(c->tlb[MMU_SUPER_AC][(UDATA >> 12) & (TLB_SIZE - 1)].tag_read, UDATA);
	/* CPL 3: user accesses, AC or not */
	to_cpl3(&e);
	CHECK_EQ(LOAD(&e), -1);
	CHECK_EQ(c->s.regs[R_RAX], 0xa2a2);
	tcg_env_free(&e);
}

/* Descriptor-table reads are supervisor accesses that AC never opens
 * (SDM Vol. 3, 4.6.1): a GDT in a user page faults under SMAP. */
TEST(tcg_smap_implicit_accesses)
{
	struct tcg_env e;
	CHECK(env(&e, CR4_SMAP));
	struct tcg_cpu *c = e.c;
	const uint64_t data_desc = 0x00cf92000000ffffULL;      /* flat data, DPL 0 */
	tcg_env_put64(&e, UDATA + 0x1010, data_desc);
	tcg_env_put64(&e, SDATA + 0x1010, data_desc);
	c->s.gdt.base = UDATA + 0x1000;
	c->s.gdt.limit = 0x1f;
	c->s.regs[R_RAX] = 0x10;
	CHECK_EQ(STAC(&e), -1);
	CHECK_EQ(STEP(&e, 0x8e, 0xd8), EXC_PF);                 /* mov ds, ax */
	CHECK_EQ(err(&e), PF_P);
	CHECK_EQ(c->s.cr2, UDATA + 0x1010);
	c->s.gdt.base = SDATA + 0x1000;
	CHECK_EQ(STEP(&e, 0x8e, 0xd8), -1);
	/* without SMAP the user page serves */
	tcg_set_cr4(c, c->s.cr4 & ~CR4_SMAP);
	c->s.gdt.base = UDATA + 0x1000;
	CHECK_EQ(STEP(&e, 0x8e, 0xd8), -1);
	tcg_env_free(&e);
}

TEST(tcg_stac_clac_ud)
{
	struct tcg_env e;
	CHECK(env(&e, 0));
	/* CR4.SMAP clear: STAC/CLAC still work at CPL 0 */
	CHECK_EQ(STAC(&e), -1);
	CHECK(e.c->s.rflags & FL_AC);
	CHECK_EQ(CLAC(&e), -1);
	to_cpl3(&e);
	CHECK_EQ(STAC(&e), EXC_UD);
	CHECK_EQ(CLAC(&e), EXC_UD);
	tcg_env_free(&e);

	/* Haswell has SMEP, PCID and INVPCID but neither SMAP nor UMIP */
	struct config cfg;
	char arg[] = "Haswell";
	CHECK(env_cpu(&e, &cfg, arg, 0));
	CHECK_EQ(STAC(&e), EXC_UD);
	CHECK_EQ(CLAC(&e), EXC_UD);
	e.c->s.regs[R_RAX] = e.c->s.cr4 | CR4_SMAP;
	CHECK_EQ(MOV_CR4(&e), EXC_GP);
	e.c->s.regs[R_RAX] = e.c->s.cr4 | CR4_UMIP;
	CHECK_EQ(MOV_CR4(&e), EXC_GP);
	e.c->s.regs[R_RAX] = e.c->s.cr4 | CR4_SMEP | CR4_PCIDE;
	CHECK_EQ(MOV_CR4(&e), -1);
	tcg_env_free(&e);

	char arg2[] = "max,-smep,-pcid";
	CHECK(env_cpu(&e, &cfg, arg2, 0));
	e.c->s.regs[R_RAX] = e.c->s.cr4 | CR4_SMEP;
	CHECK_EQ(MOV_CR4(&e), EXC_GP);
	e.c->s.regs[R_RAX] = e.c->s.cr4 | CR4_PCIDE;
	CHECK_EQ(MOV_CR4(&e), EXC_GP);
	e.c->s.regs[R_RAX] = e.c->s.cr4 | CR4_SMAP | CR4_UMIP;
	CHECK_EQ(MOV_CR4(&e), -1);
	tcg_env_free(&e);
}

TEST(tcg_umip)
{
	struct tcg_env e;
	CHECK(env(&e, CR4_UMIP));
	struct tcg_cpu *c = e.c;
	static const uint8_t insns[][3] = {
		{ 0x0f, 0x01, 0x03 },   /* sgdt [rbx] */
		{ 0x0f, 0x01, 0x0b },   /* sidt [rbx] */
		{ 0x0f, 0x01, 0xe0 },   /* smsw eax */
		{ 0x0f, 0x01, 0x23 },   /* smsw [rbx] */
		{ 0x0f, 0x00, 0xc0 },   /* sldt eax */
		{ 0x0f, 0x00, 0xc8 },   /* str eax */
	};
	c->s.regs[R_RBX] = SDATA + 0x100;
	for (unsigned k = 0; k < ARRAY_SIZE(insns); k++)
		CHECK_EQ(tcg_env_step(&e, insns[k], 3), -1);    /* CPL 0 */
	to_cpl3(&e);
	c->s.regs[R_RBX] = UDATA + 0x100;
	for (unsigned k = 0; k < ARRAY_SIZE(insns); k++) {
		CHECK_EQ(tcg_env_step(&e, insns[k], 3), EXC_GP);
		CHECK_EQ(err(&e), 0);
	}
	c->s.cr4 &= ~CR4_UMIP;
	for (unsigned k = 0; k < ARRAY_SIZE(insns); k++)
		CHECK_EQ(tcg_env_step(&e, insns[k], 3), -1);
	tcg_env_free(&e);
}

/* 4 KiB mappings for PCID and INVPCID: LIN through a page table at PT */
#define LIN 0x600000ULL
#define PT 0x220000ULL
#define PHYS_1 0x230000ULL
#define PHYS_2 0x231000ULL

static void map_lin(struct tcg_env *e, uint64_t phys, uint64_t extra)
{
	tcg_env_put64(e, PD + (LIN >> 21) * 8, PT | 3);
	tcg_env_put64(e, PT + ((LIN >> 12) & 511) * 8, phys | 3 | extra);
}

static bool pcid_env(struct tcg_env *e)
{
	if (!env(e, CR4_PGE))
		return false;
	tcg_env_put64(e, PHYS_1, 0x1111);
	tcg_env_put64(e, PHYS_2, 0x2222);
	map_lin(e, PHYS_1, 0);
	tcg_tlb_flush_all(e->c);
	e->c->s.regs[R_RAX] = e->c->s.cr4 | CR4_PCIDE;
	return MOV_CR4(e) == -1;
}

/* LIN read through the TLB: mov rax,[rsi] */
static uint64_t read_lin(struct tcg_env *e)
{
	e->c->s.regs[R_RSI] = LIN;
	if (STEP(e, 0x48, 0x8b, 0x06) != -1)
		return ~0ULL;
	return e->c->s.regs[R_RAX];
}

TEST(tcg_pcid_cr3_and_cr4)
{
	struct tcg_env e;
	CHECK(pcid_env(&e));
	struct tcg_cpu *c = e.c;
	/* CR3 takes a PCID; bit 63 is not stored */
	c->s.regs[R_RAX] = TCGT_PML4 | 5 | 1ULL << 63;
	CHECK_EQ(MOV_CR3(&e), -1);
	CHECK_EQ(c->s.cr3, TCGT_PML4 | 5);
	/* PCIDE clears, and sets again only with PCID 0 (4.10.1) */
	c->s.regs[R_RAX] = c->s.cr4 & ~CR4_PCIDE;
	CHECK_EQ(MOV_CR4(&e), -1);
	c->s.regs[R_RAX] = c->s.cr4 | CR4_PCIDE;
	CHECK_EQ(MOV_CR4(&e), EXC_GP);
	/* without PCIDE, bit 63 is reserved */
	c->s.regs[R_RAX] = TCGT_PML4 | 1ULL << 63;
	CHECK_EQ(MOV_CR3(&e), EXC_GP);
	c->s.regs[R_RAX] = TCGT_PML4;
	CHECK_EQ(MOV_CR3(&e), -1);
	c->s.regs[R_RAX] = c->s.cr4 | CR4_PCIDE;
	CHECK_EQ(MOV_CR4(&e), -1);

	/* a flushing MOV to CR3 never leaves the old translation; neither
	 * does one with bit 63 here (the TLB keeps no PCIDs) */
	CHECK_EQ(read_lin(&e), 0x1111);
	map_lin(&e, PHYS_2, 0);
	c->s.regs[R_RAX] = TCGT_PML4 | 1;
	CHECK_EQ(MOV_CR3(&e), -1);
	CHECK_EQ(read_lin(&e), 0x2222);
	map_lin(&e, PHYS_1, 0);
	c->s.regs[R_RAX] = TCGT_PML4 | 2 | 1ULL << 63;
	CHECK_EQ(MOV_CR3(&e), -1);
	CHECK_EQ(read_lin(&e), 0x1111);
	tcg_env_free(&e);
}

/* INVPCID type with descriptor (pcid, lin) at SDATA + 0x800 */
static int invpcid(struct tcg_env *e, uint64_t type, uint64_t pcid, uint64_t lin)
{
	tcg_env_put64(e, SDATA + 0x800, pcid);
	tcg_env_put64(e, SDATA + 0x808, lin);
	e->c->s.regs[R_RAX] = type;
	e->c->s.regs[R_RBX] = SDATA + 0x800;
	return INVPCID(e);
}

TEST(tcg_invpcid_types)
{
	struct tcg_env e;
	CHECK(pcid_env(&e));
	uint64_t phys[2] = { PHYS_1, PHYS_2 }, want[2] = { 0x1111, 0x2222 };
	unsigned cur = 0;
	/* each type drops LIN's translation (type 0 by its address, type 1
	 * as the current PCID's, 2 and 3 as everyone's) */
	for (uint64_t type = 0; type < 4; type++) {
		CHECK_EQ(read_lin(&e), want[cur]);
		cur ^= 1;
		map_lin(&e, phys[cur], 0);
		CHECK_EQ(invpcid(&e, type, 0, LIN), -1);
		CHECK_EQ(read_lin(&e), want[cur]);
	}
	/* a global page: type 2 drops it */
	map_lin(&e, PHYS_1, 0x100);
	tcg_tlb_flush_all(e.c);
	CHECK_EQ(read_lin(&e), 0x1111);
	map_lin(&e, PHYS_2, 0x100);
	CHECK_EQ(invpcid(&e, 2, 0, 0), -1);
	CHECK_EQ(read_lin(&e), 0x2222);
	/* type 0 too, for its address */
	map_lin(&e, PHYS_1, 0x100);
	CHECK_EQ(invpcid(&e, 0, 0, LIN), -1);
	CHECK_EQ(read_lin(&e), 0x1111);
	tcg_env_free(&e);
}

TEST(tcg_invpcid_faults)
{
	struct tcg_env e;
	CHECK(pcid_env(&e));
	CHECK_EQ(invpcid(&e, 4, 0, 0), EXC_GP);                 /* type */
	CHECK_EQ(invpcid(&e, 1, 1ULL << 12, 0), EXC_GP);        /* reserved bits */
	CHECK_EQ(invpcid(&e, 0, 0, 0x0000800000000000ULL), EXC_GP); /* non-canonical */
	CHECK_EQ(invpcid(&e, 1, 0xfff, 0), -1);
	/* PCIDE clear: PCID 0 only, for types 0 and 1 */
	e.c->s.regs[R_RAX] = e.c->s.cr4 & ~CR4_PCIDE;
	CHECK_EQ(MOV_CR4(&e), -1);
	CHECK_EQ(invpcid(&e, 1, 3, 0), EXC_GP);
	CHECK_EQ(invpcid(&e, 0, 3, LIN), EXC_GP);
	CHECK_EQ(invpcid(&e, 3, 3, 0), -1);
	CHECK_EQ(invpcid(&e, 0, 0, LIN), -1);
	/* a register operand is #UD; CPL 3 #GP */
	CHECK_EQ(STEP(&e, 0x66, 0x0f, 0x38, 0x82, 0xc3), EXC_UD);
	to_cpl3(&e);
	pde(&e, 1, true);                       /* the descriptor readable */
	tcg_tlb_flush_all(e.c);
	CHECK_EQ(invpcid(&e, 2, 0, 0), EXC_GP);
	tcg_env_free(&e);

	/* not advertised: #UD */
	struct config cfg;
	char arg[] = "max,-invpcid";
	CHECK(env_cpu(&e, &cfg, arg, 0));
	CHECK_EQ(invpcid(&e, 2, 0, 0), EXC_UD);
	tcg_env_free(&e);
}

/* ------------------------------------------------------------------ */
/* Both engines through tcg_exec: the translation key follows AC        */

static bool run(struct tcg_env *e)
{
	e->c->halted = false;
	for (int guard = 0; guard < 100 && !e->c->halted; guard++)
		tcg_exec(e->c);
	return e->c->halted;
}

/* A #PF gate (vector 14) to HANDLER, which halts */
static bool exec_env(struct tcg_env *e, const uint8_t *code, size_t n, bool jit, uint64_t cr4)
{
	if (!tcg_env_long_code(e, CODE, code, n, jit))
		return false;
	supervisor_low(e, cr4);
	uint8_t gate[16] = { 0 };
	gate[0] = HANDLER & 0xff;
	gate[1] = (HANDLER >> 8) & 0xff;
	gate[2] = 0x08;
	gate[5] = 0x8e;
	gate[6] = (HANDLER >> 16) & 0xff;
	guest_write(e->m, IDT + 14 * 16, gate, sizeof(gate));
	e->c->s.idt.base = IDT;
	e->c->s.idt.limit = 256 * 16 - 1;
	tcg_env_put64(e, GDT + 8, 0x00af9a000000ffffULL);
	e->c->s.gdt.base = GDT;
	e->c->s.gdt.limit = 15;
	uint8_t hlt = 0xf4;
	guest_write(e->m, HANDLER, &hlt, 1);
	e->c->s.regs[R_RSP] = STACK;
	return true;
}

/* stac; mov rax,[rbx]; mov rdx,[rbx+16]; clac; mov rcx,[rbx]; hlt */
static const uint8_t stac_clac[] = {
	0x0f, 0x01, 0xcb, 0x48, 0x8b, 0x03, 0x48, 0x8b, 0x53, 0x10,
	0x0f, 0x01, 0xca, 0x48, 0x8b, 0x0b, 0xf4,
};

TEST(tcg_smap_exec_stac_clac)
{
	for (int jit = 1; jit >= 0; jit--) {
		struct tcg_env e;
		CHECK(exec_env(&e, stac_clac, sizeof(stac_clac), jit, CR4_SMAP));
		struct tcg_cpu *c = e.c;
		c->s.regs[R_RBX] = UDATA;
		c->s.regs[R_RCX] = 0x5a5a;
		CHECK(run(&e));
		CHECK_EQ(c->s.regs[R_RAX], 0xa1a1);
		CHECK_EQ(c->s.regs[R_RDX], 0xa2a2);
		CHECK_EQ(c->s.regs[R_RCX], 0x5a5a);
		CHECK_EQ(c->s.rip, HANDLER + 1);
		CHECK_EQ(c->s.cr2, UDATA);
		CHECK_EQ(tcg_env_get64(&e, STACK - 40), CODE + 13);    /* the last load */
		CHECK_EQ(tcg_env_get64(&e, STACK - 48), PF_P);
		tcg_env_free(&e);
	}
}

/* mov rax,[rbx]; hlt: translated with AC set first, then run with AC
 * clear: the block made for AC must not serve */
static const uint8_t load[] = { 0x48, 0x8b, 0x03, 0xf4 };

TEST(tcg_smap_exec_block_per_ac)
{
	for (int jit = 1; jit >= 0; jit--) {
		struct tcg_env e;
		CHECK(exec_env(&e, load, sizeof(load), jit, CR4_SMAP));
		struct tcg_cpu *c = e.c;
		c->s.regs[R_RBX] = UDATA;
		for (int round = 0; round < 3; round++) {
			c->s.rflags |= FL_AC;
			c->s.rip = CODE;
			CHECK(run(&e));
			CHECK_EQ(c->s.rip, CODE + 4);
			CHECK_EQ(c->s.regs[R_RAX], 0xa1a1);
			c->s.rflags &= ~(uint64_t)FL_AC;
			c->s.rip = CODE;
			c->s.regs[R_RAX] = 0;
			c->s.regs[R_RSP] = STACK;
			CHECK(run(&e));
			CHECK_EQ(c->s.rip, HANDLER + 1);
			CHECK_EQ(c->s.regs[R_RAX], 0);
			c->s.regs[R_RSP] = STACK;
		}
		tcg_env_free(&e);
	}
}

/* SMEP under both engines: a jump to a user page faults with I/D */
TEST(tcg_smep_exec)
{
	/* jmp rax */
	static const uint8_t jmp[] = { 0xff, 0xe0 };
	for (int jit = 1; jit >= 0; jit--) {
		struct tcg_env e;
		CHECK(exec_env(&e, jmp, sizeof(jmp), jit, CR4_SMEP));
		struct tcg_cpu *c = e.c;
		uint8_t hlt = 0xf4;
		guest_write(e.m, UDATA + 0x40, &hlt, 1);
		c->s.regs[R_RAX] = UDATA + 0x40;
		CHECK(run(&e));
		CHECK_EQ(c->s.rip, HANDLER + 1);
		CHECK_EQ(c->s.cr2, UDATA + 0x40);
		CHECK_EQ(tcg_env_get64(&e, STACK - 48), PF_P | PF_I);
		tcg_env_free(&e);
	}
}
