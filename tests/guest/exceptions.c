/* exceptions.elf: exception delivery in long mode, from CPL0 and CPL3.
 * Vector, error code, saved RIP/CS/SS, CR2 and the RSP0 stack switch are
 * checked for #DE #DB #BP #UD #NM #DF #SS #GP #PF (not-present, protection,
 * write, user, instruction fetch with NX, reserved bit).
 * Command line (tests/guest/run passes these for known engines):
 *   "pvm"      software-backed KVM (kvm_pvm module): "int n" at CPL3 raises
 *              #UD, IOPL 3 does not allow port I/O at CPL3, int3 and
 *              x87-with-CR0.TS at CPL0 hang: those are skipped;
 *   "qemu tcg" QEMU's TCG: accept its #GP for non-canonical SS references,
 *              error code 8 for reserved-bit faults and 0x812 for int n;
 *   "on-qemu-tcg" the same quirks for KVM nested under QEMU's TCG (the
 *              SVM it emulates runs this code on TCG; tests/nested). */
#include "guest.h"

#define PG_NP	0x40000000UL	/* not present */
#define PG_SUP	0x40001000UL	/* supervisor-only, writable */
#define PG_RO	0x40002000UL	/* user, read-only */
#define PG_NX	0x40003000UL	/* user, writable, no-execute */
#define PG_RSVD	0x40004000UL	/* reserved physical-address bit set */

static uint8_t pages[4][4096] __attribute__((aligned(4096)));
static uint8_t df_stack[4096] __attribute__((aligned(16)));
static bool pvm, qemu_tcg, has_nx;

static struct frame *F(void) { return &this_cpu()->fault; }

static bool in_range(uint64_t a, const char *base, uint64_t size)
{
	return a >= (uint64_t)base && a < (uint64_t)base + size;
}

/* ---- CPL3 bodies (return the vector taken) ---- */
static uint64_t u_de(uint64_t a) { (void)a; return FAULT_TRY("xor %%edx,%%edx; mov $1,%%eax; divl %[z]", [z] "c"(0)); }
static uint64_t u_bp(uint64_t a) { (void)a; return FAULT_TRY("int3"); }
static uint64_t u_ud(uint64_t a) { (void)a; return FAULT_TRY("ud2"); }
static uint64_t u_intn(uint64_t a) { (void)a; return FAULT_TRY("int $0x81"); }
static uint64_t u_cli(uint64_t a) { (void)a; return FAULT_TRY("cli"); }
static uint64_t u_hlt(uint64_t a) { (void)a; return FAULT_TRY("hlt"); }
static uint64_t u_out(uint64_t a) { (void)a; return FAULT_TRY("outb %%al, $0x70"); }
static uint64_t u_out80(uint64_t a) { (void)a; return FAULT_TRY("outb %%al, $0x80"); }
static uint64_t u_read(uint64_t a) { return FAULT_TRY("movb (%[p]), %%al", [p] "c"(a)); }
static uint64_t u_write(uint64_t a) { return FAULT_TRY("movb %%al, (%[p])", [p] "c"(a)); }
static uint64_t u_jump(uint64_t a) { return FAULT_TRY("jmp *%[p]", [p] "c"(a)); }
static uint64_t u_peek(uint64_t a) { return *(volatile uint8_t *)a; }

/* The same SSE code, run with CR0.TS clear and then set: a translating
 * engine must not reuse code made for the first state in the second. */
static __attribute__((noinline)) int sse_add(void)
{
	return FAULT_TRY("paddd %%xmm1, %%xmm0");
}

static __attribute__((noinline)) int sse_movdqa(const void *p)
{
	return FAULT_TRY("movdqa (%[p]), %%xmm0", [p] "c"(p));
}

/* DIV whose quotient does not fit: #DE with a non-zero divisor */
static __attribute__((noinline)) int div_overflow(uint32_t hi, uint32_t d)
{
	return FAULT_TRY("mov %[h], %%edx; mov $0, %%eax; divl %[d]", [d] "c"(d), [h] "r"(hi));
}

/* SSE moves and integer operations change no flag: CF and ZF set
 * before them are still there after (a translator must keep live flags
 * around its memory checks).  Returns CF << 1 | ZF. */
