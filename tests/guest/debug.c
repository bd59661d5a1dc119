/* debug.elf: the debug registers and single-step from a kernel's point of
 * view (SDM Vol. 3, 18.2-18.3, 6.8.3): instruction breakpoints (a fault
 * before the instruction, RF in the pushed RFLAGS lets it run), data
 * write and read/write breakpoints of 1, 2, 4 and 8 bytes (a trap after
 * the access, accesses that straddle the range or a page, REP MOVSB
 * stopping after the element that hit), I/O breakpoints with CR4.DE,
 * DR6's B0-B3/BS/BD, DR7.GD, DR4/DR5 aliasing and #UD with CR4.DE, #GP
 * for DR6/DR7 bits 63:32, and the MOV SS shadow: the single-step trap
 * and a data breakpoint of MOV SS itself come after the next
 * instruction, while STI's shadow delays no debug trap.
 * Command line: "qemu tcg" (QEMU's TCG has no I/O breakpoints and no MOV
 * SS shadow for debug traps, no DR7.GD, and holds the single-step trap
 * after STI as after MOV SS: those checks are skipped).  Under KVM the
 * processor runs it all. */
#include "guest.h"

#define DR6_BD		(1ull << 13)
#define DR6_BS		(1ull << 14)
#define DR7_GD		(1ull << 13)
#define CR4_DE		(1ull << 3)
#define RFLAGS_RF	(1ull << 16)
#define V_DB	1
#define V_UD	6
#define V_GP	13

enum { RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_RW = 3 };
enum { LEN1 = 0, LEN2 = 1, LEN8 = 2, LEN4 = 3 };

/* Accessors whose instruction boundaries the checks name. */
extern char bp_target[], w1_end[], w4_end[], w8_end[], r8_end[];
extern char rep_insn[], io_out_end[], io_outw_end[], io_rep_insn[];
extern char ss_step[], ss_s0[], ss_s1[], ss_s2[], ss_s3[], ss_s4[], ss_s5[], ss_s6[];
extern char sti_step[], sti_t0[], sti_t1[], sti_t2[];
extern char ss_watch[], ss_m1[], ss_m2[];
void w1(void *p, uint64_t v);
void w4(void *p, uint64_t v);
void w8(void *p, uint64_t v);
uint64_t r8(const void *p);
void rep_movsb(void *d, const void *s, uint64_t n);
void io_out(void);
void io_outw(void);
void io_rep_outsb(const void *src, uint64_t n);
void ss_step_fn(void);
void sti_step_fn(void);
void ss_watch_fn(const void *ssval);
void bp_fn(void);
__asm__(".text\n"
	".globl bp_fn, bp_target\n"
	"bp_fn: nop\nbp_target: nop\nret\n"
	".globl w1, w1_end\nw1: movb %sil, (%rdi)\nw1_end: ret\n"
	".globl w4, w4_end\nw4: movl %esi, (%rdi)\nw4_end: ret\n"
	".globl w8, w8_end\nw8: movq %rsi, (%rdi)\nw8_end: ret\n"
	".globl r8, r8_end\nr8: movq (%rdi), %rax\nr8_end: ret\n"
	".globl rep_movsb, rep_insn\nrep_movsb: mov %rdx, %rcx\nrep_insn: rep movsb\nret\n"
	".globl io_out, io_out_end\nio_out: outb %al, $0x80\nio_out_end: ret\n"
	".globl io_outw, io_outw_end\nio_outw: mov $0x7f, %dx\noutw %ax, %dx\nio_outw_end: ret\n"
	".globl io_rep_outsb, io_rep_insn\n"
	"io_rep_outsb: mov %rsi, %rcx\nmov %rdi, %rsi\nmov $0x80, %dx\n"
	"io_rep_insn: rep outsb\nret\n"
	/* TF from popfq: a trap after each instruction that begins with TF set,
	 * but MOV SS */
	".globl ss_step_fn, ss_s0, ss_s1, ss_s2, ss_s3, ss_s4, ss_s5, ss_s6\n"
	"ss_step_fn: pushfq\norq $0x100, (%rsp)\npopfq\n"
	"ss_s0: mov %ss, %eax\n"
	"ss_s1: mov %eax, %ss\n"
	"ss_s2: nop\n"
	"ss_s3: pushfq\n"
	"ss_s4: andq $~0x100, (%rsp)\n"
	"ss_s5: popfq\n"
	"ss_s6: ret\n"
	".globl sti_step_fn, sti_t0, sti_t1, sti_t2\n"
	"sti_step_fn: pushfq\norq $0x100, (%rsp)\npopfq\n"
	"sti_t0: sti\n"
	"sti_t1: cli\n"
	"sti_t2: pushfq\nandq $~0x100, (%rsp)\npopfq\nret\n"
	/* MOV SS reading a watched word: its trap waits one instruction */
	".globl ss_watch_fn, ss_m1, ss_m2\n"
	"ss_watch_fn: mov (%rdi), %ss\n"
	"ss_m1: nop\n"
	"ss_m2: ret\n");

