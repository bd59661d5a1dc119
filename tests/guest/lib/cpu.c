/* Per-CPU setup (GDT TSS, IDT, GS base), interrupt dispatch, user mode,
 * paging helpers, and the C entry point c_start. */
#include "guest.h"

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

struct cpu cpus[MAX_CPUS];
volatile int ncpus_online;
static struct idt_entry idt[256] __attribute__((aligned(16)));
static irq_handler_t handlers[256];
static bool idt_ready;

extern char isr_stubs[];
extern uint64_t gdt[];

uint64_t enter_user(user_fn_t fn, uint64_t arg, uint64_t rflags, uint64_t stack_top);
__attribute__((noreturn)) void user_return(uint64_t value);
extern char user_exit_ud2[];

static void idt_set(int v, int dpl, int ist)
{
	uint64_t a = (uint64_t)isr_stubs + 16 * v;
	idt[v].off0 = a & 0xffff;
	idt[v].sel = SEL_KCODE;
	idt[v].ist = ist;
	idt[v].type = 0x8e | dpl << 5;		/* present 64-bit interrupt gate */
	idt[v].off1 = (a >> 16) & 0xffff;
	idt[v].off2 = a >> 32;
	idt[v].rsvd = 0;
}

void set_gate_dpl(int v, int dpl)
{
	idt_set(v, dpl, idt[v].ist);
}

void set_gate_ist(int v, int ist)
{
	idt_set(v, (idt[v].type >> 5) & 3, ist);
}

void set_gate_present(int v, bool present)
{
	if (present)
		idt[v].type |= 0x80;
	else
		idt[v].type &= ~0x80;
}

void set_irq_handler(int v, irq_handler_t h)
{
	handlers[v] = h;
}

void cpu_setup(struct cpu *c)
{
	uint32_t r[4];

	c->self = c;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	if (!idt_ready) {
		for (int v = 0; v < 256; v++)
			idt_set(v, v == 3 ? 3 : 0, 0);
		idt_ready = true;
	}
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = {
		sizeof(idt) - 1, (uint64_t)idt
	};
	__asm__ volatile("lidt %0" :: "m"(idtr));

	struct tss *t = &c->tss;
	memset(t, 0, sizeof(*t));
	t->rsp0 = (uint64_t)istacks + (c->index + 1) * ISTACK_SIZE;
	t->iomap_base = offsetof(struct tss, iomap);
	memset(t->iomap, 0xff, sizeof(t->iomap));
	uint64_t base = (uint64_t)t, limit = sizeof(*t) - 1;
	int slot = SEL_TSS(c->index) / 8;
	gdt[slot] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
		    ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	gdt[slot + 1] = base >> 32;
	__asm__ volatile("ltr %w0" :: "r"(SEL_TSS(c->index)));

	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		if (r[3] & (1u << 20))
			wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	}
}

void io_allow(struct cpu *c, uint16_t port, bool allow)
{
	if (port >= IOMAP_PORTS)
		return;
	if (allow)
		c->tss.iomap[port / 8] &= ~(1u << (port % 8));
	else
		c->tss.iomap[port / 8] |= 1u << (port % 8);
}

uint64_t run_user(user_fn_t fn, uint64_t arg, uint64_t rflags_extra)
{
	struct cpu *c = this_cpu();
	uint64_t top = (uint64_t)ustacks + (c->index + 1) * USTACK_SIZE;
	return enter_user(fn, arg, 0x2 | rflags_extra, top);
}

void isr_dispatch(struct frame *f)
{
	struct cpu *c = this_cpu();
	uint64_t v = f->vector;

	/* A user function returned to user_exit_stub, whose ud2 brings us
	 * back (ud2 rather than "int n": see README, PVM notes). */
	if (v == 6 && (f->cs & 3) == 3 && f->rip == (uint64_t)user_exit_ud2)
		user_return(f->rdi);
	if (v < 32 && c->recover_rip) {
		c->fault = *f;
		c->fault_frame_addr = (uint64_t)f;
		if (v == 14)
			c->fault_cr2 = read_cr2();
		c->fault_recover = c->recover_rip;
		f->rip = c->recover_rip;
		f->rflags &= ~(uint64_t)RFLAGS_TF;
		c->recover_rip = 0;
		c->fault_count++;
		return;
	}
	if (handlers[v]) {
		handlers[v](f);
		return;
	}
	if (v == VEC_SPURIOUS)
		return;
	panic("cpu%d: unexpected vector %lu err %lx rip %lx cs %lx rsp %lx cr2 %lx",
	      c->index, v, f->error, f->rip, f->cs, f->rsp, read_cr2());
}

/* ---- paging ---- */
static uint64_t pt_pool[4][512] __attribute__((aligned(4096)));
static int pt_used;
#define ADDR_MASK 0x000ffffffffff000ull

uint64_t *pte_of(uint64_t va)
{
	uint64_t e = pml4[(va >> 39) & 511];
	if (!(e & PTE_P))
		return NULL;
	uint64_t *pdpt = (uint64_t *)(e & ADDR_MASK);
	e = pdpt[(va >> 30) & 511];
	if (!(e & PTE_P) || (e & PTE_PS))
		return NULL;
	uint64_t *pd = (uint64_t *)(e & ADDR_MASK);
	uint64_t *pde = &pd[(va >> 21) & 511];
	if (*pde & PTE_PS) {
		if (pt_used == ARRAY_SIZE(pt_pool))
			panic("out of page tables");
		uint64_t *pt = pt_pool[pt_used++];
		uint64_t base = *pde & ADDR_MASK & ~0x1fffffull;
		uint64_t flags = *pde & (0xfffull & ~PTE_PS);
		for (int i = 0; i < 512; i++)
			pt[i] = (base + i * 4096ull) | flags;
		*pde = (uint64_t)pt | PTE_P | PTE_W | PTE_U;
		invlpg(va & ~0x1fffffull);
	} else if (!(*pde & PTE_P)) {
		return NULL;
	}
	uint64_t *pt = (uint64_t *)(*pde & ADDR_MASK);
	return &pt[(va >> 12) & 511];
}

void map_page(uint64_t va, uint64_t pa_flags)
{
	uint64_t *pte = pte_of(va);
	if (!pte)
		panic("map_page %lx: no page table", va);
	*pte = pa_flags;
	invlpg(va);
}

void mb_save_cmdline(void);

void c_start(void)
{
	mb_save_cmdline();
	cpus[0].index = 0;
	cpu_setup(&cpus[0]);
	pic_mask_all();
	serial_init();
	ncpus_online = 1;
	cpus[0].online = 1;
	main();
	test_done();
}