static __attribute__((noinline)) unsigned sse_keeps_flags(uint8_t *p)
{
	uint8_t cf, zf;

	__asm__ volatile("xor %%eax, %%eax\n\t"		/* ZF = 1 */
			 "stc\n\t"
			 "movdqu 1(%[p]), %%xmm0\n\t"
			 "paddd 16(%[p]), %%xmm0\n\t"
			 "pcmpeqb %%xmm1, %%xmm0\n\t"
			 "movdqa %%xmm0, 32(%[p])\n\t"
			 "pmovmskb %%xmm0, %%eax\n\t"
			 "movd %%xmm0, 48(%[p])\n\t"
			 "setc %[cf]\n\t"
			 "setz %[zf]"
			 : [cf] "=&q"(cf), [zf] "=&q"(zf) : [p] "r"(p) : "rax", "memory", "cc");
	return (unsigned)cf << 1 | zf;
}

/* SSE exception classes (SDM Vol. 2, 2.5): #NM with CR0.TS, #UD with
 * CR0.EM or without CR4.OSFXSR, #GP(0) for a misaligned MOVDQA. */
static void sse_tests(void)
{
	uint64_t cr0 = read_cr0(), cr4 = read_cr4();
	int v;

	write_cr4(cr4 | (1u << 9));		/* OSFXSR */
	write_cr0(cr0 & ~((1u << 2) | (1u << 3)));	/* EM, TS */
	v = FAULT_TRY("pxor %%xmm0, %%xmm0");
	check(v == FAULT_NONE, "sse with cr4.osfxsr: no fault (vector %d)", v);
	v = sse_add();
	check(v == FAULT_NONE, "paddd: no fault (vector %d)", v);
	unsigned f = sse_keeps_flags(pages[0]);
	check(f == 3, "sse instructions keep CF and ZF (cf<<1|zf = %u)", f);
	v = sse_movdqa(pages[0] + 16);
	check(v == FAULT_NONE, "movdqa aligned: no fault (vector %d)", v);
	v = sse_movdqa(pages[0] + 8);
	check(v == 13 && F()->error == 0, "#GP: movdqa misaligned (vector %d)", v);
	if (pvm) {
		skip("#NM at cpl0: hangs on PVM");
	} else {
		write_cr0(read_cr0() | (1u << 3));	/* TS */
		v = sse_add();
		__asm__ volatile("clts");
		check(v == 7, "#NM: sse instruction with cr0.ts (vector %d)", v);
	}
	write_cr0(read_cr0() | (1u << 2));	/* EM */
	v = sse_add();
	write_cr0(read_cr0() & ~(1ull << 2));
	check(v == 6, "#UD: sse instruction with cr0.em (vector %d)", v);
	write_cr4(cr4 & ~(1ull << 9));
	v = sse_add();
	check(v == 6, "#UD: sse instruction without cr4.osfxsr (vector %d)", v);
	write_cr4(cr4);
	write_cr0(cr0);

	v = div_overflow(1, 1);
	check(v == 0, "#DE: divl with a quotient over 32 bits (vector %d)", v);
	v = div_overflow(0, 3);
	check(v == FAULT_NONE, "divl that fits: no fault (vector %d)", v);
}

