/*
 * kqemu's process backend (user/kqemu/proc/): guest code from a fake
 * guest-RAM memfd run natively in the child, each exit class checked.
 * The guest code is assembled here (the snippets below) and copied into
 * the RAM file.  Every test says SKIP when available() says no.
 */
#include <cpuid.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "kqemu/kqemu.h"
#include "kqemu/proc/mailbox.h"

/* guest linear layout: code, data, a second data page, stack */
#define CODE_LIN  0x400000ull
#define DATA_LIN  0x600000ull
#define DATA2_LIN 0x601000ull
#define STACK_LIN 0x7fff0000ull
#define RAM_PAGES 16
/* RAM pages: 0 code, 1 data, 2 data2, 3 stack, 4.. spare */
#define CODE_OFF  0x0000
#define DATA_OFF  0x1000
#define DATA2_OFF 0x2000
#define STACK_OFF 0x3000
#define SPARE_OFF 0x4000

#define SNIPPET(name, body)                                             \
	extern const unsigned char name[], name##_end[];                \
	__asm__(".pushsection .rodata\n" #name ":\n" body "\n"          \
		#name "_end:\n.popsection\n")

/* sum 1..1000000 into rax, a mark in rbx, then SYSCALL */
SNIPPET(g_loop,
	"mov $1000000, %ecx\n xor %eax, %eax\n"
	"1: add %rcx, %rax\n dec %rcx\n jnz 1b\n"
	"mov $0x1234, %ebx\n syscall\n");
/* pwrite64(3, code, 4, 0x4000): would change the RAM file if it ran */
SNIPPET(g_pwrite,
	"mov $18, %eax\n mov $3, %edi\n lea 0(%rip), %rsi\n mov $4, %edx\n"
	"mov $0x4000, %r10d\n syscall\n mov $7, %ebx\n syscall\n");
/* read, write, then jump: the test maps the pages in between */
SNIPPET(g_fault_rd, "mov 0x800000, %rax\n syscall\n");
SNIPPET(g_fault_wr, "movq $0x55, 0x900010\n syscall\n");
SNIPPET(g_fault_ex, "mov $0xa00000, %eax\n jmp *%rax\n");
SNIPPET(g_ro_write, "movl $1, 0x600020\n syscall\n");
SNIPPET(g_div0, "xor %ecx, %ecx\n mov $5, %eax\n cqo\n div %rcx\n");
SNIPPET(g_ud2, "nop\n ud2\n");
SNIPPET(g_int3, "nop\n int3\n");
SNIPPET(g_int80, "nop\n int $0x80\n");
SNIPPET(g_hlt, "nop\n hlt\n");
SNIPPET(g_in, "nop\n in $0x60, %al\n");
SNIPPET(g_out, "nop\n out %al, $0x80\n");
SNIPPET(g_cli, "nop\n cli\n");
SNIPPET(g_rdtsc, "rdtsc\n syscall\n");
SNIPPET(g_endless, "1: jmp 1b\n");
SNIPPET(g_fs, "mov %fs:8, %rax\n mov %gs:16, %rbx\n syscall\n");
SNIPPET(g_regs, "syscall\n");
SNIPPET(g_vec,
	"fnstcw 0x600100\n fldpi\n"
	"paddd %xmm1, %xmm2\n"
	"vpaddq %ymm3, %ymm3, %ymm4\n syscall\n");
SNIPPET(g_vsyscall, "mov $0xffffffffff600000, %rax\n call *%rax\n");
SNIPPET(g_two_nops, "nop\n nop\n syscall\n");
/* jump into the child's own code: its system call must not pass */
SNIPPET(g_into_stub,
	"mov $18, %eax\n mov $3, %edi\n mov $0x600000, %esi\n mov $4, %edx\n"
	"mov $0x4000, %r10d\n jmp *%r15\n");
/* forge an exit in the mailbox: r8 = &state.cs, r9 = &exit_class,
 * r10 = &req_seq, r11 = &done_seq */
SNIPPET(g_forge,
	"movw $0x10, (%r8)\n movl $5, (%r9)\n mov (%r10), %ecx\n mov %ecx, (%r11)\n"
	"1: jmp 1b\n");
/* a register pattern from rbx, checked and changed: rax = rbx * 3 + 1 */
SNIPPET(g_mix, "lea 1(%rbx,%rbx,2), %rax\n syscall\n");
SNIPPET(g_zmm,
	"vpaddq %zmm3, %zmm3, %zmm5\n vmovdqa64 %zmm3, %zmm20\n syscall\n");

struct kt {
	struct kqemu_ram ram;
	uint8_t *host;
	void *b;
	struct kqemu_run *run;
	struct kqemu_backend_info info;
};

static const struct kqemu_backend_ops *ops = &kqemu_process_ops;

/* fresh register state: the host's segments, an x87/SSE init image */
static void kt_state(struct kt *t, uint64_t rip)
{
	struct kqemu_cpu_state *s = &t->run->state;
	memset(s, 0, sizeof(*s));
	s->rip = rip;
	s->rflags = 0x202;
	s->regs[4] = STACK_LIN + 0xff0;
	s->cs = 0x33;
	s->ss = 0x2b;
	s->code_bits = 64;
	s->xcr0 = t->info.xcr0;
	s->xsave_size = t->info.xsave_size;
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(s->xsave, &fcw, 2);
	memcpy(s->xsave + 24, &mxcsr, 4);
}

static void kt_map(struct kt *t, uint64_t lin, uint64_t off, uint32_t prot)
{
	struct kqemu_run *r = t->run;
	r->map[r->nr_map++] = (struct kqemu_map){ lin, off, prot, 0 };
}

/* one exec(); the request's lists are consumed */
static int kt_exec(struct kt *t)
{
	t->run->version = KQEMU_VERSION;
	int r = ops->exec(t->b, t->run);
	t->run->nr_map = t->run->nr_unmap = t->run->flush_all = 0;
	return r;
}

static void kt_code(struct kt *t, const unsigned char *s, const unsigned char *e)
{
	memcpy(t->host + CODE_OFF, s, (size_t)(e - s));
}

#define KT_CODE(t, name) kt_code(t, name, name##_end)
#define KT_LEN(name) ((uint64_t)(name##_end - name))

/* Open the backend on a fresh RAM file with code, data and stack
 * mapped; false (and the test skips) when the host cannot. */
static bool kt_open(struct kt *t, const char **why)
{
	static char reason[200];
	memset(t, 0, sizeof(*t));
	if (!ops->available(reason, sizeof(reason))) {
		*why = reason;
		return false;
	}
	*why = "setting up the test failed";
	t->ram.fd = memfd_create("kt-ram", MFD_CLOEXEC);
	t->ram.size = RAM_PAGES * 4096;
	if (t->ram.fd < 0 || ftruncate(t->ram.fd, (off_t)t->ram.size) < 0)
		return false;
	t->host = mmap(NULL, t->ram.size, PROT_READ | PROT_WRITE, MAP_SHARED, t->ram.fd, 0);
	if (t->host == MAP_FAILED)
		return false;
	t->ram.host = t->host;
	t->run = calloc(1, sizeof(*t->run));
	char err[200];
	t->b = ops->open(&t->ram, err, sizeof(err));
	if (!t->b) {
		fprintf(stderr, "  open: %s\n", err);
		return false;
	}
	ops->get_info(t->b, &t->info);
	kt_state(t, CODE_LIN);
	kt_map(t, CODE_LIN, CODE_OFF, KQEMU_PROT_READ | KQEMU_PROT_EXEC);
	kt_map(t, DATA_LIN, DATA_OFF, KQEMU_PROT_READ | KQEMU_PROT_WRITE);
	kt_map(t, DATA2_LIN, DATA2_OFF, KQEMU_PROT_READ | KQEMU_PROT_WRITE);
	kt_map(t, STACK_LIN, STACK_OFF, KQEMU_PROT_READ | KQEMU_PROT_WRITE);
	return true;
}

static void kt_close(struct kt *t)
{
	if (t->b)
		ops->close(t->b);
	free(t->run);
	if (t->host && t->host != MAP_FAILED)
		munmap(t->host, t->ram.size);
	if (t->ram.fd > 0)
		close(t->ram.fd);
}

#define KT_OPEN(t)                                                      \
	const char *why_;                                               \
	if (!kt_open(t, &why_)) {                                       \
		kt_close(t);                                            \
		if (strcmp(why_, "setting up the test failed") == 0)    \
			CHECK(!why_);                                   \
		SKIP(why_);                                             \
	}

/* A host where memfds cannot be executed (here: a seccomp filter of the
 * test's own makes execveat fail): available() says no, and why. */
TEST(kqemu_proc_unavailable_says_why)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		SKIP("cannot install a seccomp filter here");
	char why[200] = "";
	CHECK(!ops->available(why, sizeof(why)));
	CHECK(strstr(why, "could not be executed"));
}