static uint8_t wbuf[64] __attribute__((aligned(64)));
static uint8_t pbuf[2][4096] __attribute__((aligned(4096)));
static uint8_t src[32], dst[32];
static uint16_t ssval;
static bool qemu_tcg;

/* #DB handler's log */
static volatile int db_count;
static uint64_t db_rip[16], db_dr6[16], db_rcx, db_flags;
static bool db_set_rf;

static uint64_t get_dr6(void) { uint64_t v; __asm__ volatile("mov %%db6, %0" : "=r"(v)); return v; }
static uint64_t get_dr7(void) { uint64_t v; __asm__ volatile("mov %%db7, %0" : "=r"(v)); return v; }
static void set_dr6(uint64_t v) { __asm__ volatile("mov %0, %%db6" :: "r"(v)); }
static void set_dr7(uint64_t v) { __asm__ volatile("mov %0, %%db7" :: "r"(v) : "memory"); }
static void set_dr(int n, uint64_t v)
{
	switch (n) {
	case 0: __asm__ volatile("mov %0, %%db0" :: "r"(v)); break;
	case 1: __asm__ volatile("mov %0, %%db1" :: "r"(v)); break;
	case 2: __asm__ volatile("mov %0, %%db2" :: "r"(v)); break;
	default: __asm__ volatile("mov %0, %%db3" :: "r"(v)); break;
	}
}

static void db_handler(struct frame *f)
{
	int n = db_count;
	if (n < 16) {
		db_rip[n] = f->rip;
		db_dr6[n] = get_dr6();
	}
	db_rcx = f->rcx;
	db_flags = read_flags();
	db_count = n + 1;
	set_dr6(0);
	if (db_set_rf)
		f->rflags |= RFLAGS_RF;
}

static void db_reset(void)
{
	db_count = 0;
	memset(db_rip, 0, sizeof(db_rip));
	memset(db_dr6, 0, sizeof(db_dr6));
	set_dr6(0);
}

/* Breakpoint n on addr: enabled (L), with its R/W and LEN fields. */
static void arm(int n, uint64_t addr, int rw, int len)
{
	set_dr(n, addr);
	set_dr7((1ull << (2 * n)) | (uint64_t)rw << (16 + 4 * n) | (uint64_t)len << (18 + 4 * n));
	db_reset();
}

static void disarm(void)
{
	set_dr7(0);
}

/* One data access and what it must do: hit (B<n> and a trap right after
 * the instruction at after) or not. */
static void expect(bool hit, int n, const char *after, const char *what)
{
	if (hit)
		check(db_count == 1 && db_rip[0] == (uint64_t)after && (db_dr6[0] & 0xf) == (1u << n),
		      "%s: #DB trap after it, B%d (count %d, rip %lx, dr6 %lx)", what, n, db_count,
		      db_rip[0], db_dr6[0]);
	else
		check(db_count == 0, "%s: no #DB (count %d)", what, db_count);
	db_reset();
}

static void exec_tests(void)
{
	db_set_rf = true;
	arm(0, (uint64_t)bp_target, RW_EXEC, LEN1);
	bp_fn();
	check(db_count == 1 && db_rip[0] == (uint64_t)bp_target && (db_dr6[0] & 0xf) == 1,
	      "instruction breakpoint: a fault before it, B0 (count %d, rip %lx, dr6 %lx)",
	      db_count, db_rip[0], db_dr6[0]);
	check(!(db_flags & RFLAGS_TF), "#DB handler runs with TF clear");
	db_reset();
	bp_fn();
	check(db_count == 1, "instruction breakpoint again after RF let it run (count %d)", db_count);
	db_reset();
	arm(2, (uint64_t)bp_target, RW_EXEC, LEN1);
	set_dr7(get_dr7() & ~0x30ull);          /* L2 off */
	bp_fn();
	check(db_count == 0, "a disabled instruction breakpoint: no #DB (count %d)", db_count);
	disarm();
	db_set_rf = false;
}

