/* user.elf: a small kernel running user code the way Linux does, for the
 * kqemu engine (whose native rule wants Linux's selectors: CS 0x33, SS
 * 0x2b, null DS/ES/FS/GS) and for TCG alike.
 *
 * The kernel enters CPL 3 through IRETQ, takes SYSCALL and returns with
 * SYSRET (STAR as Linux sets it), maps user pages on demand in its #PF
 * handler (a 2 MiB region at 1 TiB with 4 KiB pages), and checks from
 * user mode: SYSCALL/SYSRET round trips, INT 0x80 through a DPL 3 gate,
 * #DE, #UD and #GP taken by the kernel, RDTSC, LAPIC timer interrupts
 * preempting a user loop, IN/OUT with IOPL 3, SSE registers across
 * system calls, and code written to a user page then run by the user and
 * by the kernel (self-modifying code).  Every deterministic result goes
 * into a checksum printed at the end ("user: checksum ..."), which must
 * be the same under every engine.
 *
 * Command line: iters=N (OUT loop length, default 2000).
 *
 * bench=N: none of the checks; prints "start", runs bench-cpu's ALU loop
 * (bench-loops.h) N rounds at CPL 3 with no interrupts, prints "done"
 * and the checksum (the same as bench-cpu.elf's and bench/cpu-native's
 * for the same N), exits through debug-exit 0: bench/kqemu.py times
 * user code under kqemu against the same loop run natively. */
#include "guest.h"
#include "bench-loops.h"

#define U_BASE		0x10000000000ULL	/* 1 TiB: PML4 entry 2 */
#define U_SIZE		0x200000ULL
#define U_STACK_TOP	(U_BASE + 0x10000)
#define U_CODE		(U_BASE + 0x20000)
#define U_DATA		(U_BASE + 0x30000)
#define POOL_PAGES	32

/* Linux's GDT layout for the user selectors (SYSRET: CS = STAR[63:48] +
 * 16, SS = STAR[63:48] + 8) */
#define SEL_LUSER_DS	0x2b
#define SEL_LUSER_CS	0x33
#define STAR_SYSRET	0x23

#define MSR_STAR	0xc0000081
#define MSR_LSTAR	0xc0000082
#define MSR_SFMASK	0xc0000084
#define EFER_SCE	1u

#define VEC_TIMER	0x40

enum { SYS_EXIT, SYS_ADD, SYS_NOP, SYS_RUN };

static uint64_t u_pdpt[512] __attribute__((aligned(4096)));
static uint64_t u_pd[512] __attribute__((aligned(4096)));
static uint64_t u_pt[512] __attribute__((aligned(4096)));
static uint8_t pool[POOL_PAGES][4096] __attribute__((aligned(4096)));
static int pool_used;
static volatile int demand_faults;

/* what the kernel saw */
static volatile uint64_t last_vec, last_err, fault_skip, fault_cs;
static volatile uint64_t ticks, ticks_from_user;
static volatile uint64_t syscalls, int80s;

static uint64_t checksum = 0xcbf29ce484222325ULL;       /* FNV-1a */

static void sum(uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		checksum ^= (v >> (8 * i)) & 0xff;
		checksum *= 0x100000001b3ULL;
	}
}

/* ---- kernel: entry and exit of user mode, system calls ---- */

uint64_t user_enter(uint64_t fn, uint64_t arg, uint64_t stack_top);
__attribute__((noreturn)) void user_leave(uint64_t value);
void syscall_entry(void);
void user_trampoline(void);
uint64_t syscall_c(uint64_t nr, uint64_t a, uint64_t b);

__attribute__((used)) static uint64_t kctx_rsp, sc_user_rsp;
__attribute__((used)) static uint8_t sc_stack[8192] __attribute__((aligned(16)));

