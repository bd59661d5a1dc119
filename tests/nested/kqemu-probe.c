/*
 * kqemu-probe: /dev/kqemu (kqemu-kmod/) checked directly through its
 * ioctls, in the nested test host (tests/nested/kvm-checks, group kqemu):
 * every exit class from small snippets of guest code, the registers, FS/GS
 * bases, selectors and XSAVE state across the switch, the requests the
 * module must refuse with an ERROR exit (not a crash), the ioctls' errors,
 * and (as root) a fault injected inside the switch.  Prints "ok"/"not ok"/"skip" lines, then "kqemu-probe: N passed,
 * M failed, K skipped"; exit status 1 when something failed, 77 without
 * /dev/kqemu.
 * Built static by tests/nested/run-kvm-check: gcc -Iuser.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kqemu/kqemu.h"

#define CODE 0x400000ull        /* RX: RAM page 0 */
#define DATA 0x600000ull        /* RW, NX: RAM page 1 */
#define RO   0x700000ull        /* R, NX: RAM page 2 */
#define HOLE 0x800000ull        /* never mapped */
#define RAM_SIZE (16 * 4096)

static int fd, passed, failed, skipped;
/* the CPU is QEMU's TCG (the nested test host): it raises no #AC and
 * treats ICEBP as its own debug event, so those cases are skipped there */
static int on_qemu_tcg;
static uint8_t *ram;
static struct kqemu_run *run;
static struct kqemu_backend_info info;
static __thread int tls_canary = 0x5eed;

