#include <stdlib.h>
/*
 * TCG runner: a 64 MiB machine whose 4-level page tables map the code
 * and data pages at the same linear addresses as the native sandbox, and
 * a struct tcg_cpu per engine (the interpreter, the JIT: tcg_set_jit) in
 * 64-bit mode at CPL 3 that runs each case with tcg_step().
 */
#include <stdio.h>
#include <string.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "difftest.h"
#include "machine.h"
#include "tcg/tcg.h"

#define RAM_SIZE (64ULL << 20)
#define PML4_PHYS 0x1000ULL
#define PDPT_PHYS 0x2000ULL
#define PD_PHYS 0x3000ULL
#define PT_CODE_PHYS 0x4000ULL
#define PT_DATA_PHYS 0x5000ULL
#define TSS_PHYS 0x6000ULL
#define GDT_PHYS 0x7000ULL
#define IDT_PHYS 0x8000ULL
#define CODE_PHYS 0x10000ULL
#define DATA_PHYS 0x20000ULL
#define SYS_LIN 0x30000000ULL   /* the first 2 MiB of RAM, supervisor only */

/* page-table entry bits (SDM Vol. 3, 4.5) */
#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_NX (1ULL << 63)

static struct machine *m;
static struct tcg_cpu *cpus[DT_ENGINES];
static uint8_t *ram;
static struct x86_cpu_state tmpl;

static void set_pte(uint64_t table, unsigned index, uint64_t v)
{
	memcpy(ram + table + index * 8, &v, 8);
}

static void map_pages(void)
{
	uint64_t lin_code = DT_CODE_BASE, lin_data = DT_DATA_BASE;

	memset(ram, 0, 0x10000);
	set_pte(PML4_PHYS, 0, PDPT_PHYS | PTE_P | PTE_W | PTE_U);
	set_pte(PDPT_PHYS, 0, PD_PHYS | PTE_P | PTE_W | PTE_U);
	/* the first 2 MiB of RAM, supervisor only: GDT, IDT, TSS */
	set_pte(PD_PHYS, (SYS_LIN >> 21) & 511, 0 | PTE_P | PTE_W | PTE_PS | PTE_A | PTE_D);
	set_pte(PD_PHYS, (lin_code >> 21) & 511, PT_CODE_PHYS | PTE_P | PTE_W | PTE_U);
	set_pte(PD_PHYS, (lin_data >> 21) & 511, PT_DATA_PHYS | PTE_P | PTE_W | PTE_U);
	set_pte(PT_CODE_PHYS, (lin_code >> 12) & 511, CODE_PHYS | PTE_P | PTE_W | PTE_U | PTE_A);
	for (unsigned k = 0; k < DT_DATA_SIZE / 4096; k++)
		set_pte(PT_DATA_PHYS, ((lin_data >> 12) & 511) + k,
			(DATA_PHYS + k * 4096) | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | PTE_NX);
	memset(ram + CODE_PHYS, 0xf4, DT_CODE_SIZE);
}