__asm__(
	".text\n"
	/* user_enter(fn, arg, stack_top): IRETQ to user_trampoline at CPL 3 */
	".globl user_enter\n"
	"user_enter:\n"
	"	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	mov %rsp, kctx_rsp(%rip)\n"
	"	push $0x2b\n"			/* SS */
	"	push %rdx\n"			/* RSP */
	"	push $0x3202\n"			/* RFLAGS: IF, IOPL 3 */
	"	push $0x33\n"			/* CS */
	"	lea user_trampoline(%rip), %rax\n"
	"	push %rax\n"
	"	xor %eax, %eax\n	xor %ebx, %ebx\n	xor %ebp, %ebp\n"
	"	iretq\n"
	/* user_leave(value): back to user_enter's caller */
	".globl user_leave\n"
	"user_leave:\n"
	"	mov kctx_rsp(%rip), %rsp\n"
	"	mov %rdi, %rax\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	pop %rbx\n"
	"	ret\n"
	/* CPL 3: fn(arg), then the exit system call */
	".globl user_trampoline\n"
	"user_trampoline:\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	call *%rax\n"
	"	mov %rax, %rdi\n"
	"	xor %eax, %eax\n"		/* SYS_EXIT */
	"	syscall\n"
	"	ud2\n"
	/* SYSCALL: rax = nr, rdi, rsi = arguments; rcx, r11 as the CPU left
	 * them; everything else but rax kept */
	".globl syscall_entry\n"
	"syscall_entry:\n"
	"	mov %rsp, sc_user_rsp(%rip)\n"
	"	lea sc_stack+8192(%rip), %rsp\n"
	"	push sc_user_rsp(%rip)\n"
	"	push %rcx\n	push %r11\n	push %rdi\n	push %rsi\n	push %rdx\n"
	"	push %r8\n	push %r9\n	push %r10\n	push %r10\n"
	"	mov %rsi, %rdx\n	mov %rdi, %rsi\n	mov %rax, %rdi\n"
	"	call syscall_c\n"
	"	pop %r10\n	pop %r10\n	pop %r9\n	pop %r8\n"
	"	pop %rdx\n	pop %rsi\n	pop %rdi\n	pop %r11\n	pop %rcx\n"
	"	pop %rsp\n"
	"	sysretq\n");

uint64_t syscall_c(uint64_t nr, uint64_t a, uint64_t b)
{
	syscalls++;
	switch (nr) {
	case SYS_EXIT:
		user_leave(a);
	case SYS_ADD:
		return a * 7 + b;
	case SYS_RUN:
		return ((uint64_t (*)(void))a)();       /* user code at CPL 0 */
	default:
		return 0;
	}
}

static uint64_t run(uint64_t (*fn)(uint64_t), uint64_t arg)
{
	return user_enter((uint64_t)fn, arg, U_STACK_TOP);
}

/* ---- kernel: interrupts and exceptions ---- */

static void pf_handler(struct frame *f)
{
	uint64_t cr2 = read_cr2();
	if ((f->cs & 3) != 3 || cr2 < U_BASE || cr2 >= U_BASE + U_SIZE || (f->error & 1))
		panic("user: #PF at %lx, rip %lx, error %lx", cr2, f->rip, f->error);
	if (pool_used == POOL_PAGES)
		panic("user: out of pages");
	uint8_t *pg = pool[pool_used++];
	memset(pg, 0, 4096);
	u_pt[(cr2 >> 12) & 511] = (uint64_t)pg | PTE_P | PTE_W | PTE_U;
	demand_faults++;
}

/* #DE #UD #GP from user: recorded, the instruction skipped */
static void user_fault(struct frame *f)
{
	if ((f->cs & 3) != 3)
		panic("user: vector %lu at cpl0, rip %lx", f->vector, f->rip);
	last_vec = f->vector;
	last_err = f->error;
	fault_cs = f->cs;
	f->rip += fault_skip;
}

static void int80_handler(struct frame *f)
{
	int80s++;
	f->rax = f->rdi * 3 + 1;
}