TEST(kqemu_proc_info)
{
	struct kt t;
	KT_OPEN(&t);
	CHECK_EQ(t.info.version >> 16, KQEMU_VERSION_MAJOR);
	CHECK_EQ(t.info.user_start, 0x1000);
	CHECK(t.info.user_end <= 0x800000000000ull && t.info.user_end > 0x7fff00000000ull);
	CHECK(t.info.hole_start >= t.info.user_start && t.info.hole_end <= t.info.user_end);
	CHECK_EQ(t.info.hole_end - t.info.hole_start, 2u << 20);
	CHECK_EQ(t.info.xcr0 & 3, 3);
	CHECK(t.info.xsave_size >= 576 && t.info.xsave_size <= KQEMU_XSAVE_MAX);
	kt_close(&t);
}

TEST(kqemu_proc_loop_then_syscall)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_loop);
	t.run->state.regs[12] = 0x1122334455667788ull;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.run->vector, 0);
	CHECK_EQ(t.run->state.rip, CODE_LIN + KT_LEN(g_loop));
	CHECK_EQ(t.run->state.regs[0], 500000500000ull);
	CHECK_EQ(t.run->state.regs[3], 0x1234);
	CHECK_EQ(t.run->state.regs[12], 0x1122334455667788ull);
	CHECK_EQ(t.run->state.cs, 0x33);
	CHECK_EQ(t.run->state.ss, 0x2b);
	CHECK(t.run->host_ns > 0);
	kt_close(&t);
}