static void check(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void check(int ok, const char *name, const char *fmt, ...)
{
	char why[256] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	printf("%s %s%s%s\n", ok ? "ok" : "not ok", name, ok ? "" : ": ", ok ? "" : why);
	ok ? passed++ : failed++;
}

static void fresh_state(void)
{
	struct kqemu_cpu_state *s = &run->state;
	memset(s, 0, sizeof(*s));
	s->rip = CODE;
	s->rflags = 0x202;
	s->regs[4] = DATA + 0x800;
	s->cs = 0x33;
	s->ss = 0x2b;
	s->code_bits = 64;
	s->xcr0 = info.xcr0;
	s->xsave_size = info.xsave_size;
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(s->xsave, &fcw, 2);
	memcpy(s->xsave + 24, &mxcsr, 4);
	run->version = KQEMU_VERSION;
	run->nr_map = run->nr_unmap = run->flush_all = 0;
}

/* code bytes at CODE, run from there; a SIGNAL exit (the host wanted
 * its CPU back: nothing happened to the guest) is run again, but where
 * the case expects one */
static int want_signal;
static int exec_code(const char *bytes, size_t n)
{
	memcpy(ram, bytes, n);
	int r = ioctl(fd, KQEMU_EXEC, run);
	run->nr_map = run->nr_unmap = run->flush_all = 0;
	for (int i = 0; i < 1000 && !want_signal && r == 0 &&
	     run->exit_class == KQEMU_EXIT_SIGNAL; i++)
		r = ioctl(fd, KQEMU_EXEC, run);
	return r;
}

#define CODE_RUN(b) exec_code(b, sizeof(b) - 1)

static void skip(const char *name, const char *why)
{
	printf("skip %s: %s\n", name, why);
	skipped++;
}

static void expect(const char *name, uint32_t cls, uint64_t rip)
{
	check(run->exit_class == cls && run->state.rip == rip, name,
	      "exit %u rip %#llx (%s), expected exit %u rip %#llx", run->exit_class,
	      (unsigned long long)run->state.rip, run->message, cls, (unsigned long long)rip);
}

static void exits(void)
{
	fresh_state();
	CODE_RUN("\x0f\x05");
	expect("syscall: SYSCALL, rip after", KQEMU_EXIT_SYSCALL, CODE + 2);
	check(run->vector == 0, "syscall: vector 0", "vector %u", run->vector);
	fresh_state();
	CODE_RUN("\xcd\x80");
	expect("int 0x80: SYSCALL", KQEMU_EXIT_SYSCALL, CODE + 2);
	check(run->vector == 0x80, "int 0x80: vector 0x80", "vector %#x", run->vector);
	fresh_state();
	CODE_RUN("\x0f\x34");
	expect("sysenter: SYSCALL", KQEMU_EXIT_SYSCALL, CODE + 2);
	fresh_state();
	CODE_RUN("\x90\xf4");
	expect("hlt: SOFTMMU at the instruction", KQEMU_EXIT_SOFTMMU, CODE + 1);
	fresh_state();
	CODE_RUN("\xcc");
	expect("int3: SOFTMMU", KQEMU_EXIT_SOFTMMU, CODE);
	fresh_state();
	CODE_RUN("\xcd\x21");
	expect("int 0x21: SOFTMMU", KQEMU_EXIT_SOFTMMU, CODE);
	fresh_state();
	CODE_RUN("\x0f\x20\xd8");       /* mov %cr3, %rax */
	expect("mov from cr3: SOFTMMU", KQEMU_EXIT_SOFTMMU, CODE);
	fresh_state();
	CODE_RUN("\xe4\x60");           /* in $0x60, %al */
	expect("in: SOFTMMU", KQEMU_EXIT_SOFTMMU, CODE);
	fresh_state();
	CODE_RUN("\x0f\x0b");
	expect("ud2: SOFTMMU", KQEMU_EXIT_SOFTMMU, CODE);
	if (on_qemu_tcg) {
		skip("icebp: EXCEPTION 1", "QEMU's TCG does not raise #DB for ICEBP");
	} else {
		fresh_state();
		CODE_RUN("\xf1");
		expect("icebp: EXCEPTION 1, rip after", KQEMU_EXIT_EXCEPTION, CODE + 1);
		check(run->vector == 1, "icebp: vector 1", "vector %u", run->vector);
	}
	fresh_state();
	CODE_RUN("\x31\xc9\x48\xf7\xf1");       /* xor %ecx,%ecx; div %rcx */
	expect("div 0: EXCEPTION 0 at the div", KQEMU_EXIT_EXCEPTION, CODE + 2);
	check(run->vector == 0 && run->error_code == -1, "div 0: vector 0, no error code",
	      "vector %u error %d", run->vector, run->error_code);
}

static void page(const char *name, uint64_t addr, uint32_t acc)
{
	check(run->exit_class == KQEMU_EXIT_PAGE && run->fault_addr == addr &&
	      run->fault_access == acc && run->state.rip == CODE, name,
	      "exit %u addr %#llx access %u rip %#llx (%s)", run->exit_class,
	      (unsigned long long)run->fault_addr, run->fault_access,
	      (unsigned long long)run->state.rip, run->message);
}

static void pages(void)
{
	fresh_state();
	CODE_RUN("\xc6\x04\x25\x00\x00\x70\x00\x01");   /* movb $1, 0x700000 */
	page("write to a read-only page: PAGE write", RO, KQEMU_ACC_WRITE);
	fresh_state();
	CODE_RUN("\x48\x8b\x04\x25\x00\x00\x80\x00");   /* mov 0x800000, %rax */
	page("read of an unmapped page: PAGE read", HOLE, KQEMU_ACC_READ);
	fresh_state();
	run->state.regs[0] = DATA;
	CODE_RUN("\xff\xe0");                           /* jmp *%rax */
	check(run->exit_class == KQEMU_EXIT_PAGE && run->fault_addr == DATA &&
	      run->fault_access == KQEMU_ACC_EXEC, "jump to an NX page: PAGE exec",
	      "exit %u addr %#llx access %u", run->exit_class,
	      (unsigned long long)run->fault_addr, run->fault_access);
	fresh_state();
	run->state.regs[0] = 0xffffffff81000000ull;
	CODE_RUN("\xff\xe0");
	check(run->exit_class == KQEMU_EXIT_PAGE && run->fault_addr == 0xffffffff81000000ull &&
	      run->fault_access == KQEMU_ACC_EXEC, "jump into the host kernel: PAGE exec",
	      "exit %u addr %#llx access %u (%s)", run->exit_class,
	      (unsigned long long)run->fault_addr, run->fault_access, run->message);
	fresh_state();
	run->state.regs[0] = 0xffff888000000000ull;
	CODE_RUN("\x48\x8b\x00");                       /* mov (%rax), %rax */
	page("read of the host's direct map: PAGE read", 0xffff888000000000ull, KQEMU_ACC_READ);
	fresh_state();
	run->state.fs_base = HOLE + 0x40;
	CODE_RUN("\x64\x48\x8b\x04\x25\x00\x00\x00\x00");       /* mov %fs:0, %rax */
	page("FS base loaded: PAGE at fs_base", HOLE + 0x40, KQEMU_ACC_READ);
	fresh_state();
	run->state.gs_base = HOLE + 0x80;
	CODE_RUN("\x65\x48\x8b\x04\x25\x00\x00\x00\x00");       /* mov %gs:0, %rax */
	page("GS base loaded: PAGE at gs_base", HOLE + 0x80, KQEMU_ACC_READ);
	/* unmap, then the page faults; map again, it reads */
	fresh_state();
	memcpy(ram + 4096 + 8, "\x88\x77\x66\x55\x44\x33\x22\x11", 8);
	run->unmap[run->nr_unmap++] = DATA;
	CODE_RUN("\x48\x8b\x04\x25\x08\x00\x60\x00\x0f\x05");   /* mov 0x600008, %rax; syscall */
	page("unmapped page: PAGE", DATA + 8, KQEMU_ACC_READ);
	fresh_state();
	run->map[run->nr_map++] = (struct kqemu_map){ DATA, 4096, KQEMU_PROT_READ | KQEMU_PROT_WRITE, 0 };
	CODE_RUN("\x48\x8b\x04\x25\x08\x00\x60\x00\x0f\x05");
	check(run->exit_class == KQEMU_EXIT_SYSCALL && run->state.regs[0] == 0x1122334455667788ull,
	      "mapped again: reads guest RAM", "exit %u rax %#llx", run->exit_class,
	      (unsigned long long)run->state.regs[0]);
	/* a write by guest code lands in qvm's mapping */
	fresh_state();
	CODE_RUN("\x48\xc7\x04\x25\x10\x00\x60\x00\x78\x56\x34\x12\x0f\x05");  /* movq $0x12345678, 0x600010 */
	uint64_t v;
	memcpy(&v, ram + 4096 + 16, 8);
	check(run->exit_class == KQEMU_EXIT_SYSCALL && v == 0x12345678, "guest write reaches RAM",
	      "exit %u value %#llx", run->exit_class, (unsigned long long)v);
}

static void state(void)
{
	fresh_state();
	for (int i = 0; i < 16; i++)
		if (i != 4)
			run->state.regs[i] = 0x0101010101010101ull * (i + 1);
	CODE_RUN("\x0f\x0b");
	int same = 1;
	for (int i = 0; i < 16; i++)
		if (i != 4 && run->state.regs[i] != 0x0101010101010101ull * (i + 1))
			same = 0;
	check(same && run->state.regs[4] == DATA + 0x800, "registers round trip", "differ");
	/* xmm0 in, xmm1 out */
	fresh_state();
	uint64_t x0 = 0x1122334455667788ull, bv = 2;
	memcpy(run->state.xsave + 160, &x0, 8);
	memcpy(run->state.xsave + 512, &bv, 8);
	/* movq %xmm0, %rax; mov $0x42, %ebx; movq %rbx, %xmm1; syscall */
	CODE_RUN("\x66\x48\x0f\x7e\xc0\xbb\x42\x00\x00\x00\x66\x48\x0f\x6e\xcb\x0f\x05");
	uint64_t x1;
	memcpy(&x1, run->state.xsave + 176, 8);
	check(run->exit_class == KQEMU_EXIT_SYSCALL && run->state.regs[0] == x0 && x1 == 0x42,
	      "XMM state both ways", "exit %u rax %#llx xmm1 %#llx (%s)", run->exit_class,
	      (unsigned long long)run->state.regs[0], (unsigned long long)x1, run->message);
	/* DF and AC set by guest code come back, and the host survives them */
	fresh_state();
	CODE_RUN("\x9c\x81\x0c\x24\x00\x04\x04\x00\x9d\x0f\x0b");   /* pushf; orl $0x40400,(%rsp); popf; ud2 */
	check(run->exit_class == KQEMU_EXIT_SOFTMMU && (run->state.rflags & 0x40400) == 0x40400,
	      "DF and AC set by guest code come back", "exit %u rflags %#llx",
	      run->exit_class, (unsigned long long)run->state.rflags);
	if (on_qemu_tcg) {
		skip("misaligned with AC: EXCEPTION 17", "QEMU's TCG does not check alignment");
	} else {
		fresh_state();
		run->state.rflags |= 0x40000;
		CODE_RUN("\x8b\x04\x25\x01\x00\x60\x00");       /* mov 0x600001, %eax */
		check(run->exit_class == KQEMU_EXIT_EXCEPTION && run->vector == 17 &&
		      run->error_code == 0, "misaligned with AC: EXCEPTION 17",
		      "exit %u vector %u error %d", run->exit_class, run->vector, run->error_code);
	}
	/* data selectors both ways */
	fresh_state();
	run->state.ds = 0x2b;
	CODE_RUN("\x8c\xd8\x31\xdb\x8e\xdb\xb9\x2b\x00\x00\x00\x8e\xc1\x0f\x0b");
	/* mov %ds,%eax; xor %ebx,%ebx; mov %ebx,%ds; mov $0x2b,%ecx; mov %ecx,%es; ud2 */
	check((run->state.regs[0] & 0xffff) == 0x2b && run->state.ds == 0 && run->state.es == 0x2b,
	      "data selectors both ways", "ds in guest %#llx, out ds %#x es %#x",
	      (unsigned long long)run->state.regs[0], run->state.ds, run->state.es);
	check(tls_canary == 0x5eed, "the process's own TLS (FS base) intact", "canary %#x",
	      tls_canary);
}

static void refused(const char *name, const char *want)
{
	memcpy(ram, "\x0f\x05", 2);
	int r = ioctl(fd, KQEMU_EXEC, run);
	check(r == 0 && run->exit_class == KQEMU_EXIT_ERROR && strstr(run->message, want), name,
	      "ioctl %d exit %u message '%s', expected ERROR '%s'", r, run->exit_class,
	      run->message, want);
	run->nr_map = run->nr_unmap = 0;
}

static void refusals(void)
{
	fresh_state();
	run->state.rip = 0x800000000000ull;
	refused("RIP in the upper half: ERROR", "RIP outside the lower half");
	fresh_state();
	run->state.regs[4] = 0x0000900000000000ull;
	refused("non-canonical RSP: ERROR", "RSP not canonical");
	fresh_state();
	run->state.cs = 0x10;
	refused("kernel CS: ERROR", "CS/SS");
	fresh_state();
	run->state.ds = 0x18;
	refused("kernel DS: ERROR", "data segment");
	fresh_state();
	run->state.fs_base = 0x8000000000000000ull;
	refused("non-canonical FS base: ERROR", "FS/GS base");
	fresh_state();
	run->state.tsc_offset = 5;
	refused("TSC offset: ERROR", "RDTSC");
	fresh_state();
	run->state.xsave[520] = 1;
	refused("XSAVE header reserved bytes: ERROR", "XSAVE header");
	fresh_state();
	uint32_t mxcsr = 0xffffffff;
	memcpy(run->state.xsave + 24, &mxcsr, 4);
	refused("MXCSR reserved bits: ERROR", "MXCSR");
	fresh_state();
	run->map[run->nr_map++] = (struct kqemu_map){ 0xffff800000000000ull, 0, KQEMU_PROT_READ, 0 };
	refused("map in the upper half: ERROR", "outside the lower half");
	fresh_state();
	run->map[run->nr_map++] = (struct kqemu_map){ HOLE, RAM_SIZE, KQEMU_PROT_READ, 0 };
	refused("map beyond guest RAM: ERROR", "beyond guest RAM");
	fresh_state();
	run->nr_map = 1000;
	refused("too many maps: ERROR", "too many");
	fresh_state();
	run->version = 2 << 16;
	refused("another major version: ERROR", "version");
}

static volatile sig_atomic_t alarm_hit;
static void on_alarm(int sig) { (void)sig; alarm_hit = 1; }

static void signals(void)
{
	want_signal = 1;
	fresh_state();
	ioctl(fd, KQEMU_KICK);
	CODE_RUN("\xeb\xfe");
	expect("kick before exec: SIGNAL", KQEMU_EXIT_SIGNAL, CODE);
	fresh_state();
	signal(SIGALRM, on_alarm);
	alarm(1);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = CODE_RUN("\xeb\xfe");           /* jmp . */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# alarm case: first exit %u after %ld ms, alarm %d, r %d\n", run->exit_class,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000),
	       alarm_hit, r);
	/* SIGNAL exits before the alarm (need_resched) go on from there */
	int n = 0;
	for (; n < 20000 && run->exit_class == KQEMU_EXIT_SIGNAL && !alarm_hit; n++)
		ioctl(fd, KQEMU_EXEC, run);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# alarm case: %d SIGNAL exits more, %ld ms in all, alarm %d\n", n,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000),
	       alarm_hit);
	check(run->exit_class == KQEMU_EXIT_SIGNAL && alarm_hit && run->state.rip == CODE,
	      "endless loop ended by a signal: SIGNAL", "exit %u alarm %d", run->exit_class,
	      alarm_hit);
	want_signal = 0;
}