static void timer_handler(struct frame *f)
{
	ticks++;
	if ((f->cs & 3) == 3)
		ticks_from_user++;
	lapic_eoi();
}

static void kernel_setup(void)
{
	extern uint64_t gdt[];
	/* Linux's user selectors: 0x28 (its 32-bit kernel code, unused
	 * once the BSP runs in long mode) and 0x30 */
	gdt[5] = 0x00cff3000000ffffULL;         /* 0x2b user data */
	gdt[6] = 0x00affb000000ffffULL;         /* 0x33 user code 64 */
	/* null DS and ES in the kernel, as Linux has them: SYSRET keeps them */
	__asm__ volatile("mov %0, %%ds; mov %0, %%es" :: "r"(0) : "memory");
	/* the user region */
	u_pdpt[0] = (uint64_t)u_pd | PTE_P | PTE_W | PTE_U;
	u_pd[0] = (uint64_t)u_pt | PTE_P | PTE_W | PTE_U;
	pml4[(U_BASE >> 39) & 511] = (uint64_t)u_pdpt | PTE_P | PTE_W | PTE_U;
	write_cr3(read_cr3());
	/* SYSCALL: kernel CS 0x08 (SS 0x10), SYSRET base 0x23; IF TF DF AC
	 * masked on entry */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (uint64_t)STAR_SYSRET << 48 | (uint64_t)SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_SFMASK, 0x47700);
	/* OSFXSR/OSXMMEXCPT for SSE at CPL 3 */
	write_cr4(read_cr4() | (1u << 9) | (1u << 10));
	set_irq_handler(14, pf_handler);
	set_irq_handler(0, user_fault);
	set_irq_handler(6, user_fault);
	set_irq_handler(13, user_fault);
	set_irq_handler(0x80, int80_handler);
	set_gate_dpl(0x80, 3);
	set_irq_handler(VEC_TIMER, timer_handler);
	memset(this_cpu()->tss.iomap, 0xff, sizeof(this_cpu()->tss.iomap));
}

/* ---- user mode ---- */

static inline uint64_t sys(uint64_t nr, uint64_t a, uint64_t b)
{
	uint64_t r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

static uint64_t u_syscalls(uint64_t n)
{
	uint64_t acc = 1;
	for (uint64_t i = 0; i < n; i++)
		acc = sys(SYS_ADD, acc, i) & 0xffffffffffffULL;
	return acc;
}

static uint64_t u_int80(uint64_t n)
{
	uint64_t acc = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r;
		__asm__ volatile("int $0x80" : "=a"(r) : "D"(i) : "memory");
		acc += r;
	}
	return acc;
}

static uint64_t bench_buf[64];

static uint64_t u_bench(uint64_t n)
{
	return bench_loop_alu(n, bench_buf);
}

/* the stack of the user region is touched first here: demand paging */
static uint64_t u_stack(uint64_t n)
{
	volatile uint8_t buf[3 * 4096];
	for (uint64_t i = 0; i < sizeof(buf); i += 512)
		buf[i] = (uint8_t)(i + n);
	uint64_t s = 0;
	for (uint64_t i = 0; i < sizeof(buf); i += 512)
		s += buf[i];
	volatile uint64_t *data = (volatile uint64_t *)U_DATA;
	data[0] = s;
	data[511] = ~s;
	return data[0] + data[511];
}

static uint64_t u_de(uint64_t a)
{
	fault_skip = 2;
	uint32_t q = 7;
	__asm__ volatile("xor %%edx, %%edx; div %%ecx" : "+a"(q) : "c"((uint32_t)a) : "rdx");
	return last_vec;
}

static uint64_t u_ud(uint64_t a)
{
	(void)a;
	fault_skip = 2;
	__asm__ volatile("ud2");
	return last_vec;
}

static uint64_t u_gp(uint64_t a)
{
	(void)a;
	fault_skip = 1;
	__asm__ volatile("hlt");        /* CPL 3: #GP(0) */
	return last_vec << 32 | last_err;
}