static void data_tests(void)
{
	uint8_t *b = wbuf;

	arm(1, (uint64_t)(b + 8), RW_WRITE, LEN8);
	w4(b + 6, 1);
	expect(true, 1, w4_end, "4-byte write straddling the start of an 8-byte range");
	w1(b + 15, 1);
	expect(true, 1, w1_end, "byte write at the end of an 8-byte range");
	w4(b + 16, 1);
	expect(false, 1, NULL, "4-byte write just after the range");
	w4(b + 4, 1);
	expect(false, 1, NULL, "4-byte write just before the range");
	(void)r8(b + 8);
	expect(false, 1, NULL, "read of a write-only range");

	arm(3, (uint64_t)(b + 8), RW_RW, LEN8);
	(void)r8(b + 8);
	expect(true, 3, r8_end, "read of a read/write range");
	w8(b + 12, 1);
	expect(true, 3, w8_end, "8-byte write straddling the end of a read/write range");
	(void)r8(b);
	expect(false, 3, NULL, "read beside a read/write range");

	arm(0, (uint64_t)(b + 2), RW_WRITE, LEN2);
	w1(b + 3, 1);
	expect(true, 0, w1_end, "2-byte range: its second byte");
	w1(b + 4, 1);
	expect(false, 0, NULL, "2-byte range: the byte after");
	arm(2, (uint64_t)(b + 5), RW_WRITE, LEN1);
	w1(b + 5, 1);
	expect(true, 2, w1_end, "1-byte range");
	w1(b + 4, 1);
	expect(false, 2, NULL, "1-byte range: the byte before");
	arm(2, (uint64_t)(b + 4), RW_WRITE, LEN4);
	w1(b + 7, 1);
	expect(true, 2, w1_end, "4-byte range: its last byte");
	w1(b + 8, 1);
	expect(false, 2, NULL, "4-byte range: the byte after");

	/* an access split over two pages, the range in the second */
	arm(1, (uint64_t)pbuf[1], RW_WRITE, LEN4);
	w8(pbuf[0] + 4092, 1);
	expect(true, 1, w8_end, "8-byte write across a page boundary into the range");
	w4(pbuf[0] + 4092, 1);
	expect(false, 1, NULL, "4-byte write ending at the page boundary");

	/* REP MOVSB: the trap after the element that hit, rip at the
	 * instruction and rCX counting what is left; it then goes on */
	for (int k = 0; k < 32; k++)
		src[k] = (uint8_t)(k + 1);
	memset(dst, 0, sizeof(dst));
	arm(0, (uint64_t)(dst + 5), RW_WRITE, LEN1);
	rep_movsb(dst, src, 16);
	check(db_count == 1 && db_rip[0] == (uint64_t)rep_insn && db_rcx == 10,
	      "rep movsb: #DB after the 6th element, rip at it, rcx 10 (count %d, rip %lx, rcx %lu)",
	      db_count, db_rip[0], db_rcx);
	check(memcmp(dst, src, 16) == 0 && dst[16] == 0, "rep movsb finishes after the #DB");
	disarm();
	db_reset();
	w1(b + 5, 1);
	check(db_count == 0, "DR7 cleared: no #DB (count %d)", db_count);
}

static void io_tests(void)
{
	if (qemu_tcg) {
		skip("I/O breakpoints: QEMU's TCG has none");
		return;
	}
	write_cr4(read_cr4() | CR4_DE);
	arm(3, 0x80, RW_IO, LEN1);
	io_out();
	expect(true, 3, io_out_end, "outb to a port with an I/O breakpoint (CR4.DE)");
	arm(3, 0x80, RW_IO, LEN1);
	io_outw();
	expect(true, 3, io_outw_end, "outw to 0x7f reaches 0x80");
	arm(3, 0x81, RW_IO, LEN1);
	io_out();
	expect(false, 3, NULL, "outb beside the port");
	arm(3, 0x80, RW_IO, LEN1);
	io_rep_outsb(src, 3);
	check(db_count == 3 && db_rip[0] == (uint64_t)io_rep_insn && db_rip[2] != (uint64_t)io_rep_insn &&
	      db_rcx == 0, "rep outsb of 3 to the port: a #DB after each element (count %d, rcx %lu)",
	      db_count, db_rcx);
	db_reset();
	disarm();
	write_cr4(read_cr4() & ~CR4_DE);
}