TEST(kqemu_proc_registers_round_trip)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_regs);
	for (int i = 0; i < 16; i++)
		if (i != 4)
			t.run->state.regs[i] = 0x0101010101010101ull * (uint64_t)(i + 1);
	t.run->state.rflags = 0x202 | 0x1 | 0x40 | 0x800;     /* CF ZF OF */
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 1 || i == 11)        /* rsp; SYSCALL's rcx, r11 */
			continue;
		CHECK_EQ(t.run->state.regs[i], 0x0101010101010101ull * (uint64_t)(i + 1));
	}
	CHECK_EQ(t.run->state.regs[4], STACK_LIN + 0xff0);
	CHECK_EQ(t.run->state.regs[1], CODE_LIN + 2);  /* SYSCALL: rcx = next rip */
	CHECK_EQ(t.run->state.rflags & 0xac3, 0x202 | 0x1 | 0x40 | 0x800);
	kt_close(&t);
}

/* The filter: guest code's system call is trapped, not executed. */
TEST(kqemu_proc_seccomp_traps_guest_syscall)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_pwrite);
	memset(t.host + SPARE_OFF, 0xee, 16);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.run->state.regs[0], 18);    /* the call number, not a result */
	CHECK_EQ(t.host[SPARE_OFF], 0xee);
	/* and the child goes on after it */
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.run->state.regs[3], 7);
	CHECK_EQ(t.run->state.rip, CODE_LIN + KT_LEN(g_pwrite));
	CHECK_EQ(t.host[SPARE_OFF], 0xee);
	kt_close(&t);
}

TEST(kqemu_proc_page_faults)
{
	struct kt t;
	KT_OPEN(&t);
	/* read of an unmapped page; mapped, the instruction runs */
	KT_CODE(&t, g_fault_rd);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_PAGE);
	CHECK_EQ(t.run->fault_addr, 0x800000);
	CHECK_EQ(t.run->fault_access, KQEMU_ACC_READ);
	CHECK_EQ(t.run->state.rip, CODE_LIN);
	uint64_t v = 0xfeedface;
	memcpy(t.host + SPARE_OFF, &v, 8);
	kt_map(&t, 0x800000, SPARE_OFF, KQEMU_PROT_READ);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.run->state.regs[0], 0xfeedface);

	/* write */
	KT_CODE(&t, g_fault_wr);
	kt_state(&t, CODE_LIN);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_PAGE);
	CHECK_EQ(t.run->fault_addr, 0x900010);
	CHECK_EQ(t.run->fault_access, KQEMU_ACC_WRITE);
	kt_map(&t, 0x900000, SPARE_OFF + 0x1000, KQEMU_PROT_READ | KQEMU_PROT_WRITE);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.host[SPARE_OFF + 0x1010], 0x55);

	/* instruction fetch */
	KT_CODE(&t, g_fault_ex);
	kt_state(&t, CODE_LIN);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_PAGE);
	CHECK_EQ(t.run->fault_addr, 0xa00000);
	CHECK_EQ(t.run->fault_access, KQEMU_ACC_EXEC);
	CHECK_EQ(t.run->state.rip, 0xa00000);
	/* a readable but not executable page: still a fetch fault */
	kt_map(&t, 0xa00000, SPARE_OFF, KQEMU_PROT_READ);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_PAGE);
	CHECK_EQ(t.run->fault_access, KQEMU_ACC_EXEC);
	kt_close(&t);
}