static uint64_t u_rdtsc(uint64_t n)
{
	uint64_t t0 = rdtsc(), x = 0;
	for (uint64_t i = 0; i < n; i++)
		x += i * i;
	uint64_t t1 = rdtsc();
	__asm__ volatile("" :: "r"(x));
	return t1 > t0;
}

/* spins until the timer has ticked n times, IF=1 at CPL 3 */
static uint64_t u_wait_ticks(uint64_t n)
{
	uint64_t spins = 0;
	while (ticks < n)
		spins++;
	return spins;
}

static uint64_t u_io(uint64_t a)
{
	outb(COM1 + 7, (uint8_t)a);     /* the scratch register */
	return inb(COM1 + 7);
}

static uint64_t u_out_loop(uint64_t n)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		outb(0x80, (uint8_t)i);
	return rdtsc() - t0;
}

static uint8_t xmm_in[256] __attribute__((aligned(16)));
static uint8_t xmm_out[256] __attribute__((aligned(16)));

#define XMM_ALL(op, p) \
	op " 0(%0), %%xmm0\n\t" op " 16(%0), %%xmm1\n\t" op " 32(%0), %%xmm2\n\t" \
	op " 48(%0), %%xmm3\n\t" op " 64(%0), %%xmm4\n\t" op " 80(%0), %%xmm5\n\t" \
	op " 96(%0), %%xmm6\n\t" op " 112(%0), %%xmm7\n\t" op " 128(%0), %%xmm8\n\t" \
	op " 144(%0), %%xmm9\n\t" op " 160(%0), %%xmm10\n\t" op " 176(%0), %%xmm11\n\t" \
	op " 192(%0), %%xmm12\n\t" op " 208(%0), %%xmm13\n\t" op " 224(%0), %%xmm14\n\t" \
	op " 240(%0), %%xmm15\n\t"

static uint64_t u_sse(uint64_t n)
{
	__asm__ volatile(XMM_ALL("movdqa", 0) :: "r"(xmm_in) : "memory");
	for (uint64_t i = 0; i < n; i++)
		sys(SYS_NOP, i, 0);
	/* one SSE operation in user mode after the calls */
	__asm__ volatile("paddq %%xmm1, %%xmm0" ::: "memory");
	__asm__ volatile(
		"movdqa %%xmm0, 0(%0)\n\tmovdqa %%xmm1, 16(%0)\n\tmovdqa %%xmm2, 32(%0)\n\t"
		"movdqa %%xmm3, 48(%0)\n\tmovdqa %%xmm4, 64(%0)\n\tmovdqa %%xmm5, 80(%0)\n\t"
		"movdqa %%xmm6, 96(%0)\n\tmovdqa %%xmm7, 112(%0)\n\tmovdqa %%xmm8, 128(%0)\n\t"
		"movdqa %%xmm9, 144(%0)\n\tmovdqa %%xmm10, 160(%0)\n\tmovdqa %%xmm11, 176(%0)\n\t"
		"movdqa %%xmm12, 192(%0)\n\tmovdqa %%xmm13, 208(%0)\n\tmovdqa %%xmm14, 224(%0)\n\t"
		"movdqa %%xmm15, 240(%0)\n\t" :: "r"(xmm_out) : "memory");
	return 0;
}

/* Right after a system call, under kqemu, TCG runs the user code (the
 * stretch after the exit) and hands what it cannot run to the host CPU:
 * VPADDQ on ZMM registers (EVEX, AVX-512F) adds xmm1 to xmm0. */
static uint64_t evex_in[2] __attribute__((aligned(16)));
static uint64_t evex_out[2] __attribute__((aligned(16)));