static void set_seg(struct x86_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->s = 1;
	s->dpl = 3;
	s->present = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

/* Descriptors the state refers to (SDM Vol. 3, 3.4.5): flat 64-bit code
 * and data at DPL 3 for selectors 0x33 and 0x2b, and a 64-bit TSS whose
 * I/O bitmap lies beyond its limit (every port faults, as under Linux). */
static void build_tables(void)
{
	uint64_t gdt[10] = {
		0,
		0x00af9b000000ffffULL,  /* 0x08 code64 DPL 0 */
		0x00cf93000000ffffULL,  /* 0x10 data DPL 0 */
		0,
		0,
		0x00cff3000000ffffULL,  /* 0x2b data DPL 3 */
		0x00affb000000ffffULL,  /* 0x33 code64 DPL 3 */
		0,
		/* 0x40: 64-bit TSS (type 9), base TSS_PHYS, limit 0x67 */
		0x0000890000000067ULL | ((SYS_LIN + TSS_PHYS) & 0xffffff) << 16 |
			((SYS_LIN + TSS_PHYS) >> 24 & 0xff) << 56,
		0,
	};
	uint16_t iomap = 0x68;

	memcpy(ram + GDT_PHYS, gdt, sizeof(gdt));
	memcpy(ram + TSS_PHYS + 0x66, &iomap, 2);
}

static uint16_t host_sel(int which)
{
	uint16_t v = 0;

	switch (which) {
	case S_DS: __asm__("mov %%ds, %0" : "=r"(v)); break;
	case S_ES: __asm__("mov %%es, %0" : "=r"(v)); break;
	case S_FS: __asm__("mov %%fs, %0" : "=r"(v)); break;
	case S_GS: __asm__("mov %%gs, %0" : "=r"(v)); break;
	case S_SS: __asm__("mov %%ss, %0" : "=r"(v)); break;
	case S_CS: __asm__("mov %%cs, %0" : "=r"(v)); break;
	}
	return v;
}

/* The host thread's FS or GS base (ARCH_GET_FS/GS), for RDFSBASE and
 * RDGSBASE */
static uint64_t host_base(int code)
{
	unsigned long v = 0;

	if (syscall(SYS_arch_prctl, code, &v) < 0)
		v = 0;
	return v;
}

int dt_tcg_init(void)
{
	struct x86_cpu_state *s = &tmpl;

	m = machine_new(RAM_SIZE);
	if (!m || machine_add_memory(m, REGION_RAM, 0, RAM_SIZE, m->ram, "ram") < 0) {
		fprintf(stderr, "difftest: cannot build the TCG machine\n");
		return -1;
	}
	ram = m->ram;
	map_pages();
	build_tables();
	for (int e = 0; e < DT_ENGINES; e++) {
		cpus[e] = tcg_cpu_new(m, NULL);
		if (!cpus[e]) {
			fprintf(stderr, "difftest: tcg_cpu_new failed\n");
			return -1;
		}
		tcg_set_jit(cpus[e], e == DT_JIT, 0);
		/* x87, SSE and AVX state, as Linux enables them natively */
		if (tcg_xsave_offer(cpus[e], XCR0_X87 | XCR0_SSE | XCR0_AVX) < 0)
			return -1;
	}
	tcg_get_state(cpus[DT_INTERP], s);
	s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	/* FSGSBASE: Linux 5.9 and later let user code run RDFSBASE ... */
	s->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE | CR4_OSXSAVE;
	s->efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	s->cr3 = PML4_PHYS;
	/* the selectors the host process runs with, so MOV r/m,Sreg agrees */
	set_seg(&s->seg[S_CS], host_sel(S_CS), 0xb, true);
	set_seg(&s->seg[S_SS], host_sel(S_SS), 0x3, false);
	set_seg(&s->seg[S_DS], host_sel(S_DS), 0x3, false);
	set_seg(&s->seg[S_ES], host_sel(S_ES), 0x3, false);
	set_seg(&s->seg[S_FS], host_sel(S_FS), 0x3, false);
	set_seg(&s->seg[S_GS], host_sel(S_GS), 0x3, false);
	s->seg[S_FS].base = host_base(ARCH_GET_FS);
	s->seg[S_GS].base = host_base(ARCH_GET_GS);
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.selector = 0x40;
	s->tr.base = SYS_LIN + TSS_PHYS;
	s->tr.limit = 0x67;
	s->tr.type = 0xb;
	s->tr.present = 1;
	memset(&s->ldt, 0, sizeof(s->ldt));
	s->ldt.unusable = true;
	s->gdt.base = SYS_LIN + GDT_PHYS;
	s->gdt.limit = 10 * 8 - 1;
	s->idt.base = SYS_LIN + IDT_PHYS;
	s->idt.limit = 0xfff;
	s->halted = false;
	s->mp_state = MP_RUNNABLE;
	return 0;
}

void dt_tcg_run(const struct dt_case *c, enum dt_engine engine, struct dt_result *r)
{
	struct tcg_cpu *cpu = cpus[engine];
	struct x86_cpu_state s = tmpl;
	int vec;

	dt_place_code(c, ram + CODE_PHYS, false);
	tcg_code_written(CODE_PHYS, DT_CODE_SIZE);
	memcpy(ram + DATA_PHYS, c->data, DT_DATA_SIZE);
	memcpy(s.regs, c->in.regs, sizeof(s.regs));
	s.rip = c->in.rip;
	s.rflags = c->in.rflags;
	memcpy(s.fxsave, c->in.fx, 512);
	tcg_set_state(cpu, &s);
	cpu->xcr0 = XCR0_X87 | XCR0_SSE | XCR0_AVX;
	memcpy(cpu->xs.ymm_h, c->in.ymmh, sizeof(cpu->xs.ymm_h));
	/* every other case starts with the data pages in the TLB, so the
	 * JIT's inline fast path runs as well as the miss path (the pages are
	 * mapped user-writable: no fault) */
	static unsigned runs[DT_ENGINES];
	if (++runs[engine] & 1)
		for (uint64_t k = 0; k < DT_DATA_SIZE; k += 4096)
			tcg_translate(cpu, DT_DATA_BASE + k, ACC_WRITE, true);
	vec = tcg_step(cpu);
	/* a REP string instruction may stop between iterations with rip
	 * still on it (as for an interrupt): finish it */
	for (unsigned n = 0; n < 100000 && vec < 0 && c->d->x & X_STRING &&
	     cpu->s.rip == c->in.rip; n++)
		vec = tcg_step(cpu);
	tcg_get_state(cpu, &s);
	memcpy(r->cpu.regs, s.regs, sizeof(s.regs));
	r->cpu.rip = s.rip;
	r->cpu.rflags = s.rflags;
	memcpy(r->cpu.fx, s.fxsave, 512);
	memcpy(r->cpu.ymmh, cpu->xs.ymm_h, sizeof(r->cpu.ymmh));
	r->vec = vec;
	r->err = vec >= 0 ? cpu->test_errcode : -1;
	r->cr2 = vec == EXC_PF ? s.cr2 : 0;
	memcpy(r->data, ram + DATA_PHYS, DT_DATA_SIZE);
	dt_place_code(c, ram + CODE_PHYS, true);
}

void dt_tcg_cpuid(uint32_t leaf, uint32_t out[4])
{
	tcg_cpuid(cpus[DT_INTERP], leaf, 0, out);
}