TEST(kqemu_proc_write_to_read_only)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_ro_write);
	t.run->nr_map = 0;
	kt_map(&t, CODE_LIN, CODE_OFF, KQEMU_PROT_READ | KQEMU_PROT_EXEC);
	kt_map(&t, DATA_LIN, DATA_OFF, KQEMU_PROT_READ);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_PAGE);
	CHECK_EQ(t.run->fault_addr, DATA_LIN + 0x20);
	CHECK_EQ(t.run->fault_access, KQEMU_ACC_WRITE);
	CHECK_EQ(t.host[DATA_OFF + 0x20], 0);
	kt_map(&t, DATA_LIN, DATA_OFF, KQEMU_PROT_READ | KQEMU_PROT_WRITE);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.host[DATA_OFF + 0x20], 1);
	kt_close(&t);
}

/* run a snippet from scratch: its exit class, and rip relative to code */
static bool kt_one(struct kt *t, const unsigned char *s, const unsigned char *e,
		   uint32_t *cls, uint64_t *rip_off)
{
	kt_code(t, s, e);
	kt_state(t, CODE_LIN);
	if (kt_exec(t) != 0)
		return false;
	*cls = t->run->exit_class;
	*rip_off = t->run->state.rip - CODE_LIN;
	return true;
}

TEST(kqemu_proc_exceptions_and_softmmu)
{
	struct kt t;
	KT_OPEN(&t);
	uint32_t cls;
	uint64_t off;
	CHECK(kt_one(&t, g_div0, g_div0_end, &cls, &off));
	CHECK_EQ(cls, KQEMU_EXIT_EXCEPTION);
	CHECK_EQ(t.run->vector, 0);
	CHECK_EQ(off, KT_LEN(g_div0) - 3);     /* at the DIV */
	CHECK(kt_one(&t, g_ud2, g_ud2_end, &cls, &off));
	CHECK_EQ(cls, KQEMU_EXIT_SOFTMMU);
	CHECK_EQ(off, 1);
	/* INT3: back to the instruction, TCG runs it */
	CHECK(kt_one(&t, g_int3, g_int3_end, &cls, &off));
	CHECK_EQ(cls, KQEMU_EXIT_SOFTMMU);
	CHECK_EQ(off, 1);
	const struct { const unsigned char *s, *e; const char *name; } priv[] = {
		{ g_hlt, g_hlt_end, "hlt" }, { g_in, g_in_end, "in" },
		{ g_out, g_out_end, "out" }, { g_cli, g_cli_end, "cli" },
	};
	for (unsigned i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
		CHECK(kt_one(&t, priv[i].s, priv[i].e, &cls, &off));
		if (cls != KQEMU_EXIT_SOFTMMU || off != 1)
			fprintf(stderr, "  %s: class %u rip +%llu\n", priv[i].name, cls,
				(unsigned long long)off);
		CHECK_EQ(cls, KQEMU_EXIT_SOFTMMU);
		CHECK_EQ(off, 1);
	}
	kt_close(&t);
}

/* INT 0x80 is a host system-call entry when the kernel has IA-32
 * emulation (then seccomp traps it), a #GP otherwise. */
TEST(kqemu_proc_int80)
{
	struct kt t;
	KT_OPEN(&t);
	uint32_t cls;
	uint64_t off;
	t.run->state.regs[0] = 20;      /* i386 getpid */
	CHECK(kt_one(&t, g_int80, g_int80_end, &cls, &off));
	if (cls == KQEMU_EXIT_SYSCALL) {
		CHECK_EQ(t.run->vector, 0x80);
		CHECK_EQ(off, 3);
	} else {
		CHECK_EQ(cls, KQEMU_EXIT_SOFTMMU);
		CHECK_EQ(off, 1);
	}
	kt_close(&t);
}

TEST(kqemu_proc_rdtsc)
{
	struct kt t;
	KT_OPEN(&t);
	uint32_t cls;
	uint64_t off;
	CHECK(kt_one(&t, g_rdtsc, g_rdtsc_end, &cls, &off));
	CHECK_EQ(cls, KQEMU_EXIT_SYSCALL);     /* native: no offset */
	CHECK(t.run->state.regs[0] | t.run->state.regs[2]);
	kt_state(&t, CODE_LIN);
	t.run->state.tsc_offset = 1000;
	CHECK_EQ(kt_exec(&t), 0);
	if (!(t.info.flags & KQEMU_INFO_TSC_TRAP)) {
		/* refused, not run with the wrong TSC */
		CHECK_EQ(t.run->exit_class, KQEMU_EXIT_ERROR);
		CHECK(strstr(t.run->message, "RDTSC"));
		kt_close(&t);
		SKIP("this host ignores CR4.TSD (PR_SET_TSC): RDTSC cannot be made to fault");
	}
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SOFTMMU);
	CHECK_EQ(t.run->state.rip, CODE_LIN);
	kt_state(&t, CODE_LIN);
	t.run->state.cr4 = 1u << 2;     /* CR4.TSD */
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SOFTMMU);
	kt_state(&t, CODE_LIN);         /* and back to native */
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	kt_close(&t);
}

