/* TAP-like reporting over serial, verdict through isa-debug-exit. */
#include "guest.h"

void printk_force(const char *fmt, va_list ap);
const char *test_name = "guest";
static volatile int n_checks, n_fail, n_skip;

bool check(bool cond, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintk(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	int n = __atomic_add_fetch(&n_checks, 1, __ATOMIC_SEQ_CST);
	if (!cond)
		__atomic_add_fetch(&n_fail, 1, __ATOMIC_SEQ_CST);
	printk("%sok %d - %s\n", cond ? "" : "not ", n, buf);
	return cond;
}

void skip(const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintk(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&n_skip, 1, __ATOMIC_SEQ_CST);
	printk("skip - %s\n", buf);
}

void note(const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintk(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printk("# %s\n", buf);
}

int test_failures(void)
{
	return n_fail;
}

void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void debug_exit(uint8_t code)
{
	outb(DEBUG_EXIT, code);
	halt_forever();
}

void test_done(void)
{
	printk("%s %s: %d checks, %d failed, %d skipped\n", n_fail ? "FAIL" : "PASS",
	       test_name, n_checks, n_fail, n_skip);
	debug_exit(n_fail ? 1 : 0);
}

static void printk_force_str(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printk_force(fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	char buf[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintk(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printk_force_str("PANIC: %s\n", buf);
	debug_exit(2);
}

void reset_cf9(void)
{
	outb(0xcf9, 0x02);
	outb(0xcf9, 0x06);
	for (int i = 0; i < 1000000; i++)
		cpu_relax();
	panic("reset via 0xcf9 did nothing");
}

void reset_kbd(void)
{
	for (int i = 0; i < 100000 && (inb(0x64) & 0x02); i++)
		cpu_relax();
	outb(0x64, 0xfe);
	for (int i = 0; i < 1000000; i++)
		cpu_relax();
	panic("reset via i8042 did nothing");
}