static uint64_t u_evex(uint64_t a)
{
	evex_in[0] = a;
	evex_in[1] = ~a;
	__asm__ volatile("movdqa (%0), %%xmm0\n\tmovdqa (%0), %%xmm1" :: "r"(evex_in) : "memory");
	sys(SYS_NOP, 0, 0);
	__asm__ volatile("vpaddq %%zmm1, %%zmm0, %%zmm0\n\tmovdqa %%xmm0, (%0)"
			 :: "r"(evex_out) : "memory");
	return evex_out[0];
}

/* ud2 right after a system call: #UD for the kernel all the same */
static uint64_t u_ud_after_syscall(uint64_t a)
{
	(void)a;
	fault_skip = 2;
	last_vec = 0;
	sys(SYS_NOP, 0, 0);
	__asm__ volatile("ud2");
	return last_vec;
}

/* CPUID leaf 7 (EBX) and XCR0 (when xgetbv) before and after a system
 * call: the same values (under kqemu, the host's both times) */
static uint64_t u_cpuid_pair(uint64_t xgetbv)
{
	uint32_t a[4], b[4], lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0;
	/* far from the last system call: kqemu runs this natively */
	for (volatile int i = 0; i < 5000; i++)
		;
	cpuid(7, 0, a);
	if (xgetbv)
		__asm__ volatile("xgetbv" : "=a"(lo0), "=d"(hi0) : "c"(0));
	sys(SYS_NOP, 0, 0);
	cpuid(7, 0, b);
	if (xgetbv)
		__asm__ volatile("xgetbv" : "=a"(lo1), "=d"(hi1) : "c"(0));
	return a[1] == b[1] && lo0 == lo1 && hi0 == hi1;
}

/* Under kqemu only (TCG itself has no AVX-512) and where the guest CPU
 * offers AVX512F (kqemu offers the host's): an EVEX instruction after a
 * system call runs, with the right result. */
static void kqemu_stretch_checks(void)
{
	uint32_t r[4];
	cpuid(7, 0, r);
	if (!cmdline_has("kqemu") || !(r[1] & (1u << 16))) {
		printk("user: EVEX after a system call: not checked (kqemu and AVX512F only)\n");
		return;
	}
	uint64_t v = run(u_evex, 0x123456789ULL);
	check(v == 2 * 0x123456789ULL, "EVEX VPADDQ after a system call ran natively (%lx)", v);
	check(run(u_cpuid_pair, 1) == 1, "XGETBV the same before and after a system call");
}

/* mov $imm32, %eax; ret */
static void put_code(uint32_t imm)
{
	volatile uint8_t *p = (volatile uint8_t *)U_CODE;
	p[0] = 0xb8;
	p[1] = imm;
	p[2] = imm >> 8;
	p[3] = imm >> 16;
	p[4] = imm >> 24;
	p[5] = 0xc3;
}

/* write code, run it at CPL 3 and have the kernel run it, rewrite it */
static uint64_t u_smc(uint64_t n)
{
	uint64_t acc = 0;
	for (uint64_t i = 0; i < n; i++) {
		put_code(0x1000 + (uint32_t)i);
		uint64_t mine = ((uint64_t (*)(void))U_CODE)();
		uint64_t kernel = sys(SYS_RUN, U_CODE, 0);
		put_code(0x2000 + (uint32_t)i);
		uint64_t kernel2 = sys(SYS_RUN, U_CODE, 0);
		uint64_t mine2 = ((uint64_t (*)(void))U_CODE)();
		acc = acc * 31 + (mine == 0x1000 + i) + 2 * (kernel == 0x1000 + i) +
		      4 * (kernel2 == 0x2000 + i) + 8 * (mine2 == 0x2000 + i);
	}
	return acc;
}

/* ---- the checks ---- */

static void timer_start(void)
{
	lapic_enable();
	lapic_write(LAPIC_TIMER_DCR, 0x3);      /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | (1u << 17));   /* periodic */
	lapic_write(LAPIC_TIMER_ICR, 200000);
}

static void timer_stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, 0x10000);
	lapic_write(LAPIC_TIMER_ICR, 0);
}