TEST(kqemu_proc_fs_gs_base)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_fs);
	uint64_t a = 0x1111222233334444ull, b = 0x5555666677778888ull;
	memcpy(t.host + DATA_OFF + 8, &a, 8);
	memcpy(t.host + DATA2_OFF + 16, &b, 8);
	t.run->state.fs_base = DATA_LIN;
	t.run->state.gs_base = DATA2_LIN;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.run->state.regs[0], a);
	CHECK_EQ(t.run->state.regs[3], b);
	CHECK_EQ(t.run->state.fs_base, DATA_LIN);
	CHECK_EQ(t.run->state.gs_base, DATA2_LIN);
	/* swapped */
	kt_state(&t, CODE_LIN);
	t.run->state.fs_base = DATA2_LIN + 8;
	t.run->state.gs_base = DATA_LIN - 8;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->state.regs[0], b);
	CHECK_EQ(t.run->state.regs[3], a);
	kt_close(&t);
}

/* The vsyscall page (upper half, emulated by Linux): the call is a
 * fetch from a page the guest has not got, never the host's time(). */
TEST(kqemu_proc_vsyscall_page)
{
	struct kt t;
	KT_OPEN(&t);
	uint32_t cls;
	uint64_t off;
	CHECK(kt_one(&t, g_vsyscall, g_vsyscall_end, &cls, &off));
	CHECK_EQ(cls, KQEMU_EXIT_PAGE);
	CHECK_EQ(t.run->fault_addr, 0xffffffffff600000ull);
	CHECK_EQ(t.run->fault_access, KQEMU_ACC_EXEC);
	CHECK_EQ(t.run->state.rip, 0xffffffffff600000ull);
	/* the return address pushed by the call is on the stack */
	CHECK_EQ(t.run->state.regs[4], STACK_LIN + 0xff0 - 8);
	uint64_t ret;
	memcpy(&ret, t.host + STACK_OFF + 0xff0 - 8, 8);
	CHECK_EQ(ret, CODE_LIN + KT_LEN(g_vsyscall));
	kt_close(&t);
}

/* EFLAGS.TF: a #DB after each instruction, rip after it */
TEST(kqemu_proc_single_step)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_two_nops);
	t.run->state.rflags |= 0x100;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_EXCEPTION);
	CHECK_EQ(t.run->vector, 1);
	CHECK_EQ(t.run->state.rip, CODE_LIN + 1);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_EXCEPTION);
	CHECK_EQ(t.run->state.rip, CODE_LIN + 2);
	t.run->state.rflags &= ~0x100ull;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	kt_close(&t);
}

/* Guest code that jumps into the hole and traps there: an ERROR, not a
 * state to resume */
SNIPPET(g_into_hole, "jmp *%r15\n");

TEST(kqemu_proc_jump_into_hole)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_into_hole);
	/* the stub's first-entry ud2 is somewhere in its text: any ud2 */
	extern const char kqemu_proc_stub_image[], kqemu_proc_stub_image_end[];
	const char *img = kqemu_proc_stub_image;
	size_t len = (size_t)(kqemu_proc_stub_image_end - img);
	uint64_t target = 0;
	for (size_t i = 0x1000; i + 2 <= len && !target; i++)
		if (!memcmp(img + i, "\x0f\x0b", 2))
			target = t.info.hole_start + (i - 0x1000);
	CHECK(target);
	t.run->state.regs[15] = target;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_ERROR);
	CHECK(strstr(t.run->message, "hole"));
	kt_close(&t);
}

/* Guest code that jumps to the child's syscall instruction with a
 * pwrite64 of its own: the filter allows only mmap of guest RAM and a
 * few others from there, so the child is killed, the file untouched. */
TEST(kqemu_proc_jump_into_stub)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_into_stub);
	memset(t.host + SPARE_OFF, 0xee, 16);
	/* the child's syscall instruction: find "0f 05 c3" in its text */
	uint64_t target = 0;
	extern const char kqemu_proc_stub_image[], kqemu_proc_stub_image_end[];
	const char *img = kqemu_proc_stub_image;
	size_t len = (size_t)(kqemu_proc_stub_image_end - img);
	/* the ELF's first LOAD segment is its text at hole_start, file
	 * offset 0x1000 (stub.ld) */
	for (size_t i = 0x1000; i + 3 <= len && !target; i++)
		if (!memcmp(img + i, "\x0f\x05\xc3", 3))
			target = t.info.hole_start + (i - 0x1000);
	CHECK(target);
	t.run->state.regs[15] = target;
	int r = kt_exec(&t);
	CHECK_EQ(r, -1);
	CHECK(strstr(t.run->message, "signal 31"));    /* SIGSYS: killed */
	CHECK_EQ(t.host[SPARE_OFF], 0xee);
	kt_close(&t);
}