static void cpl0_tests(void)
{
	struct cpu *c = this_cpu();
	int v;

	v = FAULT_TRY("xor %%edx,%%edx; mov $1,%%eax; divl %[z]", [z] "c"(0));
	check(v == 0 && F()->rip == c->fault_recover - 2 && F()->cs == SEL_KCODE,
	      "#DE: divide by zero (vector %d, rip at the div)", v);
	check(in_range(c->fault_frame_addr, kstacks, KSTACK_SIZE), "#DE at cpl0: no stack switch");

	if (pvm) {
		skip("#BP at cpl0: hangs on PVM");
	} else {
		v = FAULT_TRY("int3");
		check(v == 3 && F()->rip == c->fault_recover, "#BP: int3, rip after it (vector %d)", v);
	}

	v = FAULT_TRY("ud2");
	check(v == 6 && F()->rip == c->fault_recover - 2, "#UD: ud2 (vector %d)", v);

	v = FAULT_TRY("mov %[s], %%ds", [s] "c"(0x1000));
	check(v == 13 && F()->error == 0x1000, "#GP: selector past the gdt limit, error %lx", F()->error);
	__asm__ volatile("mov %0, %%ds" :: "r"(SEL_KDATA));

	v = FAULT_TRY("movq (%[p]), %%rax", [p] "c"(0x8000000000000000UL));
	check(v == 13 && F()->error == 0, "#GP(0): non-canonical address (vector %d)", v);

	/* A stack reference is one whose default segment is SS (an rSP or
	 * rBP base); in 64-bit mode an SS override prefix is ignored, so on
	 * hardware %ss:(%rcx) gives #GP, not #SS. */
	v = FAULT_TRY("movq (%%rsp,%[p]), %%rax", [p] "c"(0x8000000000000000UL));
	if (qemu_tcg && v == 13)
		note("#SS(0) non-canonical: QEMU TCG raises #GP instead");
	else
		check(v == 12 && F()->error == 0, "#SS(0): non-canonical stack reference (vector %d)", v);

	v = FAULT_TRY("movb (%[p]), %%al", [p] "c"(PG_NP + 0x123));
	check(v == 14 && c->fault_cr2 == PG_NP + 0x123 && F()->error == 0,
	      "#PF read not-present: cr2 %lx error %lx", c->fault_cr2, F()->error);

	v = FAULT_TRY("movb %%al, (%[p])", [p] "c"(PG_NP + 0x456));
	check(v == 14 && c->fault_cr2 == PG_NP + 0x456 && F()->error == 2,
	      "#PF write not-present: error %lx", F()->error);

	v = FAULT_TRY("movb %%al, (%[p])", [p] "c"(PG_RO + 8));
	check(v == 14 && c->fault_cr2 == PG_RO + 8 && F()->error == 3,
	      "#PF write read-only with cr0.wp: error %lx", F()->error);

	v = FAULT_TRY("movb (%[p]), %%al", [p] "c"(PG_SUP));
	check(v == FAULT_NONE, "supervisor page readable at cpl0");

	if (has_nx) {
		v = FAULT_TRY("jmp *%[p]", [p] "c"(PG_NX));
		check(v == 14 && F()->error == 0x11 && c->fault_cr2 == PG_NX && F()->rip == PG_NX,
		      "#PF fetch from nx page: error %lx", F()->error);
	} else {
		skip("#PF fetch from nx page: no NX");
	}

	uint32_t r[4];
	cpuid(0x80000000, 0, r);
	int maxphys = 36;
	if (r[0] >= 0x80000008) {
		cpuid(0x80000008, 0, r);
		maxphys = r[0] & 0xff;
	}
	if (maxphys < 52) {
		v = FAULT_TRY("movb (%[p]), %%al", [p] "c"(PG_RSVD));
		if (qemu_tcg && v == 14 && F()->error == 0x8)
			note("#PF reserved bit: QEMU TCG reports error 8, not 9");
		else
			check(v == 14 && (F()->error & 0xf) == 0x9,
			      "#PF reserved bit %d in the pte: error %lx", maxphys, F()->error);
	} else {
		skip("#PF reserved bit: maxphyaddr 52");
	}

	if (pvm) {
		skip("#NM at cpl0: hangs on PVM");
	} else {
		write_cr0(read_cr0() | (1u << 3));	/* TS */
		v = FAULT_TRY("fnop");
		__asm__ volatile("clts");
		check(v == 7, "#NM: x87 instruction with cr0.ts (vector %d)", v);
	}

	__asm__ volatile("mov %0, %%db6" :: "r"(0UL));
	v = FAULT_TRY("pushfq; orq $0x100, (%%rsp); popfq; nop");
	uint64_t dr6;
	__asm__ volatile("mov %%db6, %0" : "=r"(dr6));
	check(v == 1 && (dr6 & 0x4000) && F()->rip == c->fault_recover,
	      "#DB: single step (dr6 %lx)", dr6);

	/* #DE with its gate not present -> #NP while delivering -> #DF (on IST1) */
	c->tss.ist[0] = (uint64_t)df_stack + sizeof(df_stack);
	set_gate_ist(8, 1);
	set_gate_present(0, false);
	v = FAULT_TRY("xor %%edx,%%edx; mov $1,%%eax; divl %[z]", [z] "c"(0));
	set_gate_present(0, true);
	check(v == 8 && F()->error == 0 && in_range(c->fault_frame_addr, (char *)df_stack, sizeof(df_stack)),
	      "#DF: #DE through a not-present gate, on ist1 (vector %d)", v);
}