int main(void)
{
	test_name = "user";
	kernel_setup();
	uint64_t rounds = cmdline_uint("bench", 0);
	if (rounds) {
		printk("start\n");
		uint64_t r = run(u_bench, rounds);
		printk("done\n");
		printk("checksum %lx (%d instructions per iteration, cpl3)\n", r,
		       BENCH_INSNS_PER_ITER);
		debug_exit(0);
	}
	io_allow(this_cpu(), 0x80, true);       /* no matter: IOPL 3 */

	uint64_t v = run(u_stack, 5);
	check(demand_faults >= 4, "user stack and data pages mapped on demand (%d faults)",
	      demand_faults);
	sum(v);

	uint64_t want = 1;
	for (uint64_t i = 0; i < 1000; i++)
		want = (want * 7 + i) & 0xffffffffffffULL;
	uint64_t before = syscalls;
	v = run(u_syscalls, 1000);
	check(v == want, "1000 SYSCALL/SYSRET round trips: %lx (want %lx)", v, want);
	check(syscalls - before == 1001, "system calls counted: %lu", syscalls - before);
	sum(v);

	v = run(u_int80, 100);
	check(v == 100 * 99 / 2 * 3 + 100 && int80s == 100, "int 0x80 through a DPL 3 gate: %lu",
	      v);
	sum(v);

	v = run(u_de, 0);
	check(v == 0 && fault_cs == SEL_LUSER_CS, "#DE at cpl3 (vector %lu, cs %lx)", v, fault_cs);
	sum(v);
	v = run(u_ud, 0);
	check(v == 6, "#UD at cpl3 (vector %lu)", v);
	sum(v);
	check(run(u_ud_after_syscall, 0) == 6, "#UD for ud2 right after a system call");
	check(run(u_cpuid_pair, 0) == 1, "CPUID the same before and after a system call");
	kqemu_stretch_checks();
	v = run(u_gp, 0);
	check(v == 13ULL << 32, "#GP(0) for hlt at cpl3 (%lx)", v);
	sum(v);

	v = run(u_rdtsc, 1000);
	check(v == 1, "RDTSC at cpl3 moves forward");
	sum(v);

	v = run(u_io, 0x5a);
	check(v == 0x5a, "OUT/IN at cpl3 with IOPL 3: scratch register %lx", v);
	sum(v);
	uint64_t iters = cmdline_uint("iters", 2000);
	v = run(u_out_loop, iters);
	note("%lu OUTs at cpl3: %lu TSC cycles each", iters, iters ? v / iters : 0);

	for (int i = 0; i < 256; i++)
		xmm_in[i] = (uint8_t)(i * 13 + 7);
	run(u_sse, 20);
	uint64_t lo0, lo1;
	memcpy(&lo0, xmm_in, 8);
	memcpy(&lo1, xmm_in + 16, 8);
	uint64_t got;
	memcpy(&got, xmm_out, 8);
	check(got == lo0 + lo1, "xmm0 = xmm0 + xmm1 after 20 system calls");
	check(!memcmp(xmm_out + 16, xmm_in + 16, 240), "xmm1-xmm15 kept across system calls");
	for (int i = 0; i < 256; i += 8) {
		uint64_t q;
		memcpy(&q, xmm_out + i, 8);
		sum(q);
	}

	v = run(u_smc, 20);
	uint64_t smc_want = 0;
	for (int i = 0; i < 20; i++)
		smc_want = smc_want * 31 + 15;
	check(v == smc_want, "code rewritten in a user page, run by the user and the kernel");
	sum(v);

	timer_start();
	v = run(u_wait_ticks, 5);
	timer_stop();
	check(ticks >= 5 && ticks_from_user >= 1 && v > 0,
	      "LAPIC timer preempts a user loop: %lu ticks, %lu at cpl3, %lu spins",
	      ticks, ticks_from_user, v);

	printk("user: checksum %016lx\n", checksum);
	test_done();
}