static void reg_tests(void)
{
	struct cpu *c = this_cpu();
	uint64_t v;
	int vec;

	set_dr6(0);
	set_dr7(0);
	check(get_dr6() == 0xffff0ff0, "dr6 reads 0xffff0ff0 after 0 (%lx)", get_dr6());
	check(get_dr7() == 0x400, "dr7 reads 0x400 after 0 (%lx)", get_dr7());

	/* CR4.DE = 0: DR4/DR5 are DR6/DR7 */
	write_cr4(read_cr4() & ~CR4_DE);
	set_dr6(0x1);
	__asm__ volatile("mov %%db4, %0" : "=r"(v));
	check(v == 0xffff0ff1, "dr4 reads dr6 without cr4.de (%lx)", v);
	__asm__ volatile("mov %0, %%db5" :: "r"(0x10ul));
	check(get_dr7() == 0x410, "dr5 writes dr7 without cr4.de (%lx)", get_dr7());
	set_dr7(0);
	set_dr6(0);
	write_cr4(read_cr4() | CR4_DE);
	vec = FAULT_TRY("mov %%db4, %%rax");
	check(vec == V_UD, "#UD: mov from dr4 with cr4.de (vector %d)", vec);
	vec = FAULT_TRY("mov %[v], %%db5", [v] "c"(0ul));
	check(vec == V_UD, "#UD: mov to dr5 with cr4.de (vector %d)", vec);
	write_cr4(read_cr4() & ~CR4_DE);

	vec = FAULT_TRY("mov %[v], %%db7", [v] "c"(1ull << 32));
	check(vec == V_GP && c->fault.error == 0, "#GP(0): dr7 bit 32 (vector %d)", vec);
	vec = FAULT_TRY("mov %[v], %%db6", [v] "c"(1ull << 40));
	check(vec == V_GP, "#GP(0): dr6 bit 40 (vector %d)", vec);
	set_dr(0, 0xffff800000001000ull);
	__asm__ volatile("mov %%db0, %0" : "=r"(v));
	check(v == 0xffff800000001000ull, "dr0 holds a 64-bit address (%lx)", v);

	/* DR7.GD: the next MOV DR is a #DB fault with BD, GD cleared */
	if (qemu_tcg) {
		skip("general detect: QEMU's TCG has none");
		return;
	}
	set_dr7(DR7_GD);
	vec = FAULT_TRY("mov %%db0, %%rax");
	uint64_t dr6 = get_dr6();
	check(vec == V_DB && c->fault.rip == c->fault_recover - 3 && (dr6 & DR6_BD),
	      "general detect: #DB fault at the mov, dr6.bd (vector %d, dr6 %lx)", vec, dr6);
	check(!(get_dr7() & DR7_GD), "general detect clears dr7.gd (%lx)", get_dr7());
	set_dr6(0);
}

static bool logged(uint64_t rip)
{
	for (int k = 0; k < db_count && k < 16; k++)
		if (db_rip[k] == rip)
			return true;
	return false;
}

static void step_tests(void)
{
	db_reset();
	ss_step_fn();
	check(db_count == 5 && (db_dr6[0] & DR6_BS), "single step: 5 traps, dr6.bs (count %d, dr6 %lx)",
	      db_count, db_dr6[0]);
	check(!logged((uint64_t)ss_s0), "single step: none after the popfq that sets TF");
	check(logged((uint64_t)ss_s1) && logged((uint64_t)ss_s4) && logged((uint64_t)ss_s6),
	      "single step: a trap after mov from ss, pushfq and the popfq that clears TF");
	if (qemu_tcg) {
		skip("single step over mov ss: QEMU's TCG traps after it");
	} else {
		check(!logged((uint64_t)ss_s2), "single step: no trap right after mov ss");
		check(logged((uint64_t)ss_s3), "single step: the trap of mov ss comes after the next instruction");
	}
	check(db_count < 7 || db_rip[6] == 0, "single step: none after TF is cleared");

	db_reset();
	sti_step_fn();
	if (qemu_tcg)
		skip("single step over sti: QEMU's TCG delays the trap as for mov ss");
	else
		check(logged((uint64_t)sti_t1) && logged((uint64_t)sti_t2),
		      "single step: sti's shadow delays no trap (count %d)", db_count);

	/* MOV SS reading a watched word: the #DB after the next instruction */
	__asm__ volatile("mov %%ss, %0" : "=r"(ssval));
	arm(0, (uint64_t)&ssval, RW_RW, LEN2);
	ss_watch_fn(&ssval);
	disarm();
	if (qemu_tcg)
		skip("data breakpoint on mov ss: QEMU's TCG traps after it");
	else
		check(db_count == 1 && db_rip[0] == (uint64_t)ss_m2 && (db_dr6[0] & 1),
		      "data breakpoint of mov ss: #DB after the next instruction (count %d, rip %lx)",
		      db_count, db_rip[0]);
	db_reset();
}

int main(void)
{
	test_name = "debug";
	/* KVM nested under QEMU 7.2's TCG (tests/nested): the outer
	 * emulator delivers these #DBs, and it lacks DR7.GD, I/O
	 * breakpoints and MOV SS's hold on data traps */
	if (cmdline_has("on-qemu-tcg")) {
		skip("debug: KVM nested under QEMU's TCG, which lacks general detect, I/O breakpoints and the MOV SS shadow");
		test_done();
	}
	qemu_tcg = cmdline_has("qemu") && cmdline_has("tcg");
	printk("debug: start%s\n", qemu_tcg ? " (qemu-tcg)" : "");
	set_irq_handler(V_DB, db_handler);
	reg_tests();
	exec_tests();
	data_tests();
	io_tests();
	step_tests();
	set_dr7(0);
	return 0;
}