static void cpl3_tests(void)
{
	struct cpu *c = this_cpu();
	int v;

	v = (int)run_user(u_de, 0, 0);
	check(v == 0 && F()->cs == SEL_UCODE && F()->ss == SEL_UDATA,
	      "#DE at cpl3: cs %lx ss %lx", F()->cs, F()->ss);
	check(in_range(c->fault_frame_addr, istacks, ISTACK_SIZE) &&
	      in_range(F()->rsp, ustacks, USTACK_SIZE), "#DE at cpl3: switched to tss.rsp0");

	v = (int)run_user(u_bp, 0, 0);
	check(v == 3 && F()->cs == SEL_UCODE, "#BP: int3 at cpl3 through a dpl3 gate (vector %d)", v);

	v = (int)run_user(u_ud, 0, 0);
	check(v == 6 && F()->cs == SEL_UCODE, "#UD at cpl3 (vector %d)", v);

	v = (int)run_user(u_intn, 0, 0);
	if (v == 6 && pvm)
		skip("int 0x81 at cpl3: #UD on this PVM host");
	else if (qemu_tcg && v == 13 && F()->error == 0x812)
		note("int 0x81 at cpl3: QEMU TCG's #GP error is 0x812, not 0x40a");
	else
		check(v == 13 && F()->error == 0x40a, "#GP: int 0x81 at cpl3, dpl0 gate, error %lx (vector %d)",
		      F()->error, v);

	v = (int)run_user(u_cli, 0, 0);
	check(v == 13 && F()->error == 0, "#GP: cli at cpl3 with iopl 0 (vector %d)", v);
	v = (int)run_user(u_hlt, 0, 0);
	check(v == 13 && F()->error == 0, "#GP: hlt at cpl3 (vector %d)", v);
	v = (int)run_user(u_out, 0, 0);
	check(v == 13 && F()->error == 0, "#GP: out at cpl3, port not in the i/o bitmap (vector %d)", v);
	v = (int)run_user(u_out80, 0, RFLAGS_IOPL3);
	if (v == 13 && pvm)
		skip("out at cpl3 with iopl 3: #GP on PVM (guest IOPL ignored)");
	else
		check(v == FAULT_NONE, "out at cpl3 with iopl 3 allowed (vector %d)", v);
	io_allow(c, 0x80, true);
	v = (int)run_user(u_out80, 0, 0);
	io_allow(c, 0x80, false);
	check(v == FAULT_NONE, "out at cpl3 allowed by the tss i/o bitmap (vector %d)", v);

	v = (int)run_user(u_read, PG_SUP + 0x10, 0);
	check(v == 14 && F()->error == 5 && c->fault_cr2 == PG_SUP + 0x10,
	      "#PF user read of a supervisor page: error %lx", F()->error);
	v = (int)run_user(u_write, PG_RO + 0x20, 0);
	check(v == 14 && F()->error == 7 && c->fault_cr2 == PG_RO + 0x20,
	      "#PF user write to a read-only page: error %lx", F()->error);
	v = (int)run_user(u_read, PG_NP + 0x30, 0);
	check(v == 14 && F()->error == 4 && c->fault_cr2 == PG_NP + 0x30,
	      "#PF user read not-present: error %lx", F()->error);
	v = (int)run_user(u_write, PG_NP + 0x40, 0);
	check(v == 14 && F()->error == 6, "#PF user write not-present: error %lx", F()->error);
	if (has_nx) {
		v = (int)run_user(u_jump, PG_NX, 0);
		check(v == 14 && F()->error == 0x15 && F()->rip == PG_NX,
		      "#PF user fetch from nx page: error %lx", F()->error);
	}
	uint64_t val = run_user(u_peek, PG_RO + 5, 0);
	check(val == 0x5a, "user read of a user read-only page: %lx", val);
}

int main(void)
{
	uint32_t r[4];

	test_name = "exceptions";
	pvm = cmdline_has("pvm");
	qemu_tcg = (cmdline_has("qemu") && cmdline_has("tcg")) || cmdline_has("on-qemu-tcg");
	cpuid(0x80000001, 0, r);
	has_nx = r[3] & (1u << 20);
	printk("exceptions: start%s%s\n", pvm ? " (pvm)" : "", qemu_tcg ? " (qemu-tcg)" : "");

	memset(pages, 0, sizeof(pages));
	memset(pages[1], 0x5a, 4096);
	pages[2][0] = 0xc3;			/* ret */
	map_page(PG_NP, 0);
	map_page(PG_SUP, (uint64_t)pages[0] | PTE_P | PTE_W);
	map_page(PG_RO, (uint64_t)pages[1] | PTE_P | PTE_U);
	map_page(PG_NX, (uint64_t)pages[2] | PTE_P | PTE_W | PTE_U | (has_nx ? PTE_NX : 0));
	cpuid(0x80000008, 0, r);
	int maxphys = (r[0] & 0xff) ? (r[0] & 0xff) : 36;
	map_page(PG_RSVD, (uint64_t)pages[3] | PTE_P | PTE_W | PTE_U |
		 (maxphys < 52 ? 1ull << maxphys : 0));

	cpl0_tests();
	sse_tests();
	cpl3_tests();
	return 0;
}