static uint32_t comp_offset(int i)
{
	unsigned a, b, c, d;
	__cpuid_count(0xd, i, a, b, c, d);
	return b;
}

TEST(kqemu_proc_vector_state)
{
	struct kt t;
	KT_OPEN(&t);
	if ((t.info.xcr0 & 7) != 7) {
		kt_close(&t);
		SKIP("the host has no AVX state in XCR0");
	}
	KT_CODE(&t, g_vec);
	uint8_t *x = t.run->state.xsave;
	uint16_t fcw = 0x27f;                   /* 53-bit precision */
	memcpy(x, &fcw, 2);
	for (int i = 0; i < 16; i++) {
		x[160 + 16 * 1 + i] = (uint8_t)(i + 1);         /* xmm1 */
		x[160 + 16 * 2 + i] = (uint8_t)(0x10 * (i & 7)); /* xmm2 */
		x[160 + 16 * 3 + i] = (uint8_t)(i + 0x20);      /* xmm3 */
	}
	uint8_t *yh = x + comp_offset(2);
	for (int i = 0; i < 16; i++)
		yh[16 * 3 + i] = (uint8_t)(i + 0x40);           /* ymm3 high */
	uint64_t bv = 7;
	memcpy(x + 512, &bv, 8);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	uint16_t seen;
	memcpy(&seen, t.host + DATA_OFF + 0x100, 2);
	CHECK_EQ(seen, 0x27f);
	x = t.run->state.xsave;
	/* x87: one push (TOP 7), st0 = pi (80-bit, in the register area) */
	uint16_t fsw;
	memcpy(&fsw, x + 2, 2);
	CHECK_EQ((fsw >> 11) & 7, 7);
	uint64_t mant;
	memcpy(&mant, x + 32, 8);
	CHECK_EQ(mant, 0xc90fdaa22168c235ull);  /* pi: FLDPI ignores precision control */
	for (int i = 0; i < 16; i++) {
		/* paddd: dword lanes; no carries with these bytes */
		CHECK_EQ(x[160 + 32 + i], (uint8_t)(0x10 * (i & 7) + i + 1));
		CHECK_EQ(x[160 + 64 + i], (uint8_t)(2 * (i + 0x20)));
		CHECK_EQ(x[comp_offset(2) + 64 + i], (uint8_t)(2 * (i + 0x40)));
	}
	kt_close(&t);
}

TEST(kqemu_proc_zmm_state)
{
	struct kt t;
	KT_OPEN(&t);
	if ((t.info.xcr0 & 0xe7) != 0xe7) {
		kt_close(&t);
		SKIP("the host has no AVX-512 state in XCR0");
	}
	KT_CODE(&t, g_zmm);
	uint8_t *x = t.run->state.xsave;
	for (int i = 0; i < 16; i++) {
		x[160 + 48 + i] = (uint8_t)(i + 1);             /* zmm3 bits 0-127 */
		x[comp_offset(2) + 48 + i] = (uint8_t)(i + 0x11); /* 128-255 */
	}
	for (int i = 0; i < 32; i++)
		x[comp_offset(6) + 32 * 3 + i] = (uint8_t)(i + 0x30); /* 256-511 */
	uint64_t bv = 0xe7;
	memcpy(x + 512, &bv, 8);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	x = t.run->state.xsave;
	for (int i = 0; i < 16; i++) {
		CHECK_EQ(x[160 + 80 + i], (uint8_t)(2 * (i + 1)));      /* zmm5 */
		CHECK_EQ(x[comp_offset(2) + 80 + i], (uint8_t)(2 * (i + 0x11)));
	}
	for (int i = 0; i < 32; i++) {
		CHECK_EQ(x[comp_offset(6) + 32 * 5 + i], (uint8_t)(2 * (i + 0x30)));
		/* zmm20 = zmm3: Hi16_ZMM slot 4, bytes 32-63 */
		CHECK_EQ(x[comp_offset(7) + 64 * 4 + 32 + i], (uint8_t)(i + 0x30));
	}
	CHECK_EQ(x[comp_offset(7) + 64 * 4], 1);
	kt_close(&t);
}

static void *kick_later(void *arg)
{
	struct kt *t = arg;
	usleep(100 * 1000);
	ops->kick(t->b);
	return NULL;
}