static void ioctl_errors(void)
{
	int f2 = open("/dev/kqemu", O_RDWR);
	errno = 0;
	int r = ioctl(f2, KQEMU_EXEC, run);
	check(r < 0 && errno == ENOTCONN, "EXEC before CREATE: ENOTCONN", "%d %s", r,
	      strerror(errno));
	struct kqemu_create cr = { (uint64_t)(uintptr_t)ram, RAM_SIZE };
	struct kqemu_create odd = { (uint64_t)(uintptr_t)ram + 1, RAM_SIZE };
	r = ioctl(f2, KQEMU_CREATE, &odd);
	check(r < 0 && errno == EINVAL, "CREATE unaligned: EINVAL", "%d %s", r, strerror(errno));
	r = ioctl(f2, KQEMU_CREATE, &cr);
	check(r == 0, "CREATE", "%s", strerror(errno));
	r = ioctl(f2, KQEMU_CREATE, &cr);
	check(r < 0 && errno == EEXIST, "CREATE twice: EEXIST", "%d %s", r, strerror(errno));
	pid_t pid = fork();
	if (pid == 0) {
		fresh_state();
		_exit(ioctl(fd, KQEMU_EXEC, run) < 0 && errno == EPERM ? 0 : 1);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "EXEC from another process: EPERM",
	      "child status %#x", st);
	check(ioctl(fd, 0x1234) < 0 && errno == ENOTTY, "unknown ioctl: ENOTTY", "%s",
	      strerror(errno));
	close(f2);
}