TEST(kqemu_proc_kick)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_endless);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, kick_later, &t) == 0);
	CHECK_EQ(kt_exec(&t), 0);
	pthread_join(th, NULL);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SIGNAL);
	CHECK_EQ(t.run->state.rip, CODE_LIN);
	CHECK(t.run->host_ns >= 50 * 1000 * 1000ull);
	/* a kick before exec(): SIGNAL at once, state untouched */
	ops->kick(t.b);
	t.run->state.regs[0] = 77;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SIGNAL);
	CHECK_EQ(t.run->state.regs[0], 77);
	/* and consumed: the next run is a normal one */
	KT_CODE(&t, g_regs);
	kt_state(&t, CODE_LIN);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	kt_close(&t);
}

TEST(kqemu_proc_unmap_and_flush)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_fs);      /* reads fs:8 and gs:16 */
	t.run->state.fs_base = DATA_LIN;
	t.run->state.gs_base = DATA_LIN;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	kt_state(&t, CODE_LIN);
	t.run->state.fs_base = DATA_LIN;
	t.run->state.gs_base = DATA_LIN;
	t.run->unmap[t.run->nr_unmap++] = DATA_LIN;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_PAGE);
	CHECK_EQ(t.run->fault_addr, DATA_LIN + 8);
	/* flush_all: even the code is gone */
	kt_map(&t, DATA_LIN, DATA_OFF, KQEMU_PROT_READ);
	t.run->flush_all = 1;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_PAGE);
	CHECK_EQ(t.run->fault_addr, CODE_LIN);
	CHECK_EQ(t.run->fault_access, KQEMU_ACC_EXEC);
	/* maps after the flush stay: the data page, read-only now */
	uint64_t v = 0x4242;
	memcpy(t.host + DATA_OFF + 8, &v, 8);
	kt_map(&t, CODE_LIN, CODE_OFF, KQEMU_PROT_READ | KQEMU_PROT_EXEC);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.run->state.regs[0], 0x4242);
	kt_close(&t);
}

/* The pids of this thread's children, from /proc (0 when the kernel
 * does not list them) */
static unsigned my_children(int *pids, unsigned max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)syscall(SYS_gettid));
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	unsigned n = 0;
	while (n < max && fscanf(f, "%d", &pids[n]) == 1)
		n++;
	fclose(f);
	return n;
}

/* One child per context: the same linear page holds different RAM in
 * each, a context's mappings stay while another runs, a flush drops only
 * its own, a kick reaches the child that runs, close() ends them all. */
TEST(kqemu_proc_contexts)
{
	struct kt t;
	KT_OPEN(&t);
	CHECK(t.info.flags & KQEMU_INFO_CONTEXTS);
	KT_CODE(&t, g_fs);      /* rax = fs:8, rbx = gs:16 */
	uint64_t v0 = 0x1111, v1 = 0x2222;
	memcpy(t.host + DATA_OFF + 8, &v0, 8);
	memcpy(t.host + SPARE_OFF + 8, &v1, 8);
	t.run->state.fs_base = t.run->state.gs_base = DATA_LIN;
	CHECK_EQ(kt_exec(&t), 0);       /* context 0: kt_open's maps */
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.run->state.regs[0], v0);
	/* context 1: DATA_LIN is the spare page there */
	kt_state(&t, CODE_LIN);
	t.run->state.fs_base = t.run->state.gs_base = DATA_LIN;
	t.run->context = 1;
	kt_map(&t, CODE_LIN, CODE_OFF, KQEMU_PROT_READ | KQEMU_PROT_EXEC);
	kt_map(&t, DATA_LIN, SPARE_OFF, KQEMU_PROT_READ);
	kt_map(&t, STACK_LIN, STACK_OFF, KQEMU_PROT_READ | KQEMU_PROT_WRITE);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.run->state.regs[0], v1);
	int pids[16];
	unsigned nk = my_children(pids, 16);
	CHECK(nk == 0 || nk == 2);
	/* context 0 again, nothing sent: its mappings are there */
	kt_state(&t, CODE_LIN);
	t.run->state.fs_base = t.run->state.gs_base = DATA_LIN;
	t.run->context = 0;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	CHECK_EQ(t.run->state.regs[0], v0);
	/* a flush of context 1 leaves context 0's */
	kt_state(&t, CODE_LIN);
	t.run->context = 1;
	t.run->flush_all = 1;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_PAGE);
	CHECK_EQ(t.run->fault_addr, CODE_LIN);
	kt_state(&t, CODE_LIN);
	t.run->state.fs_base = t.run->state.gs_base = DATA_LIN;
	t.run->context = 0;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->state.regs[0], v0);
	/* a kick while context 1 runs an endless loop */
	KT_CODE(&t, g_endless);
	kt_state(&t, CODE_LIN);
	t.run->context = 1;
	kt_map(&t, CODE_LIN, CODE_OFF, KQEMU_PROT_READ | KQEMU_PROT_EXEC);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, kick_later, &t) == 0);
	CHECK_EQ(kt_exec(&t), 0);
	pthread_join(th, NULL);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SIGNAL);
	/* no such context */
	t.run->context = KQEMU_CONTEXTS;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_ERROR);
	CHECK(strstr(t.run->message, "context"));
	t.run->context = 0;
	kt_close(&t);
	for (unsigned i = 0; i < nk; i++)
		CHECK(kill(pids[i], 0) < 0);    /* reaped */
}