/* the module's fault_test parameter (root): a #UD at CPL 0 inside the next
 * switch; the run must end in an ERROR naming it, and the next one work */
static void monitor_fault(void)
{
	FILE *f = fopen("/sys/module/kqemu/parameters/fault_test", "w");
	if (!f) {
		skip("a fault in the monitor: ERROR", "no writable fault_test parameter (root)");
		return;
	}
	fputs("1\n", f);
	fclose(f);
	fresh_state();
	CODE_RUN("\x0f\x05");
	check(run->exit_class == KQEMU_EXIT_ERROR && strstr(run->message, "exception 6 in the monitor"),
	      "a fault in the monitor: ERROR", "exit %u (%s)", run->exit_class, run->message);
	printf("# %s\n", run->message);
	fresh_state();
	CODE_RUN("\x0f\x05");
	expect("after the fault, runs again", KQEMU_EXIT_SYSCALL, CODE + 2);
	check(tls_canary == 0x5eed, "after the fault, the process's TLS intact", "canary %#x",
	      tls_canary);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	FILE *ci = fopen("/proc/cpuinfo", "r");
	char line[256];
	while (ci && fgets(line, sizeof(line), ci))
		if (!strncmp(line, "model name", 10) && strstr(line, "QEMU TCG"))
			on_qemu_tcg = 1;
	if (ci)
		fclose(ci);
	fd = open("/dev/kqemu", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("SKIP: kqemu-probe: /dev/kqemu: %s\n", strerror(errno));
		return 77;
	}
	int v = ioctl(fd, KQEMU_GET_VERSION);
	check(v == KQEMU_VERSION, "version", "%#x", v);
	check(ioctl(fd, KQEMU_GET_INFO, &info) == 0 && info.version == KQEMU_VERSION &&
	      info.user_end == 1ull << 47 && info.xsave_size >= 576 && (info.xcr0 & 3) == 3,
	      "info", "version %#x user_end %#llx xsave %u xcr0 %#llx", info.version,
	      (unsigned long long)info.user_end, info.xsave_size, (unsigned long long)info.xcr0);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	run = aligned_alloc(64, sizeof(*run));
	memset(run, 0, sizeof(*run));
	struct kqemu_create cr = { (uint64_t)(uintptr_t)ram, RAM_SIZE };
	if (ram == MAP_FAILED || ioctl(fd, KQEMU_CREATE, &cr) < 0) {
		printf("not ok create: %s\nkqemu-probe: 0 passed, 1 failed\n", strerror(errno));
		return 1;
	}
	fresh_state();
	run->map[run->nr_map++] = (struct kqemu_map){ CODE, 0, KQEMU_PROT_READ | KQEMU_PROT_EXEC, 0 };
	run->map[run->nr_map++] = (struct kqemu_map){ DATA, 4096, KQEMU_PROT_READ | KQEMU_PROT_WRITE, 0 };
	run->map[run->nr_map++] = (struct kqemu_map){ RO, 8192, KQEMU_PROT_READ, 0 };
	CODE_RUN("\x0f\x05");
	expect("first run with three maps", KQEMU_EXIT_SYSCALL, CODE + 2);
	exits();
	pages();
	state();
	refusals();
	signals();
	ioctl_errors();
	monitor_fault();
	/* after a flush nothing is mapped */
	fresh_state();
	run->flush_all = 1;
	CODE_RUN("\x0f\x05");
	page("flush_all: the code page is gone", CODE, KQEMU_ACC_EXEC);
	close(fd);
	printf("kqemu-probe: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