TEST(kqemu_proc_bad_requests)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_regs);
	t.run->nr_map = 0;
	kt_map(&t, t.info.hole_start, 0, KQEMU_PROT_READ);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_ERROR);
	CHECK(strstr(t.run->message, "hole"));
	kt_map(&t, CODE_LIN, t.ram.size, KQEMU_PROT_READ);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_ERROR);
	t.run->state.cs = 0x10;
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_ERROR);
	kt_state(&t, CODE_LIN);
	uint64_t bv = 1ull << 62;               /* a component nobody has */
	memcpy(t.run->state.xsave + 512, &bv, 8);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_ERROR);
	/* the backend still works */
	kt_state(&t, CODE_LIN);
	kt_map(&t, CODE_LIN, CODE_OFF, KQEMU_PROT_READ | KQEMU_PROT_EXEC);
	CHECK_EQ(kt_exec(&t), 0);
	CHECK_EQ(t.run->exit_class, KQEMU_EXIT_SYSCALL);
	kt_close(&t);
}

/* Guest code can write the mailbox: a forged exit with a kernel CS is
 * refused, not handed to the engine. */
TEST(kqemu_proc_forged_exit_refused)
{
	struct kt t;
	KT_OPEN(&t);
	KT_CODE(&t, g_forge);
	uint64_t mb = PROC_MBOX_ADDR;
	CHECK_EQ(mb, t.info.hole_start + 0x100000);
	t.run->state.regs[8] = mb + offsetof(struct proc_mailbox, run.state.cs);
	t.run->state.regs[9] = mb + offsetof(struct proc_mailbox, run.exit_class);
	t.run->state.regs[10] = mb + offsetof(struct proc_mailbox, req_seq);
	t.run->state.regs[11] = mb + offsetof(struct proc_mailbox, done_seq);
	CHECK_EQ(kt_exec(&t), -1);
	CHECK(strstr(t.run->message, "malformed"));
	CHECK_EQ(t.run->state.cs, 0x33);
	kt_close(&t);
}

/* vCPUs each have a backend: two children at once, many exits each,
 * no state crossing over */
static void *many_exits(void *arg)
{
	struct kt *t = arg;
	for (uint64_t i = 1; i <= 300; i++) {
		kt_state(t, CODE_LIN);
		t->run->state.regs[3] = i * 1000 + (uint64_t)(uintptr_t)t % 997;
		if (kt_exec(t) != 0 || t->run->exit_class != KQEMU_EXIT_SYSCALL ||
		    t->run->state.regs[0] != t->run->state.regs[3] * 3 + 1)
			return (void *)1;
	}
	return NULL;
}

TEST(kqemu_proc_two_backends)
{
	struct kt a, b;
	memset(&b, 0, sizeof(b));
	KT_OPEN(&a);
	const char *why;
	CHECK(kt_open(&b, &why));
	KT_CODE(&a, g_mix);
	KT_CODE(&b, g_mix);
	CHECK_EQ(kt_exec(&a), 0);      /* the initial maps */
	CHECK_EQ(kt_exec(&b), 0);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, many_exits, &b) == 0);
	void *ra = many_exits(&a), *rb;
	pthread_join(th, &rb);
	CHECK(ra == NULL);
	CHECK(rb == NULL);
	kt_close(&a);
	kt_close(&b);
}

TEST(kqemu_proc_child_death)
{
	struct kt t;
	KT_OPEN(&t);
	int pid = 0;
	CHECK(sscanf(t.info.description, "child process %d", &pid) == 1 && pid > 0);
	KT_CODE(&t, g_endless);
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK_EQ(kt_exec(&t), -1);
	CHECK(t.run->message[0]);
	CHECK(strstr(t.run->message, "signal 9"));
	CHECK_EQ(kt_exec(&t), -1);              /* and stays broken */
	kt_close(&t);
}
